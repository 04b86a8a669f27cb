"""The step API (rnnkit/numpy_engine/step.py) for every cell, 2 layers, with and without highway:
a loop of T steps, forward and backward, is the whole-sequence stack to 1e-10 (float64), and a
closed loop (x_{t+1} = h_t A) is gradient-checked against central differences of the whole loop."""

import numpy as np
import pytest
from gradutil import TOL_RECURRENT, assert_close, assert_grad

from rnnkit.cells import CELLS
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient
from rnnkit.numpy_engine.recurrent import stack_backward, stack_forward
from rnnkit.numpy_engine.step import stack_step_backward, stack_step_forward
from rnnkit.recurrent_spec import RecurrentSpec

N, T, D, H, L = 2, 4, 3, 4, 2
CASES = [(cell, highway) for cell in CELLS for highway in (False, True)]


def _problem(cell, highway, seed):
    """A spec, params (biases and gains moved off their initial constants), x (T, N, D), a random
    initial state, and random upstream gradients dy (T, N, H) and dfinal (like the state)."""
    spec = RecurrentSpec(cell, D, H, layers=L, highway=highway)
    rng = np.random.default_rng(seed)
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in spec.init_params(rng).items()}

    def state():
        return [tuple(0.5 * rng.standard_normal((N, H)) for _ in range(spec.state_width)) for _ in range(L)]

    return spec, params, rng.standard_normal((T, N, D)), state(), rng.standard_normal((T, N, H)), state()


@pytest.mark.parametrize("cell,highway", CASES)
def test_a_loop_of_steps_is_the_whole_sequence(cell, highway):
    spec, params, x, state0, dy, dfinal = _problem(cell, highway, 0)
    y, final, cache = stack_forward(x, state0, params, spec)
    grads = {}
    dx, dstate0 = stack_backward(dy.copy(), cache, params, grads, dfinal=dfinal)

    state, hs, caches = state0, [], []
    for t in range(T):
        h, state, c = stack_step_forward(x[t], state, params, spec)
        hs.append(h)
        caches.append(c)
    step_grads, dxs, dstate = {}, [None] * T, dfinal
    for t in reversed(range(T)):
        dxs[t], dstate = stack_step_backward(dy[t], dstate, caches[t], params, step_grads)

    assert_close(np.stack(hs), y, "outputs")
    for layer in range(L):
        for k in range(spec.state_width):
            assert_close(state[layer][k], final[layer][k], f"final state {layer}.{k}")
            assert_close(dstate[layer][k], dstate0[layer][k], f"dstate0 {layer}.{k}")
    assert set(step_grads) == set(grads) == set(params)
    for name in params:
        assert_close(step_grads[name], grads[name], "d" + name)
    assert_close(np.stack(dxs), dx, "dx")


def _closed_loop(x0, state0, params, spec, A, ws, wf, grads=None):
    """Run T steps feeding x_{t+1} = h_t A; the loss is sum_t sum(h_t * ws[t]) plus the final
    state weighted by wf. With ``grads`` (a dict), also backpropagate: returns the loss, dx0 and
    dstate0, and fills grads."""
    x, state, caches, loss = x0, state0, [], 0.0
    for t in range(T):
        h, state, cache = stack_step_forward(x, state, params, spec)
        loss += float(np.sum(h * ws[t]))
        caches.append(cache)
        x = h @ A
    loss += sum(float(np.sum(s * w)) for layer, wl in zip(state, wf) for s, w in zip(layer, wl))
    if grads is None:
        return loss
    dstate, dx_next = wf, np.zeros_like(x0)
    for t in reversed(range(T)):
        # h_t reaches the loss directly and, through x_{t+1} = h_t A, every later step.
        dx_next, dstate = stack_step_backward(ws[t] + dx_next @ A.T, dstate, caches[t], params, grads)
    return loss, dx_next, dstate


@pytest.mark.parametrize("cell,highway", CASES)
def test_closed_loop_gradcheck(cell, highway):
    spec, params, x, state0, ws, wf = _problem(cell, highway, 1)
    A = np.random.default_rng(2).standard_normal((H, D))
    x0 = x[0].copy()
    grads = {}
    _, dx0, dstate0 = _closed_loop(x0, state0, params, spec, A, ws, wf, grads)

    def numerical(array):
        return eval_numerical_gradient(lambda _: _closed_loop(x0, state0, params, spec, A, ws, wf), array)

    for name, value in params.items():
        assert_grad(grads[name], numerical(value), name, TOL_RECURRENT)
    assert_grad(dx0, numerical(x0), "x0", TOL_RECURRENT)
    for layer in range(L):
        for k, s in enumerate(state0[layer]):
            assert_grad(dstate0[layer][k], numerical(s), f"state0 {layer}.{k}", TOL_RECURRENT)


def test_grads_accumulate_and_bidirectional_is_refused():
    spec, params, x, state0, dy, _ = _problem("gru", False, 3)
    _, _, cache = stack_step_forward(x[0], state0, params, spec)
    once = {}
    stack_step_backward(dy[0], None, cache, params, once)
    twice = {name: g.copy() for name, g in once.items()}
    stack_step_backward(dy[0], None, cache, params, twice)
    for name in params:
        assert_close(twice[name], 2 * once[name], name)
    both = RecurrentSpec("gru", D, H, bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional"):
        stack_step_forward(x[0], None, both.init_params(np.random.default_rng(4)), both)
