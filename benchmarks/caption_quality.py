"""Captioning quality: on the scenes, soft attention against none at an equal training budget; on
Tux Paint's human captions, the model against the nearest-neighbour retrieval baseline.

1. scenes: ``rnnkit train --task caption --data scenes --attention {soft,none} --minutes M`` as a
   user types it (the task's defaults otherwise: torch engine where installed), then
   ``rnnkit eval RUN --split test --beam 3 --json``: corpus BLEU-1..4 (sacrebleu, 0-100, against
   the 5 references of each scene) and relations_correct (the share of captions whose every stated
   relation holds in the scene). The budget counts training time only (the trainer does not count
   evaluation), so each run's wall time is longer. The issue's target: soft beats none in BLEU-4
   and in relations_correct after 15 minutes each.
2. tuxpaint: the same with ``--data tuxpaint`` (soft attention, and TUX_FLAGS: shifted and mirrored
   pictures, dropout 0.3 before the word layer, validation every 100 steps; one run per
   ``--seeds`` entry, since 73 test stamps make one run's BLEU-4 swing), against the caption of the most
   similar training image (``nearest_neighbour_captions`` of rnnkit/data/caption_sets.py) scored
   the same way on the same test split (both sides lower-cased, as rnnkit eval scores the model).
   The target: better BLEU-4 than retrieval.

Run on a quiet machine; both trainings get the same --threads:

    python benchmarks/caption_quality.py --threads 2 --minutes 15
    python benchmarks/caption_quality.py --threads 2 --minutes 15 --only tuxpaint --seeds 0 1
    python benchmarks/caption_quality.py --quick        # seconds a run: checks that it runs; numbers mean nothing
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_threads_argument, print_header, print_table, set_threads_from_argv  # noqa: E402

THREADS = set_threads_from_argv()

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402

from _runs import ROOT, metrics, train_then_eval  # noqa: E402

sys.path.insert(0, str(ROOT))

BEAM = 3


#: The Tux Paint runs' flags beyond the task's defaults (docs/captioning.md, "Tux Paint").
TUX_FLAGS = ["--augment", "shift-flip", "--dropout", "0.3"]
#: ... and validation every 100 steps (not with --quick, whose budget sets its own).
TUX_EVAL_EVERY = ["--eval-every", "100"]


def run_rnnkit(data: str, attention: str, budget: list[str], out: Path, extra: list[str]) -> tuple[dict, float, int]:
    """(the eval JSON of the test split with beam 3, wall seconds of training, steps trained)."""
    result, seconds = train_then_eval(["--task", "caption", "--data", data, "--attention", attention, *budget,
                                       "--out", str(out), "--force", *extra], out, ("--beam", str(BEAM)))
    lines = metrics(out)
    return result, seconds, lines[-1]["step"] if lines else 0


def row(name: str, result: dict, steps, seconds) -> list[str]:
    relations = f"{result['relations_correct']:.3f}" if "relations_correct" in result else "-"
    return [name, str(steps), f"{seconds:,.0f}" if seconds else "-",
            *(f"{result[f'bleu{n}']:.2f}" for n in (1, 2, 3, 4)), relations]


def retrieval(data: str) -> dict:
    """BLEU of the nearest-neighbour captions on the test split, both sides lower-cased the way
    ``rnnkit eval`` scores the model (``normalised``)."""
    from rnnkit.data import caption_sets
    from rnnkit.tasks.caption_metrics import bleu_scores, normalised

    train, test = caption_sets.load_caption_data(data, "train"), caption_sets.load_caption_data(data, "test")
    guesses = [normalised(g, caption_sets) for g in caption_sets.nearest_neighbour_captions(train, test.images)]
    return bleu_scores(guesses, [[normalised(r, caption_sets) for r in refs] for refs in test.references])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(p, THREADS)
    p.add_argument("--minutes", type=float, default=15.0, help="training budget of each run (default: 15)")
    p.add_argument("--only", choices=("scenes", "tuxpaint"), help="run one part")
    p.add_argument("--out", help="folder for the runs (default: a temporary folder)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="tuxpaint: one run per seed (default: 0)")
    p.add_argument("--quick", action="store_true", help="a few steps a run: checks that it runs")
    args = p.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    budget = ["--steps", "3", "--batch", "8", "--eval-every", "3"] if args.quick else ["--minutes", f"{args.minutes:g}"]
    extra = ["--threads", str(args.threads)]
    print_header(f"Captioning quality: test split, beam {BEAM}, "
                 + ("--quick (numbers mean nothing)" if args.quick else f"{args.minutes:g} min of training a run"),
                 args.threads)
    headers = ["model", "steps", "train s", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "relations"]
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(args.out or scratch)
        if args.only in (None, "scenes"):
            rows = []
            for attention in ("soft", "none"):
                result, seconds, steps = run_rnnkit("scenes", attention, budget, base / f"scenes-{attention}", extra)
                rows.append(row(f"scenes, attention {attention}", result, steps, seconds))
            print()
            print_table(headers, rows)
            print()
        if args.only in (None, "tuxpaint"):
            rows = []
            for seed in args.seeds:
                flags = [*extra, *TUX_FLAGS, *([] if args.quick else TUX_EVAL_EVERY), "--seed", str(seed)]
                result, seconds, steps = run_rnnkit("tuxpaint", "soft", budget, base / f"tuxpaint-soft-{seed}", flags)
                rows.append(row(f"tuxpaint, attention soft, seed {seed}", result, steps, seconds))
            rows.append(row("tuxpaint, nearest neighbour", retrieval("tuxpaint"), "-", None))
            print()
            print_table(headers, rows)


if __name__ == "__main__":
    main()
