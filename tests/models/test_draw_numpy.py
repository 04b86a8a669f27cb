"""DRAW in the NumPy engine: every hand-written gradient (the filterbank attention's through its
centre, stride, variance and intensity, and the whole model with and without attention) against
central differences in float64; the loss against a direct computation; learning; generation."""

import numpy as np
import pytest

from rnnkit.errors import UsageError
from rnnkit.models.draw import filterbank as fb
from rnnkit.models.draw.numpy_model import DrawModel
from rnnkit.models.draw.spec import DrawSpec
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient, rel_error_norm

B, A, N = 4, 3, 2


def tiny_spec(**fields):
    return DrawSpec(**{"height": B, "width": A, "hidden": 3, "latent": 2, "steps_t": 3, "read_n": 2, "write_n": 3,
                       **fields})


def random_model(spec, seed=0):
    """Larger weights than at initialisation, so that every gradient is of order one."""
    model = DrawModel.create(spec, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for value in model.params.values():
        value[...] = rng.standard_normal(value.shape) * 0.5
    return model


@pytest.mark.parametrize("attention", [False, True])
def test_model_gradients_match_central_differences(attention):
    spec = tiny_spec(attention=attention)
    model = random_model(spec)
    rng = np.random.default_rng(3)
    x = (rng.random((N, B * A)) < 0.5).astype(float)
    eps = rng.standard_normal((N, spec.steps_t, spec.latent))
    _, grads, _ = model.loss(x, eps=eps)
    assert list(grads) == list(spec.param_shapes())
    for name, value in model.params.items():
        numerical = eval_numerical_gradient(lambda _: model.loss(x, eps=eps)[0], value)
        assert rel_error_norm(grads[name], numerical) < 1e-6, name


def _filter_problem(rng, n=3):
    params = rng.standard_normal((N, 5)) * 0.5
    return params, n


def test_filterbank_read_and_write_gradients():
    """f = sum(read(img) * g1) + sum(write(w) * g2) through the filterbank of random params:
    the gradients on params (all five), img and w."""
    rng = np.random.default_rng(0)
    params, n = _filter_problem(rng)
    img, w = rng.standard_normal((N, B, A)), rng.standard_normal((N, n, n))
    g1, g2 = rng.standard_normal((N, n, n)), rng.standard_normal((N, B, A))

    def f(_=None):
        FX, FY, gamma, _ = fb.filterbank_forward(params, A, B, n)
        return float(np.sum(fb.read_forward(img, FX, FY, gamma)[0] * g1) + np.sum(fb.write_forward(w, FX, FY, gamma)[0] * g2))

    FX, FY, gamma, cache = fb.filterbank_forward(params, A, B, n)
    _, rcache = fb.read_forward(img, FX, FY, gamma)
    _, wcache = fb.write_forward(w, FX, FY, gamma)
    dimg, dFX1, dFY1, dg1 = fb.read_backward(g1, rcache)
    dw, dFX2, dFY2, dg2 = fb.write_backward(g2, wcache)
    dparams = fb.filterbank_backward(dFX1 + dFX2, dFY1 + dFY2, dg1 + dg2, cache)
    for analytic, x in ((dparams, params), (dimg, img), (dw, w)):
        assert rel_error_norm(analytic, eval_numerical_gradient(f, x)) < 1e-7
    # each of the five window parameters matters, and is checked on its own column
    numerical = eval_numerical_gradient(f, params)
    for k in range(5):
        assert np.abs(numerical[:, k]).max() > 1e-4
        assert rel_error_norm(dparams[:, k], numerical[:, k]) < 1e-7


def test_filters_are_normalised_and_centred():
    params = np.zeros((1, 5))
    FX, FY, gamma, _ = fb.filterbank_forward(params, 9, 9, 3)
    np.testing.assert_allclose(FX.sum(axis=2), 1.0, rtol=1e-7)
    centres = (FX @ np.arange(9.0))[0]
    assert abs(centres[1] - 4.0) < 1e-6  # the middle filter sits on the image's centre
    assert centres[0] < 2.5 and centres[2] > 5.5  # the stride spans the image
    assert gamma[0] == 1.0


@pytest.mark.parametrize("n", [1, 2, 5])
def test_a_fresh_read_window_sees_the_middle_of_the_image(n):
    """At initialisation (h_dec = 0, so the window is the bias) a digit in the middle of a 28x28
    image must reach the read, however few the filters; unit-variance filters 27 pixels apart
    read two blank border lines, and the encoder saw nothing."""
    spec = DrawSpec(height=28, width=28, hidden=8, latent=2, steps_t=2, read_n=n, write_n=n)
    bias = spec.init_params(np.random.default_rng(0))["read_att.b"]
    _, _, stride, var, _ = fb.window(bias[None], 28, 28, n)
    assert np.sqrt(var[0]) == pytest.approx(max(stride[0] / 2, 1.0))
    img = np.zeros((1, 28, 28))
    img[0, 10:18, 10:18] = 1.0  # a blob where MNIST's ink is
    FX, FY, gamma, _ = fb.filterbank_forward(bias[None], 28, 28, n)
    assert fb.read_forward(img, FX, FY, gamma)[0].sum() > 0.05 * n * n


def test_loss_is_reconstruction_plus_kl():
    spec = tiny_spec(attention=True)
    model = random_model(spec)
    rng = np.random.default_rng(5)
    x = (rng.random((N, B, A)) < 0.5).astype(float)
    eps = rng.standard_normal((N, spec.steps_t, spec.latent))
    c, kl, _ = model.forward(x, eps)
    p = 1 / (1 + np.exp(-c))
    flat = x.reshape(N, -1)
    recon = -np.sum(flat * np.log(p) + (1 - flat) * np.log(1 - p), axis=1)
    loss, _, _ = model.loss(x, eps=eps)
    assert loss == pytest.approx(np.mean(recon + kl), rel=1e-12)
    stats, _ = model.evaluate(x, eps)
    assert stats["nats"] == pytest.approx(np.sum(recon + kl), rel=1e-12) and stats["count"] == N
    assert np.all(kl >= 0)


def test_wrong_image_size_and_bad_spec():
    model = random_model(tiny_spec())
    with pytest.raises(ValueError, match="images are 3x3"):
        model.loss(np.zeros((1, 3, 3)), rng=np.random.default_rng(0))
    for bad in ({"latent": 0}, {"steps_t": 0}, {"read_n": 0}, {"hidden": True}):
        with pytest.raises(UsageError):
            tiny_spec(**bad)


@pytest.mark.parametrize("attention", [False, True])
def test_generate_shapes_and_windows(attention):
    spec = tiny_spec(attention=attention)
    model = random_model(spec)
    canvases, windows = model.generate(np.random.default_rng(0).standard_normal((2, spec.steps_t, spec.latent)))
    assert canvases.shape == (spec.steps_t, 2, B * A) and windows.shape == (spec.steps_t, 2, 5)
    assert np.all(np.isfinite(canvases))
    assert bool(np.any(windows)) == attention


def test_tiny_draw_learns_8x8_patterns():
    """Four 8x8 binary patterns: Adam on the bound takes it far below its start and below the
    uniform model's 64 ln 2 = 44.4 nats."""
    from rnnkit.numpy_engine.optim import make_optimizer

    rng = np.random.default_rng(0)
    patterns = np.zeros((4, 8, 8))
    patterns[0, 2:6, 2:6] = 1
    patterns[1, :, 3:5] = 1
    patterns[2, 3:5, :] = 1
    patterns[3][np.eye(8, dtype=bool)] = 1
    spec = DrawSpec(height=8, width=8, hidden=16, latent=4, steps_t=4, attention=False)
    model = DrawModel.create(spec, seed=0, dtype=np.float64)
    optimizer = make_optimizer("adam", 1e-2)
    x = np.repeat(patterns, 4, axis=0)
    first = model.evaluate(x, rng.standard_normal((16, 4, 4)))[0]["nats"] / 16
    for _ in range(150):
        _, grads, _ = model.loss(x, rng=rng)
        optimizer.step(model.params, grads, lr=1e-2)
    last = model.evaluate(x, rng.standard_normal((16, 4, 4)))[0]["nats"] / 16
    assert last < 0.5 * first and last < 64 * np.log(2)
