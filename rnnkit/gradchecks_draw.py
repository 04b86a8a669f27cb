"""Gradient checks of DRAW: rows of the ``rnnkit gradcheck`` table (rnnkit/gradchecks.py runs them
with the others).

The Gaussian filterbank attention is checked through f = sum(read(img) * g1) + sum(write(w) * g2)
with random g1, g2: the gradients on the five window parameters (centre gX, gY, log variance, log
stride, log intensity), on the image read and on the patch written. The whole model is checked
through its real loss (reconstruction plus KL, with a fixed noise eps), with and without attention.
"""

from __future__ import annotations

import numpy as np

from rnnkit.models.draw import filterbank as fb
from rnnkit.models.draw.numpy_model import DrawModel
from rnnkit.models.draw.spec import DrawSpec
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient, rel_error, rel_error_norm

N, B, A, n = 2, 4, 3, 3
WINDOW = ("gX", "gY", "log_var", "log_delta", "log_gamma")


def _compare(analytic, numerical):
    return rel_error_norm(analytic, numerical), rel_error(analytic, numerical)


def check_filterbank(rng) -> dict:
    params = rng.standard_normal((N, 5)) * 0.5
    img, w = rng.standard_normal((N, B, A)), rng.standard_normal((N, n, n))
    g1, g2 = rng.standard_normal((N, n, n)), rng.standard_normal((N, B, A))

    def f(_=None):
        FX, FY, gamma, _ = fb.filterbank_forward(params, A, B, n)
        return float(np.sum(fb.read_forward(img, FX, FY, gamma)[0] * g1)
                     + np.sum(fb.write_forward(w, FX, FY, gamma)[0] * g2))

    FX, FY, gamma, cache = fb.filterbank_forward(params, A, B, n)
    dimg, dFX1, dFY1, dg1 = fb.read_backward(g1, fb.read_forward(img, FX, FY, gamma)[1])
    dw, dFX2, dFY2, dg2 = fb.write_backward(g2, fb.write_forward(w, FX, FY, gamma)[1])
    dparams = fb.filterbank_backward(dFX1 + dFX2, dFY1 + dFY2, dg1 + dg2, cache)
    numerical = eval_numerical_gradient(f, params)
    results = {("draw filterbank", name): _compare(dparams[:, k], numerical[:, k]) for k, name in enumerate(WINDOW)}
    results[("draw read", "img")] = _compare(dimg, eval_numerical_gradient(f, img))
    results[("draw write", "w")] = _compare(dw, eval_numerical_gradient(f, w))
    return results


def check_model(rng, attention: bool) -> dict:
    spec = DrawSpec(height=B, width=A, hidden=3, latent=2, steps_t=3, attention=attention, read_n=2, write_n=n)
    model = DrawModel.create(spec, seed=int(rng.integers(1 << 30)), dtype=np.float64)
    for value in model.params.values():  # larger than at initialisation: gradients of order one
        value[...] = rng.standard_normal(value.shape) * 0.5
    x = (rng.random((N, B * A)) < 0.5).astype(np.float64)
    eps = rng.standard_normal((N, spec.steps_t, spec.latent))
    _, grads, _ = model.loss(x, eps=eps)
    loss = lambda _: model.loss(x, eps=eps)[0]  # noqa: E731
    name = "draw attention" if attention else "draw"
    return {(name, k): _compare(grads[k], eval_numerical_gradient(loss, p)) for k, p in model.params.items()}


def run_draw(rng) -> dict:
    results = check_filterbank(rng)
    for attention in (False, True):
        results.update(check_model(rng, attention))
    return results
