"""Sentiment classification (many-to-one) on the movie-review snippets: quality and speed.

Quality (``--part quality``): ``rnnkit train --task sentiment`` as a user runs it, once per seed,
then ``rnnkit eval RUN --split test --json``; beside it the bag-of-words baseline the issue asks
for, a logistic regression (scikit-learn) on binary word counts of the same tokens (and, as a
stronger baseline, on word and word-pair counts), its C chosen on the validation split. Needs
``pip install scikit-learn`` (``make bench``).

Speed (``--part speed``): training steps on the same batches (bucketed, as the task makes them),
side by side in one run: rnnkit's torch engine, a plain PyTorch classifier of the same size
(``nn.Embedding -> nn.LSTM`` over ``pack_padded_sequence`` -> the final state -> ``nn.Linear``,
Adam, gradient clipping), and rnnkit's NumPy engine (in one process, and in worker processes).
Throughput is real (unpadded) tokens per second over all timed steps, the sides taking turns.

    python benchmarks/sentiment.py --threads 2 --part speed
    python benchmarks/sentiment.py --threads 2 --part quality --seeds 0 1 2
    python benchmarks/sentiment.py --quick          # seconds: checks that it runs, numbers mean nothing
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_threads_argument, configure_torch, print_header, print_table, set_threads_from_argv  # noqa: E402

THREADS = set_threads_from_argv()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnnkit.config import TrainConfig  # noqa: E402
from rnnkit.data.padding import ClassificationBatcher  # noqa: E402
from rnnkit.data.sentiment import load_sentiment  # noqa: E402
from rnnkit.data.words import TokenVocab, word_tokens  # noqa: E402
from rnnkit.models.classifier.spec import ClassifierSpec  # noqa: E402
from rnnkit.runtime import make_runtime  # noqa: E402

LR = 2e-3


def bag_of_words(data, ngrams: int) -> dict:
    """Test accuracy of logistic regression on binary counts of 1..``ngrams``-grams, C chosen on val."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(tokenizer=word_tokens, lowercase=False, token_pattern=None,
                                 ngram_range=(1, ngrams), binary=True)
    train = vectorizer.fit_transform(data.train.texts)
    best = None
    for C in (0.03, 0.1, 0.3, 1.0, 3.0):
        model = LogisticRegression(C=C, max_iter=5000).fit(train, data.train.labels)
        val = model.score(vectorizer.transform(data.val.texts), data.val.labels)
        if best is None or val > best[0]:
            best = (val, C, model)
    val, C, model = best
    return {"C": C, "val": val, "test": model.score(vectorizer.transform(data.test.texts), data.test.labels)}


def train_rnnkit(args, seed: int, out: Path) -> dict:
    """One ``rnnkit train`` run as a user types it, then its test accuracy from ``rnnkit eval``."""
    command = [sys.executable, "-m", "rnnkit", "train", "--task", "sentiment", "--data", args.data,
               "--seed", str(seed), "--out", str(out), "--force", *args.train_flags.split()]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stderr}")
    evaluated = subprocess.run([sys.executable, "-m", "rnnkit", "eval", str(out), "--split", "test", "--json"],
                               capture_output=True, text=True, cwd=ROOT, check=True)
    best = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    return {"seed": seed, "seconds": seconds, "test": json.loads(evaluated.stdout)["accuracy"],
            "steps": best["step"]}


def quality(args) -> None:
    data = load_sentiment(args.data)
    print(f"data: {data.source}; train {len(data.train):,}, val {len(data.val):,}, test {len(data.test):,}")
    print(f"rnnkit train --task sentiment --data {args.data} {args.train_flags} --seed S\n")
    rows, accuracies = [], []
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            result = train_rnnkit(args, seed, Path(folder) / f"seed{seed}")
            accuracies.append(result["test"])
            rows.append([f"rnnkit, seed {seed}", f"{100 * result['test']:.2f}", f"{result['seconds']:.0f}"])
            print(f"seed {seed}: test accuracy {100 * result['test']:.2f}% in {result['seconds']:.0f} s", flush=True)
    mean = statistics.mean(accuracies)
    spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    rows.append([f"rnnkit, mean of {len(accuracies)} (sd)", f"{100 * mean:.2f} ({100 * spread:.2f})", ""])
    for ngrams, name in ((1, "bag of words"), (2, "bag of words and word pairs")):
        bow = bag_of_words(data, ngrams)
        rows.append([f"{name} + logistic regression (C={bow['C']:g})", f"{100 * bow['test']:.2f}", ""])
    print()
    print_table(["model", "test accuracy %", "seconds (wall, incl. start-up)"], rows)


# -- speed ----------------------------------------------------------------------------------------

