"""Truncated backpropagation through time, for every cell.

- Forward: two chunks of length k, the state carried from the first into the second, give the same
  outputs and final state as one chunk of length 2k (sequence functions and the CharLM).
- Backward, truncated: the CharLM's gradient on chunk 2 is the gradient of chunk 2's loss with the
  state coming from chunk 1 held constant (central differences with that state frozen), and it is
  not the gradient through chunk 1 (the cut is real).
- Backward, exact: feeding chunk 2's gradient on its initial state (dh0, dc0) into chunk 1 as
  dhT / dcT reproduces the gradient of one 2k chunk.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from gradutil import TOL, TOL_RECURRENT, assert_close, assert_grad, randn

from rnnkit.models.charlm.spec import CharLMSpec
from rnnkit.models.charlm.numpy_model import CharLM
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient, rel_error_norm
from rnnkit.numpy_engine.gru import gru_backward, gru_forward
from rnnkit.numpy_engine.lstm import lstm_backward, lstm_forward
from rnnkit.numpy_engine.rnn import rnn_backward, rnn_forward

N, K, D, H, V = 3, 4, 5, 6, 7
CELLS = ("rnn", "lstm", "gru")


@dataclass
class Cell:
    """One interface over the three cells' sequence functions: state is a tuple, weights a dict."""

    weights: dict
    forward: Callable   # (x, state, w) -> (h, final state, cache)
    backward: Callable  # (dh, cache, dfinal) -> (dx, dstate0, dweights)


def make_cell(name, rng) -> Cell:
    G = {"rnn": 1, "lstm": 4, "gru": 3}[name]
    w = {"Wx": randn(rng, D, G * H) * 0.5, "Wh": randn(rng, H, G * H) * 0.5}
    if name == "rnn":
        w["b"] = randn(rng, H) * 0.5

        def fwd(x, s, w):
            h, c = rnn_forward(x, s[0], w["Wx"], w["Wh"], w["b"])
            return h, (c.hT,), c

        def bwd(dh, c, df):
            dx, dh0, *g = rnn_backward(dh, c, dhT=df[0])
            return dx, (dh0,), dict(zip(["Wx", "Wh", "b"], g))
    elif name == "lstm":
        w["b"] = randn(rng, 4 * H) * 0.5

        def fwd(x, s, w):
            h, c = lstm_forward(x, s[0], w["Wx"], w["Wh"], w["b"], c0=s[1])
            return h, (c.hT, c.cT), c

        def bwd(dh, c, df):
            dx, dh0, dWx, dWh, db, dc0 = lstm_backward(dh, c, dhT=df[0], dcT=df[1], return_dc0=True)
            return dx, (dh0, dc0), {"Wx": dWx, "Wh": dWh, "b": db}
    else:
        w["bx"], w["bh"] = randn(rng, 3 * H) * 0.5, randn(rng, 3 * H) * 0.5

        def fwd(x, s, w):
            h, c = gru_forward(x, s[0], w["Wx"], w["Wh"], w["bx"], w["bh"])
            return h, (c.hT,), c

        def bwd(dh, c, df):
            dx, dh0, *g = gru_backward(dh, c, dhT=df[0])
            return dx, (dh0,), dict(zip(["Wx", "Wh", "bx", "bh"], g))
    return Cell(w, fwd, bwd)


def problem(name, seed=0):
    rng = np.random.default_rng(seed)
    cell = make_cell(name, rng)
    x = randn(rng, N, 2 * K, D)
    state0 = tuple(randn(rng, N, H) for _ in range(2 if name == "lstm" else 1))
    return cell, x, state0, rng


@pytest.mark.parametrize("name", CELLS)
def test_sequence_two_chunks_with_carried_state_equal_one_chunk(name):
    cell, x, s0, _ = problem(name)
    h_full, final_full, _ = cell.forward(x, s0, cell.weights)
    h1, s1, _ = cell.forward(x[:, :K], s0, cell.weights)
    h2, s2, _ = cell.forward(x[:, K:], s1, cell.weights)
    assert_close(np.concatenate([h1, h2], axis=1), h_full, "h")
    for a, b in zip(s2, final_full):
        assert_close(a, b, "final state")
    # Without the carried state the second chunk is a different computation.
    h2_reset, _, _ = cell.forward(x[:, K:], tuple(np.zeros_like(s) for s in s0), cell.weights)
    assert np.max(np.abs(h2_reset - h2)) > 1e-3


