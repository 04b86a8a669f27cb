"""Greedy decoding and beam search on tiny hand-built Markov "models" whose probabilities are known:
beam 1 is greedy; beam search finds what greedy misses; with a wide beam it is exhaustive search;
<eos> ends a hypothesis and is never fed back; the length penalty changes the choice where it should;
N sentences at once give what each gives alone; max_len per sentence holds; the state reorders."""

import itertools
from collections import namedtuple

import numpy as np
import pytest

from rnnkit.inference import Hypothesis, beam_search, gnmt_length_penalty, greedy_decode, reorder_state

BOS, EOS = 0, 1


class Markov:
    """A second-order Markov chain per sentence: log p(next | prev2, prev) = table[s, prev2, prev, next].

    The state, ({"sent": (M,)}, [prev2 (M,)]), is nested on purpose, and prev2 depends on each
    hypothesis' history, so a hypothesis paired with the wrong state row gets the wrong probabilities.
    """

    def __init__(self, table):
        self.table = table
        self.calls = []   # M of every step_fn call

    def init_state(self, sentences):
        sentences = np.asarray(sentences)
        return {"sent": sentences, "name": "toy"}, [np.full(len(sentences), BOS)]

    def __call__(self, prev, state):
        meta, (prev2,) = state
        assert not np.any(prev == EOS), "a finished hypothesis was extended"
        self.calls.append(prev.size)
        return self.table[meta["sent"], prev2, prev], (meta, [prev.copy()])

    def log_prob(self, s, ids, finished=True):
        prev2, prev, total = BOS, BOS, 0.0
        for tok in list(ids) + ([EOS] if finished else []):
            total += self.table[s, prev2, prev, tok]
            prev2, prev = prev, tok
        return total


def normalise(p):
    """Rows of probabilities (or weights) -> log-probabilities; <bos> is never generated."""
    p = np.array(p, dtype=np.float64)
    p[..., BOS] = 0.0
    with np.errstate(divide="ignore"):
        return np.log(p / p.sum(axis=-1, keepdims=True))


def random_table(S, V, seed, sharpness=2.0):
    rng = np.random.default_rng(seed)
    return normalise(np.exp(sharpness * rng.standard_normal((S, V, V, V))))


def hand_table(V, rows):
    """One sentence; rows maps (prev2, prev) -> {token: weight}, prev2 None for any; others uniform."""
    p = np.ones((1, V, V, V))
    for (prev2, prev), weights in rows.items():
        row = np.full(V, 1e-3)
        for tok, w in weights.items():
            row[tok] = w
        p[0, slice(None) if prev2 is None else prev2, prev] = row
    return normalise(p)


def exhaustive(model, s, V, max_len, alpha):
    """Every sequence up to max_len tokens (ended by <eos>, or cut at max_len), best score first."""
    out = []
    for n in range(max_len + 1):
        for ids in itertools.product(range(2, V), repeat=n):
            for finished in ((True, False) if n == max_len else (True,)):
                if finished and n == max_len:
                    continue   # n tokens plus <eos> would be max_len + 1
                lp = model.log_prob(s, ids, finished)
                if np.isfinite(lp):
                    out.append(Hypothesis(list(ids), lp / gnmt_length_penalty(n + finished, alpha), lp, finished))
    return sorted(out, key=lambda h: -h.score)


def assert_same(got, want):
    assert [h.ids for h in got] == [h.ids for h in want]
    assert [h.finished for h in got] == [h.finished for h in want]
    np.testing.assert_allclose([h.score for h in got], [h.score for h in want], rtol=1e-12)
    np.testing.assert_allclose([h.log_prob for h in got], [h.log_prob for h in want], rtol=1e-12)


def test_gnmt_length_penalty():
    assert gnmt_length_penalty(1, 0.7) == 1.0
    assert gnmt_length_penalty(7, 0.0) == 1.0
    np.testing.assert_allclose(gnmt_length_penalty(np.array([3, 13]), 0.5), [np.sqrt(8 / 6), np.sqrt(3.0)])


