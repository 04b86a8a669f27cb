"""Captioned images in one form, whatever their source: :class:`CaptionSet`, the one caption
tokenizer, :func:`load_caption_data`, and the Tux Paint retrieval baseline.

Sources (``name`` of :func:`load_caption_data`; docs/captioning_data.md describes each):

===============  ==========================================  ======================  ============
name             what                                        images                  references
===============  ==========================================  ======================  ============
``scenes``       1-4 MNIST digits and Fashion-MNIST garments  (n, 64, 64, 1) uint8    5 generated
                 on a canvas (:mod:`rnnkit.data.scenes`),
                 20,000 / 1,000 / 1,000 by default
``tuxpaint``     Tux Paint's captioned stamps, fixed split    (n, 64, 64, 3) uint8    1 human
                 648 / 64 / 73 (:mod:`.sources.tuxpaint`)     on white
``coco:DIR``     captions JSON in the COCO format with its    (n, S, S, 3) uint8, or  as many as
                 images or ``.npy`` feature grids             (n, h, w, F) float32    the JSON has
                 (:mod:`rnnkit.data.coco_captions`)
===============  ==========================================  ======================  ============

Words: :func:`caption_words` is the one tokenizer of captions everywhere (vocabulary, training
targets, BLEU): :func:`rnnkit.data.words.word_tokens`, i.e. lower-case, words (apostrophes inside a
word kept: "don't") and every other non-space character a token of its own ("t-shirt" ->
``t - shirt``, "penny." -> ``penny .``). :func:`join_words` puts words back into text for display:
spaces between words, none before closing punctuation or after opening brackets, none around a
hyphen between two words, so ``join_words(caption_words(s))`` gives back any scene caption.

Retrieval baseline (:func:`nearest_neighbour_captions`): each query image gets the caption of the
training image most similar to it by the cosine of their descriptors. A descriptor is the image
area-averaged to 16 x 16 (per channel), of *ink* = 255 - pixel for pixel images, so that the
white around a Tux Paint stamp counts as nothing (on raw pixels every stamp would be mostly
alike); feature grids are averaged to 4 x 4 cells instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rnnkit.data.words import word_tokens
from rnnkit.errors import UsageError

SPLITS = ("train", "val", "test")
NEIGHBOUR_GRID = 16
FEATURE_GRID = 4
_CLOSING = {".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "'"}
_OPENING = {"(", "[", "{", "$", "#"}


@dataclass(frozen=True)
class CaptionSet:
    """n captioned images of one split.

    Attributes:
        images: (n, S, S, C) uint8 pixels (C = 1 for scenes, 0 = black background; C = 3 RGB for
            Tux Paint and COCO-format images), or (n, h, w, F) float32 feature grids where
            ``features`` is True.
        references: per image its reference captions as raw text (scenes 5, Tux Paint 1, COCO
            what the JSON holds), for training targets and BLEU.
        facts: scenes only: per image the tuple of its
            :class:`~rnnkit.data.scene_captions.SceneItem`, what
            :func:`rnnkit.data.scenes.relations_correct` checks a caption against; else None.
        features: whether ``images`` are pre-extracted feature grids.
        ids: per image a name saying where it came from (a Tux Paint path, a COCO file name,
            ``"scene <i>"``); empty where none is kept.
    """

    images: np.ndarray
    references: list[list[str]]
    facts: list | None = None
    features: bool = False
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.images)
        if len(self.references) != n or (self.facts is not None and len(self.facts) != n):
            raise ValueError(f"{n} images but {len(self.references)} reference lists"
                             + ("" if self.facts is None else f" and {len(self.facts)} facts"))
        if any(not refs or not all(isinstance(r, str) for r in refs) for refs in self.references):
            raise ValueError("every image needs at least one reference caption (a string)")
        if self.ids and len(self.ids) != n:
            raise ValueError(f"{n} images but {len(self.ids)} ids")

    def __len__(self) -> int:
        return len(self.images)

    def head(self, count: int) -> CaptionSet:
        """The first ``count`` images (all of them where there are fewer)."""
        return replace(self, images=self.images[:count], references=self.references[:count],
                       facts=None if self.facts is None else self.facts[:count],
                       ids=self.ids[:count])


def caption_words(text: str) -> list[str]:
    """A caption's words: lower-case words and punctuation (rule in the module docstring)."""
    return word_tokens(text)


def join_words(words: list[str]) -> str:
    """Words back into display text: "a t-shirt left of a seven." (rule in the module docstring)."""
    def inner_hyphen(j: int) -> bool:   # "t - shirt" -> "t-shirt"
        return (0 < j < len(words) - 1 and words[j] == "-" and words[j - 1][-1:].isalnum()
                and words[j + 1][:1].isalnum())

    text = ""
    for i, word in enumerate(words):
        previous = words[i - 1] if i else ""
        glue = (not text or word in _CLOSING or previous in _OPENING or inner_hyphen(i)
                or inner_hyphen(i - 1))
        text += word if glue else " " + word
    return text


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}: choose train, val or test")


