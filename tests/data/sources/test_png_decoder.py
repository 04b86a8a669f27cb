"""The zlib PNG decoder against PNGs the tests encode (every colour type, depth and filter), and the
white compositing and area resizing of fit_square."""

import struct
import zlib

import numpy as np
import pytest
from sourcefakes import encode_png, png_chunk

from rnnkit.data.sources.png import decode_png, fit_square
from rnnkit.errors import UsageError

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("colour, channels", [(2, 3), (6, 4), (0, 1), (4, 2)])
def test_eight_bit_every_filter(kind, colour, channels):
    samples = RNG.integers(0, 256, (5, 7, channels), dtype=np.uint8)
    rgba = decode_png(encode_png(samples, colour, kinds=[kind]))
    assert rgba.shape == (5, 7, 4) and rgba.dtype == np.uint8
    colours = 3 if colour in (2, 6) else 1
    assert np.array_equal(rgba[..., :3], np.broadcast_to(samples[..., :colours], (5, 7, 3)))
    expected_alpha = samples[..., -1] if colour in (4, 6) else 255
    assert np.array_equal(rgba[..., 3], np.broadcast_to(expected_alpha, (5, 7)))


def test_sixteen_bit_keeps_the_high_byte():
    samples = RNG.integers(0, 65536, (4, 3, 4), dtype=np.uint16)
    rgba = decode_png(encode_png(samples, 6, 16))
    assert np.array_equal(rgba, (samples >> 8).astype(np.uint8))


@pytest.mark.parametrize("depth", [1, 2, 4, 8])
def test_palette_with_transparency(depth):
    colours = 1 << depth
    palette = RNG.integers(0, 256, (colours, 3), dtype=np.uint8)
    alpha = bytes(range(0, 256, 256 // colours))[:colours - 1]   # the last entry stays opaque
    indices = RNG.integers(0, colours, (6, 9, 1), dtype=np.uint8)   # 9 wide: rows end mid-byte
    rgba = decode_png(encode_png(indices, 3, depth, palette=palette, transparency=alpha))
    assert np.array_equal(rgba[..., :3], palette[indices[..., 0]])
    table = np.frombuffer(alpha + b"\xff", np.uint8)
    assert np.array_equal(rgba[..., 3], table[indices[..., 0]])


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_low_depth_grey_stretches_to_255(depth):
    top = (1 << depth) - 1
    samples = RNG.integers(0, top + 1, (3, 5, 1), dtype=np.uint8)
    rgba = decode_png(encode_png(samples, 0, depth))
    assert np.array_equal(rgba[..., 0], samples[..., 0] * (255 // top))


def test_transparent_key_colour():
    samples = np.array([[[10, 20, 30], [1, 2, 3]]], np.uint8)
    key = struct.pack(">3H", 10, 20, 30)
    rgba = decode_png(encode_png(samples, 2, transparency=key))
    assert rgba[0, :, 3].tolist() == [0, 255]


def test_refuses_damaged_and_unsupported_files():
    good = encode_png(np.zeros((2, 2, 3), np.uint8), 2)
    with pytest.raises(UsageError, match="not a PNG"):
        decode_png(b"GIF89a" + good)
    damaged = bytearray(good)
    damaged[40] ^= 0xFF
    with pytest.raises(UsageError, match="damaged PNG chunk"):
        decode_png(bytes(damaged))
    with pytest.raises(UsageError, match="cut short"):
        decode_png(good[:-12])
    with pytest.raises(UsageError, match="interlaced"):
        decode_png(encode_png(np.zeros((2, 2, 3), np.uint8), 2, interlace=1))
    with pytest.raises(UsageError, match="bit depth 4 is invalid"):
        decode_png(encode_png(np.zeros((2, 2, 3), np.uint8), 2, 4))


def test_unknown_filter_type():
    raw = zlib.compress(b"\x07" + b"\x00" * 3)
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", raw)
            + png_chunk(b"IEND", b""))
    with pytest.raises(UsageError, match="unknown PNG filter type 7"):
        decode_png(data)


def test_fit_square_composites_on_white_and_keeps_the_aspect():
    rgba = np.zeros((2, 4, 4), np.uint8)   # 2 high, 4 wide
    rgba[..., 0] = 200
    rgba[:, :2, 3] = 255                   # left half opaque red-ish, right half transparent
    out = fit_square(rgba, 4)
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8
    assert (out[0] == 255).all() and (out[3] == 255).all()        # the white padding rows
    assert out[1:3, :2].tolist() == [[[200, 0, 0]] * 2] * 2       # the opaque half
    assert (out[1:3, 2:] == 255).all()                            # transparent -> white


def test_fit_square_averages_areas():
    grey = np.zeros((4, 4, 4), np.uint8)
    grey[..., 3] = 255
    grey[:2, :2, :3] = 100   # top-left quarter 100, the rest 0
    assert fit_square(grey, 2)[..., 0].tolist() == [[100, 0], [0, 0]]
    assert fit_square(grey, 1)[0, 0, 0] == 25                     # the mean of the whole
    assert fit_square(grey, 8)[:4, :4, 0].tolist() == [[100] * 4] * 4   # enlarging copies
    partial = fit_square(np.full((3, 3, 4), 255, np.uint8), 2)   # output pixels straddle inputs
    assert (partial == 255).all()
