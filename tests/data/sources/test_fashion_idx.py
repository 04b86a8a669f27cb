"""IDX parsing on files the tests write, and the Fashion-MNIST loader on a tiny fake folder."""

import gzip
import struct

import numpy as np
import pytest

from rnnkit.data.sources.fashion_mnist import CLASS_NAMES, load_fashion_mnist, parse_idx, read_idx
from rnnkit.errors import UsageError

CODES = {">u1": 0x08, ">i1": 0x09, ">i2": 0x0B, ">i4": 0x0C, ">f4": 0x0D, ">f8": 0x0E}


def idx_bytes(array: np.ndarray, dtype: str) -> bytes:
    """The IDX encoding, written from the format's definition."""
    header = bytes([0, 0, CODES[dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


@pytest.mark.parametrize("dtype", list(CODES))
def test_parse_idx_every_type(dtype):
    offset = 0 if dtype == ">u1" else -5   # negative values where the type has them
    array = (np.arange(24).reshape(2, 3, 4) + offset).astype(dtype)
    back = parse_idx(idx_bytes(array, dtype))
    assert back.shape == (2, 3, 4) and back.dtype.isnative
    assert np.array_equal(back, array)


def test_read_idx_plain_and_gzipped(tmp_path):
    labels = np.array([9, 0, 3], np.uint8)
    (tmp_path / "a-idx1-ubyte").write_bytes(idx_bytes(labels, ">u1"))
    (tmp_path / "a-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels, ">u1")))
    assert read_idx(tmp_path / "a-idx1-ubyte").tolist() == [9, 0, 3]
    assert read_idx(tmp_path / "a-idx1-ubyte.gz").tolist() == [9, 0, 3]


def test_parse_idx_refuses_bad_files():
    good = idx_bytes(np.zeros((2, 2), np.uint8), ">u1")
    with pytest.raises(UsageError, match="bad magic"):
        parse_idx(b"\x01" + good[1:])
    with pytest.raises(UsageError, match="unknown IDX element type 0x07"):
        parse_idx(good[:2] + b"\x07" + good[3:])
    with pytest.raises(UsageError, match="needs 4"):
        parse_idx(good[:-1])
    with pytest.raises(UsageError, match="cut short"):
        parse_idx(good[:6])


def write_fake_fashion(folder, train=6, test=4):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for name, array in (("images-idx3", images), ("labels-idx1", labels)):
            data = gzip.compress(idx_bytes(array, ">u1"))
            (folder / f"{prefix}-{name}-ubyte.gz").write_bytes(data)


def test_load_fashion_mnist_fake_folder(tmp_path):
    write_fake_fashion(tmp_path)
    data = load_fashion_mnist(tmp_path)
    assert set(data.splits) == {"train", "test"} and data.class_names == CLASS_NAMES
    assert data["train"].images.shape == (6, 28, 28) and data["train"].images.dtype == np.uint8
    assert data["test"].labels.tolist() == [0, 1, 2, 3] and data["test"].labels.dtype == np.int64
    assert data["test"].floats().max() <= 1.0


def test_load_fashion_mnist_missing_names_the_install_command(tmp_path):
    with pytest.raises(UsageError, match="apt-get install -y dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "nowhere")


def test_load_fashion_mnist_mismatched_counts(tmp_path):
    write_fake_fashion(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(3, np.uint8), ">u1")))
    with pytest.raises(UsageError, match="do not match"):
        load_fashion_mnist(tmp_path)