def _check_size(size) -> None:
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise UsageError(f"the number of images must be a positive integer, got {size!r}")


def load_tuxpaint_captions(split: str, *, size: int | None = None,
                           image_size: int = 64) -> CaptionSet:
    """Tux Paint's stamps of one split (648 / 64 / 73), one human caption each, images
    (n, image_size, image_size, 3) uint8 on white; ``size`` keeps the first ``size``."""
    from rnnkit.data.sources import load_tuxpaint

    _check_split(split)
    _check_size(size)
    stamps = load_tuxpaint(size=image_size).select(split)
    data = CaptionSet(stamps.images, [[caption] for caption in stamps.captions],
                      ids=tuple(stamps.paths))
    return data if size is None else data.head(size)


def load_caption_data(name: str, split: str, *, seed: int = 0, size: int | None = None,
                      image_size: int | None = None, features: bool | None = None) -> CaptionSet:
    """One split of a captioning source (table in the module docstring).

    Args:
        name: ``"scenes"``, ``"tuxpaint"`` or ``"coco:DIR"``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        seed: which scenes are drawn (scenes only; the other sources are fixed).
        size: how many images: the number of scenes made (default 20,000 / 1,000 / 1,000), or the
            first ``size`` of a Tux Paint or COCO split (default all).
        image_size: the side S of the square images (default 64; the scene canvas from 32).
        features: COCO only: True reads the ``.npy`` feature grids, False the pictures, None
            (default) the grids where every image has one.

    Raises:
        UsageError: an unknown name or split, a bad size, a source that is missing or damaged.
    """
    _check_split(split)
    _check_size(size)
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int)
                                   or not 1 <= image_size <= 4096):
        raise UsageError(f"the image size must be an integer from 1 to 4096, got {image_size!r}")
    if not isinstance(name, str):
        raise UsageError(f"the caption data must be named by a string, got {name!r}")
    if name == "scenes":
        from rnnkit.data.scenes import CANVAS, load_scenes

        return load_scenes(split, seed=seed, size=size, canvas=image_size or CANVAS)
    if name == "tuxpaint":
        return load_tuxpaint_captions(split, size=size, image_size=image_size or 64)
    if name.startswith("coco:"):
        from rnnkit.data.coco_captions import load_coco_captions

        if not name[5:]:
            raise UsageError("coco: needs a folder, as in coco:/data/coco")
        return load_coco_captions(name[5:], split, size=size, image_size=image_size or 64,
                                  features=features)
    raise UsageError(f"unknown caption data {name!r}: choose scenes, tuxpaint or coco:DIR")


def _descriptors(data_images: np.ndarray, features: bool) -> np.ndarray:
    """(n, d) unit vectors describing each image (rule in the module docstring)."""
    x = np.asarray(data_images, np.float32)
    if x.ndim != 4:
        raise UsageError(f"images must be (n, H, W, C), got shape {x.shape}")
    if not features:
        x = 255.0 - x
    grid = FEATURE_GRID if features else NEIGHBOUR_GRID
    n, h, w, c = x.shape
    rows = np.minimum(np.arange(h) * grid // h, grid - 1)
    cols = np.minimum(np.arange(w) * grid // w, grid - 1)
    pooled = np.zeros((n, grid, grid, c), np.float64)
    np.add.at(pooled, (slice(None), rows[:, None], cols[None, :]), x)
    counts = np.zeros((grid, grid))
    np.add.at(counts, (rows[:, None], cols[None, :]), 1)
    pooled = (pooled / np.maximum(counts, 1)[None, :, :, None]).reshape(n, -1)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norms, 1e-12)


def nearest_neighbour_captions(train: CaptionSet, query_images: np.ndarray) -> list[str]:
    """The retrieval baseline: for each of the (m, ...) query images, the first reference caption
    of the training image whose descriptor has the largest cosine with its own (ties: the earlier
    training image).

    Raises:
        UsageError: the training set is empty or the query images do not have its shape.
    """
    query = np.asarray(query_images)
    if len(train) == 0:
        raise UsageError("the retrieval baseline needs at least one training image")
    if query.ndim != 4 or query.shape[1:] != train.images.shape[1:]:
        raise UsageError(f"query images of shape {query.shape[1:]} do not match the training "
                         f"images' {train.images.shape[1:]}")
    known = _descriptors(train.images, train.features)
    asked = _descriptors(query, train.features)
    best = np.argmax(asked @ known.T, axis=1)
    return [train.references[int(i)][0] for i in best]
