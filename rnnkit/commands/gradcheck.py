"""Check every hand-written backward pass against numerical gradients, in float64.

For each layer (RNN, LSTM and GRU steps and sequences, embedding, temporal affine, softmax loss,
dropout) and for the whole character model with each cell, the analytic gradient of every input
and weight is compared with central differences, (f(x + h) - f(x - h)) / 2h. The table lists the
largest relative error |a - n| / max(1e-8, |a| + |n|) per input; the command fails (exit 1) if
any is above its tolerance.
"""

from __future__ import annotations

import time

from rnnkit.gradchecks import run_all
from rnnkit.numpy_engine.gradcheck import format_table


def add_arguments(p) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of the random test problems (default: 0)")


def run(args) -> int:
    start = time.perf_counter()
    rows = run_all(seed=args.seed)
    print(format_table(rows))
    failed = [r for r in rows if r["ok"] != "ok"]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} gradients within tolerance "
          f"({time.perf_counter() - start:.1f} s)")
    return 1 if failed else 0
