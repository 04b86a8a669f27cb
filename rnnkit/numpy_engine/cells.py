"""The NumPy engine's cell registry: one adapter per cell of :data:`rnnkit.cells.CELLS`.

Dimensions: T time, N batch, H hidden size, G gate blocks; everything here is time-major.

A stack drives every cell the same way:

    proj = x Wx (+ the cell's input bias)            (T, N, G*H)   one product, outside the loop
    hs, final, cache = cell.forward(proj, state, p)  (T, N, H)     p: the layer's other parameters
    dproj, dstate0, grads = cell.backward(dhs, cache, dfinal)

``p`` maps parameter suffixes (``Wh``, ``b``, ``bh``, ``gx``, ...) to arrays; ``grads`` holds the
gradients of every suffix in ``p`` except the input bias, whose gradient is ``dproj`` summed (the
stack computes it with ``dWx``). ``forward`` may overwrite ``proj`` and ``backward`` ``dhs``.
``dfinal`` is the gradient flowing into the final state (a later chunk, a decoder, one step of a
closed loop), or None. (h, c) cells also take ``dcs`` (T, N, H), a gradient on every c_t: the stack
uses it for a ragged batch, whose rows' final c is read before step T - 1. A single step is the
same call with T = 1.

Adding a cell: its spec in rnnkit/cells.py, its functions in a module of this package, and an
adapter registered in :data:`NUMPY_CELLS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit.cells import CELLS, CellSpec
from rnnkit.numpy_engine._timemajor import prev_states
from rnnkit.numpy_engine.gru import GRUCache, gru_recurrence_backward, gru_recurrence_forward
from rnnkit.numpy_engine.lnlstm import lnlstm_recurrence_backward, lnlstm_recurrence_forward
from rnnkit.numpy_engine.lstm import LSTMCache, lstm_recurrence_backward, lstm_recurrence_forward
from rnnkit.numpy_engine.minrnn import minlstm_recurrence_forward, mingru_recurrence_forward, minrnn_recurrence_backward
from rnnkit.numpy_engine.rnn import rnn_recurrence_backward, rnn_recurrence_forward


@dataclass
class CellCache:
    """What a cell's backward needs: its own cache and the layer's initial hidden state."""

    inner: Any
    h0: np.ndarray  # (N, H)
    p: dict


def _dWh(h0, hs, drows):
    """dWh = sum_t h_{t-1}^T drows_t, one product over all T*N rows."""
    T, N, H = hs.shape
    return prev_states(h0, hs).reshape(T * N, H).T @ drows.reshape(T * N, -1)


def _dfinal(dfinal, k):
    return None if dfinal is None else dfinal[k]


class RNNAdapter:
    spec: CellSpec = CELLS["rnn"]

    @staticmethod
    def forward(proj, state, p):
        hs = rnn_recurrence_forward(proj, state[0], p["Wh"])
        return hs, (hs[-1],), CellCache(hs, state[0], p)

    @staticmethod
    def backward(dhs, cache, dfinal=None):
        hs = cache.inner
        dproj, dh0 = rnn_recurrence_backward(dhs, hs, cache.h0, cache.p["Wh"], dhT=_dfinal(dfinal, 0))
        return dproj, (dh0,), {"Wh": _dWh(cache.h0, hs, dproj)}


class LSTMAdapter:
    spec: CellSpec = CELLS["lstm"]

    @staticmethod
    def forward(proj, state, p):
        h0, c0 = state
        gates, cs, tanh_cs, hs = lstm_recurrence_forward(proj, h0, c0, p["Wh"])
        inner = LSTMCache(None, h0, c0, None, p["Wh"], gates, cs, tanh_cs, hs)
        return hs, (hs[-1], cs[-1]), CellCache(inner, h0, p)

    @staticmethod
    def backward(dhs, cache, dfinal=None, dcs=None):
        dproj, dh0, dc0 = lstm_recurrence_backward(dhs, cache.inner, _dfinal(dfinal, 0), _dfinal(dfinal, 1), dcs)
        return dproj, (dh0, dc0), {"Wh": _dWh(cache.h0, cache.inner.hs, dproj)}


class GRUAdapter:
    spec: CellSpec = CELLS["gru"]

    @staticmethod
    def forward(proj, state, p):
        h0 = state[0]
        r, z, n, v_n, hs = gru_recurrence_forward(proj, h0, p["Wh"], p["bh"])
        return hs, (hs[-1],), CellCache(GRUCache(None, h0, None, p["Wh"], r, z, n, v_n, hs), h0, p)

    @staticmethod
    def backward(dhs, cache, dfinal=None):
        du, dv, dh0 = gru_recurrence_backward(dhs, cache.inner, dhT=_dfinal(dfinal, 0))
        T, N, H = cache.inner.hs.shape
        grads = {"Wh": _dWh(cache.h0, cache.inner.hs, dv), "bh": dv.reshape(T * N, -1).sum(axis=0)}
        return du, (dh0,), grads


class LNLSTMAdapter:
    spec: CellSpec = CELLS["lnlstm"]

    @staticmethod
    def forward(proj, state, p):
        h0, c0 = state
        hs, inner = lnlstm_recurrence_forward(proj, h0, c0, p["Wh"], p["b"], p["gx"], p["gh"], p["gc"], p["bc"])
        return hs, (hs[-1], inner.cs[-1]), CellCache(inner, h0, p)

    @staticmethod
    def backward(dhs, cache, dfinal=None, dcs=None):
        dproj, dh0, dc0, grads = lnlstm_recurrence_backward(dhs, cache.inner, _dfinal(dfinal, 0), _dfinal(dfinal, 1),
                                                            dcs)
        return dproj, (dh0, dc0), grads


def _min_adapter(name, forward):
    """minGRU and minLSTM: a linear recurrence whose gates read x alone (no Wh)."""

    class MinAdapter:
        spec: CellSpec = CELLS[name]

        @staticmethod
        def forward(proj, state, p):
            hs, inner = forward(proj, state[0])
            return hs, (hs[-1],), CellCache(inner, state[0], p)

        @staticmethod
        def backward(dhs, cache, dfinal=None):
            dproj, dh0 = minrnn_recurrence_backward(dhs, cache.inner, _dfinal(dfinal, 0))
            return dproj, (dh0,), {}

    MinAdapter.__name__ = MinAdapter.__qualname__ = f"{name.capitalize()}Adapter"
    return MinAdapter


#: Cell name -> adapter; the NumPy engine computes exactly these cells.
NUMPY_CELLS = {adapter.spec.name: adapter for adapter in (
    RNNAdapter, LSTMAdapter, GRUAdapter, LNLSTMAdapter,
    _min_adapter("mingru", mingru_recurrence_forward), _min_adapter("minlstm", minlstm_recurrence_forward))}


def numpy_cell(name: str):
    """The adapter of cell ``name``; a cell this engine lacks is a ValueError naming the ones it has."""
    try:
        return NUMPY_CELLS[name]
    except KeyError:
        raise ValueError(f"the NumPy engine has no cell {name!r}: it computes {', '.join(NUMPY_CELLS)}") from None
