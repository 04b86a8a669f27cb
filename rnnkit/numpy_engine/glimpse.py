"""The glimpse sensor of recurrent attention models (Mnih et al. 2014): a retina of k square patches
at growing scales around one location, each reduced to the same g x g resolution.

Dimensions: N batch, S image side (square images S x S), g patch side, k scales, f scale factor.

Locations are in [-1, 1]^2, (row, column): (-1, -1) is the top-left corner of the image, (0, 0)
its centre, (1, 1) the bottom-right corner. Location l maps to the continuous pixel coordinate

    c = (l + 1) / 2 * S                        (row and column, in [0, S])

and patch i (i = 0 .. k-1) has side s_i = g * f^i. It covers the s_i x s_i pixels starting at the
integer corner

    top_left_i = floor(c - s_i / 2 + 1/2)      (c - s_i / 2 rounded half up)

with zeros outside the image, and is reduced to g x g by averaging each f^i x f^i block:

    rho[n, i, a, b] = mean over the block (a, b) of patch i of image n        rho (N, k, g, g)

A model that glimpses an image T times pads it once and keeps its summed-area table
(:func:`prepare_retina`), so that a block mean costs four lookups whatever the block's size.

The sensor is not differentiable in the location (integer corners, then block means), and the
models need no gradient on the image: a recurrent attention model learns where to look by
REINFORCE (rnnkit/models/ram), not through the sensor. So this file has no backward pass. The
torch engine's twin (rnnkit/torch_engine/glimpse.py) computes the same corners and means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def clip_locations(loc):
    """Locations clipped to the image, [-1, 1]^2: a sampled location may fall outside it."""
    return np.clip(loc, -1.0, 1.0)


def patch_corners(loc, size: int, side: int) -> np.ndarray:
    """Integer top-left corners (N, 2) of ``side`` x ``side`` patches centred on ``loc`` (N, 2) in an
    image of ``size`` x ``size`` (the module docstring's formula; may lie outside the image)."""
    centre = (np.asarray(loc, dtype=np.float64) + 1.0) * (size / 2.0)
    return np.floor(centre - side / 2.0 + 0.5).astype(np.int64)


@dataclass
class Retina:
    """An image batch prepared once for all the glimpses of a forward pass: zero-padded so that
    every patch of every location in [-1, 1]^2 lies inside, and (with coarser scales) its summed-area
    table, from which any block sum is four lookups.

    padded (N, S + 2 pad, S + 2 pad) in the images' dtype; table (N, S + 2 pad + 1, ...) float64,
    table[n, r, c] = sum of padded[n, :r, :c] (float64: the differences of large sums stay exact
    to about 1e-12 for images in [0, 1]).
    """

    padded: np.ndarray
    table: np.ndarray | None
    pad: int
    size: int


def prepare_retina(images, patch: int, scales: int, factor: int = 2) -> Retina:
    """Pad ``images`` (N, S, S) for the sensor (and build the summed-area table when scales > 1)."""
    images = np.asarray(images)
    N, S, S2 = images.shape
    if S != S2:
        raise ValueError(f"images must be square (N, S, S), got {images.shape}")
    pad = patch * factor ** (scales - 1) // 2 + 1  # every patch of a location in [-1, 1]^2 lies inside
    padded = np.zeros((N, S + 2 * pad, S + 2 * pad), dtype=images.dtype)
    padded[:, pad:pad + S, pad:pad + S] = images
    table = None
    if scales > 1:
        side = S + 2 * pad
        table = np.zeros((N, side + 1, side + 1))
        np.cumsum(padded, axis=1, dtype=np.float64, out=table[:, 1:, 1:])
        np.cumsum(table[:, 1:, 1:], axis=2, out=table[:, 1:, 1:])
    return Retina(padded, table, pad, S)


def glimpse_sensor(images, loc, patch: int, scales: int, factor: int = 2, retina: Retina | None = None):
    """The k-scale retina around each location.

    Inputs: images (N, S, S) floats; loc (N, 2) floats in [-1, 1]^2 (row, column); patch g; scales
    k; factor f, the ratio of neighbouring patch sides; retina: the images prepared once by
    :func:`prepare_retina` (a model glimpsing T times prepares them once; None: here).
    Returns: rho (N, k, g, g), in the images' dtype.

    Scale 0 copies its g x g pixels; a coarser scale takes each block's sum from the summed-area
    table (four lookups a block, whatever its size) and divides by the block's area.
    """
    retina = retina or prepare_retina(images, patch, scales, factor)
    padded, pad, S = retina.padded, retina.pad, retina.size
    N = padded.shape[0]
    loc = clip_locations(loc)
    rows = np.arange(N)[:, None, None]
    out = np.empty((N, scales, patch, patch), dtype=padded.dtype)
    for i in range(scales):
        block = factor ** i
        corner = patch_corners(loc, S, patch * block) + pad                # (N, 2) in the padded image
        if block == 1:
            r = corner[:, 0, None] + np.arange(patch)                       # (N, g)
            c = corner[:, 1, None] + np.arange(patch)
            out[:, i] = padded[rows, r[:, :, None], c[:, None, :]]
            continue
        edges = np.arange(patch + 1) * block
        r = corner[:, 0, None] + edges                                      # (N, g + 1) block edges
        c = corner[:, 1, None] + edges
        sums = retina.table[rows, r[:, :, None], c[:, None, :]]             # (N, g + 1, g + 1)
        blocks = sums[:, 1:, 1:] - sums[:, :-1, 1:] - sums[:, 1:, :-1] + sums[:, :-1, :-1]
        out[:, i] = blocks / (block * block)
    return out


def glimpse_boxes(loc, size: int, patch: int, scales: int, factor: int = 2) -> np.ndarray:
    """The squares the sensor reads, for drawing: (N, k, 3) ints (top, left, side) in pixels."""
    loc = clip_locations(np.asarray(loc, dtype=np.float64))
    boxes = np.empty((loc.shape[0], scales, 3), dtype=np.int64)
    for i in range(scales):
        side = patch * factor ** i
        boxes[:, i, :2] = patch_corners(loc, size, side)
        boxes[:, i, 2] = side
    return boxes


def coarse_view(images, side: int):
    """The whole image reduced to ``side`` x ``side`` by block means (DRAM's context input).

    Inputs: images (N, S, S), S a multiple of ``side`` or not (then the image is zero-padded at the
    bottom and right to the next multiple). Returns: (N, side, side).
    """
    images = np.asarray(images)
    N, S, _ = images.shape
    block = -(-S // side)
    padded = np.zeros((N, side * block, side * block), dtype=images.dtype)
    padded[:, :S, :S] = images
    return padded.reshape(N, side, block, side, block).mean(axis=(2, 4))
