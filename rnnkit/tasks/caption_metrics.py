"""Scores of generated captions: corpus BLEU-1..4 (sacrebleu) against every reference of each image.

BLEU-n here is sacrebleu's corpus BLEU with ``max_ngram_order=n``: the geometric mean of the
modified 1..n-gram precisions, counted over the whole split (not averaged per caption), times the
brevity penalty exp(min(0, 1 - r/c)) with r the reference length closest to each caption's length.
Captions are detokenised text (``join_words``); the references are the data's text put through
the same words and back (:func:`normalised`: lower case, as the model writes, for sacrebleu counts
case: Tux Paint's capitalised captions would cost a lower-case model 6-10 points for nothing,
docs/captioning_data.md). sacrebleu then tokenises both the same way (its default ``13a``).
Images have one or more references (Tux Paint: one; scenes and COCO: several); sacrebleu takes a
variable number when the missing ones are None. Scores are 0-100, as papers report them.
"""

from __future__ import annotations

from rnnkit.errors import UsageError

ORDERS = (1, 2, 3, 4)


def normalised(text: str, data) -> str:
    """A reference as the model would write it: ``join_words(caption_words(text))`` of the data
    module ``data`` (rnnkit/data/caption_sets.py)."""
    return data.join_words(data.caption_words(text))


def bleu_scores(hypotheses: list[str], references: list[list[str]]) -> dict:
    """``{"bleu1": .., "bleu4": ..}`` (0-100) of one caption per image against its references."""
    try:
        from sacrebleu.metrics import BLEU
    except ImportError:
        raise UsageError("BLEU needs the sacrebleu package, which is not installed; "
                         "pip install 'sacrebleu>=2.4,<3' (or: pip install -e '.[translate]')") from None
    if len(hypotheses) != len(references) or not references:
        raise ValueError(f"{len(hypotheses)} captions for {len(references)} images")
    if any(not refs for refs in references):
        raise ValueError("every image needs at least one reference caption")
    most = max(len(refs) for refs in references)
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(most)]
    return {f"bleu{n}": float(BLEU(max_ngram_order=n).corpus_score(hypotheses, streams).score) for n in ORDERS}
