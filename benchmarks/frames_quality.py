"""Frame-level classification: what the recurrence buys, at equal training time.

For each data set (``moving-digits`` clips of real MNIST digits, ``watch`` smartwatch streams
split by subject) it trains, as a user would, the causal recurrent tagger and the same encoder
with ``--frame-alone`` (no recurrence), each for the same ``--minutes``, then reads their test
split with ``rnnkit eval RUN --split test --json``: per-frame accuracy (and, for the clips, the
accuracy on occluded frames; for watch, each exercise's). A table of the results follows, under
the machine's CPU and BLAS.

    python benchmarks/frames_quality.py --threads 2 --minutes 30                 # the docs' table
    python benchmarks/frames_quality.py --threads 2 --minutes 30 --data watch --engine torch
    python benchmarks/frames_quality.py --quick    # seconds: checks that it runs, numbers mean nothing

    # the two models side by side, one core each (equal time, half the wall-clock):
    taskset -c 0 python benchmarks/frames_quality.py --threads 1 --minutes 20 --models recurrent &
    taskset -c 1 python benchmarks/frames_quality.py --threads 1 --minutes 20 --models frame-alone

Each run goes to ``--out``/<data>-<model>; the commands are printed, so that any row can be
repeated alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_threads_argument, print_header, print_table, set_threads_from_argv  # noqa: E402

THREADS = set_threads_from_argv()

import argparse  # noqa: E402

from _runs import train_then_eval  # noqa: E402

MODELS = {"recurrent": [], "frame-alone": ["--frame-alone"]}
#: --quick: a few steps on small clips and few evaluation clips (numbers mean nothing).
QUICK = {"moving-digits": ["--steps", "3", "--batch", "4", "--eval-every", "3", "--clip-len", "6",
                           "--image-size", "32"],
         "watch": ["--steps", "3", "--batch", "4", "--eval-every", "3", "--clip-len", "50"]}


def train_and_eval(args, data: str, model: str) -> dict:
    out = Path(args.out) / f"{data}-{model}"
    budget = QUICK[data] if args.quick else ["--minutes", str(args.minutes)]
    command = ["--task", "frames", "--data", data, "--engine", args.engine, "--seed", str(args.seed),
               "--threads", str(THREADS), "--out", str(out), "--force", *budget, *MODELS[model],
               *args.train_flags.split()]
    result, seconds = train_then_eval(command, out, indent="  ")
    return {**result, "wall": seconds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_threads_argument(p, THREADS)
    p.add_argument("--data", nargs="+", default=["moving-digits", "watch"], choices=tuple(QUICK))
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=tuple(MODELS),
                   help="which models to train (default: both); e.g. one each in two processes pinned to a core each")
    p.add_argument("--minutes", type=float, default=30.0, help="training time of every model (default: 30)")
    p.add_argument("--engine", choices=("numpy", "torch"), default="numpy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-flags", default="", help="more flags for every rnnkit train, in one string")
    p.add_argument("--out", default="runs/bench-frames", help="where the runs go (default: runs/bench-frames)")
    p.add_argument("--quick", action="store_true", help="a few steps each: checks that the script runs")
    args = p.parse_args()
    torch = None
    if args.engine == "torch":
        import torch
    print_header("Frame-level classification: recurrent tagger against the frame-alone baseline", THREADS, torch)
    rows = []
    for data in args.data:
        results = {model: train_and_eval(args, data, model) for model in args.models}
        for model, r in results.items():
            extra = ("occluded " + f"{r['occluded_accuracy']:.4f}" if "occluded_accuracy" in r else
                     ", ".join(f"{k[9:]} {v:.2f}" for k, v in r.items() if k.startswith("accuracy_")))
            rows.append([data, model, f"{r['frame_accuracy']:.4f}", f"{r['loss']:.4f}", f"{r['frames']:,}",
                         "quick" if args.quick else f"{args.minutes:g} min", extra])
    print()
    print_table(["data", "model", "test frame acc", "loss (nats)", "frames", "training", "detail"], rows)


if __name__ == "__main__":
    main()
