"""Word and character tokenizers; TokenVocab: building, encoding, JSON round trip and validation."""

import json

import numpy as np
import pytest

from rnnkit.data.words import (MAX_TOKENS, PAD_ID, UNK_ID, TokenVocab, char_tokens,
                               word_tokens)
from rnnkit.errors import UsageError


@pytest.mark.parametrize("text, tokens", [
    ("Fun!! Not DULL.", ["fun", "!", "!", "not", "dull", "."]),
    ("''Conan'' doesn't", ["'", "'", "conan", "'", "'", "doesn't"]),
    ("Jackson\u2019s co-writer/director", ["jackson's", "co", "-", "writer", "/", "director"]),
    ("J.R.R. 21st   clichés\t3.5", ["j", ".", "r", ".", "r", ".", "21st", "clichés", "3", ".",
                                    "5"]),
    ("it's' 'tis", ["it's", "'", "'", "tis"]),
    ("<pad> <unk>", ["<", "pad", ">", "<", "unk", ">"]),
    ("   ", []),
])
def test_word_tokens(text, tokens):
    assert word_tokens(text) == tokens


def test_char_tokens_keep_everything():
    assert char_tokens("Ab c!") == ["A", "b", " ", "c", "!"]


def test_build_on_train_only_orders_by_count_and_maps_unknowns():
    train = ["good good film", "bad film", "good"]
    vocab = TokenVocab.build(train)
    assert vocab.tokens == ["<pad>", "<unk>", "good", "film", "bad"]
    assert vocab.encode("Good, unseen film").tolist() == [2, UNK_ID, UNK_ID, 3]
    assert vocab.encode("good").dtype == np.int64
    assert vocab.id_of("bad") == 4 and vocab.id_of("great") == UNK_ID
    assert vocab.encode("").shape == (0,)


def test_min_count_and_max_size():
    train = ["a a a b b c", "d"]
    assert TokenVocab.build(train, min_count=2).tokens == ["<pad>", "<unk>", "a", "b"]
    assert TokenVocab.build(train, max_size=4).tokens == ["<pad>", "<unk>", "a", "b"]
    assert TokenVocab.build(train, max_size=2).tokens == ["<pad>", "<unk>"]
    # equal counts: code-point order, so the result never depends on the order of the texts
    assert TokenVocab.build(["d c", "a b"]) == TokenVocab.build(["b a", "c d"])
    for bad in ({"min_count": 0}, {"max_size": 1}, {"max_size": 2.5}):
        with pytest.raises(UsageError, match="min_count|max_size"):
            TokenVocab.build(train, **bad)
    with pytest.raises(UsageError, match="unknown token level 'byte'"):
        TokenVocab.build(train, level="byte")


def test_decode_leaves_out_padding():
    vocab = TokenVocab.build(["a fine film ."])
    ids = np.concatenate([vocab.encode("a fine, film."), [PAD_ID, PAD_ID]])
    assert vocab.decode(ids) == "a fine <unk> film ."
    chars = TokenVocab.build(["ab c"], level="char")
    assert chars.decode(chars.encode("cab!")) == "cab<unk>"
    with pytest.raises(UsageError, match=r"0\.\.5"):
        vocab.decode([6])
    with pytest.raises(UsageError, match="integers"):
        vocab.decode([1.5])


def test_json_round_trip():
    for vocab in (TokenVocab.build(["Don't — stop!", "naïve ✓"]),
                  TokenVocab.build(["x\ty\n\u2028"], level="char")):
        data = json.loads(json.dumps(vocab.to_json()))
        assert TokenVocab.from_json(data) == vocab
        assert TokenVocab.from_json(data).encode("stop x").tolist() == \
            vocab.encode("stop x").tolist()


def _stored(tokens, **changes):
    return {"format": "rnnkit-token-vocab", "version": 1, "level": "word", "tokens": tokens,
            **changes}


@pytest.mark.parametrize("garbage, message", [
    ([1, 2], "not an rnnkit token vocabulary"),
    ({"format": "rnnkit-vocab"}, "not an rnnkit token vocabulary"),
    (_stored(["<pad>", "<unk>"], version=2), "version"),
    (_stored(["<pad>", "<unk>"], version=True), "version"),
    (_stored(["<pad>", "<unk>"], level="byte"), "unknown token level"),
    (_stored(["<pad>", "<unk>"], level=["word"]), "level"),
    (_stored("<pad> <unk>"), "list of strings"),
    (_stored(None), "list of strings"),
    (_stored(["<unk>", "<pad>", "a"]), "must begin with <pad>"),
    (_stored(["<pad>"]), "must begin with <pad>"),
    (_stored([]), "must begin with <pad>"),
    (_stored(["<pad>", "<unk>", 7]), "entry 2 is int"),
    (_stored(["<pad>", "<unk>", ["a"]]), "entry 2 is list"),
    (_stored(["<pad>", "<unk>", "a", "b", "a"]), "'a' more than once"),
    (_stored(["<pad>", "<unk>", "a", "<pad>"]), "entry 3"),
    (_stored(["<pad>", "<unk>", ""]), "length 0"),
    (_stored(["<pad>", "<unk>", "x" * 1001]), "length 1001"),
    (_stored(["<pad>", "<unk>", "two words"]), "word tokenizer"),
    (_stored(["<pad>", "<unk>", "ab"], level="char"), "not one character"),
    (_stored(["<pad>", "<unk>", "a"], size=5), "size 5"),
    (_stored(["<pad>", "<unk>", "a"], size="3"), "size '3'"),
])
def test_from_json_rejects_garbage(garbage, message):
    with pytest.raises(UsageError, match=message):
        TokenVocab.from_json(garbage)


def test_from_json_rejects_an_absurd_size():
    # A list one past the limit, built from one shared string, so the test stays fast.
    with pytest.raises(UsageError, match="more than the"):
        TokenVocab.from_json(_stored(["<pad>", "<unk>"] + ["a"] * (MAX_TOKENS - 1)))
