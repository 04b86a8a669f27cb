"""Tokenizers and a token vocabulary for classifiers that read words (or characters) as ids.

Word level (:func:`word_tokens`): the text is lower-cased, the typographic apostrophe U+2019 becomes
``'``, and the tokens are the matches of :data:`WORD_PATTERN`, ``\\w+(?:'\\w+)*|[^\\w\\s]``:

- a word is a run of letters, digits or ``_`` (Unicode-aware), with apostrophes *inside* it kept,
  so ``don't`` and ``film's`` stay one token (a negation is a strong sentiment cue);
- every other non-space character is a token of its own: ``"fun!!"`` -> ``fun ! !``,
  ``''conan''`` -> ``' ' conan ' '``, ``co-writer`` -> ``co - writer``;
- whitespace only separates.

Character level (:func:`char_tokens`): every character, spaces included, case kept.

:class:`TokenVocab` maps tokens to ids: ``<pad>`` is id 0 (what
:func:`rnnkit.data.padding.pad_batch` fills with), ``<unk>`` id 1 (every token the vocabulary
lacks), then the kept tokens by falling count, ties in code-point order. It is built on the training
split only, so validation and test words the model never saw become ``<unk>`` as they would in use.
The tokenizers never produce ``<pad>`` or ``<unk>`` (``<`` and ``>`` are tokens of their own), so
the special tokens cannot collide with text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rnnkit.errors import UsageError

WORD_PATTERN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
LEVELS = ("word", "char")
MAX_TOKENS = 5_000_000     # far above any real vocabulary; a larger JSON list is corrupt or hostile
MAX_TOKEN_CHARS = 1_000
_JSON_FORMAT = "rnnkit-token-vocab"


def word_tokens(text: str) -> list[str]:
    """Lower-cased words and single punctuation characters (rule in the module docstring)."""
    return WORD_PATTERN.findall(text.lower().replace("\u2019", "'"))


def char_tokens(text: str) -> list[str]:
    """Every character of ``text``, in order, unchanged."""
    return list(text)


TOKENIZERS = {"word": word_tokens, "char": char_tokens}


def _check_level(level: Any) -> str:
    if level not in LEVELS:
        raise UsageError(f"unknown token level {level!r}; expected one of {', '.join(LEVELS)}")
    return level


class TokenVocab:
    """Tokens <-> ids, with ``<pad>`` = 0 and ``<unk>`` = 1.

    Attributes:
        level: ``"word"`` or ``"char"``: which tokenizer :meth:`encode` uses.
        tokens: the token of each id, ``tokens[0] == "<pad>"``, ``tokens[1] == "<unk>"``.
    """

    def __init__(self, tokens: Sequence[str], level: str = "word"):
        self.level = _check_level(level)
        self.tokens = list(tokens)
        _check_tokens(self.tokens, self.level)
        self._ids = {token: i for i, token in enumerate(self.tokens)}
        self._tokenize = TOKENIZERS[self.level]

    @classmethod
    def build(cls, texts: Iterable[str], level: str = "word", *, min_count: int = 1,
              max_size: int | None = None) -> TokenVocab:
        """The vocabulary of ``texts`` (give the training split only).

        Args:
            texts: the strings to count tokens in.
            level: ``"word"`` or ``"char"``.
            min_count: keep tokens seen at least this often (>= 1).
            max_size: at most this many ids in all, ``<pad>`` and ``<unk>`` included (>= 2), so
                an embedding table of ``max_size`` rows fits; the most frequent tokens are kept.
        """
        _check_level(level)
        if not (isinstance(min_count, int) and min_count >= 1):
            raise UsageError(f"min_count must be a positive integer, got {min_count!r}")
        if max_size is not None and not (isinstance(max_size, int) and max_size >= 2):
            raise UsageError(f"max_size must be an integer >= 2 (<pad> and <unk>), got "
                             f"{max_size!r}")
        counts = Counter()
        tokenize = TOKENIZERS[level]
        for text in texts:
            counts.update(tokenize(text))
        kept = sorted((token for token, count in counts.items() if count >= min_count),
                      key=lambda token: (-counts[token], token))
        if max_size is not None:
            kept = kept[:max_size - 2]
        return cls([PAD, UNK, *kept], level)

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TokenVocab) and self.level == other.level
                and self.tokens == other.tokens)

    def __repr__(self) -> str:
        return f"TokenVocab({len(self)} {self.level} tokens)"

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` at this vocabulary's level."""
        return self._tokenize(text)

    def id_of(self, token: str) -> int:
        """The id of ``token``, or 1 (``<unk>``) when the vocabulary lacks it."""
        return self._ids.get(token, UNK_ID)

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text``'s tokens: shape (n,) int64, n = len(self.tokenize(text))."""
        ids = [self._ids.get(token, UNK_ID) for token in self._tokenize(text)]
        return np.asarray(ids, dtype=np.int64)

    def encode_all(self, texts: Iterable[str]) -> list[np.ndarray]:
        """:meth:`encode` of each text: a list of (n_i,) int64 arrays."""
        return [self.encode(text) for text in texts]

    def decode(self, ids) -> str:
        """The text of ``ids`` (any shape, flattened), ``<pad>`` left out, unknowns as ``<unk>``.

        Word tokens are joined by single spaces (the original spacing is not kept), characters by
        nothing.
        """
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer)
                         or ids.min() < 0 or ids.max() >= len(self)):
            raise UsageError(f"ids must be integers in 0..{len(self) - 1} for this vocabulary")
        separator = " " if self.level == "word" else ""
        return separator.join(self.tokens[i] for i in ids.tolist() if i != PAD_ID)

    def to_json(self) -> dict[str, Any]:
        """A plain JSON object: format, version, level, size and the token list in id order."""
        return {"format": _JSON_FORMAT, "version": 1, "level": self.level, "size": len(self),
                "tokens": list(self.tokens)}

    @classmethod
    def from_json(cls, data: Any) -> TokenVocab:
        """The vocabulary stored by :meth:`to_json`; UsageError when ``data`` is not a valid one."""
        if not isinstance(data, dict) or data.get("format") != _JSON_FORMAT:
            raise UsageError(f"not an rnnkit token vocabulary (expected a JSON object with "
                             f"\"format\": \"{_JSON_FORMAT}\")")
        if data.get("version") != 1 or isinstance(data.get("version"), bool):
            raise UsageError(f"unsupported token vocabulary version {data.get('version')!r}; "
                             "expected 1")
        level = data.get("level")
        if not isinstance(level, str):
            raise UsageError("token vocabulary \"level\" must be a string")
        tokens = data.get("tokens")
        if not isinstance(tokens, list):
            raise UsageError("token vocabulary \"tokens\" must be a list of strings")
        vocab = cls(tokens, level)
        size = data.get("size")
        if size is not None and (isinstance(size, bool) or size != len(vocab)):
            raise UsageError(f"token vocabulary says size {size!r} but lists {len(vocab)} tokens")
        return vocab


