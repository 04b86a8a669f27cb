"""An ensemble of decoders (rnnkit/inference/ensemble.py): its log-probabilities are the log of the
members' mean probability, forbidden tokens stay forbidden, and beam search over the ensemble equals
exhaustive search over that mixture, with every member's state following the same hypotheses."""

import numpy as np
import pytest
from test_beam import BOS, EOS, Markov, exhaustive, random_table

from rnnkit.inference import beam_search, greedy_decode
from rnnkit.inference.ensemble import ensemble_step, mean_probabilities


def test_mean_probabilities_is_the_log_of_the_mean():
    rng = np.random.default_rng(0)
    logits = 4 * rng.standard_normal((3, 5, 7))
    log_probs = logits - np.log(np.exp(logits).sum(axis=2, keepdims=True))
    got = mean_probabilities(log_probs)
    np.testing.assert_allclose(got, np.log(np.exp(log_probs).mean(axis=0)), rtol=1e-12)
    np.testing.assert_allclose(np.exp(got).sum(axis=1), 1.0, rtol=1e-12)


def test_a_token_one_member_allows_stays_allowed_and_one_all_forbid_stays_forbidden():
    with np.errstate(divide="ignore"):
        log_probs = np.log(np.array([[[0.5, 0.5, 0.0]], [[0.0, 0.5, 0.5]]]))
        got = mean_probabilities(np.log(np.array([[[0.5, 0.5, 0.0]], [[0.5, 0.5, 0.0]]])))
    assert got[0, 2] == -np.inf and np.all(np.isfinite(got[0, :2]))
    np.testing.assert_allclose(np.exp(mean_probabilities(log_probs)), [[0.25, 0.5, 0.25]])


def test_far_below_one_the_mean_does_not_underflow():
    tiny = np.full((2, 1, 2), -2000.0)     # exp(-2000) is 0 in float64; the shift keeps it finite
    np.testing.assert_allclose(mean_probabilities(tiny), tiny[0])


class Mixture:
    """log p of the mean of Markov chains' probabilities, for exhaustive search to score."""

    def __init__(self, members):
        self.members = members

    def log_prob(self, s, ids, finished=True):
        prev2, prev, total = BOS, BOS, 0.0
        for tok in list(ids) + ([EOS] if finished else []):
            total += np.log(np.mean([np.exp(m.table[s, prev2, prev, tok]) for m in self.members]))
            prev2, prev = prev, tok
        return total


@pytest.mark.parametrize("alpha", [0.0, 0.8])
def test_wide_beam_over_the_ensemble_is_exhaustive_search_over_the_mixture(alpha):
    members = [Markov(random_table(2, 4, seed=s)) for s in (1, 2, 3)]
    states = tuple(m.init_state([0, 1]) for m in members)
    pools = beam_search(ensemble_step(members), states, BOS, EOS, beam_size=27, max_len=3,
                        length_penalty=alpha, n_best=3)
    mixture = Mixture(members)
    for s, pool in enumerate(pools):
        want = exhaustive(mixture, s, 4, 3, alpha)[:3]
        assert [h.ids for h in pool] == [h.ids for h in want]
        np.testing.assert_allclose([h.log_prob for h in pool], [h.log_prob for h in want], rtol=1e-10)


def test_an_ensemble_of_one_model_twice_decodes_as_the_model():
    model = Markov(random_table(3, 6, seed=4))
    alone = greedy_decode(model, model.init_state(range(3)), BOS, EOS, 6)
    twice = greedy_decode(ensemble_step([model, model]), (model.init_state(range(3)),) * 2, BOS, EOS, 6)
    assert [h.ids for h in twice] == [h.ids for h in alone]
    np.testing.assert_allclose([h.log_prob for h in twice], [h.log_prob for h in alone], rtol=1e-12)


def test_members_of_different_vocabularies_are_refused():
    small, large = Markov(random_table(1, 4, seed=0)), Markov(random_table(1, 5, seed=0))
    with pytest.raises(ValueError, match="vocabulary"):
        greedy_decode(ensemble_step([small, large]), (small.init_state([0]), large.init_state([0])), BOS, EOS, 3)
    with pytest.raises(ValueError, match="at least one member"):
        ensemble_step([])
