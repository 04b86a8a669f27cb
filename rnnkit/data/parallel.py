"""Parallel text for translation: source sentences paired with their translations, in three splits.

Two sources, one result (:class:`ParallelData`: train, validation and test :class:`Pairs`):

- ``bible-en-es``: the King James Bible (``apt-get install -y sword-text-kjv``) against the
  Reina-Valera 1909 (``apt-get install -y sword-text-sparv``), read with :mod:`rnnkit.data.sword`.
  Both modules use the KJV versification, so index entry i of one is the same book, chapter and
  verse as entry i of the other; a pair is kept when both verses are non-empty (31,084 of 31,102
  verses). The split is by whole books, so that no story is in two splits:

      test        Mark + Ruth          763 pairs (678 + 85)
      validation  Jonah + Philemon      72 pairs (47 + 25)
      train       every other book  30,249 pairs

  The Reina-Valera prints the opening word of a chapter in capitals ("EN el principio crió Dios",
  "Y ACONTECIÓ en los días"); it is written as in running text ("En", "Y aconteció") so the
  model does not learn two spellings of every word that can open a chapter. No other change is
  made to either text.
- any other spec is a path to a UTF-8 TSV file, one pair a line: ``source TAB target``. The line is
  split at its first tab; both sides are stripped and must not be empty; blank lines are skipped;
  a line without a tab is an error naming the line. The split is fixed by the source text alone
  (the hash of :func:`rnnkit.data.sentiment.split_name`: 80% train, 10% validation, 10% test), so it
  is the same on every machine and in every order of the file, and a repeated source sentence is
  never in two splits.

``reverse=True`` swaps the two sides of every pair after splitting (Spanish to English from
``bible-en-es``): the splits hold the same pairs in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.corpora import SWORD_MODULES, sword_module_dir
from rnnkit.data.sentiment import split_name
from rnnkit.data.sword import iter_ztext
from rnnkit.errors import UsageError

SPLITS = ("train", "val", "test")
BIBLE = "bible-en-es"
#: Held-out books (OSIS names) of ``bible-en-es``; every other book trains.
TEST_BOOKS = ("Mark", "Ruth")
VAL_BOOKS = ("Jonah", "Phlm")
SOURCES = {BIBLE: "King James Bible (English) verse-aligned with the Reina-Valera 1909 (Spanish); "
                  "test Mark + Ruth, validation Jonah + Philemon"}



@dataclass(frozen=True)
class Pairs:
    """One split: ``sources[i]`` translates to ``targets[i]``; ``refs[i]`` says where the pair came
    from (``"Mark.1.1"`` for a verse, ``"line 12"`` for a TSV file). All three lists have n items,
    and every text is stripped and non-empty."""

    sources: list[str]
    targets: list[str]
    refs: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sources)

    def swapped(self) -> "Pairs":
        return Pairs(self.targets, self.sources, self.refs)


@dataclass(frozen=True)
class ParallelData:
    """Train, validation and test pairs of one source, and its languages (``en``, ``es``, or
    ``src``/``tgt`` for a file)."""

    train: Pairs
    val: Pairs
    test: Pairs
    source: str = ""
    src_lang: str = "src"
    tgt_lang: str = "tgt"

    def splits(self) -> dict[str, Pairs]:
        return {"train": self.train, "val": self.val, "test": self.test}

    def reversed(self) -> "ParallelData":
        """The same pairs translated the other way (the splits unchanged)."""
        return ParallelData(self.train.swapped(), self.val.swapped(), self.test.swapped(),
                            f"{self.source}, reversed", self.tgt_lang, self.src_lang)

    def describe(self) -> str:
        total = sum(len(p) for p in self.splits().values())
        sizes = ", ".join(f"{name} {len(part):,}" for name, part in self.splits().items())
        return f"{self.source}\n{self.src_lang} -> {self.tgt_lang}: {total:,} pairs ({sizes})"


def _is_caps(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _plain_opening(text: str) -> str:
    """A chapter's opening words printed in capitals, written as in running text:
    ``"EN el principio"`` -> ``"En el principio"``, ``"LA SEGUNDA suerte"`` -> ``"La segunda
    suerte"``, ``"Y ACONTECIÓ en"`` -> ``"Y aconteció en"``. (A name among those words is lowered
    too, "Y JEHOVÁ" -> "Y jehová"; the print does not say which capitals were the name's.)"""
    words = text.split(" ")
    k = 0
    while k < len(words) - 1 and _is_caps(words[k]):
        words[k] = words[k][0] + words[k][1:].lower() if k == 0 else words[k].lower()
        k += 1
    return " ".join(words)


