"""Small stand-ins for the real sources, written by the tests: PNG files with every filter, zip
"wheels", and pickles that name something other than NumPy."""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np


def _predict(kind: int, left: int, up: int, up_left: int) -> int:
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    if kind == 4:
        p = left + up - up_left
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)   # the spec's own form
        return left if pa <= pb and pa <= pc else up if pb <= pc else up_left
    return 0


def filter_rows(rows: np.ndarray, bpp: int, kinds: list[int]) -> bytes:
    """(height, stride) uint8 rows filtered as PNG does, row y by ``kinds[y % len(kinds)]``."""
    out = bytearray()
    prior = [0] * rows.shape[1]
    for y, row in enumerate(rows.tolist()):
        kind = kinds[y % len(kinds)]
        out.append(kind)
        for i, value in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            up_left = prior[i - bpp] if i >= bpp else 0
            out.append((value - _predict(kind, left, prior[i], up_left)) & 255)
        prior = row
    return bytes(out)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, body, CRC-32 of type and body."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def encode_png(samples: np.ndarray, colour: int, depth: int = 8, *,
               palette: np.ndarray | None = None, transparency: bytes | None = None,
               kinds: tuple[int, ...] = (0, 1, 2, 3, 4), interlace: int = 0) -> bytes:
    """A PNG of (H, W, channels) integer ``samples`` (palette indices for colour type 3)."""
    height, width, channels = samples.shape
    if depth == 16:
        rows = samples.astype(">u2").view(np.uint8).reshape(height, -1)
    elif depth == 8:
        rows = samples.astype(np.uint8).reshape(height, -1)
    else:   # pack low-depth samples, first in the high bits, rows padded to whole bytes
        bits = ((samples.reshape(height, -1)[:, :, None] >> np.arange(depth - 1, -1, -1)) & 1)
        rows = np.packbits(bits.reshape(height, -1).astype(np.uint8), axis=1)
    bpp = max(1, channels * depth // 8)
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    body = png_chunk(b"IHDR", header)
    if palette is not None:
        body += png_chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if transparency is not None:
        body += png_chunk(b"tRNS", transparency)
    data = zlib.compress(filter_rows(rows, bpp, list(kinds)))
    half = len(data) // 2   # two IDAT chunks: decoders must join them
    return (b"\x89PNG\r\n\x1a\n" + body + png_chunk(b"IDAT", data[:half])
            + png_chunk(b"IDAT", data[half:]) + png_chunk(b"IEND", b""))


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip file (a stand-in wheel) holding ``members``."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


class Evil:
    """Unpickling this runs ``os.system(command)``: what a restricted unpickler must refuse."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def global_pickle(module: str, name: str, argument: str = "true") -> bytes:
    """A protocol-0 pickle calling ``module.name(argument)``, written by hand."""
    return f"c{module}\n{name}\n(S'{argument}'\ntR.".encode()