def test_beam_of_one_is_greedy():
    model = Markov(random_table(4, 6, seed=0))
    limits = np.array([5, 7, 3, 6])
    greedy = greedy_decode(model, model.init_state(range(4)), BOS, EOS, limits)
    beam = beam_search(model, model.init_state(range(4)), BOS, EOS, beam_size=1, max_len=limits)
    assert_same([b[0] for b in beam], greedy)
    for s, h in enumerate(greedy):
        assert h.log_prob == pytest.approx(model.log_prob(s, h.ids, h.finished), rel=1e-12)
        assert h.score == h.log_prob


def test_beam_finds_the_more_probable_sequence_greedy_misses():
    a, b, c = 2, 3, 4
    model = Markov(hand_table(5, {(None, BOS): {a: 0.6, b: 0.4},
                                  (None, a): {EOS: 0.31, a: 0.23, b: 0.23, c: 0.23},
                                  (None, b): {EOS: 0.9, a: 0.05, b: 0.03, c: 0.02}}))
    greedy = greedy_decode(model, model.init_state([0]), BOS, EOS, 10)[0]
    best = beam_search(model, model.init_state([0]), BOS, EOS, beam_size=2, max_len=10)[0][0]
    assert greedy.ids == [a] and best.ids == [b]
    assert best.log_prob > greedy.log_prob
    assert best.log_prob == pytest.approx(np.log(0.4 * 0.9 / (1 + 2e-3)), rel=1e-9)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
def test_a_wide_beam_is_exhaustive_search(alpha):
    V, limits = 5, [4, 3]
    model = Markov(random_table(2, V, seed=1, sharpness=1.0))
    # Every extension of every sequence fits in the beam: 3**3 live prefixes times V tokens.
    got = beam_search(model, model.init_state([0, 1]), BOS, EOS, beam_size=3**3 * V, max_len=limits,
                      length_penalty=alpha, n_best=6)
    for s, max_len in enumerate(limits):
        assert_same(got[s], exhaustive(model, s, V, max_len, alpha)[:6])


def test_eos_ends_a_hypothesis_without_appearing_in_it():
    model = Markov(hand_table(4, {(None, BOS): {EOS: 0.9, 2: 0.05, 3: 0.05}}))
    for alpha in (0.0, 1.0):
        model.calls.clear()
        out = beam_search(model, model.init_state([0]), BOS, EOS, beam_size=3, max_len=50,
                          length_penalty=alpha, n_best=3)[0]
        assert out[0].ids == [] and out[0].finished
        assert out[0].score == out[0].log_prob == pytest.approx(np.log(0.9), rel=1e-12)   # lp(1) = 1
        assert all(EOS not in h.ids and BOS not in h.ids and h.finished for h in out)
    # Ranked by log P, nothing live can catch up with three finished hypotheses long before max_len.
    # (With alpha = 1 a hypothesis of 50 tokens could, so the search rightly goes on longer.)
    model.calls.clear()
    beam_search(model, model.init_state([0]), BOS, EOS, beam_size=3, max_len=50, n_best=3)
    assert len(model.calls) < 10


def test_the_length_penalty_changes_the_choice():
    a, b, c = 2, 3, 4
    model = Markov(hand_table(5, {(None, BOS): {EOS: 0.5, a: 0.47},
                                  (BOS, a): {b: 0.95}, (a, b): {c: 0.95}, (b, c): {EOS: 0.95}}))
    short = beam_search(model, model.init_state([0]), BOS, EOS, 2, 8, length_penalty=0.0)[0][0]
    long = beam_search(model, model.init_state([0]), BOS, EOS, 2, 8, length_penalty=1.0)[0][0]
    assert short.ids == [] and long.ids == [a, b, c]
    assert long.log_prob < short.log_prob
    for alpha, h in ((0.0, short), (1.0, long)):
        assert exhaustive(model, 0, 5, 8, alpha)[0].ids == h.ids


