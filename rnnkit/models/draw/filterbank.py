"""DRAW's Gaussian read and write attention in the NumPy engine: forward and backward by hand.

Dimensions: N batch, B image height, A image width, n the patch side (n x n filters).

Five numbers per image come from a linear layer of the decoder's state (rnnkit/models/draw):

    (g~X, g~Y, log sigma^2, log delta~, log gamma) = h W + b                    (N, 5)

and place an n x n grid of Gaussian filters on the image (pixel coordinates a = 0..A-1, b = 0..B-1):

    gX = (A - 1)/2 (g~X + 1),  gY = (B - 1)/2 (g~Y + 1)     centre; g~ = 0 is the image's centre
    delta = (max(A, B) - 1)/(n - 1) exp(log delta~)          stride between filter centres
    sigma^2 = exp(log sigma^2),  gamma = exp(log gamma)      variance and intensity
    muX_i = gX + (i - (n - 1)/2) delta,  muY_j likewise       i, j = 0..n-1
    F_X[i, a] = exp(-(a - muX_i)^2 / (2 sigma^2)) / Z_X[i],   Z_X[i] = sum_a exp(...) + EPS
    F_Y[j, b] likewise                                        F_X (N, n, A), F_Y (N, n, B)

(Gregor et al. 2015, eqs. 19-26; the paper counts pixels from 1, so its centre maps to [0, A+1];
ours maps g~ in [-1, 1] onto the pixels themselves.) EPS keeps a filter whose Gaussian lies wholly
off the image finite; the backward differentiates it exactly.

    read:  glimpse = gamma F_Y img F_X^T                       img (N, B, A) -> (N, n, n)
    write: out = (1 / gamma) F_Y^T w F_X                       w (N, n, n) -> (N, B, A)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-8


@dataclass
class FilterbankCache:
    A: int
    B: int
    n: int
    offsets: np.ndarray   # (n,) i - (n - 1)/2
    delta_scale: float    # (max(A, B) - 1) / (n - 1)
    dx: np.ndarray        # (N, n, A) a - muX_i
    dy: np.ndarray        # (N, n, B) b - muY_j
    FX: np.ndarray        # (N, n, A)
    FY: np.ndarray        # (N, n, B)
    ZX: np.ndarray        # (N, n, 1)
    ZY: np.ndarray        # (N, n, 1)
    var: np.ndarray       # (N, 1, 1) sigma^2
    delta: np.ndarray     # (N,)
    gamma: np.ndarray     # (N,)


def spanning_stride(A: int, B: int, n: int) -> float:
    """(max(A, B) - 1) / (n - 1): the stride at log delta~ = 0, where n filters span the image
    (n = 1: the whole side)."""
    return (max(A, B) - 1) / max(n - 1, 1)


def window(params, A: int, B: int, n: int):
    """Centre, stride, variance and intensity of the grid: (gX, gY, delta, sigma^2, gamma), each (N,),
    from the linear layer's output ``params`` (N, 5). Used to draw the window over an image."""
    params = np.asarray(params)
    gx = (A - 1) / 2 * (params[:, 0] + 1)
    gy = (B - 1) / 2 * (params[:, 1] + 1)
    delta = spanning_stride(A, B, n) * np.exp(params[:, 3])
    return gx, gy, delta, np.exp(params[:, 2]), np.exp(params[:, 4])


def filterbank_forward(params, A: int, B: int, n: int):
    """The filterbanks of the module docstring.

    Inputs: params (N, 5) floats; A image width, B image height, n patch side.
    Returns: F_X (N, n, A), F_Y (N, n, B), gamma (N,), cache.
    """
    gx, gy, delta, var, gamma = window(params, A, B, n)
    offsets = np.arange(n, dtype=params.dtype) - (n - 1) / 2
    mu_x = gx[:, None] + offsets[None, :] * delta[:, None]   # (N, n)
    mu_y = gy[:, None] + offsets[None, :] * delta[:, None]
    var3 = var[:, None, None]
    dx = np.arange(A, dtype=params.dtype)[None, None, :] - mu_x[:, :, None]  # (N, n, A)
    dy = np.arange(B, dtype=params.dtype)[None, None, :] - mu_y[:, :, None]  # (N, n, B)
    KX, KY = np.exp(-dx**2 / (2 * var3)), np.exp(-dy**2 / (2 * var3))
    ZX, ZY = KX.sum(axis=2, keepdims=True) + EPS, KY.sum(axis=2, keepdims=True) + EPS
    FX, FY = KX / ZX, KY / ZY
    cache = FilterbankCache(A, B, n, offsets, spanning_stride(A, B, n), dx, dy, FX, FY, ZX, ZY, var3,
                            delta, gamma)
    return FX, FY, gamma, cache


