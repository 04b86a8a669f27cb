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


def test_an_edit_that_keeps_size_and_modification_time_is_encoded_afresh(text_file, tmp_path):
    """Issue 14: the cache was keyed on size and mtime, so such an edit reused the stale encoding."""
    first = encode_file(text_file, cache_dir=tmp_path)
    stat = text_file.stat()
    edited = "Grüße, 世界! 🙂 naïve cafe\n" + TEXT[len("Grüße, 世界! 🙂 naïve café\n"):] + " "
    assert len(edited.encode()) == stat.st_size
    text_file.write_text(edited, encoding="utf-8")
    os.utime(text_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = encode_file(text_file, cache_dir=tmp_path)
    assert not again.reused and again.vocab.decode(again.tokens) == edited
    assert first.vocab.decode(first.tokens) == TEXT


def test_ids_out_of_range_in_a_cache_entry_make_it_rebuilt(text_file, tmp_path):
    first = encode_file(text_file, cache_dir=tmp_path)
    damaged = np.load(first.path, allow_pickle=False)
    damaged[5] = 250  # past the vocabulary of a few dozen symbols
    np.save(first.path, damaged)
    again = encode_file(text_file, cache_dir=tmp_path)
    assert not again.reused and int(again.tokens.max()) < len(again.vocab)
    np.testing.assert_array_equal(again.tokens, Vocab.build(TEXT).encode(TEXT))


def test_the_cache_keeps_only_the_most_recently_used_entries(tmp_path):
    import rnnkit.data.tokens as tokens

    paths = []
    for i in range(4):
        path = tmp_path / f"text{i}.txt"
        path.write_text(TEXT + str(i), encoding="utf-8")
        paths.append(encode_file(path, cache_dir=tmp_path / "cache").path)
        os.utime(paths[-1].with_suffix(".json"), (i, i))  # older to newer, a second apart
    os.utime(paths[-1].with_suffix(".json"), (10, 10))
    (tmp_path / "cache" / "tokens" / "stale.npy.x.tmp").write_bytes(b"")
    os.utime(tmp_path / "cache" / "tokens" / "stale.npy.x.tmp", (0, 0))
    removed = tokens.prune_cache(tmp_path / "cache" / "tokens", max_entries=2)
    left = sorted(p.name for p in (tmp_path / "cache" / "tokens").iterdir())
    assert len(left) == 4 and paths[3].name in left and paths[2].name in left  # two entries: .npy and .json
    assert any(p.name == "stale.npy.x.tmp" for p in removed)


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs FIFOs")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(UsageError, match="not a regular file"):
        encode_file(tmp_path / "fifo", cache_dir=tmp_path)
