"""LSTM: forward and backward passes written by hand.

    a_t = x_t Wx + h_{t-1} Wh + b                    (N, 4H), split into gates i, f, o, g
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);  g = tanh(a_g)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Dimensions: N batch, T time steps, D input size, H hidden size.
Weights: Wx (D, 4H), Wh (H, 4H), b (4H,), gates in the order i, f, o, g along the 4H axis.

Speed notes (the loop over time is the only Python loop, so every operation in it counts):
- sigmoid(a) = 1 / (1 + exp(-a)) and tanh(a) = 2 sigmoid(2a) - 1. Scaling the pre-activation's
  columns by -1 (i, f, o) and -2 (g) once, in Wh and in the input projection, lets one ``exp``, one
  add and one reciprocal over the whole (N, 4H) block activate all four gates (exp is the cheapest
  transcendental NumPy has; exp overflowing to inf for very negative inputs gives exactly 0).
- The backward loop carries only dh and dc. Every factor that does not depend on them (the gate
  derivatives, c_{t-1} * f * (1 - f), ...) is computed for all steps at once before the loop.
- Weight gradients are one matrix product each over all T*N rows after the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.numpy_engine._timemajor import prev_states, time_major


def sigmoid(x):
    """Numerically stable logistic function, via tanh (no overflow for large |x|)."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass
class LSTMStepCache:
    x: np.ndarray       # (N, D)
    prev_h: np.ndarray  # (N, H)
    prev_c: np.ndarray  # (N, H)
    Wx: np.ndarray      # (D, 4H)
    Wh: np.ndarray      # (H, 4H)
    gates: np.ndarray   # (N, 4H) activated i, f, o, g
    next_c: np.ndarray  # (N, H)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One time step.

    Inputs: x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns: next_h (N, H), next_c (N, H), cache.
    """
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    gates = np.concatenate([sigmoid(a[:, : 3 * H]), np.tanh(a[:, 3 * H :])], axis=1)
    i, f, o, g = np.split(gates, 4, axis=1)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, LSTMStepCache(x, prev_h, prev_c, Wx, Wh, gates, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache: LSTMStepCache):
    """Backward pass of one step.

    Returns: dx (N, D), dprev_h (N, H), dprev_c (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    i, f, o, g = np.split(cache.gates, 4, axis=1)
    tanh_c = np.tanh(cache.next_c)
    dc = dnext_c + dnext_h * o * (1.0 - tanh_c**2)
    da = np.concatenate(
        [dc * g * i * (1 - i), dc * cache.prev_c * f * (1 - f), dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g**2)],
        axis=1,
    )
    dx = da @ cache.Wx.T
    dprev_h = da @ cache.Wh.T
    return dx, dprev_h, dc * f, cache.x.T @ da, cache.prev_h.T @ da, da.sum(axis=0)


@dataclass
class LSTMCache:
    x: np.ndarray       # (N, T, D) inputs (None when the caller projected them itself)
    h0: np.ndarray      # (N, H)
    c0: np.ndarray      # (N, H)
    Wx: np.ndarray      # (D, 4H)
    Wh: np.ndarray      # (H, 4H)
    gates: np.ndarray   # (T, N, 4H) activated gates i, f, o, g, time-major
    cs: np.ndarray      # (T, N, H) cell states
    tanh_cs: np.ndarray  # (T, N, H) tanh(c_t)
    hs: np.ndarray      # (T, N, H) hidden states

    @property
    def hT(self) -> np.ndarray:
        """Final hidden state (N, H)."""
        return self.hs[-1]

    @property
    def cT(self) -> np.ndarray:
        """Final cell state (N, H)."""
        return self.cs[-1]


def _gate_scale(H, dtype):
    """(4H,) multipliers of the pre-activation: -1 on i, f, o and -2 on g (see the module notes)."""
    scale = np.full(4 * H, -1.0, dtype=dtype)
    scale[3 * H :] = -2.0
    return scale


def lstm_recurrence_forward(xproj, h0, c0, Wh):
    """The recurrence alone, time-major.

    Inputs: xproj (T, N, 4H) = x_t Wx + b for every step (overwritten with the activated gates),
    h0 (N, H), c0 (N, H), Wh (H, 4H).
    Returns: gates (T, N, 4H) (xproj's memory), cs, tanh_cs, hs (T, N, H).
    """
    T, N, H4 = xproj.shape
    H = H4 // 4
    scale = _gate_scale(H, xproj.dtype)
    Wh_scaled = Wh * scale
    gates = xproj
    gates *= scale
    cs, tanh_cs, hs = (np.empty((T, N, H), dtype=xproj.dtype) for _ in range(3))
    recur = np.empty((N, H4), dtype=xproj.dtype)
    ig = np.empty((N, H), dtype=xproj.dtype)
    prev_h, prev_c = h0, c0
    with np.errstate(over="ignore"):  # exp(large) = inf is intended: 1 / (1 + inf) = 0
        for t in range(T):
            a = gates[t]
            np.matmul(prev_h, Wh_scaled, out=recur)
            a += recur
            np.exp(a, out=a)
            a += 1.0
            np.reciprocal(a, out=a)  # sigmoid on i, f, o; sigmoid(2 a_g) on g
            g = a[:, 3 * H :]
            g *= 2.0
            g -= 1.0  # tanh(a_g)
            np.multiply(a[:, H : 2 * H], prev_c, out=cs[t])  # f * c_{t-1}
            np.multiply(a[:, :H], g, out=ig)  # i * g
            cs[t] += ig
            np.tanh(cs[t], out=tanh_cs[t])
            np.multiply(a[:, 2 * H : 3 * H], tanh_cs[t], out=hs[t])  # o * tanh(c)
            prev_h, prev_c = hs[t], cs[t]
    return gates, cs, tanh_cs, hs


