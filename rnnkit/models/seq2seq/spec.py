"""The translation model's spec: parameter names, shapes and initialisation, for both engines.

Dimensions: N batch, S source steps, T target steps, Vs / Vt source / target vocabulary sizes,
E embedding width, H hidden size, L layers, K encoder directions (2 when bidirectional),
A = H the attention size. Token id 0 is padding in both vocabularies; ``bos_id`` starts every
target and ``eos_id`` ends it (the task's tokenizer fixes both).

    encoder   src (N, S) -> enc.embed.W[src] -> L layers, K directions, over each row's real steps
              -> memory (N, S, K*H), and each layer's final h  [h_fwd; h_rev]  (N, K*H)
    bridge    decoder layer l starts at h = tanh([h_fwd; h_rev]_l bridge.l.W + bridge.l.b), c = 0
    decoder   x_t = [dec.embed.W[y_{t-1}]; htilde_{t-1}]    input feeding (htilde_{-1} = 0), or
                    dec.embed.W[y_{t-1}] alone without it
              h_t = L-layer decoder stack, one step
              a_t, c_t = attention(h_t, memory, source mask)                  (N, S), (N, K*H)
              htilde_t = tanh([c_t; h_t] comb.W + comb.b)   (attention none: htilde_t = h_t)
              logits_t = htilde_t out.W + out.b             (N, Vt)

Attention (rnnkit/numpy_engine/attention.py): ``additive`` (Bahdanau) scores
v . tanh(h_t att.Wq + m_s att.Wk + att.b); ``dot`` (Luong's multiplicative "general" form) scores
h_t att.W m_s^T, with att.W (H, K*H) so that the decoder's H and the memory's K*H may differ.

Tied output embedding (``tie_embeddings``): out.W is not a parameter; logits = htilde out.proj
dec.embed.W^T + out.b, with out.proj (H, E) only when H != E (else htilde dec.embed.W^T).

Parameters, in this order (the shared model format; the stacks' names from RecurrentSpec):

    enc.embed.W (Vs, E)      enc.rnn.{l}.*, enc.rnn_rev.{l}.*       encoder
    bridge.{l}.W (K*H, H), bridge.{l}.b (H,)                         one per layer
    dec.embed.W (Vt, E)      dec.rnn.{l}.*   (layer 0 reads E + H with input feeding, else E)
    att.Wq (H, H), att.Wk (K*H, H), att.b (H,), att.v (H,)           additive
    att.W (H, K*H)                                                   dot
    comb.W (K*H + H, H), comb.b (H,)                                 attention additive / dot
    out.W (H, Vt) (untied), or out.proj (H, E) (tied, H != E);  out.b (Vt,)

Why the bridge reads h alone: one rule for every cell and both directions (Bahdanau et al. 2015
start the decoder from tanh(W h_rev)), and the torch engine gets each layer's final h from the
fused kernels' outputs at each row's last real step, which the padded kernels cannot give for c.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.cells import CELL_NAMES, CELLS
from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError
from rnnkit.recurrent_spec import RecurrentSpec

KIND = "seq2seq"
ATTENTIONS = ("none", "additive", "dot")
PAD_ID = 0
#: embed.W ~ N(0, EMBED_SCALE^2), PyTorch's nn.Embedding default. Not the classifier's 0.1: with
#: embeddings that small the encoder's outputs hardly differ from token to token at first, attention
#: cannot tell source positions apart, and the decoder sat at the target's unigram loss for hundreds
#: of steps (reversing 2-6 words, 300-piece vocabularies, H=64: validation loss 2.23 after 300 steps
#: at 0.1 against 0.11 at 1.0).
EMBED_SCALE = 1.0
#: Bounds no trainable model reaches, so that a stranger's spec cannot make even the list of
#: parameter shapes expensive (as in the other specs).
MAX_VOCAB = 1 << 24
MAX_WIDTH = 1 << 20
MAX_LAYERS = 1024


def _bounded_int(name, value, minimum, maximum):
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise UsageError(f"{name} must be an integer from {minimum} to {maximum:,}, got {value!r}")


def _uniform(rng, fan_in, *shape):
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


@dataclass(frozen=True, kw_only=True)
class Seq2SeqSpec:
    """Shape of an encoder-decoder with attention (see the module docstring). Keywords only.

    Attributes:
        src_vocab, tgt_vocab: Vs and Vt, token ids per side (padding 0, <bos>, <eos> included).
        embed: E, the width of both embeddings.
        hidden: H, the hidden size of every layer of both stacks.
        layers: L, layers of the encoder and of the decoder.
        cell: a cell of rnnkit/cells.py, for both stacks (gru and lstm are the usual ones).
        bidirectional: the encoder reads each sentence in both directions (K = 2).
        attention: ``none``, ``additive`` or ``dot``.
        input_feeding: the decoder reads htilde_{t-1} beside the previous token (Luong et al. 2015).
        dropout: probability of zeroing the embedded tokens, the activations between layers and
            htilde before the output layer, when training.
        tie_embeddings: the output layer's weight is the target embedding (see the module notes).
        bos_id, eos_id: the target tokenizer's <bos> and <eos> ids (0 is padding).
    """

    src_vocab: int
    tgt_vocab: int
    embed: int = 128
    hidden: int = 128
    layers: int = 1
    cell: str = "lstm"
    bidirectional: bool = True
    attention: str = "additive"
    input_feeding: bool = True
    dropout: float = 0.0
    tie_embeddings: bool = False
    bos_id: int = 1
    eos_id: int = 2

    kind = KIND

    def __post_init__(self) -> None:
        for name, minimum, maximum in (("src_vocab", 2, MAX_VOCAB), ("tgt_vocab", 3, MAX_VOCAB),
                                       ("embed", 1, MAX_WIDTH), ("hidden", 1, MAX_WIDTH),
                                       ("layers", 1, MAX_LAYERS)):
            _bounded_int(name, getattr(self, name), minimum, maximum)
        if self.cell not in CELL_NAMES:
            raise UsageError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELL_NAMES)}")
        if self.attention not in ATTENTIONS:
            raise UsageError(f"unknown attention {self.attention!r}: choose one of {', '.join(ATTENTIONS)}")
        for name in ("bidirectional", "input_feeding", "tie_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name.replace('_', '-')} must be true or false, got {getattr(self, name)!r}")
        value = self.dropout
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise UsageError(f"dropout must be a number in [0, 1), got {value!r}")
        for name in ("bos_id", "eos_id"):
            _bounded_int(name, getattr(self, name), 1, self.tgt_vocab - 1)
        if self.bos_id == self.eos_id:
            raise UsageError(f"bos_id and eos_id must differ, both are {self.bos_id}")

    @property
    def vocab_size(self) -> int:
        """Vt: what the checkpoint loader compares with the ``target`` tokenizer's size."""
        return self.tgt_vocab

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def memory_size(self) -> int:
        """K*H, the width of the encoder's output at every source step."""
        return self.directions * self.hidden

    @property
    def encoder(self) -> RecurrentSpec:
        return RecurrentSpec(self.cell, self.embed, self.hidden, self.layers, self.dropout,
                             bidirectional=self.bidirectional)

    @property
    def decoder(self) -> RecurrentSpec:
        width = self.embed + self.hidden if self.input_feeding else self.embed
        return RecurrentSpec(self.cell, width, self.hidden, self.layers, self.dropout)

    @property
    def state_width(self) -> int:
        """Arrays per layer in the decoder's state: 2 for (h, c) cells, else 1."""
        return len(CELLS[self.cell].state_names)

    @property
    def projects_tied(self) -> bool:
        """Whether a tied output layer needs out.proj (H, E) to reach the embedding's width."""
        return self.tie_embeddings and self.hidden != self.embed

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Seq2SeqSpec":
        for name in ("src_vocab", "tgt_vocab"):
            if isinstance(data, dict) and name not in data:
                raise UsageError(f"model configuration: {name} is missing")
        return dataclass_from_json(cls, data, "model configuration")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every parameter, in the module docstring's order."""
        H, KH, E = self.hidden, self.memory_size, self.embed
        shapes = {"enc.embed.W": (self.src_vocab, E)}
        shapes.update(self.encoder.param_shapes("enc.rnn."))
        for l in range(self.layers):
            shapes[f"bridge.{l}.W"] = (KH, H)
            shapes[f"bridge.{l}.b"] = (H,)
        shapes["dec.embed.W"] = (self.tgt_vocab, E)
        shapes.update(self.decoder.param_shapes("dec.rnn."))
        if self.attention == "additive":
            shapes.update({"att.Wq": (H, H), "att.Wk": (KH, H), "att.b": (H,), "att.v": (H,)})
        elif self.attention == "dot":
            shapes["att.W"] = (H, KH)
        if self.attention != "none":
            shapes.update({"comb.W": (KH + H, H), "comb.b": (H,)})
        if not self.tie_embeddings:
            shapes["out.W"] = (H, self.tgt_vocab)
        elif self.projects_tied:
            shapes["out.proj"] = (H, E)
        shapes["out.b"] = (self.tgt_vocab,)
        return shapes

    def init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Float64 initial values in :meth:`param_shapes` order: embeddings N(0, 1) (see
        EMBED_SCALE), the stacks by rnnkit/cells.py, every other matrix (and att.v)
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in its first dimension, biases 0."""
        values = {}
        for name, shape in self.param_shapes().items():
            if name.endswith("embed.W"):
                values[name] = EMBED_SCALE * rng.standard_normal(shape)
            elif name == "enc.rnn.0.Wx":
                values.update(self.encoder.init_params(rng, "enc.rnn."))
            elif name == "dec.rnn.0.Wx":
                values.update(self.decoder.init_params(rng, "dec.rnn."))
            elif name.startswith(("enc.rnn", "dec.rnn")):
                continue  # drawn with layer 0's
            elif name.endswith(".b"):
                values[name] = np.zeros(shape)
            else:
                values[name] = _uniform(rng, shape[0], *shape)
        return {name: values[name] for name in self.param_shapes()}
