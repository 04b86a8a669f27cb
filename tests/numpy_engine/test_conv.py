"""The convolutional layers and the image encoder of the NumPy engine: a naive loop against the
im2col forward, every backward against central differences in float64, pooling's routing, and
the encoder's shapes and bad input."""

import numpy as np
import pytest

from rnnkit.errors import UsageError
from rnnkit.image_encoder import ImageEncoderSpec
from rnnkit.numpy_engine.conv import (conv2d_backward, conv2d_forward, max_pool2x2_backward, max_pool2x2_forward,
                                      relu_backward, relu_forward)
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient, rel_error_norm
from rnnkit.numpy_engine.image_encoder import encoder_backward, encoder_forward


def naive_conv(x, W, b):
    """The definition, one output pixel at a time."""
    k, _, C, F = W.shape
    N, H, Wd, _ = x.shape
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    out = np.zeros((N, H, Wd, F))
    for n in range(N):
        for i in range(H):
            for j in range(Wd):
                out[n, i, j] = np.tensordot(xp[n, i:i + k, j:j + k, :], W, axes=3) + b
    return out


@pytest.mark.parametrize("k", [1, 3, 5])
def test_conv_matches_the_definition(k):
    rng = np.random.default_rng(k)
    x, W, b = rng.standard_normal((2, 5, 6, 3)), rng.standard_normal((k, k, 3, 4)), rng.standard_normal(4)
    out, _ = conv2d_forward(x, W, b)
    np.testing.assert_allclose(out, naive_conv(x, W, b), rtol=1e-12, atol=1e-12)


def test_conv_backward_is_the_numerical_gradient():
    rng = np.random.default_rng(0)
    inputs = {"x": rng.standard_normal((2, 4, 5, 2)), "W": rng.standard_normal((3, 3, 2, 3)),
              "b": rng.standard_normal(3)}
    dout = rng.standard_normal((2, 4, 5, 3))
    f = lambda _: float(np.sum(conv2d_forward(**inputs)[0] * dout))  # noqa: E731
    dx, dW, db = conv2d_backward(dout, conv2d_forward(**inputs)[1])
    for name, analytic in (("x", dx), ("W", dW), ("b", db)):
        assert rel_error_norm(analytic, eval_numerical_gradient(f, inputs[name])) < 1e-8, name
    skipped, dW2, db2 = conv2d_backward(dout, conv2d_forward(**inputs)[1], need_dx=False)
    assert skipped is None
    np.testing.assert_array_equal(dW2, dW)
    np.testing.assert_array_equal(db2, db)


def test_relu_and_pool_backward_are_the_numerical_gradient():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 6, 3))
    dout = rng.standard_normal((2, 2, 3, 3))
    f = lambda _: float(np.sum(max_pool2x2_forward(relu_forward(x)[0])[0] * dout))  # noqa: E731
    r, positive = relu_forward(x)
    _, pool = max_pool2x2_forward(r)
    dx = relu_backward(max_pool2x2_backward(dout, pool), positive)
    assert rel_error_norm(dx, eval_numerical_gradient(f, x)) < 1e-8


def test_pool_takes_each_windows_max_and_routes_ties_to_the_first():
    x = np.array([[1., 4., 0., 0.], [3., 2., 0., 0.]])[None, :, :, None]  # (1, 2, 4, 1)
    out, cache = max_pool2x2_forward(x)
    assert out[0, 0, :, 0].tolist() == [4.0, 0.0]
    dx = max_pool2x2_backward(np.ones((1, 1, 2, 1)), cache)
    assert dx[0, :, :, 0].tolist() == [[0, 1, 1, 0], [0, 0, 0, 0]]
    with pytest.raises(ValueError, match="even"):
        max_pool2x2_forward(np.zeros((1, 3, 4, 1)))


def test_encoder_gradients_and_shapes():
    spec = ImageEncoderSpec(height=8, width=8, channels=(3, 4), kernel=3)
    rng = np.random.default_rng(2)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in spec.init_params(rng).items()}
    images = rng.random((2, 8, 8))
    dfeat, dgrid = rng.standard_normal((2, 4)), rng.standard_normal((2, 2, 2, 4))
    feats, grid, cache = encoder_forward(images, params, spec)
    assert feats.shape == (2, 4) and grid.shape == (2, 2, 2, 4) and spec.grid == (2, 2)
    np.testing.assert_allclose(feats, grid.mean(axis=(1, 2)))

    def f():
        a, g, _ = encoder_forward(images, params, spec)
        return float(np.sum(a * dfeat) + np.sum(g * dgrid))

    grads = {}
    dimages = encoder_backward(dfeat, dgrid, cache, grads)
    assert rel_error_norm(dimages[..., 0], eval_numerical_gradient(lambda _: f(), images)) < 1e-7
    for name, p in params.items():
        assert rel_error_norm(grads[name], eval_numerical_gradient(lambda _: f(), p)) < 1e-7, name


def test_encoder_refuses_bad_shapes():
    with pytest.raises(UsageError, match="multiples of 8"):
        ImageEncoderSpec(height=20, width=20, channels=(4, 4, 4))
    with pytest.raises(UsageError, match="odd"):
        ImageEncoderSpec(kernel=4)
    spec = ImageEncoderSpec(height=8, width=8, channels=(2,))
    with pytest.raises(ValueError, match=r"\(N, 8, 8\)"):
        encoder_forward(np.zeros((1, 9, 8)), spec.init_params(np.random.default_rng(0)), spec)
    assert ImageEncoderSpec.from_json(spec.to_json()) == spec
