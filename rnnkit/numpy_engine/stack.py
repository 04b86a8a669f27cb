"""One interface over the three cells, and a multilayer stack with dropout between layers.

Every layer is driven the same way, time-major:

    proj = x Wx + b                      (T, N, G*H)   one matrix product for all steps
    hs, state = recurrence(proj, state)  (T, N, H)     the only loop over time
    ...
    dproj, dWh, dbh, dstate0 = recurrence_backward(dhs, cache)
    dWx = x^T dproj,  db = sum dproj,  dx = dproj Wx^T   one product each, after the loop

Layer l reads x = dropout(h of layer l-1); layer 0 reads the embedded (or one-hot) characters.
State per layer: (h,) for rnn and gru, (h, c) for lstm, each (N, H).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit.numpy_engine._timemajor import prev_states
from rnnkit.numpy_engine.gru import GRUCache, gru_recurrence_backward, gru_recurrence_forward
from rnnkit.numpy_engine.lstm import LSTMCache, lstm_recurrence_backward, lstm_recurrence_forward
from rnnkit.numpy_engine.rnn import rnn_recurrence_backward, rnn_recurrence_forward


@dataclass
class RecurrenceCache:
    cell: str
    inner: Any  # the cell's own cache (hs for rnn)
    h0: np.ndarray
    Wh: np.ndarray


def input_bias(cell: str, params: dict, prefix: str) -> np.ndarray:
    """The bias added to the input projection: b (rnn, lstm) or bx (gru)."""
    return params[prefix + ("bx" if cell == "gru" else "b")]


def recurrence_forward(cell: str, proj, state, params: dict, prefix: str):
    """Run one layer's recurrence over all steps.

    Inputs: proj (T, N, G*H) = x Wx + b (overwritten), state the layer's initial state tuple,
    params the model's parameters, prefix like ``rnn.0.``.
    Returns: hs (T, N, H), the final state tuple, and a cache.
    """
    Wh = params[prefix + "Wh"]
    h0 = state[0]
    if cell == "rnn":
        hs = rnn_recurrence_forward(proj, h0, Wh)
        return hs, (hs[-1],), RecurrenceCache(cell, hs, h0, Wh)
    if cell == "lstm":
        c0 = state[1]
        gates, cs, tanh_cs, hs = lstm_recurrence_forward(proj, h0, c0, Wh)
        inner = LSTMCache(None, h0, c0, None, Wh, gates, cs, tanh_cs, hs)
        return hs, (hs[-1], cs[-1]), RecurrenceCache(cell, inner, h0, Wh)
    r, z, n, v_n, hs = gru_recurrence_forward(proj, h0, Wh, params[prefix + "bh"])
    inner = GRUCache(None, h0, None, Wh, r, z, n, v_n, hs)
    return hs, (hs[-1],), RecurrenceCache(cell, inner, h0, Wh)


def recurrence_backward(dhs, cache: RecurrenceCache, grads: dict, prefix: str):
    """Backward through one layer's recurrence.

    Inputs: dhs (T, N, H) gradient on every h_t (overwritten); grads receives dWh (and dbh for gru).
    Returns: dproj (T, N, G*H), the gradient on x Wx + b.

    Truncated BPTT: no gradient flows into the initial state, so the chunk's incoming state is
    treated as a constant (it came from the previous chunk, whose graph is gone).
    """
    T, N, _ = dhs.shape
    if cache.cell == "rnn":
        hs = cache.inner
        dproj, _ = rnn_recurrence_backward(dhs, hs, cache.h0, cache.Wh)
        dWh_rows = dproj
    elif cache.cell == "lstm":
        hs = cache.inner.hs
        dproj, _, _ = lstm_recurrence_backward(dhs, cache.inner)
        dWh_rows = dproj
    else:
        hs = cache.inner.hs
        dproj, dWh_rows, _ = gru_recurrence_backward(dhs, cache.inner)
        grads[prefix + "bh"] = dWh_rows.reshape(T * N, -1).sum(axis=0)
    H = hs.shape[2]
    prev_h = prev_states(cache.h0, hs).reshape(T * N, H)
    grads[prefix + "Wh"] = prev_h.T @ dWh_rows.reshape(T * N, -1)
    return dproj
