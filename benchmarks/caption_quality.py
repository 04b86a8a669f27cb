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
3. tuxpaint ensemble, with two or more seeds: the seeds' runs decode together (``rnnkit eval
   FIRST --ensemble OTHERS``, the mean of their word probabilities), with the GNMT length penalty
   that scores best on the validation split among ENSEMBLE_ALPHAS, then once on test; and a paired
   bootstrap of its test BLEU-4 against retrieval's (the share of resampled test sets it wins).

Run on a quiet machine; both trainings get the same --threads:

    python benchmarks/caption_quality.py --threads 2 --minutes 15
    python benchmarks/caption_quality.py --threads 2 --minutes 15 --only tuxpaint --seeds 0 1
    python benchmarks/caption_quality.py --only tuxpaint --seeds 0 1 2 3 --out runs/tux --reuse
    python benchmarks/caption_quality.py --threads 1 --only tuxpaint --seeds 0 1 2 3 4 5 --global-feature flat --out runs/tux-flat
    python benchmarks/caption_quality.py --quick        # seconds a run: checks that it runs; numbers mean nothing
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_threads_argument, print_header, print_table, set_threads_from_argv  # noqa: E402

THREADS = set_threads_from_argv()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402

from _captions import ensemble_captions, retrieval_captions  # noqa: E402
from _runs import ROOT, metrics, rnnkit, train_then_eval  # noqa: E402

sys.path.insert(0, str(ROOT))

BEAM = 3


#: The Tux Paint runs' flags beyond the task's defaults (docs/captioning.md, "Tux Paint").
TUX_FLAGS = ["--augment", "shift-flip", "--dropout", "0.3"]
#: ... and validation every 100 steps (not with --quick, whose budget sets its own).
TUX_EVAL_EVERY = ["--eval-every", "100"]
#: The length penalties an ensemble of seeds is tried with on the validation split.
ENSEMBLE_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Resampled test sets of the paired bootstrap of the ensemble against retrieval.
BOOTSTRAP = 1000


def run_rnnkit(data: str, attention: str, budget: list[str], out: Path, extra: list[str],
               reuse: bool = False) -> tuple[dict, float | None, int]:
    """(the eval JSON of the test split with beam 3, wall seconds of training, steps trained);
    ``reuse``: a finished run already in ``out`` is evaluated as it is (seconds None)."""
    if reuse and (out / "best.npz").exists():
        result, seconds = evaluate(out, "test"), None
    else:
        result, seconds = train_then_eval(["--task", "caption", "--data", data, "--attention", attention, *budget,
                                           "--out", str(out), "--force", *extra], out, ("--beam", str(BEAM)))
    lines = metrics(out)
    return result, seconds, lines[-1]["step"] if lines else 0


def evaluate(run: Path, split: str, *flags: str) -> dict:
    """``rnnkit eval RUN --split SPLIT --beam 3 FLAGS --json``."""
    return json.loads(rnnkit(["eval", str(run), "--split", split, "--beam", str(BEAM), *flags, "--json"],
                             "evaluation"))


def ensemble(runs: list[Path]) -> tuple[dict, float]:
    """(the test JSON of the runs decoding together, the length penalty chosen on validation)."""
    flags = ["--ensemble", *map(str, runs[1:])]
    val = {alpha: evaluate(runs[0], "val", *flags, "--length-penalty", f"{alpha:g}")["bleu4"]
           for alpha in ENSEMBLE_ALPHAS}
    print("  validation BLEU-4 by length penalty: " + ", ".join(f"{a:g}: {b:.2f}" for a, b in val.items()))
    alpha = max(val, key=val.get)
    return evaluate(runs[0], "test", *flags, "--length-penalty", f"{alpha:g}"), alpha


def bootstrap_against_retrieval(runs: list[Path], alpha: float, resamples: int = BOOTSTRAP) -> float:
    """The share of test sets resampled with replacement (the same stamps for both, seed 0) on
    which the runs' captions (decoded together with ``alpha``, beam 3) score a higher BLEU-4 than
    retrieval's: how much of the difference is the 73 stamps drawn."""
    import numpy as np
    from sacrebleu.metrics import BLEU

    ours = ensemble_captions(runs, "test", BEAM, alpha)
    theirs, references = retrieval_captions("tuxpaint")
    references = [refs[0] for refs in references]                                 # Tux Paint: one each
    bleu, rng, wins = BLEU(), np.random.default_rng(0), 0
    for _ in range(resamples):
        pick = rng.integers(0, len(references), len(references))
        refs = [[references[i] for i in pick]]
        wins += (bleu.corpus_score([ours[i] for i in pick], refs).score
                 > bleu.corpus_score([theirs[i] for i in pick], refs).score)
    return wins / resamples


def row(name: str, result: dict, steps, seconds) -> list[str]:
    relations = f"{result['relations_correct']:.3f}" if "relations_correct" in result else "-"
    return [name, str(steps), f"{seconds:,.0f}" if seconds else "-",
            *(f"{result[f'bleu{n}']:.2f}" for n in (1, 2, 3, 4)), relations]


def retrieval(data: str) -> dict:
    """BLEU of the nearest-neighbour captions on the test split."""
    from rnnkit.tasks.caption_metrics import bleu_scores

    return bleu_scores(*retrieval_captions(data))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(p, THREADS)
    p.add_argument("--minutes", type=float, default=15.0, help="training budget of each run (default: 15)")
    p.add_argument("--only", choices=("scenes", "tuxpaint"), help="run one part")
    p.add_argument("--out", help="folder for the runs (default: a temporary folder)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="tuxpaint: one run per seed (default: 0)")
    p.add_argument("--reuse", action="store_true",
                   help="tuxpaint: evaluate a finished run already in --out instead of training it again")
    p.add_argument("--global-feature", choices=("mean", "flat"), default="mean",
                   help="tuxpaint: the captioner's global feature, the grid's mean or the grid in place (default: mean)")
    p.add_argument("--quick", action="store_true", help="a few steps a run: checks that it runs")
    args = p.parse_args()
    if args.reuse and not args.out:
        p.error("--reuse evaluates the runs already in --out DIR: give --out")
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
            rows, runs = [], [base / f"tuxpaint-soft-{seed}" for seed in args.seeds]
            for seed, run in zip(args.seeds, runs):
                flags = [*extra, *TUX_FLAGS, *([] if args.quick else TUX_EVAL_EVERY), "--seed", str(seed),
                         "--global-feature", args.global_feature]
                result, seconds, steps = run_rnnkit("tuxpaint", "soft", budget, run, flags, args.reuse)
                rows.append(row(f"tuxpaint, attention soft, seed {seed}", result, steps, seconds))
            if len(runs) > 1:
                result, alpha = ensemble(runs)
                rows.append(row(f"tuxpaint, ensemble of {len(runs)} seeds, length penalty {alpha:g}", result, "-",
                                None))
                share = bootstrap_against_retrieval(runs, alpha)
                print(f"  paired bootstrap ({BOOTSTRAP} resampled test sets): the ensemble beats retrieval in "
                      f"{100 * share:.1f}% of them")
            rows.append(row("tuxpaint, nearest neighbour", retrieval("tuxpaint"), "-", None))
            print()
            print_table(headers, rows)


if __name__ == "__main__":
    main()
