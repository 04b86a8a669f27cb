"""The character-level language model of the NumPy engine.

    ids (N, T) -> one-hot or embedding -> L recurrent layers (rnn | lstm | gru) with dropout between
    them -> dropout -> affine (H, V) -> logits (N, T, V) -> softmax cross-entropy

Many-to-many: every step predicts the next character. The loss is the mean over all N*T
characters, in nats; bits per character = loss / ln 2.

Everything runs time-major inside (see stack.py); parameters follow the shared model format of
docs/architecture.md, so the PyTorch engine loads the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.config import ModelConfig
from rnnkit.numpy_engine.layers import dropout_backward, dropout_forward, log_softmax, scatter_add_rows
from rnnkit.numpy_engine.stack import input_bias, recurrence_backward, recurrence_forward


def init_params(config: ModelConfig, rng: np.random.Generator, dtype=np.float32) -> dict:
    """Initial weights.

    - Wx, head.W: uniform(-1/sqrt(H), 1/sqrt(H)), as PyTorch initialises its recurrent layers.
    - embed.W: N(0, 1), as PyTorch's nn.Embedding, so the input reaches the first layer with
      pre-activations of a useful size (about 0.3) from the first step.
    - layer 0's Wx under one-hot input: uniform(-0.5, 0.5), the same size of input signal. With
      uniform(-1/sqrt(H), 1/sqrt(H)) instead the input is ~8x weaker than the recurrence at the
      start, and training spends its first hundreds of steps growing it (measured on the KJV corpus).
    - Wh: each H x H gate block orthogonal, which keeps the recurrence's gain near 1 at the start.
    - biases zero. (A forget-gate bias of 1, often recommended, trained measurably slower here:
      training bpc 1.92 against 1.87 after 800 steps of an LSTM H=256 x 2 on the KJV corpus.)
    """
    H = config.hidden
    bound = 1.0 / np.sqrt(H)
    params = {}
    for name, shape in config.param_shapes().items():
        kind = name.rsplit(".", 1)[1]
        if name == "embed.W":
            value = rng.standard_normal(shape)
        elif name == "rnn.0.Wx" and not config.embed_dim:
            value = rng.uniform(-0.5, 0.5, size=shape)
        elif kind == "Wh":
            blocks = [np.linalg.qr(rng.standard_normal((H, H)))[0] for _ in range(config.gates)]
            value = np.concatenate(blocks, axis=1)
        elif kind in ("b", "bx", "bh"):
            value = np.zeros(shape)
        else:
            value = rng.uniform(-bound, bound, size=shape)
        params[name] = np.ascontiguousarray(value, dtype=dtype)
    return params


@dataclass
class _ForwardCache:
    ids_tm: np.ndarray   # (T, N)
    inputs: list         # per layer: what it read, (T*N, D_l) (None for a one-hot layer 0)
    recurrences: list    # per layer: RecurrenceCache
    dropouts: list       # per layer: the dropout applied to its output
    top: np.ndarray      # (T*N, H) what the head read
    probs: np.ndarray    # (T*N, V) softmax probabilities


class CharLM:
    """A character model: its configuration and a flat dict of named parameter arrays.

    State (what truncated BPTT carries from chunk to chunk) is a list with one tuple per layer:
    (h,) for rnn and gru, (h, c) for lstm, each (N, H).
    """

    def __init__(self, config: ModelConfig, params: dict):
        missing = set(config.param_shapes()) - set(params)
        if missing:
            raise ValueError(f"parameters missing: {', '.join(sorted(missing))}")
        self.config = config
        self.params = params

    @classmethod
    def create(cls, config: ModelConfig, seed: int = 0, dtype=np.float32) -> "CharLM":
        return cls(config, init_params(config, np.random.default_rng(seed), dtype))

    @property
    def dtype(self):
        return self.params["head.W"].dtype

    def init_state(self, batch: int) -> list:
        """Zero state for ``batch`` streams."""
        H = self.config.hidden
        width = 2 if self.config.cell == "lstm" else 1
        return [tuple(np.zeros((batch, H), self.dtype) for _ in range(width)) for _ in range(self.config.layers)]

    def _uses_table(self, rows: int) -> bool:
        """Whether layer 0 reads its projection from a (V, G*H) table rather than multiplying.

        One-hot input always does (a one-hot vector times Wx is a row of Wx). An embedding followed
        by Wx is a lookup in their product table (embed.W @ Wx), which is cheaper to build than the
        (T*N, E) x (E, G*H) product whenever the batch holds more characters than the vocabulary.
        """
        return not self.config.embed_dim or self.config.vocab_size < rows

    def _project(self, ids_tm, layer_input, layer):
        """x Wx + b for every step, (T, N, G*H); layer 0 reads ids, the others the layer below."""
        p, cfg, prefix = self.params, self.config, f"rnn.{layer}."
        T, N = ids_tm.shape
        if layer == 0 and self._uses_table(T * N):
            table = p[prefix + "Wx"] if not cfg.embed_dim else p["embed.W"] @ p[prefix + "Wx"]
            proj = table[ids_tm]
        else:
            proj = (layer_input @ p[prefix + "Wx"]).reshape(T, N, -1)
        proj += input_bias(cfg.cell, p, prefix)
        return proj

    def forward(self, ids, state, rng=None):
        """Logits for every step.

        Inputs: ids (N, T) ints, state (see the class), rng a numpy Generator for dropout (None: no
        dropout, as at evaluation).
        Returns: logits (T*N, V) time-major rows, the final state, and a cache for backward.
        """
        p, cfg = self.params, self.config
        ids_tm = np.ascontiguousarray(ids.T)
        T, N = ids_tm.shape
        layer_input = None  # layer 0's input, when it is multiplied rather than looked up
        if not self._uses_table(T * N):
            layer_input = p["embed.W"][ids_tm].reshape(T * N, -1)
        inputs, recurrences, dropouts, new_state = [], [], [], []
        for layer in range(cfg.layers):
            proj = self._project(ids_tm, layer_input, layer)
            hs, final, rcache = recurrence_forward(cfg.cell, proj, state[layer], p, f"rnn.{layer}.")
            out, dcache = dropout_forward(hs.reshape(T * N, -1), cfg.dropout, rng)
            inputs.append(layer_input)
            recurrences.append(rcache)
            dropouts.append(dcache)
            new_state.append(final)
            layer_input = out
        logits = layer_input @ p["head.W"]
        logits += p["head.b"]
        return logits, new_state, _ForwardCache(ids_tm, inputs, recurrences, dropouts, layer_input, None)

    def loss(self, ids, targets, state, rng=None):
        """Mean cross-entropy (nats per character) and its gradient on every parameter.

        Inputs: ids, targets (N, T) ints; state; rng for dropout (None: none).
        Returns: loss (float), grads (dict like params), the final state (carry it to the next chunk).
        """
        logits, new_state, cache = self.forward(ids, state, rng)
        targets_tm = np.ascontiguousarray(targets.T).reshape(-1)
        logp = log_softmax(logits)
        rows = np.arange(targets_tm.size)
        loss = -float(logp[rows, targets_tm].mean())
        dlogits = np.exp(logp, out=logp)  # softmax
        dlogits[rows, targets_tm] -= 1.0
        dlogits /= targets_tm.size
        return loss, self.backward(dlogits, cache), new_state

    def backward(self, dlogits, cache: _ForwardCache) -> dict:
        """Gradients of every parameter given dlogits (T*N, V), time-major rows."""
        p, cfg = self.params, self.config
        T, N = cache.ids_tm.shape
        grads = {"head.W": cache.top.T @ dlogits, "head.b": dlogits.sum(axis=0)}
        dtop = dlogits @ p["head.W"].T  # (T*N, H)
        for layer in range(cfg.layers - 1, -1, -1):
            prefix = f"rnn.{layer}."
            # dtop is a fresh array each layer, so the recurrence may overwrite it in place.
            dhs = dropout_backward(dtop, cache.dropouts[layer]).reshape(T, N, -1)
            dproj = recurrence_backward(dhs, cache.recurrences[layer], grads, prefix)
            dproj2 = dproj.reshape(T * N, -1)
            grads[prefix + ("bx" if cfg.cell == "gru" else "b")] = dproj2.sum(axis=0)
            x_in = cache.inputs[layer]
            if x_in is not None:
                grads[prefix + "Wx"] = x_in.T @ dproj2
                dtop = dproj2 @ p[prefix + "Wx"].T
                continue
            # Layer 0 looked its projection up in a table: dtable[v] = sum of dproj rows with id v.
            dtable = scatter_add_rows(cache.ids_tm.reshape(-1), dproj2, cfg.vocab_size)  # (V, G*H)
            if not cfg.embed_dim:
                grads[prefix + "Wx"] = dtable
                return grads
            grads[prefix + "Wx"] = p["embed.W"].T @ dtable  # table = embed.W @ Wx
            grads["embed.W"] = dtable @ p[prefix + "Wx"].T
            return grads
        grads["embed.W"] = scatter_add_rows(cache.ids_tm.reshape(-1), dtop, cfg.vocab_size)
        return grads

    def evaluate(self, ids, targets, state):
        """Summed cross-entropy in nats over all N*T characters, without dropout or gradients.

        Returns: (nats, new_state).
        """
        logits, new_state, _ = self.forward(ids, state)
        targets_tm = np.ascontiguousarray(targets.T).reshape(-1)
        logp = log_softmax(logits)
        return -float(logp[np.arange(targets_tm.size), targets_tm].sum()), new_state

    def step(self, ids, state):
        """One step for sampling: ids (N,) -> logits (N, V), new state."""
        logits, new_state, _ = self.forward(np.asarray(ids).reshape(-1, 1), state)
        return logits, new_state
