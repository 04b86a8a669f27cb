"""The frame tagger's spec: parameter names, shapes and initialisation, for both engines.

Dimensions: N batch, T frames (time), F the per-frame feature width, H hidden size, L layers,
K directions (2 when bidirectional), C classes; images H_img x W_img, sensor vectors D wide.

    frames (N, T, H_img, W_img) or (N, T, D), mask (N, T)
      -> per-frame encoder, the same weights at every step            -> (N, T, F)
           image:  the convolutional encoder's global feature (rnnkit/image_encoder.py), F = C_L
           vector: relu(x enc.W + enc.b), F = embed_dim
      -> L recurrent layers, K directions (causal when K = 1)        -> y (N, T, K*H)
         (frame_alone: no recurrence, y = the features: the baseline that sees one frame at a time)
         (skip: y = [y, features], the head also reads the frame's own features -> (N, T, K*H + F))
      -> dropout -> scores = y head.W + head.b                       -> (N, T, C)
      -> softmax cross-entropy at every real frame (mask), the mean over those frames
         (temporal_softmax_loss, average="tokens")

Parameters in the shared model format: ``enc.conv{l}.W / .b`` (image) or ``enc.W (D, F)``,
``enc.b (F,)`` (vector); the stack's ``rnn.*`` (and ``rnn_rev.*``) unless frame_alone;
``head.W (head_input, C)`` (K*H; K*H + F with skip; F when frame_alone), ``head.b (C,)``. The
checkpoint keeps the class names as the tokenizer ``labels`` (rnnkit/data/frame_labels.py), whose
size is ``vocab_size`` (= C).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.cells import CELL_NAMES
from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError
from rnnkit.image_encoder import ImageEncoderSpec
from rnnkit.recurrent_spec import RecurrentSpec

KIND = "tagger"
FRAME_KINDS = ("image", "vector")
MAX_WIDTH = 1 << 20
MAX_LAYERS = 1024


def _bounded_int(name, value, minimum, maximum):
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise UsageError(f"{name} must be an integer from {minimum} to {maximum:,}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class TaggerSpec:
    """Shape of a frame tagger (see the module docstring). Fields are keywords only.

    Attributes:
        cell: a cell of rnnkit/cells.py.
        classes: C, the number of labels (``none`` included where a task has it); required.
        frames: ``image`` (a convolutional encoder) or ``vector`` (an affine layer and ReLU).
        encoder: the image encoder's spec (image frames only; a dict from JSON is read).
        input_dim: D, the width of a sensor vector (vector frames only).
        embed_dim: F of the vector encoder.
        hidden: H of every recurrent layer and direction.
        layers: L.
        bidirectional: a second direction reads the clip backwards (offline labelling; K = 2).
        frame_alone: no recurrence: each frame is labelled from itself alone (the baseline).
        skip: the head reads the frame's own features beside the recurrent state, so the
            recurrence only has to add what earlier frames showed (a frame-alone model's start,
            plus memory). Meaningless without recurrence: frame_alone stores it false.
        dropout: between layers and before the head.
    """

    cell: str = "lstm"
    classes: int
    frames: str = "image"
    encoder: ImageEncoderSpec | None = None
    input_dim: int = 0
    embed_dim: int = 64
    hidden: int = 64
    layers: int = 1
    bidirectional: bool = False
    frame_alone: bool = False
    skip: bool = False
    dropout: float = 0.0

    kind = KIND

    def __post_init__(self) -> None:
        if self.cell not in CELL_NAMES:
            raise UsageError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELL_NAMES)}")
        if self.frames not in FRAME_KINDS:
            raise UsageError(f"frames must be one of {', '.join(FRAME_KINDS)}, got {self.frames!r}")
        if isinstance(self.encoder, dict):
            object.__setattr__(self, "encoder", ImageEncoderSpec.from_json(self.encoder))
        if self.frames == "image":
            if not isinstance(self.encoder, ImageEncoderSpec):
                raise UsageError("image frames need an image encoder spec")
        else:
            if self.encoder is not None:
                raise UsageError("vector frames have no image encoder")
            _bounded_int("input_dim", self.input_dim, 1, MAX_WIDTH)
        for name, minimum, maximum in (("classes", 2, MAX_WIDTH), ("embed_dim", 1, MAX_WIDTH),
                                       ("hidden", 1, MAX_WIDTH), ("layers", 1, MAX_LAYERS)):
            _bounded_int(name, getattr(self, name), minimum, maximum)
        for name in ("bidirectional", "frame_alone", "skip"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name.replace('_', '-')} must be true or false, got {getattr(self, name)!r}")
        if self.frame_alone:
            object.__setattr__(self, "skip", False)  # the head reads the features already
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise UsageError(f"dropout must be a number in [0, 1), got {self.dropout!r}")

    @property
    def vocab_size(self) -> int:
        """The size of the checkpoint's ``labels`` tokenizer: C."""
        return self.classes

    @property
    def features(self) -> int:
        """F, the per-frame feature width."""
        return self.encoder.features if self.frames == "image" else self.embed_dim

    @property
    def recurrent(self) -> RecurrentSpec:
        return RecurrentSpec(self.cell, self.features, self.hidden, self.layers, self.dropout,
                             bidirectional=self.bidirectional)

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def head_input(self) -> int:
        """What the head reads at each frame: F without recurrence, K*H + F with skip, else K*H."""
        if self.frame_alone:
            return self.features
        return self.directions * self.hidden + (self.features if self.skip else 0)

    def frame_shape(self) -> tuple[int, ...]:
        """The shape of one frame: (H_img, W_img) (grey), (H_img, W_img, C_0), or (D,)."""
        if self.frames == "vector":
            return (self.input_dim,)
        e = self.encoder
        return (e.height, e.width) if e.in_channels == 1 else (e.height, e.width, e.in_channels)

    def to_json(self) -> dict:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["encoder"] = None if self.encoder is None else self.encoder.to_json()
        return data

    @classmethod
    def from_json(cls, data) -> "TaggerSpec":
        if isinstance(data, dict) and "classes" not in data:
            raise UsageError("model configuration: classes is missing")
        return dataclass_from_json(cls, data, "model configuration")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """``enc.*``, then ``rnn.*`` / ``rnn_rev.*`` (none when frame_alone), ``head.W``, ``head.b``."""
        if self.frames == "image":
            shapes = self.encoder.param_shapes("enc.")
        else:
            shapes = {"enc.W": (self.input_dim, self.embed_dim), "enc.b": (self.embed_dim,)}
        if not self.frame_alone:
            shapes.update(self.recurrent.param_shapes("rnn."))
        shapes["head.W"] = (self.head_input, self.classes)
        shapes["head.b"] = (self.classes,)
        return shapes

    def init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Float64 initial weights in :meth:`param_shapes` order: the encoder's He-uniform rule
        (the vector encoder's too: it feeds a ReLU), the cells' rules, head U(+-1/sqrt(fan_in)),
        zero biases."""
        if self.frames == "image":
            params = self.encoder.init_params(rng, "enc.")
        else:
            bound = np.sqrt(6.0 / self.input_dim)
            params = {"enc.W": rng.uniform(-bound, bound, (self.input_dim, self.embed_dim)),
                      "enc.b": np.zeros(self.embed_dim)}
        if not self.frame_alone:
            params.update(self.recurrent.init_params(rng, "rnn."))
        bound = 1.0 / np.sqrt(self.head_input)
        params["head.W"] = rng.uniform(-bound, bound, (self.head_input, self.classes))
        params["head.b"] = np.zeros(self.classes)
        return params
