"""The frame tagger as a PyTorch module, in the shared model format.

Dimensions: N batch, T frames, F per-frame features, H hidden size, K directions, C classes.

    frames (N, T, ...) -> encoder on all N*T frames at once              feats (N, T, F)
        image: rnnkit/torch_engine/image_encoder.py; vector: relu(x enc.W + enc.b)
    -> L recurrent layers, K directions, over each row's real frames
       (rnnkit/torch_engine/bidirectional.py; none when frame_alone)     y (N, T, K*H)
    -> skip: y = [y, feats], the head also reads the frame itself         (N, T, K*H + F)
    -> dropout -> head                                                   scores (N, T, C)
    -> cross-entropy at every real frame, the mean over them (temporal_softmax_loss)

The same function as the NumPy engine's Tagger (tests/models/test_tagger_torch.py, float64).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import UsageError
from rnnkit.models.tagger.spec import TaggerSpec
from rnnkit.torch_engine.arrays import SharedArrays
from rnnkit.torch_engine.bidirectional import ragged_forward
from rnnkit.torch_engine.fused import fusable
from rnnkit.torch_engine.image_encoder import ImageEncoder
from rnnkit.torch_engine.layers import Affine
from rnnkit.torch_engine.losses import cross_entropy_sum, temporal_softmax_loss
from rnnkit.torch_engine.minrnn import MinCell
from rnnkit.torch_engine.options import TorchOptions
from rnnkit.torch_engine.recurrent import CELL_TYPES


class TorchTagger(SharedArrays, nn.Module):
    """A frame tagger built from a :class:`TaggerSpec`; ``named_parameters()`` are exactly
    ``spec.param_shapes()``. Inputs may be tensors or NumPy arrays: frames (N, T, ...) floats,
    mask (N, T) booleans (right padding), labels (N, T) ints."""

    def __init__(self, spec: TaggerSpec, options: TorchOptions | None = None) -> None:
        super().__init__()
        self.spec = self.config = spec
        self.options = options or TorchOptions()
        self.enc = ImageEncoder(spec.encoder) if spec.frames == "image" else Affine(spec.input_dim, spec.embed_dim)
        self.rnn = self.rnn_rev = None
        if not spec.frame_alone:
            cls = CELL_TYPES[spec.cell]
            kwargs = {"scan": self.options.scan} if issubclass(cls, MinCell) else {}
            rec = spec.recurrent

            def direction():
                return nn.ModuleList([cls(rec.layer_input(l), spec.hidden, **kwargs) for l in range(spec.layers)])

            self.rnn = direction()
            self.rnn_rev = direction() if spec.bidirectional else None
            if self.options.path == "fused" and not fusable(list(self.rnn)):
                raise UsageError(f"PyTorch has no fused kernel for {spec.cell!r} cells")
        self.head = Affine(spec.head_input, spec.classes)

    @property
    def uses_fused(self) -> bool:
        return self.rnn is not None and self.options.path != "explicit" and fusable(list(self.rnn))

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, nn.Parameter]]:
        """The parameters in ``spec.param_shapes()`` order (layer by layer, both directions)."""
        found = dict(super().named_parameters(prefix, recurse, remove_duplicate))
        if not recurse:
            return iter(found.items())
        dot = prefix + "." if prefix else ""
        return iter([(dot + name, found[dot + name]) for name in self.spec.param_shapes()])

    def init_state(self, n: int) -> None:
        return None

    def scores(self, frames, mask, training: bool | None = None) -> Tensor:
        """Class scores (N, T, C) at every frame; dropout when ``training`` (None: ``self.training``)."""
        training = self.training if training is None else training
        device = self.head.W.device
        frames = torch.as_tensor(frames, device=device).to(self.head.W.dtype)
        mask = torch.as_tensor(mask, device=device).bool()
        N, T = mask.shape
        if tuple(frames.shape) != (N, T, *self.spec.frame_shape()):
            raise ValueError(f"frames must be (N, T, {', '.join(map(str, self.spec.frame_shape()))}), "
                             f"got {tuple(frames.shape)}")
        lengths = mask.sum(dim=1)
        expected = torch.arange(T, device=device)[None, :] < lengths[:, None]
        if not torch.equal(mask, expected) or not bool(lengths.min() > 0):
            raise ValueError("mask must be right padding with at least one real frame a row")
        if self.spec.frames == "image":
            feats = self.enc(frames.reshape(N * T, *frames.shape[2:]))[0].reshape(N, T, -1)
        else:
            feats = torch.relu(self.enc(frames))
        y = feats
        if self.rnn is not None:
            directions = [self.rnn] if self.rnn_rev is None else [self.rnn, self.rnn_rev]
            full = bool(lengths.min() == T)
            y = ragged_forward(directions, feats, None if full else lengths, self.spec.dropout, training,
                               fused=self.uses_fused)
            if self.spec.skip:
                y = torch.cat([y, feats], dim=-1)
        return self.head(F.dropout(y, self.spec.dropout, training))

    def forward(self, frames, mask) -> Tensor:
        return self.scores(frames, mask)

    def loss(self, frames, mask, labels, state=None) -> tuple[Tensor, None]:
        """The mean cross-entropy over the real frames (a scalar tensor) and None."""
        scores = self(frames, mask)
        mask = torch.as_tensor(mask, device=scores.device).bool()
        labels = torch.as_tensor(labels, device=scores.device).long().masked_fill(~mask, 0)
        return temporal_softmax_loss(scores, labels, mask, average="tokens"), None

    @torch.no_grad()
    def evaluate(self, frames, mask, labels, state=None) -> tuple[dict, None]:
        """({"nats", "correct", "count"} over the real frames, None), without dropout."""
        scores = self.scores(frames, mask, training=False)
        keep = torch.as_tensor(mask, device=scores.device).bool()
        labels = torch.as_tensor(labels, device=scores.device).long()[keep]
        picked = scores[keep]
        return {"nats": float(cross_entropy_sum(picked, labels)),
                "correct": int((picked.argmax(dim=1) == labels).sum()), "count": int(keep.sum())}, None

    @torch.no_grad()
    def predict_proba(self, frames, mask) -> Tensor:
        """Class probabilities (N, T, C), without dropout."""
        return F.softmax(self.scores(frames, mask, training=False), dim=-1)

    @classmethod
    def create(cls, spec: TaggerSpec, seed: int = 0, options: TorchOptions | None = None, *,
               dtype: torch.dtype = torch.float32, device=None) -> "TorchTagger":
        """A new model initialised like the NumPy engine's (``spec.init_params``, the same seed)."""
        return cls.from_arrays(spec, spec.init_params(np.random.default_rng(seed)), options,
                               dtype=dtype, device=device)
