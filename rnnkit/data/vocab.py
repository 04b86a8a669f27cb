"""The vocabulary of a character-level model: which symbols exist and which integer id each has.

Two modes:

- ``"char"``: symbols are Unicode code points; text is a ``str``.
- ``"byte"``: symbols are byte values 0..255; text is ``bytes`` (a ``str`` is UTF-8 encoded first), so
  any file can be read, whatever its encoding, and decoding output never fails (``errors='replace'``).

In both modes the vocabulary holds exactly the symbols seen in the training text, sorted by value, and
symbol ``k`` in that order has id ``k``. Sorting makes the vocabulary (and so a model's embedding rows)
a pure function of the text's symbol set, independent of where each symbol first occurs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnkit.errors import UsageError

MODES = ("char", "byte")
_MAX_SYMBOL = {"char": 0x10FFFF, "byte": 0xFF}
_JSON_FORMAT = "rnnkit-vocab"


def id_dtype(size: int) -> np.dtype:
    """The smallest unsigned integer dtype that holds ids ``0 .. size-1`` (uint8, uint16 or uint32)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"vocabulary of {size} symbols does not fit in uint32")


def symbol_values(text: str | bytes, mode: str) -> np.ndarray:
    """The symbols of ``text`` as integers, shape (n,) uint32: code points (char) or bytes (byte)."""
    if mode == "byte":
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        return np.frombuffer(data, dtype=np.uint8).astype(np.uint32)
    if not isinstance(text, str):
        raise UsageError("character mode needs text (str); give bytes only in byte mode")
    # UTF-32 turns a str into one fixed-width integer per code point without a Python loop;
    # 'surrogatepass' keeps lone surrogates (from surrogateescape decoding) as ordinary symbols.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _describe(value: int, mode: str) -> str:
    if mode == "byte":
        return f"0x{value:02X}"
    return f"{chr(value)!r} (U+{value:04X})"


