"""The VQA model's spec: parameter names, shapes and initialisation, for both engines.

Stacked attention networks (Yang et al. 2016, "Stacked Attention Networks for Image Question
Answering") over a small convolutional encoder trained from scratch. Dimensions: N batch,
(Hi, Wi) image size, C_0 image channels, C the encoder's last channels, (h, w) its grid,
L = h*w image locations, T question length, V vocabulary, E embedding width, H hidden size (the
width of the question vector and of every image location after projection), A attention size,
K hops, C_ans answers.

    images (N, Hi, Wi, C_0) -> conv encoder (rnnkit/image_encoder.py) -> grid (N, h, w, C)
    v_I = tanh(grid img.W + img.b)                         (N, L, H)   each location, projected
    question ids (N, T), mask -> embed.W -> recurrent stack -> u_0 = h at each row's last word (N, H)
    hop k = 0 .. K-1 (weights hop{k}.*):
        h_A   = tanh(v_I Wk + (u_k Wq + b))                (N, L, A)
        p     = softmax_L(h_A v)                           (N, L)      where the hop looks
        v~    = sum_i p_i v_I[:, i]                        (N, H)
        u_k+1 = v~ + u_k
    scores = dropout(u_K) head.W + head.b                  (N, C_ans) -> softmax cross-entropy

The paper's bias b_P inside the softmax (p = softmax(w_P h_A + b_P)) adds the same number to every
location's score of a row, which softmax ignores: it would be a parameter without a gradient, so
it is left out. The hop is exactly additive attention (rnnkit/numpy_engine/attention.py) with the
question vector as query and the projected locations as keys and values.

Parameters, in this order: ``enc.conv{l}.W (k, k, C_{l-1}, C_l)``, ``enc.conv{l}.b``, ``img.W (C, H)``,
``img.b (H,)``, ``embed.W (V, E)``, the stack's ``rnn.*``, per hop ``hop{k}.Wq (H, A)``,
``hop{k}.Wk (H, A)``, ``hop{k}.b (A,)``, ``hop{k}.v (A,)``, then ``head.W (H, C_ans)``, ``head.b (C_ans,)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.cells import CELL_NAMES, CELLS
from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError
from rnnkit.image_encoder import ImageEncoderSpec
from rnnkit.recurrent_spec import RecurrentSpec

KIND = "vqa"
#: embed.W ~ N(0, EMBED_SCALE^2), nn.Embedding's scale. Not the sentence classifier's 0.1: "is there a
#: red shape?" is answered by the question's colour and the picture's together, and from small
#: embeddings both start near a saddle where neither gets a gradient until the other matters. On
#: generated red/blue pictures (tests/tasks/vqa_fakes.py, H = 16, 600 Adam steps) yes/no questions
#: stayed at chance with 0.1 and were all answered right with 1.0; easy-VQA has 29 question words.
EMBED_SCALE = 1.0
MAX_VOCAB = 1 << 24
MAX_WIDTH = 1 << 16
MAX_LAYERS = 64
MAX_HOPS = 8


def _bounded_int(name, value, minimum, maximum):
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise UsageError(f"{name} must be an integer from {minimum} to {maximum:,}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class VQASpec:
    """Shape of a VQA model (see the module docstring). Fields are keywords only.

    Attributes:
        cell: the question encoder's cell (rnnkit/cells.py).
        vocab_size: V, question words including ``<pad>`` and ``<unk>``; required.
        embed_dim: E.  hidden: H.  layers: stacked recurrent layers of the question encoder.
        hops: K, attention hops over the image (1 or 2 in the paper; up to 8 here).
        attention: A, the width of each hop's hidden layer h_A.
        answers: C_ans, the number of answers.
        dropout: between recurrent layers and on u_K before the answer layer.
        image_height, image_width, image_channels: the images the encoder reads.
        channels: filters of each convolutional layer (each followed by ReLU and 2x2 max-pooling).
        kernel: the convolutions' kernel size (odd).
    """

    cell: str = "lstm"
    vocab_size: int
    embed_dim: int = 32
    hidden: int = 64
    layers: int = 1
    hops: int = 2
    attention: int = 64
    answers: int = 13
    dropout: float = 0.0
    image_height: int = 64
    image_width: int = 64
    image_channels: int = 3
    channels: tuple[int, ...] = (16, 32, 32)
    kernel: int = 3

    kind = KIND

    def __post_init__(self) -> None:
        if isinstance(self.channels, list):  # JSON gives a list; a tuple compares and hashes
            object.__setattr__(self, "channels", tuple(self.channels))
        if self.cell not in CELL_NAMES:
            raise UsageError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELL_NAMES)}")
        for name, low, high in (("vocab_size", 3, MAX_VOCAB), ("embed_dim", 1, MAX_WIDTH), ("hidden", 1, MAX_WIDTH),
                                ("layers", 1, MAX_LAYERS), ("hops", 1, MAX_HOPS), ("attention", 1, MAX_WIDTH),
                                ("answers", 2, MAX_WIDTH)):
            _bounded_int(name, getattr(self, name), low, high)
        value = self.dropout
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise UsageError(f"dropout must be a number in [0, 1), got {value!r}")
        self.encoder  # validates the image fields (sizes, channels, kernel)

    @property
    def encoder(self) -> ImageEncoderSpec:
        return ImageEncoderSpec(height=self.image_height, width=self.image_width, in_channels=self.image_channels,
                                channels=self.channels, kernel=self.kernel, pool=True)

    @property
    def recurrent(self) -> RecurrentSpec:
        return RecurrentSpec(self.cell, self.embed_dim, self.hidden, self.layers, self.dropout)

    @property
    def locations(self) -> int:
        """L = h*w, the image locations attention chooses from."""
        h, w = self.encoder.grid
        return h * w

    @property
    def gates(self) -> int:
        return CELLS[self.cell].gates

    def to_json(self) -> dict:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_json(cls, data) -> "VQASpec":
        if isinstance(data, dict) and "vocab_size" not in data:
            raise UsageError("model configuration: vocab_size is missing")
        return dataclass_from_json(cls, data, "model configuration")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's name and shape, in the order of the module docstring."""
        H, A = self.hidden, self.attention
        shapes = dict(self.encoder.param_shapes("enc."))
        shapes["img.W"] = (self.encoder.features, H)
        shapes["img.b"] = (H,)
        shapes["embed.W"] = (self.vocab_size, self.embed_dim)
        shapes.update(self.recurrent.param_shapes("rnn."))
        for k in range(self.hops):
            shapes.update({f"hop{k}.Wq": (H, A), f"hop{k}.Wk": (H, A), f"hop{k}.b": (A,), f"hop{k}.v": (A,)})
        shapes["head.W"] = (H, self.answers)
        shapes["head.b"] = (self.answers,)
        return shapes

    def init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Float64 initial weights in :meth:`param_shapes` order: the encoder He-uniform (its own
        rule); the stack by rnnkit/cells.py; embed.W N(0, 1) (see EMBED_SCALE); every other matrix and vector
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in its first dimension (as nn.Linear, and as
        the torch engine's attention); biases zero."""
        def uniform(shape):
            bound = 1.0 / np.sqrt(shape[0])
            return rng.uniform(-bound, bound, size=shape)

        shapes = self.param_shapes()
        params = dict(self.encoder.init_params(rng, "enc."))
        params["img.W"], params["img.b"] = uniform(shapes["img.W"]), np.zeros(self.hidden)
        params["embed.W"] = EMBED_SCALE * rng.standard_normal(shapes["embed.W"])
        params.update(self.recurrent.init_params(rng, "rnn."))
        for k in range(self.hops):
            params[f"hop{k}.Wq"] = uniform(shapes[f"hop{k}.Wq"])
            params[f"hop{k}.Wk"] = uniform(shapes[f"hop{k}.Wk"])
            params[f"hop{k}.b"] = np.zeros(self.attention)
            params[f"hop{k}.v"] = uniform(shapes[f"hop{k}.v"])
        params["head.W"], params["head.b"] = uniform(shapes["head.W"]), np.zeros(self.answers)
        return {name: params[name] for name in shapes}
