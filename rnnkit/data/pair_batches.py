"""Padded batches of (source, target) id sequences for a sequence-to-sequence model.

One batch is five batch-first arrays, padded with id 0 (``<pad>``):

    src      (N, S) int64   source pieces, right-padded to the longest source of the batch
    src_len  (N,)   int64   real source lengths, >= 1
    tgt_in   (N, T) int64   <bos> y_1 ... y_{L-1}        (what the decoder reads: teacher forcing)
    tgt_out  (N, T) int64   y_1 ... y_{L-1} <eos>        (what it must predict), L = n_i + 1
    tgt_len  (N,)   int64   L per row; T = max L

For a target y_1 y_2 y_3 (n = 3):

    tgt_in   <bos> y_1 y_2 y_3
    tgt_out  y_1   y_2 y_3 <eos>

:class:`PairBatcher` shuffles and buckets by source length exactly as
:class:`rnnkit.data.padding.ClassificationBatcher` does (it is one, whose "labels" are the
example indices), so batches hold sources of similar length and the read position resumes exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from rnnkit.data.padding import ClassificationBatcher, pad_batch
from rnnkit.data.subword import BOS, EOS, PAD


def pair_batch(sources: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """``(src, src_len, tgt_in, tgt_out, tgt_len)`` of n source and target id sequences (see the
    module docstring); the sources must not be empty, the targets may be."""
    src, _, src_len = pad_batch(sources, pad_id=PAD)
    bos = np.array([BOS], dtype=np.int64)
    eos = np.array([EOS], dtype=np.int64)
    tgt_in, _, tgt_len = pad_batch([np.concatenate([bos, t]) for t in targets], pad_id=PAD)
    tgt_out, _, _ = pad_batch([np.concatenate([t, eos]) for t in targets], pad_id=PAD)
    return src, src_len, tgt_in, tgt_out, tgt_len


class PairBatcher(ClassificationBatcher):
    """Endless shuffled batches of pairs, bucketed by source length (module docstring).

    Args:
        sources, targets: n id arrays each; sources non-empty.
        batch_size, seed, shuffle, bucket, drop_last: as for ClassificationBatcher.
    """

    def __init__(self, sources, targets, batch_size: int, **kwargs):
        self.targets = [np.asarray(t, dtype=np.int64).reshape(-1) for t in targets]
        super().__init__(sources, np.arange(len(self.targets)), batch_size, **kwargs)

    def _fingerprint(self) -> str:
        """A short digest of the source and target lengths: resuming over other data is refused."""
        lengths = np.array([t.shape[0] for t in self.targets], dtype=np.int64)
        return hashlib.sha1(self.lengths.tobytes() + lengths.tobytes()).hexdigest()[:16]

    def make_batch(self, index: np.ndarray) -> tuple[np.ndarray, ...]:
        return pair_batch([self.sequences[i] for i in index], [self.targets[i] for i in index])
