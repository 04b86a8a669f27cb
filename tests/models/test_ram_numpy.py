"""RAM and DRAM in the NumPy engine: the parameter format, gradient checks through the hybrid loss,
what the stop-gradients leave out, the REINFORCE gradient as an unbiased estimator of an exact
expected gradient, noise against given locations, and inference along the mean path."""

import math

import numpy as np
import pytest

from rnnkit.errors import UsageError
from rnnkit.gradchecks import tolerance
from rnnkit.gradchecks_glimpse import check_glimpse_net, check_model, check_policy
from rnnkit.models.ram import parts
from rnnkit.models.ram.numpy_model import RAM, sampled_locations
from rnnkit.models.ram.spec import RAMSpec


def small_spec(**fields):
    base = dict(image_size=12, classes=3, glimpses=2, patch=4, scales=2, glimpse_hidden=5, loc_hidden=4,
                glimpse_out=6, hidden=5, loc_std=0.3)
    return RAMSpec(**{**base, **fields})


def random_model(spec, seed=0):
    model = RAM.create(spec, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 100)
    for value in model.params.values():
        value[...] = rng.standard_normal(value.shape) * 0.5
    return model


def batch(spec, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, spec.image_size, spec.image_size)), rng.integers(0, spec.classes, (n, spec.digits))


def test_parameters_follow_the_spec():
    for spec in (small_spec(), small_spec(dram=True, digits=2, cell="gru")):
        model = RAM.create(spec)
        assert list(model.params) == list(spec.param_shapes())
        assert all(model.params[k].shape == s for k, s in spec.param_shapes().items())
    assert "context.W" in small_spec(dram=True).param_shapes() and "rnn2.0.Wx" in small_spec(dram=True).param_shapes()
    assert "context.W" not in small_spec().param_shapes()


@pytest.mark.parametrize("spec", [dict(dram=False, loc_grad=False), dict(dram=True, loc_grad=False)])
def test_bad_specs_are_usage_errors(spec):
    if spec["dram"]:
        with pytest.raises(UsageError, match="loc-grad"):
            small_spec(**spec)
    for bad in (dict(loc_std=0.0), dict(glimpses=0), dict(patch=40, scales=3), dict(cell="lstmx")):
        with pytest.raises(UsageError):
            small_spec(**bad)


@pytest.mark.parametrize("check", [
    lambda rng: check_glimpse_net(rng), lambda rng: check_policy(rng),
    lambda rng: check_model(rng, "lstm", dram=False), lambda rng: check_model(rng, "rnn", dram=False, loc_grad=False),
    lambda rng: check_model(rng, "gru", dram=True)])
def test_gradients_match_central_differences(check):
    for (layer, param), (err, worst) in check(np.random.default_rng(0)).items():
        assert err <= tolerance(layer, param) and worst <= 1e-4, (layer, param, err, worst)


def test_the_baseline_trains_only_itself():
    """With the advantage fixed, the baseline's weights change no other gradient: it reads the
    emitting state detached."""
    spec = small_spec()
    model, (x, y) = random_model(spec), batch(spec)
    P = sampled_locations(spec)
    locs, adv = np.random.default_rng(1).uniform(-1, 1, (4, P, 2)), np.ones((4, P))
    _, g1, _ = model.loss(x, y, locations=locs, advantage=adv)
    model.params["baseline.W"] *= -3.0
    _, g2, _ = model.loss(x, y, locations=locs, advantage=adv)
    for name in g1:
        if not name.startswith("baseline."):
            np.testing.assert_allclose(g1[name], g2[name], atol=1e-13, err_msg=name)


def test_without_loc_grad_reinforce_reaches_only_the_location_network():
    spec_on, spec_off = small_spec(), small_spec(loc_grad=False)
    model_on, (x, y) = random_model(spec_on), batch(spec_on)
    model_off = RAM(spec_off, {k: v.copy() for k, v in model_on.params.items()})
    P = sampled_locations(spec_on)
    locs = np.random.default_rng(2).uniform(-1, 1, (4, P, 2))
    adv = np.random.default_rng(3).standard_normal((4, P))
    _, off, _ = model_off.loss(x, y, locations=locs, advantage=adv)
    _, on_no_reinforce, _ = model_on.loss(x, y, locations=locs, advantage=np.zeros((4, P)))
    _, on, _ = model_on.loss(x, y, locations=locs, advantage=adv)
    np.testing.assert_allclose(off["rnn.0.Wx"], on_no_reinforce["rnn.0.Wx"], atol=1e-13)
    assert np.abs(on["rnn.0.Wx"] - off["rnn.0.Wx"]).max() > 1e-6      # with loc_grad it does reach the core
    np.testing.assert_allclose(off["loc.W"], on["loc.W"], atol=1e-13)


