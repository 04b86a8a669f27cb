"""Images from a trained DRAW model: z_t ~ N(0, I) for every step, the decoder writes, and the
canvas after each step is kept (for the animation) with the write window of each step."""

from __future__ import annotations

import numpy as np

from rnnkit.errors import UsageError


def generate_images(runtime, spec, count: int, seed: int | None = None):
    """``count`` generated images of a DRAW model on ``runtime`` (either engine).

    Returns: probabilities (T, count, B, A), sigmoid of the canvas after each step (the last is
    the image), and windows (T, count, 5) of the write attention (zeros without attention).
    """
    if count < 1:
        raise UsageError(f"--count must be at least 1, got {count}")
    z = np.random.default_rng(seed).standard_normal((count, spec.steps_t, spec.latent))
    canvases, windows = runtime.call("generate", z)
    canvases = np.asarray(canvases, dtype=np.float64)
    probs = 0.5 * (1.0 + np.tanh(0.5 * canvases))  # sigmoid, without overflow
    return probs.reshape(spec.steps_t, count, spec.height, spec.width), np.asarray(windows, dtype=np.float64)
