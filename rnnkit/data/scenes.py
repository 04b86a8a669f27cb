"""Scenes: grey canvases holding one to four real digits and garments, with captions made from what
is where. A documented stand-in for a captioned photo set such as COCO, which cannot be had
offline (/work/shared/DATA.md): the pictures of the items are real, their arrangement and the
captions are made here, so its scores compare with no published captioning result.

A scene is an S x S canvas (S = 64 by default), uint8, 0 = black background, ink bright as in
MNIST. It holds 1 to 4 items (uniformly), each an MNIST digit or a Fashion-MNIST garment (even
odds), scaled from 28 x 28 to a side of 16 to 32 pixels (bilinear), put at a uniform random place
and combined by the pixelwise maximum. Items may overlap little: no two items' ink boxes share
more than :data:`OVERLAP` of the smaller box; an item that finds no such place in 30 tries is left
out, so a few scenes hold fewer items than drawn. Each scene's facts are its items
(:class:`~rnnkit.data.scene_captions.SceneItem`: caption word, kind, ink box) and its
:data:`~rnnkit.data.scene_captions.REFERENCES` reference captions come from the grammar of
:mod:`.scene_captions`; :func:`relations_correct` judges any caption against the facts.

Splits, so that no test pixel is seen in training:

    split   digits (load_mnist)          garments (load_fashion_mnist)         scenes by default
    train   MNIST train (50,000)         Fashion train[:55000]                 20,000
    val     MNIST validation (10,000)    Fashion train[55000:] (held out)       1,000
    test    MNIST test (10,000)          Fashion test (10,000)                  1,000

Determinism: scene i of a split is drawn from ``np.random.default_rng([seed, split code, i])``
(codes train 0, val 1, test 2), so the same (split, seed) gives the same scenes on every machine,
and the first k scenes do not depend on how many are made. Scenes are made one at a time in
NumPy and Python, so :func:`load_scenes` keeps what it made in the data folder's cache
(``prepared/scenes-<split>-<seed>-<count>-<canvas>-<key>.npz``, :mod:`.sources.cache`; 127 MB
for 20,000 scenes) and later loads only read it. The key covers the source files and
:data:`VERSION`, which changes whenever the composition or the grammar does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rnnkit.data.caption_sets import CaptionSet
from rnnkit.data.scene_captions import CLOTHES, DIGITS, INK, SceneItem, reference_captions
from rnnkit.data.scene_checker import relations_correct
from rnnkit.errors import UsageError

CANVAS = 64
SIDES = (16, 32)   # smallest and largest side of a scaled item, inclusive
MAX_ITEMS = 4
OVERLAP = 0.1
TRIES = 30
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
COUNTS = {"train": 20_000, "val": 1_000, "test": 1_000}
#: Fashion-MNIST's last training images, held out as the garments of the validation scenes.
FASHION_VAL = 5_000
#: Of the composition and the grammar: part of the cache key.
VERSION = 1
_NAMES = DIGITS + CLOTHES

__all__ = ["CANVAS", "COUNTS", "ItemPool", "compose_scene", "load_scenes", "make_scenes",
           "relations_correct", "scene_pools"]


@dataclass(frozen=True)
class ItemPool:
    """The pictures one kind of item is drawn from.

    Attributes:
        images: (M, 28, 28) uint8, 0 = background.
        labels: (M,) int64, index into ``names``.
        names: the caption word of each class.
        kind: ``"digit"`` or ``"clothing"``.
    """

    images: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]
    kind: str

    def __post_init__(self) -> None:
        if self.images.ndim != 3 or len(self.images) == 0 or len(self.images) != len(self.labels):
            raise UsageError(f"a {self.kind} pool needs (M, h, w) images with M labels, "
                             f"got {self.images.shape} and {np.shape(self.labels)}")


@lru_cache(maxsize=256)
def _axis(size_in: int, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear sampling of one axis: lower and upper source index and the upper's weight."""
    where = ((np.arange(side) + 0.5) * size_in / side - 0.5).clip(0, size_in - 1)
    low = np.floor(where).astype(np.int64)
    high = np.minimum(low + 1, size_in - 1)
    return low, high, (where - low).astype(np.float32)


def resize(image: np.ndarray, side: int) -> np.ndarray:
    """(h, w) uint8 -> (side, side) float32 by bilinear interpolation between pixel centres."""
    h, w = image.shape
    (r0, r1, fr), (c0, c1, fc) = _axis(h, side), _axis(w, side)
    x = image.astype(np.float32)
    rows = x[r0] * (1 - fr)[:, None] + x[r1] * fr[:, None]          # (side, w)
    return rows[:, c0] * (1 - fc) + rows[:, c1] * fc                 # (side, side)


