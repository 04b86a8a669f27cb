"""A reader for SWORD zText Bible modules (the format of Debian's ``sword-text-*`` packages).

A zText module keeps each testament in three files (all integers little-endian):

- ``ot.bzz`` / ``nt.bzz``: zlib-compressed blocks of concatenated verse markup (UTF-8 OSIS);
- ``ot.bzs`` / ``nt.bzs``: one 12-byte record per block: offset in .bzz, compressed size, size;
- ``ot.bzv`` / ``nt.bzv``: one 10-byte record per index entry: block number (uint32), offset in the
  decompressed block (uint32), size (uint16).

The index entries carry no labels: they follow the module's versification (module header, testament
heading, then book heading, chapter heading, verses, ...; see :mod:`rnnkit.data.versification`).
The reader walks that layout, keeps the verse entries and turns their OSIS markup into plain text.
"""

from __future__ import annotations

import html
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from rnnkit.data.versification import KJV, Versification
from rnnkit.errors import UsageError

_BLOCK = struct.Struct("<III")   # offset, compressed size, uncompressed size
_ENTRY = struct.Struct("<IIH")   # block, offset in block, size

# Footnotes and editorial headings are not verse text. Titles marked canonical (the Psalm
# superscriptions, "A Psalm of David, ...") are part of the scripture and stay. OSIS forbids
# nesting either element inside itself, so a non-greedy match up to the closing tag is exact.
_NOTE = re.compile(r"<note\b[^>]*?(?:/>|>.*?</note\s*>)", re.S)
_EDITORIAL_TITLE = re.compile(r'<title\b(?![^>]*\bcanonical="true")[^>]*?(?:/>|>.*?</title\s*>)',
                              re.S)
# Tags that end a line or a block in print become a space, so that words on either side of a
# line break stay apart; all other tags (words with Strong's numbers, added words) vanish in place,
# so that "<w>earth</w>." keeps its full stop attached.
_BREAK = re.compile(r"</?(?:lb|l|lg|div|p|title|chapter|verse|milestone)\b[^>]*>")
_TAG = re.compile(r"<[^>]*>")
# Some KJV verses keep a stray USFM character marker from the module's source ("\\nd JEHOVAH").
_USFM = re.compile(r"\\\+?[a-z]+[0-9]*\*?")
# The pilcrow marks a paragraph start in print; it is layout, not text (and the Spanish lacks it).
_PILCROW = "\u00b6"
_SPACE = re.compile(r"\s+")


def clean_osis(markup: str) -> str:
    """Plain text of one OSIS verse: notes and editorial titles dropped, tags, stray USFM markers and
    pilcrows removed, entities unescaped, runs of whitespace collapsed to one space."""
    text = _NOTE.sub("", markup)
    text = _EDITORIAL_TITLE.sub(" ", text)
    text = _BREAK.sub(" ", text)
    # Entities are unescaped only after the tags are gone, so an escaped "&lt;" stays text.
    text = html.unescape(_TAG.sub("", text))
    text = _USFM.sub("", text).replace(_PILCROW, " ")
    return _SPACE.sub(" ", text).strip()


def _layout(books) -> list[str | None]:
    """The meaning of each index entry of one testament: a verse reference, or None for a heading."""
    refs: list[str | None] = [None, None]          # module header, testament heading
    for name, chapters in books:
        refs.append(None)                          # book heading
        for chapter, verses in enumerate(chapters, start=1):
            refs.append(None)                      # chapter heading
            refs.extend(f"{name}.{chapter}.{verse}" for verse in range(1, verses + 1))
    return refs


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read SWORD module file {path}: {error.strerror}") from None


def _testament(directory: Path, testament: str, books) -> Iterator[tuple[str, str]]:
    bzs, bzv, bzz = (_read(directory / f"{testament}.{ext}") for ext in ("bzs", "bzv", "bzz"))
    if len(bzs) % _BLOCK.size or len(bzv) % _ENTRY.size:
        raise UsageError(f"{directory}/{testament}.bzs or .bzv has a size that is not a whole "
                         "number of records; the module is damaged or not zText")
    blocks = [_BLOCK.unpack_from(bzs, i) for i in range(0, len(bzs), _BLOCK.size)]
    refs = _layout(books)
    count = len(bzv) // _ENTRY.size
    if count != len(refs):
        raise UsageError(f"{directory}/{testament}.bzv has {count} entries, but the versification "
                         f"needs {len(refs)}; rnnkit reads modules in the KJV versification only")
    current, data = -1, b""  # blocks are stored in reading order, so one decompressed block suffices
    for k, ref in enumerate(refs):
        if ref is None:
            continue
        block, offset, size = _ENTRY.unpack_from(bzv, k * _ENTRY.size)
        if size == 0:
            yield ref, ""
            continue
        if block != current:
            data = _decompress(directory, testament, blocks, block, bzz)
            current = block
        if offset + size > len(data):
            raise UsageError(f"{directory}/{testament}.bzv entry {k} points past the end of its "
                             "block; the module is damaged")
        try:
            markup = data[offset:offset + size].decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{ref} in {directory} is not UTF-8; rnnkit reads UTF-8 modules "
                             "only") from None
        yield ref, clean_osis(markup)


def _decompress(directory: Path, testament: str, blocks, block: int, bzz: bytes) -> bytes:
    if block >= len(blocks):
        raise UsageError(f"{directory}/{testament}.bzv refers to block {block}, but .bzs lists "
                         f"{len(blocks)}; the module is damaged")
    start, compressed, size = blocks[block]
    try:
        data = zlib.decompress(bzz[start:start + compressed])
    except zlib.error:
        raise UsageError(f"block {block} of {directory}/{testament}.bzz is not zlib data; rnnkit "
                         "reads unencrypted modules with CompressType=ZIP only") from None
    if len(data) != size:
        raise UsageError(f"block {block} of {directory}/{testament}.bzz holds {len(data)} bytes, "
                         f".bzs says {size}; the module is damaged")
    return data


def iter_ztext(module_dir: str | Path,
               versification: Versification = KJV) -> Iterator[tuple[str, str]]:
    """Every verse of a zText module in canonical order (OT, then NT), as ``(ref, text)``.

    ``ref`` is an OSIS reference such as ``"Gen.1.1"``; ``text`` is clean plain text, ``""`` where the
    module has no text for that verse (so two modules in one versification align verse by verse).
    A module may hold one testament only.
    """
    directory = Path(module_dir)
    present = [t for t in ("ot", "nt") if (directory / f"{t}.bzv").is_file()]
    if not present:
        raise UsageError(f"{directory} is not a SWORD zText module: it has no ot.bzv or nt.bzv")
    for testament in present:
        yield from _testament(directory, testament, versification[testament])


def read_ztext(module_dir: str | Path, versification: Versification = KJV) -> list[str]:
    """The non-empty verses of a zText module as plain text, in canonical order (OT, then NT)."""
    return [text for _, text in iter_ztext(module_dir, versification) if text]
