"""The captioner's spec (CS231n style, no attention): parameter names, shapes, initialisation.

Dimensions: N batch, (Hi, Wi) image size, C the encoder's feature width, T caption steps, V
vocabulary (``<pad>`` 0 and the caption's start and end words included), E embedding width,
H hidden size, L layers.

    images (N, Hi, Wi, C_0) -> conv encoder (rnnkit/image_encoder.py) -> features (N, C), the grid's mean
    h_0 = features feat.W + feat.b                                   (N, H)  every layer's initial h (c_0 = 0)
    words_in = caption[:, :-1] (starts with <start>), words_out = caption[:, 1:]
    x = embed.W[words_in] -> recurrent stack from h_0 -> y (N, T, H)
    scores = dropout(y) head.W + head.b (N, T, V) -> temporal softmax cross-entropy over the real words
    (mask), summed over time and averaged over the batch (CS231n's temporal_softmax_loss)

``dropout`` acts between recurrent layers and on y before the word layer, in training only.

The global feature (``global_feature``): ``"mean"`` (the default, as above) averages the grid over
its h*w locations, so it says what is in the picture but not where; ``"flat"`` reads the whole grid
in place, every cell at its location:

    features = the grid (N, h, w, C) as (N, h*w*C)          feat.W (h*w*C, H)

A small encoder's cells each see a patch of the picture (three 3x3 layers with pooling: 22
pixels of 64), so the mean is a bag of patches: a "p" and a "q" hold the same strokes in other
places. The flat feature keeps the layout, as the retrieval baseline's pixel comparison does.

With ``attention="soft"`` (Show, Attend and Tell, Xu et al. 2015), every step also looks at the
grid a (N, L, C) of the encoder (L = h*w locations) through additive attention given the previous
top-layer state, and its context enters the first layer beside the word:

    e_t = softmax_L(v . tanh(h_{t-1} att.Wq + a att.Wk + att.b))    (N, L)    h_{-1} = h_0
    z_t = sum_i e_t,i a_i                                           (N, C)
    layer 0's input projection = embed(w_t) rnn.0.Wx + bias + z_t ctx.W
    loss += lambda * (1/N) sum_n sum_i (1 - sum_t mask[n, t] e_t,n,i)^2   the doubly stochastic
                                                                          regulariser (lambda = ``penalty``)

The paper's deep output layer (scores from the word, h and z together) is left out: scores come
from h alone, as without attention.

Pre-extracted feature grids instead of pictures (``grid=(h, w, F)``, e.g. a CNN's last
convolutional map of each COCO image saved as ``.npy``): there is no encoder and no ``enc.*``
parameter; the input is the grid itself (N, h, w, F), so C = F,

    features = mean of the grid over its h*w locations     (N, F)
    a = the grid as (N, L, F), L = h*w                      (soft attention reads it as above)

and the image fields (``image_*``, ``channels``, ``kernel``) do not apply: they must keep their
defaults and are left out of its JSON. ``grid=None`` (the default, and what a spec saved before
grids existed says by leaving the field out) is the conv encoder on pictures.

Parameters in this order: ``enc.conv{l}.W``, ``enc.conv{l}.b`` (pictures only), ``feat.W (C, H)`` (flat:
``(h*w*C, H)``), ``feat.b (H,)``,
``embed.W (V, E)``, the stack's ``rnn.*``, with soft attention ``att.Wq (H, A)``, ``att.Wk (C, A)``,
``att.b (A,)``, ``att.v (A,)``, ``ctx.W (C, G*H)``, then ``head.W (H, V)``, ``head.b (V,)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

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
ATTENTIONS = ("none", "soft")
#: How the grid becomes the global feature that sets h_0: its mean over locations, or all of it in place.
GLOBAL_FEATURES = ("mean", "flat")
MAX_GRID_SIDE = 4096
#: The conv encoder's fields, which a model of feature grids does not have.
IMAGE_FIELDS = ("image_height", "image_width", "image_channels", "channels", "kernel")


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
    attention: str = "none"
    attention_size: int = 64
    penalty: float = 1.0
    grid: tuple[int, int, int] | None = None
    global_feature: str = "mean"

    kind = KIND

    def __post_init__(self) -> None:
        if isinstance(self.channels, list):
            object.__setattr__(self, "channels", tuple(self.channels))
        if isinstance(self.grid, list):
            object.__setattr__(self, "grid", tuple(self.grid))
        if self.cell not in CELL_NAMES:
            raise UsageError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELL_NAMES)}")
        for name, low, high in (("vocab_size", 3, MAX_VOCAB), ("embed_dim", 1, MAX_WIDTH), ("hidden", 1, MAX_WIDTH),
                                ("layers", 1, MAX_LAYERS)):
            _bounded_int(name, getattr(self, name), low, high)
        value = self.dropout
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise UsageError(f"dropout must be a number in [0, 1), got {value!r}")
        if self.attention not in ATTENTIONS:
            raise UsageError(f"attention must be one of {', '.join(ATTENTIONS)}, got {self.attention!r}")
        if self.global_feature not in GLOBAL_FEATURES:
            raise UsageError(f"global_feature must be one of {', '.join(GLOBAL_FEATURES)}, got {self.global_feature!r}")
        _bounded_int("attention_size", self.attention_size, 1, MAX_WIDTH)
        if isinstance(self.penalty, bool) or not isinstance(self.penalty, (int, float)) or not 0 <= self.penalty < 1e6:
            raise UsageError(f"penalty must be a number >= 0, got {self.penalty!r}")
        if self.grid is not None:
            if not isinstance(self.grid, tuple) or len(self.grid) != 3:
                raise UsageError(f"grid must be [height, width, features] of the feature grids, got {self.grid!r}")
            for name, value, high in zip(("grid height", "grid width", "grid features"), self.grid,
                                         (MAX_GRID_SIDE, MAX_GRID_SIDE, MAX_WIDTH)):
                _bounded_int(name, value, 1, high)
            defaults = {f.name: f.default for f in fields(self)}
            changed = [name for name in IMAGE_FIELDS if getattr(self, name) != defaults[name]]
            if changed:
                raise UsageError(f"a model of feature grids has no image encoder: {', '.join(changed)} do not apply")
        self.encoder  # validates the image fields

    @property
    def encoder(self) -> ImageEncoderSpec | None:
        """The conv encoder of pictures; None for a model of feature grids."""
        if self.grid is not None:
            return None
        return ImageEncoderSpec(height=self.image_height, width=self.image_width, in_channels=self.image_channels,
                                channels=self.channels, kernel=self.kernel, pool=True)

    @property
    def feature_width(self) -> int:
        """C: the width of the global feature and of each grid cell (F for a model of grids)."""
        return self.grid[2] if self.grid is not None else self.encoder.features

    @property
    def global_width(self) -> int:
        """The global feature's width: C for the grid's mean, h*w*C for the flat grid."""
        h, w = self.grid_size
        return self.feature_width * (h * w if self.global_feature == "flat" else 1)

    @property
    def grid_size(self) -> tuple[int, int]:
        """(h, w): the locations soft attention looks over."""
        return self.grid[:2] if self.grid is not None else self.encoder.grid

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """One input's shape: (h, w, F) of a feature grid, or (Hi, Wi, C_0) of a picture."""
        return self.grid if self.grid is not None else (self.image_height, self.image_width, self.image_channels)

    @property
    def recurrent(self) -> RecurrentSpec:
        return RecurrentSpec(self.cell, self.embed_dim, self.hidden, self.layers, self.dropout)

    def to_json(self) -> dict:
        data = asdict(self)
        data["channels"] = list(self.channels)
        if self.global_feature == "mean":   # the default: the JSON reads as before the field existed
            del data["global_feature"]
        if self.grid is None:   # a picture model's spec reads as before grids existed (older rnnkits load it)
            del data["grid"]
        else:                   # and a model of grids says nothing of an encoder it does not have
            data["grid"] = list(self.grid)
            for name in IMAGE_FIELDS:
                del data[name]
        return data

    @classmethod
    def from_json(cls, data) -> "CaptionerSpec":
        if isinstance(data, dict) and "vocab_size" not in data:
            raise UsageError("model configuration: vocab_size is missing")
        return dataclass_from_json(cls, data, "model configuration")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = dict(self.encoder.param_shapes("enc.")) if self.encoder is not None else {}
        shapes["feat.W"], shapes["feat.b"] = (self.global_width, self.hidden), (self.hidden,)
        shapes["embed.W"] = (self.vocab_size, self.embed_dim)
        shapes.update(self.recurrent.param_shapes("rnn."))
        if self.attention == "soft":
            C, A = self.feature_width, self.attention_size
            shapes.update({"att.Wq": (self.hidden, A), "att.Wk": (C, A), "att.b": (A,), "att.v": (A,),
                           "ctx.W": (C, shapes["rnn.0.Wx"][1])})
        shapes["head.W"], shapes["head.b"] = (self.hidden, self.vocab_size), (self.vocab_size,)
        return shapes

    def init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Float64 weights: the encoder He-uniform, the stack by rnnkit/cells.py, embed.W N(0, 1),
        feat.W and head.W U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases zero."""
        def uniform(shape):
            bound = 1.0 / np.sqrt(shape[0])
            return rng.uniform(-bound, bound, size=shape)

        shapes = self.param_shapes()
        params = dict(self.encoder.init_params(rng, "enc.")) if self.encoder is not None else {}
        params["feat.W"], params["feat.b"] = uniform(shapes["feat.W"]), np.zeros(self.hidden)
        params["embed.W"] = EMBED_SCALE * rng.standard_normal(shapes["embed.W"])
        params.update(self.recurrent.init_params(rng, "rnn."))
        if self.attention == "soft":
            for name in ("att.Wq", "att.Wk", "att.v", "ctx.W"):
                params[name] = uniform(shapes[name])
            params["att.b"] = np.zeros(self.attention_size)
        params["head.W"], params["head.b"] = uniform(shapes["head.W"]), np.zeros(self.vocab_size)
        return {name: params[name] for name in shapes}
