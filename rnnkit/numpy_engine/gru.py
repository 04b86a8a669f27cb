"""GRU: forward and backward passes written by hand, in the layout PyTorch's fused GRU uses.

    u_t = x_t Wx + bx                 (N, 3H)  input part, blocks r, z, n
    v_t = h_{t-1} Wh + bh             (N, 3H)  hidden part, blocks r, z, n
    r = sigmoid(u_r + v_r),  z = sigmoid(u_z + v_z)
    n = tanh(u_n + r * v_n)
    h_t = (1 - z) * n + z * h_{t-1}

Dimensions: N batch, T time steps, D input size, H hidden size.
Weights: Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,).

Backward, per step, with dh the total gradient on h_t:
    dn = dh (1 - z),   dz = dh (h_{t-1} - n),   dh_{t-1} gets dh z directly
    du_n = dn (1 - n^2),   du_r = du_n v_n r (1 - r),   du_z = dz z (1 - z)
    dv = (du_r, du_z, du_n r),   dh_{t-1} += dv Wh^T
The gradient on the input part du feeds dWx and bx; dv feeds dWh and bh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.numpy_engine._timemajor import prev_states, time_major
from rnnkit.numpy_engine.lstm import sigmoid


@dataclass
class GRUStepCache:
    x: np.ndarray       # (N, D)
    prev_h: np.ndarray  # (N, H)
    Wx: np.ndarray      # (D, 3H)
    Wh: np.ndarray      # (H, 3H)
    r: np.ndarray       # (N, H)
    z: np.ndarray       # (N, H)
    n: np.ndarray       # (N, H)
    v_n: np.ndarray     # (N, H) h_{t-1} Whn + bhn


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    """One time step.

    Inputs: x (N, D), prev_h (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,).
    Returns: next_h (N, H), cache.
    """
    H = prev_h.shape[1]
    u = x @ Wx + bx
    v = prev_h @ Wh + bh
    r = sigmoid(u[:, :H] + v[:, :H])
    z = sigmoid(u[:, H : 2 * H] + v[:, H : 2 * H])
    n = np.tanh(u[:, 2 * H :] + r * v[:, 2 * H :])
    next_h = (1.0 - z) * n + z * prev_h
    return next_h, GRUStepCache(x, prev_h, Wx, Wh, r, z, n, v[:, 2 * H :])


def gru_step_backward(dnext_h, cache: GRUStepCache):
    """Backward pass of one step.

    Returns: dx (N, D), dprev_h (N, H), dWx (D, 3H), dWh (H, 3H), dbx (3H,), dbh (3H,).
    """
    r, z, n = cache.r, cache.z, cache.n
    du_n = dnext_h * (1.0 - z) * (1.0 - n**2)
    du_r = du_n * cache.v_n * r * (1.0 - r)
    du_z = dnext_h * (cache.prev_h - n) * z * (1.0 - z)
    du = np.concatenate([du_r, du_z, du_n], axis=1)
    dv = np.concatenate([du_r, du_z, du_n * r], axis=1)
    dprev_h = dnext_h * z + dv @ cache.Wh.T
    return du @ cache.Wx.T, dprev_h, cache.x.T @ du, cache.prev_h.T @ dv, du.sum(axis=0), dv.sum(axis=0)


@dataclass
class GRUCache:
    x: np.ndarray    # (N, T, D) inputs (None when the caller projected them itself)
    h0: np.ndarray   # (N, H)
    Wx: np.ndarray   # (D, 3H)
    Wh: np.ndarray   # (H, 3H)
    r: np.ndarray    # (T, N, H)
    z: np.ndarray    # (T, N, H)
    n: np.ndarray    # (T, N, H)
    v_n: np.ndarray  # (T, N, H)
    hs: np.ndarray   # (T, N, H)

    @property
    def hT(self) -> np.ndarray:
        """Final hidden state (N, H)."""
        return self.hs[-1]


def gru_recurrence_forward(u, h0, Wh, bh):
    """The recurrence alone, time-major.

    Inputs: u (T, N, 3H) = x_t Wx + bx for every step (overwritten), h0 (N, H), Wh (H, 3H), bh (3H,).
    Returns: r, z, n, v_n, hs, each (T, N, H).
    """
    T, N, H3 = u.shape
    H = H3 // 3
    r, z, n, v_n, hs = (np.empty((T, N, H), dtype=u.dtype) for _ in range(5))
    v = np.empty((N, H3), dtype=u.dtype)
    prev_h = h0
    for t in range(T):
        np.matmul(prev_h, Wh, out=v)
        v += bh
        rz = u[t, :, : 2 * H]
        rz += v[:, : 2 * H]
        rz *= 0.5  # sigmoid(a) = (1 + tanh(a / 2)) / 2, in place
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        r[t] = rz[:, :H]
        z[t] = rz[:, H:]
        np.copyto(v_n[t], v[:, 2 * H :])
        un = u[t, :, 2 * H :]
        un += r[t] * v_n[t]
        np.tanh(un, out=n[t])
        # h = n + z * (h_prev - n)
        np.subtract(prev_h, n[t], out=hs[t])
        hs[t] *= z[t]
        hs[t] += n[t]
        prev_h = hs[t]
    return r, z, n, v_n, hs


def gru_recurrence_backward(dhs, cache: GRUCache, dhT=None):
    """Backward through the recurrence, time-major.

    Inputs: dhs (T, N, H) upstream gradient on every h_t (overwritten), the forward cache, dhT (N, H)
    optional gradient on the final state.
    Returns: du (T, N, 3H) gradient on the input part, dv (T, N, 3H) on the hidden part, dh0 (N, H).
    """
    r, z, n, v_n = cache.r, cache.z, cache.n, cache.v_n
    T, N, H = r.shape
    prev_h = prev_states(cache.h0, cache.hs)
    # Step-independent factors, all steps at once (see the module docstring).
    n_factor = (1.0 - z) * (1.0 - n * n)
    z_factor = (prev_h - n) * z * (1.0 - z)
    r_factor = v_n * r * (1.0 - r)
    if dhT is not None:
        dhs[-1] += dhT
    du = np.empty((T, N, 3 * H), dtype=r.dtype)
    dv = np.empty((T, N, 3 * H), dtype=r.dtype)
    dh_next = np.zeros((N, H), dtype=r.dtype)
    Wh_T = cache.Wh.T
    for t in range(T - 1, -1, -1):
        dh = dhs[t]
        dh += dh_next
        du_t, dv_t = du[t], dv[t]
        np.multiply(dh, n_factor[t], out=du_t[:, 2 * H :])
        np.multiply(du_t[:, 2 * H :], r_factor[t], out=du_t[:, :H])
        np.multiply(dh, z_factor[t], out=du_t[:, H : 2 * H])
        dv_t[:, : 2 * H] = du_t[:, : 2 * H]
        np.multiply(du_t[:, 2 * H :], r[t], out=dv_t[:, 2 * H :])
        np.matmul(dv_t, Wh_T, out=dh_next)
        dh *= z[t]
        dh_next += dh
    return du, dv, dh_next


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """Run a GRU over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,).
    Returns: h (N, T, H) every hidden state, and a cache (``cache.hT`` is the final state).
    """
    x_tm = time_major(x)
    T, N, D = x_tm.shape
    u = (x_tm.reshape(T * N, D) @ Wx).reshape(T, N, -1)
    u += bx
    r, z, n, v_n, hs = gru_recurrence_forward(u, h0, Wh, bh)
    return hs.transpose(1, 0, 2).copy(), GRUCache(x, h0, Wx, Wh, r, z, n, v_n, hs)


def gru_backward(dh, cache: GRUCache, dhT=None):
    """Backpropagation through time for :func:`gru_forward`.

    Inputs: dh (N, T, H) upstream gradient on every hidden state, dhT (N, H) optional gradient on
    the final state.
    Returns: dx (N, T, D), dh0 (N, H), dWx (D, 3H), dWh (H, 3H), dbx (3H,), dbh (3H,).
    """
    du, dv, dh0 = gru_recurrence_backward(time_major(dh), cache, dhT)
    T, N, H3 = du.shape
    du2, dv2 = du.reshape(T * N, H3), dv.reshape(T * N, H3)
    x_tm = time_major(cache.x).reshape(T * N, -1)
    prev_h = prev_states(cache.h0, cache.hs).reshape(T * N, -1)
    dx = (du2 @ cache.Wx.T).reshape(T, N, -1).transpose(1, 0, 2)
    return dx, dh0, x_tm.T @ du2, prev_h.T @ dv2, du2.sum(axis=0), dv2.sum(axis=0)