def _ink_box(item: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.flatnonzero((item > INK).any(axis=1)), np.flatnonzero((item > INK).any(axis=0))
    if len(rows) == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Shared area of two boxes as a share of the smaller one."""
    rows = min(a[2], b[2]) - max(a[0], b[0])
    cols = min(a[3], b[3]) - max(a[1], b[1])
    if rows <= 0 or cols <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return rows * cols / smaller


def compose_scene(rng: np.random.Generator, pools: list[ItemPool],
                  canvas: int = CANVAS) -> tuple[np.ndarray, list[SceneItem]]:
    """One scene: (canvas, canvas) uint8 pixels and its items, drawn with ``rng``."""
    picture = np.zeros((canvas, canvas), np.float32)
    items: list[SceneItem] = []
    low, high = SIDES[0], min(SIDES[1], canvas)
    for _ in range(int(rng.integers(1, MAX_ITEMS + 1))):
        pool = pools[int(rng.integers(len(pools)))]
        index = int(rng.integers(len(pool.images)))
        item = resize(pool.images[index], int(rng.integers(low, high + 1)))
        ink = _ink_box(item)
        if ink is None:
            continue   # a blank picture names nothing
        side = len(item)
        for _ in range(TRIES):
            top, left = (int(v) for v in rng.integers(0, canvas - side + 1, 2))
            box = (top + ink[0], left + ink[1], top + ink[2], left + ink[3])
            if all(_overlap(box, other.box) <= OVERLAP for other in items):
                region = picture[top:top + side, left:left + side]
                np.maximum(region, item, out=region)
                items.append(SceneItem(pool.names[int(pool.labels[index])], pool.kind, box))
                break
    return np.rint(picture).clip(0, 255).astype(np.uint8), items


def make_scenes(pools: list[ItemPool], split: str, count: int, *, seed: int = 0,
                canvas: int = CANVAS) -> CaptionSet:
    """Scenes 0 .. count - 1 of ``split`` for ``seed`` from these pools (see the module docstring):
    images (count, canvas, canvas, 1) uint8, facts and reference captions per scene."""
    if split not in SPLIT_CODES:
        raise UsageError(f"unknown split {split!r}: choose train, val or test")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UsageError(f"the number of scenes must be a positive integer, got {count!r}")
    if isinstance(canvas, bool) or not isinstance(canvas, int) or not SIDES[1] <= canvas <= 1024:
        raise UsageError(f"the scene canvas must be an integer from {SIDES[1]} to 1024 pixels, "
                         f"got {canvas!r}")
    images = np.zeros((count, canvas, canvas, 1), np.uint8)
    facts, references = [], []
    for i in range(count):
        rng = np.random.default_rng([seed, SPLIT_CODES[split], i])
        picture, items = compose_scene(rng, pools, canvas)
        while not items:   # every item blank: draw again from the same stream
            picture, items = compose_scene(rng, pools, canvas)
        images[i, :, :, 0] = picture
        facts.append(tuple(items))
        references.append(reference_captions(items, rng))
    return CaptionSet(images, references, facts,
                      ids=tuple(f"{split} scene {i}" for i in range(count)))


def scene_pools(split: str, digit_data=None, fashion=None) -> list[ItemPool]:
    """The digit and garment pools of a split (table in the module docstring), from the
    :class:`~rnnkit.data.sources.ImageDataset` of MNIST and Fashion-MNIST (loaded where not
    given). A missing data package is a UsageError naming the command that installs it."""
    from rnnkit.data.sources import load_fashion_mnist, load_mnist

    if split not in SPLIT_CODES:
        raise UsageError(f"unknown split {split!r}: choose train, val or test")
    digits = (digit_data or load_mnist())[split]
    fashion = fashion or load_fashion_mnist()
    garments = fashion["test" if split == "test" else "train"]
    rows = {"train": slice(None, -FASHION_VAL), "val": slice(-FASHION_VAL, None),
            "test": slice(None)}[split]
    return [ItemPool(digits.images, digits.labels, DIGITS, "digit"),
            ItemPool(garments.images[rows], garments.labels[rows], CLOTHES, "clothing")]


def scenes_to_arrays(data: CaptionSet) -> dict[str, np.ndarray]:
    """Scenes as plain arrays (for the cache): images, ``items`` (n, 4, 5) int64 rows of
    (name index into DIGITS + CLOTHES, top, left, bottom, right), -1 where a scene has fewer
    items, and ``references`` (n, r) str, "" where a scene has fewer."""
    items = np.full((len(data), MAX_ITEMS, 5), -1, np.int64)
    for i, scene in enumerate(data.facts):
        for k, item in enumerate(scene):
            items[i, k] = (_NAMES.index(item.name), *item.box)
    width = max(len(refs) for refs in data.references)
    references = [refs + [""] * (width - len(refs)) for refs in data.references]
    return {"images": data.images, "items": items, "references": np.array(references, dtype=str)}


def scenes_from_arrays(arrays: dict[str, np.ndarray], split: str) -> CaptionSet:
    """The inverse of :func:`scenes_to_arrays`."""
    facts = [tuple(SceneItem(_NAMES[row[0]], "digit" if row[0] < len(DIGITS) else "clothing",
                             tuple(int(v) for v in row[1:]))
                   for row in scene.tolist() if row[0] >= 0) for scene in arrays["items"]]
    references = [[ref for ref in refs if ref] for refs in arrays["references"].tolist()]
    return CaptionSet(arrays["images"], references,
                      facts, ids=tuple(f"{split} scene {i}" for i in range(len(facts))))


def load_scenes(split: str, *, seed: int = 0, size: int | None = None,
                canvas: int = CANVAS) -> CaptionSet:
    """``size`` scenes of ``split`` (default :data:`COUNTS`) made from the real MNIST and
    Fashion-MNIST pools of that split, through the cache (module docstring)."""
    from rnnkit.data.sources import load_fashion_mnist, load_mnist
    from rnnkit.data.sources.cache import cached, files_key

    if split not in SPLIT_CODES:
        raise UsageError(f"unknown split {split!r}: choose train, val or test")
    count = COUNTS[split] if size is None else size
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"the scene seed must be a non-negative integer, got {seed!r}")
    digits, fashion = load_mnist(), load_fashion_mnist()
    sources = [Path(digits.origin)] + sorted(Path(fashion.origin).glob("*-ubyte.gz"))
    key = files_key(VERSION, sources)

    def build() -> dict[str, np.ndarray]:
        pools = scene_pools(split, digits, fashion)
        return scenes_to_arrays(make_scenes(pools, split, count, seed=seed, canvas=canvas))

    arrays, _ = cached(f"scenes-{split}-{seed}-{count}-{canvas}", key, build)
    return scenes_from_arrays(arrays, split)