def lstm_recurrence_backward(dhs, cache: LSTMCache, dhT=None, dcT=None, dcs=None):
    """Backward through the recurrence, time-major.

    Inputs: dhs (T, N, H) upstream gradient on every h_t (overwritten), the forward cache,
    dhT / dcT (N, H) optional gradients on the final states (from a later chunk), dcs (T, N, H)
    optional gradients on every c_t (a row's final c read at its last real step: a ragged batch).
    Returns: da (T, N, 4H) gradient on the gate pre-activations, dh0 (N, H), dc0 (N, H).
    """
    gates, cs, tanh_cs = cache.gates, cache.cs, cache.tanh_cs
    T, N, H = cs.shape
    i, f, o, g = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H : 3 * H], gates[..., 3 * H :]
    prev_c = prev_states(cache.c0, cs)
    # Step-independent factors, all steps at once:
    #   da_i = dc * g * i(1-i)   da_f = dc * c_{t-1} * f(1-f)   da_g = dc * i * (1-g^2)
    #   da_o = dh * tanh(c) * o(1-o)   dc += dh * o * (1 - tanh(c)^2)
    # da holds the dc-factors (o block zero) until the loop multiplies them by dc.
    da = np.empty((T, N, 4, H), dtype=gates.dtype)
    np.multiply(g, i * (1.0 - i), out=da[:, :, 0])
    np.multiply(prev_c, f * (1.0 - f), out=da[:, :, 1])
    da[:, :, 2] = 0.0
    np.multiply(i, 1.0 - g * g, out=da[:, :, 3])
    o_factor = tanh_cs * o * (1.0 - o)
    c_factor = o * (1.0 - tanh_cs * tanh_cs)

    if dhT is not None:
        dhs[-1] += dhT
    dc_next = np.zeros((N, H), dtype=gates.dtype) if dcT is None else dcT.astype(gates.dtype, copy=True)
    dh_next = np.zeros((N, H), dtype=gates.dtype)
    dc = np.empty((N, H), dtype=gates.dtype)
    Wh_T = cache.Wh.T
    for t in range(T - 1, -1, -1):
        dh = dhs[t]
        dh += dh_next
        np.multiply(dh, c_factor[t], out=dc)
        dc += dc_next
        if dcs is not None:
            dc += dcs[t]
        da_t = da[t]
        da_t *= dc[:, None, :]
        np.multiply(dh, o_factor[t], out=da_t[:, 2])
        np.multiply(dc, f[t], out=dc_next)
        np.matmul(da_t.reshape(N, 4 * H), Wh_T, out=dh_next)
    return da.reshape(T, N, 4 * H), dh_next, dc_next


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    """Run an LSTM over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,), c0 (N, H) optional initial
    cell state (zeros by default; truncated BPTT passes the previous chunk's final c).
    Returns: h (N, T, H) every hidden state, and a cache (``cache.hT``, ``cache.cT`` are the final
    states).
    """
    if c0 is None:
        c0 = np.zeros_like(h0)
    x_tm = time_major(x)
    T, N, D = x_tm.shape
    xproj = (x_tm.reshape(T * N, D) @ Wx).reshape(T, N, -1)
    xproj += b
    gates, cs, tanh_cs, hs = lstm_recurrence_forward(xproj, h0, c0, Wh)
    cache = LSTMCache(x, h0, c0, Wx, Wh, gates, cs, tanh_cs, hs)
    return hs.transpose(1, 0, 2).copy(), cache


def lstm_backward(dh, cache: LSTMCache, dhT=None, dcT=None, return_dc0=False):
    """Backpropagation through time for :func:`lstm_forward`.

    Inputs: dh (N, T, H) upstream gradient on every hidden state; dhT, dcT (N, H) optional gradients
    on the final states.
    Returns: dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,), and dc0 (N, H) last when
    ``return_dc0`` is true.

    dWx = sum_t x_t^T da_t, dWh = sum_t h_{t-1}^T da_t, db = sum over t and n of da_t: one matrix
    product each over all T*N rows.
    """
    da, dh0, dc0 = lstm_recurrence_backward(time_major(dh), cache, dhT, dcT)
    T, N, H4 = da.shape
    da2 = da.reshape(T * N, H4)
    x_tm = time_major(cache.x).reshape(T * N, -1)
    prev_h = prev_states(cache.h0, cache.hs).reshape(T * N, -1)
    dx = (da2 @ cache.Wx.T).reshape(T, N, -1).transpose(1, 0, 2)
    grads = (dx, dh0, x_tm.T @ da2, prev_h.T @ da2, da2.sum(axis=0))
    return grads + (dc0,) if return_dc0 else grads
