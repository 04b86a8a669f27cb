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

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.charlm.spec import CharLMSpec
from rnnkit.errors import UsageError
from rnnkit.torch_engine.cells import State
from rnnkit.torch_engine.layers import Affine, Embedding
from rnnkit.torch_engine.losses import cross_entropy_sum, temporal_softmax_loss
from rnnkit.torch_engine.options import TorchOptions
from rnnkit.torch_engine.recurrent import Recurrent


class TorchCharLM(nn.Module):
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

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name and shape of every parameter: ``CharLMSpec.param_shapes()``, as a test checks."""
        return {name: tuple(p.shape) for name, p in self.named_parameters()}

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every parameter as a float32 NumPy array on the CPU (a copy), under its shared name."""
        return {
            # order="C" copies, also the weights stored transposed for the fused kernels (row-major out)
            name: np.array(p.detach().to(device="cpu", dtype=torch.float32).numpy(), order="C")
            for name, p in self.named_parameters()
        }

    @classmethod
    def from_arrays(
        cls,
        config: CharLMSpec,
        params: Mapping[str, np.ndarray],
        options: TorchOptions | None = None,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> "TorchCharLM":
        """Build a model whose parameters are ``params`` (float32 or float64 arrays, shared names).

        The model's own ``dtype`` (float64 for gradient checks and parity tests) and ``device`` are
        chosen here; arrays are converted to them. Missing, extra or misshapen arrays are a
        :class:`UsageError`: they mean the arrays belong to another model.
        """
        model = cls(config, options).to(dtype=dtype, device=device)
        expected = model.param_shapes()
        missing = sorted(set(expected) - set(params))
        extra = sorted(set(params) - set(expected))
        if missing or extra:
            raise UsageError(f"parameters do not fit the model: missing {missing}, unexpected {extra}")
        with torch.no_grad():
            for name, p in model.named_parameters():
                array = np.asarray(params[name])
                if array.shape != expected[name] or array.dtype.kind != "f":
                    raise UsageError(
                        f"parameter {name} is {array.dtype} {array.shape}, expected floats {expected[name]}"
                    )
                p.copy_(torch.tensor(array))
        return model
