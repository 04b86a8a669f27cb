"""The SWORD zText reader: a synthetic module written here, and the real KJV when it is installed."""

import struct
import zlib

import pytest

from rnnkit.data import clean_osis, iter_ztext, read_ztext
from rnnkit.data.corpora import sword_module_dir
from rnnkit.errors import UsageError

# Two books in two testaments: Gen with chapters of 2 and 1 verses, Matt with one of 2 verses.
TINY = {"ot": (("Gen", (2, 1)),), "nt": (("Matt", (2,)),)}
OT = [
    "",                                                            # module header
    '<milestone type="x-importer"/>',                              # testament heading
    '<div type="book" sID="b"/><title type="main">Genesis</title>',  # book heading
    '<chapter n="1" sID="Gen.1"/>',                                # chapter heading
    'In the <w lemma="strong:H7225">beginning</w> God&#8217;s <transChange>word</transChange>.'
    '<note placement="foot"><reference>1.1</reference>a footnote</note>',
    '<title>ALEPH.</title> Second <divineName>LORD</divineName> &amp; \\nd more',
    '<chapter n="2" sID="Gen.2"/>',
    '<title canonical="true" type="psalm">A Psalm.</title>\u00b6 Line<lb/>break',
]
NT = ["", "", "<div type='book'/>", "<chapter/>", "First &lt;tag&gt; here.", ""]


def write_testament(folder, name, entries, per_block=3):
    """Write .bzs/.bzv/.bzz for ``entries``, ``per_block`` entries to a zlib block."""
    bzs, bzv, bzz = bytearray(), bytearray(), bytearray()
    for block, start in enumerate(range(0, len(entries), per_block)):
        data = bytearray()
        for text in entries[start:start + per_block]:
            raw = text.encode()
            bzv += struct.pack("<IIH", block, len(data), len(raw))
            data += raw
        packed = zlib.compress(bytes(data))
        bzs += struct.pack("<III", len(bzz), len(packed), len(data))
        bzz += packed
    for ext, content in (("bzs", bzs), ("bzv", bzv), ("bzz", bzz)):
        (folder / f"{name}.{ext}").write_bytes(bytes(content))


def test_synthetic_module_reads_clean_verses_in_order(tmp_path):
    write_testament(tmp_path, "ot", OT)
    write_testament(tmp_path, "nt", NT)
    verses = list(iter_ztext(tmp_path, TINY))
    assert verses == [
        ("Gen.1.1", "In the beginning God\u2019s word."),
        ("Gen.1.2", "Second LORD & more"),
        ("Gen.2.1", "A Psalm. Line break"),
        ("Matt.1.1", "First <tag> here."),
        ("Matt.1.2", ""),
    ]
    assert read_ztext(tmp_path, TINY) == [text for _, text in verses if text]


def test_one_testament_is_enough(tmp_path):
    write_testament(tmp_path, "nt", NT)
    assert read_ztext(tmp_path, TINY) == ["First <tag> here."]


def test_clean_osis_keeps_punctuation_attached():
    assert clean_osis('the <w lemma="x">earth</w>. <note>n</note>') == "the earth."


def test_wrong_versification_is_reported(tmp_path):
    write_testament(tmp_path, "ot", OT[:-1])
    with pytest.raises(UsageError, match="has 7 entries, but the versification needs 8"):
        read_ztext(tmp_path, TINY)


def test_damaged_or_foreign_modules_raise_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="not a SWORD zText module"):
        read_ztext(tmp_path, TINY)
    write_testament(tmp_path, "ot", OT)
    (tmp_path / "ot.bzz").write_bytes(b"not zlib" * 20)
    with pytest.raises(UsageError, match="not zlib data"):
        read_ztext(tmp_path, TINY)
    (tmp_path / "ot.bzs").write_bytes(b"12345")
    with pytest.raises(UsageError, match="whole number of records"):
        read_ztext(tmp_path, TINY)


KJV_DIR = sword_module_dir("engKJV2006eb")


@pytest.mark.skipif(KJV_DIR is None, reason="needs the KJV: apt-get install -y sword-text-kjv")
def test_real_kjv():
    verses = read_ztext(KJV_DIR)
    assert len(verses) == 31102
    assert verses[0] == "In the beginning God created the heaven and the earth."
    assert verses[-1] == "The grace of our Lord Jesus Christ be with you all. Amen."
    text = "\n".join(verses)
    assert 4_100_000 < len(text) < 4_200_000
    assert not set("<>&\\\u00b6") & set(text)
