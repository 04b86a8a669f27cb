"""Attention (masked softmax, dot, additive): every gradient of every input and parameter against
central differences in float64, with and without a mask and with a loss on the weights too; masked
positions get weight 0 and gradient 0; padding keys beyond the mask changes nothing; a fully masked
row is a ValueError; the step, temporal and precomputed-keys forms agree with each other."""

import numpy as np
import pytest
from gradutil import assert_close, check_all_inputs, randn

from rnnkit.numpy_engine.attention import (
    additive_attention_backward, additive_attention_forward, additive_attention_projected_backward,
    additive_attention_projected_forward, dot_attention_backward, dot_attention_forward,
    masked_softmax_backward, masked_softmax_forward, project_keys_backward, project_keys_forward,
    temporal_dot_attention_backward, temporal_dot_attention_forward,
)

N, L, Tq, Hq, Hk, Dv, A = 3, 5, 4, 4, 6, 3, 5
# Example 0 sees every key, example 1 the first three, example 2 the first two. (With a single real
# key the scores get no gradient at all, and central differences of ~0 fail the per-entry check.)
MASK = np.arange(L)[None, :] < np.array([L, 3, 2])[:, None]


def inputs(seed, temporal=False, W=True):
    rng = np.random.default_rng(seed)
    hq = Hq if W else Hk
    a = {"query": randn(rng, N, Tq, hq) if temporal else randn(rng, N, hq),
         "keys": randn(rng, N, L, Hk), "values": randn(rng, N, L, Dv)}
    if W:
        a["W"] = randn(rng, Hq, Hk) * 0.5
    return a


def additive_inputs(seed):
    rng = np.random.default_rng(seed)
    return {"query": randn(rng, N, Hq), "keys": randn(rng, N, L, Hk), "values": randn(rng, N, L, Dv),
            "Wq": randn(rng, Hq, A) * 0.5, "Wk": randn(rng, Hk, A) * 0.5, "b": randn(rng, A) * 0.5,
            "v": randn(rng, A)}


def upstream(seed, context_shape, weights_shape):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(context_shape), rng.standard_normal(weights_shape)


# ---- masked softmax ----

def test_masked_softmax_is_softmax_over_the_unmasked_positions():
    scores = randn(np.random.default_rng(0), N, Tq, L)
    w, _ = masked_softmax_forward(scores, MASK)
    for n in range(N):
        keep = MASK[n]
        e = np.exp(scores[n][:, keep])
        assert_close(w[n][:, keep], e / e.sum(axis=1, keepdims=True))
        assert np.all(w[n][:, ~keep] == 0.0)
    unmasked, _ = masked_softmax_forward(scores)
    assert_close(unmasked, masked_softmax_forward(scores, np.ones((N, L), dtype=int))[0])


def test_masked_softmax_ignores_whatever_the_masked_scores_hold():
    scores = randn(np.random.default_rng(1), N, L)
    wild = np.where(MASK, scores, np.array([np.inf, -np.inf, 1e300, np.nan, 0.0]))
    with np.errstate(all="raise"):
        w, _ = masked_softmax_forward(wild, MASK)
    np.testing.assert_array_equal(w, masked_softmax_forward(scores, MASK)[0])


def test_masked_softmax_gradcheck_and_zero_gradient_where_masked():
    rng = np.random.default_rng(2)
    a = {"scores": randn(rng, N, Tq, L)}
    dw = rng.standard_normal((N, Tq, L))
    _, cache = masked_softmax_forward(a["scores"], MASK)
    grads = {"scores": masked_softmax_backward(dw, cache)}
    check_all_inputs(lambda scores: [masked_softmax_forward(scores, MASK)[0]], a, [dw], grads)
    assert np.all(grads["scores"][~np.broadcast_to(MASK[:, None], (N, Tq, L))] == 0.0)


def test_fully_masked_row_is_an_error_not_nan():
    mask = MASK.copy()
    mask[1] = False
    scores = np.zeros((N, L))
    with pytest.raises(ValueError, match=r"\[1\]"):
        masked_softmax_forward(scores, mask)
    with pytest.raises(ValueError, match="no unmasked"):
        dot_attention_forward(**inputs(3), mask=mask)
    with pytest.raises(ValueError, match="no unmasked"):
        additive_attention_forward(mask=mask, **additive_inputs(3))


def test_mask_of_the_wrong_shape_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        masked_softmax_forward(np.zeros((N, L)), MASK[:, :-1])


# ---- dot attention ----

@pytest.mark.parametrize("mask", [None, MASK], ids=["nomask", "mask"])
@pytest.mark.parametrize("general", [True, False], ids=["general", "dot"])
def test_dot_attention_gradcheck(mask, general):
    a = inputs(4, W=general)
    dcontext, dweights = upstream(5, (N, Dv), (N, L))
    _, _, cache = dot_attention_forward(**a, mask=mask)
    dquery, dkeys, dvalues, dW = dot_attention_backward(dcontext, cache, dweights)
    grads = {"query": dquery, "keys": dkeys, "values": dvalues}
    if general:
        grads["W"] = dW
    else:
        assert dW is None

    def forward(**k):
        return dot_attention_forward(**k, mask=mask)[:2]

    check_all_inputs(forward, a, [dcontext, dweights], grads)


