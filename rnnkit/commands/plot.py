"""Training curves of one or more runs from their metrics.jsonl: the training loss and the validation
metrics (bits per character for a character model; loss and accuracy for sentiment) against steps
and against wall-clock time, every run on the same axes. Writes a PNG and an SVG.

examples:
  rnnkit plot runs/charlm                            # curves.png and curves.svg
  rnnkit plot runs/lstm runs/gru runs/rnn --out docs/images/compare --title "H = 256, 2 minutes"
"""

from __future__ import annotations

from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders (or their metrics.jsonl files)")
    p.add_argument("--out", default="curves",
                   help="where to write: OUT.png and OUT.svg (a .png or .svg suffix is dropped; default: curves)")
    p.add_argument("--labels", help="comma-separated names for the runs (default: their folder names)")
    p.add_argument("--title", help="a title above the figure")


def run(args) -> int:
    from rnnkit.errors import UsageError
    from rnnkit.viz import require
    from rnnkit.viz.curves import draw_curves, read_run

    require("matplotlib")
    runs = [read_run(path) for path in args.runs]
    if args.labels:
        labels = [s.strip() for s in args.labels.split(",")]
        if len(labels) != len(runs):
            raise UsageError(f"--labels names {len(labels)} runs; {len(runs)} were given")
        for run_, label in zip(runs, labels):
            run_["label"] = label
    out = Path(args.out)
    if out.suffix.lower() in (".png", ".svg"):
        out = out.with_suffix("")
    for path in draw_curves(runs, [out.with_name(out.name + ".png"), out.with_name(out.name + ".svg")], args.title):
        print(path)
    return 0
