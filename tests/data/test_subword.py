"""Subword tokenizers: fixed special ids, byte fallback for any text, JSON round trip, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("sentencepiece", reason="needs pip install -e '.[translate]'")

from rnnkit.data.subword import BOS, EOS, PAD, RESERVED, UNK, SubwordTokenizer  # noqa: E402
from rnnkit.errors import UsageError  # noqa: E402

TEXTS = [f"the {a} sat on the {b} mat" for a in ("cat", "dog", "bird") for b in ("red", "blue", "old")] * 5


@pytest.fixture(scope="module", params=["unigram", "bpe"])
def tokenizer(request):
    return SubwordTokenizer.train(TEXTS, vocab_size=300, model_type=request.param)


def test_special_ids_and_round_trip(tokenizer):
    assert tokenizer.pieces([PAD, UNK, BOS, EOS]) == ["<pad>", "<unk>", "<bos>", "<eos>"]
    ids = tokenizer.encode("the cat sat on the old mat")
    assert ids.dtype == np.int64 and ids.ndim == 1 and ids.min() >= RESERVED
    assert tokenizer.decode(ids) == "the cat sat on the old mat"
    assert tokenizer.decode(np.concatenate([[BOS], ids, [EOS, PAD, PAD]])) == "the cat sat on the old mat"
    assert tokenizer.encode("").size == 0


def test_byte_fallback_encodes_unseen_scripts_without_unk(tokenizer):
    text = "the Ωmega 世界 mat 🙂"
    ids = tokenizer.encode(text)
    assert UNK not in ids
    assert tokenizer.byte_pieces(ids) == len("Ω世界🙂".encode("utf-8"))
    assert tokenizer.decode(ids) == text


def test_json_round_trip_gives_the_same_ids(tokenizer):
    copy = SubwordTokenizer.from_json(json.loads(json.dumps(tokenizer.to_json())))
    assert len(copy) == len(tokenizer) and copy.model_type == tokenizer.model_type
    for text in TEXTS[:5] + ["unseen wörds"]:
        np.testing.assert_array_equal(copy.encode(text), tokenizer.encode(text))


def test_bpe_and_unigram_differ():
    uni = SubwordTokenizer.train(TEXTS, 300, "unigram")
    bpe = SubwordTokenizer.train(TEXTS, 300, "bpe")
    assert uni.proto != bpe.proto


def test_bad_input():
    with pytest.raises(UsageError, match="more than 264"):
        SubwordTokenizer.train(TEXTS, vocab_size=100)
    with pytest.raises(UsageError, match="model type"):
        SubwordTokenizer.train(TEXTS, 300, "wordpiece")
    with pytest.raises(UsageError, match="give a larger vocabulary"):
        SubwordTokenizer.train(["".join(chr(0x4E00 + i) for i in range(400))], 300)
    with pytest.raises(UsageError, match="no text"):
        SubwordTokenizer.train(["", "  "], 300)
    with pytest.raises(UsageError, match="base64"):
        SubwordTokenizer.from_json({"kind": "sentencepiece", "model": "!!!"})
    with pytest.raises(UsageError, match="damaged"):
        SubwordTokenizer.from_json({"kind": "sentencepiece", "model": "AAAA"})
    with pytest.raises(UsageError, match="not a subword tokenizer"):
        SubwordTokenizer.from_json({"kind": "chars"})
