"""The captioner's spec (CS231n style, no attention): parameter names, shapes, initialisation.

Dimensions: N batch, (Hi, Wi) image size, C the encoder's feature width, T caption steps, V
vocabulary (``<pad>`` 0 and the caption's start and end words included), E embedding width,
H hidden size, L layers.

    images (N, Hi, Wi, C_0) -> conv encoder (rnnkit/image_encoder.py) -> features (N, C), the grid's mean
    h_0 = features feat.W + feat.b                                   (N, H)  every layer's initial h (c_0 = 0)
    words_in = caption[:, :-1] (starts with <start>), words_out = caption[:, 1:]
    x = embed.W[words_in] -> recurrent stack from h_0 -> y (N, T, H)
    scores = y head.W + head.b (N, T, V) -> temporal softmax cross-entropy over the real words
    (mask), summed over time and averaged over the batch (CS231n's temporal_softmax_loss)

Parameters in this order: ``enc.conv{l}.W``, ``enc.conv{l}.b``, ``feat.W (C, H)``, ``feat.b (H,)``,
``embed.W (V, E)``, the stack's ``rnn.*``, ``head.W (H, V)``, ``head.b (V,)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.cells import CELL_NAMES
from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError
from rnnkit.image_encoder import ImageEncoderSpec
from rnnkit.recurrent_spec import RecurrentSpec

KIND = "captioner"
EMBED_SCALE = 1.0   # nn.Embedding's N(0, 1)
MAX_VOCAB = 1 << 24
MAX_WIDTH = 1 << 16
MAX_LAYERS = 64


def _bounded_int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{name} must be an integer from {low} to {high:,}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class CaptionerSpec:
    """Shape of a captioner (see the module docstring). Fields are keywords only."""

    cell: str = "lstm"
    vocab_size: int
    embed_dim: int = 64
    hidden: int = 128
    layers: int = 1
    dropout: float = 0.0
    image_height: int = 64
    image_width: int = 64
    image_channels: int = 3
    channels: tuple[int, ...] = (16, 32, 32)
    kernel: int = 3

    kind = KIND

    def __post_init__(self) -> None:
        if isinstance(self.channels, list):
            object.__setattr__(self, "channels", tuple(self.channels))
        if self.cell not in CELL_NAMES:
            raise UsageError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELL_NAMES)}")
        for name, low, high in (("vocab_size", 3, MAX_VOCAB), ("embed_dim", 1, MAX_WIDTH), ("hidden", 1, MAX_WIDTH),
                                ("layers", 1, MAX_LAYERS)):
            _bounded_int(name, getattr(self, name), low, high)
        value = self.dropout
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise UsageError(f"dropout must be a number in [0, 1), got {value!r}")
        self.encoder  # validates the image fields

    @property
    def encoder(self) -> ImageEncoderSpec:
        return ImageEncoderSpec(height=self.image_height, width=self.image_width, in_channels=self.image_channels,
                                channels=self.channels, kernel=self.kernel, pool=True)

    @property
    def recurrent(self) -> RecurrentSpec:
        return RecurrentSpec(self.cell, self.embed_dim, self.hidden, self.layers, self.dropout)

    def to_json(self) -> dict:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_json(cls, data) -> "CaptionerSpec":
        if isinstance(data, dict) and "vocab_size" not in data:
            raise UsageError("model configuration: vocab_size is missing")
        return dataclass_from_json(cls, data, "model configuration")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = dict(self.encoder.param_shapes("enc."))
        shapes["feat.W"], shapes["feat.b"] = (self.encoder.features, self.hidden), (self.hidden,)
        shapes["embed.W"] = (self.vocab_size, self.embed_dim)
        shapes.update(self.recurrent.param_shapes("rnn."))
        shapes["head.W"], shapes["head.b"] = (self.hidden, self.vocab_size), (self.vocab_size,)
        return shapes

    def init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Float64 weights: the encoder He-uniform, the stack by rnnkit/cells.py, embed.W N(0, 1),
        feat.W and head.W U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases zero."""
        def uniform(shape):
            bound = 1.0 / np.sqrt(shape[0])
            return rng.uniform(-bound, bound, size=shape)

        shapes = self.param_shapes()
        params = dict(self.encoder.init_params(rng, "enc."))
        params["feat.W"], params["feat.b"] = uniform(shapes["feat.W"]), np.zeros(self.hidden)
        params["embed.W"] = EMBED_SCALE * rng.standard_normal(shapes["embed.W"])
        params.update(self.recurrent.init_params(rng, "rnn."))
        params["head.W"], params["head.b"] = uniform(shapes["head.W"]), np.zeros(self.vocab_size)
        return {name: params[name] for name in shapes}
