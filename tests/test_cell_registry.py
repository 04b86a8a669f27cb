"""The cell registry is the one place a cell is described: both engines implement every registered
cell, with its gates, state and parameters, and nothing the registry does not know."""

import numpy as np
import pytest

from rnnkit.cells import CELLS, init_cell_params
from rnnkit.numpy_engine.cells import NUMPY_CELLS
from rnnkit.recurrent_spec import RecurrentSpec

D, H = 3, 4


def test_the_numpy_engine_implements_exactly_the_registered_cells():
    assert set(NUMPY_CELLS) == set(CELLS)
    for name, adapter in NUMPY_CELLS.items():
        assert adapter.spec is CELLS[name]


@pytest.mark.parametrize("name", list(CELLS))
def test_numpy_cells_run_on_the_registered_parameters_and_state(name):
    spec, adapter = CELLS[name], NUMPY_CELLS[name]
    params = init_cell_params(spec, D, H, np.random.default_rng(0))
    assert {k: v.shape for k, v in params.items()} == spec.param_shapes(D, H)
    proj = np.random.default_rng(1).standard_normal((5, 2, spec.gates * H))
    state = tuple(np.zeros((2, H)) for _ in spec.state_names)
    hs, final, cache = adapter.forward(proj, state, {k: v for k, v in params.items() if k != "Wx"})
    assert hs.shape == (5, 2, H) and len(final) == len(spec.state_names)
    dproj, dstate0, grads = adapter.backward(np.ones_like(hs), cache)
    assert dproj.shape == proj.shape and len(dstate0) == len(spec.state_names)
    # every parameter but Wx and the input bias gets its gradient from the cell (the stack does those)
    assert set(grads) == set(params) - {"Wx", spec.input_bias}


@pytest.mark.parametrize("name", list(CELLS))
def test_the_torch_engine_implements_the_registered_cells(name):
    pytest.importorskip("torch")
    from rnnkit.torch_engine.recurrent import CELL_TYPES

    assert set(CELL_TYPES) == set(CELLS)
    spec = CELLS[name]
    cell = CELL_TYPES[name](D, H)
    assert cell.gates == spec.gates and tuple(cell.state_names) == spec.state_names
    assert {k: tuple(p.shape) for k, p in cell.named_parameters()} == spec.param_shapes(D, H)


def test_initial_values_follow_the_rules():
    spec = RecurrentSpec("lnlstm", D, H, layers=2, highway=True)
    params = spec.init_params(np.random.default_rng(0))
    Wh = params["rnn.0.Wh"]
    for k in range(4):  # each gate block orthogonal
        block = Wh[:, k * H:(k + 1) * H]
        assert np.allclose(block.T @ block, np.eye(H), atol=1e-12)
    assert np.all(params["rnn.0.b"] == 0) and np.all(params["rnn.1.gx"] == 1) and np.all(params["rnn.1.bc"] == 0)
    assert np.all(np.abs(params["rnn.1.Wx"]) <= 1 / np.sqrt(H))
    assert np.all(params["rnn.highway.1.b"] == -1.0)
    assert list(params) == list(spec.param_shapes())
