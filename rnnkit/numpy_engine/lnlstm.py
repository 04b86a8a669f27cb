"""Layer-normalised LSTM (Ba, Kiros and Hinton 2016): forward and backward passes written by hand.

    a   = LN(x_t Wx) * gx + LN(h_{t-1} Wh) * gh + b      (N, 4H), gates i, f, o, g
    i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(LN(c_t) * gc + bc)

``LN(v) = (v - mean(v)) / sqrt(var(v) + 1e-5)`` over the last axis (the biased variance): the whole
4H vector for the two pre-activations, the H cells for c. The carried state c_t is not normalised.
The same model as :mod:`rnnkit.torch_engine.lnlstm`, with the same parameters and initial values.

Dimensions: N batch, T time steps, D input size, H hidden size.
Weights: Wx (D, 4H), Wh (H, 4H), b (4H,), gx (4H,), gh (4H,), gc (H,), bc (H,).

Backward. With n = LN(v) and rstd = 1 / sqrt(var(v) + eps), a gradient dn on n gives
    dv = rstd * (dn - mean(dn) - n * mean(dn * n))
Per step, with dh the total gradient on h_t:
    dy = dh * o * (1 - s^2)   where s = tanh(y), y = LN(c_t) gc + bc
    dc = dc_{t+1} f_{t+1} + LN'(dy * gc)            (then da_i, da_f, da_g as in the LSTM)
    da_o = dh * s * o (1 - o),   dq = LN'(da * gh),   dh_{t-1} += dq Wh^T
Only the LN of h Wh and of c_t sit on the recurrent path. LN(x Wx) depends on x alone, so it is
computed for all steps before the forward loop and differentiated for all steps after the backward
loop; every parameter gradient is one reduction over all T*N rows after the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.numpy_engine._timemajor import prev_states, time_major
from rnnkit.numpy_engine.lstm import _gate_scale, sigmoid

EPS = 1e-5


def layer_norm(v, out=None):
    """LN over the last axis. Inputs: v (..., M); out an array to write n into (may be v).
    Returns: n (..., M), rstd (..., 1) = 1 / sqrt(var + EPS)."""
    n = np.subtract(v, v.mean(axis=-1, keepdims=True), out=out)
    rstd = 1.0 / np.sqrt(np.mean(n * n, axis=-1, keepdims=True) + EPS)
    n *= rstd
    return n, rstd


def layer_norm_backward(dn, n, rstd):
    """Gradient on v from the gradient dn (..., M) on n = layer_norm(v); see the module notes."""
    return rstd * (dn - dn.mean(axis=-1, keepdims=True) - n * np.mean(dn * n, axis=-1, keepdims=True))


@dataclass
class LNLSTMStepCache:
    x: np.ndarray       # (N, D)
    prev_h: np.ndarray  # (N, H)
    prev_c: np.ndarray  # (N, H)
    Wx: np.ndarray      # (D, 4H)
    Wh: np.ndarray      # (H, 4H)
    gx: np.ndarray      # (4H,)
    gh: np.ndarray      # (4H,)
    gc: np.ndarray      # (H,)
    gates: np.ndarray   # (N, 4H) activated i, f, o, g
    nx: np.ndarray      # (N, 4H) LN(x Wx)
    rstd_x: np.ndarray  # (N, 1)
    nq: np.ndarray      # (N, 4H) LN(h Wh)
    rstd_q: np.ndarray  # (N, 1)
    nc: np.ndarray      # (N, H) LN(c_t)
    rstd_c: np.ndarray  # (N, 1)
    s: np.ndarray       # (N, H) tanh(LN(c_t) gc + bc)


def lnlstm_step_forward(x, prev_h, prev_c, Wx, Wh, b, gx, gh, gc, bc):
    """One time step.

    Inputs: x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,), gx (4H,),
    gh (4H,), gc (H,), bc (H,).
    Returns: next_h (N, H), next_c (N, H), cache.
    """
    H = prev_h.shape[1]
    nx, rstd_x = layer_norm(x @ Wx)
    nq, rstd_q = layer_norm(prev_h @ Wh)
    a = nx * gx + nq * gh + b
    gates = np.concatenate([sigmoid(a[:, : 3 * H]), np.tanh(a[:, 3 * H :])], axis=1)
    i, f, o, g = np.split(gates, 4, axis=1)
    next_c = f * prev_c + i * g
    nc, rstd_c = layer_norm(next_c)
    s = np.tanh(nc * gc + bc)
    cache = LNLSTMStepCache(x, prev_h, prev_c, Wx, Wh, gx, gh, gc, gates, nx, rstd_x, nq, rstd_q, nc, rstd_c, s)
    return o * s, next_c, cache


def lnlstm_step_backward(dnext_h, dnext_c, cache: LNLSTMStepCache) -> dict:
    """Backward pass of one step.

    Inputs: dnext_h, dnext_c (N, H) gradients on the step's outputs.
    Returns: a dict keyed like the forward's arguments: x (N, D), prev_h (N, H), prev_c (N, H),
    Wx (D, 4H), Wh (H, 4H), b (4H,), gx (4H,), gh (4H,), gc (H,), bc (H,).
    """
    k = cache
    i, f, o, g = np.split(k.gates, 4, axis=1)
    dy = dnext_h * o * (1.0 - k.s**2)
    dc = dnext_c + layer_norm_backward(dy * k.gc, k.nc, k.rstd_c)
    da = np.concatenate(
        [dc * g * i * (1 - i), dc * k.prev_c * f * (1 - f), dnext_h * k.s * o * (1 - o), dc * i * (1 - g**2)], axis=1
    )
    dq = layer_norm_backward(da * k.gh, k.nq, k.rstd_q)
    dpx = layer_norm_backward(da * k.gx, k.nx, k.rstd_x)
    return {"x": dpx @ k.Wx.T, "prev_h": dq @ k.Wh.T, "prev_c": dc * f, "Wx": k.x.T @ dpx, "Wh": k.prev_h.T @ dq,
            "b": da.sum(axis=0), "gx": (da * k.nx).sum(axis=0), "gh": (da * k.nq).sum(axis=0),
            "gc": (dy * k.nc).sum(axis=0), "bc": dy.sum(axis=0)}


@dataclass
class LNLSTMCache:
    x: np.ndarray       # (N, T, D) inputs (None when the caller projected them itself)
    Wx: np.ndarray      # (D, 4H) (None likewise)
    h0: np.ndarray      # (N, H)
    c0: np.ndarray      # (N, H)
    Wh: np.ndarray      # (H, 4H)
    gx: np.ndarray      # (4H,)
    gh: np.ndarray      # (4H,)
    gc: np.ndarray      # (H,)
    gates: np.ndarray   # (T, N, 4H) activated i, f, o, g
    nx: np.ndarray      # (T, N, 4H) LN(x_t Wx)
    rstd_x: np.ndarray  # (T, N, 1)
    nq: np.ndarray      # (T, N, 4H) LN(h_{t-1} Wh)
    rstd_q: np.ndarray  # (T, N, 1)
    cs: np.ndarray      # (T, N, H) cell states
    nc: np.ndarray      # (T, N, H) LN(c_t)
    rstd_c: np.ndarray  # (T, N, 1)
    ss: np.ndarray      # (T, N, H) tanh(LN(c_t) gc + bc)
    hs: np.ndarray      # (T, N, H) hidden states

    @property
    def hT(self) -> np.ndarray:
        """Final hidden state (N, H)."""
        return self.hs[-1]

    @property
    def cT(self) -> np.ndarray:
        """Final cell state (N, H)."""
        return self.cs[-1]


def lnlstm_recurrence_forward(xproj, h0, c0, Wh, b, gx, gh, gc, bc):
    """The recurrence alone, time-major.

    Inputs: xproj (T, N, 4H) = x_t Wx for every step, without bias (overwritten with LN(x_t Wx)),
    h0 (N, H), c0 (N, H), Wh (H, 4H), b (4H,), gx (4H,), gh (4H,), gc (H,), bc (H,).
    Returns: hs (T, N, H) and a cache (``cache.hs[-1]``, ``cache.cs[-1]`` are the final states).
    """
    T, N, H4 = xproj.shape
    H = H4 // 4
    dtype = xproj.dtype
    # As in lstm.py: pre-activations scaled by -1 (i, f, o) and -2 (g) let one exp and one
    # reciprocal activate all four gates. The scale folds into gx, gh and b, after the LNs.
    scale = _gate_scale(H, dtype)
    gh_scaled = gh * scale
    nx, rstd_x = layer_norm(xproj, out=xproj)
    gates = nx * (gx * scale)  # (T, N, 4H) the input part, activated in place by the loop
    gates += b * scale
    nq = np.empty((T, N, H4), dtype=dtype)
    cs, nc, ss, hs = (np.empty((T, N, H), dtype=dtype) for _ in range(4))
    rstd_q, rstd_c = np.empty((T, N, 1), dtype=dtype), np.empty((T, N, 1), dtype=dtype)
    prev_h, prev_c = h0, c0
    with np.errstate(over="ignore"):  # exp(large) = inf is intended: 1 / (1 + inf) = 0
        for t in range(T):
            np.matmul(prev_h, Wh, out=nq[t])
            _, rstd_q[t] = layer_norm(nq[t], out=nq[t])
            a = gates[t]
            a += nq[t] * gh_scaled
            np.exp(a, out=a)
            a += 1.0
            np.reciprocal(a, out=a)  # sigmoid on i, f, o; sigmoid(2 a_g) on g
            g = a[:, 3 * H :]
            g *= 2.0
            g -= 1.0  # tanh(a_g)
            np.multiply(a[:, H : 2 * H], prev_c, out=cs[t])
            cs[t] += a[:, :H] * g
            _, rstd_c[t] = layer_norm(cs[t], out=nc[t])
            np.tanh(nc[t] * gc + bc, out=ss[t])
            np.multiply(a[:, 2 * H : 3 * H], ss[t], out=hs[t])
            prev_h, prev_c = hs[t], cs[t]
    cache = LNLSTMCache(None, None, h0, c0, Wh, gx, gh, gc, gates, nx, rstd_x, nq, rstd_q, cs, nc, rstd_c, ss, hs)
    return hs, cache


def lnlstm_recurrence_backward(dhs, cache: LNLSTMCache, dhT=None, dcT=None, dcs=None):
    """Backward through the recurrence, time-major.

    Inputs: dhs (T, N, H) upstream gradient on every h_t (overwritten), the forward cache,
    dhT / dcT (N, H) optional gradients on the final states (from a later chunk), dcs (T, N, H)
    optional gradients on every c_t (a ragged batch's final c, read at each row's last real step).
    Returns: dxproj (T, N, 4H) gradient on x_t Wx, dh0 (N, H), dc0 (N, H), and a dict of the
    gradients on Wh (H, 4H), b (4H,), gx (4H,), gh (4H,), gc (H,), bc (H,).
    """
    k = cache
    T, N, H = k.cs.shape
    gates = k.gates
    i, f, o, g = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H : 3 * H], gates[..., 3 * H :]
    # Step-independent factors, all steps at once; da holds the dc-factors of i, f, g (o block
    # zero) until the loop multiplies them by dc, as in lstm.py.
    da = np.empty((T, N, 4, H), dtype=gates.dtype)
    np.multiply(g, i * (1.0 - i), out=da[:, :, 0])
    np.multiply(prev_states(k.c0, k.cs), f * (1.0 - f), out=da[:, :, 1])
    da[:, :, 2] = 0.0
    np.multiply(i, 1.0 - g * g, out=da[:, :, 3])
    o_factor = k.ss * o * (1.0 - o)
    y_factor = o * (1.0 - k.ss * k.ss)  # dy = dh * y_factor

    if dhT is not None:
        dhs[-1] += dhT
    dys = np.empty((T, N, H), dtype=gates.dtype)
    dqs = np.empty((T, N, 4 * H), dtype=gates.dtype)
    dc_next = np.zeros((N, H), dtype=gates.dtype) if dcT is None else dcT.astype(gates.dtype, copy=True)
    dh_next = np.zeros((N, H), dtype=gates.dtype)
    Wh_T = k.Wh.T
    for t in range(T - 1, -1, -1):
        dh = dhs[t]
        dh += dh_next
        np.multiply(dh, y_factor[t], out=dys[t])
        dc = layer_norm_backward(dys[t] * k.gc, k.nc[t], k.rstd_c[t])
        dc += dc_next
        if dcs is not None:
            dc += dcs[t]
        da_t = da[t]
        da_t *= dc[:, None, :]
        np.multiply(dh, o_factor[t], out=da_t[:, 2])
        np.multiply(dc, f[t], out=dc_next)
        da_t = da_t.reshape(N, 4 * H)
        dqs[t] = layer_norm_backward(da_t * k.gh, k.nq[t], k.rstd_q[t])
        np.matmul(dqs[t], Wh_T, out=dh_next)

    da = da.reshape(T, N, 4 * H)
    prev_h = prev_states(k.h0, k.hs).reshape(T * N, H)
    grads = {"Wh": prev_h.T @ dqs.reshape(T * N, 4 * H), "b": da.sum(axis=(0, 1)),
             "gx": np.einsum("tnk,tnk->k", da, k.nx), "gh": np.einsum("tnk,tnk->k", da, k.nq),
             "gc": np.einsum("tnh,tnh->h", dys, k.nc), "bc": dys.sum(axis=(0, 1))}
    dxproj = layer_norm_backward(da * k.gx, k.nx, k.rstd_x)
    return dxproj, dh_next, dc_next, grads


def lnlstm_forward(x, h0, Wx, Wh, b, gx, gh, gc, bc, c0=None):
    """Run a layer-normalised LSTM over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,), gx (4H,), gh (4H,), gc (H,),
    bc (H,), c0 (N, H) optional initial cell state (zeros by default).
    Returns: h (N, T, H) every hidden state, and a cache (``cache.hT``, ``cache.cT`` are the final
    states).
    """
    if c0 is None:
        c0 = np.zeros_like(h0)
    x_tm = time_major(x)
    T, N, D = x_tm.shape
    xproj = (x_tm.reshape(T * N, D) @ Wx).reshape(T, N, -1)
    hs, cache = lnlstm_recurrence_forward(xproj, h0, c0, Wh, b, gx, gh, gc, bc)
    cache.x, cache.Wx = x, Wx
    return hs.transpose(1, 0, 2).copy(), cache


def lnlstm_backward(dh, cache: LNLSTMCache, dhT=None, dcT=None) -> dict:
    """Backpropagation through time for :func:`lnlstm_forward`.

    Inputs: dh (N, T, H) upstream gradient on every hidden state; dhT, dcT (N, H) optional gradients
    on the final states.
    Returns: a dict keyed like the forward's arguments: x (N, T, D), h0 (N, H), c0 (N, H),
    Wx (D, 4H), Wh (H, 4H), b (4H,), gx (4H,), gh (4H,), gc (H,), bc (H,).
    """
    dxproj, dh0, dc0, grads = lnlstm_recurrence_backward(time_major(dh), cache, dhT, dcT)
    T, N, H4 = dxproj.shape
    dxproj = dxproj.reshape(T * N, H4)
    x_tm = time_major(cache.x).reshape(T * N, -1)
    grads["x"] = (dxproj @ cache.Wx.T).reshape(T, N, -1).transpose(1, 0, 2)
    grads.update(h0=dh0, c0=dc0, Wx=x_tm.T @ dxproj)
    return grads