@pytest.mark.parametrize("mask", [None, MASK], ids=["nomask", "mask"])
def test_temporal_dot_attention_gradcheck(mask):
    a = inputs(6, temporal=True)
    dcontext, dweights = upstream(7, (N, Tq, Dv), (N, Tq, L))
    _, _, cache = temporal_dot_attention_forward(**a, mask=mask)
    grads = dict(zip(["query", "keys", "values", "W"], temporal_dot_attention_backward(dcontext, cache, dweights)))
    check_all_inputs(lambda **k: temporal_dot_attention_forward(**k, mask=mask)[:2], a,
                     [dcontext, dweights], grads)


def test_dot_attention_is_the_equation():
    a = inputs(8)
    context, weights, _ = dot_attention_forward(**a, mask=MASK)
    scores = np.einsum("nh,hk,nlk->nl", a["query"], a["W"], a["keys"])
    e = np.where(MASK, np.exp(scores - scores.max(axis=1, keepdims=True)), 0.0)
    want = e / e.sum(axis=1, keepdims=True)
    assert_close(weights, want)
    assert_close(context, np.einsum("nl,nld->nd", want, a["values"]))


def test_temporal_dot_attention_equals_one_step_per_query():
    a = inputs(9, temporal=True)
    dcontext, dweights = upstream(10, (N, Tq, Dv), (N, Tq, L))
    context, weights, cache = temporal_dot_attention_forward(**a, mask=MASK)
    grads = temporal_dot_attention_backward(dcontext, cache, dweights)
    summed = [np.zeros_like(a["keys"]), np.zeros_like(a["values"]), np.zeros_like(a["W"])]
    for t in range(Tq):
        c, w, step_cache = dot_attention_forward(a["query"][:, t], a["keys"], a["values"], MASK, a["W"])
        assert_close(context[:, t], c)
        assert_close(weights[:, t], w)
        dq, *rest = dot_attention_backward(dcontext[:, t], step_cache, dweights[:, t])
        assert_close(grads[0][:, t], dq)
        for acc, g in zip(summed, rest):
            acc += g
    for got, want in zip(grads[1:], summed):
        assert_close(got, want)


# ---- additive attention ----

@pytest.mark.parametrize("mask", [None, MASK], ids=["nomask", "mask"])
def test_additive_attention_gradcheck(mask):
    a = additive_inputs(11)
    dcontext, dweights = upstream(12, (N, Dv), (N, L))
    _, _, cache = additive_attention_forward(mask=mask, **a)
    grads = dict(zip(["query", "keys", "values", "Wq", "Wk", "b", "v"],
                     additive_attention_backward(dcontext, cache, dweights)))
    check_all_inputs(lambda **k: additive_attention_forward(mask=mask, **k)[:2], a, [dcontext, dweights], grads)


def test_additive_projected_and_project_keys_gradcheck():
    a = additive_inputs(30)
    keys, Wk = a.pop("keys"), a.pop("Wk")
    a["keys_proj"] = project_keys_forward(keys, Wk)[0]
    dcontext, dweights = upstream(14, (N, Dv), (N, L))
    _, _, cache = additive_attention_projected_forward(mask=MASK, **a)
    grads = dict(zip(["query", "keys_proj", "values", "Wq", "b", "v"],
                     additive_attention_projected_backward(dcontext, cache, dweights)))
    check_all_inputs(lambda **k: additive_attention_projected_forward(mask=MASK, **k)[:2], a,
                     [dcontext, dweights], grads)

    k = {"keys": keys, "Wk": Wk}
    dproj = np.random.default_rng(15).standard_normal((N, L, A))
    _, pcache = project_keys_forward(**k)
    check_all_inputs(lambda **kk: [project_keys_forward(**kk)[0]], k, [dproj],
                     dict(zip(["keys", "Wk"], project_keys_backward(dproj, pcache))))


def test_additive_attention_is_the_equation():
    a = additive_inputs(16)
    context, weights, _ = additive_attention_forward(mask=MASK, **a)
    scores = np.tanh((a["query"] @ a["Wq"])[:, None] + a["keys"] @ a["Wk"] + a["b"]) @ a["v"]
    e = np.where(MASK, np.exp(scores), 0.0)
    want = e / e.sum(axis=1, keepdims=True)
    assert_close(weights, want)
    assert_close(context, np.einsum("nl,nld->nd", want, a["values"]))


