"""The character-level language model as a PyTorch module, in the shared model format.

Dimensions: N batch, T time, V vocabulary size, E embedding width (0: one-hot), H hidden size,
L layers.

    ids (N, T) -> embed.W[ids] (N, T, E), or one-hot (layer 0 gathers rows of its Wx)
               -> L recurrent layers (N, T, H) -> dropout -> x head.W + head.b -> logits (N, T, V)

The loss is the shared ``temporal_softmax_loss`` (rnnkit/torch_engine/losses.py) averaged over all
N*T characters, in nats per character, as in the NumPy engine. ``to_arrays`` / ``from_arrays`` move
parameters in and out as float32 NumPy arrays under the names of docs/architecture.md, so either
engine loads what the other wrote.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.charlm.spec import CharLMSpec
from rnnkit.torch_engine.arrays import SharedArrays
from rnnkit.torch_engine.cells import State
from rnnkit.torch_engine.layers import Affine, Embedding
from rnnkit.torch_engine.losses import cross_entropy_sum, temporal_softmax_loss
from rnnkit.torch_engine.options import TorchOptions
from rnnkit.torch_engine.recurrent import Recurrent


class TorchCharLM(SharedArrays, nn.Module):
    """A character model built from a :class:`CharLMSpec` (run as :class:`TorchOptions` say).

    Its ``named_parameters()`` are exactly ``config.param_shapes()``, names, shapes and order:
    ``embed.W`` (when E > 0), ``rnn.{l}.Wx``, ``rnn.{l}.Wh``, ``rnn.{l}.b`` (or ``bx``, ``bh``; the
    extra parameters of lnlstm; no ``Wh`` for mingru / minlstm), highway gates, ``head.W``, ``head.b``.
    """

    def __init__(self, config: CharLMSpec, options: TorchOptions | None = None) -> None:
        super().__init__()
        self.spec = self.config = config
        self.options = options or TorchOptions()
        V, H = config.vocab_size, config.hidden
        self.embed = Embedding(V, config.embed_dim) if config.embed_dim else None
        self.rnn = Recurrent(
            config.cell,
            config.input_size,
            H,
            config.layers,
            config.dropout,
            highway=config.highway,
            path=self.options.path,
            scan=self.options.scan,
        )
        self.head = Affine(H, V)

    def init_state(self, n: int) -> list[State]:
        """Zero state for n streams: a tuple of (N, H) tensors per layer, on the model's device."""
        return self.rnn.init_state(n)

    def forward(self, x: Tensor, state: Sequence[State] | None = None) -> tuple[Tensor, list[State]]:
        """Inputs: ids x (N, T) and the carried state (None: zeros).
        Returns: logits (N, T, V) and the new state."""
        inputs = x if self.embed is None else self.embed(x)  # one-hot ids go to layer 0 as ids
        out, state = self.rnn(inputs, state)
        out = F.dropout(out, self.config.dropout, self.training)
        return self.head(out), state

    def loss(self, x: Tensor, y: Tensor, state: Sequence[State] | None = None) -> tuple[Tensor, list[State]]:
        """Mean cross entropy (nats per character) of targets y (N, T) given ids x (N, T).

        Returns the scalar loss and the new state (detach it before the next chunk for TBPTT).
        """
        logits, state = self(x, state)
        return temporal_softmax_loss(logits, y, average="tokens"), state

    def evaluate(self, x: Tensor, y: Tensor, state: Sequence[State] | None = None) -> tuple[dict, list[State]]:
        """Summed cross entropy over all N*T characters (no gradient is needed; the caller turns
        it off): ({"nats": float, "count": N*T}, new state)."""
        logits, state = self(x, state)
        nats = cross_entropy_sum(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        return {"nats": float(nats.double()), "count": int(y.numel())}, state

    def step(self, ids: Tensor, state: Sequence[State] | None = None) -> tuple[Tensor, list[State]]:
        """One character per stream, for sampling: ids (N,) -> logits (N, V) and the new state."""
        logits, state = self(ids[:, None], state)
        return logits[:, 0], state
