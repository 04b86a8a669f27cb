"""The gradient checker on functions whose derivatives are known, and proof that it can fail."""

import numpy as np
import pytest

from rnnkit.numpy_engine.gradcheck import (
    check_gradients, eval_numerical_gradient, eval_numerical_gradient_array, format_table,
    rel_error,
)


def test_rel_error_known_values():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    # Both ~0: the 1e-8 floor keeps the ratio finite instead of 0/0.
    assert rel_error(np.array([0.0]), np.array([1e-12])) == pytest.approx(1e-4)
    # The maximum over entries, not the mean.
    assert rel_error(np.array([1.0, 1.0]), np.array([1.0, -1.0])) == pytest.approx(1.0)


def test_numerical_gradient_of_known_scalar_function():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    before = x.copy()
    num = eval_numerical_gradient(lambda z: np.sum(np.sin(z) * z ** 2), x)
    exact = np.cos(x) * x ** 2 + 2 * x * np.sin(x)
    assert rel_error(num, exact) < 1e-8
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_array_is_vector_jacobian_product():
    rng = np.random.default_rng(1)
    x, W = rng.standard_normal((2, 3)), rng.standard_normal((3, 5))
    dout = rng.standard_normal((2, 5))
    num = eval_numerical_gradient_array(lambda z: np.tanh(z @ W), x, dout)
    exact = ((1 - np.tanh(x @ W) ** 2) * dout) @ W.T
    assert rel_error(num, exact) < 1e-8


def test_x_is_restored_when_f_raises():
    x = np.array([1.0, 2.0])
    calls = []

    def f(z):
        calls.append(z.copy())
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        eval_numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    assert calls[0][0] != 1.0  # f really saw the perturbed value


def test_float32_is_refused():
    with pytest.raises(TypeError, match="float64"):
        eval_numerical_gradient(np.sum, np.ones(3, dtype=np.float32))


def quadratic_model(seed=0):
    """loss = sum((x W + b)^2) / 2 with its exact gradients."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 3))
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}

    def loss_fn():
        return 0.5 * np.sum((x @ params["W"] + params["b"]) ** 2)

    out = x @ params["W"] + params["b"]
    grads = {"W": x.T @ out, "b": out.sum(axis=0)}
    return loss_fn, params, grads


def test_check_gradients_passes_correct_gradients():
    loss_fn, params, grads = quadratic_model()
    before = {k: v.copy() for k, v in params.items()}
    errors = check_gradients(loss_fn, params, grads)
    assert list(errors) == ["W", "b"]
    assert max(errors.values()) < 1e-8
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])


@pytest.mark.parametrize("num_checks", [None, 3])
def test_check_gradients_detects_a_wrong_gradient(num_checks):
    loss_fn, params, grads = quadratic_model()
    grads["W"] = grads["W"] * 1.01  # a 1% error, the kind a missing term produces
    errors = check_gradients(loss_fn, params, grads, num_checks=num_checks)
    assert errors["W"] > 1e-3
    assert errors["b"] < 1e-8


def test_check_gradients_sparse_checks_only_some_entries():
    loss_fn, params, grads = quadratic_model()
    calls = []

    def counting_loss():
        calls.append(1)
        return loss_fn()

    check_gradients(counting_loss, params, grads, num_checks=2)
    assert len(calls) == 2 * 2 + 2 * 2  # W: two entries, b: its two entries, two calls each


def test_check_gradients_rejects_mismatched_inputs():
    loss_fn, params, grads = quadratic_model()
    with pytest.raises(KeyError):
        check_gradients(loss_fn, params, {"W": grads["W"]})
    with pytest.raises(ValueError, match="shape"):
        check_gradients(loss_fn, params, {"W": grads["W"].T, "b": grads["b"]})


def test_format_table_aligns_columns():
    rows = [{"param": "rnn.0.Wx", "rel_error": 1.234e-9, "entries": 12},
            {"param": "b", "rel_error": 0.5, "entries": 3}]
    assert format_table(rows).splitlines() == [
        "param     rel_error  entries",
        "--------  ---------  -------",
        "rnn.0.Wx   1.23e-09       12",
        "b               0.5        3",
    ]
    assert format_table([]) == ""
