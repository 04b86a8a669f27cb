"""Quality at a fixed time budget: rnnkit's defaults against a plain PyTorch nn.LSTM.

rnnkit is run exactly as a user runs it, through its command line in this process:

    rnnkit train --data kjv --cell lstm --hidden 256 --layers 2 --batch 32 --seq-len 64 \\
                 --minutes M --out RUN --force --sample-length 0

so everything else (input encoding, initialisation, optimizer, learning rate and its schedule,
clipping, the periodic evaluation and checkpoints, whose time the budget does not count) is
rnnkit's default. Then, in the same process and not at the same time, the plain PyTorch model of
the same size (benchmarks/_common.py: ``nn.Embedding(V, --torch-embed)``, a 2-layer
``nn.LSTM(H=256)``, ``nn.Linear``; Adam at a constant 2e-3, ``clip_grad_norm_(5)``, the same
truncated BPTT over the same ``TBPTTStream`` of 32 streams x 64 steps) trains for the same M minutes.

Both final models are evaluated on the whole validation part of the corpus (its last 5 %) with
rnnkit's own ``evaluate_tokens`` (64 streams, chunks of 128, state carried): held-out bits per
character. rnnkit's number is that of its final checkpoint (checkpoint.npz), not of best.npz,
which was picked on (most of) this same validation text. Target: rnnkit <= PyTorch + 0.05 bpc.

Run:  python benchmarks/charlm_quality.py [--minutes 3] [--threads N] [--quick]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (add_threads_argument, set_threads_from_argv)  # noqa: E402  (stdlib only)

THREADS = set_threads_from_argv()  # before NumPy and PyTorch are imported

import argparse  # noqa: E402
import shlex  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from _common import (TorchBaseline, bpc_on, configure_torch, load_corpus_or_stdlib,  # noqa: E402
                     print_header, print_table, rate, train_for)
from rnnkit import cli  # noqa: E402
from rnnkit.data import TBPTTStream  # noqa: E402
from rnnkit.runtime import make_runtime  # noqa: E402
from rnnkit.training.checkpoint import load_checkpoint  # noqa: E402

HIDDEN, LAYERS, BATCH, SEQ_LEN = 256, 2, 32, 64
TARGET = 0.05


def rnnkit_argv(data: str, minutes: float, out: str, extra=()) -> list[str]:
    """The ``rnnkit`` command line of the rnnkit run (without the program name)."""
    return ["train", "--data", data, "--cell", "lstm", "--hidden", str(HIDDEN), "--layers", str(LAYERS),
            "--batch", str(BATCH), "--seq-len", str(SEQ_LEN), "--minutes", f"{minutes:g}",
            "--out", out, "--force", "--sample-length", "0", *extra]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(parser, THREADS)
    parser.add_argument("--minutes", type=float, default=3.0, help="training time of each model (default: 3)")
    parser.add_argument("--data", default="kjv", help="corpus (default: kjv; stdlib if kjv is not installed)")
    parser.add_argument("--torch-embed", type=int, default=64, help="embedding width of the PyTorch model (default: 64)")
    parser.add_argument("--keep", metavar="RUN_DIR",
                        help="keep rnnkit's run folder here (default: a temporary folder, deleted)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 0.1 min each on stdlib, 20,000 validation characters")
    args = parser.parse_args(argv)
    eval_chars, extra = None, []
    if args.quick:
        args.minutes, args.data, eval_chars = 0.1, "stdlib", 20_000
        extra = ["--eval-chars", str(eval_chars)]   # keeps rnnkit's own end-of-run evaluation short too
    torch = configure_torch(THREADS)
    print_header("rnnkit benchmark: held-out bpc after a fixed training time" + (" (--quick)" if args.quick else ""),
                 THREADS, torch)

    corpus = load_corpus_or_stdlib(args.data)
    V = len(corpus.vocab)
    print(f"data: {corpus.describe()}")
    print(f"both: lstm H={HIDDEN} x {LAYERS} layers, batch {BATCH} x seq-len {SEQ_LEN}, {args.minutes:g} min "
          "of training each, one after the other in this process\n", flush=True)

    with tempfile.TemporaryDirectory(prefix="rnnkit-quality-") as tmp:
        run_dir = args.keep or str(Path(tmp) / "run")
        argv_rnnkit = rnnkit_argv(corpus.name, args.minutes, run_dir, extra)
        print(f"[1/2] rnnkit {shlex.join(argv_rnnkit)}", flush=True)
        code = cli.main(argv_rnnkit)
        if code != 0:
            print(f"rnnkit train failed with exit code {code}", file=sys.stderr)
            return code
        checkpoint = load_checkpoint(run_dir, prefer_best=False)   # the final parameters
        if checkpoint.vocab != corpus.vocab:
            print("the rnnkit run's vocabulary differs from the corpus read here", file=sys.stderr)
            return 1
        progress = checkpoint.meta["progress"]
        runtime = make_runtime("numpy", checkpoint.spec, params=checkpoint.params)
        rk_params = sum(v.size for v in checkpoint.params.values())
        input_kind = checkpoint.spec.embed_dim or "one-hot"
        print("  evaluating rnnkit ...", flush=True)
        rk_bpc, evaluated = bpc_on(runtime, corpus.val, eval_chars)

    print(f"\n[2/2] plain PyTorch nn.LSTM for {args.minutes:g} min", flush=True)
    baseline = TorchBaseline(V, HIDDEN, LAYERS, embed_dim=args.torch_embed, lr=2e-3, clip=5.0, seed=0)
    stream = TBPTTStream(corpus.train, BATCH, SEQ_LEN)
    t_steps, t_chars, t_time = train_for(baseline.train_step, stream, baseline.reset_state,
                                         seconds=args.minutes * 60.0, log_every=10.0, label="  torch")
    print("  evaluating PyTorch ...", flush=True)
    torch_bpc, _ = bpc_on(baseline, corpus.val, eval_chars)

    print()
    print_table(["model", "input", "params", "steps", "chars trained", "train s", "chars/s", "held-out bpc"], [
        ["rnnkit (numpy engine, its defaults)", input_kind, f"{rk_params:,}", f"{progress['step']:,}",
         f"{progress['tokens']:,}", f"{progress['elapsed']:.1f}", rate(progress["tokens"] / progress["elapsed"]),
         f"{rk_bpc:.4f}"],
        ["PyTorch nn.LSTM (Adam 2e-3, clip 5)", f"embedding {args.torch_embed}", f"{baseline.n_params:,}",
         f"{t_steps:,}", f"{t_chars:,}", f"{t_time:.1f}", rate(t_chars / t_time), f"{torch_bpc:.4f}"],
    ])
    diff = rk_bpc - torch_bpc
    print_table(["measure", "value", "target", "met"], [
        ["rnnkit - torch bpc", f"{diff:+.4f}", f"<= +{TARGET}", "yes" if diff <= TARGET else "NO"],
    ])
    print(f"held-out: {evaluated:,} characters of {corpus.name}'s validation part "
          f"({'all of it' if eval_chars is None else 'the first ones (--quick)'})")
    print("reproduce:")
    shown = rnnkit_argv(corpus.name, args.minutes, "runs/quality", extra)
    print(f"  rnnkit {shlex.join(a for a in shown if a != '--force')}")
    bench = ["python", "benchmarks/charlm_quality.py", "--minutes", f"{args.minutes:g}", "--threads", str(THREADS)]
    if args.quick:
        bench = ["python", "benchmarks/charlm_quality.py", "--quick", "--threads", str(THREADS)]
    elif args.data != "kjv":
        bench += ["--data", args.data]
    print(f"  {shlex.join(bench)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
