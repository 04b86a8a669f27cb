"""Bits per character of a trained model on a text.

The text is read as --batch contiguous streams with the hidden state carried along, so every
character is predicted from all the text before it in its stream.

examples:
  rnnkit eval runs/kjv --data kjv --split val      # the run's own held-out part
  rnnkit eval runs/charlm --data notes.txt --json
"""

from __future__ import annotations

import json
import time

from rnnkit.commands._args import positive_int
from rnnkit.commands._model import add_model_arguments, load_runtime
from rnnkit.data.corpora import CORPORA, load_corpus
from rnnkit.training.evaluate import evaluate_tokens
from rnnkit.training.metrics import bits_per_char


def add_arguments(p) -> None:
    add_model_arguments(p)
    p.add_argument("--data", required=True, help=f"a corpus name ({', '.join(CORPORA)}) or a text file")
    p.add_argument("--split", choices=("all", "val"), default="all",
                   help="all of the text, or only its validation part as training held it out (default: all)")
    p.add_argument("--batch", type=positive_int, default=64, help="parallel streams (default: 64)")
    p.add_argument("--seq-len", type=positive_int, default=128, help="steps per chunk (default: 128)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")


def run(args) -> int:
    checkpoint, runtime = load_runtime(args)
    vocab = checkpoint.vocab
    val_fraction = checkpoint.meta.get("train", {}).get("val_fraction", 0.05)
    corpus = load_corpus(args.data, vocab.mode, vocab=vocab, val_fraction=val_fraction)
    tokens = corpus.val if args.split == "val" else corpus.tokens
    start = time.perf_counter()
    nats, count = evaluate_tokens(runtime, tokens, batch=args.batch, seq_len=args.seq_len)
    seconds = time.perf_counter() - start
    bpc = bits_per_char(nats, count)
    if args.json:
        print(json.dumps({"bpc": bpc, "chars": count, "nats": nats, "data": args.data, "split": args.split,
                          "checkpoint": str(checkpoint.path), "seconds": round(seconds, 3)}))
    else:
        print(f"{bpc:.4f} bits per character over {count:,} characters of {args.data} ({args.split}); "
              f"checkpoint {checkpoint.path}")
    return 0
