"""The torch attention modules compute the NumPy engine's functions: same outputs, and autograd's
gradients of every input and parameter equal the hand-written backward, in float64 to 1e-9; masks
behave the same (zero weight, zero gradient, ValueError for a fully masked row); initialisation
is as documented."""

import math

import numpy as np
import pytest
from gradutil import assert_close, randn, torch_tensors

torch = pytest.importorskip("torch")

from rnnkit.numpy_engine.attention import (  # noqa: E402
    additive_attention_backward, additive_attention_forward, dot_attention_backward, dot_attention_forward,
    temporal_dot_attention_backward, temporal_dot_attention_forward,
)
from rnnkit.torch_engine.attention import AdditiveAttention, DotAttention, masked_softmax  # noqa: E402

N, L, Tq, Hq, Hk, Dv, A = 3, 5, 4, 4, 6, 3, 5
TOL = 1e-9
MASK = np.arange(L)[None, :] < np.array([L, 3, 2])[:, None]


def load(module, params):
    """Copy NumPy arrays into the module's parameters (same names, same shapes), in float64."""
    module.double()
    with torch.no_grad():
        for name, value in params.items():
            getattr(module, name).copy_(torch.from_numpy(value))
    return module


def run_torch(module, inputs, dcontext, dweights, mask, **kwargs):
    """Forward, then backward of sum(context * dcontext) + sum(weights * dweights)."""
    t = torch_tensors(torch, inputs)
    tmask = None if mask is None else torch.from_numpy(mask)
    context, weights = module(t["query"], t["keys"], t["values"], tmask, **kwargs)
    ((context * torch.from_numpy(dcontext)).sum() + (weights * torch.from_numpy(dweights)).sum()).backward()
    return context.detach().numpy(), weights.detach().numpy(), t


