"""Generating text one character at a time, feeding each sampled character back in.

    state = the model's state after reading the prime (all but its last character)
    x = the prime's last character
    repeat: logits, state = model.step(x, state);  x = sample(logits);  emit x

Works with any engine's runtime (``init_state`` and ``step_logits``).
"""

from __future__ import annotations

import codecs
import sys

import numpy as np

from rnnkit.data.vocab import Vocab
from rnnkit.errors import UsageError
from rnnkit.sampling import sample_from_logits


def default_prime_ids(vocab: Vocab) -> np.ndarray:
    """What to start from when the user gives no prime: a newline if the text has one, else the
    vocabulary's first symbol. Ids, not text: in byte mode the first symbol can be part of a
    multi-byte character, which as text would not encode back to itself."""
    newline = ord("\n")
    ids = np.flatnonzero(vocab.symbols == newline)
    return np.array([int(ids[0]) if ids.size else 0])


def generate(runtime, vocab: Vocab, prime: str = "", length: int = 500, temperature: float = 1.0,
             top_k: int | None = None, greedy: bool = False, seed: int | None = None):
    """An iterator over the generated text, piece by piece (one character each; bytes are decoded
    as they complete a UTF-8 sequence in byte mode).

    Raises UsageError, at once rather than at the first piece (so nothing has been printed yet),
    for a prime with characters outside the vocabulary, a temperature <= 0 or a top-k outside [1, V].
    """
    if not temperature > 0:
        raise UsageError(f"temperature must be > 0, got {temperature}")
    if top_k is not None and not 1 <= top_k <= len(vocab):
        raise UsageError(f"top-k must be between 1 and the vocabulary size {len(vocab)}, got {top_k}")
    ids = vocab.encode(prime) if prime else default_prime_ids(vocab)  # UsageError names unknown characters
    return _pieces(runtime, vocab, ids, length, temperature, top_k, greedy, seed)


def _pieces(runtime, vocab: Vocab, ids, length, temperature, top_k, greedy, seed):
    rng = np.random.default_rng(seed)
    state = runtime.init_state(1)
    for token in ids[:-1]:
        _, state = runtime.step_logits(np.array([token]), state)
    x = int(ids[-1])
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace") if vocab.mode == "byte" else None
    for _ in range(length):
        logits, state = runtime.step_logits(np.array([x]), state)
        x = int(sample_from_logits(logits[0], rng, temperature=temperature, top_k=top_k, greedy=greedy))
        if decoder is None:
            yield vocab.decode([x])
        else:
            piece = decoder.decode(bytes([vocab.symbols[x]]))
            if piece:
                yield piece


def print_sample(runtime, vocab: Vocab, prime: str = "", length: int = 300, stream=None, **kwargs) -> None:
    """Stream a sample to ``stream`` (stdout), flushing after every character. A character the
    stream's encoding cannot write (a terminal that is not UTF-8) is written as "?"."""
    stream = stream or sys.stdout
    pieces = generate(runtime, vocab, prime, length, **kwargs)  # validates before anything is written
    if prime:
        _write(stream, prime)
    for piece in pieces:
        _write(stream, piece)
        stream.flush()
    stream.write("\n")
    stream.flush()


def _write(stream, text: str) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "replace").decode(encoding))