def test_decoder_loop_with_keys_projected_once_equals_the_full_form_per_step():
    a = additive_inputs(17)
    queries = randn(np.random.default_rng(18), 3, N, Hq)
    rng = np.random.default_rng(19)
    keys_proj, pcache = project_keys_forward(a["keys"], a["Wk"])
    dkeys_proj_sum = np.zeros_like(keys_proj)
    want_dkeys, want_dWk = np.zeros_like(a["keys"]), np.zeros_like(a["Wk"])
    for q in queries:
        dcontext = rng.standard_normal((N, Dv))
        c1, w1, cache1 = additive_attention_projected_forward(q, keys_proj, a["values"], MASK,
                                                              a["Wq"], a["b"], a["v"])
        c2, w2, cache2 = additive_attention_forward(q, a["keys"], a["values"], MASK,
                                                    a["Wq"], a["Wk"], a["b"], a["v"])
        assert_close(c1, c2)
        assert_close(w1, w2)
        dkeys_proj_sum += additive_attention_projected_backward(dcontext, cache1)[1]
        _, dkeys, _, _, dWk, _, _ = additive_attention_backward(dcontext, cache2)
        want_dkeys += dkeys
        want_dWk += dWk
    dkeys, dWk = project_keys_backward(dkeys_proj_sum, pcache)
    assert_close(dkeys, want_dkeys)
    assert_close(dWk, want_dWk)


# ---- masks: zero weight, zero gradient, padding changes nothing ----

def _dot(**k):
    return dot_attention_forward(**k), dot_attention_backward


def _additive(**k):
    return additive_attention_forward(mask=k.pop("mask"), **k), additive_attention_backward


CASES = {"dot": (lambda s: inputs(s), _dot), "additive": (additive_inputs, _additive)}


@pytest.mark.parametrize("kind", CASES)
def test_masked_keys_get_zero_weight_and_zero_gradient(kind):
    make, run = CASES[kind]
    (context, weights, cache), backward = run(mask=MASK, **make(20))
    assert np.all(weights[~MASK] == 0.0)
    assert_close(weights.sum(axis=1), np.ones(N))
    dcontext, dweights = upstream(21, (N, Dv), (N, L))
    grads = backward(dcontext, cache, dweights)
    dkeys, dvalues = grads[1], grads[2]
    assert np.all(dkeys[~MASK] == 0.0) and np.all(dvalues[~MASK] == 0.0)
    assert np.all(np.abs(dkeys[MASK]).sum(axis=-1) > 0)


@pytest.mark.parametrize("kind", CASES)
def test_padding_keys_beyond_the_mask_changes_nothing(kind):
    make, run = CASES[kind]
    a = make(22)
    lengths = MASK.sum(axis=1)
    dcontext = np.random.default_rng(23).standard_normal((N, Dv))
    rng = np.random.default_rng(24)
    for n in range(N):
        # Example n alone, with only its real keys ...
        one = {k: (v[n:n + 1, :lengths[n]] if k in ("keys", "values") else v[n:n + 1] if k == "query" else v)
               for k, v in a.items()}
        (c1, w1, cache1), backward = run(mask=None, **one)
        g1 = backward(dcontext[n:n + 1], cache1)
        # ... and with extra random padding keys and values after them, masked.
        pad = {k: (np.concatenate([v, rng.standard_normal((1, 4, v.shape[2])) * 10], axis=1)
                   if k in ("keys", "values") else v) for k, v in one.items()}
        mask = np.arange(lengths[n] + 4)[None, :] < lengths[n]
        (c2, w2, cache2), _ = run(mask=mask, **pad)
        g2 = backward(dcontext[n:n + 1], cache2)
        assert_close(c2, c1)
        assert_close(w2[:, :lengths[n]], w1)
        for g_short, g_pad in zip(g1, g2):
            if g_short is not None and g_short.ndim == 3:   # dkeys, dvalues: (1, L, .)
                assert_close(g_pad[:, :lengths[n]], g_short)
            elif g_short is not None:
                assert_close(g_pad, g_short)


@pytest.mark.parametrize("kind", CASES)
def test_a_single_real_key_takes_all_the_weight_and_no_score_gradient(kind):
    make, run = CASES[kind]
    mask = np.zeros((N, L), dtype=bool)
    mask[:, 2] = True
    a = make(26)
    (context, weights, cache), backward = run(mask=mask, **a)
    np.testing.assert_array_equal(weights, mask.astype(float))
    assert_close(context, a["values"][:, 2])
    dcontext, dweights = upstream(27, (N, Dv), (N, L))
    dkeys = backward(dcontext, cache, dweights)[1]
    assert np.all(dkeys == 0.0)


def test_float32_stays_float32():
    a = {k: v.astype(np.float32) for k, v in additive_inputs(25).items()}
    context, weights, cache = additive_attention_forward(mask=MASK, **a)
    assert context.dtype == np.float32 and weights.dtype == np.float32
    grads = additive_attention_backward(np.ones((N, Dv), np.float32), cache)
    assert all(g.dtype == np.float32 for g in grads)
