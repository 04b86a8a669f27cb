"""The VQA model in the NumPy engine: every forward and backward by hand, from the shared pairs.

Dimensions as in rnnkit/models/vqa/spec.py: N batch, L = h*w image locations, C encoder channels,
T question length, E embedding width, H hidden size, A attention size, K hops, C_ans answers.

    images -> encoder_forward (numpy_engine/image_encoder.py)      grid (N, h, w, C)
    v_I = tanh(grid img.W + img.b)                                 (N, L, H)
    ids^T -> embed.W -> stack_forward with lengths -> last_pool    u_0 (N, H)
    hop k: additive_attention_forward(u_k, v_I, v_I, Wq, Wk, b, v) v~_k (N, H), p_k (N, L)
           u_{k+1} = u_k + v~_k
    scores = dropout(u_K) head.W + head.b; softmax_loss

Backward runs the chain in reverse. v_I is both keys and values of every hop, so its gradient is
the sum over hops of dkeys + dvalues; u_k receives du_{k+1} directly (the residual) plus the hop's
dquery. The head (everything after the grid: :meth:`VQA.head_forward`) is what the parity tests
hold to the torch engine given the same image features; :meth:`VQA.loss` adds the encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.models.classifier.numpy_model import lengths_from_mask
from rnnkit.models.numpy_base import NumpyModel
from rnnkit.numpy_engine import pooling
from rnnkit.numpy_engine.attention import additive_attention_backward, additive_attention_forward
from rnnkit.numpy_engine.image_encoder import encoder_backward, encoder_forward
from rnnkit.numpy_engine.layers import dropout_backward, dropout_forward, scatter_add_rows
from rnnkit.numpy_engine.losses import cross_entropy_sum, log_softmax, softmax_loss
from rnnkit.numpy_engine.recurrent import StackCache, stack_backward, stack_forward


@dataclass
class HeadCache:
    grid: np.ndarray      # (N, L, C) the image features the head read
    v: np.ndarray         # (N, L, H) tanh(grid img.W + img.b)
    ids_tm: np.ndarray    # (T, N)
    mask_tm: np.ndarray   # (T, N) bool
    stack: StackCache
    pool: object          # last-step pooling of the question
    hops: list            # per hop: the attention cache
    dropout: object       # the dropout before the answer layer
    top: np.ndarray       # (N, H) what the answer layer read
    weights: np.ndarray   # (N, K, L) each hop's attention


class VQA(NumpyModel):
    """Stacked attention over a convolutional encoder's grid, guided by an LSTM's question vector."""

    def init_state(self, n: int) -> None:
        """Nothing: each question is answered on its own."""
        return None

    def head_forward(self, grid, ids, mask, rng=None):
        """Answer scores from image features.

        Inputs: grid (N, h, w, C) or (N, L, C); ids (N, T) ints; mask (N, T) right padding;
        rng for dropout (None: none).
        Returns: scores (N, C_ans), and a cache (its ``weights`` (N, K, L) are the hops' attention).
        """
        p, spec = self.params, self.spec
        N = grid.shape[0]
        grid = grid.reshape(N, -1, grid.shape[-1])                              # (N, L, C)
        v = np.tanh(grid @ p["img.W"] + p["img.b"])                             # (N, L, H)
        lengths = lengths_from_mask(mask)
        ids_tm = np.ascontiguousarray(np.asarray(ids).T)
        mask_tm = np.ascontiguousarray(np.asarray(mask, dtype=bool).T)
        full = bool(np.all(lengths == ids_tm.shape[0]))
        y, _, stack_cache = stack_forward(p["embed.W"][ids_tm], None, p, spec.recurrent, "rnn.", rng,
                                          lengths=None if full else lengths)  # (T, N, H)
        u, pool_cache = pooling.last_pool_forward(y, lengths)                   # (N, H)
        hops, weights = [], []
        for k in range(spec.hops):
            context, alpha, cache = additive_attention_forward(
                u, v, v, None, p[f"hop{k}.Wq"], p[f"hop{k}.Wk"], p[f"hop{k}.b"], p[f"hop{k}.v"])
            u = u + context
            hops.append(cache)
            weights.append(alpha)
        top, dcache = dropout_forward(u, spec.dropout, rng)
        scores = top @ p["head.W"] + p["head.b"]
        return scores, HeadCache(grid, v, ids_tm, mask_tm, stack_cache, pool_cache, hops, dcache, top,
                                 np.stack(weights, axis=1))

    def head_backward(self, dscores, cache: HeadCache):
        """Gradients of the head's parameters, and dgrid (N, L, C), given dscores (N, C_ans)."""
        p, spec = self.params, self.spec
        grads = {"head.W": cache.top.T @ dscores, "head.b": dscores.sum(axis=0)}
        du = dropout_backward(dscores @ p["head.W"].T, cache.dropout)          # (N, H)
        dv = np.zeros_like(cache.v)                                            # (N, L, H)
        for k in range(spec.hops - 1, -1, -1):
            # u_{k+1} = u_k + context: du flows to u_k unchanged and into the hop's context.
            dquery, dkeys, dvalues, grads[f"hop{k}.Wq"], grads[f"hop{k}.Wk"], grads[f"hop{k}.b"], \
                grads[f"hop{k}.v"] = additive_attention_backward(du, cache.hops[k])
            dv += dkeys
            dv += dvalues
            du = du + dquery
        dy = pooling.last_pool_backward(du, cache.pool)                        # (T, N, H)
        dx, _ = stack_backward(dy, cache.stack, p, grads)                      # (T, N, E)
        grads["embed.W"] = scatter_add_rows(cache.ids_tm[cache.mask_tm], dx[cache.mask_tm], spec.vocab_size)
        dpre = dv * (1.0 - cache.v ** 2)                                       # through tanh
        C = cache.grid.shape[-1]
        grads["img.W"] = cache.grid.reshape(-1, C).T @ dpre.reshape(-1, spec.hidden)
        grads["img.b"] = dpre.sum(axis=(0, 1))
        return dpre @ p["img.W"].T, grads

    def forward(self, images, ids, mask, rng=None):
        """Scores (N, C_ans) of questions about images (N, Hi, Wi, C_0) floats in [0, 1]; and the
        caches of the encoder and the head."""
        _, grid, enc_cache = encoder_forward(images, self.params, self.spec.encoder, "enc.")
        scores, head_cache = self.head_forward(grid, ids, mask, rng)
        return scores, (enc_cache, head_cache)

    def loss(self, images, ids, mask, answers, state=None, rng=None):
        """Mean cross-entropy over the batch and its gradient on every parameter.

        Inputs: images (N, Hi, Wi, C_0); ids, mask (N, T); answers (N,) ints in [0, C_ans);
        state unused (None); rng for dropout.
        Returns: loss (float), grads (dict like params, same order), None (no state).
        """
        scores, (enc_cache, head_cache) = self.forward(images, ids, mask, rng)
        loss, dscores = softmax_loss(scores, np.asarray(answers))
        dgrid, grads = self.head_backward(dscores, head_cache)
        encoder_backward(None, dgrid.reshape(enc_cache.grid_shape), enc_cache, grads)
        return loss, {name: grads[name] for name in self.spec.param_shapes()}, None

    def evaluate(self, images, ids, mask, answers, state=None):
        """({"nats": summed cross-entropy, "correct": right answers, "count": N}, None), no dropout."""
        scores, _ = self.forward(images, ids, mask)
        answers = np.asarray(answers)
        correct = int(np.sum(scores.argmax(axis=1) == answers))
        return {"nats": cross_entropy_sum(scores, answers), "correct": correct, "count": len(answers)}, None

    def predict_proba(self, images, ids, mask) -> np.ndarray:
        """Answer probabilities (N, C_ans) float64."""
        scores, _ = self.forward(images, ids, mask)
        return np.exp(log_softmax(scores.astype(np.float64)))

    def attention(self, images, ids, mask) -> np.ndarray:
        """Each hop's attention over the image locations, (N, K, L) float64 (L = h*w, row-major)."""
        _, (_, head_cache) = self.forward(images, ids, mask)
        return head_cache.weights.astype(np.float64)