def upstream(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("mask", [None, MASK], ids=["nomask", "mask"])
@pytest.mark.parametrize("general", [True, False], ids=["general", "dot"])
def test_dot_attention_step_matches_numpy(mask, general):
    rng = np.random.default_rng(0)
    hq = Hq if general else Hk
    x = {"query": randn(rng, N, hq), "keys": randn(rng, N, L, Hk), "values": randn(rng, N, L, Dv)}
    params = {"W": randn(rng, Hq, Hk)} if general else {}
    dcontext, dweights = upstream(1, (N, Dv), (N, L))
    context, weights, cache = dot_attention_forward(**x, mask=mask, W=params.get("W"))
    ours = dot_attention_backward(dcontext, cache, dweights)

    module = load(DotAttention(hq, Hk, general=general), params)
    tc, tw, t = run_torch(module, x, dcontext, dweights, mask)
    assert_close(tc, context, "context", TOL)
    assert_close(tw, weights, "weights", TOL)
    for name, g in zip(["query", "keys", "values"], ours):
        assert_close(t[name].grad.numpy(), g, "d" + name, TOL)
    if general:
        assert_close(module.W.grad.numpy(), ours[3], "dW", TOL)
    else:
        assert module.W is None and ours[3] is None


def test_dot_attention_over_tq_queries_matches_numpy():
    rng = np.random.default_rng(2)
    x = {"query": randn(rng, N, Tq, Hq), "keys": randn(rng, N, L, Hk), "values": randn(rng, N, L, Dv)}
    W = randn(rng, Hq, Hk)
    dcontext, dweights = upstream(3, (N, Tq, Dv), (N, Tq, L))
    context, weights, cache = temporal_dot_attention_forward(**x, mask=MASK, W=W)
    ours = temporal_dot_attention_backward(dcontext, cache, dweights)

    module = load(DotAttention(Hq, Hk), {"W": W})
    tc, tw, t = run_torch(module, x, dcontext, dweights, MASK)
    assert_close(tc, context, "context", TOL)
    assert_close(tw, weights, "weights", TOL)
    for name, g in zip(["query", "keys", "values"], ours):
        assert_close(t[name].grad.numpy(), g, "d" + name, TOL)
    assert_close(module.W.grad.numpy(), ours[3], "dW", TOL)


def additive_problem(seed):
    rng = np.random.default_rng(seed)
    x = {"query": randn(rng, N, Hq), "keys": randn(rng, N, L, Hk), "values": randn(rng, N, L, Dv)}
    params = {"Wq": randn(rng, Hq, A) * 0.5, "Wk": randn(rng, Hk, A) * 0.5, "b": randn(rng, A) * 0.5,
              "v": randn(rng, A)}
    return x, params


@pytest.mark.parametrize("mask", [None, MASK], ids=["nomask", "mask"])
@pytest.mark.parametrize("precomputed", [False, True], ids=["keys", "keys_proj"])
def test_additive_attention_matches_numpy(mask, precomputed):
    x, params = additive_problem(4)
    dcontext, dweights = upstream(5, (N, Dv), (N, L))
    context, weights, cache = additive_attention_forward(**x, mask=mask, **params)
    ours = dict(zip(["query", "keys", "values", "Wq", "Wk", "b", "v"],
                    additive_attention_backward(dcontext, cache, dweights)))

    module = load(AdditiveAttention(Hq, Hk, A), params)
    t = torch_tensors(torch, x)
    tmask = None if mask is None else torch.from_numpy(mask)
    keys_proj = module.project_keys(t["keys"]) if precomputed else None
    tc, tw = module(t["query"], t["keys"], t["values"], tmask, keys_proj=keys_proj)
    ((tc * torch.from_numpy(dcontext)).sum() + (tw * torch.from_numpy(dweights)).sum()).backward()
    assert_close(tc.detach().numpy(), context, "context", TOL)
    assert_close(tw.detach().numpy(), weights, "weights", TOL)
    for name in ("query", "keys", "values"):
        assert_close(t[name].grad.numpy(), ours[name], "d" + name, TOL)
    for name in params:
        assert_close(getattr(module, name).grad.numpy(), ours[name], "d" + name, TOL)


def test_masked_keys_get_zero_weight_and_zero_gradient():
    x, params = additive_problem(6)
    module = load(AdditiveAttention(Hq, Hk, A), params)
    dcontext, dweights = upstream(7, (N, Dv), (N, L))
    _, weights, t = run_torch(module, x, dcontext, dweights, MASK)
    assert np.all(weights[~MASK] == 0.0)
    assert np.all(t["keys"].grad.numpy()[~MASK] == 0.0)
    assert np.all(t["values"].grad.numpy()[~MASK] == 0.0)


def test_fully_masked_row_is_an_error():
    mask = torch.from_numpy(MASK.copy())
    mask[2] = False
    with pytest.raises(ValueError, match=r"\[2\]"):
        masked_softmax(torch.zeros(N, Tq, L), mask)
    module = DotAttention(Hq, Hk)
    with pytest.raises(ValueError, match="no unmasked"):
        module(torch.zeros(N, Hq), torch.zeros(N, L, Hk), torch.zeros(N, L, Dv), mask)


def test_parameter_names_shapes_and_initialisation():
    torch.manual_seed(0)
    dot = DotAttention(Hq, Hk)
    assert [(n, tuple(p.shape)) for n, p in dot.named_parameters()] == [("W", (Hq, Hk))]
    assert list(DotAttention(Hk, general=False).parameters()) == []
    with pytest.raises(ValueError):
        DotAttention(Hq, Hk, general=False)
    add = AdditiveAttention(Hq, Hk, A)
    shapes = {n: tuple(p.shape) for n, p in add.named_parameters()}
    assert shapes == {"Wq": (Hq, A), "Wk": (Hk, A), "b": (A,), "v": (A,)}
    assert torch.all(add.b == 0)
    for p, fan_in in ((dot.W, Hq), (add.Wq, Hq), (add.Wk, Hk), (add.v, A)):
        assert p.abs().max() <= 1 / math.sqrt(fan_in) and p.abs().max() > 0.5 / math.sqrt(fan_in)
