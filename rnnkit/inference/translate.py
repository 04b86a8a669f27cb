"""Translating text with a trained sequence-to-sequence model, and scoring translations.

:class:`Translator` holds what a trained model needs to read and write text (the source and target
subword tokenizers and the task's options, all saved in the checkpoint) and drives the model's
``translate`` (greedy for ``beam=1``, batched beam search otherwise; rnnkit/inference/beam.py) on
either engine. Input rules, the same for ``rnnkit predict`` and ``rnnkit eval``:

- an empty (or all-space) sentence is a UsageError (exit 2);
- a sentence longer than ``max_len`` source pieces is truncated to its first ``max_len`` pieces,
  with a warning (the model never saw longer ones in training);
- characters the training text never had (another script, an emoji) are encoded through
  SentencePiece's byte fallback and translated anyway, with a warning saying how many bytes.

:func:`corpus_scores` is sacrebleu's corpus BLEU and chrF of detokenised output against the raw
reference texts (sacrebleu's own ``13a`` tokenisation, as papers report it).
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

from rnnkit.data.pair_batches import pair_batch
from rnnkit.data.subword import SubwordTokenizer
from rnnkit.errors import UsageError

DECODE_BATCH = 64


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict:
    """``{"bleu", "chrf"}`` (0-100) of detokenised hypotheses against one reference each."""
    try:
        import sacrebleu
    except ImportError:
        raise UsageError("BLEU and chrF need the sacrebleu package, which is not installed; "
                         "pip install 'sacrebleu>=2.4,<3' (or: pip install -e '.[translate]')") from None
    if len(hypotheses) != len(references) or not references:
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    return {"bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score),
            "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score)}


def _inference(model):
    """No gradients and no dropout for a torch module; nothing to do for a NumPy model (and torch is
    not imported for one)."""
    if hasattr(model, "eval") and "torch" in sys.modules:
        model.eval()
        return sys.modules["torch"].no_grad()
    return contextlib.nullcontext()


def _numpy(x):
    """A model output as NumPy (a torch model's tensors are moved to the CPU)."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


class Translator:
    """Source and target tokenizers plus the length limit of a trained translation model.

    Args:
        source, target: the subword tokenizers of each side.
        max_len: the most source pieces read (and the most target pieces trained on).
        max_ratio: output length limit relative to the source, ``ceil(max_ratio * S) + 10``.
        alpha: GNMT length normalisation of beam search (0: none).
    """

    def __init__(self, source: SubwordTokenizer, target: SubwordTokenizer, max_len: int = 100,
                 max_ratio: float = 2.0, alpha: float = 0.6):
        self.source, self.target = source, target
        self.max_len, self.max_ratio, self.alpha = max_len, max_ratio, alpha

    def encode_inputs(self, texts: list[str], warn=None) -> list[np.ndarray]:
        """Source ids of each text under the input rules of the module docstring."""
        warn = warn or sys.stderr
        seqs = []
        for i, text in enumerate(texts, start=1):
            if not isinstance(text, str) or not text.strip():
                raise UsageError(f"input {i} is empty: give a sentence to translate")
            ids = self.source.encode(" ".join(text.split()))
            unknown = self.source.byte_pieces(ids)
            if unknown:
                print(f"warning: input {i} has characters the training text never had ({unknown} bytes); "
                      "they are read through byte fallback and the translation may be poor", file=warn)
            if ids.size > self.max_len:
                print(f"warning: input {i} has {ids.size} source pieces; the model reads the first {self.max_len}",
                      file=warn)
                ids = ids[:self.max_len]
            seqs.append(ids)
        return seqs

    def decode_ids(self, runtime, seqs: list[np.ndarray], beam: int = 5) -> list:
        """The best :class:`rnnkit.inference.beam.Hypothesis` of each source id sequence (in order).

        Sentences are decoded in batches of similar length, by the runtime's model (either engine).
        """
        if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
            raise UsageError(f"--beam must be a positive integer (1 is greedy decoding), got {beam!r}")
        order = np.argsort([len(s) for s in seqs], kind="stable")
        best = [None] * len(seqs)
        model = runtime.model
        with _inference(model):
            for start in range(0, len(order), DECODE_BATCH):
                index = order[start:start + DECODE_BATCH]
                src, src_len, *_ = pair_batch([seqs[i] for i in index], [np.zeros(0, np.int64)] * len(index))
                lists = model.translate(src, src_len, beam=beam, alpha=self.alpha, max_ratio=self.max_ratio,
                                        n_best=1)
                for i, hyps in zip(index, lists):
                    best[i] = hyps[0] if isinstance(hyps, list) else hyps  # n_best=1: the hypothesis itself
        return best

    def translate(self, runtime, texts: list[str], beam: int = 5, warn=None, with_ids: bool = False) -> list[dict]:
        """``[{"translation", "score", "log_prob", "finished", "pieces"}]``, one per text; with
        ``with_ids`` also ``"source_ids"`` and ``"ids"`` (the source and output pieces, for drawing)."""
        seqs = self.encode_inputs(texts, warn)
        results = []
        for src, h in zip(seqs, self.decode_ids(runtime, seqs, beam)):
            result = {"translation": self.target.decode(h.ids), "score": float(h.score), "log_prob": float(h.log_prob),
                      "finished": bool(h.finished), "pieces": len(h.ids)}
            if with_ids:
                result.update(source_ids=src, ids=list(h.ids))
            results.append(result)
        return results

    def attention(self, runtime, src: np.ndarray, out_ids) -> np.ndarray:
        """The attention weights (T_out + 1, S) of the decoder reading ``<bos> out_ids`` over the
        source ``src`` (S,): row t is where it looked when it wrote output piece t (the last row:
        ``<eos>``). Teacher-forced (the model's ``attention_matrices``), so it is the attention of
        exactly the given output."""
        model = runtime.model
        src = np.asarray(src, dtype=np.int64)[None, :]
        with _inference(model):
            weights = model.attention_matrices(src, np.array([src.shape[1]], dtype=np.int64), [list(out_ids)])[0]
        if weights is None:
            raise UsageError("this model has no attention (--attention none): there is no matrix to draw")
        return _numpy(weights).astype(np.float64)
