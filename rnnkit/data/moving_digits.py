"""Clips of real digits (MNIST) or clothes (Fashion-MNIST) that move, with a label at every frame.

A documented stand-in for labelled video, which cannot be had offline (/work/shared/DATA.md): the
pictures are real, their motion is made here, and every frame's label follows from how the clip
was composed. Not a video benchmark, and its numbers compare with no published one.

A clip of T frames (default 20) of S x S pixels (default 64), floats in [0, 1]:

- one item (a 28 x 28 image of the split) starts inside the frame or enters it from an edge,
  moves 2-5 pixels a frame and bounces off the borders; at a random frame it stops bouncing and
  flies out straight, 6 pixels a frame. With probability ``second``, once it has left a
  second item enters (never two at once).
- ``occlude``: the probability of each of up to two occlusions of 2-5 frames, each frame either
  a grey box over the item or noise that buries it (the frame at 15% contrast under N(0, 0.5^2)
  noise). An occlusion starts only where its item has been seen whole in at least 3 earlier
  frames.
- every frame gets a little noise N(0, 0.05^2); values are clipped to [0, 1].

Labels: the item's class while at least 5% of its ink is in the frame, ``none`` (the last class)
before an item enters and once it has left. An occluded frame keeps the item's label: the earlier frames
made it clear, so a model that sees each frame alone cannot label every frame right, and one
that remembers can.

Determinism: clip i of a split is drawn from ``np.random.default_rng([seed, split code, i])``,
so any clip can be made again alone (a training run resumes at its clip counter), and the test
clips use the test split's images with a fixed seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError

ITEM = 28
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
BACKGROUND_NOISE = 0.05
BURY_NOISE = 0.5
BURY_CONTRAST = 0.15
BOX_GREY = 0.5
LEAVE_SPEED = 6.0
#: Occlusions a clip may have, each with probability ``occlude``.
OCCLUSIONS = 2
#: An item is in view (labelled) while at least this share of its ink is inside the frame.
IN_VIEW = 0.05


@dataclass(frozen=True)
class ClipOptions:
    """How clips are made (see the module docstring).

    Attributes:
        frames: T, frames a clip (at least 4).
        size: S, the side of a frame in pixels (at least 28, the item's side).
        occlude: probability of each of the (up to two) occlusions of a clip.
        second: probability that a second item enters after the first has left.
    """

    frames: int = 20
    size: int = 64
    occlude: float = 0.6
    second: float = 0.5

    def __post_init__(self) -> None:
        for name, low in (("frames", 4), ("size", ITEM)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 4096:
                raise UsageError(f"clip {name} must be an integer from {low} to 4096, got {value!r}")
        for name in ("occlude", "second"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise UsageError(f"{name} must be a probability in [0, 1], got {value!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data) -> "ClipOptions":
        return dataclass_from_json(cls, data, "clip options")


def _paste(canvas, item, top, left):
    """Max-composite item (h, w) onto canvas (S, S) with its corner at (top, left), which may lie
    outside the canvas; returns the ink of the item that landed inside."""
    S = canvas.shape[0]
    h, w = item.shape
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + h, S), min(left + w, S)
    if r0 >= r1 or c0 >= c1:
        return 0.0
    piece = item[r0 - top:r1 - top, c0 - left:c1 - left]
    np.maximum(canvas[r0:r1, c0:c1], piece, out=canvas[r0:r1, c0:c1])
    return float(piece.sum())


def _trajectory(rng, T, S, start, enter):
    """Integer corners (T, 2) (row, column of the top left) of one item at frames start .. T-1
    (earlier rows are unused); it bounces until a random frame, then flies straight out."""
    span = S - ITEM
    speed = rng.uniform(2.0, 5.0)
    angle = rng.uniform(0, 2 * np.pi)
    vel = speed * np.array([np.sin(angle), np.cos(angle)])
    if enter:  # start just outside one border, heading in
        side = rng.integers(4)
        pos = rng.uniform(0, span, 2)
        axis, outside = divmod(int(side), 2)
        pos[axis] = -ITEM + 1 if outside == 0 else S - 1
        vel[axis] = abs(vel[axis]) * (1 if outside == 0 else -1)
        vel[axis] = max(abs(vel[axis]), 2.0) * np.sign(vel[axis])
    else:
        pos = rng.uniform(0, span, 2)
    leave = start + int(rng.integers(3, max(4, T // 2)))
    corners = np.zeros((T, 2), np.int64)
    inside = not enter
    for t in range(start, T):
        corners[t] = np.round(pos)
        pos = pos + vel
        inside = inside or bool(np.all((pos >= 0) & (pos <= span)))
        if t == leave:  # fly out at LEAVE_SPEED, so that most items leave within a clip
            vel = vel * (LEAVE_SPEED / np.linalg.norm(vel))
        if inside and t < leave:  # bounce off the borders
            for a in range(2):
                if pos[a] < 0 or pos[a] > span:
                    pos[a] = -pos[a] if pos[a] < 0 else 2 * span - pos[a]
                    vel[a] = -vel[a]
    return corners


class MovingItems:
    """Makes clips from one split of labelled images.

    Args:
        images: (M, 28, 28) uint8 pictures; labels: (M,) their classes in [0, K).
        class_names: the K class names; ``none`` is appended as class K.
        options: :class:`ClipOptions`.
    """

    def __init__(self, images, labels, class_names, options: ClipOptions | None = None, split: str = "train"):
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (ITEM, ITEM) or len(images) == 0:
            raise UsageError(f"moving clips need (M, 28, 28) images, got {images.shape}")
        self.items = images.astype(np.float32) / 255.0
        self.labels = np.asarray(labels, dtype=np.int64)
        self.class_names = tuple(class_names) + ("none",)
        self.none = len(class_names)
        self.options = options or ClipOptions()
        self.split = split

    def clip(self, rng: np.random.Generator):
        """One clip: frames (T, S, S) float32 in [0, 1], labels (T,) int64, and occluded (T,) bool."""
        T, S = self.options.frames, self.options.size
        frames = np.zeros((T, S, S), np.float32)
        labels = np.full(T, self.none, np.int64)
        ink = np.zeros(T)
        whole = np.zeros(T, bool)
        item_of = np.full(T, -1)
        corners_all, which = [], []
        start = 0
        for k in range(2):
            if k == 1 and (rng.random() >= self.options.second or start >= T - 3):
                break
            idx = int(rng.integers(len(self.items)))
            corners = _trajectory(rng, T, S, start, enter=k == 1 or rng.random() < 0.5)
            item = self.items[idx]
            total = float(item.sum())
            gone = T
            for t in range(start, T):
                top, left = corners[t]
                seen = _paste(frames[t], item, int(top), int(left))
                if seen > IN_VIEW * total:
                    labels[t] = self.labels[idx]
                    item_of[t] = k
                    ink[t] = seen
                    whole[t] = seen >= total - 1e-6
                elif t > start and ink[t - 1] > 0:  # left: from here on this item is gone (a sliver
                    # of it may still show in this frame)
                    gone = t
                    break
            corners_all.append(corners)
            which.append((idx, start, gone))
            start = gone + int(rng.integers(1, 4))
        occluded = np.zeros(T, bool)
        for _ in range(OCCLUSIONS):
            if rng.random() >= self.options.occlude:
                continue
            # seen whole in at least 3 earlier frames: then the earlier frames made the item clear
            before = [np.sum(whole[:t] & (item_of[:t] == item_of[t])) for t in range(T)]
            candidates = [t for t in range(T) if whole[t] and before[t] >= 3 and not occluded[t]]
            if candidates:
                t0 = candidates[int(rng.integers(len(candidates)))]
                for t in range(t0, min(T, t0 + int(rng.integers(2, 6)))):
                    if not whole[t] or occluded[t]:
                        break
                    occluded[t] = True
                    self._occlude(frames[t], rng, corners_all, which, t)
        frames += rng.normal(0.0, BACKGROUND_NOISE, frames.shape).astype(np.float32)
        np.clip(frames, 0.0, 1.0, out=frames)
        return frames, labels, occluded

    def _occlude(self, frame, rng, corners_all, which, t):
        """Hide the item of frame t under a grey box or bury it in noise."""
        for corners, (idx, start, gone) in zip(corners_all, which):
            if start <= t < gone:
                top, left = (int(v) for v in corners[t])
                if rng.random() < 0.5:
                    frame[max(top - 2, 0):top + ITEM + 2, max(left - 2, 0):left + ITEM + 2] = BOX_GREY
                else:
                    frame *= BURY_CONTRAST
                    frame += rng.normal(0.0, BURY_NOISE, frame.shape).astype(np.float32)

    def clips(self, seed: int, start: int, count: int):
        """Clips start .. start + count - 1 of this split for ``seed``: frames (count, T, S, S)
        float32, labels (count, T) int64, occluded (count, T) bool."""
        code = SPLIT_CODES.get(self.split, 3)
        made = [self.clip(np.random.default_rng([seed, code, i])) for i in range(start, start + count)]
        return tuple(np.stack([m[k] for m in made]) for k in range(3))


#: --data name -> which image source it moves.
SOURCES = {"moving-digits": "mnist", "moving-fashion": "fashion-mnist"}


def load_moving(name: str, options: ClipOptions | None = None) -> dict[str, MovingItems]:
    """``{"train", "val", "test"}`` clip makers of ``moving-digits`` (MNIST's 50k / 10k / 10k) or
    ``moving-fashion`` (Fashion-MNIST; its last 5,000 training images are the validation split).
    A missing data package is a UsageError naming the command that installs it."""
    from rnnkit.data.sources import load_fashion_mnist, load_mnist

    if name not in SOURCES:
        raise UsageError(f"unknown clip source {name!r}: choose one of {', '.join(SOURCES)}")
    data = load_mnist() if name == "moving-digits" else load_fashion_mnist()
    names = tuple(str(c) for c in data.class_names)
    if "val" in data.splits:
        parts = {s: (data[s].images, data[s].labels) for s in ("train", "val", "test")}
    else:
        train = data["train"]
        parts = {"train": (train.images[:-5000], train.labels[:-5000]),
                 "val": (train.images[-5000:], train.labels[-5000:]),
                 "test": (data["test"].images, data["test"].labels)}
    return {s: MovingItems(x, y, names, options, split=s) for s, (x, y) in parts.items()}