def _check_tokens(tokens: list, level: str) -> None:
    """UsageError unless ``tokens`` is a valid id -> token list for ``level`` (see TokenVocab)."""
    if len(tokens) > MAX_TOKENS:
        raise UsageError(f"token vocabulary lists {len(tokens):,} tokens, more than the "
                         f"{MAX_TOKENS:,} allowed")
    if tokens[:2] != [PAD, UNK]:
        raise UsageError(f"token vocabulary must begin with {PAD} (id 0) and {UNK} (id 1)")
    for i, token in enumerate(tokens):
        if not isinstance(token, str):
            raise UsageError(f"token vocabulary entry {i} is {type(token).__name__}, not a string")
        if i < 2:
            continue
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise UsageError(f"token vocabulary entry {i} has length {len(token)}; expected "
                             f"1..{MAX_TOKEN_CHARS}")
        if level == "char" and len(token) != 1:
            raise UsageError(f"char vocabulary entry {i} is {token[:20]!r}, not one character")
        if level == "word" and WORD_PATTERN.fullmatch(token) is None:
            raise UsageError(f"word vocabulary entry {i} ({token[:20]!r}) is not a token the word "
                             "tokenizer can produce")
    if len(set(tokens)) != len(tokens):
        repeated = next(token for token, count in Counter(tokens).items() if count > 1)
        raise UsageError(f"token vocabulary lists {repeated[:20]!r} more than once")
