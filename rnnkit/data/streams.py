"""Truncated-BPTT batches: B contiguous streams read T steps at a time.

The token array is cut into B equal columns (``batchify`` in pytorch/examples' word language model);
row b of every batch is the next piece of column b, so the hidden state a model carries from one
batch to the next always belongs to the text that follows. With the alphabet and B = 4:

    tokens  a b c d e f g h i j k l m n o p q r s t u v w x y z   (26 tokens, B = 4)
            column length L = 26 // 4 = 6; the last 26 - 4*6 = 2 tokens (y z) are left out

    stream 0:  a b c d e f        T = 2:   batch 0        batch 1        batch 2
    stream 1:  g h i j k l                 x    y         x    y         x  y
    stream 2:  m n o p q r                 a b  b c       c d  d e       e  f
    stream 3:  s t u v w x                 g h  h i       i j  j k       k  l
                                           m n  n o       o p  p q       q  r
                                           s t  t u       u v  v w       w  x

Targets are inputs shifted by one, so a column of L tokens gives L - 1 input steps; the last batch
of an epoch is shorter when T does not divide L - 1 (batch 2 above has one step). After it the
streams start again at their first token, which is the one moment the carried state must be reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from rnnkit.errors import UsageError


def _columns(tokens: np.ndarray, batch: int) -> np.ndarray:
    """``tokens`` (n,) cut into ``batch`` rows of ``n // batch``, shape (B, L): a view, no copy."""
    length = tokens.shape[0] // batch
    return tokens[:batch * length].reshape(batch, length)


def _check_sizes(batch: int, seq_len: int) -> None:
    if not (isinstance(batch, (int, np.integer)) and batch >= 1):
        raise UsageError(f"batch size must be a positive integer, got {batch!r}")
    if not (isinstance(seq_len, (int, np.integer)) and seq_len >= 1):
        raise UsageError(f"sequence length must be a positive integer, got {seq_len!r}")


class TBPTTStream:
    """Endless truncated-BPTT batches over ``batch`` contiguous streams of ``tokens``.

    Attributes:
        batch: B, the number of streams.
        seq_len: T, the number of time steps per batch (the last batch of an epoch may be shorter).
        position: column offset of the next batch's first input, 0 <= position < L - 1.
        epoch: how many times the streams have been read to the end.
    """

    def __init__(self, tokens: np.ndarray, batch: int, seq_len: int):
        _check_sizes(batch, seq_len)
        self.tokens = tokens
        self.batch = int(batch)
        self.seq_len = int(seq_len)
        self.columns = _columns(tokens, self.batch)                  # (B, L)
        if self.columns.shape[1] < 2:
            raise UsageError(f"{len(tokens)} tokens are too few for {batch} streams: each stream "
                             "needs at least 2 tokens (one input and its target)")
        self.position = 0
        self.epoch = 0

    @property
    def steps_per_epoch(self) -> int:
        """Batches in one pass over the streams: ceil((L - 1) / T)."""
        return -(-(self.columns.shape[1] - 1) // self.seq_len)

    @property
    def at_start(self) -> bool:
        """True when the next batch begins every stream at its first token (reset carried state)."""
        return self.position == 0

    def next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The next ``(x, y)``, each of shape (B, t) int64 with t <= T, and ``y[:, i] = x[:, i+1]``
        for i < t - 1: y is the text that follows x by one token. Wraps around at the end."""
        length = self.columns.shape[1]
        start = self.position
        steps = min(self.seq_len, length - 1 - start)
        x = self.columns[:, start:start + steps].astype(np.int64)
        y = self.columns[:, start + 1:start + 1 + steps].astype(np.int64)
        self.position = start + steps
        if self.position >= length - 1:
            self.position = 0
            self.epoch += 1
        return x, y

    def state_dict(self) -> dict[str, Any]:
        """The read position as a JSON-able dict (with the sizes it is valid for)."""
        return {"position": self.position, "epoch": self.epoch, "batch": self.batch,
                "tokens": int(self.tokens.shape[0])}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a position saved by :meth:`state_dict` over the same tokens and batch size.

        The sequence length may differ: the position counts tokens, not batches.
        """
        try:
            position, epoch = int(state["position"]), int(state["epoch"])
            batch, count = int(state["batch"]), int(state["tokens"])
        except (KeyError, TypeError, ValueError):
            raise UsageError("not a stream position: expected a JSON object with position, epoch, "
                             "batch and tokens") from None
        if (batch, count) != (self.batch, int(self.tokens.shape[0])):
            raise UsageError(f"the saved stream position is for batch size {batch} over {count} "
                             f"tokens, but this run has batch size {self.batch} over "
                             f"{self.tokens.shape[0]} tokens; resume with the same data and batch "
                             "size")
        if not (0 <= position < self.columns.shape[1] - 1 and epoch >= 0):
            raise UsageError(f"saved stream position {position} (epoch {epoch}) is out of range")
        self.position, self.epoch = position, epoch


def iter_eval_batches(tokens: np.ndarray, batch: int,
                      seq_len: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Walk all of ``tokens`` once in the stream layout, predicting every token after the first once.

    Yields ``(x, y)`` pairs of int64 arrays. First come batches of shape (B, t), t <= T, over B columns
    of L = (n - 1) // B targets each (column b holds tokens b*L .. (b+1)*L, so neighbouring columns
    share one token: the last target of one is the first input of the next). The r = (n - 1) - B*L
    tokens left over, r < B, then come as batches of shape (1, t), t <= T, that continue the last
    stream: carry ``state[B-1:B]`` into them (or start from zeros when n - 1 < B leaves no columns).
    """
    _check_sizes(batch, seq_len)
    n = int(tokens.shape[0])
    if n < 2:
        raise UsageError(f"evaluation needs at least 2 tokens (one input and its target), got {n}")
    length = (n - 1) // batch
    if length > 0:
        starts = np.arange(batch) * length
        for offset in range(0, length, seq_len):
            steps = min(seq_len, length - offset)
            index = starts[:, None] + offset + np.arange(steps)              # (B, t)
            yield tokens[index].astype(np.int64), tokens[index + 1].astype(np.int64)
    tail = np.asarray(tokens[batch * length:]).astype(np.int64)      # the r targets and one input
    for offset in range(0, tail.shape[0] - 1, seq_len):
        piece = tail[offset:offset + seq_len + 1]
        yield piece[None, :-1], piece[None, 1:]
