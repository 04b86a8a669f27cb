"""The convolutional image encoder (rnnkit/image_encoder.py) in the NumPy engine, by hand.

Dimensions: N images, H x W pixels, C_0 input channels, C_l filters of layer l, (h, w) the last
grid. Each layer is conv -> ReLU -> 2x2 max-pool (rnnkit/numpy_engine/conv.py), computed as
conv -> pool -> ReLU, which gives the same values and gradients for less work; the global
feature is the grid's mean over its h*w cells:

    g = (1 / (h w)) sum_{i, j} grid[:, i, j, :]          dgrid = dg / (h w) at every cell

Backward runs the layers in reverse, each layer's pair from conv.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.image_encoder import ImageEncoderSpec
from rnnkit.numpy_engine.conv import (conv2d_backward, conv2d_forward, max_pool2x2_backward, max_pool2x2_forward,
                                      relu_backward, relu_forward)


@dataclass
class EncoderCache:
    spec: ImageEncoderSpec
    prefix: str
    layers: list          # per layer: (conv cache, relu mask, pool cache or None)
    grid_shape: tuple     # (N, h, w, C_L)


def as_channels_last(images, spec: ImageEncoderSpec):
    """Images (N, H, W) (grey) or (N, H, W, C_0) as (N, H, W, C_0); a wrong size is a ValueError."""
    x = images[..., None] if images.ndim == 3 else images
    if x.ndim != 4 or x.shape[1:] != (spec.height, spec.width, spec.in_channels):
        raise ValueError(f"images must be (N, {spec.height}, {spec.width}"
                         f"{'' if spec.in_channels == 1 else ', ' + str(spec.in_channels)}), got {images.shape}")
    return x


def encoder_forward(images, params, spec: ImageEncoderSpec, prefix: str = "enc."):
    """Encode images.

    Inputs: images (N, H, W) or (N, H, W, C_0) floats; params with ``{prefix}conv{l}.W / .b``.
    Returns: features (N, C_L) the grid's mean, grid (N, h, w, C_L), and a cache.
    """
    x = as_channels_last(images, spec)
    caches = []
    for l in range(spec.layers):
        x, conv = conv2d_forward(x, params[f"{prefix}conv{l}.W"], params[f"{prefix}conv{l}.b"])
        pool = None
        if spec.pool:
            # pool, then ReLU: the two commute (ReLU is monotonic), and ReLU after the pool
            # touches a quarter of the values, forward and back
            x, pool = max_pool2x2_forward(x)
        x, positive = relu_forward(x)
        caches.append((conv, positive, pool))
    return x.mean(axis=(1, 2)), x, EncoderCache(spec, prefix, caches, x.shape)


def encoder_backward(dfeatures, dgrid, cache: EncoderCache, grads: dict, need_dimages: bool = True):
    """Backward through :func:`encoder_forward`.

    Inputs: dfeatures (N, C_L) or None; dgrid (N, h, w, C_L) or None (at least one given);
    grads receives ``{prefix}conv{l}.W / .b``; need_dimages False when nothing reads the images'
    gradient (a model's input), which skips the first layer's col2im, the costliest.
    Returns: dimages (N, H, W, C_0), or None.
    """
    N, h, w, C = cache.grid_shape
    dx = np.zeros(cache.grid_shape, dtype=(dfeatures if dfeatures is not None else dgrid).dtype)
    if dfeatures is not None:
        dx += dfeatures[:, None, None, :] / (h * w)
    if dgrid is not None:
        dx += dgrid
    for l in range(cache.spec.layers - 1, -1, -1):
        conv, positive, pool = cache.layers[l]
        dx = relu_backward(dx, positive)
        if pool is not None:
            dx = max_pool2x2_backward(dx, pool)
        dx, grads[f"{cache.prefix}conv{l}.W"], grads[f"{cache.prefix}conv{l}.b"] = conv2d_backward(
            dx, conv, need_dx=need_dimages or l > 0)
    return dx
