"""Vanilla RNN: forward and backward passes written by hand.

    h_t = tanh(x_t Wx + h_{t-1} Wh + b)

Dimensions: N batch, T time steps, D input size, H hidden size.
Weights: Wx (D, H), Wh (H, H), b (H,).

Backpropagation through time: the same weights are used at every step, so their gradient is the
sum over time of each step's contribution. The sequence functions exploit that: the input
projection of all T steps is one (N*T, D) x (D, H) product, the loop over time carries only the
recurrence, and dWx, dWh are one product each after the backward loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.numpy_engine._timemajor import prev_states, time_major


@dataclass
class RNNStepCache:
    x: np.ndarray       # (N, D)
    prev_h: np.ndarray  # (N, H)
    Wx: np.ndarray      # (D, H)
    Wh: np.ndarray      # (H, H)
    next_h: np.ndarray  # (N, H)


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One time step.

    Inputs: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns: next_h (N, H) and a cache for the backward pass.
    """
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, RNNStepCache(x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache: RNNStepCache):
    """Backward pass of one step.

    With a = x Wx + prev_h Wh + b and next_h = tanh(a): da = dnext_h * (1 - next_h^2).

    Returns: dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    da = dnext_h * (1.0 - cache.next_h**2)
    return da @ cache.Wx.T, da @ cache.Wh.T, cache.x.T @ da, cache.prev_h.T @ da, da.sum(axis=0)


@dataclass
class RNNCache:
    x: np.ndarray    # (N, T, D) the inputs (None when the caller projected them itself)
    h0: np.ndarray   # (N, H)
    Wx: np.ndarray   # (D, H)
    Wh: np.ndarray   # (H, H)
    hs: np.ndarray   # (T, N, H) hidden states, time-major

    @property
    def hT(self) -> np.ndarray:
        """The final hidden state (N, H): the state truncated BPTT carries into the next chunk."""
        return self.hs[-1]


def rnn_recurrence_forward(xproj, h0, Wh):
    """The recurrence alone, time-major: h_t = tanh(xproj_t + h_{t-1} Wh).

    Inputs: xproj (T, N, H) = x_t Wx + b for every step (overwritten with h), h0 (N, H), Wh (H, H).
    Returns: hs (T, N, H), which is xproj's memory.
    """
    hs = xproj
    prev_h = h0
    for t in range(hs.shape[0]):
        hs[t] += prev_h @ Wh
        np.tanh(hs[t], out=hs[t])
        prev_h = hs[t]
    return hs


def rnn_recurrence_backward(dhs, hs, h0, Wh, dhT=None):
    """Backward through the recurrence, time-major.

    Inputs: dhs (T, N, H) upstream gradient on every h_t (overwritten), hs (T, N, H), h0 (N, H),
    Wh (H, H), dhT (N, H) optional extra gradient on the final state.
    Returns: da (T, N, H) gradient on the pre-activations (dhs's memory) and dh0 (N, H).
    """
    if dhT is not None:
        dhs[-1] += dhT
    da = dhs
    for t in range(hs.shape[0] - 1, -1, -1):
        # da_t = (dh_t + dh flowing back from step t+1) * tanh'(a_t)
        da[t] *= 1.0 - hs[t] * hs[t]
        if t > 0:
            da[t - 1] += da[t] @ Wh.T
    dh0 = da[0] @ Wh.T
    return da, dh0


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a vanilla RNN over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns: h (N, T, H) every hidden state, and a cache (its ``hT`` is the final state).
    """
    x_tm = time_major(x)
    T, N, D = x_tm.shape
    xproj = (x_tm.reshape(T * N, D) @ Wx).reshape(T, N, -1)
    xproj += b
    hs = rnn_recurrence_forward(xproj, h0, Wh)
    return hs.transpose(1, 0, 2).copy(), RNNCache(x, h0, Wx, Wh, hs)


def rnn_backward(dh, cache: RNNCache, dhT=None):
    """Backpropagation through time for :func:`rnn_forward`.

    Inputs: dh (N, T, H) upstream gradient on every hidden state; dhT (N, H) optional gradient on
    the final state (from a later chunk, when chunks are chained).
    Returns: dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).

    The weight gradients are sums over time, each computed as one matrix product:
    dWx = sum_t x_t^T da_t, dWh = sum_t h_{t-1}^T da_t, db = sum_t sum_n da_t.
    """
    hs, h0 = cache.hs, cache.h0
    T, N, H = hs.shape
    da, dh0 = rnn_recurrence_backward(time_major(dh), hs, h0, cache.Wh, dhT)
    da2 = da.reshape(T * N, H)
    x_tm = time_major(cache.x).reshape(T * N, -1)
    prev_h = prev_states(h0, hs).reshape(T * N, H)
    dx = (da2 @ cache.Wx.T).reshape(T, N, -1).transpose(1, 0, 2)
    return dx, dh0, x_tm.T @ da2, prev_h.T @ da2, da2.sum(axis=0)
