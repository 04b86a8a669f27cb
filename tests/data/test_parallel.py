"""Parallel text: the user's TSV (hashed split, bad lines named), --reverse, and the Bible's book split."""

from __future__ import annotations

import pytest

from rnnkit.data.parallel import (BIBLE, _plain_opening, bible_installed, bible_split, load_parallel,
                                  parse_parallel_tsv)
from rnnkit.data.sentiment import split_name
from rnnkit.errors import UsageError


def _write(tmp_path, lines, name="pairs.tsv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _copy_pairs(n=200):
    return [f"w{i} x{i % 7} y{i % 3}\tW{i} X{i % 7}" for i in range(n)]


def test_tsv_split_is_fixed_by_the_source_text_and_complete(tmp_path):
    lines = _copy_pairs()
    data = load_parallel(_write(tmp_path, lines))
    seen = {}
    for name, part in data.splits().items():
        assert len(part.sources) == len(part.targets) == len(part.refs) == len(part)
        for source in part.sources:
            assert split_name(source) == name
            seen[source] = name
    assert len(seen) == 200
    # Shuffled lines give the same split.
    shuffled = load_parallel(_write(tmp_path, lines[::-1], "shuffled.tsv"))
    assert sorted(shuffled.test.sources) == sorted(data.test.sources)


def test_reverse_swaps_sides_and_keeps_the_split(tmp_path):
    data = load_parallel(_write(tmp_path, _copy_pairs()))
    back = load_parallel(_write(tmp_path, _copy_pairs()), reverse=True)
    assert back.test.sources == data.test.targets and back.test.targets == data.test.sources
    assert (back.src_lang, back.tgt_lang) == (data.tgt_lang, data.src_lang)


def test_a_line_without_a_tab_is_an_error_naming_the_line(tmp_path):
    lines = _copy_pairs(50)
    lines[6] = "no tab on this line"
    with pytest.raises(UsageError, match=r"line 7 has no tab"):
        load_parallel(_write(tmp_path, lines))


def test_bad_files(tmp_path):
    with pytest.raises(UsageError, match="empty target"):
        parse_parallel_tsv("a\t \n", "x.tsv")
    with pytest.raises(UsageError, match="no such file"):
        load_parallel(tmp_path / "missing.tsv")
    with pytest.raises(UsageError, match="is empty"):
        load_parallel(_write(tmp_path, ["", "  "]))
    (tmp_path / "latin1.tsv").write_bytes(b"caf\xe9\tcoffee\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_parallel(tmp_path / "latin1.tsv")
    with pytest.raises(UsageError, match="too few pairs"):
        load_parallel(_write(tmp_path, ["a\tb", "c\td"]))


def test_tabs_after_the_first_belong_to_the_target_and_blank_lines_are_skipped():
    assert parse_parallel_tsv("\ufeffa b\tc\td\n\n", "x") == [("\ufeffa b", "c\td", "line 1")]


def test_chapter_openings_in_capitals_become_running_text():
    assert _plain_opening("EN el principio crió Dios") == "En el principio crió Dios"
    assert _plain_opening("LA SEGUNDA suerte salió") == "La segunda suerte salió"
    assert _plain_opening("Y ACONTECIÓ en los días") == "Y aconteció en los días"
    assert _plain_opening("Y dijo Dios") == "Y dijo Dios"


def test_bible_books_split():
    assert bible_split("Mark.3.4") == bible_split("Ruth.1.1") == "test"
    assert bible_split("Jonah.2.1") == bible_split("Phlm.1.25") == "val"
    assert bible_split("Gen.1.1") == bible_split("Matt.1.1") == "train"


@pytest.mark.skipif(not bible_installed(), reason="needs apt-get install -y sword-text-kjv sword-text-sparv")
def test_real_bible_pairs_and_counts():
    data = load_parallel(BIBLE)
    assert [len(p) for p in data.splits().values()] == [30249, 72, 763]
    assert data.test.refs[0] == "Ruth.1.1" and data.test.refs[85] == "Mark.1.1"
    assert data.test.sources[85] == "The beginning of the gospel of Jesus Christ, the Son of God;"
    assert data.test.targets[85] == "Principio del evangelio de Jesucristo, Hijo de Dios."
    assert data.train.targets[0] == "En el principio crió Dios los cielos y la tierra."
    assert {r.split(".")[0] for r in data.val.refs} == {"Jonah", "Phlm"}
