"""Vocab: round trips in both modes, deterministic order, helpful errors, JSON validation."""

import json
from collections import Counter

import numpy as np
import pytest

from rnnkit.data import Vocab, id_dtype
from rnnkit.errors import UsageError


def test_char_round_trip_and_sorted_ids():
    text = "hello, wörld ✓\n"
    vocab = Vocab.build(text)
    assert vocab.mode == "char"
    assert len(vocab) == len(set(text))
    assert vocab.decode(np.arange(len(vocab))) == "".join(sorted(set(text)))
    ids = vocab.encode(text)
    assert ids.dtype == np.int32 and ids.shape == (len(text),)
    assert vocab.decode(ids) == text


def test_order_does_not_depend_on_first_occurrence():
    assert Vocab.build("abc") == Vocab.build("cba")
    assert Vocab.from_counts(Counter("cab")) == Vocab.build("abc")
    assert Vocab.from_counts(np.bincount([97, 98, 99])) == Vocab.build("abc")


def test_unknown_characters_are_named():
    vocab = Vocab.build("abc")
    assert vocab.unknown("abcéz") == ["z", "é"]
    with pytest.raises(UsageError, match=r"characters not in the vocabulary: 'z' \(U\+007A\), "
                                         r"'é' \(U\+00E9\)"):
        vocab.encode("cabézz")


def test_byte_mode_round_trip_and_replacement():
    data = "añb".encode() + b"\xff"
    vocab = Vocab.build(data, mode="byte")
    assert vocab.mode == "byte" and len(vocab) == 5
    assert vocab.decode(vocab.encode(data)) == "añb\ufffd"   # invalid UTF-8 decodes as U+FFFD
    assert vocab.decode(vocab.encode("ñ")) == "ñ"            # str input is UTF-8 encoded first
    assert vocab.unknown(b"az") == ["0x7A"]
    with pytest.raises(UsageError, match="bytes not in the vocabulary: 0x7A"):
        vocab.encode(b"z")


def test_decode_rejects_out_of_range_ids():
    with pytest.raises(UsageError, match=r"ids must lie in 0\.\.2"):
        Vocab.build("abc").decode([3])


def test_json_round_trip():
    for vocab in (Vocab.build("x\ty\n\u2028"), Vocab.build(b"\x00\xff", "byte")):
        data = json.loads(json.dumps(vocab.to_json()))
        assert Vocab.from_json(data) == vocab


@pytest.mark.parametrize("garbage, message", [
    ([1, 2], "not an rnnkit vocabulary"),
    ({"format": "other"}, "not an rnnkit vocabulary"),
    ({"format": "rnnkit-vocab", "version": 9, "mode": "char", "symbols": [97]}, "version"),
    ({"format": "rnnkit-vocab", "version": 1, "mode": "word", "symbols": [97]}, "mode"),
    ({"format": "rnnkit-vocab", "version": 1, "mode": "char", "symbols": "abc"}, "list of integers"),
    ({"format": "rnnkit-vocab", "version": 1, "mode": "char", "symbols": [98, 97]}, "increasing"),
    ({"format": "rnnkit-vocab", "version": 1, "mode": "byte", "symbols": [300]}, r"0\.\.255"),
    ({"format": "rnnkit-vocab", "version": 1, "mode": "char", "symbols": []}, "at least one"),
    ({"format": "rnnkit-vocab", "version": 1, "mode": "char", "symbols": [97], "size": 2}, "size"),
])
def test_from_json_rejects_garbage(garbage, message):
    with pytest.raises(UsageError, match=message):
        Vocab.from_json(garbage)


def test_char_mode_refuses_bytes_and_empty_text():
    with pytest.raises(UsageError, match="byte mode"):
        Vocab.build(b"abc")
    with pytest.raises(UsageError, match="empty"):
        Vocab.build("")


def test_id_dtype_is_the_smallest_that_fits():
    assert id_dtype(256) == np.uint8
    assert id_dtype(257) == np.uint16
    assert id_dtype(65536) == np.uint16
    assert id_dtype(65537) == np.uint32
    assert Vocab.build("ab").id_dtype == np.uint8


def test_threads_encoding_at_once_all_see_the_whole_table():
    """The lookup table is built lazily; threads that race to build it must never read a half-filled one."""
    from concurrent.futures import ThreadPoolExecutor

    text = "".join(chr(c) for c in range(32, 20000) if chr(c).isprintable())
    for _ in range(20):
        vocab = Vocab.build(text)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: vocab.encode(text).tolist(), range(8)))
        assert all(r == results[0] for r in results)
