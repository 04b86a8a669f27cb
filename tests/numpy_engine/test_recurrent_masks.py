"""Padding never changes anything at the stack level (rnnkit/numpy_engine/recurrent.py), for every
cell, 2 layers, one direction (with and without highway) and two, float64: each sequence run
alone and the same sequence right-padded with garbage inside a ragged batch with ``lengths`` give
the same outputs at real steps, the same final state (the state after the row's last real step),
the same input and initial-state gradients and, summed over the rows run alone, the same
parameter gradients. Lengths outside [1, T] are refused."""

import numpy as np
import pytest
from gradutil import assert_close

from rnnkit.cells import CELLS
from rnnkit.numpy_engine.recurrent import _reverse, final_rows, reverse_index, stack_backward, stack_forward
from rnnkit.recurrent_spec import RecurrentSpec

D, H, L, T = 3, 4, 2, 5
LENGTHS = np.array([5, 2, 1, 3])
N = len(LENGTHS)
TOL = 1e-12


def _rows(state, n):
    """Row n of every state array, kept 2-D: the initial state of a batch of one."""
    return [tuple(s[n:n + 1] for s in layer) for layer in state]


@pytest.mark.parametrize("bidirectional,highway", [(False, False), (False, True), (True, False)],
                         ids=["uni", "uni-highway", "bi"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_a_padded_row_computes_what_the_row_alone_computes(cell, bidirectional, highway):
    spec = RecurrentSpec(cell, D, H, layers=L, bidirectional=bidirectional, highway=highway)
    rng = np.random.default_rng(0)
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in spec.init_params(rng).items()}
    real = (np.arange(T)[:, None] < LENGTHS[None, :])  # (T, N)
    x = rng.standard_normal((T, N, D))
    x[~real] = 50.0 * rng.standard_normal((int((~real).sum()), D))  # garbage where nothing is real
    state0 = [tuple(0.5 * rng.standard_normal((N, H)) for _ in range(spec.state_width * spec.directions))
              for _ in range(L)]
    dy = rng.standard_normal((T, N, spec.output_size)) * real[..., None]  # losses mask padded steps

    y, final, cache = stack_forward(x, state0, params, spec, lengths=LENGTHS)
    grads = {}
    dx, dstate0 = stack_backward(dy.copy(), cache, params, grads)
    assert not dx[~real].any()  # padding gets no gradient

    summed = {}
    for n, length in enumerate(LENGTHS):
        y_n, final_n, cache_n = stack_forward(x[:length, n:n + 1], _rows(state0, n), params, spec)
        grads_n = {}
        dx_n, dstate0_n = stack_backward(dy[:length, n:n + 1].copy(), cache_n, params, grads_n)
        assert_close(y[:length, n:n + 1], y_n, f"row {n} outputs", TOL)
        assert_close(dx[:length, n:n + 1], dx_n, f"row {n} dx", TOL)
        for layer in range(L):
            for k, s in enumerate(final_n[layer]):
                assert_close(final[layer][k][n:n + 1], s, f"row {n} final state {layer}.{k}", TOL)
                assert_close(dstate0[layer][k][n:n + 1], dstate0_n[layer][k], f"row {n} dstate0 {layer}.{k}", TOL)
        for name, g in grads_n.items():
            summed[name] = summed.get(name, 0.0) + g
    assert set(grads) == set(summed) == set(params)
    for name in params:
        assert_close(grads[name], summed[name], "d" + name, TOL)


def test_reverse_index_reverses_each_row_within_its_length():
    idx = reverse_index([3, 1, 4], 4)
    np.testing.assert_array_equal(idx, [[2, 0, 3],
                                        [1, 1, 2],
                                        [0, 2, 1],
                                        [3, 3, 0]])  # fmt: skip
    np.testing.assert_array_equal(idx[idx, np.arange(3)[None, :]], np.broadcast_to(np.arange(4)[:, None], (4, 3)))
    assert reverse_index(None, 4) is None
    a = np.random.default_rng(1).standard_normal((4, 3, 2))
    got = _reverse(a, idx)
    for n, length in enumerate([3, 1, 4]):
        np.testing.assert_array_equal(got[:length, n], a[:length, n][::-1])  # real steps reversed
        np.testing.assert_array_equal(got[length:, n], a[length:, n])        # padding left in place
    np.testing.assert_array_equal(_reverse(got, idx), a)
    np.testing.assert_array_equal(_reverse(a, None), a[::-1])
    np.testing.assert_array_equal(final_rows(a, [3, 1, 4]), a[[2, 0, 3], np.arange(3)])


@pytest.mark.parametrize("lengths", [[5, 0, 1, 3], [5, 6, 1, 3], [5, 2, 1]],
                         ids=["empty row", "too long", "not N"])
def test_lengths_outside_one_to_T_are_refused(lengths):
    # An empty row's "final state" would otherwise be read off its padding, silently.
    spec = RecurrentSpec("rnn", D, H)
    params = spec.init_params(np.random.default_rng(4))
    with pytest.raises(ValueError, match="lengths"):
        stack_forward(np.zeros((T, N, D)), None, params, spec, lengths=lengths)
