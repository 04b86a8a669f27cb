"""PNG decoding with zlib and NumPy, compositing on white, and area resizing: enough for the
easy-VQA images and the Tux Paint stamps without an imaging library.

:func:`decode_png` reads every non-interlaced PNG of the standard (greyscale, RGB, palette,
greyscale + alpha, RGBA; bit depths 1 to 16; ``tRNS`` transparency) into (H, W, 4) uint8 RGBA.
16-bit samples keep their high byte. Adam7-interlaced files are refused: none of the sources uses
them. Chunk checksums are verified, so a damaged file is an error rather than a wrong image.

Decoding undoes the five per-row PNG filters. None, Sub and Up are whole-row NumPy operations (Sub
is a running sum modulo 256 over the pixels of the row); Average and Paeth depend on the byte just
decoded to their left, so they run as a Python loop over the row's bytes. That loop is why the
sources cache their decoded arrays: the 785 Tux Paint stamps take some tens of seconds once.

:func:`fit_square` composites RGBA on white, pads the shorter side with white to a centred square
(so the aspect ratio is kept) and resizes by area averaging: each output pixel is the mean of the
input area it covers, weighted by overlap, which neither aliases when shrinking nor blurs when
enlarging by whole factors.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import numpy as np

from rnnkit.errors import UsageError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}   # colour type -> samples per pixel
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def _chunks(data: bytes, where: str) -> Iterator[tuple[bytes, bytes]]:
    """(type, body) of each chunk, checksums verified."""
    if not data.startswith(SIGNATURE):
        raise UsageError(f"{where}: not a PNG file")
    position = len(SIGNATURE)
    while position + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        crc = data[position + 8 + length:position + 12 + length]
        if len(crc) != 4 or zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise UsageError(f"{where}: damaged PNG chunk {kind!r}")
        yield kind, body
        if kind == b"IEND":
            return
        position += 12 + length
    raise UsageError(f"{where}: the PNG file is cut short")


def _average(line: np.ndarray, prior: np.ndarray, bpp: int) -> np.ndarray:
    out, up = bytearray(line.tobytes()), prior.tobytes()
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        out[i] = (out[i] + ((left + up[i]) >> 1)) & 255
    return np.frombuffer(bytes(out), np.uint8)


def _paeth(line: np.ndarray, prior: np.ndarray, bpp: int) -> np.ndarray:
    out, up = bytearray(line.tobytes()), prior.tobytes()
    for i in range(bpp):   # no left neighbours: the predictor is the byte above
        out[i] = (out[i] + up[i]) & 255
    for i in range(bpp, len(out)):
        a, b, c = out[i - bpp], up[i], up[i - bpp]
        pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - c - c)
        out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    return np.frombuffer(bytes(out), np.uint8)


def unfilter(raw: bytes, height: int, stride: int, bpp: int, where: str = "PNG") -> np.ndarray:
    """The decompressed image data with each row's filter undone: (height, stride) uint8.

    ``stride`` is the bytes of one row without its filter byte, ``bpp`` the bytes of one pixel
    (at least 1).
    """
    if len(raw) < height * (stride + 1):
        raise UsageError(f"{where}: {len(raw)} bytes of image data, {height * (stride + 1)} needed")
    lines = np.frombuffer(raw, np.uint8, count=height * (stride + 1)).reshape(height, stride + 1)
    out = np.empty((height, stride), np.uint8)
    prior = np.zeros(stride, np.uint8)
    for y in range(height):
        kind, line = lines[y, 0], lines[y, 1:]
        if kind == 0:
            out[y] = line
        elif kind == 1:   # uint8 sums wrap modulo 256, as the filter's arithmetic does
            out[y] = np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:
            out[y] = line + prior
        elif kind == 3:
            out[y] = _average(line, prior, bpp)
        elif kind == 4:
            out[y] = _paeth(line, prior, bpp)
        else:
            raise UsageError(f"{where}: unknown PNG filter type {kind} in row {y}")
        prior = out[y]
    return out


def _samples(rows: np.ndarray, width: int, channels: int, depth: int) -> np.ndarray:
    """Unfiltered rows as (H, W, channels) integer samples (uint16 for depth 16, else uint8)."""
    height = len(rows)
    if depth == 16:
        return rows.view(">u2").astype(np.uint16).reshape(height, -1)[:, :width * channels] \
            .reshape(height, width, channels)
    if depth == 8:
        return rows[:, :width * channels].reshape(height, width, channels)
    per_byte = 8 // depth   # 1, 2 or 4 bits a sample, first sample in the high bits
    shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)
    values = (rows[:, :, None] >> shifts) & ((1 << depth) - 1)
    return values.reshape(height, rows.shape[1] * per_byte)[:, :width * channels] \
        .reshape(height, width, channels)


def decode_png(data: bytes, where: str = "PNG") -> np.ndarray:
    """A PNG file's bytes as (H, W, 4) uint8 RGBA (alpha 255 where the file has no transparency).

    Raises:
        UsageError: not a PNG, damaged, interlaced, or a colour type and depth the standard forbids.
    """
    header, palette, transparency, parts = None, None, None, []
    for kind, body in _chunks(data, where):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"PLTE":
            palette = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            transparency = body
        elif kind == b"IDAT":
            parts.append(body)
    if header is None or not parts:
        raise UsageError(f"{where}: a PNG file without IHDR or IDAT")
    width, height, depth, colour, _, _, interlace = header
    if colour not in _CHANNELS or depth not in _DEPTHS[colour]:
        raise UsageError(f"{where}: PNG colour type {colour} with bit depth {depth} is invalid")
    if interlace:
        raise UsageError(f"{where}: interlaced PNG files are not supported")
    try:
        raw = zlib.decompress(b"".join(parts))
    except zlib.error as error:
        raise UsageError(f"{where}: damaged PNG image data: {error}") from None
    channels = _CHANNELS[colour]
    stride = (width * channels * depth + 7) // 8
    rows = unfilter(raw, height, stride, max(1, channels * depth // 8), where)
    samples = _samples(rows, width, channels, depth)
    rgba = np.full((height, width, 4), 255, np.uint8)
    if colour == 3:
        if palette is None or samples.max(initial=0) >= len(palette):
            raise UsageError(f"{where}: palette index outside the PNG palette")
        alpha = np.full(len(palette), 255, np.uint8)
        if transparency is not None:
            alpha[:len(transparency)] = np.frombuffer(transparency, np.uint8)[:len(palette)]
        rgba[..., :3] = palette[samples[..., 0]]
        rgba[..., 3] = alpha[samples[..., 0]]
        return rgba
    # Scale to 8 bits: 16-bit samples keep the high byte, low depths stretch to 0..255.
    stretch = 255 // ((1 << depth) - 1) if depth < 16 else 1
    scaled = (samples >> 8 if depth == 16 else samples * stretch).astype(np.uint8)
    colours = 1 if colour in (0, 4) else 3
    rgba[..., :3] = scaled[..., :colours]   # broadcasts grey to R, G and B
    if colour in (4, 6):
        rgba[..., 3] = scaled[..., colours]
    elif transparency is not None:   # one sample value (grey or RGB) that means "transparent"
        key = np.frombuffer(transparency[:2 * colours], ">u2").astype(samples.dtype)
        rgba[..., 3] = np.where((samples == key).all(axis=-1), 0, 255)
    return rgba


def _area_weights(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in) weights: row i averages the input pixels under output pixel i."""
    edges = np.arange(size_out + 1) * (size_in / size_out)
    pixel = np.arange(size_in)
    overlap = (np.minimum(edges[1:, None], pixel + 1) - np.maximum(edges[:-1, None], pixel))
    overlap = overlap.clip(0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def fit_square(rgba: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 4) uint8 RGBA composited on white, padded with white to a centred square and resized
    by area averaging to (size, size, 3) uint8 RGB."""
    alpha = rgba[..., 3:].astype(np.float32) / 255
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255 * (1 - alpha)
    height, width = rgb.shape[:2]
    side = max(height, width)
    square = np.full((side, side, 3), 255, np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    square[top:top + height, left:left + width] = rgb
    weights = _area_weights(side, size).astype(np.float32)
    resized = np.einsum("ij,jkc,lk->ilc", weights, square, weights, optimize=True)
    return np.rint(resized).clip(0, 255).astype(np.uint8)
