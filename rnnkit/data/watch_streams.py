"""The smartwatch exercise recordings joined into long streams, a label at every time step.

Source: :func:`rnnkit.data.sources.load_watch` (seglearn 1.2.5's 140 recordings of 6 channels at
50 Hz, 7 exercises, 10 subjects). Each recording is one exercise, so every step of it carries the
recording's label. The recordings of a split are joined end to end in a seeded order into one
stream per split, so that a window can cross from one exercise into the next, and a model must
notice the change.

Split by subject, so that no person is in two splits: test = subjects 9 and 10, validation =
subject 8, training = subjects 1-7.

    stream (S, 6) float32, standardised with the training stream's per-channel mean and std
    labels (S,) int64 in [0, 7)

Training reads windows of T steps at random starts (window i from ``default_rng([seed, 0, i])``,
so a resumed run reads on where it stopped); evaluation reads a split's stream in consecutive
windows of T steps, the last one padded and masked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import UsageError

SPLIT_SUBJECTS = {"train": (1, 2, 3, 4, 5, 6, 7), "val": (8,), "test": (9, 10)}
#: The order recordings are joined in is fixed (not the run's --seed): every run sees the same streams.
ORDER_SEED = 0


@dataclass(frozen=True)
class Stream:
    """One split's stream: steps (S, 6) float32 standardised, labels (S,) int64."""

    steps: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def windows(self, T: int):
        """Consecutive windows covering the stream: steps (W, T, 6), mask (W, T) bool, labels (W, T)
        (the last window padded with zeros, masked)."""
        S = len(self)
        count = -(-S // T)
        pad = count * T - S
        steps = np.concatenate([self.steps, np.zeros((pad, self.steps.shape[1]), np.float32)])
        labels = np.concatenate([self.labels, np.zeros(pad, np.int64)])
        mask = np.arange(count * T) < S
        return steps.reshape(count, T, -1), mask.reshape(count, T), labels.reshape(count, T)

    def random_windows(self, T: int, seed: int, start: int, count: int):
        """Training windows start .. start + count - 1: steps (count, T, 6), labels (count, T)."""
        if len(self) < T:
            raise UsageError(f"the training stream holds {len(self)} steps, fewer than a window of {T}")
        firsts = [int(np.random.default_rng([seed, 0, i]).integers(len(self) - T + 1))
                  for i in range(start, start + count)]
        return (np.stack([self.steps[f:f + T] for f in firsts]),
                np.stack([self.labels[f:f + T] for f in firsts]))


@dataclass(frozen=True)
class WatchStreams:
    """The three streams, the class names and the standardisation (kept in checkpoints)."""

    splits: dict
    class_names: tuple
    mean: np.ndarray  # (6,)
    std: np.ndarray   # (6,)

    def __getitem__(self, split: str) -> Stream:
        return self.splits[split]

    def describe(self) -> str:
        sizes = ", ".join(f"{s} {len(v):,} steps (subjects {', '.join(map(str, SPLIT_SUBJECTS[s]))})"
                          for s, v in self.splits.items())
        return f"watch streams at 50 Hz, 7 exercises: {sizes}"


def standardise(steps, mean, std) -> np.ndarray:
    """(steps - mean) / std as float32: what the model reads, in training and in prediction."""
    return ((np.asarray(steps, np.float64) - mean) / std).astype(np.float32)


def join_streams(watch) -> WatchStreams:
    """The streams of :class:`~rnnkit.data.sources.WatchData` ``watch`` (see the module docstring)."""
    rng = np.random.default_rng(ORDER_SEED)
    raw = {}
    for split, subjects in SPLIT_SUBJECTS.items():
        chosen = [r for r in range(len(watch)) if int(watch.subjects[r]) in subjects]
        if not chosen:
            raise UsageError(f"the watch data has no recording of subjects {subjects} (the {split} split)")
        order = [chosen[k] for k in rng.permutation(len(chosen))]
        raw[split] = (np.concatenate([watch.recording(r) for r in order]),
                      np.concatenate([np.full(len(watch.recording(r)), watch.labels[r], np.int64) for r in order]))
    mean = raw["train"][0].mean(axis=0)
    std = raw["train"][0].std(axis=0) + 1e-8
    splits = {s: Stream(standardise(x, mean, std), y) for s, (x, y) in raw.items()}
    return WatchStreams(splits, tuple(watch.class_names), mean, std)


def load_watch_streams() -> WatchStreams:
    """The streams of the installed seglearn data (a UsageError naming the fetch command if absent)."""
    from rnnkit.data.sources import load_watch

    return join_streams(load_watch())
