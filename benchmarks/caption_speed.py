"""The captioner's training speed: rnnkit's torch engine against the same model written plainly in
PyTorch (benchmarks/baselines/plain_captioner.py), and rnnkit's NumPy engine, side by side in one run.

Every side trains on the same batch of (image, reference) pairs from the captioning task (the
scenes of real digits and clothes where they are installed, else random pictures and captions with
the same shapes, which the header says): a step is forward, backward, gradient clipping at 5 and an
Adam update. The sides take turns (``interleaved_step_times``), so a change in the machine's load
falls on all of them; the table gives the median step and images per second, with and without soft
attention, at the task's default sizes (64x64 grey scenes, conv 16-32-32, E=64, H=128, A=64). The
issue's target: the torch engine >= 1.0x the plain script.

    python benchmarks/caption_speed.py --threads 2
    python benchmarks/caption_speed.py --threads 2 --batch 64 --rounds 5 --per-round 3
    python benchmarks/caption_speed.py --quick          # seconds: checks that it runs, numbers mean nothing
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
from rnnkit.models.captioner.spec import CaptionerSpec  # noqa: E402
from rnnkit.runtime import make_runtime  # noqa: E402
from _timing import print_speed_header, quick_timing, speed_parser, speed_rows, time_sides  # noqa: E402

LR = 2e-3


def batch_of_pairs(batch: int, quick: bool):
    """((images, captions, mask), vocabulary size, where they came from)."""
    if not quick:
        try:
            from rnnkit.tasks.caption import CaptionTask

            task = CaptionTask(TrainConfig(data="scenes", batch=batch))
            return task.next_batch()[0], len(task.vocab), "scenes (first training batch)"
        except UsageError:
            pass
    rng = np.random.default_rng(0)
    side = 16 if quick else 64
    captions = rng.integers(4, 84, (batch, 13))
    captions[:, 0] = 1
    mask = np.arange(12)[None, :] < rng.integers(4, 13, batch)[:, None]
    return (rng.random((batch, side, side, 1), dtype=np.float32), captions, mask), 84, "random pictures and words"


def main() -> None:
    args = speed_parser(__doc__, THREADS, batch=32, hidden=128).parse_args()
    if args.quick:
        args.batch, args.hidden = 4, 16
        quick_timing(args)
    torch = configure_torch(args.threads)
    from baselines.plain_captioner import PlainCaptioner

    print_speed_header("Captioner", args.threads, torch)
    (images, captions, mask), vocab, source = batch_of_pairs(args.batch, args.quick)
    side, channels = images.shape[1], images.shape[3]
    print(f"data: {source}; batch {args.batch}, {side}x{side}x{channels}, {mask.shape[1]} steps, V={vocab}, "
          f"H={args.hidden}; Adam lr {LR}, clip 5\n")
    rows = []
    for attention in ("soft", "none"):
        spec = CaptionerSpec(vocab_size=vocab, hidden=args.hidden, image_height=side, image_width=side,
                             image_channels=channels, attention=attention, penalty=0.02)
        cfg = TrainConfig(batch=args.batch, lr=LR, clip=5.0, threads=1)

        def make_plain():
            return PlainCaptioner(vocab, channels, spec.channels, spec.embed_dim, args.hidden, attention == "soft",
                                  spec.attention_size, spec.penalty)

        xt, ct, mt = torch.as_tensor(images), torch.as_tensor(captions), torch.as_tensor(mask)
        check = make_plain().double()
        check.load_rnnkit(spec.init_params(np.random.default_rng(0)))
        numpy64 = make_runtime("numpy", spec, TrainConfig(dtype="float64"), seed=0).model
        reference = numpy64.loss(images, captions, mask)[0]
        with torch.no_grad():
            gap = abs(float(check(xt.double(), ct, mt)) - reference)
        print(f"attention {attention}: the plain model and rnnkit's, same weights, float64: losses differ by {gap:.1e}")
        times = time_sides(torch, spec, cfg, (images, captions, mask), LR, make_plain, (xt, ct, mt), args)
        rows += speed_rows(attention, times, args.batch)
    print_table(["attention", "side", "ms/step", "images/s", "vs plain"], rows)


if __name__ == "__main__":
    main()
