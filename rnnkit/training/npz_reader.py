"""Reading a checkpoint's ``.npz`` defensively: a checkpoint can come from a stranger.

``np.load`` would read every member in full, whatever its size or name, before anything could be
checked. This reader opens the zip directory, reads each member's ``.npy`` header (dtype, shape)
without its data, and reads the data only of the members the caller asks for, after checking that
the declared sizes are within limits and agree with each other. Never unpickles: object arrays are
refused by their header.
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
    """The members of an ``.npz`` file by their headers; :meth:`read` loads one member's data.

    Use as a context manager. Any damage (not a zip, a member that is not ``.npy``, an object
    array, a size beyond :data:`MAX_MEMBER_BYTES` or beyond what the zip says the member holds)
    is a UsageError naming the file.
    """

    def __init__(self, path: Path, max_member_bytes: int = MAX_MEMBER_BYTES):
        self.path = Path(path)
        self.limit = max_member_bytes
        try:
            self.zip = zipfile.ZipFile(self.path)
            infos = self.zip.infolist()
        except Exception as exc:  # noqa: BLE001 - any failure to parse the file is the file's fault
            raise self._error(f"is not a readable rnnkit checkpoint (truncated or corrupted?): {exc}") from None
        self.members: dict[str, Member] = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise self._error(f"is not an rnnkit checkpoint: its member {info.filename!r} is not a NumPy array")
            member = self._header(info)
            self.members[member.name] = member

    def _error(self, text: str) -> UsageError:
        return UsageError(f"{self.path} {text}")

    def _header(self, info: zipfile.ZipInfo) -> Member:
        name = info.filename[: -len(".npy")]
        if info.file_size > self.limit + 4096:
            raise self._error(f"member {name!r} declares {info.file_size:,} bytes, over the limit of {self.limit:,}")
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
        """The data of member ``name`` (its header already checked)."""
        member = self.members[name]
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
        return {name: self.read(name) for name in self.members if wanted(name)}

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
