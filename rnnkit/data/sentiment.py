"""Labelled texts for many-to-one sentiment classification: movie-review snippets, or a TSV file.

Two sources, one result (:class:`SentimentData`: train, validation and test :class:`LabelledTexts`,
label 0 = negative, 1 = positive):

- ``mr``: the 10,605 movie-review snippets of Pang & Lee (2005) as rated by Hutto & Gilbert (2014)
  for VADER, read from the vaderSentiment 3.3.2 *source distribution* (MIT licence). The sdist holds
  ``additional_resources/hutto_ICWSM_2014.tar.gz``, which holds
  ``hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt``: UTF-8, CRLF line ends, one snippet a
  line as ``id TAB mean-rating TAB text``, the mean of human ratings on -4..+4. The label is the
  sign of the mean rating; snippets rated exactly 0 are dropped (and counted). Both archives are
  read in memory with :mod:`tarfile`; nothing is extracted to disk. The sdist is looked for as
  ``vaderSentiment-3.3.2.tar.gz`` in :func:`data_dir`; ``make data`` fetches it.
- any other spec is a path to a UTF-8 TSV file, one example a line: ``label TAB text``. The line is
  split at its first tab (later tabs belong to the text); labels are ``positive``/``negative``,
  ``pos``/``neg`` or ``1``/``0``, in any letter case; the text is stripped of surrounding
  whitespace and must not be empty; blank lines are skipped; a leading byte-order mark is ignored.
  A name wins over a file of the same name: write ``./mr`` for the file.

The split is fixed by the text alone, so it is the same on every machine, in every Python process
and whatever the order of the file: bucket = the first 8 bytes of SHA-1(UTF-8 text) as a big-endian
integer, modulo 10; buckets 0-7 train (80%), 8 validation (10%), 9 test (10%). Duplicate texts
therefore always land in the same split: no text is in two splits.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.tokens import default_cache_dir
from rnnkit.errors import UsageError

LABEL_NAMES = ("negative", "positive")
SPLITS = ("train", "val", "test")
LABEL_SPELLINGS = {"negative": 0, "neg": 0, "0": 0, "positive": 1, "pos": 1, "1": 1}
VADER_SDIST = "vaderSentiment-3.3.2.tar.gz"
_INNER_ARCHIVE = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
_MR_MEMBER = "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
_MAX_MEMBER_BYTES = 64 << 20    # both members are a few MB; a larger one is not the real sdist
SOURCES = {"mr": "Pang & Lee movie-review snippets rated by Hutto & Gilbert 2014, from the "
                 f"vaderSentiment 3.3.2 sdist ({VADER_SDIST})"}


@dataclass(frozen=True)
class LabelledTexts:
    """One split: ``texts[i]`` has label ``labels[i]`` (0 negative, 1 positive).

    Attributes:
        texts: n strings, stripped and non-empty.
        labels: shape (n,) int64.
    """

    texts: list[str]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def label_counts(self, classes: int = 2) -> np.ndarray:
        """How many examples carry each label: shape (classes,) int64."""
        return np.bincount(self.labels, minlength=classes).astype(np.int64)


@dataclass(frozen=True)
class SentimentData:
    """Train, validation and test splits of one source (see the module docstring).

    Attributes:
        train, val, test: the three splits.
        label_names: the name of each label id: ``label_names[1] == "positive"``.
        source: one line saying where the texts came from.
        dropped: examples left out while reading (for ``mr``: snippets whose mean rating is 0).
    """

    train: LabelledTexts
    val: LabelledTexts
    test: LabelledTexts
    label_names: tuple[str, ...] = LABEL_NAMES
    source: str = ""
    dropped: int = 0

    def splits(self) -> dict[str, LabelledTexts]:
        """The splits by name: ``{"train": ..., "val": ..., "test": ...}``."""
        return {"train": self.train, "val": self.val, "test": self.test}

    def describe(self) -> str:
        """A few lines: the source, the total kept and dropped, and each split's size by label."""
        total = sum(len(part) for part in self.splits().values())
        lines = [self.source, f"{total:,} examples kept, {self.dropped:,} dropped"]
        for name, part in self.splits().items():
            counts = ", ".join(f"{count:,} {label}" for label, count
                               in zip(self.label_names, part.label_counts(len(self.label_names))))
            lines.append(f"  {name:<5} {len(part):>7,}  ({counts})")
        return "\n".join(lines)


