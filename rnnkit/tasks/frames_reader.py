"""What a trained frame tagger needs to label a clip file, and nothing of its data: the class
names, the frame shape and, for sensor streams, the standardisation (all in the checkpoint).

A clip file is a NumPy ``.npy`` (read without pickle): images (T, H, W) (uint8 0..255 or floats
in [0, 1]) or sensor vectors (T, D) in the units of the recordings (standardised here as in
training). A missing or unreadable file, a clip of no frames, or frames of another size than the
model reads are a UsageError: one line, exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data.watch_streams import standardise
from rnnkit.errors import UsageError


class FramesReader:
    def __init__(self, class_names, frame_shape, kind: str, mean=None, std=None):
        self.class_names = tuple(class_names)
        self.frame_shape = tuple(frame_shape)
        self.kind = kind
        self.mean = None if mean is None else np.asarray(mean, np.float64)
        self.std = None if std is None else np.asarray(std, np.float64)

    @classmethod
    def from_checkpoint(cls, checkpoint) -> "FramesReader":
        spec, task = checkpoint.spec, checkpoint.task
        try:
            names = checkpoint.tokenizers["labels"]["names"]
            mean, std = task.get("mean"), task.get("std")
            if (mean is None) != (std is None) or (mean is not None and (len(mean) != spec.input_dim
                                                                         or len(std) != spec.input_dim)):
                raise ValueError("the standardisation does not fit the model")
            return cls(names, spec.frame_shape(), spec.frames, mean, std)
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{checkpoint.path} has no usable frame labels or standardisation ({exc})") from None

    def read_clip(self, path) -> np.ndarray:
        """The frames of a clip file as float32 (T, *frame_shape), checked."""
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"no such clip file: {path}")
        try:
            clip = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise UsageError(f"{path} is not a .npy array of frames ({exc})") from None
        if not isinstance(clip, np.ndarray) or clip.dtype.kind not in "fiu":
            raise UsageError(f"{path} does not hold an array of numbers")
        if clip.ndim == 0 or clip.shape[0] == 0:
            raise UsageError(f"{path} is an empty clip: it holds no frames")
        want = "x".join(map(str, self.frame_shape))
        if tuple(clip.shape[1:]) != self.frame_shape:
            got = "x".join(map(str, clip.shape[1:])) or "scalars"
            raise UsageError(f"{path}: frames of {got}, but this model reads frames of {want} "
                             f"(a clip is (T, {', '.join(map(str, self.frame_shape))}))")
        if not np.all(np.isfinite(clip)):
            raise UsageError(f"{path} holds NaN or infinite values")
        if self.kind == "vector":
            return standardise(clip, self.mean, self.std) if self.mean is not None else clip.astype(np.float32)
        return clip.astype(np.float32) / (255.0 if clip.dtype == np.uint8 else 1.0)

    def predict(self, runtime, clip: np.ndarray) -> dict:
        """{"labels": a class name per frame, "probabilities": the probability of each, "classes":
        the class index per frame} for one clip (T, ...)."""
        probs = runtime.call("predict_proba", clip[None], np.ones((1, len(clip)), bool))[0]  # (T, C)
        best = probs.argmax(axis=1)
        return {"labels": [self.class_names[k] for k in best],
                "probabilities": [round(float(probs[t, k]), 6) for t, k in enumerate(best)],
                "classes": best.tolist()}
