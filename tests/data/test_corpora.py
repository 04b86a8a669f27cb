"""load_corpus: the default stdlib corpus, files through the token cache, and every bad input."""

import numpy as np
import pytest

from rnnkit.data import STDLIB_CHARS, Corpus, Vocab, load_corpus
from rnnkit.data import corpora
from rnnkit.errors import UsageError


def test_stdlib_corpus_loads_everywhere():
    corpus = load_corpus()
    assert corpus.name == "stdlib" and corpus.mode == "char"
    assert len(corpus) == STDLIB_CHARS
    assert corpus.tokens.dtype == corpus.vocab.id_dtype
    assert corpus.vocab.decode(corpus.tokens[:20]) == "# file: __future__.p"
    assert len(corpus.val) == STDLIB_CHARS // 20 and len(corpus.train) + len(corpus.val) == len(corpus)
    assert np.shares_memory(corpus.train, corpus.tokens)      # the split is a view, not a copy
    corpus.check_length(batch=64, seq_len=256)


def test_file_corpus_in_both_modes(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("año nuevo\n" * 100, encoding="utf-8")
    chars = load_corpus(str(path), cache_dir=tmp_path / "cache", val_fraction=0.1)
    assert chars.vocab == Vocab.build("año nuevo\n") and len(chars) == 1000
    assert len(chars.val) == 100
    assert chars.vocab.decode(chars.train[:10]) == "año nuevo\n"
    byte = load_corpus(str(path), mode="byte", cache_dir=tmp_path / "cache")
    assert len(byte) == 1100 and byte.unit == "bytes"


def test_missing_named_source_names_the_install_command(monkeypatch):
    monkeypatch.setattr(corpora, "sword_module_dir", lambda module_id: None)
    with pytest.raises(UsageError, match="apt-get install -y sword-text-kjv"):
        load_corpus("kjv")
    with pytest.raises(UsageError, match="apt-get install -y sword-text-sparv"):
        load_corpus("sparv")


def test_unknown_name_lists_the_named_corpora():
    with pytest.raises(UsageError, match="unknown corpus 'shakespeare'.*stdlib, kjv, sparv"):
        load_corpus("shakespeare")


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"", "is empty"),
    (b"ok \xff\xfe", r"not UTF-8 text .*--byte-mode \(mode='byte'\)"),
])
def test_bad_files_raise_usage_errors(tmp_path, content, message):
    path = tmp_path / "input.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        load_corpus(str(path), cache_dir=tmp_path / "cache")


def test_directory_and_bad_mode(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        load_corpus(str(tmp_path), cache_dir=tmp_path / "cache")
    with pytest.raises(UsageError, match="unknown mode 'word'"):
        load_corpus("stdlib", mode="word")


def test_too_short_corpus_names_the_sizes():
    vocab = Vocab.build("ab")
    corpus = Corpus("tiny", "char", vocab, vocab.encode("ab" * 50).astype(np.uint8), 0.1)
    with pytest.raises(UsageError, match=r"holds 90 characters, but one batch needs batch 8 x "
                                         r"\(seq_len 16 \+ 1\) = 136"):
        corpus.check_length(batch=8, seq_len=16)
    corpus.check_length(batch=2, seq_len=16)
    with pytest.raises(UsageError, match="validation part holds 1 characters"):
        Corpus("tiny", "char", vocab, vocab.encode("ab" * 50), 0.01).check_length(2, 4)
    with pytest.raises(UsageError, match="validation fraction"):
        Corpus("tiny", "char", vocab, vocab.encode("ab"), 0.9)


def test_linux_corpus_extracts_core_c_sources(tmp_path, monkeypatch):
    import io
    import tarfile

    files = {"linux-source-6.1/kernel/fork.c": b"int fork(void);\n",
             "linux-source-6.1/include/linux/x.h": b"#define X 1\n",
             "linux-source-6.1/drivers/gpu/y.c": b"int driver;\n",      # not a core folder
             "linux-source-6.1/kernel/old.c": "/* \xe9 */\n".encode("latin-1"),  # not UTF-8
             "linux-source-6.1/kernel/README": b"text\n"}                # not C
    tarball = tmp_path / "src" / "linux-source-6.1.tar.xz"
    tarball.parent.mkdir()
    with tarfile.open(tarball, "w:xz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    monkeypatch.setattr(corpora, "LINUX_SOURCE_DIR", tarball.parent)
    corpus = load_corpus("linux", cache_dir=tmp_path / "cache", val_fraction=0.1)
    assert corpus.vocab.decode(corpus.tokens) == (
        "/* file: kernel/fork.c */\nint fork(void);\n/* file: include/linux/x.h */\n#define X 1\n")
    monkeypatch.setattr(corpora, "LINUX_SOURCE_DIR", tmp_path / "nowhere")
    with pytest.raises(UsageError, match="apt-get install -y linux-source-6.1"):
        load_corpus("linux", cache_dir=tmp_path / "other-cache")


def test_a_given_vocabulary_encodes_other_text(tmp_path):
    path = tmp_path / "other.txt"
    path.write_text("abba\n", encoding="utf-8")
    vocab = Vocab.build("\nabc")
    corpus = load_corpus(str(path), vocab=vocab, cache_dir=tmp_path, val_fraction=0)
    assert corpus.vocab == vocab and corpus.tokens.tolist() == [1, 2, 2, 1, 0]
    with pytest.raises(UsageError, match=r"characters not in the vocabulary: ' ' \(U\+0020\), .*in all\)"):
        load_corpus("stdlib", vocab=vocab)
    with pytest.raises(UsageError, match="byte mode"):
        load_corpus(str(path), vocab=Vocab.build(b"ab", "byte"), cache_dir=tmp_path)