def data_dir(path: str | Path | None = None) -> Path:
    """The data folder: ``path`` if given, else ``$RNNKIT_DATA``, else ``default_cache_dir()/data``.

    :func:`rnnkit.data.tokens.default_cache_dir` honours ``$RNNKIT_CACHE``, so the default is
    ``~/.cache/rnnkit/data`` unless that is set. The Makefile's ``data`` target uses the same rule.
    """
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get("RNNKIT_DATA")
    return Path(env).expanduser() if env else default_cache_dir() / "data"


def fetch_command(folder: Path) -> str:
    """The shell command that downloads the vaderSentiment sdist into ``folder``."""
    return (f"python -m pip download --no-deps --no-binary :all: vaderSentiment==3.3.2 "
            f"-d {folder}")


def split_bucket(text: str) -> int:
    """The text's bucket 0..9: the first 8 bytes of SHA-1(UTF-8 text), big-endian, modulo 10."""
    digest = hashlib.sha1(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 10


def split_name(text: str) -> str:
    """``"train"`` for buckets 0-7, ``"val"`` for 8, ``"test"`` for 9 (see :func:`split_bucket`)."""
    bucket = split_bucket(text)
    return "train" if bucket < 8 else ("val" if bucket == 8 else "test")


def split_examples(texts: list[str], labels, *, source: str = "", dropped: int = 0,
                   where: str = "the data") -> SentimentData:
    """Deal ``texts`` (n strings) and ``labels`` (n ints) into the hashed train/val/test splits.

    Keeps each split in the input order. Raises UsageError (naming ``where``) when a split is empty.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if labels.shape[0] != len(texts):
        raise ValueError(f"{len(texts)} texts but {labels.shape[0]} labels")
    names = np.array([split_name(text) for text in texts], dtype=object)
    parts = {}
    for name in SPLITS:
        index = np.flatnonzero(names == name)
        parts[name] = LabelledTexts([texts[i] for i in index], labels[index])
    sizes = {name: len(part) for name, part in parts.items()}
    if min(sizes.values()) == 0:
        raise UsageError(f"{where} gives too few examples for a train/validation/test split: "
                         f"{len(texts)} examples gave {sizes['train']}/{sizes['val']}/"
                         f"{sizes['test']}; give at least a few dozen")
    return SentimentData(parts["train"], parts["val"], parts["test"], source=source,
                         dropped=dropped)


def _read_member(archive: tarfile.TarFile, name: str, where: str) -> bytes:
    """The bytes of the regular file ``name`` in ``archive``, read in memory."""
    try:
        member = archive.getmember(name)
    except KeyError:
        raise UsageError(f"{where} has no {name}; it is not the vaderSentiment 3.3.2 sdist "
                         "(delete it and run `make data`)") from None
    if not member.isfile() or member.size > _MAX_MEMBER_BYTES:
        raise UsageError(f"{name} in {where} is not a regular file of a plausible size; it is not "
                         "the vaderSentiment 3.3.2 sdist (delete it and run `make data`)")
    return archive.extractfile(member).read()


def read_mr_lines(sdist: Path) -> list[str]:
    """The lines of ``movieReviewSnippets_GroundTruth.txt`` inside the sdist at ``sdist``."""
    try:
        with tarfile.open(sdist, "r:gz") as outer:
            inner_bytes = _read_member(outer, _INNER_ARCHIVE, str(sdist))
        with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
            raw = _read_member(inner, _MR_MEMBER, f"{sdist}'s {_INNER_ARCHIVE}")
        text = raw.decode("utf-8")
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {sdist} ({error}); delete it and run `make data`") from None
    # Split at "\n" only: str.splitlines would also cut at U+2028 and the like inside a text.
    return [line.rstrip("\r") for line in text.split("\n")]


def parse_mr(lines: list[str]) -> tuple[list[str], np.ndarray, int]:
    """``(texts, labels (n,) int64, dropped)`` from ``id TAB rating TAB text`` lines.

    Label 1 for a positive mean rating, 0 for a negative one; rating 0 is dropped and counted.
    """
    texts, labels, dropped = [], [], 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            rating = float(fields[1])
        except (IndexError, ValueError):
            rating = float("nan")
        text = fields[2].strip() if len(fields) == 3 else ""
        if not (np.isfinite(rating) and text):
            raise UsageError(f"{_MR_MEMBER} line {number} is not 'id TAB rating TAB text'; the "
                             "sdist is not the one rnnkit expects (delete it and run `make data`)")
        if rating == 0:
            dropped += 1
            continue
        texts.append(text)
        labels.append(1 if rating > 0 else 0)
    return texts, np.asarray(labels, dtype=np.int64), dropped


def load_mr(folder: str | Path | None = None) -> SentimentData:
    """The ``mr`` snippets from the sdist in ``data_dir(folder)``; UsageError naming the fetch
    command when it is missing."""
    root = data_dir(folder)
    sdist = root / VADER_SDIST
    if not sdist.is_file():
        raise UsageError(f"--data mr needs {sdist}, which is missing; fetch it with `make data` "
                         f"or `{fetch_command(root)}`")
    texts, labels, dropped = parse_mr(read_mr_lines(sdist))
    return split_examples(texts, labels, source=SOURCES["mr"], dropped=dropped,
                          where=str(sdist))


def _read_tsv_text(path: Path) -> str:
    """The file's text; UsageError for a missing, empty or non-UTF-8 file."""
    if not path.exists():
        raise UsageError(f"no such file: {path} (--data takes 'mr' or a TSV file of "
                         "'label TAB text' lines)")
    if path.is_dir():
        raise UsageError(f"{path} is a directory; give a TSV file of 'label TAB text' lines")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise UsageError(f"{path} is not UTF-8 text: undecodable byte 0x{data[error.start]:02X} "
                         f"on line {line}") from None
    if not text.strip():
        raise UsageError(f"{path} is empty; expected 'label TAB text' lines")
    return text


def parse_tsv(text: str, where: str) -> tuple[list[str], np.ndarray]:
    """``(texts, labels (n,) int64)`` from ``label TAB text`` lines (rules in the module docstring).

    Raises UsageError naming ``where`` and the 1-based line number of the first bad line.
    """
    texts, labels = [], []
    choices = ", ".join(LABEL_SPELLINGS)
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        label, tab, rest = line.partition("\t")
        if not tab:
            raise UsageError(f"{where} line {number} has no tab; expected 'label TAB text'")
        key = label.strip().lower()
        if key not in LABEL_SPELLINGS:
            raise UsageError(f"{where} line {number}: unknown label {label.strip()[:40]!r}; "
                             f"expected one of {choices}")
        if not rest.strip():
            raise UsageError(f"{where} line {number} has an empty text after its label")
        texts.append(rest.strip())
        labels.append(LABEL_SPELLINGS[key])
    return texts, np.asarray(labels, dtype=np.int64)


def load_tsv(path: str | Path) -> SentimentData:
    """A user's ``label TAB text`` file, split by text hash; UsageError for any bad input."""
    source = Path(path).expanduser()
    texts, labels = parse_tsv(_read_tsv_text(source), str(source))
    return split_examples(texts, labels, source=f"{source} (label TAB text)", where=str(source))


def load_sentiment(spec: str | Path, *, folder: str | Path | None = None) -> SentimentData:
    """``"mr"`` (read from the data folder ``data_dir(folder)``) or a TSV path: see the module
    docstring. Raises UsageError, never a traceback, for missing or malformed data."""
    if isinstance(spec, str) and spec in SOURCES:
        return load_mr(folder)
    return load_tsv(spec)