class Vocab:
    """A sorted set of symbols (code points or bytes) with ids ``0 .. len-1``.

    Attributes:
        mode: ``"char"`` or ``"byte"``.
        symbols: the symbol values in id order, shape (V,) int64, strictly increasing.
    """

    def __init__(self, symbols, mode: str = "char"):
        if mode not in MODES:
            raise UsageError(f"unknown vocabulary mode {mode!r}; expected one of {', '.join(MODES)}")
        values = np.asarray(symbols, dtype=np.int64).reshape(-1)
        if values.size == 0:
            raise UsageError("a vocabulary needs at least one symbol")
        if values.min() < 0 or values.max() > _MAX_SYMBOL[mode]:
            raise UsageError(f"{mode} vocabulary symbols must lie in 0..{_MAX_SYMBOL[mode]}")
        if np.any(np.diff(values) <= 0):
            raise UsageError("vocabulary symbols must be strictly increasing (sorted, no repeats)")
        self.mode = mode
        self.symbols = values
        self.symbols.setflags(write=False)
        self._table: np.ndarray | None = None

    @classmethod
    def from_counts(cls, counts: np.ndarray | Mapping[str | int, int], mode: str = "char") -> Vocab:
        """The vocabulary of every symbol with a positive count.

        Args:
            counts: either an array of shape (S,) where ``counts[s]`` is how often symbol value ``s``
                occurs (as ``np.bincount`` gives), or a mapping from symbol (a one-character str, or
                an int value) to its count (as ``collections.Counter(text)`` gives).
            mode: ``"char"`` or ``"byte"``.
        """
        if isinstance(counts, Mapping):
            values = [ord(s) if isinstance(s, str) else int(s) for s, c in counts.items() if c > 0]
            return cls(sorted(values), mode)
        return cls(np.flatnonzero(np.asarray(counts) > 0), mode)

    @classmethod
    def build(cls, text: str | bytes, mode: str = "char") -> Vocab:
        """The vocabulary of the symbols in ``text`` (str, or bytes in byte mode)."""
        values = symbol_values(text, mode)
        if values.size == 0:
            raise UsageError("cannot build a vocabulary from empty text")
        return cls.from_counts(np.bincount(values), mode)

    def __len__(self) -> int:
        return int(self.symbols.size)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Vocab) and self.mode == other.mode
                and np.array_equal(self.symbols, other.symbols))

    def __repr__(self) -> str:
        return f"Vocab(mode={self.mode!r}, size={len(self)})"

    @property
    def id_dtype(self) -> np.dtype:
        """The smallest unsigned dtype that holds this vocabulary's ids."""
        return id_dtype(len(self))

    def lookup(self, values: np.ndarray) -> np.ndarray:
        """Ids of symbol values, shape (n,) -> (n,) int32; raises UsageError naming unknown symbols."""
        values = np.asarray(values)
        table = self._table
        if table is None:
            # A dense table indexed by symbol value (at most 0x110000 entries, 4.4 MB) makes the
            # lookup one gather with no temporaries wider than the ids; -1 marks absent symbols,
            # and the extra last entry catches every value above the largest symbol. Built whole
            # in a local and then published, so a thread that encodes at the same moment (the
            # playground serves several) never reads a half-filled table.
            table = np.full(int(self.symbols[-1]) + 2, -1, dtype=np.int32)
            table[self.symbols] = np.arange(len(self), dtype=np.int32)
            self._table = table
        ids = table[np.minimum(values, table.size - 1)]
        missing = ids < 0
        if missing.any():
            raise UsageError(self._unknown_message(np.unique(values[missing])))
        return ids

    def encode(self, text: str | bytes) -> np.ndarray:
        """Ids of the symbols of ``text``, shape (n,) int32.

        Raises UsageError naming the symbols that are not in the vocabulary.
        """
        return self.lookup(symbol_values(text, self.mode))

    def decode(self, ids) -> str:
        """The text for a sequence of ids, shape (n,). Byte mode decodes UTF-8 with errors='replace'."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise UsageError(f"ids must lie in 0..{len(self) - 1} for this vocabulary")
        values = self.symbols[ids]
        if self.mode == "byte":
            return values.astype(np.uint8).tobytes().decode("utf-8", errors="replace")
        return values.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")

    def unknown(self, text: str | bytes) -> list[str]:
        """The distinct symbols of ``text`` missing from the vocabulary, sorted.

        Char mode gives the characters themselves; byte mode gives the bytes as ``'0xE9'``.
        """
        values = np.unique(symbol_values(text, self.mode))
        missing = values[~np.isin(values, self.symbols)]
        if self.mode == "byte":
            return [f"0x{v:02X}" for v in missing]
        return [chr(v) for v in missing]

    def _unknown_message(self, missing: np.ndarray, limit: int = 10) -> str:
        kind = "bytes" if self.mode == "byte" else "characters"
        shown = ", ".join(_describe(int(v), self.mode) for v in missing[:limit])
        more = f", ... ({len(missing)} in all)" if len(missing) > limit else ""
        return f"{kind} not in the vocabulary: {shown}{more}"

    def to_json(self) -> dict[str, Any]:
        """A plain JSON-able dict: ``{"format", "version", "mode", "size", "symbols": [int, ...]}``.

        Symbols are stored as integers so that whitespace and control characters stay unambiguous.
        """
        return {"format": _JSON_FORMAT, "version": 1, "mode": self.mode, "size": len(self),
                "symbols": [int(v) for v in self.symbols]}

    @classmethod
    def from_json(cls, data: Any) -> Vocab:
        """The vocabulary stored by :meth:`to_json`; raises UsageError if ``data`` is not one."""
        if not isinstance(data, dict) or data.get("format") != _JSON_FORMAT:
            raise UsageError("not an rnnkit vocabulary (expected a JSON object with "
                             f"\"format\": \"{_JSON_FORMAT}\")")
        if data.get("version") != 1:
            raise UsageError(f"unsupported vocabulary version {data.get('version')!r}; expected 1")
        symbols = data.get("symbols")
        if (not isinstance(symbols, list)
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in symbols)):
            raise UsageError("vocabulary \"symbols\" must be a list of integers")
        vocab = cls(symbols, data.get("mode"))
        if data.get("size", len(vocab)) != len(vocab):
            raise UsageError(f"vocabulary says size {data.get('size')!r} but lists {len(vocab)} "
                             "symbols")
        return vocab
