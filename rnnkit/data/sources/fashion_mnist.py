"""Fashion-MNIST clothing images (Zalando Research, MIT licence), read from Debian's package.

``apt-get install -y dataset-fashion-mnist`` puts the four original files in
``/usr/share/datasets/fashion-mnist/``: ``train-images-idx3-ubyte.gz`` (60,000 x 28 x 28),
``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` (10,000 x 28 x 28) and
``t10k-labels-idx1-ubyte.gz``, in the IDX format LeCun defined for MNIST. Images are (n, 28, 28)
uint8 with 0 = background, labels (n,) int64 in 0..9 (:data:`CLASS_NAMES`). The splits are the
published ``train`` and ``test``; there is no validation split, so carve one out of ``train``.

IDX format (all integers big-endian): two zero bytes, one byte naming the element type
(0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), one byte giving the
number of dimensions d, then d uint32 sizes, then the elements in C order. The files decode in about
half a second, so no cache is kept.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from rnnkit.data.sources.cache import missing_source
from rnnkit.data.sources.labelled import ImageDataset, LabelledImages
from rnnkit.errors import UsageError

FOLDER = Path("/usr/share/datasets/fashion-mnist")
INSTALL = "apt-get install -y dataset-fashion-mnist"
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
FILES = {"train": "train", "test": "t10k"}   # split -> file prefix

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data: bytes, where: str = "the IDX data") -> np.ndarray:
    """An IDX file's bytes (gzipped or not) as an array of its shape and type, in native byte order.

    Raises:
        UsageError: a bad magic number, an unknown element type, or a size that does not match the
        header's dimensions.
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise UsageError(f"{where}: damaged gzip data: {error}") from None
    if len(data) < 4 or data[:2] != b"\0\0":
        raise UsageError(f"{where}: not an IDX file (bad magic number)")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_TYPES:
        raise UsageError(f"{where}: unknown IDX element type 0x{type_code:02X}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UsageError(f"{where}: the IDX header is cut short")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise UsageError(f"{where}: {len(data) - header} bytes of elements, but the header's "
                         f"shape {shape} needs {expected}")
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))   # a native, writable copy


def read_idx(path: str | Path) -> np.ndarray:
    """The IDX file at ``path`` (``.gz`` or plain); see :func:`parse_idx`."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    return parse_idx(data, str(path))


def load_fashion_mnist(folder: str | Path = FOLDER) -> ImageDataset:
    """Fashion-MNIST's train (60,000) and test (10,000) splits: (n, 28, 28) uint8 images and (n,)
    int64 labels.

    Raises:
        UsageError: the files are missing (the message names the apt-get command) or damaged.
    """
    folder = Path(folder)
    splits = {}
    for split, prefix in FILES.items():
        images_path = folder / f"{prefix}-images-idx3-ubyte.gz"
        labels_path = folder / f"{prefix}-labels-idx1-ubyte.gz"
        if not (images_path.is_file() and labels_path.is_file()):
            raise missing_source(f"Fashion-MNIST (no {images_path.name} in {folder})", INSTALL)
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise UsageError(f"Fashion-MNIST {split}: images {images.shape} and labels "
                             f"{labels.shape} do not match")
        splits[split] = LabelledImages(images.astype(np.uint8, copy=False),
                                         labels.astype(np.int64, copy=False))
    return ImageDataset("fashion-mnist", splits, CLASS_NAMES, folder)
