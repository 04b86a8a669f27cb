"""Translation with either engine's model: greedy or beam search over ``encode`` / ``decode_step``.

Both engines' models offer

    model.encode(src (N, S), src_len (N,)) -> state        a dict of NumPy arrays, sentences on axis 0
    model.decode_step(prev_ids (M,), state) -> (log_probs (M, Vt), state)   NumPy in and out

so rnnkit/inference/beam.py drives them alike (``reorder_state`` gathers the dict's arrays), and
this mixin gives both the same ``translate`` and attention matrices. The model's spec holds the
target tokenizer's ``bos_id`` and ``eos_id``.

Length limit: at most ``max_len`` tokens per sentence, <eos> included; by default
ceil(max_ratio * src_len) + 10 for each sentence, so a short sentence cannot run on for long.
"""

from __future__ import annotations

import numpy as np

from rnnkit.inference.beam import Hypothesis, beam_search, greedy_decode
from rnnkit.models.seq2seq.batch import check_ids
from rnnkit.models.seq2seq.spec import PAD_ID


class Translator:
    """``translate`` and ``attention_matrices`` for a model with ``encode``, ``decode_step``, ``spec``."""

    def mask_log_probs(self, log_probs: np.ndarray) -> np.ndarray:
        """Padding and <bos> can never be generated: their log-probabilities become -inf."""
        log_probs[:, [PAD_ID, self.spec.bos_id]] = -np.inf
        return log_probs

    def translate(self, src, src_len, beam: int = 5, max_len=None, alpha: float = 0.6, max_ratio: float = 2.0,
                  n_best: int = 1, return_attention: bool = False):
        """Translate N source sentences.

        Inputs: src (N, S) ids right-padded, src_len (N,); beam K >= 1 (1: greedy decoding, which
        ranks by log P alone); max_len an int, (N,) ints, or None (see the module notes); alpha
        the GNMT length penalty's exponent (beam search only); n_best in [1, K].
        Returns: a list of N :class:`Hypothesis` (the best of each sentence) when n_best == 1, else
        a list of N lists of up to n_best, best first. With ``return_attention``, also a list of N
        attention matrices (n + 1, src_len) of the best hypotheses, one row per generated token
        (<eos> last; n tokens), or None entries when the model has no attention.
        """
        src, src_len = check_ids(src, src_len, self.spec.src_vocab, "source")
        if isinstance(beam, bool) or not isinstance(beam, (int, np.integer)) or beam < 1:
            raise ValueError(f"beam must be an integer >= 1, got {beam!r}")
        if max_len is None:
            if not max_ratio > 0:
                raise ValueError(f"max_ratio must be positive, got {max_ratio!r}")
            max_len = np.ceil(max_ratio * src_len).astype(np.int64) + 10
        state = self.encode(src, src_len)
        bos, eos = self.spec.bos_id, self.spec.eos_id
        if beam == 1 and n_best == 1:
            pools = [[h] for h in greedy_decode(self.decode_step, state, bos, eos, max_len)]
        else:
            pools = beam_search(self.decode_step, state, bos, eos, beam, max_len, alpha, n_best)
        result = [pool[0] for pool in pools] if n_best == 1 else pools
        if not return_attention:
            return result
        return result, self.attention_matrices(src, src_len, [pool[0].ids for pool in pools])

    def attention_matrices(self, src, src_len, outputs: list[list[int]]) -> list:
        """Attention weights of the decoder reading ``outputs`` (teacher forcing, no search).

        Inputs: src (N, S), src_len (N,); outputs N lists of generated ids (without <bos>/<eos>).
        Returns: N arrays (len(outputs[n]) + 1, src_len[n]): row t holds the weights over the
        source when the model wrote token t (the last row: when it wrote <eos>); None entries
        without attention.
        """
        src, src_len = check_ids(src, src_len, self.spec.src_vocab, "source")
        if self.spec.attention == "none":
            return [None] * len(outputs)
        steps = max(len(ids) for ids in outputs) + 1
        fed = np.full((len(outputs), steps), self.spec.eos_id, dtype=np.int64)
        fed[:, 0] = self.spec.bos_id
        for n, ids in enumerate(outputs):
            fed[n, 1:len(ids) + 1] = ids
        state, rows = self.encode(src, src_len), []
        for t in range(steps):
            _, state = self.decode_step(fed[:, t], state)
            rows.append(state["attention"])
        weights = np.stack(rows, axis=1)  # (N, steps, S)
        return [weights[n, :len(ids) + 1, :src_len[n]] for n, ids in enumerate(outputs)]


__all__ = ["Hypothesis", "Translator"]
