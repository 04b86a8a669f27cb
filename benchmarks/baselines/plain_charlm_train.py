"""A character LSTM trained the way a PyTorch user writes it, as one script: the other side of
benchmarks/whole_run.py, which times this process against ``rnnkit train`` with the same model.

    python benchmarks/baselines/plain_charlm_train.py TEXT_FILE --hidden 128 --layers 1 \
        --batch 32 --seq-len 64 --steps 70 [--threads 2] [--embed 64]

It reads the text, builds the vocabulary of its characters, cuts the text into ``batch`` contiguous
streams and trains ``nn.Embedding -> nn.LSTM -> nn.Linear`` with truncated BPTT (the detached
(h, c) of one chunk starts the next), cross-entropy, Adam 2e-3 and ``clip_grad_norm_(5)``, printing
the loss every 10 steps; at the end it saves the weights (``torch.save`` of the state dict) next to
nothing else, as a short script would. It prints ``training`` on stderr just before the first step,
so that the time to the first step can be read from outside, as for ``rnnkit train``.

Only PyTorch and the standard library: nothing of rnnkit is imported, so the process starts as a
user's script does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--embed", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--steps", type=int, default=70)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="where to save the weights (default: TEXT.pt beside the text)")
    args = parser.parse_args()
    if args.threads:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[name] = str(args.threads)

    import torch
    from torch import nn

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    index = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([index[ch] for ch in text], dtype=torch.long)
    N, T, V = args.batch, args.seq_len, len(chars)
    per_stream = (len(data) - 1) // N
    inputs = data[: N * per_stream].view(N, per_stream)
    targets = data[1: N * per_stream + 1].view(N, per_stream)

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(V, args.embed)
            self.lstm = nn.LSTM(args.embed, args.hidden, num_layers=args.layers, batch_first=True)
            self.head = nn.Linear(args.hidden, V)

        def forward(self, x, state):
            y, state = self.lstm(self.embed(x), state)
            return self.head(y), state

    model = CharLSTM()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    state = None
    position = 0
    print("training", file=sys.stderr, flush=True)
    began = time.perf_counter()
    for step in range(1, args.steps + 1):
        if position + T > per_stream:  # the end of the streams: start again from their beginning
            position, state = 0, None
        x, y = inputs[:, position:position + T], targets[:, position:position + T]
        position += T
        logits, state = model(x, state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        state = tuple(s.detach() for s in state)
        if step % 10 == 0:
            print(f"step {step}: loss {loss.item():.4f} ({time.perf_counter() - began:.1f} s)", file=sys.stderr)
    torch.save(model.state_dict(), args.out or args.text + ".pt")


if __name__ == "__main__":
    main()
