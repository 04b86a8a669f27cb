"""Text corpora for character-level models: named real sources, or any text file.

Named corpora (small enough to encode in memory):

- ``stdlib`` (the default; needs nothing installed): Python source code. The ``*.py`` files under
  ``sysconfig.get_paths()["stdlib"]``, in sorted order of their relative paths, each preceded by a
  ``# file: <path>`` line; skipped are tests and installed packages (``test``, ``tests``,
  ``idle_test``, ``site-packages``, ``dist-packages``), and the folders that hold data rather than
  ordinary code (``encodings`` codec tables, ``pydoc_data`` help text, ``lib2to3``, ``idlelib``,
  ``turtledemo``, ``ensurepip``, ``config-*``). The concatenation is cut at exactly
  :data:`STDLIB_CHARS` characters, so it has the same size on every machine; its content (and so its
  vocabulary) follows the Python version.
- ``kjv``: the King James Bible (``apt-get install -y sword-text-kjv``), one verse per line.
- ``sparv``: the Spanish Reina-Valera 1909 (``apt-get install -y sword-text-sparv``), one verse per
  line.

A large named corpus, extracted once into the cache and then read like a file:

- ``linux``: C code, about 145 MB (``apt-get install -y linux-source-6.1``). The ``.c`` and ``.h``
  files of the kernel's core folders (:data:`LINUX_FOLDERS`; not ``drivers``, ``arch``, ``sound``
  or ``tools``) in the order of the source tarball, each preceded by a ``/* file: <path> */`` line;
  the few files that are not UTF-8 are left out.

Any other spec is a path to a text file, encoded chunk by chunk into a cached memory map
(:mod:`rnnkit.data.tokens`), so files of hundreds of megabytes train without being held in memory.
A name wins over a file of the same name; write ``./kjv`` for the file. Only regular files are
read: a FIFO, socket or device is refused rather than opened (opening a FIFO that no one writes to
blocks forever).
"""

from __future__ import annotations

import math
import os
import sysconfig
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.sword import read_ztext
from rnnkit.data.tokens import atomic_write, check_regular_file, default_cache_dir, encode_file
from rnnkit.data.vocab import MODES, Vocab
from rnnkit.errors import UsageError

STDLIB_CHARS = 4_000_000
_STDLIB_SKIP = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__",
                "encodings", "pydoc_data", "lib2to3", "idlelib", "turtledemo", "ensurepip"}
SWORD_MODULES = {"kjv": ("engKJV2006eb", "sword-text-kjv"),
                  "sparv": ("spaRV1909eb", "sword-text-sparv")}
LINUX_SOURCE_DIR = Path("/usr/src")
LINUX_FOLDERS = ("block", "crypto", "fs", "include", "init", "io_uring", "ipc", "kernel", "lib",
                 "mm", "net", "security", "virt")
CORPORA = {
    "stdlib": "Python standard library source, 4,000,000 characters (always available)",
    "kjv": "King James Bible, one verse per line (apt-get install -y sword-text-kjv)",
    "sparv": "Reina-Valera 1909 Spanish Bible, one verse per line "
             "(apt-get install -y sword-text-sparv)",
    "linux": "Linux kernel C sources, about 145 MB (apt-get install -y linux-source-6.1)",
}


def check_data_file(path) -> Path:
    """A data file given by the user (any task's ``--data``), resolved; UsageError unless it is a
    regular file: a FIFO, socket or device is refused, not read (reading one can block forever)."""
    return check_regular_file(path)


