"""Interpretable cells of a trained character model: run it over a text, colour every character by a
cell's activation (as in Karpathy, Johnson and Fei-Fei 2015), and find candidate cells by
correlating each with features of the text (inside quotes or brackets, bracket depth, position
in the line, indentation, inside a comment). Prints the best matches with their correlation r and
writes a self-contained HTML page (and, with --png, a picture of the best few).

The text: --text FILE, else the held-out end of the model's training corpus when that is a named
one (stdlib, kjv, sparv). Characters the model never saw are left out.

examples:
  rnnkit cells runs/charlm                           # cells.html, and the table
  rnnkit cells runs/charlm --probe c --layer 0 --cell 17 --png cells.png
  rnnkit cells runs/charlm --text my_code.py --json
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnnkit.commands._args import non_negative_int, positive_int
from rnnkit.errors import UsageError

NAMED = ("stdlib", "kjv", "sparv")
SCALES = {**dict.fromkeys("ifozr", "; a gate's 0..1 stretched to -1..+1"),
          "c": "; c, which has no fixed range, from its 1st percentile over the text (-1) to its 99th (+1)"}
#: The held-out share of a named corpus (the trainer's validation split, rnnkit/data/corpora.py).
HELD_OUT = 0.05


def add_arguments(p) -> None:
    p.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT", help="a character model's run folder or checkpoint")
    p.add_argument("--text", help="a UTF-8 text file to run the model over (default: see above)")
    p.add_argument("--chars", type=positive_int, default=20_000,
                   help="characters to read and correlate over (default: 20,000)")
    p.add_argument("--show", type=positive_int, default=2_000,
                   help="characters of each coloured block (default: 2,000)")
    p.add_argument("--probe", help="what to colour and search: h, c, or a gate (i f o g for the LSTM, r z n for "
                                   "the GRU); default c where the cell has one, else h")
    p.add_argument("--layer", type=non_negative_int, default=0, help="layer of --cell (default: 0)")
    p.add_argument("--cell", type=non_negative_int, help="a cell to show first (its index in the layer)")
    p.add_argument("--top", type=positive_int, default=3, help="candidates listed per feature (default: 3)")
    p.add_argument("--html", default="cells.html", help="the page to write (default: cells.html)")
    p.add_argument("--png", help="also draw the chosen cell and the best candidates to this PNG")
    p.add_argument("--lines", type=positive_int, default=10, help="lines of text per block of the PNG (default: 10)")
    p.add_argument("--json", action="store_true", help="print the candidates as JSON")


def read_text(args, checkpoint) -> tuple[str, str]:
    """(text, where it came from), at most --chars characters."""
    from rnnkit.viz.sources import load_text

    if args.text:
        return load_text(args.text, args.chars), args.text
    data = checkpoint.task.get("data")
    if data not in NAMED:
        raise UsageError(f"the model was trained on {data!r}; give --text FILE to run it over")
    from rnnkit.data.corpora import STDLIB_CHARS

    whole = load_text(data, STDLIB_CHARS if data == "stdlib" else 10**9)
    start = int(len(whole) * (1 - HELD_OUT))
    start = whole.find("\n", start) + 1 or start  # from the start of a line
    return whole[start:start + args.chars], f"{data} (held-out part)"


def run(args) -> int:
    from rnnkit.inference.probes import PROBE_DESCRIPTIONS, probe_names
    from rnnkit.viz import cellviz
    from rnnkit.viz.sources import known_text, load_charlm

    checkpoint, model = load_charlm(args.checkpoint)
    names = probe_names(model.spec.cell)
    probe = args.probe or ("c" if "c" in names else "h")
    if probe not in names:
        raise UsageError(f"a {model.spec.cell} has the probes {', '.join(names)}, not {probe!r}")
    if args.layer >= model.spec.layers:
        raise UsageError(f"--layer must be below {model.spec.layers}, the model's layers")
    if args.cell is not None and args.cell >= model.spec.hidden:
        raise UsageError(f"--cell must be below {model.spec.hidden}, the layer's width")
    text, source = read_text(args, checkpoint)
    text, dropped = known_text(checkpoint.vocab, text)
    if len(text) < 2:
        raise UsageError("the text has no characters the model knows")
    layers = cellviz.activations(model, checkpoint.vocab.encode(text).astype(np.int64))
    features = cellviz.text_features(text)
    found = cellviz.candidates(layers, probe, features, top=args.top)
    if args.json:
        print(json.dumps({"probe": probe, "source": source, "chars": len(text), "candidates": found}))
    else:
        print(f"{len(text):,} characters of {source}" + (f" ({dropped:,} unknown left out)" if dropped else "")
              + f"; probe {probe}: {PROBE_DESCRIPTIONS[probe]}")
        print(f"{'feature':<14} {'layer':>5} {'cell':>5} {'r':>7}")
        for c in found:
            print(f"{c['feature']:<14} {c['layer']:>5} {c['cell']:>5} {c['r']:>+7.3f}")
    shown = text[:args.show]

    def values(layer, index):
        unit = layers[layer][probe][:, index]
        return cellviz.display_values(probe, unit[:len(shown)], reference=unit)

    blocks = []
    if args.cell is not None:
        blocks.append((f"layer {args.layer}, {probe} cell {args.cell} (chosen)", values(args.layer, args.cell)))
    features_shown, cells_shown = set(), {(args.layer, args.cell)}
    for c in found:  # the best cell of each feature, each cell once
        if c["feature"] in features_shown or (c["layer"], c["cell"]) in cells_shown:
            continue
        features_shown.add(c["feature"])
        cells_shown.add((c["layer"], c["cell"]))
        blocks.append((f"{c['feature']}: layer {c['layer']}, {probe} cell {c['cell']}, r = {c['r']:+.2f}",
                       values(c["layer"], c["cell"])))
    title = f"Cells of {checkpoint.path}"
    intro = (f"A {model.spec.layers}-layer {model.spec.cell} of hidden size {model.spec.hidden} read {len(text):,} "
             f"characters of {source}; each character is coloured by the chosen unit's {PROBE_DESCRIPTIONS[probe]} "
             f"right after reading it (blue -1, white 0, red +1{SCALES.get(probe, '')})."
             f" Candidates: the best Pearson correlation r with each feature of the text.")
    page = cellviz.render_page(title, intro, shown, blocks)
    try:
        Path(args.html).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.html}: {exc.strerror or exc}") from None
    if not args.json:
        print(f"wrote {args.html}")
    if args.png:
        from rnnkit.viz.cellviz_figure import draw_cells

        draw_cells([(h, shown, v) for h, v in blocks[:4]], args.png, lines=args.lines)
        if not args.json:
            print(f"wrote {args.png}")
    return 0
