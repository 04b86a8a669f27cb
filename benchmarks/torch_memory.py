"""Peak memory of training at long chunks (T = 1000): rnnkit's torch engine against nn.LSTM.

Backpropagation through a chunk of T steps keeps every step's activations until the backward pass,
so training memory grows with N*T*H. Each configuration trains ``--steps`` truncated-BPTT steps on
(N, T) chunks of random characters, in a fresh process of its own, and reports:

- on the CPU: the process's peak resident set size (``resource.getrusage(...).ru_maxrss``, which sees
  PyTorch's allocations, unlike tracemalloc) and how much of it came after the model, optimizer and
  batch existed (the "training" column: activations, gradients, optimizer state, workspaces);
- on a CUDA GPU: ``torch.cuda.max_memory_allocated()`` over the steps.

Configurations: the plain nn.LSTM loop (benchmarks/torch_baseline.py), rnnkit's LSTM through the
fused kernel, the same LSTM through the explicit cell loop (one autograd node per operation and step),
the layer-normalised LSTM (explicit), and minGRU with the parallel scan.

Run:  python benchmarks/torch_memory.py [--seq-len 1000] [--hidden 512] [--device cpu|cuda] [--quick]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import add_threads_argument, set_threads_from_argv  # noqa: E402  (stdlib only)

THREADS = set_threads_from_argv()  # before NumPy and PyTorch are imported

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402

#: name -> (cell, path), None for the plain nn.LSTM loop.
CONFIGS = {
    "nn.LSTM (plain loop)": None,
    "rnnkit lstm, fused": ("lstm", "auto"),
    "rnnkit lstm, explicit loop": ("lstm", "explicit"),
    "rnnkit lnlstm, explicit loop": ("lnlstm", "auto"),
    "rnnkit mingru, parallel scan": ("mingru", "auto"),
}
VOCAB = 100


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def child(args) -> None:
    """Measure one configuration in this (fresh) process; print one JSON line."""
    import numpy as np

    from _common import configure_torch
    from torch_baseline import LR, PlainLSTM, rnnkit_runtime
    from rnnkit.runtime.torch_device import resolve_device

    torch = configure_torch(args.threads)
    device = resolve_device(args.device)
    N, T, H = args.batch, args.seq_len, args.hidden
    spec = CONFIGS[args.child]
    if spec is None:
        model = PlainLSTM(torch, VOCAB, H, args.layers, args.embed, device)
        step = model.train_step
    else:
        model = rnnkit_runtime(spec[0], VOCAB, H, args.layers, N, T, args.embed, device.type, path=spec[1])
        step = lambda x, y: model.train_step((x, y), LR)  # noqa: E731
    rng = np.random.default_rng(0)
    batches = [(rng.integers(0, VOCAB, (N, T)), rng.integers(0, VOCAB, (N, T))) for _ in range(args.steps)]
    before = peak_rss_mb()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for x, y in batches:
        step(x, y)
    result = {"peak_rss_mb": peak_rss_mb(), "before_mb": before}
    if device.type == "cuda":
        result["cuda_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    print(json.dumps(result))


def measure(args, name: str) -> dict:
    """Run the configuration ``name`` in a fresh interpreter and read its JSON line."""
    argv = [sys.executable, os.path.abspath(__file__), "--child", name, "--threads", str(args.threads),
            "--device", args.device, "--seq-len", str(args.seq_len), "--hidden", str(args.hidden),
            "--layers", str(args.layers), "--batch", str(args.batch), "--embed", str(args.embed),
            "--steps", str(args.steps)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(parser, THREADS)
    parser.add_argument("--quick", action="store_true", help="a smoke run: T=100, H=64, N=4, 1 step")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument("--seq-len", type=int, default=1000, help="chunk length T (default: 1000)")
    parser.add_argument("--hidden", type=int, default=512, help="hidden size H (default: 512)")
    parser.add_argument("--layers", type=int, default=1, help="layers L (default: 1)")
    parser.add_argument("--batch", type=int, default=32, help="streams N (default: 32)")
    parser.add_argument("--embed", type=int, default=64, help="embedding width (default: 64)")
    parser.add_argument("--steps", type=int, default=2, help="training steps per configuration (default: 2)")
    parser.add_argument("--child", choices=CONFIGS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if args.quick:
        args.seq_len, args.hidden, args.batch, args.steps = 100, 64, 4, 1
    from _common import configure_torch, print_header, print_table

    print_header("rnnkit torch engine: peak training memory", args.threads, configure_torch(args.threads))
    print(f"{args.layers} layer(s), H={args.hidden}, N={args.batch}, T={args.seq_len}, embedding {args.embed}, "
          f"V={VOCAB}, {args.steps} Adam step(s), on {args.device}; one fresh process per configuration\n")
    rows = []
    for name in CONFIGS:
        m = measure(args, name)
        row = [name, f"{m['peak_rss_mb']:,.0f}", f"{m['peak_rss_mb'] - m['before_mb']:,.0f}"]
        if "cuda_peak_mb" in m:
            row.append(f"{m['cuda_peak_mb']:,.0f}")
        rows.append(row)
        print(f"  {name}: {row[1:]}", flush=True)
    print()
    headers = ["configuration", "peak RSS MiB", "training MiB (peak - before)"]
    if any(len(r) == 4 for r in rows):
        headers.append("CUDA peak allocated MiB")
    print_table(headers, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