def stdlib_text(limit: int = STDLIB_CHARS) -> str:
    """The ``stdlib`` corpus: the standard library's Python sources (see the module docstring)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for folder, subfolders, names in os.walk(root):
        # Pruning in place keeps os.walk out of site-packages, which can hold far more than stdlib.
        subfolders[:] = [d for d in subfolders
                         if d not in _STDLIB_SKIP and not d.startswith("config-")]
        files += [Path(folder, name) for name in names if name.endswith(".py")]
    pieces, size = [], 0
    for relative, path in sorted((p.relative_to(root).as_posix(), p) for p in files):
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue   # an unreadable file is left out rather than failing the default corpus
        piece = f"# file: {relative}\n{source}" + ("" if source.endswith("\n") else "\n")
        pieces.append(piece)
        size += len(piece)
        if size >= limit:
            break
    if not pieces:
        raise UsageError(f"no Python sources found under {root}; give a text file instead")
    return "".join(pieces)[:limit]


def sword_module_dir(module_id: str) -> Path | None:
    """The folder of an installed SWORD zText module, or None. Searches ``$SWORD_PATH``,
    ``~/.sword``, ``/usr/local/share/sword`` and ``/usr/share/sword``."""
    roots = [os.environ.get("SWORD_PATH"), "~/.sword", "/usr/local/share/sword", "/usr/share/sword"]
    for root in filter(None, roots):
        folder = Path(root).expanduser() / "modules" / "texts" / "ztext" / module_id
        if (folder / "ot.bzv").is_file() or (folder / "nt.bzv").is_file():
            return folder
    return None


def bible_text(name: str) -> str:
    """The ``kjv`` or ``sparv`` corpus: every non-empty verse, one per line."""
    module_id, package = SWORD_MODULES[name]
    folder = sword_module_dir(module_id)
    if folder is None:
        raise UsageError(f"corpus {name!r} needs the SWORD module {module_id}, which is not "
                         f"installed; install it with: apt-get install -y {package}")
    return "\n".join(read_ztext(folder)) + "\n"


def linux_text_file(cache_dir: str | Path | None = None, tarball: str | Path | None = None) -> Path:
    """The ``linux`` corpus as a text file in the cache, extracted from ``tarball`` (by default the
    newest ``/usr/src/linux-source-*.tar.xz``) the first time: some 20 s, streamed, never all in
    memory."""
    tarballs = [Path(tarball)] if tarball else sorted(LINUX_SOURCE_DIR.glob("linux-source-*.tar.xz"))
    if not tarballs or not tarballs[-1].is_file():
        raise UsageError("corpus 'linux' needs the kernel source, which is not installed; install "
                         "it with: apt-get install -y linux-source-6.1")
    tarball = tarballs[-1]
    stat = tarball.stat()
    target = (default_cache_dir(cache_dir) / "corpora"
              / f"{tarball.name.removesuffix('.tar.xz')}-{stat.st_size}-{stat.st_mtime_ns}.txt")
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)

    def extract(temp: Path) -> None:
        with tarfile.open(tarball, "r|xz") as tar, open(temp, "w", encoding="utf-8") as out:
            for member in tar:   # a stream: members come in archive order, one at a time
                parts = member.name.split("/")
                if (member.isfile() and len(parts) > 2 and parts[1] in LINUX_FOLDERS
                        and member.name.endswith((".c", ".h"))):
                    try:
                        source = tar.extractfile(member).read().decode("utf-8")
                    except UnicodeDecodeError:
                        continue
                    end = "" if source.endswith("\n") else "\n"
                    out.write(f"/* file: {'/'.join(parts[1:])} */\n{source}{end}")

    atomic_write(target, extract)
    return target


@dataclass(frozen=True, eq=False)
class Corpus:
    """A text encoded to ids, split into a training part and a validation part (its end).

    Attributes:
        name: the corpus name, or the file path it came from.
        mode: ``"char"`` or ``"byte"``.
        vocab: the vocabulary the ids refer to.
        tokens: all ids, shape (n,) of dtype ``vocab.id_dtype``; a read-only memory map for files.
        val_fraction: the share of tokens, at the end, kept for validation (0 <= f <= 0.5).
    """

    name: str
    mode: str
    vocab: Vocab
    tokens: np.ndarray
    val_fraction: float = 0.05

    def __post_init__(self):
        if not 0.0 <= self.val_fraction <= 0.5:
            raise UsageError(f"validation fraction must lie in [0, 0.5], got {self.val_fraction}")

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    @property
    def split(self) -> int:
        """Index of the first validation token: the last ceil(n * val_fraction) tokens validate."""
        return len(self) - math.ceil(len(self) * self.val_fraction)

    @property
    def train(self) -> np.ndarray:
        """The training ids, shape (split,): a view of ``tokens``, no copy."""
        return self.tokens[:self.split]

    @property
    def val(self) -> np.ndarray:
        """The validation ids, shape (n - split,): a view of ``tokens``, no copy."""
        return self.tokens[self.split:]

    @property
    def unit(self) -> str:
        """What one token is, for messages: "characters" or "bytes"."""
        return "bytes" if self.mode == "byte" else "characters"

    def check_length(self, batch: int, seq_len: int) -> None:
        """Raise UsageError unless the training part fills one (batch, seq_len) batch of streams
        (batch * (seq_len + 1) tokens) and the validation part, if any, holds an input and a target."""
        need = batch * (seq_len + 1)
        if len(self.train) < need:
            raise UsageError(
                f"corpus {self.name!r} is too short: its training part holds {len(self.train):,} "
                f"{self.unit}, but one batch needs batch {batch} x (seq_len {seq_len} + 1) = "
                f"{need:,}; use a smaller batch size or sequence length, or a longer text")
        if self.val_fraction > 0 and len(self.val) < 2:
            raise UsageError(f"corpus {self.name!r} is too short: its validation part holds "
                             f"{len(self.val)} {self.unit}, at least 2 are needed; use a longer "
                             "text or a validation fraction of 0")

    def describe(self) -> str:
        """One line for logs: name, size, vocabulary, split."""
        return (f"{self.name}: {len(self):,} {self.unit}, vocabulary {len(self.vocab)} ({self.mode}"
                f" mode), {len(self.train):,} train / {len(self.val):,} validation")


def _from_text(name: str, text: str, mode: str, vocab: Vocab | None,
               val_fraction: float) -> Corpus:
    if vocab is None:
        vocab = Vocab.build(text, mode)
    tokens = vocab.encode(text).astype(vocab.id_dtype)
    return Corpus(name, mode, vocab, tokens, val_fraction)


def load_corpus(spec: str = "stdlib", mode: str = "char", *, val_fraction: float = 0.05,
                vocab: Vocab | None = None, cache_dir: str | Path | None = None) -> Corpus:
    """Load a named corpus (``stdlib``, ``kjv``, ``sparv``, ``linux``) or a text file, encoded to ids.

    Args:
        spec: a name from :data:`CORPORA`, or a path to a text file.
        mode: ``"char"`` (UTF-8 text, one id per character) or ``"byte"`` (one id per byte).
        val_fraction: share of the tokens, at the end, held out for validation.
        vocab: encode with this vocabulary (a trained model's, to evaluate it on other text);
            symbols outside it raise UsageError. By default the vocabulary is the text's own.
        cache_dir: where files' encodings (and the extracted ``linux`` text) are cached (see
            :func:`rnnkit.data.tokens.default_cache_dir`).

    Raises UsageError for an unknown name, a missing, empty or undecodable file, or a named source
    that is not installed (the message gives the install command).
    """
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    if vocab is not None and vocab.mode != mode:
        raise UsageError(f"the vocabulary is in {vocab.mode} mode, but the corpus is read in "
                         f"{mode} mode")
    if spec == "stdlib":
        return _from_text(spec, stdlib_text(), mode, vocab, val_fraction)
    if spec in SWORD_MODULES:
        return _from_text(spec, bible_text(spec), mode, vocab, val_fraction)
    if spec == "linux":
        path, name = linux_text_file(cache_dir), spec
    else:
        path, name = Path(spec).expanduser(), spec
        if not path.exists() and os.sep not in spec and "." not in spec:
            raise UsageError(f"unknown corpus {spec!r}: not a named corpus "
                             f"({', '.join(CORPORA)}) and no such file")
    encoded = encode_file(path, mode, vocab=vocab, cache_dir=cache_dir)
    return Corpus(name, mode, encoded.vocab, encoded.tokens, val_fraction)
