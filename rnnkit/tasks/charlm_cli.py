"""``rnnkit eval`` and ``rnnkit predict`` for character-model runs (the hooks of rnnkit/tasks/common_cli.py).

eval: bits per character. The text is read as ``--batch`` contiguous streams with the hidden state
carried along, so every character is predicted from all the text before it in its stream; the run's
held-out part (``val``) or, with ``--data``, all of another text. predict: the ``--top-k`` most
likely next characters after each text.
"""

from __future__ import annotations

import numpy as np

from rnnkit.data.corpora import load_corpus
from rnnkit.errors import UsageError
from rnnkit.sampling import softmax
from rnnkit.tasks.common_cli import print_results
from rnnkit.training.evaluate import evaluate_tokens
from rnnkit.training.metrics import bits_per_char


def evaluate_command(args, checkpoint, runtime) -> dict:
    split = args.split or ("all" if args.data else "val")
    if split not in ("all", "val"):
        raise UsageError(f"a character model's text has the parts 'val' and 'all', not {split!r}")
    vocab = checkpoint.vocab
    data = args.data or checkpoint.task.get("data") or "stdlib"
    if not isinstance(data, str):
        raise UsageError(f"{checkpoint.path} names no usable data ({data!r}); give it with --data")
    val_fraction = checkpoint.train_config().val_fraction if split == "val" else 0.0
    corpus = load_corpus(data, vocab.mode, vocab=vocab, val_fraction=val_fraction)
    tokens = corpus.val if split == "val" else corpus.tokens
    nats, count = evaluate_tokens(runtime, tokens, batch=args.batch, seq_len=args.seq_len)
    return {"bpc": bits_per_char(nats, count), "chars": count, "nats": nats, "data": data, "split": split}


def describe(result: dict) -> str:
    return (f"{result['bpc']:.4f} bits per character over {result['chars']:,} characters of {result['data']} "
            f"({result['split']})")


def predict_command(checkpoint, runtime, inputs: list[str], args) -> int:
    vocab = checkpoint.vocab
    results = []
    for i, text in enumerate(inputs, start=1):
        if not text:
            raise UsageError(f"input {i} is empty: give text to continue")
        ids = vocab.encode(text)  # a UsageError names characters outside the vocabulary
        state = runtime.init_state(1)
        for token in ids:
            logits, state = runtime.step_logits(np.array([token]), state)
        probs = softmax(logits[0])
        top = np.argsort(-probs)[: min(args.top_k, len(probs))]
        results.append({"next": [{"char": vocab.decode([k]), "probability": float(probs[k])} for k in top]})
    return print_results(inputs, results, args, _line)


def _line(text: str, result: dict) -> str:
    shown = "  ".join(f"{c['char']!r} {c['probability']:.3f}" for c in result["next"])
    return f"{text!r} -> {shown}"
