"""The frames task's data behind one interface: moving-item clips, watch streams, or a file.

Every source gives batches of (frames (N, T, ...), mask (N, T) bool, labels (N, T) int64):

    moving-digits, moving-fashion   clips made on the fly (rnnkit/data/moving_digits.py), frames
                                    (N, T, S, S) in [0, 1]; the validation and test clips are fixed
                                    (seed EVAL_SEED), the training clips follow the run's --seed
    watch                           windows of the subject-split streams (rnnkit/data/watch_streams.py),
                                    frames (N, T, 6) standardised
    FILE.npz                        your own clips: ``frames`` (M, T, H, W) or (M, T, D) floats,
                                    ``labels`` (M, T) ints, optional ``mask`` (M, T) and
                                    ``class_names`` (C,) strings; clip i is validation when
                                    i % 10 == 8, test when i % 10 == 9, else training

``train_batch(seed, start, count)`` is the training clips start .. start + count - 1 (training
windows of a file cycle through its training clips); ``eval_batches(split, batch, limit)`` yields
the fixed clips of a split, with which frames were occluded where the source knows it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.errors import UsageError

MOVING = ("moving-digits", "moving-fashion")
#: The seed of the validation and test clips: the same for every run, so runs compare.
EVAL_SEED = 20261201


class MovingClips:
    kind = "image"

    def __init__(self, name: str, frames: int, size: int, val_clips: int, test_clips: int):
        from rnnkit.data.moving_digits import ClipOptions, load_moving

        self.name = name
        self.makers = load_moving(name, ClipOptions(frames=frames, size=size))
        self.class_names = self.makers["train"].class_names
        self.frame_shape = (size, size)
        self.counts = {"val": val_clips, "test": test_clips}
        self.meta = {}

    def describe(self) -> str:
        sizes = ", ".join(f"{s} {len(m.items):,} images" for s, m in self.makers.items())
        o = self.makers["train"].options
        return (f"{self.name}: clips of {o.frames} frames of {o.size}x{o.size} made from {sizes}; "
                f"{self.counts['val']} validation and {self.counts['test']} test clips")

    def train_batch(self, seed, start, count):
        frames, labels, _ = self.makers["train"].clips(seed, start, count)
        return frames, np.ones(labels.shape, bool), labels

    def eval_batches(self, split, batch, limit=None):
        total = self.counts[split] if limit is None else min(limit, self.counts[split])
        for start in range(0, total, batch):
            frames, labels, occluded = self.makers[split].clips(EVAL_SEED, start, min(batch, total - start))
            yield frames, np.ones(labels.shape, bool), labels, occluded


class WatchWindows:
    kind = "vector"

    def __init__(self, frames: int):
        from rnnkit.data.watch_streams import load_watch_streams

        self.name = "watch"
        self.streams = load_watch_streams()
        self.T = frames
        self.class_names = self.streams.class_names
        self.frame_shape = (6,)
        self.meta = {"mean": self.streams.mean.tolist(), "std": self.streams.std.tolist()}

    def describe(self) -> str:
        return f"{self.streams.describe()}; windows of {self.T} steps"

    def train_batch(self, seed, start, count):
        steps, labels = self.streams["train"].random_windows(self.T, seed, start, count)
        return steps, np.ones(labels.shape, bool), labels

    def eval_batches(self, split, batch, limit=None):
        steps, mask, labels = self.streams[split].windows(self.T)
        total = len(steps) if limit is None else min(limit, len(steps))
        for start in range(0, total, batch):
            end = min(start + batch, total)
            yield steps[start:end], mask[start:end], labels[start:end], None


class FileClips:
    def __init__(self, path: str | Path):
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError) as exc:
            raise UsageError(f"{path} is not an .npz file of clips ({exc})") from None
        frames, labels = arrays.get("frames"), arrays.get("labels")
        if frames is None or labels is None:
            raise UsageError(f"{path} needs arrays 'frames' (M, T, ...) and 'labels' (M, T)")
        if frames.ndim not in (3, 4) or labels.shape != frames.shape[:2] or labels.dtype.kind not in "iu" \
                or frames.dtype.kind not in "fiu" or 0 in frames.shape:
            raise UsageError(f"{path}: frames must be (M, T, H, W) or (M, T, D) numbers and labels (M, T) "
                             f"ints, got {frames.shape} {frames.dtype} and {labels.shape} {labels.dtype}")
        mask = arrays.get("mask", np.ones(labels.shape, bool)).astype(bool)
        if mask.shape != labels.shape:
            raise UsageError(f"{path}: mask must be (M, T) like labels")
        names = arrays.get("class_names")
        classes = int(labels[mask].max()) + 1 if mask.any() else 0
        names = tuple(str(n) for n in names) if names is not None else tuple(str(k) for k in range(max(classes, 2)))
        if labels[mask].min() < 0 or classes > len(names):
            raise UsageError(f"{path}: labels must be in [0, {len(names)})")
        self.name = str(path)
        self.kind = "image" if frames.ndim == 4 else "vector"
        self.frames = frames.astype(np.float32) / (255.0 if frames.dtype == np.uint8 else 1.0)
        self.labels, self.mask, self.class_names = labels.astype(np.int64), mask, names
        self.frame_shape = frames.shape[2:]
        which = np.arange(len(frames)) % 10
        self.index = {"train": np.flatnonzero(which < 8), "val": np.flatnonzero(which == 8),
                      "test": np.flatnonzero(which == 9)}
        if not len(self.index["train"]):
            raise UsageError(f"{path} holds {len(frames)} clips; the training split needs at least one")
        self.meta = {}

    def describe(self) -> str:
        sizes = ", ".join(f"{s} {len(i)}" for s, i in self.index.items())
        return f"{self.name}: clips of {self.frames.shape[1]} frames of {self.frame_shape}: {sizes}"

    def train_batch(self, seed, start, count):
        train = self.index["train"]
        order = np.random.default_rng(seed).permutation(len(train))
        picked = train[order[np.arange(start, start + count) % len(train)]]
        return self.frames[picked], self.mask[picked], self.labels[picked]

    def eval_batches(self, split, batch, limit=None):
        index = self.index[split][:limit]
        for start in range(0, len(index), batch):
            picked = index[start:start + batch]
            yield self.frames[picked], self.mask[picked], self.labels[picked], None


def open_frame_data(data: str, frames: int | None, size: int, val_clips: int, test_clips: int):
    """The source named by ``--data`` (see the module docstring); ``frames`` None: the source's
    default (20 frames a clip, 200 steps a watch window)."""
    if data in MOVING:
        return MovingClips(data, frames or 20, size, val_clips, test_clips)
    if data == "watch":
        return WatchWindows(frames or 200)
    path = Path(data)
    if path.suffix == ".npz" and path.is_file():
        return FileClips(path)
    raise UsageError(f"unknown frames data {data!r}: choose moving-digits, moving-fashion, watch or an .npz "
                     "file of clips")
