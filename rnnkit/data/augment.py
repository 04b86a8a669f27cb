"""Random shifts and mirror images of training pictures: more pictures from few.

A captioner trained on Tux Paint's 648 stamps (one caption each) learns them by heart within a few
hundred steps; its encoder then recognises the training pictures rather than what is in them.
Showing each picture moved by a few pixels, and mirrored, asks the encoder for features that
survive such changes, which a caption of an object does not depend on.

    shift:        each picture moved by (dy, dx), each uniform in [-s, s] pixels, the border
                  repeated into the space it leaves (the background of a stamp or a scene)
    shift-flip:   the same, then each picture mirrored left to right with probability 1/2

Not for captions that say "left of" or "right of" (the scenes): a mirror image makes them false.
Images are (N, H, W, C) floats; the random numbers come from the caller's generator, so a resumed
run that seeds it the same way sees the same pictures.
"""

from __future__ import annotations

import numpy as np

#: The choices of ``--augment``.
MODES = ("none", "shift", "shift-flip")
#: The largest shift in pixels, s (a 64-pixel picture moves by at most 1/16 of its side).
MAX_SHIFT = 4


def augment_images(images: np.ndarray, mode: str, rng: np.random.Generator, max_shift: int = MAX_SHIFT) -> np.ndarray:
    """A changed copy of ``images`` (N, H, W, C) under ``mode`` (one of :data:`MODES`)."""
    if mode not in MODES:
        raise ValueError(f"unknown augmentation {mode!r}: choose one of {', '.join(MODES)}")
    if mode == "none":
        return images
    n, height, width, _ = images.shape
    s = max_shift
    padded = np.pad(images, ((0, 0), (s, s), (s, s), (0, 0)), mode="edge")
    dy, dx = rng.integers(-s, s + 1, size=(2, n))
    # picture i is the window of the padded one that starts at (s + dy_i, s + dx_i)
    rows = (s + dy)[:, None] + np.arange(height)[None, :]             # (N, H)
    cols = (s + dx)[:, None] + np.arange(width)[None, :]              # (N, W)
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    if mode == "shift-flip":
        flip = rng.random(n) < 0.5
        out[flip] = out[flip, :, ::-1]
    return out
