"""Sampling from logits: greedy, top-k, temperature, and agreement with the softmax distribution."""

import numpy as np
import pytest

from rnnkit.sampling import sample_from_logits, softmax

# 99.9% quantile of chi-square with 5 degrees of freedom (V - 1 for V = 6; looser for top-k).
# A temperature off by 5% gives a statistic above 100 at this sample size.
CHI2_5_DOF_999 = 20.52


def test_greedy_is_argmax():
    logits = np.random.default_rng(0).standard_normal((7, 11))
    ids = sample_from_logits(logits, None, greedy=True)
    assert ids.dtype == np.int64 and ids.shape == (7,)
    np.testing.assert_array_equal(ids, logits.argmax(axis=1))
    one = sample_from_logits(logits[3], None, greedy=True)
    assert isinstance(one, int) and one == logits[3].argmax()


def test_one_dimensional_logits_give_an_int():
    out = sample_from_logits(np.zeros(4), np.random.default_rng(0))
    assert isinstance(out, int) and 0 <= out < 4


def test_top_k_never_picks_outside_the_top_k():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((500, 20))
    top3 = np.argsort(logits, axis=1)[:, -3:]
    for temperature in (0.5, 1.0, 5.0):
        ids = sample_from_logits(logits, rng, temperature=temperature, top_k=3)
        assert all(i in row for i, row in zip(ids, top3))


def test_top_k_one_is_greedy():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((50, 9))
    np.testing.assert_array_equal(sample_from_logits(logits, rng, top_k=1), logits.argmax(axis=1))


def test_low_temperature_approaches_greedy():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((300, 10))
    greedy = logits.argmax(axis=1)
    hot = np.mean(sample_from_logits(logits, rng, temperature=1.0) == greedy)
    cool = np.mean(sample_from_logits(logits, rng, temperature=0.3) == greedy)
    cold = sample_from_logits(logits, rng, temperature=1e-3)
    assert hot < cool < 1.0
    np.testing.assert_array_equal(cold, greedy)
    # Extreme temperatures must not overflow into NaN probabilities.
    np.testing.assert_array_equal(sample_from_logits(logits, rng, temperature=1e-300), greedy)


def test_softmax_is_stable_and_normalized():
    p = softmax(np.array([1000.0, 1001.0, -np.inf]))
    np.testing.assert_allclose(p, [1 / (1 + np.e), np.e / (1 + np.e), 0.0], rtol=1e-15)
    p = softmax(np.random.default_rng(4).standard_normal((3, 5)) * 50, temperature=0.1, top_k=2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    assert np.all(np.count_nonzero(p, axis=1) <= 2)


@pytest.mark.parametrize("temperature, top_k", [(1.0, None), (2.0, None), (0.7, 4)])
def test_empirical_frequencies_match_softmax(temperature, top_k):
    logits = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -0.5])
    n = 60000
    ids = sample_from_logits(np.tile(logits, (n, 1)), np.random.default_rng(5),
                             temperature=temperature, top_k=top_k)
    counts = np.bincount(ids, minlength=logits.size)
    expected = n * softmax(logits, temperature=temperature, top_k=top_k)
    support = expected > 0
    assert np.all(counts[~support] == 0)
    chi2 = np.sum((counts[support] - expected[support]) ** 2 / expected[support])
    assert chi2 < CHI2_5_DOF_999


def test_forbidden_tokens_are_never_sampled():
    logits = np.array([0.0, -np.inf, 0.0, -np.inf])
    ids = sample_from_logits(np.tile(logits, (2000, 1)), np.random.default_rng(6))
    assert set(ids.tolist()) == {0, 2}


def test_one_uniform_draw_per_row_so_resumed_runs_repeat():
    rng, twin = np.random.default_rng(7), np.random.default_rng(7)
    sample_from_logits(np.zeros((5, 3)), rng, top_k=2)
    twin.random(5)
    assert rng.random() == twin.random()


@pytest.mark.parametrize("kwargs", [{"temperature": 0.0}, {"temperature": -1.0},
                                    {"temperature": float("nan")}, {"top_k": 0}, {"top_k": 4}])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        sample_from_logits(np.zeros(3), np.random.default_rng(0), **kwargs)


def test_bad_logits_raise():
    rng = np.random.default_rng(0)
    for logits in (np.array([np.nan, 1.0]), np.full(3, -np.inf), np.zeros((2, 2, 2)), np.zeros(0)):
        with pytest.raises(ValueError):
            sample_from_logits(logits, rng)
    with pytest.raises(ValueError, match="random generator"):
        sample_from_logits(np.zeros(3), None)
