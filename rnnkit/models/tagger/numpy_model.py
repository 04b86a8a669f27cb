"""The frame tagger in the NumPy engine: forward and backward by hand, from the shared pairs.

Dimensions: N batch, T frames, F per-frame features, H hidden size, K directions, C classes.
The recurrence is time-major inside (T, N, ...), like the stack.

    frames (N, T, ...) -> rows n*T + t -> encoder (conv: numpy_engine/image_encoder.py;
        vector: relu(temporal_affine))                                   feats (N, T, F)
    feats^T (T, N, F) -> stack_forward (causal; K = 2: the reverse direction within each
        row's length)                                                    y (T, N, K*H)
        (frame_alone: y = feats^T, no recurrence; skip: y = [y, feats^T]   (T, N, K*H + F))
    y -> dropout -> temporal_affine head                                 scores (T, N, C)
    loss = temporal_softmax_loss(scores^T, labels, mask, average="tokens")
         = -(1 / sum mask) sum_{n, t} mask[n, t] log softmax(scores[n, t])[labels[n, t]]

Backward runs the chain in reverse. Masks are right padding (a clip of fewer frames is padded at
its end); a padded frame changes no probability at a real frame, no loss and no gradient in the
causal model, and none in the bidirectional one either (its reverse direction starts at each
row's last real frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.models.classifier.numpy_model import lengths_from_mask
from rnnkit.models.numpy_base import NumpyModel
from rnnkit.numpy_engine.conv import relu_backward, relu_forward
from rnnkit.numpy_engine.image_encoder import encoder_backward, encoder_forward
from rnnkit.numpy_engine.layers import (dropout_backward, dropout_forward, temporal_affine_backward,
                                        temporal_affine_forward)
from rnnkit.numpy_engine.losses import cross_entropy_sum, log_softmax, temporal_softmax_loss
from rnnkit.numpy_engine.recurrent import stack_backward, stack_forward


@dataclass
class _Cache:
    shape: tuple          # (N, T)
    encoder: object       # the image encoder's cache, or (affine cache, relu mask)
    stack: object         # the stack's cache (None: frame_alone)
    dropout: object
    head: object


class Tagger(NumpyModel):
    """A frame tagger: its spec and a flat dict of named parameter arrays."""

    def init_state(self, n: int) -> None:
        """Nothing: each clip is labelled from its own first frame on."""
        return None

    def _encode(self, frames):
        """frames (N, T, *frame_shape) -> feats (N, T, F), cache."""
        spec, p = self.spec, self.params
        N, T = frames.shape[:2]
        if frames.shape[2:] != spec.frame_shape():
            raise ValueError(f"frames must be (N, T, {', '.join(map(str, spec.frame_shape()))}), got {frames.shape}")
        if spec.frames == "image":
            feats, _, cache = encoder_forward(frames.reshape(N * T, *frames.shape[2:]), p, spec.encoder)
            return feats.reshape(N, T, -1), cache
        pre, affine = temporal_affine_forward(frames, p["enc.W"], p["enc.b"])
        feats, positive = relu_forward(pre)
        return feats, (affine, positive)

    def forward(self, frames, mask, rng=None):
        """Class scores at every frame.

        Inputs: frames (N, T, H_img, W_img) or (N, T, D) floats; mask (N, T) booleans, right
        padding; rng for dropout (None: none).
        Returns: scores (N, T, C), and a cache for backward.
        """
        spec, p = self.spec, self.params
        frames = np.asarray(frames, dtype=self.dtype)
        lengths = lengths_from_mask(mask)
        N, T = frames.shape[:2]
        feats, enc_cache = self._encode(frames)
        feats = np.ascontiguousarray(feats.transpose(1, 0, 2))  # (T, N, F)
        x, stack_cache = feats, None
        if not spec.frame_alone:
            full = bool(np.all(lengths == T))
            x, _, stack_cache = stack_forward(feats, None, p, spec.recurrent, "rnn.", rng,
                                              lengths=None if full else lengths)
        if spec.skip:
            x = np.concatenate([x, feats], axis=2)  # (T, N, K*H + F)
        top, dcache = dropout_forward(x, spec.dropout, rng)
        scores, head = temporal_affine_forward(top, p["head.W"], p["head.b"])  # (T, N, C)
        return scores.transpose(1, 0, 2), _Cache((N, T), enc_cache, stack_cache, dcache, head)

    def loss(self, frames, mask, labels, state=None, rng=None):
        """Mean cross-entropy over the real frames and its gradient on every parameter.

        Inputs: frames, mask (N, T) as :meth:`forward`; labels (N, T) ints in [0, C) (any value at
        padded frames); state unused; rng for dropout.
        Returns: loss (float), grads (dict like params, same order), None.
        """
        scores, cache = self.forward(frames, mask, rng)
        labels = np.where(np.asarray(mask, dtype=bool), labels, 0)
        loss, dscores = temporal_softmax_loss(scores, labels, np.asarray(mask), average="tokens")
        return loss, self.backward(dscores, cache), None

    def loss_weight(self, frames, mask, labels) -> float:
        """The loss is a mean over real frames, and clips differ in length: their number (weights
        the worker shards, rnnkit/runtime/shards.py)."""
        return float(np.sum(mask))

    def backward(self, dscores, cache: _Cache) -> dict:
        """Gradients of every parameter given dscores (N, T, C)."""
        spec, p = self.spec, self.params
        N, T = cache.shape
        grads = {}
        dtop, grads["head.W"], grads["head.b"] = temporal_affine_backward(
            np.ascontiguousarray(dscores.transpose(1, 0, 2)), cache.head)
        dx = dropout_backward(dtop, cache.dropout)
        dskip = None
        if spec.skip:  # the head read [y, feats]: split off the direct read of the features
            width = spec.directions * spec.hidden
            dx, dskip = np.ascontiguousarray(dx[:, :, :width]), dx[:, :, width:]
        if cache.stack is not None:
            dx, _ = stack_backward(dx, cache.stack, p, grads)
        if dskip is not None:
            dx = dx + dskip
        dfeats = dx.transpose(1, 0, 2)  # (N, T, F)
        if spec.frames == "image":
            encoder_backward(np.ascontiguousarray(dfeats).reshape(N * T, -1), None, cache.encoder, grads,
                             need_dimages=False)
        else:
            affine, positive = cache.encoder
            _, grads["enc.W"], grads["enc.b"] = temporal_affine_backward(relu_backward(dfeats, positive), affine)
        return {name: grads[name] for name in spec.param_shapes()}

    def evaluate(self, frames, mask, labels, state=None):
        """Summed statistics over the real frames, without dropout or gradients:
        ({"nats", "correct", "count"}, None)."""
        scores, _ = self.forward(frames, mask)
        keep = np.asarray(mask, dtype=bool)
        labels = np.asarray(labels)[keep]
        picked = scores[keep]
        return {"nats": cross_entropy_sum(picked, labels), "correct": int(np.sum(picked.argmax(axis=1) == labels)),
                "count": int(keep.sum())}, None

    def predict_proba(self, frames, mask) -> np.ndarray:
        """Class probabilities at every frame (N, T, C) float64, without dropout."""
        scores, _ = self.forward(frames, mask)
        return np.exp(log_softmax(scores.astype(np.float64)))
