"""Padded batches of variable-length sequences, and an exactly resumable batcher for classifiers.

:func:`pad_batch` lays N id sequences into one (N, T) array, right-padded, with a boolean mask that
is True on real tokens; a model must give the same result whatever fills the masked places.

:class:`ClassificationBatcher` deals the examples of one split into shuffled minibatches, epoch
after epoch. Epoch e's order is a pure function of (seed, e) (``np.random.default_rng([seed, e])``),
so the whole read position is two integers (epoch, batches done in it): ``state_dict()`` saves them
and ``load_state_dict()`` continues with exactly the batches an uninterrupted run would have seen.

Bucketing (``bucket=True``) cuts padding without giving up shuffling. Per epoch:

    1. shuffle all indices                        7 2 9 0 4 1 8 3 6 5 ...
    2. cut them into pools of ``pool_batches`` batches
    3. sort each pool by sequence length (stable), so similar lengths sit together
    4. cut each pool into batches, then shuffle the order of all the epoch's batches

Each batch then holds sequences of similar length (padded to the longest of them only), while which
examples meet in a batch, and the order of batches, still change every epoch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from rnnkit.errors import UsageError


def pad_batch(seqs: Sequence[np.ndarray], max_len: int | None = None,
              pad_id: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right-pad (and truncate) N id sequences into one batch.

    Args:
        seqs: N sequences of ids, each of shape (n_i,); n_i = 0 is allowed (an all-padding row).
        max_len: keep at most the first ``max_len`` ids of each sequence (None: keep all).
        pad_id: the id written after each sequence's end.

    Returns:
        ids: (N, T) int64 with T = min(max_len, max n_i); ``ids[i, :lengths[i]]`` is sequence i.
        mask: (N, T) bool, True exactly where ``ids`` holds a real token (``t < lengths[i]``).
        lengths: (N,) int64, ``min(n_i, max_len)``.
    """
    if max_len is not None and not (isinstance(max_len, (int, np.integer)) and max_len >= 1):
        raise UsageError(f"max_len must be a positive integer or None, got {max_len!r}")
    arrays = [np.asarray(seq).reshape(-1) for seq in seqs]
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    if max_len is not None:
        lengths = np.minimum(lengths, max_len)
    steps = int(lengths.max()) if lengths.size else 0
    ids = np.full((len(arrays), steps), pad_id, dtype=np.int64)          # (N, T)
    for row, (array, length) in enumerate(zip(arrays, lengths)):
        ids[row, :length] = array[:length]
    mask = np.arange(steps)[None, :] < lengths[:, None]                     # (N, T)
    return ids, mask, lengths


