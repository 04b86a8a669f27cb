"""Chunked memory-mapped encoding: equal to in-memory encoding, cached, rebuilt when the file changes."""

import os

import numpy as np
import pytest

from rnnkit.data import Vocab, encode_file
from rnnkit.errors import UsageError

TEXT = "Grüße, 世界! 🙂 naïve café\n" * 40


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.mark.parametrize("chunk_bytes", [1, 5, 7, 1 << 20])
def test_memmap_equals_in_memory_encoding(text_file, tmp_path, chunk_bytes):
    # Chunks of 1, 5 and 7 bytes split the 2-, 3- and 4-byte UTF-8 sequences in every way.
    encoded = encode_file(text_file, cache_dir=tmp_path / "cache", chunk_bytes=chunk_bytes)
    vocab = Vocab.build(TEXT)
    assert encoded.vocab == vocab
    assert isinstance(encoded.tokens, np.memmap) and encoded.tokens.dtype == np.uint8
    np.testing.assert_array_equal(encoded.tokens, vocab.encode(TEXT))


def test_byte_mode_encodes_raw_bytes(text_file, tmp_path):
    encoded = encode_file(text_file, "byte", cache_dir=tmp_path, chunk_bytes=3)
    assert encoded.vocab.decode(encoded.tokens) == TEXT
    assert len(encoded.tokens) == len(TEXT.encode())


def test_cache_is_reused_and_rebuilt_when_the_file_changes(text_file, tmp_path):
    first = encode_file(text_file, cache_dir=tmp_path)
    second = encode_file(text_file, cache_dir=tmp_path)
    assert not first.reused and second.reused and second.path == first.path
    assert not list(first.path.parent.glob("*.tmp"))
    text_file.write_text(TEXT + "new", encoding="utf-8")
    os.utime(text_file, ns=(1, 1))
    third = encode_file(text_file, cache_dir=tmp_path)
    assert not third.reused and third.path != first.path
    assert third.vocab.decode(third.tokens).endswith("new")


def test_cache_dir_comes_from_the_environment(text_file, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "env-cache"))
    encoded = encode_file(text_file)
    assert encoded.path.parent == tmp_path / "env-cache" / "tokens"


def test_damaged_cache_entry_is_rebuilt(text_file, tmp_path):
    first = encode_file(text_file, cache_dir=tmp_path)
    first.path.with_suffix(".json").write_text("{not json")
    again = encode_file(text_file, cache_dir=tmp_path)
    assert not again.reused
    np.testing.assert_array_equal(again.tokens, first.tokens)


def test_given_vocabulary_names_unknown_characters(text_file, tmp_path):
    with pytest.raises(UsageError, match="characters not in the vocabulary"):
        encode_file(text_file, vocab=Vocab.build("abc"), cache_dir=tmp_path)
    assert not list((tmp_path / "tokens").iterdir())   # nothing half-written is left behind


def test_undecodable_file_suggests_byte_mode_and_gives_the_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("abcdé".encode("latin-1") + b"xyz")
    with pytest.raises(UsageError, match=r"offset 4\).*--byte-mode"):
        encode_file(path, cache_dir=tmp_path, chunk_bytes=2)


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "no such file"),
    (lambda p: (p.mkdir(), p)[1], "is a directory"),
    (lambda p: (p.write_bytes(b""), p)[1], "is empty"),
])
def test_bad_paths_raise_usage_errors(tmp_path, make, message):
    path = make(tmp_path / "input")
    with pytest.raises(UsageError, match=message):
        encode_file(path, cache_dir=tmp_path / "cache")
