"""Tiny batches for the translation model's tests (tests/models/test_seq2seq_*.py).

``ragged_batch``: random ids with garbage in the padding (it must not matter); ``reversal``: the
task of writing a source sequence backwards, which a model with attention learns in seconds.
Ids: 0 padding, 1 <bos>, 2 <eos>, the rest tokens.
"""

import numpy as np

BOS, EOS = 1, 2
SRC_LEN = np.array([5, 2, 3])
TGT_LEN = np.array([4, 1, 3])


def ragged_batch(rng, vs=7, vt=9, src_len=SRC_LEN, tgt_len=TGT_LEN, S=5, T=4, pad=0):
    """(src, src_len, tgt_in, tgt_out, tgt_len) with ``pad`` (an id, or None for random ids) after
    each row's length."""
    src_len, tgt_len = np.asarray(src_len), np.asarray(tgt_len)
    src = rng.integers(3, vs, (len(src_len), S))
    tgt_in = rng.integers(3, vt, (len(src_len), T))
    tgt_in[:, 0] = BOS
    tgt_out = rng.integers(3, vt, (len(src_len), T))
    tgt_out[np.arange(len(tgt_len)), tgt_len - 1] = EOS
    for ids, lengths, v in ((src, src_len, vs), (tgt_in, tgt_len, vt), (tgt_out, tgt_len, vt)):
        padded = np.arange(ids.shape[1])[None, :] >= lengths[:, None]
        ids[padded] = rng.integers(0, v, int(padded.sum())) if pad is None else pad
    return src, src_len, tgt_in, tgt_out, tgt_len


def reversal(rng, n, vocab=10, lengths=(3, 6)):
    """n sequences of lengths in [3, 6] of tokens 3..vocab-1, and their reversals as targets."""
    L = rng.integers(lengths[0], lengths[1] + 1, n)
    S = lengths[1]
    src = np.zeros((n, S), np.int64)
    tgt_in = np.zeros((n, S + 1), np.int64)
    tgt_out = np.zeros((n, S + 1), np.int64)
    for i, length in enumerate(L):
        seq = rng.integers(3, vocab, length)
        src[i, :length] = seq
        tgt_in[i, 0], tgt_in[i, 1:length + 1] = BOS, seq[::-1]
        tgt_out[i, :length], tgt_out[i, length] = seq[::-1], EOS
    return src, L, tgt_in, tgt_out, L + 1
