"""RAM and DRAM in the torch engine: the shared parameter format, float64 parity with the NumPy
engine for the same sampled path (loss and every gradient, RAM and DRAM, with and without
loc_grad), the same inference, and noise drawn from torch's generator."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit.models.ram.numpy_model import RAM, sampled_locations  # noqa: E402
from rnnkit.models.ram.spec import RAMSpec  # noqa: E402
from rnnkit.models.ram.torch_model import TorchRAM  # noqa: E402

PARITY = 1e-9


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def spec_of(**fields):
    base = dict(image_size=12, classes=3, glimpses=2, patch=4, scales=2, glimpse_hidden=5, loc_hidden=4,
                glimpse_out=6, hidden=5, loc_std=0.3)
    return RAMSpec(**{**base, **fields})


def pair(spec, seed=0):
    numpy_model = RAM.create(spec, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for value in numpy_model.params.values():
        value[...] = rng.standard_normal(value.shape) * 0.5
    return numpy_model, TorchRAM.from_arrays(spec, numpy_model.params, dtype=torch.float64)


def test_parameter_names_and_shapes_are_the_spec():
    for spec in (spec_of(), spec_of(dram=True, digits=2, cell="gru")):
        model = TorchRAM.create(spec)
        assert list(model.param_shapes().items()) == list(spec.param_shapes().items())
        arrays = model.to_arrays()
        again = TorchRAM.from_arrays(spec, arrays)
        assert all(np.array_equal(arrays[k], v) for k, v in again.to_arrays().items())


@pytest.mark.parametrize("fields", [dict(), dict(cell="rnn", loc_grad=False),
                                    dict(dram=True, digits=2, cell="gru"), dict(dram=True, digits=2, glimpses=3)])
def test_float64_parity_with_the_numpy_engine(fields):
    spec = spec_of(**fields)
    numpy_model, torch_model = pair(spec)
    rng = np.random.default_rng(3)
    images, labels = rng.random((4, 12, 12)), rng.integers(0, 3, (4, spec.digits))
    noise = rng.standard_normal((4, sampled_locations(spec), 2))
    loss, grads, _ = numpy_model.loss(images, labels, noise=noise)
    t_loss, _ = torch_model.loss(images, labels, noise=noise)
    t_loss.backward()
    assert abs(loss - t_loss.item()) < PARITY
    for name, p in torch_model.named_parameters():
        got = np.zeros_like(grads[name]) if p.grad is None else p.grad.numpy()
        np.testing.assert_allclose(got, grads[name], atol=PARITY, rtol=0, err_msg=name)
    stats, _ = numpy_model.evaluate(images, labels)
    t_stats, _ = torch_model.evaluate(images, labels)
    assert stats["correct"] == t_stats["correct"] and abs(stats["nats"] - t_stats["nats"]) < PARITY
    np.testing.assert_allclose(torch_model.locations(images).numpy(), numpy_model.locations(images), atol=PARITY)
    np.testing.assert_allclose(torch_model.predict_proba(images).numpy(), numpy_model.predict_proba(images), atol=PARITY)


def test_given_locations_give_the_numpy_engines_loss():
    spec = spec_of(dram=True, digits=2)
    numpy_model, torch_model = pair(spec, seed=2)
    rng = np.random.default_rng(4)
    images, labels = rng.random((3, 12, 12)), rng.integers(0, 3, (3, 2))
    locations = rng.uniform(-1.2, 1.2, (3, sampled_locations(spec), 2))
    assert abs(numpy_model.loss(images, labels, locations=locations)[0]
               - torch_model.loss(images, labels, locations=locations)[0].item()) < PARITY


def test_torch_draws_the_noise_from_its_generator():
    spec = spec_of()
    _, model = pair(spec)
    rng = np.random.default_rng(5)
    images, labels = rng.random((3, 12, 12)), rng.integers(0, 3, (3, 1))
    torch.manual_seed(0)
    a = model.loss(images, labels)[0].item()
    torch.manual_seed(0)
    assert model.loss(images, labels)[0].item() == a
    assert model.loss(images, labels)[0].item() != a
