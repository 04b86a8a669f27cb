"""The captioner (CS231n style, no attention) in the NumPy engine: forward and backward by hand.

Dimensions as in rnnkit/models/captioner/spec.py: N batch, C feature width, T caption steps,
E embedding width, H hidden size, V vocabulary.

    images -> encoder_forward -> features (N, C)
    h_0 = features feat.W + feat.b (N, H), given to every layer (c_0 = 0)
    x = embed.W[words_in^T] (T, N, E) -> stack_forward from [(h_0, 0)] * L -> y (T, N, H)
    scores = dropout(y) head.W + head.b (T, N, V), as (N, T, V) -> temporal_softmax_loss(scores, words_out, mask)

Backward: the loss's dscores through the head, stack_backward (which returns the gradient on the
initial state: each layer's dh_0, summed since they share h_0), feat, then the encoder. Padding
needs no special care: the stack runs forward in time, so a padded step t (mask 0, and every
later step padded too: right padding) sends no loss gradient back, and reads no later input.

A model of feature grids (``spec.grid``) has no encoder: its input is the grid (N, h, w, C),
features are the grid's mean, and the backward stops at feat (nothing learns the grids).
With ``global_feature="flat"`` the features are the whole grid in place (N, h*w*C) and their
gradient, reshaped to the grid, joins attention's on its way into the encoder.

With ``attention="soft"`` the decoder runs step by step with attention over the encoder's grid
(rnnkit/models/captioner/soft_attention.py), and the loss adds the doubly stochastic penalty.

Greedy captioning (:meth:`Captioner.greedy`) runs the stack one step at a time
(rnnkit/numpy_engine/step.py), feeding each step's most likely word to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.models.captioner.soft_attention import (SoftCache, soft_decode_backward, soft_decode_forward,
                                                    soft_greedy_step)
from rnnkit.models.numpy_base import NumpyModel
from rnnkit.numpy_engine.image_encoder import encoder_backward, encoder_forward
from rnnkit.numpy_engine.layers import dropout_backward, dropout_forward, scatter_add_rows
from rnnkit.numpy_engine.losses import temporal_softmax_loss
from rnnkit.numpy_engine.recurrent import StackCache, stack_backward, stack_forward, zero_state
from rnnkit.numpy_engine.step import stack_step_forward


@dataclass
class _Cache:
    encoder: object
    features: np.ndarray   # (N, C)
    ids_tm: np.ndarray     # (T, N) words_in
    stack: StackCache | SoftCache
    y: np.ndarray          # (T, N, H), after dropout: what the word layer reads
    dropout: object        # the dropout before the word layer
    grid_shape: tuple      # (N, h, w, C)
    penalty: float         # the doubly stochastic penalty (0 without attention)


class Captioner(NumpyModel):
    """An image captioner: its spec and a flat dict of named parameter arrays."""

    def init_state(self, n: int) -> None:
        return None

    def initial_state(self, features):
        """Every layer's state before the first word: h = features feat.W + feat.b, the rest 0."""
        p, spec = self.params, self.spec
        h0 = features @ p["feat.W"] + p["feat.b"]                                   # (N, H)
        zeros = zero_state(spec.recurrent, features.shape[0], h0.dtype)
        return [(h0, *layer[1:]) for layer in zeros]

    def encode(self, images):
        """(features (N, C) or flat (N, h*w*C), grid (N, h, w, C), encoder cache) of pictures
        (N, Hi, Wi, C_0) through the conv encoder, or of feature grids (N, h, w, C) as they are
        (cache None)."""
        spec = self.spec
        if spec.grid is None:
            features, grid, cache = encoder_forward(images, self.params, spec.encoder, "enc.")
        else:
            grid = np.asarray(images, dtype=self.dtype)
            if grid.ndim != 4 or grid.shape[1:] != spec.grid:
                raise ValueError(f"this captioner reads feature grids (N, {', '.join(map(str, spec.grid))}), "
                                 f"got {grid.shape}")
            features, cache = grid.mean(axis=(1, 2)), None
        if spec.global_feature == "flat":
            features = grid.reshape(grid.shape[0], -1)
        return features, grid, cache

    def forward(self, images, words_in, mask=None, rng=None):
        """Scores (N, T, V) of the next word after each of words_in (N, T), and a cache; ``mask``
        (N, T) (None: all real) counts the steps of the attention penalty."""
        p, spec = self.params, self.spec
        features, grid, enc_cache = self.encode(images)
        ids_tm = np.ascontiguousarray(np.asarray(words_in).T)                         # (T, N)
        x, state = p["embed.W"][ids_tm], self.initial_state(features)
        penalty = 0.0
        if spec.attention == "soft":
            mask = np.ones(ids_tm.shape[::-1], bool) if mask is None else mask
            a = grid.reshape(grid.shape[0], -1, grid.shape[-1])                          # (N, L, C)
            y, penalty, stack_cache = soft_decode_forward(x, a, state, p, spec, mask, rng)
        else:
            y, _, stack_cache = stack_forward(x, state, p, spec.recurrent, "rnn.", rng)  # (T, N, H)
        y, drop = dropout_forward(y, spec.dropout, rng)                               # training only (rng)
        scores = y @ p["head.W"] + p["head.b"]                                       # (T, N, V)
        return scores.transpose(1, 0, 2), _Cache(enc_cache, features, ids_tm, stack_cache, y, drop, grid.shape,
                                                 penalty)

    def loss(self, images, captions, mask, state=None, rng=None):
        """Inputs: images (N, Hi, Wi, C_0) or feature grids (N, h, w, C); captions (N, T+1) ids
        starting with the start word; mask (N, T) True where captions[:, 1:] holds a real word (right padding).
        Returns: loss (summed over time, averaged over the batch), grads, None."""
        p, spec = self.params, self.spec
        captions = np.asarray(captions)
        scores, c = self.forward(images, captions[:, :-1], np.asarray(mask), rng)
        loss, dscores = temporal_softmax_loss(scores, captions[:, 1:], np.asarray(mask))
        ds = np.ascontiguousarray(dscores.transpose(1, 0, 2))                        # (T, N, V)
        T, N, V = ds.shape
        grads = {"head.W": c.y.reshape(T * N, -1).T @ ds.reshape(T * N, V), "head.b": ds.sum(axis=(0, 1))}
        dy = dropout_backward(ds @ p["head.W"].T, c.dropout)                         # (T, N, H)
        dgrid = None
        if spec.attention == "soft":
            dgrid, dstate0, dx = soft_decode_backward(dy, c.stack, p, spec, grads)
            dgrid = dgrid.reshape(c.grid_shape)
        else:
            dx, dstate0 = stack_backward(dy, c.stack, p, grads)                        # (T, N, E)
        grads["embed.W"] = scatter_add_rows(c.ids_tm.reshape(-1), dx.reshape(T * N, -1), spec.vocab_size)
        dh0 = sum(layer[0] for layer in dstate0)                                      # shared by the layers
        grads["feat.W"], grads["feat.b"] = c.features.T @ dh0, dh0.sum(axis=0)
        if c.encoder is not None:   # feature grids are data: the gradient stops at feat and att
            dfeatures = dh0 @ p["feat.W"].T
            if spec.global_feature == "flat":   # the flat feature is the grid itself
                dflat = dfeatures.reshape(c.grid_shape)
                dfeatures, dgrid = None, dflat if dgrid is None else dgrid + dflat
            encoder_backward(dfeatures, dgrid, c.encoder, grads)
        return loss + c.penalty, {name: grads[name] for name in spec.param_shapes()}, None

    def attention(self, images, words_in) -> np.ndarray:
        """Soft attention's weights (N, T, L) at each step of the teacher-forced words (N, T)."""
        _, cache = self.forward(images, words_in)
        return cache.stack.weights

    def greedy(self, images, start_id: int, end_id: int, max_len: int) -> np.ndarray:
        """Greedy captions (N, max_len) of word ids, each row ``end_id``-padded after its end word."""
        p, spec = self.params, self.spec
        features, grid, _ = self.encode(images)
        state = self.initial_state(features)
        a = grid.reshape(grid.shape[0], -1, grid.shape[-1])                              # (N, L, C)
        keys_proj = a @ p["att.Wk"] if spec.attention == "soft" else None
        N = features.shape[0]
        words = np.full(N, start_id)
        out = np.full((N, max_len), end_id)
        done = np.zeros(N, bool)
        for t in range(max_len):
            if keys_proj is not None:
                h, state, _ = soft_greedy_step(p["embed.W"][words], state, keys_proj, a, p, spec)
            else:
                h, state, _ = stack_step_forward(p["embed.W"][words], state, p, spec.recurrent)
            words = (h @ p["head.W"] + p["head.b"]).argmax(axis=1)
            out[~done, t] = words[~done]
            done |= words == end_id
            if done.all():
                break
        return out