def test_n_sentences_at_once_equal_one_at_a_time():
    model = Markov(random_table(3, 6, seed=2))
    limits = np.array([3, 6, 4])
    together = beam_search(model, model.init_state([0, 1, 2]), BOS, EOS, 3, limits,
                           length_penalty=0.7, n_best=2)
    greedy = greedy_decode(model, model.init_state([0, 1, 2]), BOS, EOS, limits)
    for s in range(3):
        alone = beam_search(model, model.init_state([s]), BOS, EOS, 3, int(limits[s]),
                            length_penalty=0.7, n_best=2)[0]
        assert_same(together[s], alone)
        assert_same([greedy[s]], greedy_decode(model, model.init_state([s]), BOS, EOS, int(limits[s])))


def test_max_len_per_sentence_is_respected():
    V = 5
    p = np.ones((3, V, V, V))
    p[..., EOS] = 1e-9   # <eos> practically never: every hypothesis runs to its sentence's max_len
    model = Markov(normalise(p))
    source_lengths = np.array([2, 5, 1])
    limits = 2 * source_lengths   # translation: a multiple of the source length
    beams = beam_search(model, model.init_state([0, 1, 2]), BOS, EOS, 2, limits, n_best=2)
    for hyps, limit in zip(beams, limits):
        assert [len(h.ids) for h in hyps] == [limit, limit] and not any(h.finished for h in hyps)
    # One call per token of the longest; rows leave the batch when their sentence is done.
    assert model.calls == [3, 6, 4, 4] + [2] * 6
    model.calls.clear()
    greedy = greedy_decode(model, model.init_state([0, 1, 2]), BOS, EOS, limits)
    assert [len(h.ids) for h in greedy] == limits.tolist()
    assert model.calls == [3, 3, 2, 2, 1, 1, 1, 1, 1, 1]


def test_reorder_state_walks_tuples_lists_dicts_and_namedtuples():
    Pair = namedtuple("Pair", "h c")
    x = np.arange(8).reshape(4, 2)
    state = {"rnn": [Pair(x, x * 10)], "enc": (np.arange(4.0), None), "k": 3, "zero_d": np.array(5.0)}
    out = reorder_state(state, [2, 2, 0])
    assert isinstance(out["rnn"][0], Pair) and isinstance(out["enc"], tuple)
    np.testing.assert_array_equal(out["rnn"][0].h, x[[2, 2, 0]])
    np.testing.assert_array_equal(out["rnn"][0].c, x[[2, 2, 0]] * 10)
    np.testing.assert_array_equal(out["enc"][0], [2.0, 2.0, 0.0])
    assert out["enc"][1] is None and out["k"] == 3 and out["zero_d"] == 5.0
    np.testing.assert_array_equal(state["enc"][0], np.arange(4.0))   # the input is not modified
    with pytest.raises(TypeError, match="set"):
        reorder_state({"bad": {1, 2}}, [0])


def test_stateless_step_and_argument_checks():
    table = random_table(1, 4, seed=3)[0, BOS]   # a bigram model: the state is not needed

    def bigram(prev, state):
        return table[prev], state

    out = greedy_decode(bigram, None, BOS, EOS, np.array([3, 3]))   # N from max_len
    assert out[0] == out[1]
    assert len(beam_search(bigram, (), BOS, EOS, 2, 4)) == 1
    model = Markov(random_table(1, 4, seed=4))
    with pytest.raises(ValueError, match="first"):
        greedy_decode(model, (np.zeros(2), np.zeros(3)), BOS, EOS, 3)
    with pytest.raises(ValueError, match="max_len"):
        beam_search(model, model.init_state([0, 0]), BOS, EOS, 2, [3, 3, 3])
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(model, model.init_state([0]), BOS, EOS, 0)
    with pytest.raises(ValueError, match="n_best"):
        beam_search(model, model.init_state([0]), BOS, EOS, 2, 3, n_best=3)
    with pytest.raises(ValueError, match="log_probs"):
        greedy_decode(lambda prev, s: (np.zeros((1, 4)), s), model.init_state([0, 0]), BOS, EOS, 3)