def _positive_int(value: Any, name: str) -> int:
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1):
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class ClassificationBatcher:
    """Endless minibatches ``(ids (B, T) int64, mask (B, T) bool, labels (B,) int64)`` of one split.

    Args:
        sequences: n id arrays, each (n_i,) with n_i >= 1 (e.g. ``TokenVocab.encode_all(texts)``).
        labels: shape (n,) class ids.
        batch_size: B; the last batch of an epoch holds the rest (fewer) unless ``drop_last``.
        seed: a non-negative integer fixing every epoch's order.
        shuffle: False reads the examples in their given order every epoch (for evaluation).
        bucket: group similar lengths into batches (module docstring); ``pool_batches`` batches
            are sorted together.
        max_len: truncate sequences to this many ids (see :func:`pad_batch`).
        pad_id: the id padding is filled with.

    Attributes:
        epoch: completed passes over the examples.
        position: batches already read in the current epoch, 0 <= position < steps_per_epoch.
    """

    def __init__(self, sequences: Sequence[np.ndarray], labels, batch_size: int, *,
                 seed: int = 0, shuffle: bool = True, bucket: bool = False,
                 pool_batches: int = 50, drop_last: bool = False, max_len: int | None = None,
                 pad_id: int = 0):
        self.sequences = [np.asarray(seq).reshape(-1) for seq in sequences]
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if self.labels.shape[0] != len(self.sequences):
            raise UsageError(f"{len(self.sequences)} sequences but {self.labels.shape[0]} labels")
        self.lengths = np.array([seq.shape[0] for seq in self.sequences], dtype=np.int64)
        if self.lengths.size and self.lengths.min() == 0:
            raise UsageError(f"example {int(np.argmin(self.lengths))} has no tokens; a classifier "
                             "needs at least one per example")
        self.batch_size = _positive_int(batch_size, "batch size")
        self.pool_batches = _positive_int(pool_batches, "pool_batches")
        if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
            raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed, self.shuffle, self.bucket = int(seed), bool(shuffle), bool(bucket)
        self.max_len = None if max_len is None else _positive_int(max_len, "max_len")
        self.drop_last, self.pad_id = bool(drop_last), pad_id
        if not self.sequences:
            raise UsageError("no examples to batch")
        if self.steps_per_epoch == 0:
            raise UsageError(f"{len(self.sequences)} examples are too few for one batch of "
                             f"{self.batch_size} when drop_last is set")
        self.epoch = 0
        self.position = 0
        self._order: tuple[int, list[np.ndarray]] | None = None   # (epoch, its batches), cached

    @property
    def steps_per_epoch(self) -> int:
        """Batches in one epoch: floor(n / B) with ``drop_last``, else ceil(n / B)."""
        n = len(self.sequences)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        """The example indices of each batch of ``epoch`` in reading order: arrays of shape (b,)."""
        n, size = len(self.sequences), self.batch_size
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        if self.bucket:
            pool = size * self.pool_batches
            order = np.concatenate([
                chunk[np.argsort(self.lengths[chunk], kind="stable")]
                for chunk in (order[start:start + pool] for start in range(0, n, pool))])
        batches = [order[start:start + size] for start in range(0, n, size)]
        if self.drop_last and batches and batches[-1].shape[0] < size:
            # With bucketing the short batch is the tail of the last pool, whichever lengths it has.
            batches.pop()
        if self.bucket and self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def _batches(self) -> list[np.ndarray]:
        if self._order is None or self._order[0] != self.epoch:
            self._order = (self.epoch, self.epoch_batches(self.epoch))
        return self._order[1]

    def make_batch(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ids (b, T), mask (b, T), labels (b,))`` of the examples at ``index`` (shape (b,))."""
        ids, mask, _ = pad_batch([self.sequences[i] for i in index], self.max_len, self.pad_id)
        return ids, mask, self.labels[index]

    def next_batch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The next batch; after the last of an epoch the next epoch (a new order) begins."""
        batches = self._batches()
        batch = self.make_batch(batches[self.position])
        self.position += 1
        if self.position == len(batches):
            self.epoch, self.position = self.epoch + 1, 0
        return batch

    def rest_of_epoch(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The batches left in this epoch (all of it at a fresh start), advancing the position."""
        epoch = self.epoch
        while self.epoch == epoch:
            yield self.next_batch()

    def _fingerprint(self) -> str:
        """A short digest of the lengths and labels: resuming over other data is refused."""
        digest = hashlib.sha1(self.lengths.tobytes() + self.labels.tobytes()).hexdigest()
        return digest[:16]

    def _settings(self) -> dict[str, Any]:
        return {"examples": len(self.sequences), "batch_size": self.batch_size, "seed": self.seed,
                "shuffle": self.shuffle, "bucket": self.bucket, "pool_batches": self.pool_batches,
                "drop_last": self.drop_last, "data": self._fingerprint()}

    def state_dict(self) -> dict[str, Any]:
        """The read position as a JSON-able dict, with the settings it is valid for."""
        return {"epoch": self.epoch, "position": self.position, **self._settings()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a position saved by :meth:`state_dict` with the same data and settings."""
        if not isinstance(state, dict):
            raise UsageError("not a batcher position: expected a JSON object")
        try:
            epoch, position = state["epoch"], state["position"]
            saved = {key: state[key] for key in self._settings()}
        except KeyError as error:
            raise UsageError(f"not a batcher position: it lacks {error.args[0]!r}") from None
        differing = [key for key, value in self._settings().items() if saved[key] != value]
        if differing:
            raise UsageError("the saved batcher position is for other data or settings ("
                             + ", ".join(f"{key}: saved {saved[key]!r}, now "
                                         f"{self._settings()[key]!r}" for key in differing)
                             + "); resume with the same data, batch size, seed and bucketing")
        for value in (epoch, position):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"saved batcher position epoch {epoch!r}, position "
                                 f"{position!r} is not a pair of non-negative integers")
        if position >= self.steps_per_epoch:
            raise UsageError(f"saved batcher position {position} is out of range: an epoch has "
                             f"{self.steps_per_epoch} batches")
        self.epoch, self.position = epoch, position
