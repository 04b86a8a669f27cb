"""DRAW's training speed: rnnkit's torch engine, the same model written plainly in PyTorch
(benchmarks/baselines/plain_draw.py: nn.LSTMCell, nn.Linear, autograd), and rnnkit's NumPy engine,
side by side in one run.

Each side trains on the same batches of binarised MNIST (random bits with --quick or where the
data is not installed, which the header says): a step is forward, backward, gradient clipping at 5
and an Adam update. The sides take turns (``interleaved_step_times``), so a change in the
machine's load falls on all of them; the table gives the median step and images per second, with
and without attention, at the paper's MNIST sizes (H=256, Z=100, T=64, read 2x2, write 5x5).

    python benchmarks/draw_speed.py --threads 2
    python benchmarks/draw_speed.py --threads 2 --batch 64 --rounds 3 --per-round 3
    python benchmarks/draw_speed.py --threads 1 --hidden 128 --latent 20 --steps-t 16 --read-n 5 --write-n 8
    python benchmarks/draw_speed.py --quick          # seconds: checks that it runs, numbers mean nothing
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import configure_torch, print_table, set_threads_from_argv  # noqa: E402

THREADS = set_threads_from_argv()

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnnkit.config import TrainConfig  # noqa: E402
from rnnkit.errors import UsageError  # noqa: E402
from rnnkit.models.draw.spec import DrawSpec  # noqa: E402
from _timing import print_speed_header, quick_timing, speed_parser, speed_rows, time_sides  # noqa: E402

LR = 1e-3


def images(batch: int, quick: bool):
    """(x (batch, 28, 28) float32 bits, where they came from)."""
    if not quick:
        try:
            from rnnkit.data.binarized import load_binary_images

            train = load_binary_images("binarized-mnist").splits["train"]
            return train[:batch].astype(np.float32), "binarized-mnist"
        except UsageError:
            pass
    return (np.random.default_rng(0).random((batch, 28, 28)) < 0.13).astype(np.float32), "random bits"


def main() -> None:
    p = speed_parser(__doc__, THREADS, batch=64, hidden=256)
    p.add_argument("--latent", type=int, default=100)
    p.add_argument("--steps-t", type=int, default=64)
    p.add_argument("--read-n", type=int, default=2)
    p.add_argument("--write-n", type=int, default=5)
    args = p.parse_args()
    if args.quick:
        args.batch, args.hidden, args.latent, args.steps_t = 8, 16, 4, 4
        quick_timing(args)
    torch = configure_torch(args.threads)
    from baselines.plain_draw import PlainDraw

    print_speed_header("DRAW", args.threads, torch)
    x, source = images(args.batch, args.quick)
    print(f"data: {source}; batch {args.batch}, H={args.hidden}, Z={args.latent}, T={args.steps_t}, read "
          f"{args.read_n}x{args.read_n}, write {args.write_n}x{args.write_n}; Adam lr {LR}, clip 5\n")
    rows = []
    for attention in (True, False):
        spec = DrawSpec(height=28, width=28, hidden=args.hidden, latent=args.latent, steps_t=args.steps_t,
                        attention=attention, read_n=args.read_n, write_n=args.write_n)
        cfg = TrainConfig(batch=args.batch, lr=LR, clip=5.0, threads=1)
        times = time_sides(torch, spec, cfg, (x,), LR,
                           lambda: PlainDraw(28, 28, args.hidden, args.latent, args.steps_t, attention, args.read_n,
                                             args.write_n),
                           (torch.as_tensor(x.reshape(len(x), -1)),), args)
        rows += speed_rows("on" if attention else "off", times, args.batch)
    print_table(["attention", "side", "ms/step", "images/s", "vs plain"], rows)


if __name__ == "__main__":
    main()
