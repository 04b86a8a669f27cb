"""Numerical gradients by central differences, and the relative error used to judge them.

Every hand-written backward in the NumPy engine is checked against these, in float64:

    df/dx[i] ~= (f(x + h e_i) - f(x - h e_i)) / (2h)        (error O(h^2))

The functions follow the CS231n assignment helpers, with the same names and meaning, so
notebooks written against those work unchanged. ``check_gradients`` applies the check to a whole
model's parameter dict and ``format_table`` prints the result (``rnnkit gradcheck``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from numbers import Real

import numpy as np


def _require_float64(x: np.ndarray) -> None:
    # With float32 (eps ~ 1e-7) a step of 1e-5 leaves about two significant digits in the
    # difference quotient: the check would pass or fail by noise, so refuse instead.
    if x.dtype != np.float64:
        raise TypeError(f"gradient checks need float64 arrays, got {x.dtype}")


def _central_difference(f: Callable[[np.ndarray], object], x: np.ndarray, ix: tuple,
                        h: float) -> object:
    """(f(x + h e_ix) - f(x - h e_ix)) / 2h, with x[ix] restored afterwards even if f raises."""
    old = x[ix]
    try:
        x[ix] = old + h
        f_plus = np.copy(f(x))  # copy: f may return a buffer it overwrites on the next call
        x[ix] = old - h
        f_minus = np.copy(f(x))
    finally:
        x[ix] = old
    return (f_plus - f_minus) / (2.0 * h)


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                            h: float = 1e-5) -> np.ndarray:
    """Gradient of a scalar function by central differences.

    Inputs:
    - f: called as f(x), returns a scalar; x is perturbed in place, one entry at a time.
    - x: float64 array of any shape; restored to its original values on return.
    - h: finite-difference step.

    Returns grad, same shape as x, grad[i] = (f(x + h e_i) - f(x - h e_i)) / 2h.
    """
    _require_float64(x)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        grad[ix] = _central_difference(f, x, ix, h)
    return grad


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                                  df: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of sum(f(x) * df) for an array-valued f: the vector-Jacobian product df^T J.

    Inputs:
    - f: called as f(x), returns an array shaped like df; x is perturbed in place.
    - x: float64 array of any shape; restored on return.
    - df: upstream gradient dLoss/df(x).
    - h: finite-difference step.

    Returns grad, same shape as x, grad[i] = sum((f(x + h e_i) - f(x - h e_i)) * df) / 2h.
    """
    _require_float64(x)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        grad[ix] = np.sum(_central_difference(f, x, ix, h) * df)
    return grad


def rel_error(x: np.ndarray, y: np.ndarray, floor: float = 1e-8) -> float:
    """max over entries of |x - y| / max(floor, |x| + |y|).

    Around 1e-7 or less is a pass for float64 gradients of smooth functions; kinks (ReLU, clipping)
    and large h raise it. The default floor keeps entries where both are ~0 from dividing by zero.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(floor, np.abs(x) + np.abs(y))))


def rel_error_norm(x: np.ndarray, y: np.ndarray) -> float:
    """||x - y|| / max(1e-8, ||x|| + ||y||), with Euclidean norms over the whole array.

    The gradient check's pass mark (<= 1e-7 in float64). Unlike :func:`rel_error`, which takes the
    worst entry, it measures the error against the gradient's overall size, so an entry whose true
    gradient is ~1e-7 of the largest (where central differences carry more rounding noise than
    signal) cannot fail a correct backward pass, while a wrong entry of ordinary size still does.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.linalg.norm(x - y) / max(1e-8, np.linalg.norm(x) + np.linalg.norm(y)))


def check_gradients(loss_fn: Callable[[], float], params: dict[str, np.ndarray],
                    analytic_grads: dict[str, np.ndarray], h: float = 1e-5,
                    num_checks: int | None = None,
                    rng: np.random.Generator | None = None) -> dict[str, float]:
    """Compare analytic gradients of a model's loss with numerical ones, parameter by parameter.

    Inputs:
    - loss_fn: called with no arguments, returns the scalar loss computed from ``params``. The
      arrays in ``params`` are perturbed in place, so the model must hold references to them.
    - params: name -> float64 parameter array; every entry is restored on return.
    - analytic_grads: name -> dLoss/dparam, same keys and shapes as ``params``.
    - h: finite-difference step.
    - num_checks: if given, check only this many randomly chosen entries per parameter (all of
      them when the parameter is smaller), which keeps large models affordable.
    - rng: picks those entries; default ``np.random.default_rng(0)``.

    Returns {name: rel_error(analytic, numerical)} over the checked entries, in ``params`` order.
    """
    if params.keys() != analytic_grads.keys():
        raise KeyError(f"params and analytic_grads differ: {sorted(set(params) ^ set(analytic_grads))}")
    rng = np.random.default_rng(0) if rng is None else rng
    errors = {}
    for name, x in params.items():
        analytic = analytic_grads[name]
        if analytic.shape != x.shape:
            raise ValueError(f"gradient of {name} has shape {analytic.shape}, parameter {x.shape}")
        _require_float64(x)
        if num_checks is None or num_checks >= x.size:
            numerical = eval_numerical_gradient(lambda _: loss_fn(), x, h)
            errors[name] = rel_error(analytic, numerical)
            continue
        flat = rng.choice(x.size, size=num_checks, replace=False)
        picked = [np.unravel_index(i, x.shape) for i in flat]
        numerical = [_central_difference(lambda _: loss_fn(), x, ix, h) for ix in picked]
        errors[name] = rel_error([analytic[ix] for ix in picked], numerical)
    return errors


def _cell(value: object) -> str:
    if isinstance(value, Real) and not isinstance(value, (bool, int, np.integer)):
        return f"{float(value):.3g}"
    return str(value)


def format_table(rows: Sequence[Mapping[str, object]]) -> str:
    """An aligned plain-text table: one row per mapping, columns in the order their keys first
    appear, a header and a rule. Numbers are right-aligned (floats as 3 significant digits), text
    left-aligned, missing cells blank. Returns "" for no rows.

        param      rel_error  ok
        ---------  ---------  --
        rnn.0.Wx    1.23e-09  ok
    """
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if not columns:
        return ""
    cells = [[_cell(row[c]) if c in row else "" for c in columns] for row in rows]
    numeric = [all(isinstance(row.get(c), Real) and not isinstance(row.get(c), bool)
                   for row in rows if c in row) for c in columns]
    widths = [max(len(c), *(len(r[j]) for r in cells)) for j, c in enumerate(columns)]

    def line(values: Sequence[str], right: Sequence[bool]) -> str:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)]
        return "  ".join(parts).rstrip()

    out = [line(columns, numeric), line(["-" * w for w in widths], numeric)]
    out.extend(line(r, numeric) for r in cells)
    return "\n".join(out)
