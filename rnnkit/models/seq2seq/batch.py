"""The translation model's batch, checked the same way by both engines.

    src (N, S) ints   source ids, right-padded with 0 after each row's src_len[n] real tokens
    src_len (N,)      real source tokens per row, in [1, S]
    tgt_in (N, T)     <bos> y_1 .. y_{L-1}: what the decoder reads (teacher forcing)
    tgt_out (N, T)    y_1 .. y_L, <eos> last: what it should write
    tgt_len (N,)      L per row, in [1, T]; both target arrays are padded after it

Masks come from the lengths: ``mask[n, t] = t < len[n]``. Ids at padded steps are never read
into anything that counts, so padding changes no loss, gradient or output.
"""

from __future__ import annotations

import numpy as np


def length_mask(lengths: np.ndarray, T: int) -> np.ndarray:
    """(N, T) bool, True at each row's first lengths[n] steps."""
    return np.arange(T)[None, :] < lengths[:, None]


def check_ids(ids, lengths, vocab: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """ids (N, T) as int64 and lengths (N,) as int64, or a ValueError naming ``what``: the shapes
    must agree, every length lie in [1, T], every real id in [0, vocab)."""
    ids, lengths = np.asarray(ids), np.asarray(lengths)
    if ids.ndim != 2 or lengths.shape != (ids.shape[0],) or ids.shape[0] == 0:
        raise ValueError(f"{what} must be ids (N, T) with N >= 1 and lengths (N,), got {ids.shape} and {lengths.shape}")
    if ids.dtype.kind not in "iu" or lengths.dtype.kind not in "iu":
        raise ValueError(f"{what}: ids and lengths must be integers, got {ids.dtype} and {lengths.dtype}")
    if lengths.min() < 1 or lengths.max() > ids.shape[1]:
        raise ValueError(f"{what}: lengths must lie in [1, {ids.shape[1]}], got {lengths.min()} .. {lengths.max()}")
    real = ids[length_mask(lengths, ids.shape[1])]
    if real.min() < 0 or real.max() >= vocab:
        raise ValueError(f"{what}: ids must lie in [0, {vocab}), got {real.min()} .. {real.max()}")
    return ids.astype(np.int64, copy=False), lengths.astype(np.int64, copy=False)


def check_batch(spec, src, src_len, tgt_in, tgt_out, tgt_len):
    """The five arrays checked (see the module docstring) and as int64."""
    src, src_len = check_ids(src, src_len, spec.src_vocab, "source")
    tgt_in, tgt_len = check_ids(tgt_in, tgt_len, spec.tgt_vocab, "target input")
    tgt_out, _ = check_ids(tgt_out, tgt_len, spec.tgt_vocab, "target output")
    if tgt_in.shape != tgt_out.shape or len(tgt_in) != len(src):
        raise ValueError(f"source {src.shape}, target input {tgt_in.shape} and output {tgt_out.shape} "
                         "must agree on N (and the targets on T)")
    return src, src_len, tgt_in, tgt_out, tgt_len
