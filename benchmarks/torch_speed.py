"""Training speed of rnnkit's torch engine: against a plain nn.LSTM loop, and explicit vs fused.

Part 1, engines: the same character LSTM trained by rnnkit's torch engine (``TorchRuntime``, its
``train_step``: the fused path, weights mapped from rnnkit's layout on every call) and by the plain
PyTorch loop of benchmarks/_common.py (``nn.Embedding -> nn.LSTM -> nn.Linear``, Adam 2e-3, norm
clip 5, truncated BPTT), both with an embedding of width ``--embed`` and reading the same
``TBPTTStream`` batches of the ``stdlib`` corpus, at the sizes of the foundation benchmark:

    H=128, 1 layer,  N=32, T=64
    H=256, 2 layers, N=32, T=64
    H=512, 1 layer,  N=64, T=100

Target: torch engine / nn.LSTM >= 0.95 at every size.

Part 2, explicit loop vs fused kernel, same sizes, all in the torch engine: the LSTM through the fused
kernel, the same LSTM through the explicit cell loop (``path="explicit"``: a Python loop over T of
small matrix products), and the layer-normalised LSTM, which only the explicit loop computes. The
overhead is how much slower each is than the fused LSTM.

Each configuration takes ``--warmup`` untimed steps; then ``--rounds`` rounds alternate between the
configurations, ``--per-round`` timed steps each. chars/s = N*T / the median step time. With
``--device cuda`` both sides run on the GPU, under the same bf16 autocast the torch engine uses.

Run:  python benchmarks/torch_speed.py [--threads N] [--device cpu|cuda] [--quick] [--part engines|explicit]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import add_threads_argument, set_threads_from_argv  # noqa: E402  (stdlib only)

THREADS = set_threads_from_argv()  # before NumPy and PyTorch are imported

import argparse  # noqa: E402

from _common import (configure_torch, interleaved_step_times, load_corpus_or_stdlib, median,  # noqa: E402
                     print_header, print_table, rate)
from torch_baseline import CLIP, LR, PlainLSTM, rnnkit_runtime  # noqa: E402
from rnnkit.data import TBPTTStream  # noqa: E402

#: (label, hidden, layers, batch, seq_len): the sizes of issue 2's benchmark.
SIZES = [("H=128", 128, 1, 32, 64), ("H=256 x2", 256, 2, 32, 64), ("H=512", 512, 1, 64, 100)]
SPEED_TARGET = 0.95


def stepper(corpus, N, T, reset, step):
    """A function doing one training step on the next chunk of its own stream."""
    stream = TBPTTStream(corpus.train, N, T)

    def one_step():
        if stream.at_start:
            reset(N)
        x, y = stream.next_batch()
        step(x, y)

    return one_step


def measure(args, steps: dict) -> dict:
    times = interleaved_step_times(steps, args.warmup, args.rounds, args.per_round)
    return {name: median(t) for name, t in times.items()}


def engines(args, torch, corpus, device) -> None:
    V = len(corpus.vocab)
    print(f"Part 1: rnnkit torch engine vs plain nn.LSTM, embedding {args.embed}, Adam {LR:g}, clip {CLIP:g}, "
          f"on {device}\n")
    rows = []
    for label, H, L, N, T in SIZES:
        ours = rnnkit_runtime("lstm", V, H, L, N, T, args.embed, device.type)
        plain = PlainLSTM(torch, V, H, L, args.embed, device)
        seconds = measure(args, {
            "rnnkit": stepper(corpus, N, T, ours.reset_state, lambda x, y: ours.train_step((x, y), LR)),
            "nn.LSTM": stepper(corpus, N, T, plain.reset_state, plain.train_step),
        })
        ours_rate, plain_rate = N * T / seconds["rnnkit"], N * T / seconds["nn.LSTM"]
        ratio = ours_rate / plain_rate
        rows.append([label, L, N, T, rate(ours_rate), rate(plain_rate), f"{ratio:.3f}x",
                     "yes" if ratio >= SPEED_TARGET else "NO"])
        print(f"  {label}: rnnkit {rate(ours_rate)} chars/s, nn.LSTM {rate(plain_rate)} chars/s", flush=True)
    print()
    print_table(["size", "layers", "N", "T", "rnnkit torch chars/s", "nn.LSTM chars/s", "ratio",
                 f">= {SPEED_TARGET}x"], rows)


def explicit(args, torch, corpus, device) -> None:
    V = len(corpus.vocab)
    print(f"Part 2: explicit cell loop vs fused kernel in the torch engine, embedding {args.embed}, on {device}\n")
    rows = []
    for label, H, L, N, T in SIZES:
        runtimes = {
            "lstm fused": rnnkit_runtime("lstm", V, H, L, N, T, args.embed, device.type),
            "lstm explicit": rnnkit_runtime("lstm", V, H, L, N, T, args.embed, device.type, path="explicit"),
            "lnlstm explicit": rnnkit_runtime("lnlstm", V, H, L, N, T, args.embed, device.type),
        }
        seconds = measure(args, {name: stepper(corpus, N, T, rt.reset_state, lambda x, y, rt=rt: rt.train_step((x, y), LR))
                                 for name, rt in runtimes.items()})
        fused = seconds["lstm fused"]
        row = [label, L, N, T, rate(N * T / fused)]
        for name in ("lstm explicit", "lnlstm explicit"):
            row += [rate(N * T / seconds[name]), f"{seconds[name] / fused:.2f}x"]
        rows.append(row)
        print(f"  {label}: done", flush=True)
    print()
    print_table(["size", "layers", "N", "T", "fused chars/s", "explicit lstm chars/s", "time vs fused",
                 "lnlstm chars/s", "time vs fused"], rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(parser, THREADS)
    parser.add_argument("--quick", action="store_true", help="a smoke run in seconds: 1 warm-up, 1 round of 1 step")
    parser.add_argument("--part", choices=("all", "engines", "explicit"), default="all")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument("--embed", type=int, default=64, help="embedding width of every model (default: 64)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per configuration (default: 3)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating timing rounds (default: 4)")
    parser.add_argument("--per-round", type=int, default=5, help="timed steps per configuration per round (default: 5)")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.rounds, args.per_round = 1, 1, 1
    torch = configure_torch(args.threads)
    from rnnkit.runtime.torch_device import resolve_device

    device = resolve_device(args.device)
    print_header("rnnkit torch engine: training speed", args.threads, torch)
    corpus = load_corpus_or_stdlib("stdlib")
    if args.part in ("all", "engines"):
        engines(args, torch, corpus, device)
    if args.part in ("all", "explicit"):
        explicit(args, torch, corpus, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
