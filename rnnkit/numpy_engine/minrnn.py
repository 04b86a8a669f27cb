"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): forward and backward by hand.

Dimensions: N batch, T time steps, D input size, H hidden size, G gate blocks (2 or 3).

No gate reads h, so there is no Wh: from k = x_t Wx + b alone come a_t and b_t of the linear
recurrence ``h_t = a_t * h_{t-1} + b_t``. Candidate states go through the positive map
``g(v) = v + 0.5`` for v >= 0, ``sigmoid(v)`` below (as in :mod:`rnnkit.torch_engine.scan`).

minGRU, Wx (D, 2H), b (2H,), blocks z, h~:

    z_t = sigmoid(k_z);   a_t = 1 - z_t,   b_t = z_t * g(k_h)

minLSTM, Wx (D, 3H), b (3H,), blocks f, i, h~:

    f_t, i_t = sigmoid(k_f), sigmoid(k_i);   i'_t = i_t / (f_t + i_t),  f'_t = 1 - i'_t
    a_t = f'_t,   b_t = i'_t * g(k_h)

computed as i' = sigmoid(d), d = log(i / f) = softplus(-k_f) - softplus(-k_i), which stays finite
where f and i both underflow. The same model as :mod:`rnnkit.torch_engine.minrnn`.

Forward: a and b for all steps at once (one product for x Wx), then a loop of one multiply-add a
step. Backward, with dh_t the total gradient on h_t (upstream plus a_{t+1} dh_{t+1}), the loop
carries only dh; then, for all steps at once:

    da_t = dh_t * h_{t-1},   db_t = dh_t
    minGRU:  dk_z = (db g - da) z (1 - z),   dk_h = db z g'(k_h)
    minLSTM: dd = (db g - da) i' (1 - i'),   dk_f = -dd (1 - f),  dk_i = dd (1 - i),
             dk_h = db i' g'(k_h)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.numpy_engine._timemajor import prev_states, time_major
from rnnkit.numpy_engine.lstm import sigmoid


def softplus(u):
    """``log(1 + exp(u))``, shaped like u, as ``max(u, 0) + log(1 + exp(-|u|))``: no overflow, and
    cheaper than np.logaddexp."""
    out = np.exp(-np.abs(u))
    out += 1.0
    np.log(out, out=out)
    out += np.maximum(u, 0.0)
    return out


def g_and_derivative(v):
    """The positive map of candidate states and its derivative: ``g(v) = v + 0.5``, ``g' = 1`` for
    v >= 0; ``sigmoid(v)``, ``sigmoid(v) (1 - sigmoid(v))`` below. Both (...) like v.

    At v = 0 exactly, g' is the right derivative, 1 (torch's autograd gives 0 there: relu'(0) = 0).
    """
    s = sigmoid(np.minimum(v, 0.0))  # sigmoid(v) below 0, 0.5 above
    g = np.maximum(v, 0.0)
    g += s
    dg = s * (1.0 - s)
    np.copyto(dg, 1.0, where=v >= 0)
    return g, dg


def _mingru_coefficients(k):
    """k (..., 2H) -> a, b (..., H) and what the backward needs."""
    k_z, k_h = np.split(k, 2, axis=-1)
    z = sigmoid(k_z)
    gh, dg = g_and_derivative(k_h)
    return 1.0 - z, z * gh, (z, gh, dg)


def _mingru_coefficients_backward(da, db, saved):
    """da, db (..., H) -> dk (..., 2H)."""
    z, gh, dg = saved
    return np.concatenate([(db * gh - da) * z * (1.0 - z), db * z * dg], axis=-1)


def _minlstm_coefficients(k):
    """k (..., 3H) -> a, b (..., H) and what the backward needs."""
    k_f, k_i, k_h = np.split(k, 3, axis=-1)
    i_n = sigmoid(softplus(-k_f) - softplus(-k_i))  # i' = i / (f + i)
    gh, dg = g_and_derivative(k_h)
    return 1.0 - i_n, i_n * gh, (sigmoid(-k_f), sigmoid(-k_i), i_n, gh, dg)


def _minlstm_coefficients_backward(da, db, saved):
    """da, db (..., H) -> dk (..., 3H)."""
    not_f, not_i, i_n, gh, dg = saved  # not_f = 1 - f, not_i = 1 - i
    dd = (db * gh - da) * i_n * (1.0 - i_n)
    return np.concatenate([-dd * not_f, dd * not_i, db * i_n * dg], axis=-1)


_COEFFICIENTS = {
    "mingru": (_mingru_coefficients, _mingru_coefficients_backward),
    "minlstm": (_minlstm_coefficients, _minlstm_coefficients_backward),
}


@dataclass
class MinStepCache:
    cell: str           # "mingru" or "minlstm"
    x: np.ndarray       # (N, D)
    prev_h: np.ndarray  # (N, H)
    Wx: np.ndarray      # (D, G*H)
    a: np.ndarray       # (N, H)
    saved: tuple        # (N, H) arrays for the coefficients' backward


def _step_forward(cell, x, prev_h, Wx, b):
    a, b_t, saved = _COEFFICIENTS[cell][0](x @ Wx + b)
    return a * prev_h + b_t, MinStepCache(cell, x, prev_h, Wx, a, saved)


def mingru_step_forward(x, prev_h, Wx, b):
    """One minGRU step. Inputs: x (N, D), prev_h (N, H), Wx (D, 2H), b (2H,).
    Returns: next_h (N, H), cache."""
    return _step_forward("mingru", x, prev_h, Wx, b)


