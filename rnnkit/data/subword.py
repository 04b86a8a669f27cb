"""Subword tokens for translation: a SentencePiece model (unigram or BPE) trained on the training split.

Why subwords: a word vocabulary of the Bible's 30,000 verses has some 13,000 English and 25,000
Spanish words, most seen a few times; characters make sentences of 130+ steps. Pieces of a few
thousand entries keep frequent words whole and spell rare ones from parts.

The ids are fixed so that every model and batch agrees on them:

    0 <pad>   1 <unk>   2 <bos>   3 <eos>   then 256 byte pieces <0x00>..<0xFF>, then the pieces

Byte fallback: a character the training text never had (another script, an emoji) is written as its
UTF-8 bytes, each a piece of its own, so *any* text encodes to known ids and decodes back; ``<unk>``
is never produced by :meth:`SubwordTokenizer.encode`. Text is not normalised (SentencePiece's
``identity`` rule), so ``decode(encode(text)) == text`` for any text with single spaces and no
leading or trailing space (runs of whitespace become one space).

The tokenizer lives inside the checkpoint as JSON: ``{"kind": "sentencepiece", "model": <the model
protobuf, base64>}``; no pickle, no file beside the checkpoint. sentencepiece is an optional
dependency (``pip install 'rnnkit[translate]'``); without it this module imports, and training or
loading a tokenizer is a UsageError that says what to install.
"""

from __future__ import annotations

import base64
import binascii
import io
import re

import numpy as np

from rnnkit.errors import UsageError

PAD, UNK, BOS, EOS = 0, 1, 2, 3
MODEL_TYPES = ("unigram", "bpe")
#: The four specials and the 256 byte pieces come before any learned piece.
RESERVED = 4 + 256
#: Share of the training text's characters that must have pieces of their own; the rest (rare
#: symbols, a stray letter of another script) are spelt in bytes.
CHARACTER_COVERAGE = 0.9995
INSTALL = "pip install 'sentencepiece>=0.2,<0.3' (or: pip install -e '.[translate]')"


def _sentencepiece():
    try:
        import sentencepiece
    except ImportError:
        raise UsageError("subword tokenizers need the sentencepiece package, which is not installed; "
                         f"{INSTALL}") from None
    return sentencepiece


class SubwordTokenizer:
    """A trained SentencePiece model with rnnkit's fixed special ids (module docstring).

    Attributes:
        model_type: ``unigram`` or ``bpe``.
        pad_id, unk_id, bos_id, eos_id: 0, 1, 2, 3.
    """

    pad_id, unk_id, bos_id, eos_id = PAD, UNK, BOS, EOS

    def __init__(self, proto: bytes, model_type: str = "unigram"):
        spm = _sentencepiece()
        self.proto = bytes(proto)
        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.LoadFromSerializedProto(self.proto)
        except (RuntimeError, OSError) as exc:
            raise UsageError(f"the subword model is damaged ({exc})") from None
        specials = [self._sp.IdToPiece(i) for i in range(4)] if len(self) >= 4 else []
        if specials != ["<pad>", "<unk>", "<bos>", "<eos>"]:
            raise UsageError(f"the subword model's first ids are {specials}, not <pad> <unk> <bos> <eos>")
        if not all(self._sp.IsByte(i) for i in range(4, min(len(self), RESERVED))) or len(self) <= RESERVED:
            raise UsageError("the subword model has no byte fallback pieces at ids 4..259")
        if model_type not in MODEL_TYPES:
            raise UsageError(f"subword model type must be one of {', '.join(MODEL_TYPES)}, got {model_type!r}")
        self.model_type = model_type

    @classmethod
    def train(cls, texts, vocab_size: int = 4000, model_type: str = "unigram") -> "SubwordTokenizer":
        """Learn pieces from ``texts`` (the training split only: strings).

        ``vocab_size`` is an upper bound (a small text may give fewer pieces); it counts the 260
        reserved ids, so it must be larger than 264. Training is deterministic for the same text.
        """
        spm = _sentencepiece()
        if model_type not in MODEL_TYPES:
            raise UsageError(f"subword model type must be one of {', '.join(MODEL_TYPES)}, got {model_type!r}")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size <= RESERVED + 4:
            raise UsageError(f"a subword vocabulary needs more than {RESERVED + 4} entries (4 specials, 256 "
                             f"bytes and some pieces), got {vocab_size!r}")
        texts = [t for t in texts if t and t.strip()]
        if not texts:
            raise UsageError("no text to train a subword tokenizer on")
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(texts), model_writer=model, vocab_size=vocab_size, model_type=model_type,
                pad_id=PAD, unk_id=UNK, bos_id=BOS, eos_id=EOS, bos_piece="<bos>", eos_piece="<eos>",
                # The rarest 0.05% of characters get no piece of their own: byte fallback spells them.
                byte_fallback=True, character_coverage=CHARACTER_COVERAGE,
                normalization_rule_name="identity", hard_vocab_limit=False, minloglevel=2, num_threads=1)
        except RuntimeError as exc:
            found = re.search(r"(\d+) vs (\d+)", str(exc))
            need = f" (the text's characters need {found.group(2)})" if found and "required_chars" in str(exc) else ""
            raise UsageError(f"cannot train a subword vocabulary of {vocab_size} pieces on this text{need}; "
                             f"give a larger vocabulary ({str(exc).splitlines()[0][:160]})") from None
        return cls(model.getvalue(), model_type)

    def __len__(self) -> int:
        return int(self._sp.GetPieceSize())

    def encode(self, text: str) -> np.ndarray:
        """The piece ids of ``text``: (n,) int64, without <bos> or <eos>; n = 0 for empty text."""
        return np.asarray(self._sp.EncodeAsIds(text), dtype=np.int64)

    def encode_all(self, texts) -> list[np.ndarray]:
        return [np.asarray(ids, dtype=np.int64) for ids in self._sp.EncodeAsIds(list(texts))]

    def decode(self, ids) -> str:
        """The text of piece ids; <pad>, <bos> and <eos> are dropped, byte pieces become their characters."""
        ids = [int(i) for i in np.asarray(ids).reshape(-1) if int(i) not in (PAD, BOS, EOS)]
        return self._sp.DecodeIds(ids)

    def pieces(self, ids) -> list[str]:
        """The pieces of ids as strings (``▁`` marks a word start), for drawing attention."""
        return [self._sp.IdToPiece(int(i)) for i in np.asarray(ids).reshape(-1)]

    def byte_pieces(self, ids) -> int:
        """How many of ``ids`` are byte-fallback pieces (characters the training text never had)."""
        return sum(1 for i in np.asarray(ids).reshape(-1) if self._sp.IsByte(int(i)))

    def to_json(self) -> dict:
        return {"kind": "sentencepiece", "model_type": self.model_type,
                "model": base64.b64encode(self.proto).decode("ascii")}

    @classmethod
    def from_json(cls, data) -> "SubwordTokenizer":
        if not isinstance(data, dict) or data.get("kind") != "sentencepiece" or not isinstance(data.get("model"), str):
            raise UsageError("not a subword tokenizer: expected {\"kind\": \"sentencepiece\", \"model\": base64}")
        try:
            proto = base64.b64decode(data["model"], validate=True)
        except (binascii.Error, ValueError):
            raise UsageError("the subword tokenizer's model is not valid base64") from None
        return cls(proto, data.get("model_type", "unigram"))
