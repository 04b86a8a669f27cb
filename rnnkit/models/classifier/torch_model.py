"""The sequence classifier as a PyTorch module, in the shared model format.

Dimensions: N batch, T time, V vocabulary size, E embedding width, H hidden size, L layers,
K directions, C classes.

    ids (N, T) -> embed.W[ids] (N, T, E)
               -> L recurrent layers, K directions, over each row's real steps
                  (rnnkit/torch_engine/bidirectional.py)                          -> y (N, T, K*H)
               -> last / mean / max pool (rnnkit/torch_engine/pooling.py)         -> (N, K*H)
               -> dropout -> x head.W + head.b -> scores (N, C) -> mean cross-entropy over the batch

The recurrent layers run through PyTorch's fused kernels where they compute the cell (rnn, lstm,
gru; ``TorchOptions.path``), else through the cells' explicit loops; both compute the NumPy engine's
function, as the parity tests show in float64. ``to_arrays`` / ``from_arrays`` move parameters in
and out as NumPy arrays under the shared names, so either engine loads what the other wrote.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import UsageError
from rnnkit.models.classifier.spec import ClassifierSpec
from rnnkit.torch_engine import pooling
from rnnkit.torch_engine.bidirectional import ragged_forward
from rnnkit.torch_engine.fused import fusable
from rnnkit.torch_engine.arrays import SharedArrays
from rnnkit.torch_engine.layers import Affine, Embedding
from rnnkit.torch_engine.losses import cross_entropy_sum, softmax_loss
from rnnkit.torch_engine.minrnn import MinCell
from rnnkit.torch_engine.options import TorchOptions
from rnnkit.torch_engine.recurrent import CELL_TYPES


class TorchClassifier(SharedArrays, nn.Module):
    """A sequence classifier built from a :class:`ClassifierSpec` (run as :class:`TorchOptions` say).

    Its ``named_parameters()`` are exactly ``spec.param_shapes()``, names, shapes and order:
    ``embed.W``, per layer ``rnn.{l}.*`` then ``rnn_rev.{l}.*`` (K = 2), ``head.W``, ``head.b``.
    Inputs may be tensors or NumPy arrays: ids (N, T) ints, mask (N, T) booleans (right padding,
    at least one real step a row), labels (N,) ints.
    """

    def __init__(self, spec: ClassifierSpec, options: TorchOptions | None = None) -> None:
        super().__init__()
        self.spec = self.config = spec
        self.options = options or TorchOptions()
        cls = CELL_TYPES[spec.cell]
        kwargs = {"scan": self.options.scan} if issubclass(cls, MinCell) else {}
        rec = spec.recurrent

        def direction():
            return nn.ModuleList([cls(rec.layer_input(l), spec.hidden, **kwargs) for l in range(spec.layers)])

        self.embed = Embedding(spec.vocab_size, spec.embed_dim)
        self.rnn = direction()
        self.rnn_rev = direction() if spec.bidirectional else None
        self.head = Affine(spec.features, spec.classes)
        if self.options.path == "fused" and not fusable(list(self.rnn)):
            raise UsageError(f"PyTorch has no fused kernel for {spec.cell!r} cells")

    @property
    def uses_fused(self) -> bool:
        """Whether the recurrent layers run through PyTorch's fused kernels."""
        return self.options.path != "explicit" and fusable(list(self.rnn))

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, nn.Parameter]]:
        """The parameters in ``spec.param_shapes()`` order: module order would put every ``rnn.*``
        before every ``rnn_rev.*``, the shared format interleaves them layer by layer."""
        found = dict(super().named_parameters(prefix, recurse, remove_duplicate))
        if not recurse:
            return iter(found.items())
        dot = prefix + "." if prefix else ""
        return iter([(dot + name, found[dot + name]) for name in self.spec.param_shapes()])

    def init_state(self, n: int) -> None:
        """Nothing: each batch is classified on its own."""
        return None

    def _inputs(self, *arrays):
        device = self.head.W.device
        return [torch.as_tensor(a, device=device) for a in arrays]

    def scores(self, ids, mask, training: bool | None = None) -> Tensor:
        """Class scores (N, C) of ids (N, T) under mask (N, T); dropout when ``training`` (None:
        ``self.training``)."""
        training = self.training if training is None else training
        ids, mask = self._inputs(ids, mask)
        mask = mask.bool()
        N, T = mask.shape
        lengths = mask.sum(dim=1)  # (N,)
        expected = torch.arange(T, device=mask.device)[None, :] < lengths[:, None]
        if not torch.equal(mask, expected) or not bool(lengths.min() > 0):
            raise ValueError("mask must be right padding with at least one real step a row")
        x = F.dropout(self.embed(ids), self.spec.embed_dropout, training)  # (N, T, E)
        directions = [self.rnn] if self.rnn_rev is None else [self.rnn, self.rnn_rev]
        full = bool(lengths.min() == T)  # then reversal is a plain flip
        y = ragged_forward(directions, x, None if full else lengths, self.spec.dropout, training,
                           fused=self.uses_fused)  # (N, T, K*H)
        pool = self.spec.pool
        if pool == "last":
            pooled = pooling.last_pool(y, lengths, self.spec.directions)
        elif pool == "mean":
            pooled = pooling.mean_pool(y, mask, lengths)
        else:
            pooled = pooling.max_pool(y, mask)
        return self.head(F.dropout(pooled, self.spec.dropout, training))

    def forward(self, ids, mask) -> Tensor:
        """Class scores (N, C), with dropout when the module is training."""
        return self.scores(ids, mask)

    def loss(self, ids, mask, labels, state=None) -> tuple[Tensor, None]:
        """The mean cross-entropy over the batch (a scalar tensor) and None (no state)."""
        (labels,) = self._inputs(labels)
        return softmax_loss(self(ids, mask), labels), None

    @torch.no_grad()
    def evaluate(self, ids, mask, labels, state=None) -> tuple[dict, None]:
        """Summed statistics of a batch, without dropout or gradients:
        ({"nats": summed cross-entropy, "correct": right argmax predictions, "count": N}, None)."""
        (labels,) = self._inputs(labels)
        scores = self.scores(ids, mask, training=False)
        return {
            "nats": float(cross_entropy_sum(scores, labels)),
            "correct": int((scores.argmax(dim=1) == labels).sum()),
            "count": int(labels.shape[0]),
        }, None

    @torch.no_grad()
    def predict_proba(self, ids, mask) -> Tensor:
        """Class probabilities (N, C) in the model's dtype, without dropout."""
        return F.softmax(self.scores(ids, mask, training=False), dim=-1)

    @classmethod
    def create(cls, spec: ClassifierSpec, seed: int = 0, options: TorchOptions | None = None, *,
               dtype: torch.dtype = torch.float32, device=None) -> "TorchClassifier":
        """A new model initialised like the NumPy engine's (``spec.init_params``, the same seed)."""
        return cls.from_arrays(spec, spec.init_params(np.random.default_rng(seed)), options,
                               dtype=dtype, device=device)
