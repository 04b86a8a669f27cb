"""minGRU with the parallel scan against the LSTM, at long chunks, for the same wall-clock time.

minGRU's gates read x_t alone, so its recurrence h_t = (1 - z_t) h_{t-1} + z_t h~_t is linear and
all T steps come out of one log-space scan (rnnkit/torch_engine/scan.py) instead of T dependent
steps; the LSTM runs through PyTorch's fused kernel. Both are rnnkit's torch engine trained by
rnnkit's own Trainer (truncated BPTT, Adam, its schedule for a time budget, norm clip 5),
with the same embedding, hidden size, layers and batch, for ``--minutes`` of training each, at
T = 256 and T = 512, on the King James Bible (``--data kjv``; stdlib if it is not installed).

Reported per model and T: parameters, steps, characters per second, and held-out bits per
character over the first ``--eval-chars`` characters of the validation part, measured by rnnkit's
evaluate_tokens (64 streams, state carried). minGRU has no Wh, so at the same H it has fewer
parameters (2H(D+1) per layer against 4H(D+H+1)): the comparison is at equal width and equal time.

Run:  python benchmarks/mingru_vs_lstm.py [--minutes 3] [--threads N] [--device cpu] [--quick]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import add_threads_argument, set_threads_from_argv  # noqa: E402  (stdlib only)

THREADS = set_threads_from_argv()  # before NumPy and PyTorch are imported

import argparse  # noqa: E402
import io  # noqa: E402
import tempfile  # noqa: E402

from _common import bpc_on, configure_torch, load_corpus_or_stdlib, print_header, print_table, rate  # noqa: E402
from rnnkit.config import TrainConfig  # noqa: E402
from rnnkit.models.charlm.spec import CharLMSpec  # noqa: E402

CELLS = ("lstm", "mingru")


def train_and_evaluate(args, corpus, cell: str, seq_len: int) -> list:
    """Train one model for the time budget; returns its table row."""
    from rnnkit.training.loop import Trainer

    model = CharLMSpec(cell=cell, vocab_size=1, hidden=args.hidden, layers=args.layers, embed_dim=args.embed)
    train = TrainConfig(data=corpus.name, batch=args.batch, seq_len=seq_len, minutes=args.minutes,
                        eval_every=10**9, eval_chars=args.eval_chars, engine="torch", seed=0)
    with tempfile.TemporaryDirectory(prefix="rnnkit-bench-") as run_dir:
        trainer = Trainer(model, train, run_dir, corpus=corpus, log_stream=io.StringIO(), device=args.device)
        progress = trainer.run().progress
        bpc, evaluated = bpc_on(trainer.runtime, corpus.val, args.eval_chars)
        n_params = sum(v.size for v in trainer.runtime.params_numpy().values())
    chars_per_s = progress.tokens / progress.elapsed
    print(f"  {cell:6} T={seq_len}: {progress.step:,} steps, {rate(chars_per_s)} chars/s, held-out bpc {bpc:.4f} "
          f"({evaluated:,} chars)", flush=True)
    return [cell, seq_len, f"{n_params:,}", f"{progress.step:,}", f"{progress.tokens:,}", rate(chars_per_s), f"{bpc:.4f}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(parser, THREADS)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 s per model, 5,000 eval chars, T 32 and 64")
    parser.add_argument("--minutes", type=float, default=3.0, help="training time of each model and T (default: 3)")
    parser.add_argument("--data", default="kjv", help="corpus (default: kjv; stdlib if kjv is not installed)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument("--seq-lens", type=int, nargs="+", default=[256, 512], help="chunk lengths T (default: 256 512)")
    parser.add_argument("--hidden", type=int, default=256, help="hidden size of both models (default: 256)")
    parser.add_argument("--layers", type=int, default=2, help="layers of both models (default: 2)")
    parser.add_argument("--embed", type=int, default=64, help="embedding width (default: 64)")
    parser.add_argument("--batch", type=int, default=32, help="streams per batch (default: 32)")
    parser.add_argument("--eval-chars", type=int, default=200_000, help="validation characters evaluated (default: 200,000)")
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.eval_chars, args.seq_lens = 0.05, 5000, [32, 64]
    torch = configure_torch(args.threads)
    print_header("rnnkit torch engine: minGRU (parallel scan) vs LSTM (fused kernel)", args.threads, torch)
    corpus = load_corpus_or_stdlib(args.data)
    print(f"{corpus.describe()}")
    print(f"each: {args.layers} x H={args.hidden}, embedding {args.embed}, batch {args.batch}, {args.minutes:g} min "
          f"on {args.device}, Adam with rnnkit's defaults (wsd schedule over the budget)\n")
    rows = [train_and_evaluate(args, corpus, cell, T) for T in args.seq_lens for cell in CELLS]
    print()
    print_table(["cell", "T", "params", "steps", "chars trained", "chars/s", "held-out bpc"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