def _gaussian_backward(dF, F, Z, d, var):
    """Through F = K / (sum_a K + EPS), K = exp(-d^2 / 2 var), d = a - mu.

    Returns: dmu (N, n) and dvar (N,).
    """
    # dK[a] = (dF[a] - sum_a' dF[a'] F[a']) / Z
    dK = (dF - np.sum(dF * F, axis=2, keepdims=True)) / Z
    dKK = dK * F * Z                                   # dK * K
    dmu = np.sum(dKK * d, axis=2) / var[:, :, 0]       # dK/dmu = K d / var
    dvar = np.sum(dKK * d**2, axis=(1, 2)) / (2 * var[:, 0, 0] ** 2)  # dK/dvar = K d^2 / (2 var^2)
    return dmu, dvar


def filterbank_backward(dFX, dFY, dgamma, cache: FilterbankCache):
    """Backward of :func:`filterbank_forward`: gradients on F_X, F_Y (None: zero) and gamma (N,)
    -> the gradient on params (N, 5): through the centre, the stride, the variance and the
    intensity."""
    c = cache
    N = c.FX.shape[0]
    dmu_x, dvar_x = _gaussian_backward(dFX if dFX is not None else np.zeros_like(c.FX), c.FX, c.ZX, c.dx, c.var)
    dmu_y, dvar_y = _gaussian_backward(dFY if dFY is not None else np.zeros_like(c.FY), c.FY, c.ZY, c.dy, c.var)
    dparams = np.empty((N, 5), dtype=c.FX.dtype)
    dparams[:, 0] = dmu_x.sum(axis=1) * (c.A - 1) / 2          # dmu_i/dgX = 1
    dparams[:, 1] = dmu_y.sum(axis=1) * (c.B - 1) / 2
    dparams[:, 2] = (dvar_x + dvar_y) * c.var[:, 0, 0]        # d var / d log var = var
    ddelta = (dmu_x + dmu_y) @ c.offsets                      # dmu_i/ddelta = offset_i
    dparams[:, 3] = ddelta * c.delta
    dparams[:, 4] = (np.zeros(N) if dgamma is None else dgamma) * c.gamma
    return dparams


def read_forward(img, FX, FY, gamma):
    """glimpse = gamma F_Y img F_X^T.  img (N, B, A) -> (N, n, n); the cache is the inputs."""
    M = img @ FX.transpose(0, 2, 1)                     # (N, B, n)
    P = FY @ M                                          # (N, n, n)
    return gamma[:, None, None] * P, (img, FX, FY, gamma, M, P)


def read_backward(dglimpse, cache):
    """Returns: dimg (N, B, A), dFX (N, n, A), dFY (N, n, B), dgamma (N,)."""
    img, FX, FY, gamma, M, P = cache
    dgamma = np.sum(dglimpse * P, axis=(1, 2))
    dP = gamma[:, None, None] * dglimpse
    dFY = dP @ M.transpose(0, 2, 1)                     # (N, n, B)
    dM = FY.transpose(0, 2, 1) @ dP                     # (N, B, n)
    dFX = dM.transpose(0, 2, 1) @ img                   # (N, n, A)
    dimg = dM @ FX                                      # (N, B, A)
    return dimg, dFX, dFY, dgamma


def write_forward(w, FX, FY, gamma):
    """out = (1 / gamma) F_Y^T w F_X.  w (N, n, n) -> (N, B, A); the cache is the inputs."""
    Q = FY.transpose(0, 2, 1) @ (w @ FX)               # (N, B, A)
    out = Q / gamma[:, None, None]
    return out, (w, FX, FY, gamma, out)


def write_backward(dout, cache):
    """Returns: dw (N, n, n), dFX (N, n, A), dFY (N, n, B), dgamma (N,)."""
    w, FX, FY, gamma, out = cache
    dgamma = -np.sum(dout * out, axis=(1, 2)) / gamma   # d(Q / gamma)/dgamma = -Q / gamma^2
    dQ = dout / gamma[:, None, None]
    wFX = w @ FX                                        # (N, n, A)
    dFY = wFX @ dQ.transpose(0, 2, 1)                   # (N, n, B)
    FYdQ = FY @ dQ                                      # (N, n, A)
    dw = FYdQ @ FX.transpose(0, 2, 1)                   # (N, n, n)
    dFX = w.transpose(0, 2, 1) @ FYdQ                   # (N, n, A)
    return dw, dFX, dFY, dgamma
