"""Smartwatch inertial recordings of shoulder exercises (seglearn), as plain arrays.

Source: ``seglearn/data/watch_dataset.npy`` inside the wheel of ``seglearn==1.2.5`` (David Burns,
BSD-3 licence; the study is Burns et al. 2018, arXiv:1802.01489), fetched with
``pip download --no-deps seglearn==1.2.5 -d <data folder>`` and never installed. The file is an
``.npy`` object array holding a pickled dict: ``X`` a list of 140 recordings, each (n_r, 6) float64
sampled at 50 Hz (accelerometer ax, ay, az and gyroscope wx, wy, wz); ``y`` the exercise (7 classes,
20 recordings each); ``subject`` the participant (10 people); ``side`` 1 = right arm, 0 = left; and
the label names. It is read with the restricted unpickler of :mod:`.safe_pickle` and converted once
into ``prepared/watch-<key>.npz``: all recordings concatenated (244,102 steps), the offsets where
each starts, and the labels, subjects and sides.

Each recording is one exercise from start to end, so a frame-level target is the recording's label
at every step (:meth:`WatchData.step_labels`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.data.sources.cache import (cached, files_key, find_download, missing_source,
                                       open_wheel, pip_download_command)
from rnnkit.data.sources.safe_pickle import safe_load_npy
from rnnkit.errors import UsageError

SPEC = "seglearn==1.2.5"
WHEEL_PATTERN = "seglearn-1.2.5-*.whl"
MEMBER = "seglearn/data/watch_dataset.npy"
RATE_HZ = 50
_VERSION = 1


@dataclass(frozen=True)
class WatchData:
    """R recordings of S steps in all, C = 6 channels.

    Attributes:
        steps: (S, 6) float64, every recording one after the other.
        offsets: (R + 1,) int64; recording r is ``steps[offsets[r]:offsets[r + 1]]``.
        labels: (R,) int64 exercise, an index into ``class_names``.
        subjects: (R,) int64 participant number.
        sides: (R,) int64, 1 = right arm, 0 = left.
        class_names: (7,) the exercises: PEN pendulum, ABD abduction, FEL forward elevation,
            IR internal rotation, ER external rotation, TRAP trapezius extension, ROW upright row.
        channel_names: (6,) ax ay az wx wy wz.
    """

    steps: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    subjects: np.ndarray
    sides: np.ndarray
    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    origin: Path | None = field(default=None)
    cache: Path | None = field(default=None)

    def __len__(self) -> int:
        return len(self.labels)

    def recording(self, r: int) -> np.ndarray:
        """Recording r as (n_r, 6) float64 (a view into ``steps``)."""
        return self.steps[self.offsets[r]:self.offsets[r + 1]]

    def lengths(self) -> np.ndarray:
        """(R,) int64 steps in each recording."""
        return np.diff(self.offsets)

    def step_labels(self) -> np.ndarray:
        """(S,) int64 the exercise at every step: each recording's label repeated over its steps."""
        return np.repeat(self.labels, self.lengths())


def convert(record: dict) -> dict[str, np.ndarray]:
    """The unpickled dict as plain arrays: steps, offsets, labels, subjects, sides, class_names,
    channel_names."""
    try:
        recordings = [np.asarray(x, np.float64) for x in record["X"]]
        labels = np.asarray(record["y"]).astype(np.int64)
        subjects = np.asarray(record["subject"]).astype(np.int64)
        sides = np.asarray(record["side"]).astype(np.int64)
        class_names = np.array([str(name) for name in record["y_labels"]])
        channel_names = np.array([str(name) for name in record["X_labels"]])
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(f"the watch data set lacks or garbles a field: {error}") from None
    width = len(channel_names)
    if not recordings or any(x.ndim != 2 or x.shape[1] != width for x in recordings):
        raise UsageError(f"the watch recordings are not all (n, {width}) arrays")
    if not len(recordings) == len(labels) == len(subjects) == len(sides):
        raise UsageError("the watch data set has different numbers of recordings and labels")
    if labels.min() < 0 or labels.max() >= len(class_names):
        raise UsageError("a watch label is outside the class names")
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in recordings])]).astype(np.int64)
    return {"steps": np.concatenate(recordings), "offsets": offsets, "labels": labels,
            "subjects": subjects, "sides": sides, "class_names": class_names,
            "channel_names": channel_names}


def read_watch_npy(data: bytes) -> dict[str, np.ndarray]:
    """The bytes of ``watch_dataset.npy`` as the plain arrays of :func:`convert`."""
    array = safe_load_npy(data)
    record = array.item() if array.dtype == object and array.shape == () else None
    if not isinstance(record, dict):
        raise UsageError("watch_dataset.npy does not hold a dict")
    return convert(record)


def load_watch(data: str | Path | None = None, *, wheel: str | Path | None = None) -> WatchData:
    """The 140 smartwatch recordings (see :class:`WatchData`).

    Args:
        data: the data folder (see :mod:`.cache`): where the wheel is looked for and the cache kept.
        wheel: the seglearn wheel, if it lies elsewhere.

    Raises:
        UsageError: the wheel is missing (the message names the pip command) or damaged, or its
        pickle names anything but NumPy arrays and plain containers.
    """
    source = Path(wheel) if wheel is not None else find_download(WHEEL_PATTERN, data)
    if source is None or not source.is_file():
        raise missing_source(f"the smartwatch data (the {SPEC} wheel)",
                             pip_download_command(SPEC, data))
    arrays, cache = cached("watch", files_key(_VERSION, [source]),
                           lambda: read_watch_npy(open_wheel(source, MEMBER, SPEC)), data)
    return WatchData(arrays["steps"], arrays["offsets"], arrays["labels"], arrays["subjects"],
                     arrays["sides"], tuple(arrays["class_names"].tolist()),
                     tuple(arrays["channel_names"].tolist()), source, cache)
