"""The side-by-side training-speed comparison that the model speed benchmarks share
(caption_speed.py, draw_speed.py, glimpse_speed.py): rnnkit's torch engine, the same model
written plainly in PyTorch, and rnnkit's NumPy engine, each taking Adam steps on one batch.

Imported after :func:`_common.set_threads_from_argv` has fixed the thread count, like rnnkit
itself: it imports rnnkit's runtime at its top.
"""

from __future__ import annotations

import argparse

from _common import add_threads_argument, interleaved_step_times, median, print_header

from rnnkit.runtime import make_runtime

#: The three sides, in the order they take turns and appear in the table.
TORCH, PLAIN, NUMPY = "rnnkit torch", "plain PyTorch", "rnnkit numpy"


def speed_parser(doc: str, threads: int, batch: int, hidden: int) -> argparse.ArgumentParser:
    """The flags every speed benchmark has: --threads, --batch, --hidden, --warmup, --rounds,
    --per-round, --no-numpy, --quick. A script adds its own before parsing."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(p, threads)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--hidden", type=int, default=hidden)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--per-round", type=int, default=3)
    p.add_argument("--no-numpy", action="store_true", help="leave out the NumPy engine")
    p.add_argument("--quick", action="store_true", help="tiny sizes and one round: checks that it runs")
    return p


def quick_timing(args) -> None:
    """--quick: one untimed step, one round of two timed steps (the numbers mean nothing)."""
    args.warmup, args.rounds, args.per_round = 1, 1, 2


def print_speed_header(model: str, threads: int, torch) -> None:
    print_header(f"{model} training speed: rnnkit torch engine vs plain PyTorch vs rnnkit NumPy engine", threads,
                 torch)


def time_sides(torch, spec, cfg, batch: tuple, lr: float, make_plain, plain_inputs: tuple, args) -> dict:
    """Time the three sides on one batch; returns side name -> per-step seconds.

    ``batch`` is what rnnkit's runtimes take (``rt.train_step(batch, lr)``); ``make_plain()``
    builds the plain PyTorch model (seeded with 0 just before, so its weights are the same every
    run), whose ``forward(*plain_inputs)`` returns the loss. The plain step is what a PyTorch user
    writes: forward, backward, ``clip_grad_norm_(5)``, Adam at ``lr``.
    """
    steps = {}
    torch_rt = make_runtime("torch", spec, cfg, seed=0, device="cpu")
    steps[TORCH] = lambda: torch_rt.train_step(batch, lr)
    torch.manual_seed(0)
    plain = make_plain()
    optimizer = torch.optim.Adam(plain.parameters(), lr=lr)

    def plain_step():
        loss = plain(*plain_inputs)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(plain.parameters(), 5.0)
        optimizer.step()

    steps[PLAIN] = plain_step
    if not args.no_numpy:
        numpy_rt = make_runtime("numpy", spec, cfg, seed=0)
        steps[NUMPY] = lambda: numpy_rt.train_step(batch, lr)
    return interleaved_step_times(steps, args.warmup, args.rounds, args.per_round)


def speed_rows(label: str, times: dict, batch: int, ms: str = ",.0f", per_second: str = ",.1f") -> list[list[str]]:
    """Table rows [label, side, ms/step, images/s, vs plain] from :func:`time_sides`' medians."""
    plain_time = median(times[PLAIN])
    rows = []
    for name, values in times.items():
        step = median(values)
        rows.append([label, name, f"{step * 1000:{ms}}", f"{batch / step:{per_second}}", f"{plain_time / step:.2f}x"])
    return rows