@pytest.mark.parametrize("name", CELLS)
def test_chaining_chunks_through_dhT_dcT_is_exact_bptt(name):
    cell, x, s0, rng = problem(name, seed=1)
    dh = randn(rng, N, 2 * K, H)
    dfinal = tuple(randn(rng, N, H) for _ in s0)
    _, _, cache_full = cell.forward(x, s0, cell.weights)
    dx_full, ds0_full, dw_full = cell.backward(dh.copy(), cache_full, dfinal)

    _, s1, cache1 = cell.forward(x[:, :K], s0, cell.weights)
    _, _, cache2 = cell.forward(x[:, K:], s1, cell.weights)
    dx2, ds1, dw2 = cell.backward(dh[:, K:].copy(), cache2, dfinal)
    dx1, ds0, dw1 = cell.backward(dh[:, :K].copy(), cache1, ds1)  # chunk 2's dh0 (dc0) flow on
    assert_close(np.concatenate([dx1, dx2], axis=1), dx_full, "dx")
    for a, b in zip(ds0, ds0_full):
        assert_close(a, b, "dstate0")
    for k in dw_full:
        assert_close(dw1[k] + dw2[k], dw_full[k], "d" + k)
    # Truncating instead (no gradient into chunk 1's final state) loses part of dWh.
    _, _, dw1_cut = cell.backward(dh[:, :K].copy(), cache1, tuple(np.zeros_like(s) for s in s0))
    assert rel_error_norm(dw1_cut["Wh"] + dw2["Wh"], dw_full["Wh"]) > 1e-3


def charlm(cell, seed=0, layers=2, embed_dim=0):
    config = CharLMSpec(cell=cell, vocab_size=V, hidden=H, layers=layers, embed_dim=embed_dim)
    model = CharLM.create(config, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 100)
    for value in model.params.values():  # gradients of order one, as in rnnkit.gradchecks
        value[...] = rng.standard_normal(value.shape) * 0.5
    ids = rng.integers(0, V, (N, 2 * K + 1))
    return model, ids[:, :-1], ids[:, 1:], model.init_state(N)


@pytest.mark.parametrize("name", CELLS)
def test_charlm_two_chunks_with_carried_state_equal_one_chunk(name):
    model, x, y, s0 = charlm(name, embed_dim=4)
    logits, s_full, _ = model.forward(x, s0)
    logits1, s1, _ = model.forward(x[:, :K], s0)
    logits2, s2, _ = model.forward(x[:, K:], s1)
    # Logit rows are time-major: the first K*N rows of the 2K chunk are chunk 1's.
    assert_close(np.concatenate([logits1, logits2]), logits, "logits")
    for layer_a, layer_b in zip(s2, s_full):
        for a, b in zip(layer_a, layer_b):
            assert_close(a, b, "state")
    nats = model.evaluate(x, y, s0)[0]["nats"]
    stats1, e1 = model.evaluate(x[:, :K], y[:, :K], s0)
    nats1 = stats1["nats"]
    nats2 = model.evaluate(x[:, K:], y[:, K:], e1)[0]["nats"]
    assert nats1 + nats2 == pytest.approx(nats, rel=1e-12)
    loss, _, _ = model.loss(x, y, s0)
    loss1, _, l1 = model.loss(x[:, :K], y[:, :K], s0)
    loss2, _, _ = model.loss(x[:, K:], y[:, K:], l1)
    assert (loss1 + loss2) / 2 == pytest.approx(loss, rel=1e-12)  # means over equal halves


@pytest.mark.parametrize("name", CELLS)
def test_truncated_gradient_is_the_gradient_with_incoming_state_held_constant(name):
    model, x, y, s0 = charlm(name, seed=3)
    _, _, s1 = model.loss(x[:, :K], y[:, :K], s0)  # chunk 1 carries its final state on
    frozen = [tuple(s.copy() for s in layer) for layer in s1]
    _, grads, _ = model.loss(x[:, K:], y[:, K:], frozen)
    scale = N * K  # the loss is a mean: scale to a sum so gradients stand well above rounding noise

    def chunk2_loss_frozen(_):
        return model.loss(x[:, K:], y[:, K:], frozen)[0] * scale

    for pname, p in model.params.items():
        numerical = eval_numerical_gradient(chunk2_loss_frozen, p)
        tol = TOL_RECURRENT if pname.startswith("rnn.") and pname.endswith("Wh") else TOL
        assert_grad(grads[pname] * scale, numerical, pname, tol)

    # Through chunk 1 (the state recomputed from the perturbed weights) the gradient is different:
    # the truncated gradient leaves out exactly that path.
    def chunk2_loss_through_chunk1(_):
        _, _, state = model.loss(x[:, :K], y[:, :K], s0)
        return model.loss(x[:, K:], y[:, K:], state)[0] * scale

    full = eval_numerical_gradient(chunk2_loss_through_chunk1, model.params["rnn.0.Wh"])
    assert rel_error_norm(grads["rnn.0.Wh"] * scale, full) > 1e-3


def test_charlm_loss_does_not_modify_the_incoming_state():
    model, x, y, s0 = charlm("lstm")
    state = [tuple(np.random.default_rng(5).standard_normal((N, H)) for _ in layer) for layer in s0]
    before = [tuple(s.copy() for s in layer) for layer in state]
    model.loss(x, y, state)
    model.forward(x, state)
    for layer_a, layer_b in zip(state, before):
        for a, b in zip(layer_a, layer_b):
            np.testing.assert_array_equal(a, b)
