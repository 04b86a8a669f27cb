"""RAM's training speed: rnnkit's torch engine, the same model written plainly in PyTorch
(benchmarks/baselines/plain_ram.py: nn.LSTMCell, nn.Linear, autograd), and rnnkit's NumPy engine,
side by side in one run.

Each side trains on the same batch of glimpse images (real MNIST where installed, else random
pixels, which the header says): a step is forward with sampled locations, backward through the
hybrid loss, gradient clipping at 5 and an Adam update. The sides take turns
(``interleaved_step_times``), so a change in the machine's load falls on all of them; the table
gives the median step and images per second for RAM on 28x28 (6 glimpses of 8x8, one scale) and on
60x60 (6 glimpses of 12x12 at 3 scales), LSTM core H=256, the paper's sizes, the location mean
detached from the core as the task trains RAM (``--no-loc-grad``, its default).

    python benchmarks/glimpse_speed.py --threads 2
    python benchmarks/glimpse_speed.py --threads 2 --batch 64 --rounds 5 --per-round 5
    python benchmarks/glimpse_speed.py --quick        # seconds: checks that it runs, numbers mean nothing
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
from rnnkit.models.ram.spec import RAMSpec  # noqa: E402
from _timing import print_speed_header, quick_timing, speed_parser, speed_rows, time_sides  # noqa: E402

LR = 1e-3
#: (data, image side, glimpses, patch, scales)
SETTINGS = (("mnist", 28, 6, 8, 1), ("mnist-translated", 60, 6, 12, 3))


def batch_of(data: str, size: int, batch: int, quick: bool):
    """(images (batch, S, S) float32, labels (batch, 1) int64, where they came from)."""
    if not quick:
        try:
            from rnnkit.data.glimpse_digits import GlimpseBatcher, load_glimpse_digits

            x, y = GlimpseBatcher(load_glimpse_digits(data), batch).next_batch()
            return x, y, data
        except UsageError:
            pass
    rng = np.random.default_rng(0)
    return rng.random((batch, size, size)).astype(np.float32), rng.integers(0, 10, (batch, 1)), "random pixels"


def main() -> None:
    args = speed_parser(__doc__, THREADS, batch=64, hidden=256).parse_args()
    widths = {"glimpse_hidden": 128, "loc_hidden": 128, "glimpse_out": 256}
    if args.quick:
        args.batch, args.hidden = 8, 16
        quick_timing(args)
        widths = {"glimpse_hidden": 16, "loc_hidden": 8, "glimpse_out": 16}
    torch = configure_torch(args.threads)
    from baselines.plain_ram import PlainRAM

    print_speed_header("RAM", args.threads, torch)
    rows = []
    for data, size, glimpses, patch, scales in SETTINGS:
        x, y, source = batch_of(data, size, args.batch, args.quick)
        print(f"{data}: {source}; batch {args.batch}, {glimpses} glimpses of {patch}x{patch} at {scales} scale(s), "
              f"LSTM H={args.hidden}, location mean detached; Adam lr {LR}, clip 5")
        spec = RAMSpec(image_size=size, glimpses=glimpses, patch=patch, scales=scales, hidden=args.hidden,
                        loc_grad=False, **widths)
        cfg = TrainConfig(batch=args.batch, lr=LR, clip=5.0, threads=1)
        times = time_sides(torch, spec, cfg, (x, y), LR,
                           lambda: PlainRAM(size, glimpses, patch, scales, widths["glimpse_hidden"],
                                            widths["loc_hidden"], widths["glimpse_out"], args.hidden),
                           (torch.as_tensor(x), torch.as_tensor(y[:, 0])), args)
        rows += speed_rows(data, times, args.batch, ms=",.1f", per_second=",.0f")
    print()
    print_table(["data", "side", "ms/step", "images/s", "vs plain"], rows)


if __name__ == "__main__":
    main()
