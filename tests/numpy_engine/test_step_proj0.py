"""The step API with a projection computed by the caller (``stack_step_forward(..., proj0_t=...)``,
rnnkit/numpy_engine/step.py): for every cell and 2 layers, float64, a step given p = x_t Wx + b
computes what the step given x_t computes (output, state), and its backward returns dp, from
which dx_t = dp Wx^T and dWx = x_t^T dp are exactly the plain step's; every other gradient and
the state's are the same."""

import numpy as np
import pytest
from gradutil import assert_close

from rnnkit.cells import CELLS
from rnnkit.numpy_engine.cells import numpy_cell
from rnnkit.numpy_engine.step import stack_step_backward, stack_step_forward
from rnnkit.recurrent_spec import RecurrentSpec

N, D, H = 3, 4, 5


@pytest.mark.parametrize("cell", list(CELLS))
def test_a_step_given_its_projection_is_the_step_given_its_input(cell):
    spec = RecurrentSpec(cell, D, H, layers=2)
    rng = np.random.default_rng(0)
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in spec.init_params(rng).items()}
    x = rng.standard_normal((N, D))
    state = [tuple(0.5 * rng.standard_normal((N, H)) for _ in range(spec.state_width)) for _ in range(2)]
    dh = rng.standard_normal((N, H))
    dstate = [tuple(rng.standard_normal((N, H)) for _ in range(spec.state_width)) for _ in range(2)]

    h, new_state, cache = stack_step_forward(x, state, params, spec)
    grads = {}
    dx, dstate0 = stack_step_backward(dh, dstate, cache, params, grads)

    proj = x @ params["rnn.0.Wx"]
    bias = numpy_cell(cell).spec.input_bias
    if bias:
        proj += params["rnn.0." + bias]
    h2, new_state2, cache2 = stack_step_forward(None, state, params, spec, proj0_t=proj)
    grads2 = {}
    dproj, dstate02 = stack_step_backward(dh, dstate, cache2, params, grads2)

    assert_close(h2, h, "h")
    for a, b in zip(new_state2, new_state):
        for s2, s in zip(a, b):
            assert_close(s2, s, "state")
    assert dproj.shape == (N, params["rnn.0.Wx"].shape[1])
    assert_close(dproj @ params["rnn.0.Wx"].T, dx, "dx")
    assert "rnn.0.Wx" not in grads2  # the caller's: it computed the projection
    assert_close(x.T @ dproj, grads["rnn.0.Wx"], "dWx")
    assert set(grads) - set(grads2) == {"rnn.0.Wx"}
    for name, g in grads2.items():
        assert_close(g, grads[name], "d" + name)
    for a, b in zip(dstate02, dstate0):
        for s2, s in zip(a, b):
            assert_close(s2, s, "dstate0")
