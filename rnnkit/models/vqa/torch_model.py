"""The VQA model as a PyTorch module, in the shared model format; trains end to end (CNN included).

Dimensions and equations as in rnnkit/models/vqa/spec.py: N batch, L = h*w locations, T question
length, H hidden size, K hops, C_ans answers.

    images -> ImageEncoder (torch_engine/image_encoder.py) -> grid (N, h, w, C) -> (N, L, C)
    v_I = tanh(img(grid))                                         (N, L, H)
    ids -> embed -> recurrent stack over each row's real words -> u_0 = last real step (N, H)
    hop k: context, p_k = AdditiveAttention_k(u_k, v_I, v_I); u_{k+1} = u_k + context
    scores = head(dropout(u_K))                                   (N, C_ans)

The recurrence runs through PyTorch's fused kernels where they compute the cell (as the
classifier's does); autograd gives every backward. ``from_arrays`` / ``to_arrays`` move the
parameters under the shared names, so either engine loads what the other wrote.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.vqa.spec import VQASpec
from rnnkit.torch_engine import pooling
from rnnkit.torch_engine.arrays import SharedArrays
from rnnkit.torch_engine.attention import AdditiveAttention
from rnnkit.torch_engine.bidirectional import ragged_forward
from rnnkit.torch_engine.fused import fusable
from rnnkit.torch_engine.image_encoder import ImageEncoder
from rnnkit.torch_engine.layers import Affine, Embedding
from rnnkit.torch_engine.losses import cross_entropy_sum, softmax_loss
from rnnkit.torch_engine.minrnn import MinCell
from rnnkit.torch_engine.options import TorchOptions
from rnnkit.torch_engine.recurrent import CELL_TYPES


class TorchVQA(SharedArrays, nn.Module):
    """A VQA model built from a :class:`VQASpec`; ``named_parameters()`` follow ``spec.param_shapes()``.

    Inputs may be tensors or NumPy arrays: images (N, Hi, Wi, C_0) floats, ids (N, T) ints, mask
    (N, T) booleans (right padding, a real word in every row), answers (N,) ints.
    """

    def __init__(self, spec: VQASpec, options: TorchOptions | None = None) -> None:
        super().__init__()
        self.spec = self.config = spec
        self.options = options or TorchOptions()
        cls = CELL_TYPES[spec.cell]
        kwargs = {"scan": self.options.scan} if issubclass(cls, MinCell) else {}
        rec = spec.recurrent
        self.enc = ImageEncoder(spec.encoder)
        self.img = Affine(spec.encoder.features, spec.hidden)
        self.embed = Embedding(spec.vocab_size, spec.embed_dim)
        self.rnn = nn.ModuleList([cls(rec.layer_input(l), spec.hidden, **kwargs) for l in range(spec.layers)])
        for k in range(spec.hops):
            setattr(self, f"hop{k}", AdditiveAttention(spec.hidden, spec.hidden, spec.attention))
        self.head = Affine(spec.hidden, spec.answers)

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, nn.Parameter]]:
        """The parameters in ``spec.param_shapes()`` order (module order would put the hops last)."""
        found = dict(super().named_parameters(prefix, recurse, remove_duplicate))
        if not recurse:
            return iter(found.items())
        dot = prefix + "." if prefix else ""
        return iter([(dot + name, found[dot + name]) for name in self.spec.param_shapes()])

    def init_state(self, n: int) -> None:
        return None

    def _inputs(self, *arrays):
        device, dtype = self.head.W.device, self.head.W.dtype
        out = []
        for a in arrays:
            t = torch.as_tensor(a, device=device)
            out.append(t.to(dtype) if t.is_floating_point() else t)
        return out

    def head_scores(self, grid: Tensor, ids, mask, training: bool | None = None) -> tuple[Tensor, Tensor]:
        """Answer scores (N, C_ans) and the hops' attention (N, K, L) from image features grid
        (N, h, w, C) or (N, L, C); dropout when ``training`` (None: ``self.training``)."""
        training = self.training if training is None else training
        ids, mask = self._inputs(ids, mask)
        mask = mask.bool()
        N, T = mask.shape
        lengths = mask.sum(dim=1)
        expected = torch.arange(T, device=mask.device)[None, :] < lengths[:, None]
        if not torch.equal(mask, expected) or not bool(lengths.min() > 0):
            raise ValueError("mask must be right padding with at least one real word a row")
        v = torch.tanh(self.img(grid.reshape(N, -1, grid.shape[-1])))                # (N, L, H)
        full = bool(lengths.min() == T)
        fused = self.options.path != "explicit" and fusable(list(self.rnn))
        y = ragged_forward([self.rnn], self.embed(ids), None if full else lengths, self.spec.dropout, training,
                           fused=fused)                                             # (N, T, H)
        u = pooling.last_pool(y, lengths)                                           # (N, H)
        weights = []
        for k in range(self.spec.hops):
            context, alpha = getattr(self, f"hop{k}")(u, v, v)
            u = u + context
            weights.append(alpha)
        scores = self.head(F.dropout(u, self.spec.dropout, training))
        return scores, torch.stack(weights, dim=1)

    def scores(self, images, ids, mask, training: bool | None = None) -> tuple[Tensor, Tensor]:
        """(scores (N, C_ans), attention (N, K, L)) of questions about images (N, Hi, Wi, C_0)."""
        (images,) = self._inputs(images)
        _, grid = self.enc(images)
        return self.head_scores(grid, ids, mask, training)

    def forward(self, images, ids, mask) -> Tensor:
        return self.scores(images, ids, mask)[0]

    def loss(self, images, ids, mask, answers, state=None) -> tuple[Tensor, None]:
        """The mean cross-entropy over the batch (a scalar tensor) and None (no state)."""
        (answers,) = self._inputs(answers)
        return softmax_loss(self(images, ids, mask), answers), None

    @torch.no_grad()
    def evaluate(self, images, ids, mask, answers, state=None) -> tuple[dict, None]:
        """({"nats", "correct", "count"}, None) over the batch, without dropout or gradients."""
        (answers,) = self._inputs(answers)
        scores, _ = self.scores(images, ids, mask, training=False)
        return {"nats": float(cross_entropy_sum(scores, answers)),
                "correct": int((scores.argmax(dim=1) == answers).sum()), "count": int(answers.shape[0])}, None

    @torch.no_grad()
    def predict_proba(self, images, ids, mask) -> Tensor:
        return F.softmax(self.scores(images, ids, mask, training=False)[0], dim=-1)

    @torch.no_grad()
    def attention(self, images, ids, mask) -> Tensor:
        """Each hop's attention over the image locations (N, K, L)."""
        return self.scores(images, ids, mask, training=False)[1]

    @classmethod
    def create(cls, spec: VQASpec, seed: int = 0, options: TorchOptions | None = None, *,
               dtype: torch.dtype = torch.float32, device=None) -> "TorchVQA":
        """A new model initialised like the NumPy engine's (``spec.init_params``, the same seed)."""
        return cls.from_arrays(spec, spec.init_params(np.random.default_rng(seed)), options,
                               dtype=dtype, device=device)