def _phi(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def test_reinforce_is_an_unbiased_estimate_of_the_exact_policy_gradient():
    """A one-step problem with a known answer: l ~ N(mu, s^2 I), mu = tanh(e W + b), reward 1 when
    l lands in the right half (column > 0). E[R] = Phi(mu_col / s), so dE/db_col =
    phi(mu_col / s) / s * (1 - mu_col^2) and dE/db_row = 0. The average of many REINFORCE
    estimates approaches it, with or without a constant baseline (which only cuts the variance)."""
    rng = np.random.default_rng(0)
    H, M, s = 3, 200_000, 0.4
    e, W, b = rng.standard_normal((1, H)), rng.standard_normal((H, 2)) * 0.3, np.array([0.2, -0.3])
    mu = np.tanh(e @ W + b)[0]
    exact_b = np.array([0.0, _phi(mu[1] / s) / s * (1 - mu[1] ** 2)])
    exact_W = e.T @ exact_b[None, :]
    es = np.repeat(e, M, axis=0)
    loc, mus, cache = parts.policy_forward(es, W, b, s, rng.standard_normal((M, 2)))
    reward = (loc[:, 1] > 0).astype(np.float64)
    spreads = []
    for baseline in (0.0, 0.5):
        # per-sample estimates of dE/db: -(d surrogate / d b) for that sample alone
        dmu = parts.reinforce_dmu(loc, mus, s, reward - baseline)
        per_sample = -dmu * (1 - mus ** 2)                                         # (M, 2)
        mean, err = per_sample.mean(axis=0), per_sample.std(axis=0) / math.sqrt(M)
        assert np.all(np.abs(mean - exact_b) < 4 * err + 1e-12), (mean, exact_b, err)
        _, dW, db = parts.policy_backward(dmu / M, cache, W)                       # the batch's gradient
        np.testing.assert_allclose(-db, mean, rtol=1e-10, atol=1e-14)
        assert np.all(np.abs(-dW - exact_W) < 4 * np.abs(e.T) * err[None, :] + 1e-12)
        spreads.append(per_sample.std(axis=0)[1])
    assert spreads[1] < spreads[0]
    assert abs(exact_b[1]) > 10 * err[1]   # the test can tell a right gradient from zero


def test_noise_and_the_locations_it_gives_are_the_same_path():
    spec = small_spec(dram=True, digits=2)
    model, (x, y) = random_model(spec), batch(spec)
    noise = np.random.default_rng(4).standard_normal((4, sampled_locations(spec), 2))
    loss, grads, _ = model.loss(x, y, noise=noise)
    trace = model.forward(x, noise)
    loss2, grads2, _ = model.loss(x, y, locations=np.stack(trace.samples, axis=1))
    assert loss == pytest.approx(loss2, abs=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads[name], grads2[name], atol=1e-12)


def test_a_generator_draws_the_noise_reproducibly():
    spec = small_spec()
    model, (x, y) = random_model(spec), batch(spec)
    a = model.loss(x, y, rng=np.random.default_rng(7))[0]
    assert a == model.loss(x, y, rng=np.random.default_rng(7))[0]
    assert a != model.loss(x, y, rng=np.random.default_rng(8))[0]


def test_inference_follows_the_mean_path():
    spec = small_spec(dram=True, digits=2, glimpses=3)
    model, (x, y) = random_model(spec), batch(spec, n=5)
    probs = model.predict_proba(x)
    assert probs.shape == (5, 2, 3)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0)
    locs = model.locations(x)
    assert locs.shape == (5, 6, 2) and np.all(np.abs(locs) <= 1)
    stats, _ = model.evaluate(x, y)
    right = probs.argmax(axis=-1) == y
    assert stats["count"] == 5 and stats["correct"] == int(right.all(axis=1).sum())
    assert stats["digits_correct"] == int(right.sum())
    ram = random_model(small_spec())
    np.testing.assert_array_equal(ram.locations(x)[:, 0], 0.0)      # RAM's first glimpse: the centre
    with pytest.raises(ValueError, match="images must be"):
        ram.predict_proba(np.zeros((2, 10, 10)))


def test_float32_loss_agrees_with_float64():
    spec = small_spec()
    m64, (x, y) = random_model(spec), batch(spec)
    m32 = RAM(spec, {k: v.astype(np.float32) for k, v in m64.params.items()})
    noise = np.random.default_rng(5).standard_normal((4, sampled_locations(spec), 2))
    l64, g64, _ = m64.loss(x, y, noise=noise)
    l32, g32, _ = m32.loss(x, y, noise=noise)
    assert l32 == pytest.approx(l64, rel=1e-4)
    assert all(g32[k].dtype == np.float32 for k in g32)
