"""Training speed of rnnkit's NumPy engine, against PyTorch and against min-char-rnn.

Part 1, engines: the same character LSTM trained by rnnkit's NumPy engine
(``rnnkit.runtime.make_runtime("numpy", ...)``, its ``train_step``) and by a plain PyTorch
``nn.LSTM`` loop (benchmarks/_common.py: embedding, Adam 2e-3, norm clip 5, truncated BPTT), both
reading the same ``TBPTTStream`` batches of the ``stdlib`` corpus, at three sizes:

    H=128, 1 layer,  N=32, T=64
    H=256, 2 layers, N=32, T=64
    H=512, 1 layer,  N=64, T=100

Both use an embedding of the same width (``--embed``, default 64); ``--one-hot`` instead feeds
rnnkit one-hot characters (its CLI default) while PyTorch keeps its embedding, for information.
Each engine takes ``--warmup`` untimed steps, then ``--rounds`` rounds alternate between the two
engines, ``--per-round`` timed steps each (a step = read the batch, forward, backward, clip,
Adam update). Characters per second = N*T / the median step time. Target: numpy/torch >= 0.8.

Part 2, min-char-rnn: Karpathy's min-char-rnn (a vanilla RNN, H=100, T=25, one stream, Adagrad at
0.1, gradients clipped to [-5, 5], a Python loop over the 25 steps), re-implemented here from its
equations, against rnnkit with the same cell, size and one-hot input, batched, as a user runs it (``rnnkit train
--data kjv --cell rnn --hidden 100 --embed 0`` with every other setting at its default: N=32, T=64, Adam,
its schedule for a time budget; ``--rnnkit-cell``/``--rnnkit-hidden`` pick another model),
each trained for ``--seconds`` of wall-clock time on the training part of the same corpus. Both
are then evaluated on the first ``--eval-chars`` characters of the same validation part with
rnnkit's own evaluate_tokens (64 streams, state carried). Targets: rnnkit >= 20x the characters
per second, and a clearly lower held-out bits per character.

Run:  python benchmarks/charlm_speed.py [--threads N] [--quick] [--part engines|minchar]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (add_threads_argument, set_threads_from_argv)  # noqa: E402  (stdlib only)

THREADS = set_threads_from_argv()  # before NumPy and PyTorch are imported

import argparse  # noqa: E402
import io  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from _common import (TorchBaseline, bpc_on, configure_torch, interleaved_step_times,  # noqa: E402
                     load_corpus_or_stdlib, median, print_header, print_table, rate)
from rnnkit.config import TrainConfig  # noqa: E402
from rnnkit.models.charlm.spec import CharLMSpec  # noqa: E402
from rnnkit.data import TBPTTStream  # noqa: E402
from rnnkit.runtime import make_runtime  # noqa: E402

#: (label, hidden, layers, batch, seq_len): the sizes issue 2 names.
SIZES = [("H=128", 128, 1, 32, 64), ("H=256 x2", 256, 2, 32, 64), ("H=512", 512, 1, 64, 100)]
SPEED_TARGET = 0.8
MINCHAR_TARGET = 20.0


# -- part 1: rnnkit's NumPy engine against a plain PyTorch loop ---------------------------------

def engine_speeds(args, torch) -> None:
    corpus = load_corpus_or_stdlib("stdlib")
    V = len(corpus.vocab)
    rnnkit_embed = 0 if args.one_hot else args.embed
    rnnkit_input = "one-hot" if args.one_hot else f"embedding {args.embed}"
    print(f"Part 1: LSTM training steps on {corpus.describe()}")
    print(f"rnnkit numpy engine ({rnnkit_input}) vs plain PyTorch nn.LSTM (embedding {args.embed}); "
          f"both Adam lr 2e-3, norm clip 5, truncated BPTT")
    print(f"per engine and size: {args.warmup} warm-up steps, then {args.rounds} alternating rounds "
          f"x {args.per_round} timed steps; chars/s = N*T / median step time\n")
    rows = []
    for label, H, L, N, T in SIZES:
        model_config = CharLMSpec(cell="lstm", vocab_size=V, hidden=H, layers=L, embed_dim=rnnkit_embed)
        runtime = make_runtime("numpy", model_config, TrainConfig(batch=N, seq_len=T), seed=0)
        np_stream = TBPTTStream(corpus.train, N, T)
        baseline = TorchBaseline(V, H, L, embed_dim=args.embed, seed=0)
        torch_stream = TBPTTStream(corpus.train, N, T)

        def numpy_step():
            if np_stream.at_start:
                runtime.reset_state(N)
            x, y = np_stream.next_batch()
            runtime.train_step((x, y), 2e-3)

        def torch_step():
            if torch_stream.at_start:
                baseline.reset_state(N)
            x, y = torch_stream.next_batch()
            baseline.train_step(x, y)

        times = interleaved_step_times({"numpy": numpy_step, "torch": torch_step},
                                       args.warmup, args.rounds, args.per_round)
        np_rate = N * T / median(times["numpy"])
        torch_rate = N * T / median(times["torch"])
        ratio = np_rate / torch_rate
        n_params = sum(v.size for v in runtime.params_numpy().values())
        rows.append([label, L, N, T, f"{n_params:,}", f"{baseline.n_params:,}", rate(np_rate), rate(torch_rate),
                     f"{ratio:.2f}x", "yes" if ratio >= SPEED_TARGET else "NO"])
        print(f"  {label}: numpy {rate(np_rate)} chars/s, torch {rate(torch_rate)} chars/s", flush=True)
    print()
    print_table(["size", "layers", "N", "T", "params numpy", "params torch", "numpy chars/s",
                 "torch chars/s", "numpy/torch", f">= {SPEED_TARGET}x"], rows)


# -- part 2: min-char-rnn -----------------------------------------------------------------------

class MinCharRNN:
    """A vanilla RNN trained like Karpathy's min-char-rnn, written here from its equations:

        x_t = one_hot(c_t)                         (V, 1)
        h_t = tanh(Wxh x_t + Whh h_{t-1} + bh)     (H, 1)
        y_t = Why h_t + by                         (V, 1)
        p_t = softmax(y_t),  loss = sum_t -log p_t[c_{t+1}]

    over T=25 characters of a single stream, with h carried from chunk to chunk and reset when the
    pointer wraps; backpropagation through the 25 steps; every gradient clipped to [-5, 5]; Adagrad
    at 0.1. Weights start as 0.01 * N(0, 1), biases at 0, all float64, as in the original. Training
    is unbatched with a per-step Python loop, faithful to the original (which also samples 200
    characters every 100 steps; that is left out here, so the measured speed is if anything in
    min-char-rnn's favour).

    ``init_state``/``eval_chunk`` evaluate the same weights over (N,) batches of streams at once,
    only to make evaluation fast; the arithmetic is the same (a one-hot product is a column lookup).
    """

    def __init__(self, vocab_size: int, hidden: int = 100, seq_len: int = 25, lr: float = 0.1, seed: int = 0):
        rng = np.random.default_rng(seed)
        V, H = vocab_size, hidden
        self.V, self.H, self.T, self.lr = V, H, seq_len, lr
        self.Wxh = rng.standard_normal((H, V)) * 0.01
        self.Whh = rng.standard_normal((H, H)) * 0.01
        self.Why = rng.standard_normal((V, H)) * 0.01
        self.bh = np.zeros((H, 1))
        self.by = np.zeros((V, 1))
        self.names = ("Wxh", "Whh", "Why", "bh", "by")
        self.memory = {name: np.zeros_like(getattr(self, name)) for name in self.names}  # Adagrad sums

    @property
    def n_params(self) -> int:
        return sum(getattr(self, name).size for name in self.names)

    def loss_and_grads(self, inputs, targets, h_prev):
        """Summed cross-entropy of one chunk, the gradients of every weight, and the last h.

        inputs, targets: lists of T ints; h_prev: (H, 1).
        """
        xs, hs, ps = {}, {-1: h_prev}, {}
        loss = 0.0
        for t, c in enumerate(inputs):  # forward, one character at a time
            xs[t] = np.zeros((self.V, 1))
            xs[t][c] = 1.0
            hs[t] = np.tanh(self.Wxh @ xs[t] + self.Whh @ hs[t - 1] + self.bh)
            y = self.Why @ hs[t] + self.by
            e = np.exp(y - y.max())  # shifting by the max leaves softmax unchanged, avoids overflow
            ps[t] = e / e.sum()
            loss -= math.log(ps[t][targets[t], 0])
        dWxh, dWhh, dWhy = np.zeros_like(self.Wxh), np.zeros_like(self.Whh), np.zeros_like(self.Why)
        dbh, dby = np.zeros_like(self.bh), np.zeros_like(self.by)
        dh_next = np.zeros_like(h_prev)
        for t in reversed(range(len(inputs))):  # backward through time
            dy = ps[t].copy()
            dy[targets[t]] -= 1.0                       # d loss / d y_t = p_t - one_hot(target)
            dWhy += dy @ hs[t].T
            dby += dy
            dh = self.Why.T @ dy + dh_next              # from the output and from step t+1
            da = (1.0 - hs[t] * hs[t]) * dh             # through tanh
            dbh += da
            dWxh += da @ xs[t].T
            dWhh += da @ hs[t - 1].T
            dh_next = self.Whh.T @ da
        return loss, {"Wxh": dWxh, "Whh": dWhh, "Why": dWhy, "bh": dbh, "by": dby}, hs[len(inputs) - 1]

    def update(self, grads) -> None:
        """Clip every gradient value to [-5, 5], then one Adagrad step."""
        for name in self.names:
            g = np.clip(grads[name], -5.0, 5.0, out=grads[name])
            self.memory[name] += g * g
            getattr(self, name)[...] -= self.lr * g / np.sqrt(self.memory[name] + 1e-8)

    def train(self, data, seconds: float):
        """min-char-rnn's loop over ``data`` (ids) for ``seconds``: returns (steps, chars, seconds)."""
        data = np.asarray(data)
        T = self.T
        p, steps, h = 0, 0, np.zeros((self.H, 1))
        start = time.monotonic()
        elapsed = 0.0
        while elapsed < seconds:
            if p + T + 1 >= len(data):  # wrapped around: start again at the beginning, state reset
                p, h = 0, np.zeros((self.H, 1))
            chunk = data[p:p + T + 1].tolist()
            _, grads, h = self.loss_and_grads(chunk[:-1], chunk[1:], h)
            self.update(grads)
            p += T
            steps += 1
            elapsed = time.monotonic() - start
        return steps, steps * T, elapsed

    # rnnkit's evaluation interface (batched over streams; evaluation only) --------------------

    def init_state(self, batch: int) -> list:
        return [(np.zeros((batch, self.H)),)]

    def eval_chunk(self, x, y, state):
        """Summed nats over a (N, t) chunk, the state carried: (nats, new state)."""
        h = state[0][0]
        N, steps = x.shape
        hs = np.empty((steps, N, self.H))
        for t in range(steps):
            # Wxh @ one_hot(c) is column c of Wxh: a lookup for all N streams at once.
            h = np.tanh(self.Wxh[:, x[:, t]].T + h @ self.Whh.T + self.bh[:, 0])
            hs[t] = h
        logits = hs.reshape(-1, self.H) @ self.Why.T + self.by[:, 0]   # (t*N, V), time-major
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        targets = y.T.reshape(-1)
        return -float(logp[np.arange(targets.size), targets].sum()), [(h,)]


def minchar_comparison(args) -> None:
    from rnnkit.training.loop import Trainer

    corpus = load_corpus_or_stdlib(args.data)
    V = len(corpus.vocab)
    print(f"Part 2: min-char-rnn vs rnnkit, {args.seconds:g} s of training each on {corpus.describe()}")
    print(f"held-out bpc over the first {min(args.eval_chars, len(corpus.val) - 1):,} validation characters, "
          "rnnkit's evaluate_tokens for both\n")

    print(f"  training min-char-rnn for {args.seconds:g} s ...", flush=True)
    minchar = MinCharRNN(V, hidden=100, seq_len=25, lr=0.1, seed=0)
    mc_steps, mc_chars, mc_time = minchar.train(corpus.train, args.seconds)
    mc_bpc, evaluated = bpc_on(minchar, corpus.val, args.eval_chars)

    print(f"  training rnnkit for {args.seconds:g} s ...", flush=True)
    model_config = CharLMSpec(vocab_size=1, cell=args.rnnkit_cell, hidden=args.rnnkit_hidden)  # others: default
    train_config = TrainConfig(data=corpus.name, minutes=args.seconds / 60.0, eval_chars=args.eval_chars)
    with tempfile.TemporaryDirectory(prefix="rnnkit-bench-") as run_dir:
        trainer = Trainer(model_config, train_config, run_dir, corpus=corpus, log_stream=io.StringIO())
        result = trainer.run()
        progress = result.progress
        rk_bpc, _ = bpc_on(trainer.runtime, corpus.val, args.eval_chars)
        rk_params = sum(v.size for v in trainer.runtime.params_numpy().values())
    mc_rate, rk_rate = mc_chars / mc_time, progress.tokens / progress.elapsed
    print()
    mc_desc = "min-char-rnn: rnn H=100, T=25, batch 1, Adagrad 0.1, clip [-5, 5]"
    rk_desc = (f"rnnkit: {model_config.cell} H={args.rnnkit_hidden}, T={train_config.seq_len}, batch "
               f"{train_config.batch}, {train_config.optimizer} {train_config.lr:g}, its schedule, clip {train_config.clip:g}")
    print_table(["model", "params", "steps", "chars trained", "train s", "chars/s", "held-out bpc"], [
        [mc_desc, f"{minchar.n_params:,}", f"{mc_steps:,}", f"{mc_chars:,}", f"{mc_time:.1f}", rate(mc_rate), f"{mc_bpc:.4f}"],
        [rk_desc, f"{rk_params:,}", f"{progress.step:,}", f"{progress.tokens:,}", f"{progress.elapsed:.1f}",
         rate(rk_rate), f"{rk_bpc:.4f}"],
    ])
    speedup = rk_rate / mc_rate
    print_table(["measure", "rnnkit vs min-char-rnn", "target", "met"], [
        ["chars/s", f"{speedup:.1f}x", f">= {MINCHAR_TARGET:g}x", "yes" if speedup >= MINCHAR_TARGET else "NO"],
        ["held-out bpc", f"{rk_bpc - mc_bpc:+.4f}", "clearly lower (< 0)", "yes" if rk_bpc < mc_bpc else "NO"],
    ])
    print(f"({evaluated:,} validation characters evaluated; the rnnkit run is `rnnkit train --data "
          f"{corpus.name} --cell {args.rnnkit_cell} --hidden {args.rnnkit_hidden} --embed 0 --minutes {args.seconds / 60:.4g}`)\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(parser, THREADS)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run in seconds: 1 warm-up and 2 timed steps, 5 s budgets, 20k eval chars")
    parser.add_argument("--part", choices=("all", "engines", "minchar"), default="all")
    parser.add_argument("--embed", type=int, default=64, help="embedding width of both models in part 1 (default: 64)")
    parser.add_argument("--one-hot", action="store_true",
                        help="part 1: rnnkit reads one-hot characters (its CLI default); PyTorch keeps its embedding")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per engine and size (default: 3)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating timing rounds (default: 4)")
    parser.add_argument("--per-round", type=int, default=5, help="timed steps per engine per round (default: 5)")
    parser.add_argument("--seconds", type=float, default=120.0, help="part 2: training time of each model (default: 120)")
    parser.add_argument("--data", default="kjv", help="part 2: corpus (default: kjv; stdlib if kjv is not installed)")
    parser.add_argument("--eval-chars", type=int, default=200_000,
                        help="part 2: validation characters evaluated (default: 200,000)")
    parser.add_argument("--rnnkit-cell", default="rnn", choices=("rnn", "lstm", "gru"),
                        help="part 2: rnnkit's cell (default: rnn, the same cell as min-char-rnn, batched)")
    parser.add_argument("--rnnkit-hidden", type=int, default=100,
                        help="part 2: rnnkit's hidden size (default: 100, as min-char-rnn)")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.rounds, args.per_round = 1, 1, 2
        args.seconds, args.eval_chars = 5.0, 20_000
    torch = configure_torch(THREADS)
    print_header("rnnkit benchmark: character-model training speed" + (" (--quick)" if args.quick else ""),
                 THREADS, torch)
    if args.part in ("all", "engines"):
        engine_speeds(args, torch)
    if args.part in ("all", "minchar"):
        minchar_comparison(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