def plain_classifier(torch, spec: ClassifierSpec):
    """The classifier as a PyTorch user writes it: packed sequences, the final state, a linear head."""
    from torch import nn

    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(spec.vocab_size, spec.embed_dim)
            self.rnn = nn.LSTM(spec.embed_dim, spec.hidden, spec.layers, batch_first=True,
                               bidirectional=spec.bidirectional)
            self.head = nn.Linear(spec.directions * spec.hidden, spec.classes)

        def forward(self, ids, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.embed(ids), lengths, batch_first=True,
                                                       enforce_sorted=False)
            _, (h, _) = self.rnn(packed)
            last = torch.cat([h[-1], h[-2]], dim=1) if spec.bidirectional else h[-1]
            return self.head(last)

    model = Plain()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)

    def step(ids, mask, labels):
        lengths = torch.as_tensor(mask.sum(axis=1))
        loss = nn.functional.cross_entropy(model(torch.as_tensor(ids), lengths), torch.as_tensor(labels))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()

    return step


def speed(args) -> None:
    torch = configure_torch(THREADS)
    data = load_sentiment(args.data)
    vocab = TokenVocab.build(data.train.texts)
    batcher = ClassificationBatcher(vocab.encode_all(data.train.texts), data.train.labels, args.batch, seed=0,
                                    bucket=True, drop_last=True, max_len=100)
    batches = [batcher.next_batch() for _ in range(args.warmup + args.rounds * args.per_round)]
    tokens = sum(int(mask.sum()) for _, mask, _ in batches[args.warmup:])
    rows = []
    for bidirectional in (False, True):
        spec = ClassifierSpec(cell="lstm", vocab_size=len(vocab), embed_dim=args.size, hidden=args.size,
                              bidirectional=bidirectional, pool="last")
        cfg = TrainConfig(batch=args.batch, lr=LR, warmup=0, threads=1)
        sides = {"rnnkit torch": make_runtime("torch", spec, cfg, device="cpu"),
                 "plain PyTorch": plain_classifier(torch, spec),
                 "rnnkit numpy": make_runtime("numpy", spec, cfg)}
        if THREADS > 1:
            sides[f"rnnkit numpy, {THREADS} processes"] = make_runtime("numpy", spec, replace(cfg, threads=THREADS))
        steps = {name: side if callable(side) else (lambda *batch, rt=side: rt.train_step(batch, LR))
                 for name, side in sides.items()}
        seconds = {name: 0.0 for name in steps}
        for name, step in steps.items():
            for batch in batches[:args.warmup]:
                step(*batch)
        for r in range(args.rounds):
            for name, step in steps.items():
                start = time.perf_counter()
                for batch in batches[args.warmup + r * args.per_round: args.warmup + (r + 1) * args.per_round]:
                    step(*batch)
                seconds[name] += time.perf_counter() - start
        torch_rate, plain_rate = tokens / seconds["rnnkit torch"], tokens / seconds["plain PyTorch"]
        for name in steps:
            value = tokens / seconds[name]
            rows.append([f"{'bi' if bidirectional else 'uni'}LSTM E=H={args.size}", name, f"{value:,.0f}",
                         f"{value / torch_rate:.2f}x", f"{value / plain_rate:.2f}x"])
        for side in sides.values():
            if hasattr(side, "close"):
                side.close()
    print(f"{args.rounds} rounds of {args.per_round} steps per side (after {args.warmup} untimed), batch {args.batch}, "
          f"{tokens:,} real tokens per side\n")
    print_table(["model", "side", "tokens/s", "vs rnnkit torch", "vs plain PyTorch"], rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(p, THREADS)
    p.add_argument("--part", choices=("quality", "speed", "all"), default="all")
    p.add_argument("--data", default="mr", help="mr or a TSV file (default: mr)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--train-flags", default="", help="extra flags for rnnkit train (default: the task's defaults)")
    p.add_argument("--size", type=int, default=128, help="speed: embedding and hidden size (default: 128)")
    p.add_argument("--batch", type=int, default=32, help="speed: sentences per step (default: 32)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--per-round", type=int, default=10)
    p.add_argument("--quick", action="store_true", help="a smoke run: a few steps, one seed")
    args = p.parse_args()
    if args.quick:
        args.warmup, args.rounds, args.per_round, args.seeds = 1, 1, 2, args.seeds[:1]
        args.train_flags = f"{args.train_flags} --steps 10 --eval-every 5"
    torch = configure_torch(THREADS) if args.part != "quality" else None
    print_header("rnnkit sentiment benchmark" + (" (--quick)" if args.quick else ""), THREADS, torch)
    if args.part in ("speed", "all"):
        speed(args)
    if args.part in ("quality", "all"):
        quality(args)


if __name__ == "__main__":
    main()
