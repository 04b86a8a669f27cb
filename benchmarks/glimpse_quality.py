"""Recurrent attention against training time: RAM on mnist, mnist-translated and mnist-cluttered,
DRAM on mnist-pairs, each trained for the same time, as a user runs it.

For each data set: ``rnnkit train --task glimpse --data D --minutes M --eval-every E --out RUN``
(run one after the other, so they never share the cores; the task's defaults give the glimpse
settings: 6 glimpses of 8x8 on mnist, 6 of 12x12 at 3 scales translated, 8 of 12x12 at 4 scales
cluttered, DRAM with 3 glimpses a digit on pairs), then ``rnnkit eval RUN --split test --json``.
The validation error logged every E steps (``metrics.jsonl``: the first 2,000 validation images)
is printed against training time, and each run's test error (all 10,000 test images, the whole
sequence for pairs) closes the table. The targets of issue 10 after 60 minutes on 2 CPU cores:
<= 1.5% (mnist), <= 2.0% (translated), <= 6% (cluttered), <= 5% (pairs).

    python benchmarks/glimpse_quality.py --minutes 60 --threads 2          # the issue's targets: 4 h
    python benchmarks/glimpse_quality.py --minutes 60 --data mnist-cluttered
    python benchmarks/glimpse_quality.py --engine torch --device cuda --minutes 60
    python benchmarks/glimpse_quality.py --quick                          # a minute: numbers mean nothing
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_threads_argument, print_header, print_table, set_threads_from_argv  # noqa: E402

THREADS = set_threads_from_argv()

import argparse  # noqa: E402
import tempfile  # noqa: E402

from _runs import engine_flags, metrics, train_then_eval  # noqa: E402

DATA = ("mnist", "mnist-translated", "mnist-cluttered", "mnist-pairs")
TARGETS = {"mnist": 0.015, "mnist-translated": 0.02, "mnist-cluttered": 0.06, "mnist-pairs": 0.05}


def train_and_eval(out: Path, data: str, args) -> dict:
    """Train one run (at lowered priority, its progress shown) and return its test JSON."""
    command = ["--task", "glimpse", "--data", data, "--minutes", str(args.minutes),
               "--eval-every", str(args.eval_every), "--engine", args.engine, "--out", str(out),
               "--seed", str(args.seed), *args.model, *engine_flags(args)]
    return train_then_eval(command, out, live=True, nice=10)[0]


def curve(run: Path) -> list[tuple[float, float]]:
    """(training minutes, validation error) at every evaluation of the run."""
    return [(r["elapsed"] / 60, r["val_error"]) for r in metrics(run) if r.get("val_error") is not None]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(p, THREADS)
    p.add_argument("--minutes", type=float, default=60.0, help="training time of each run (default: 60)")
    p.add_argument("--eval-every", type=int, default=500, help="steps between validations (default: 500)")
    p.add_argument("--data", action="append", choices=DATA, help="only these data sets (default: all four)")
    p.add_argument("--engine", choices=("numpy", "torch"), default="numpy")
    p.add_argument("--device", default="auto", help="torch engine: auto, cpu, cuda")
    p.add_argument("--workers", type=int, default=0, help="numpy engine: --threads of rnnkit train (0: automatic)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="keep the runs in this folder (default: a temporary one)")
    p.add_argument("--quick", action="store_true", help="a tiny model for a few seconds each: checks that it runs")
    args = p.parse_args()
    args.model = []
    if args.quick:
        args.minutes, args.eval_every = 0.05, 10
        args.model = ["--hidden", "16", "--glimpse-hidden", "8", "--loc-hidden", "8", "--glimpse-out", "16",
                      "--batch", "16"]
    print_header("Recurrent attention on MNIST stand-ins: test error against training time", args.threads)
    rows, curves = [], {}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(args.out or temp)
        for data in args.data or DATA:
            run = folder / data
            result = train_and_eval(run, data, args)
            curves[data] = curve(run)
            model = "DRAM" if data == "mnist-pairs" else "RAM"
            rows.append([data, model, f"{args.minutes:g}", f"{100 * result['error']:.2f}",
                         f"{100 * result['digit_error']:.2f}", f"{100 * TARGETS[data]:g}"])
    print()
    for data, points in curves.items():
        print(f"{data}: validation error (%) by training minute: "
              + ", ".join(f"{minute:.1f}: {100 * error:.2f}" for minute, error in points))
    print()
    print_table(["data", "model", "minutes", "test error %", "digit error %", "target %"], rows)


if __name__ == "__main__":
    main()
