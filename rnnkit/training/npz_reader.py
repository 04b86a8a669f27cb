"""Reading a checkpoint's ``.npz`` defensively: a checkpoint can come from a stranger.

``np.load`` would read every member in full, whatever its size or name, before anything could be
checked. This reader opens the zip directory and reads nothing else until asked: a member's
``.npy`` header (dtype, shape) when the caller looks at it, its data when the caller reads it,
after checking that the declared sizes are within limits and agree with each other. Members the
caller does not ask for are never read. Only uncompressed members are accepted (``np.savez``
writes them so): a member then takes on disk what it takes in memory, and a small file cannot
expand into a large one (a zip bomb). Never unpickles: object arrays are refused by their header.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.errors import UsageError

#: No single member may hold more than this (bytes): far above any model rnnkit trains on a
#: machine of 24 GB, far below what would exhaust it.
MAX_MEMBER_BYTES = 8 << 30
#: A checkpoint holds a few arrays per parameter; a directory of more entries is not one.
MAX_MEMBERS = 100_000
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


@dataclass(frozen=True)
class Member:
    """One ``.npy`` member of the archive, known by its header only."""

    name: str          # without ".npy"
    dtype: np.dtype
    shape: tuple[int, ...]
    info: zipfile.ZipInfo

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=object)) * self.dtype.itemsize


class NpzReader:
    """The members of an ``.npz`` file: :attr:`names` from the zip directory, :meth:`member` one
    member's ``.npy`` header, :meth:`read` its data.

    Use as a context manager. Any damage (not a zip, a member that is not ``.npy`` or is
    compressed, an object array, a size beyond :data:`MAX_MEMBER_BYTES` or beyond what the zip
    says the member holds) is a UsageError naming the file.
    """

    def __init__(self, path: Path, max_member_bytes: int = MAX_MEMBER_BYTES):
        self.path = Path(path)
        self.limit = max_member_bytes
        try:
            self.zip = zipfile.ZipFile(self.path)
            infos = self.zip.infolist()
        except Exception as exc:  # noqa: BLE001 - any failure to parse the file is the file's fault
            raise self._error(f"is not a readable rnnkit checkpoint (truncated or corrupted?): {exc}") from None
        try:
            self._infos = self._directory(infos)
        except BaseException:
            self.zip.close()
            raise
        self._members: dict[str, Member] = {}

    def _directory(self, infos) -> dict[str, zipfile.ZipInfo]:
        if len(infos) > MAX_MEMBERS:
            raise self._error(f"is not an rnnkit checkpoint: it has {len(infos):,} members")
        directory = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise self._error(f"is not an rnnkit checkpoint: its member {info.filename!r} is not a NumPy array")
            name = info.filename[: -len(".npy")]
            if name in directory:
                raise self._error(f"is corrupted: it has two members named {name!r}")
            if info.compress_type != zipfile.ZIP_STORED:
                raise self._error(f"member {name!r} is compressed; rnnkit reads checkpoints written "
                                  "uncompressed (np.savez), whose size on disk is their size in memory")
            if info.file_size > self.limit + 4096:
                raise self._error(f"member {name!r} declares {info.file_size:,} bytes, over the limit of {self.limit:,}")
            directory[name] = info
        return directory

    @property
    def names(self) -> list[str]:
        """Every member's name (without ".npy"), in the order of the zip directory."""
        return list(self._infos)

    def _error(self, text: str) -> UsageError:
        return UsageError(f"{self.path} {text}")

    def member(self, name: str) -> Member:
        """Member ``name`` by its ``.npy`` header (read once, checked, its data not read)."""
        if name not in self._members:
            self._members[name] = self._header(self._infos[name])
        return self._members[name]

    def _header(self, info: zipfile.ZipInfo) -> Member:
        name = info.filename[: -len(".npy")]
        try:
            with self.zip.open(info) as f:
                version = np.lib.format.read_magic(f)
                read_header = _HEADER_READERS.get(version)
                if read_header is None:
                    raise ValueError(f".npy format version {version} is not one NumPy's savez writes")
                shape, _, dtype = read_header(f, max_header_size=10_000)
        except Exception as exc:  # noqa: BLE001 - a damaged header is the file's fault
            raise self._error(f"is corrupted or not an rnnkit checkpoint: member {name!r} is not a readable "
                              f"NumPy array ({exc})") from None
        if dtype.hasobject or dtype.kind not in "biuf":
            raise self._error(f"member {name!r} holds {dtype}, not plain numbers")
        member = Member(name, dtype, tuple(int(n) for n in shape), info)
        if member.nbytes > self.limit or member.nbytes > info.file_size:
            raise self._error(f"member {name!r} declares shape {member.shape} ({member.nbytes:,} bytes), more than "
                              f"{'the limit' if member.nbytes > self.limit else 'the file holds'}")
        return member

    def read(self, name: str) -> np.ndarray:
        """The data of member ``name`` (its header checked first)."""
        member = self.member(name)
        try:
            with self.zip.open(member.info) as f:
                array = np.lib.format.read_array(f, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            raise self._error(f"is corrupted: member {name!r} cannot be read ({exc})") from None
        if array.shape != member.shape:
            raise self._error(f"member {name!r} holds shape {array.shape}, its header said {member.shape}")
        return array

    def read_all(self, wanted: Callable[[str], bool]) -> dict[str, np.ndarray]:
        """Every member whose name ``wanted`` accepts; the others are not read."""
        return {name: self.read(name) for name in self._infos if wanted(name)}

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
