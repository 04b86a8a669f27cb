"""The small convolutional image encoder every image task shares: its spec and parameters.

Dimensions: N images, H x W pixels, C_0 input channels (1 for grey), L convolutional layers with
C_1 .. C_L filters, k the kernel size, s = 2 when pooling else 1.

    x_0 = image (N, H, W, C_0), pixels in [0, 1]
    layer l = 1 .. L:  x_l = maxpool2x2(relu(conv_k(x_{l-1}; W_l, b_l)))   (N, H/s^l, W/s^l, C_l)
                       (no pooling when ``pool`` is False)
    grid   = x_L                                       (N, h, w, C_L),  h = H / s^L, w = W / s^L
    global = mean of the grid over its h*w positions   (N, C_L)

The grid is what attention over image locations reads (captioning, VQA); the global vector is
one feature per image (a frame of a clip). Parameters, the same names and layouts in both engines
(rnnkit/numpy_engine/image_encoder.py, rnnkit/torch_engine/image_encoder.py), under a prefix
(``enc.``):

    {prefix}conv{l}.W   (k, k, C_{l-1}, C_l)   kernel row, kernel column, input channel, filter
    {prefix}conv{l}.b   (C_l,)

initialised He-uniform for ReLU: W ~ U(-sqrt(6 / fan_in), sqrt(6 / fan_in)), fan_in = k*k*C_{l-1};
b = 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError

#: Bounds far beyond any encoder trained here, so a stranger's spec cannot ask for absurd arrays.
MAX_SIDE = 4096
MAX_CHANNELS = 4096
MAX_LAYERS = 16
MAX_KERNEL = 15


def _int_in(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{name} must be an integer from {low} to {high:,}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ImageEncoderSpec:
    """Shape of the encoder (see the module docstring). Fields are keywords only.

    Attributes:
        height, width: H, W, the image size in pixels; with pooling both must be divisible by 2^L.
        in_channels: C_0 (1 for grey images, 3 for RGB).
        channels: (C_1, ..., C_L), filters per layer.
        kernel: k, odd.
        pool: 2x2 max-pooling after every layer.
    """

    height: int = 64
    width: int = 64
    in_channels: int = 1
    channels: tuple[int, ...] = (16, 32, 32)
    kernel: int = 3
    pool: bool = True

    def __post_init__(self) -> None:
        # JSON gives a list; keep a tuple so specs compare and hash.
        if isinstance(self.channels, list):
            object.__setattr__(self, "channels", tuple(self.channels))
        _int_in("image height", self.height, 1, MAX_SIDE)
        _int_in("image width", self.width, 1, MAX_SIDE)
        _int_in("in_channels", self.in_channels, 1, MAX_CHANNELS)
        if not isinstance(self.channels, tuple) or not 1 <= len(self.channels) <= MAX_LAYERS:
            raise UsageError(f"channels must list 1 to {MAX_LAYERS} filter counts, got {self.channels!r}")
        for c in self.channels:
            _int_in("a layer's channels", c, 1, MAX_CHANNELS)
        _int_in("kernel", self.kernel, 1, MAX_KERNEL)
        if self.kernel % 2 == 0:
            raise UsageError(f"kernel must be odd (same padding), got {self.kernel}")
        if not isinstance(self.pool, bool):
            raise UsageError(f"pool must be true or false, got {self.pool!r}")
        if self.pool:
            scale = 2 ** len(self.channels)
            if self.height % scale or self.width % scale:
                raise UsageError(f"images of {self.height}x{self.width} cannot be pooled {len(self.channels)} "
                                 f"times: height and width must be multiples of {scale}")

    @property
    def layers(self) -> int:
        return len(self.channels)

    @property
    def features(self) -> int:
        """C_L, the width of the global feature vector and of each grid cell."""
        return self.channels[-1]

    @property
    def grid(self) -> tuple[int, int]:
        """(h, w), the grid of features the last layer leaves."""
        scale = 2 ** self.layers if self.pool else 1
        return self.height // scale, self.width // scale

    def to_json(self) -> dict:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_json(cls, data) -> "ImageEncoderSpec":
        return dataclass_from_json(cls, data, "image encoder")

    def param_shapes(self, prefix: str = "enc.") -> dict[str, tuple[int, ...]]:
        """``{prefix}conv{l}.W`` (k, k, C_{l-1}, C_l) and ``{prefix}conv{l}.b`` (C_l,), l = 0 .. L-1."""
        shapes, c_in, k = {}, self.in_channels, self.kernel
        for l, c_out in enumerate(self.channels):
            shapes[f"{prefix}conv{l}.W"] = (k, k, c_in, c_out)
            shapes[f"{prefix}conv{l}.b"] = (c_out,)
            c_in = c_out
        return shapes

    def init_params(self, rng: np.random.Generator, prefix: str = "enc.") -> dict[str, np.ndarray]:
        """Float64 He-uniform weights and zero biases, in :meth:`param_shapes` order."""
        params = {}
        for name, shape in self.param_shapes(prefix).items():
            if name.endswith(".W"):
                bound = np.sqrt(6.0 / (shape[0] * shape[1] * shape[2]))
                params[name] = rng.uniform(-bound, bound, size=shape)
            else:
                params[name] = np.zeros(shape)
        return params
