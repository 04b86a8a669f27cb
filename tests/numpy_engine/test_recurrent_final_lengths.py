"""A gradient on the final state of a ragged batch (rnnkit/numpy_engine/recurrent.py): with
``lengths``, each row's final state is its state after its last real step, and ``stack_backward``
takes ``dfinal`` there. An encoder whose final states start a decoder (translation) needs this.

For every cell, 2 layers, one and two directions, float64: the ragged batch with garbage padding
and a gradient on every output and on the final state gives the same input, initial-state and
(summed) parameter gradients as each row run alone at full length, where the final state is the
one after step T - 1 (the path that needs no lengths). A central-difference check of the whole
chain for LSTM and GRU, which holds even if both paths were wrong in the same way."""

import numpy as np
import pytest
from gradutil import assert_close, numerical_vjp

from rnnkit.cells import CELLS
from rnnkit.numpy_engine.recurrent import stack_backward, stack_forward
from rnnkit.recurrent_spec import RecurrentSpec

D, H, L, T = 3, 4, 2, 5
LENGTHS = np.array([5, 2, 1, 3])
N = len(LENGTHS)
TOL = 1e-12


def _rows(state, n):
    return [tuple(s[n:n + 1] for s in layer) for layer in state]


def _problem(cell, bidirectional, seed=0):
    spec = RecurrentSpec(cell, D, H, layers=L, bidirectional=bidirectional)
    rng = np.random.default_rng(seed)
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in spec.init_params(rng).items()}
    real = np.arange(T)[:, None] < LENGTHS[None, :]  # (T, N)
    x = rng.standard_normal((T, N, D))
    x[~real] = 50.0 * rng.standard_normal((int((~real).sum()), D))
    width = spec.state_width * spec.directions
    state0 = [tuple(0.5 * rng.standard_normal((N, H)) for _ in range(width)) for _ in range(L)]
    dy = rng.standard_normal((T, N, spec.output_size)) * real[..., None]
    dfinal = [tuple(rng.standard_normal((N, H)) for _ in range(width)) for _ in range(L)]
    return spec, params, x, state0, dy, dfinal, real


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_dfinal_of_a_ragged_batch_is_dfinal_of_each_row_alone(cell, bidirectional):
    spec, params, x, state0, dy, dfinal, real = _problem(cell, bidirectional)
    _, _, cache = stack_forward(x, state0, params, spec, lengths=LENGTHS)
    grads = {}
    dx, dstate0 = stack_backward(dy.copy(), cache, params, grads, dfinal=dfinal)
    assert not dx[~real].any()  # padding gets no gradient, even from the final state

    summed = {}
    for n, length in enumerate(LENGTHS):
        _, _, cache_n = stack_forward(x[:length, n:n + 1], _rows(state0, n), params, spec)
        grads_n = {}
        dx_n, dstate0_n = stack_backward(dy[:length, n:n + 1].copy(), cache_n, params, grads_n,
                                         dfinal=_rows(dfinal, n))
        assert_close(dx[:length, n:n + 1], dx_n, f"row {n} dx", TOL)
        for layer in range(L):
            for k, d in enumerate(dstate0_n[layer]):
                assert_close(dstate0[layer][k][n:n + 1], d, f"row {n} dstate0 {layer}.{k}", TOL)
        for name, g in grads_n.items():
            summed[name] = summed.get(name, 0.0) + g
    assert set(grads) == set(summed) == set(params)
    for name in params:
        assert_close(grads[name], summed[name], "d" + name, TOL)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_dfinal_with_lengths_matches_central_differences(cell, bidirectional):
    spec, params, x, state0, dy, dfinal, _ = _problem(cell, bidirectional, seed=1)

    def outputs():
        y, final, _ = stack_forward(x, state0, params, spec, lengths=LENGTHS)
        return [y] + [s for layer in final for s in layer]

    douts = [dy] + [d for layer in dfinal for d in layer]
    _, _, cache = stack_forward(x, state0, params, spec, lengths=LENGTHS)
    grads = {}
    dx, dstate0 = stack_backward(dy.copy(), cache, params, grads, dfinal=dfinal)
    assert_close(dx, numerical_vjp(outputs, x, douts), "dx", 1e-7)
    for name in ("0.Wh", "1.Wx"):
        assert_close(grads["rnn." + name], numerical_vjp(outputs, params["rnn." + name], douts), name, 1e-7)
    assert_close(dstate0[0][0], numerical_vjp(outputs, state0[0][0], douts), "dh0", 1e-7)


def test_a_missing_entry_of_dfinal_counts_as_zero():
    spec, params, x, state0, dy, dfinal, _ = _problem("lstm", False)
    _, _, cache = stack_forward(x, state0, params, spec, lengths=LENGTHS)
    zeros = [(d[0], np.zeros_like(d[1])) for d in dfinal]
    halves = [(d[0], None) for d in dfinal]
    dx_zero, _ = stack_backward(dy.copy(), cache, params, {}, dfinal=zeros)
    dx_none, _ = stack_backward(dy.copy(), cache, params, {}, dfinal=halves)
    assert_close(dx_none, dx_zero, "dx", TOL)