def bible_split(ref: str) -> str:
    """The split of a verse reference such as ``"Mark.1.1"`` (see the module docstring)."""
    book = ref.split(".", 1)[0]
    return "test" if book in TEST_BOOKS else ("val" if book in VAL_BOOKS else "train")


def _module(name: str) -> Path:
    module_id, package = SWORD_MODULES[name]
    folder = sword_module_dir(module_id)
    if folder is None:
        raise UsageError(f"--data {BIBLE} needs the SWORD module {module_id}, which is not installed; "
                         f"install it with: apt-get install -y {package}")
    return folder


def bible_installed() -> bool:
    """Whether both SWORD modules of ``bible-en-es`` are installed."""
    return all(sword_module_dir(SWORD_MODULES[name][0]) is not None for name in ("kjv", "sparv"))


def load_bible() -> ParallelData:
    """The ``bible-en-es`` pairs, English to Spanish; UsageError naming the install command when a
    module is missing."""
    english, spanish = _module("kjv"), _module("sparv")
    parts = {name: ([], [], []) for name in SPLITS}
    for (ref, en), (ref_es, es) in zip(iter_ztext(english), iter_ztext(spanish), strict=True):
        if ref != ref_es:  # both follow one versification table, so this is a damaged module
            raise UsageError(f"the two Bibles disagree on the verse order at {ref} / {ref_es}")
        if en and es:
            sources, targets, refs = parts[bible_split(ref)]
            sources.append(en)  # the KJV has no capitals-only openings
            targets.append(_plain_opening(es) if ref.endswith(".1") else es)
            refs.append(ref)
    return ParallelData(*(Pairs(*parts[name]) for name in SPLITS), source=SOURCES[BIBLE],
                        src_lang="en", tgt_lang="es")


def parse_parallel_tsv(text: str, where: str) -> list[tuple[str, str, str]]:
    """``[(source, target, "line k")]`` from ``source TAB target`` lines (module docstring rules).

    Raises UsageError naming ``where`` and the 1-based number of the first bad line.
    """
    pairs = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        source, tab, target = line.partition("\t")
        if not tab:
            raise UsageError(f"{where} line {number} has no tab; expected 'source TAB target'")
        source, target = source.strip(), target.strip()
        if not source or not target:
            side = "source" if not source else "target"
            raise UsageError(f"{where} line {number} has an empty {side}; expected 'source TAB target'")
        pairs.append((source, target, f"line {number}"))
    return pairs


def _read_text(path: Path) -> str:
    if not path.exists():
        raise UsageError(f"no such file: {path} (--data takes {BIBLE} or a TSV file of "
                         "'source TAB target' lines)")
    if not path.is_file():
        raise UsageError(f"{path} is not a regular file; give a TSV file of 'source TAB target' lines")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise UsageError(f"{path} is not UTF-8 text: undecodable byte 0x{data[error.start]:02X} "
                         f"on line {line}") from None
    if not text.strip():
        raise UsageError(f"{path} is empty; expected 'source TAB target' lines")
    return text


def load_parallel_tsv(path: str | Path) -> ParallelData:
    """A user's ``source TAB target`` file, split by a hash of the source text."""
    path = Path(path).expanduser()
    parts = {name: ([], [], []) for name in SPLITS}
    for source, target, ref in parse_parallel_tsv(_read_text(path), str(path)):
        for column, value in zip(parts[split_name(source)], (source, target, ref)):
            column.append(value)
    data = ParallelData(*(Pairs(*parts[name]) for name in SPLITS),
                        source=f"{path} (source TAB target)")
    sizes = [len(part) for part in data.splits().values()]
    if min(sizes) == 0:
        raise UsageError(f"{path} gives too few pairs for a train/validation/test split: "
                         f"{sum(sizes)} pairs gave {sizes[0]}/{sizes[1]}/{sizes[2]}; give at least a few dozen")
    return data


def load_parallel(spec: str | Path, reverse: bool = False) -> ParallelData:
    """``"bible-en-es"`` or a TSV path (module docstring), Spanish to English etc. with ``reverse``.
    Raises UsageError, never a traceback, for missing or malformed data."""
    data = load_bible() if isinstance(spec, str) and spec == BIBLE else load_parallel_tsv(spec)
    return data.reversed() if reverse else data
