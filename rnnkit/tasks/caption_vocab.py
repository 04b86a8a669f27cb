"""The captioner's word vocabulary: ids of caption words, with the four special words a decoder needs.

    id 0 <pad>     what padding is filled with (never generated)
    id 1 <start>   the first input of every caption (never generated)
    id 2 <end>     the last target of every caption: generating it ends the caption
    id 3 <unk>     a word the training references held fewer than ``min_count`` times (never generated)
    id 4..         the kept words, by falling count, ties in code-point order

Built on the training references only. Words come already split (``caption_words`` of
rnnkit/data/caption_sets.py); the special words are written with ``<``/``>``, which that tokenizer
never leaves inside a word, so they cannot collide with text. Saved in the checkpoint as JSON under
the tokenizer name ``words``; :meth:`CaptionVocab.from_json` trusts nothing in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rnnkit.errors import UsageError

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIALS = (PAD, START, END, UNK)
PAD_ID, START_ID, END_ID, UNK_ID = 0, 1, 2, 3
MAX_WORDS = 1_000_000          # far above any caption vocabulary; a larger list is damaged or hostile
MAX_WORD_CHARS = 200
_FORMAT = "rnnkit-caption-vocab"


class CaptionVocab:
    """Words <-> ids (module docstring). ``words[i]`` is the word of id i."""

    def __init__(self, words: Sequence[str]):
        words = list(words)
        if len(words) > MAX_WORDS:
            raise UsageError(f"caption vocabulary lists {len(words):,} words, more than {MAX_WORDS:,}")
        if tuple(words[:4]) != SPECIALS:
            raise UsageError(f"caption vocabulary must begin with {', '.join(SPECIALS)}")
        for i, word in enumerate(words[4:], start=4):
            if not isinstance(word, str) or not word or len(word) > MAX_WORD_CHARS or word != word.strip() \
                    or any(c.isspace() for c in word) or word in SPECIALS:
                raise UsageError(f"caption vocabulary entry {i} ({str(word)[:20]!r}) is not a word")
        if len(set(words)) != len(words):
            raise UsageError("caption vocabulary lists a word more than once")
        self.words = words
        self._ids = {w: i for i, w in enumerate(words)}

    @classmethod
    def build(cls, captions: Iterable[Sequence[str]], min_count: int = 1) -> "CaptionVocab":
        """The vocabulary of ``captions`` (each a list of words): words seen at least ``min_count`` times."""
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise UsageError(f"min_count must be a positive integer, got {min_count!r}")
        counts = Counter(w for words in captions for w in words if w not in SPECIALS)
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CaptionVocab) and self.words == other.words

    def encode(self, words: Sequence[str]) -> np.ndarray:
        """``<start> w_1 .. w_n <end>`` as ids (n + 2,) int64; unknown words become ``<unk>``."""
        return np.array([START_ID, *(self._ids.get(w, UNK_ID) for w in words), END_ID], dtype=np.int64)

    def unknown(self, words: Sequence[str]) -> list[str]:
        return [w for w in words if w not in self._ids]

    def decode(self, ids) -> list[str]:
        """The words of generated ids, up to the first ``<end>``; ``<pad>`` and ``<start>`` dropped."""
        out = []
        for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
            if i == END_ID:
                break
            if not 0 <= i < len(self.words):
                raise UsageError(f"word id {i} lies outside this vocabulary of {len(self.words)}")
            if i not in (PAD_ID, START_ID):
                out.append(self.words[i])
        return out

    def to_json(self) -> dict[str, Any]:
        return {"format": _FORMAT, "version": 1, "size": len(self), "words": list(self.words)}

    @classmethod
    def from_json(cls, data: Any) -> "CaptionVocab":
        """The vocabulary saved by :meth:`to_json`; a UsageError when ``data`` is not one."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("version") != 1:
            raise UsageError(f"not an rnnkit caption vocabulary (expected \"format\": \"{_FORMAT}\", version 1)")
        words = data.get("words")
        if not isinstance(words, list):
            raise UsageError("caption vocabulary \"words\" must be a list of strings")
        vocab = cls(words)
        if data.get("size") != len(vocab):
            raise UsageError(f"caption vocabulary says size {data.get('size')!r} but lists {len(vocab)} words")
        return vocab
