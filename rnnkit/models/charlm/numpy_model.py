"""The character-level language model in the NumPy engine.

    ids (N, T) -> layer 0's projection -> the recurrent stack (rnnkit/numpy_engine/recurrent.py)
               -> dropout -> affine (H, V) -> logits -> temporal_softmax_loss (nats per character)

Layer 0's projection ``x Wx + b`` of a character is a row of a (V, G*H) table: ``Wx`` itself for
one-hot input, ``embed.W @ Wx`` with an embedding. Looking rows up replaces the (T*N, E) x
(E, G*H) product whenever the batch holds more characters than the vocabulary; otherwise the
embedded characters are multiplied as usual. Everything runs time-major (rows t * N + n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.cells import CELLS
from rnnkit.models.numpy_base import NumpyModel
from rnnkit.numpy_engine.layers import dropout_backward, dropout_forward, scatter_add_rows
from rnnkit.numpy_engine.losses import cross_entropy_sum, temporal_softmax_loss
from rnnkit.numpy_engine.recurrent import StackCache, stack_backward, stack_forward, zero_state


@dataclass
class _ForwardCache:
    ids_tm: np.ndarray        # (T, N)
    embedded: np.ndarray | None  # (T, N, E) layer 0's input when it is multiplied, not looked up
    stack: StackCache
    dropout: object           # the dropout before the head
    top: np.ndarray           # (T*N, H) what the head read


class CharLM(NumpyModel):
    """A character model: its spec and a flat dict of named parameter arrays.

    State (what truncated BPTT carries from chunk to chunk) is a list with one tuple per layer:
    (h,) for most cells, (h, c) for lstm and lnlstm, each (N, H).
    """

    def init_state(self, batch: int) -> list:
        """Zero state for ``batch`` streams."""
        return zero_state(self.spec.recurrent, batch, self.dtype)

    def _uses_table(self, rows: int) -> bool:
        """Whether layer 0 reads its projection from a (V, G*H) table rather than multiplying."""
        return not self.spec.embed_dim or self.spec.vocab_size < rows

    def _input(self, ids_tm):
        """Layer 0's input: (proj0, None) from the table, or (None, embedded (T, N, E))."""
        p, spec = self.params, self.spec
        T, N = ids_tm.shape
        if not self._uses_table(T * N):
            return None, p["embed.W"][ids_tm]
        table = p["rnn.0.Wx"] if not spec.embed_dim else p["embed.W"] @ p["rnn.0.Wx"]
        proj = table[ids_tm]
        bias = CELLS[spec.cell].input_bias
        if bias:
            proj += p["rnn.0." + bias]
        return proj, None

    def forward(self, ids, state, rng=None):
        """Logits for every step.

        Inputs: ids (N, T) ints, state (see the class), rng a numpy Generator for dropout (None: no
        dropout, as at evaluation).
        Returns: logits (T*N, V) time-major rows, the final state, and a cache for backward.
        """
        p, spec = self.params, self.spec
        ids_tm = np.ascontiguousarray(ids.T)
        T, N = ids_tm.shape
        proj0, embedded = self._input(ids_tm)
        hs, new_state, stack_cache = stack_forward(embedded, state, p, spec.recurrent, "rnn.", rng, proj0=proj0)
        top, dcache = dropout_forward(hs.reshape(T * N, -1), spec.dropout, rng)
        logits = top @ p["head.W"]
        logits += p["head.b"]
        return logits, new_state, _ForwardCache(ids_tm, embedded, stack_cache, dcache, top)

    def loss(self, ids, targets, state, rng=None):
        """Mean cross-entropy (nats per character) and its gradient on every parameter.

        Inputs: ids, targets (N, T) ints; state; rng for dropout (None: none).
        Returns: loss (float), grads (dict like params), the final state (carry it to the next chunk).
        """
        logits, new_state, cache = self.forward(ids, state, rng)
        T, N = cache.ids_tm.shape
        targets_tm = np.ascontiguousarray(targets.T)
        loss, dlogits = temporal_softmax_loss(logits.reshape(T, N, -1), targets_tm, average="tokens")
        return loss, self.backward(dlogits.reshape(T * N, -1), cache), new_state

    def backward(self, dlogits, cache: _ForwardCache) -> dict:
        """Gradients of every parameter given dlogits (T*N, V), time-major rows."""
        p, spec = self.params, self.spec
        T, N = cache.ids_tm.shape
        grads = {"head.W": cache.top.T @ dlogits, "head.b": dlogits.sum(axis=0)}
        dtop = dropout_backward(dlogits @ p["head.W"].T, cache.dropout).reshape(T, N, -1)
        dinput, _ = stack_backward(dtop, cache.stack, p, grads)
        ids = cache.ids_tm.reshape(-1)
        if cache.embedded is not None:  # dinput is the gradient on the embedded characters
            grads["embed.W"] = scatter_add_rows(ids, dinput.reshape(T * N, -1), spec.vocab_size)
            return grads
        # dinput is the gradient on the looked-up projection: dtable[v] = sum of its rows with id v.
        dtable = scatter_add_rows(ids, dinput.reshape(T * N, -1), spec.vocab_size)  # (V, G*H)
        if not spec.embed_dim:
            grads["rnn.0.Wx"] = dtable
        else:
            grads["rnn.0.Wx"] = p["embed.W"].T @ dtable  # table = embed.W @ Wx
            grads["embed.W"] = dtable @ p["rnn.0.Wx"].T
        return grads

    def evaluate(self, ids, targets, state):
        """Summed cross-entropy over all N*T characters, without dropout or gradients.

        Returns: ({"nats": summed nats, "count": N*T}, new_state).
        """
        logits, new_state, _ = self.forward(ids, state)
        nats = cross_entropy_sum(logits, np.ascontiguousarray(targets.T).reshape(-1))
        return {"nats": nats, "count": int(targets.size)}, new_state

    def step(self, ids, state):
        """One step for sampling: ids (N,) -> logits (N, V), new state."""
        logits, new_state, _ = self.forward(np.asarray(ids).reshape(-1, 1), state)
        return logits, new_state
