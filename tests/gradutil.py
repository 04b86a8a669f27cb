"""Helpers shared by the NumPy engine's tests: random float64 problems and the gradient-check verdict.

A layer with several outputs (h, hT, cT, ...) is checked through the scalar
f = sum_k sum(out_k * dout_k): its gradient is exactly what the backward pass computes when it is
given dout_k on every output. ``numerical_vjp`` flattens the outputs into one vector so that
``eval_numerical_gradient_array`` (the CS231n helper) computes that gradient by central differences.
"""

from __future__ import annotations

import numpy as np

from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient_array, rel_error, rel_error_norm

TOL = 1e-7            # rel_error_norm pass mark for float64 gradients
TOL_RECURRENT = 1e-6  # for recurrent weights and states (long sums over time steps)
ENTRY_TOL = 1e-4      # CS231n's elementwise rel_error: catches a single wrong entry
EXACT = 1e-10         # two float64 computations of the same quantity


def randn(rng, *shape):
    return rng.standard_normal(shape)


def numerical_vjp(fn, x, douts):
    """d/dx of sum_k sum(fn()[k] * douts[k]) by central differences; fn reads x (perturbed in place)."""
    df = np.concatenate([np.ravel(d) for d in douts])
    return eval_numerical_gradient_array(lambda _: np.concatenate([np.ravel(o) for o in fn()]), x, df)


def assert_grad(analytic, numerical, name="", tol=TOL):
    """Both relative errors within bounds (the whole array's, and the worst entry's with the floor
    below), and the gradient not vacuously zero."""
    assert analytic.shape == numerical.shape, f"{name}: shape {analytic.shape} vs {numerical.shape}"
    assert np.linalg.norm(numerical) > 1e-6, f"{name}: numerical gradient is ~0, the check proves nothing"
    err = rel_error_norm(analytic, numerical)
    # The entry check skips nothing, but measures each entry against at least 1e-4 of the largest:
    # central differences carry an absolute rounding noise (about eps |f| / h, ~1e-10 here), so an
    # entry some 1e-5 of the largest (e.g. 4e-7 beside 2e-2) is noise to 1e-4 on one CPU's BLAS and
    # not another's. A wrong entry of that size still moves rel_error_norm, checked first.
    worst = rel_error(analytic, numerical, floor=max(1e-8, 1e-4 * float(np.max(np.abs(numerical)))))
    assert err <= tol, f"{name}: rel_error_norm {err:.3g} > {tol:g}"
    assert worst <= ENTRY_TOL, f"{name}: worst entry rel_error {worst:.3g} > {ENTRY_TOL:g}"


def assert_close(a, b, name="", tol=EXACT):
    """max |a - b| relative to max(1, max |b|) within tol."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{name}: shape {a.shape} vs {b.shape}"
    err = float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(b)))) if a.size else 0.0
    assert err <= tol, f"{name}: differs by {err:.3g} > {tol:g}"


def check_all_inputs(forward, inputs, douts, analytic, recurrent=()):
    """Gradient-check ``analytic`` (name -> gradient) against central differences of
    sum_k sum(forward(**inputs)[k] * douts[k]) with respect to every named input."""
    for name, grad in analytic.items():
        numerical = numerical_vjp(lambda: forward(**inputs), inputs[name], douts)
        assert_grad(grad, numerical, name, TOL_RECURRENT if name in recurrent else TOL)


def torch_tensors(torch, arrays: dict, grad=True):
    """float64 leaf tensors (requiring grad) from NumPy arrays."""
    return {k: torch.tensor(v, dtype=torch.float64, requires_grad=grad) for k, v in arrays.items()}
