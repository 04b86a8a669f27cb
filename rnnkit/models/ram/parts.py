"""The glimpse network and the Gaussian location policy of a recurrent attention model, as NumPy
forward/backward pairs (the sensor is in rnnkit/numpy_engine/glimpse.py; the model in numpy_model.py).

Dimensions: N batch, R = k*g*g a flattened glimpse, Hg / Hl the what / where widths, G the
glimpse vector's width, H the hidden state that emits locations.

Glimpse network (Mnih et al. 2014):

    h_g = relu(rho Wg + bg)   (N, Hg)      h_l = relu(l Wl + bl)   (N, Hl)
    g   = relu(h_g Wgo + h_l Wlo + bo)     (N, G)

Neither the glimpse rho nor the location l gets a gradient: both are data to the network (the
sensor is not differentiable, and the sampled location is an action, trained by REINFORCE).

Location policy, a Gaussian of fixed standard deviation sigma around a learned mean:

    mu = tanh(e W + b)   (N, 2)       l = mu + sigma * eps,  eps ~ N(0, I)
    log pi(l | mu) = -||l - mu||^2 / (2 sigma^2) - log(2 pi sigma^2)
    d log pi / d mu = (l - mu) / sigma^2 = eps / sigma

REINFORCE with a baseline maximises E[R] through the surrogate -A log pi(l | mu), A = R - b
treated as a constant: its gradient on mu is -A (l - mu) / sigma^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _add(grads: dict, name: str, value) -> None:
    if name in grads:
        grads[name] += value
    else:
        grads[name] = np.array(value)


@dataclass
class GlimpseNetCache:
    x: np.ndarray    # (N, R) the flattened glimpse
    loc: np.ndarray  # (N, 2)
    hg: np.ndarray   # (N, Hg)
    hl: np.ndarray   # (N, Hl)
    g: np.ndarray    # (N, G)


def glimpse_net_forward(rho, loc, p, prefix: str = "glimpse."):
    """Inputs: rho (N, k, g, g), loc (N, 2), p the parameters. Returns: g (N, G), cache."""
    x = rho.reshape(rho.shape[0], -1)
    hg = np.maximum(x @ p[prefix + "Wg"] + p[prefix + "bg"], 0.0)
    hl = np.maximum(loc @ p[prefix + "Wl"] + p[prefix + "bl"], 0.0)
    g = np.maximum(hg @ p[prefix + "Wgo"] + hl @ p[prefix + "Wlo"] + p[prefix + "bo"], 0.0)
    return g, GlimpseNetCache(x, loc, hg, hl, g)


def glimpse_net_backward(dg, cache: GlimpseNetCache, p, grads: dict, prefix: str = "glimpse.") -> None:
    """Adds the gradient of every glimpse-network parameter, given dg (N, G), to ``grads``."""
    do = dg * (cache.g > 0)
    _add(grads, prefix + "Wgo", cache.hg.T @ do)
    _add(grads, prefix + "Wlo", cache.hl.T @ do)
    _add(grads, prefix + "bo", do.sum(axis=0))
    dag = (do @ p[prefix + "Wgo"].T) * (cache.hg > 0)
    _add(grads, prefix + "Wg", cache.x.T @ dag)
    _add(grads, prefix + "bg", dag.sum(axis=0))
    dal = (do @ p[prefix + "Wlo"].T) * (cache.hl > 0)
    _add(grads, prefix + "Wl", cache.loc.T @ dal)
    _add(grads, prefix + "bl", dal.sum(axis=0))


@dataclass
class PolicyCache:
    e: np.ndarray    # (N, H) what the mean read
    mu: np.ndarray   # (N, 2)


def policy_forward(e, W, b, std: float, noise=None):
    """The location's mean and a sample.

    Inputs: e (N, H); W (H, 2), b (2,); std sigma; noise eps (N, 2) standard normal draws (None:
    l = mu, the deterministic path used in evaluation).
    Returns: l (N, 2) (not clipped: the sensor clips), mu (N, 2), cache.
    """
    mu = np.tanh(e @ W + b)
    loc = mu if noise is None else mu + std * noise
    return loc, mu, PolicyCache(e, mu)


def log_prob(loc, mu, std: float):
    """log pi(l | mu) of each row (N,) under the Gaussian of standard deviation ``std``."""
    return -((loc - mu) ** 2).sum(axis=1) / (2.0 * std * std) - np.log(2.0 * np.pi * std * std)


def reinforce_dmu(loc, mu, std: float, advantage):
    """The gradient on mu of the surrogate sum_n -A_n log pi(l_n | mu_n): (N, 2)."""
    return -advantage[:, None] * (loc - mu) / (std * std)


def policy_backward(dmu, cache: PolicyCache, W):
    """Inputs: dmu (N, 2). Returns: de (N, H), dW (H, 2), db (2,)."""
    da = dmu * (1.0 - cache.mu ** 2)
    return da @ W.T, cache.e.T @ da, da.sum(axis=0)
