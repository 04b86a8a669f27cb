"""The NumPy losses beyond what test_layers.py checks: ``softmax_loss``, the ``"tokens"`` average
and ``cross_entropy_sum``, each against its definition and (with a gradient) central differences."""

import math

import numpy as np
import pytest
from gradutil import assert_grad, randn

from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient
from rnnkit.numpy_engine.losses import cross_entropy_sum, softmax_loss, temporal_softmax_loss

N, T, V, C = 3, 4, 5, 6


def _nll(row, target):
    """-log softmax(row)[target], written out."""
    return -(row[target] - math.log(np.exp(row).sum()))


def test_softmax_loss_definition_and_gradcheck():
    rng = np.random.default_rng(0)
    x, y = randn(rng, N, C), rng.integers(0, C, N)
    loss, dx = softmax_loss(x, y)
    assert loss == pytest.approx(sum(_nll(x[n], y[n]) for n in range(N)) / N, rel=1e-12)
    assert_grad(dx, eval_numerical_gradient(lambda _: softmax_loss(x, y)[0], x))


def test_tokens_average_divides_by_the_counted_steps_and_gradchecks():
    rng = np.random.default_rng(1)
    x, y = randn(rng, N, T, V), rng.integers(0, V, (N, T))
    mask = rng.random((N, T)) > 0.4
    mask[0, 0], mask[2, 3] = False, True
    loss, dx = temporal_softmax_loss(x, y, mask, average="tokens")
    want = sum(_nll(x[n, t], y[n, t]) for n in range(N) for t in range(T) if mask[n, t])
    assert loss == pytest.approx(want / mask.sum(), rel=1e-12)
    assert_grad(dx, eval_numerical_gradient(lambda _: temporal_softmax_loss(x, y, mask, average="tokens")[0], x))
    assert np.all(dx[~mask] == 0)
    # Without a mask every one of the N*T steps counts.
    loss, dx = temporal_softmax_loss(x, y, average="tokens")
    assert loss == pytest.approx(temporal_softmax_loss(x, y)[0] * N / (N * T), rel=1e-12)
    assert_grad(dx, eval_numerical_gradient(lambda _: temporal_softmax_loss(x, y, average="tokens")[0], x))


def test_all_padding_costs_nothing_and_bad_average_is_refused():
    x, y = np.ones((2, 3, V)), np.zeros((2, 3), dtype=int)
    loss, dx = temporal_softmax_loss(x, y, np.zeros((2, 3), dtype=bool), average="tokens")
    assert loss == 0.0 and not dx.any()
    with pytest.raises(ValueError, match="average"):
        temporal_softmax_loss(x, y, average="mean")


def test_cross_entropy_sum_is_the_summed_definition():
    rng = np.random.default_rng(2)
    x, y = randn(rng, 7, V), rng.integers(0, V, 7)
    assert cross_entropy_sum(x, y) == pytest.approx(sum(_nll(x[m], y[m]) for m in range(7)), rel=1e-12)
