"""DRAW in the torch engine: the shared parameter format, float64 parity with the NumPy engine
(loss and every gradient, with and without attention, the same noise), arrays that move between
the engines, and generation that agrees."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit.models.draw.numpy_model import DrawModel  # noqa: E402
from rnnkit.models.draw.spec import DrawSpec  # noqa: E402
from rnnkit.models.draw.torch_model import TorchDraw  # noqa: E402

PARITY = 1e-9


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def spec_of(**fields):
    return DrawSpec(**{"height": 6, "width": 5, "hidden": 7, "latent": 3, "steps_t": 4, "read_n": 2, "write_n": 3,
                       **fields})


def random_arrays(spec, seed=0):
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape) * 0.5 for name, shape in spec.param_shapes().items()}


@pytest.mark.parametrize("attention", [False, True])
def test_parity_loss_and_gradients_float64(attention):
    spec = spec_of(attention=attention)
    arrays = random_arrays(spec)
    rng = np.random.default_rng(1)
    x = (rng.random((3, 6, 5)) < 0.4).astype(float)
    eps = rng.standard_normal((3, spec.steps_t, spec.latent))
    loss, grads, _ = DrawModel(spec, {k: v.copy() for k, v in arrays.items()}).loss(x, eps=eps)
    model = TorchDraw.from_arrays(spec, arrays, dtype=torch.float64)
    torch_loss, _ = model.loss(x, eps=eps)
    torch_loss.backward()
    assert abs(torch_loss.item() - loss) <= PARITY * max(1.0, abs(loss))
    for name, p in model.named_parameters():
        g = p.grad.numpy()
        assert np.max(np.abs(g - grads[name])) <= PARITY * max(1.0, np.max(np.abs(g))), name


def test_parameter_format_and_round_trip():
    spec = spec_of()
    model = TorchDraw.create(spec, seed=3, dtype=torch.float64)
    assert model.param_shapes() == spec.param_shapes()
    numpy_model = DrawModel.create(spec, seed=3, dtype=np.float64)
    arrays = model.to_arrays(np.float64)
    for name in spec.param_shapes():
        np.testing.assert_array_equal(arrays[name], numpy_model.params[name])  # the same initial weights
    back = TorchDraw.from_arrays(spec, arrays, dtype=torch.float64).to_arrays(np.float64)
    assert all(np.array_equal(back[k], arrays[k]) for k in arrays)


def test_evaluate_and_generate_agree_with_numpy():
    spec = spec_of(attention=True)
    arrays = random_arrays(spec, seed=4)
    x = (np.random.default_rng(2).random((2, 30)) < 0.5).astype(float)
    stats_np, _ = DrawModel(spec, arrays).evaluate(x)
    stats_t, _ = TorchDraw.from_arrays(spec, arrays, dtype=torch.float64).evaluate(x)
    assert stats_t["nats"] == pytest.approx(stats_np["nats"], rel=1e-10)
    z = np.random.default_rng(5).standard_normal((2, spec.steps_t, spec.latent))
    c_np, w_np = DrawModel(spec, arrays).generate(z)
    c_t, w_t = TorchDraw.from_arrays(spec, arrays, dtype=torch.float64).generate(z)
    np.testing.assert_allclose(c_t, c_np, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(w_t, w_np, rtol=1e-10, atol=1e-10)