def minlstm_step_forward(x, prev_h, Wx, b):
    """One minLSTM step. Inputs: x (N, D), prev_h (N, H), Wx (D, 3H), b (3H,).
    Returns: next_h (N, H), cache."""
    return _step_forward("minlstm", x, prev_h, Wx, b)


def minrnn_step_backward(dnext_h, cache: MinStepCache):
    """Backward pass of one step of either cell (the cache says which).

    Inputs: dnext_h (N, H). Returns: dx (N, D), dprev_h (N, H), dWx (D, G*H), db (G*H,).
    """
    dk = _COEFFICIENTS[cache.cell][1](dnext_h * cache.prev_h, dnext_h, cache.saved)
    return dk @ cache.Wx.T, dnext_h * cache.a, cache.x.T @ dk, dk.sum(axis=0)


mingru_step_backward = minlstm_step_backward = minrnn_step_backward


@dataclass
class MinRNNCache:
    cell: str         # "mingru" or "minlstm"
    x: np.ndarray     # (N, T, D) inputs (None when the caller projected them itself)
    Wx: np.ndarray    # (D, G*H) (None likewise)
    h0: np.ndarray    # (N, H)
    a: np.ndarray     # (T, N, H) decay coefficients
    saved: tuple      # (T, N, H) arrays for the coefficients' backward
    hs: np.ndarray    # (T, N, H) hidden states

    @property
    def hT(self) -> np.ndarray:
        """Final hidden state (N, H)."""
        return self.hs[-1]


def _recurrence_forward(cell, proj, h0):
    a, hs, saved = _COEFFICIENTS[cell][0](proj)
    # The backward pass does not read b_t, so h_t overwrites it: hs[t] = b_t + a_t * h_{t-1}.
    ah = np.empty_like(h0, dtype=hs.dtype)
    prev_h = h0
    for t in range(proj.shape[0]):
        np.multiply(a[t], prev_h, out=ah)
        hs[t] += ah
        prev_h = hs[t]
    return hs, MinRNNCache(cell, None, None, h0, a, saved, hs)


def mingru_recurrence_forward(proj, h0):
    """The minGRU recurrence, time-major. Inputs: proj (T, N, 2H) = x_t Wx + b, h0 (N, H).
    Returns: hs (T, N, H) and a cache (``cache.hs[-1]`` is the final state)."""
    return _recurrence_forward("mingru", proj, h0)


def minlstm_recurrence_forward(proj, h0):
    """The minLSTM recurrence, time-major. Inputs: proj (T, N, 3H) = x_t Wx + b, h0 (N, H).
    Returns: hs (T, N, H) and a cache (``cache.hs[-1]`` is the final state)."""
    return _recurrence_forward("minlstm", proj, h0)


def minrnn_recurrence_backward(dhs, cache: MinRNNCache, dhT=None):
    """Backward through either recurrence (the cache says which), time-major.

    Inputs: dhs (T, N, H) upstream gradient on every h_t (overwritten), the forward cache, dhT (N, H)
    optional gradient on the final state.
    Returns: dproj (T, N, G*H) gradient on x_t Wx + b, dh0 (N, H).
    """
    a = cache.a
    if dhT is not None:
        dhs[-1] += dhT
    carried = np.empty_like(dhs[0])
    for t in range(dhs.shape[0] - 1, 0, -1):
        np.multiply(a[t], dhs[t], out=carried)
        dhs[t - 1] += carried  # dhs[t - 1] becomes the total gradient on h_{t-1}
    da = dhs * prev_states(cache.h0, cache.hs)
    return _COEFFICIENTS[cache.cell][1](da, dhs, cache.saved), a[0] * dhs[0]


mingru_recurrence_backward = minlstm_recurrence_backward = minrnn_recurrence_backward


def _forward(cell, x, h0, Wx, b):
    x_tm = time_major(x)
    T, N, D = x_tm.shape
    proj = (x_tm.reshape(T * N, D) @ Wx).reshape(T, N, -1)
    proj += b
    hs, cache = _recurrence_forward(cell, proj, h0)
    cache.x, cache.Wx = x, Wx
    return hs.transpose(1, 0, 2).copy(), cache


def mingru_forward(x, h0, Wx, b):
    """Run a minGRU over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, 2H), b (2H,).
    Returns: h (N, T, H) every hidden state, and a cache (``cache.hT`` is the final state).
    """
    return _forward("mingru", x, h0, Wx, b)


def minlstm_forward(x, h0, Wx, b):
    """Run a minLSTM over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, 3H), b (3H,).
    Returns: h (N, T, H) every hidden state, and a cache (``cache.hT`` is the final state).
    """
    return _forward("minlstm", x, h0, Wx, b)


def minrnn_backward(dh, cache: MinRNNCache, dhT=None):
    """Backpropagation through time for :func:`mingru_forward` or :func:`minlstm_forward`.

    Inputs: dh (N, T, H) upstream gradient on every hidden state, dhT (N, H) optional gradient on
    the final state.
    Returns: dx (N, T, D), dh0 (N, H), dWx (D, G*H), db (G*H,).
    """
    dproj, dh0 = minrnn_recurrence_backward(time_major(dh), cache, dhT)
    T, N, GH = dproj.shape
    dproj = dproj.reshape(T * N, GH)
    x_tm = time_major(cache.x).reshape(T * N, -1)
    dx = (dproj @ cache.Wx.T).reshape(T, N, -1).transpose(1, 0, 2)
    return dx, dh0, x_tm.T @ dproj, dproj.sum(axis=0)


mingru_backward = minlstm_backward = minrnn_backward
