"""The VQA model in the torch engine: the shared parameter format, float64 parity with the NumPy
engine (the head given the same image features, and the whole model with its encoder: loss, every
gradient, the attention), fused and explicit recurrence, and a model trained in one engine
answering the same in the other."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit.models.vqa.gradcheck import tiny_problem, tiny_spec  # noqa: E402
from rnnkit.models.vqa.torch_model import TorchVQA  # noqa: E402
from rnnkit.numpy_engine.losses import softmax_loss  # noqa: E402
from rnnkit.torch_engine.losses import softmax_loss as torch_softmax_loss  # noqa: E402
from rnnkit.torch_engine.options import TorchOptions  # noqa: E402

PARITY = 1e-9


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def twin(model, path="auto"):
    return TorchVQA.from_arrays(model.spec, model.params, TorchOptions(path=path), dtype=torch.float64)


def test_parameters_follow_the_spec():
    spec = tiny_spec(hops=2)
    net = TorchVQA.create(spec, dtype=torch.float64)
    assert net.param_shapes() == spec.param_shapes()
    arrays = spec.init_params(np.random.default_rng(0))
    round_trip = TorchVQA.from_arrays(spec, arrays, dtype=torch.float64).to_arrays(np.float64)
    for name in arrays:
        np.testing.assert_array_equal(round_trip[name], arrays[name])


@pytest.mark.parametrize("hops,path", [(1, "auto"), (2, "auto"), (2, "explicit")])
def test_head_parity_given_the_same_image_features(hops, path):
    rng = np.random.default_rng(10 + hops)
    spec = tiny_spec(hops)
    model, _, ids, mask, answers = tiny_problem(rng, spec)
    grid = rng.standard_normal((3, *spec.encoder.grid, spec.channels[-1]))
    scores, cache = model.head_forward(grid, ids, mask)
    loss, dscores = softmax_loss(scores, answers)
    dgrid, grads = model.head_backward(dscores, cache)

    net = twin(model, path)
    grid_t = torch.tensor(grid, requires_grad=True)
    scores_t, weights_t = net.head_scores(grid_t, ids, mask)
    loss_t = torch_softmax_loss(scores_t, torch.as_tensor(answers))
    loss_t.backward()
    assert abs(loss_t.item() - loss) < PARITY
    np.testing.assert_allclose(weights_t.detach().numpy(), cache.weights, atol=PARITY, rtol=0)
    np.testing.assert_allclose(grid_t.grad.numpy().reshape(dgrid.shape), dgrid, atol=PARITY, rtol=0)
    for name, p in net.named_parameters():
        if name.startswith("enc."):
            assert p.grad is None     # the head alone does not reach the encoder
            continue
        np.testing.assert_allclose(p.grad.numpy(), grads[name], atol=PARITY, rtol=0, err_msg=name)


def test_whole_model_parity_encoder_included():
    rng = np.random.default_rng(20)
    model, images, ids, mask, answers = tiny_problem(rng, tiny_spec())
    loss, grads, _ = model.loss(images, ids, mask, answers)
    net = twin(model)
    loss_t, state = net.loss(images, ids, mask, answers)
    loss_t.backward()
    assert state is None and abs(loss_t.item() - loss) < PARITY
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name], atol=PARITY, rtol=0, err_msg=name)
    np.testing.assert_allclose(net.attention(images, ids, mask).numpy(), model.attention(images, ids, mask),
                               atol=PARITY, rtol=0)
    stats_t, _ = net.evaluate(images, ids, mask, answers)
    stats, _ = model.evaluate(images, ids, mask, answers)
    assert stats_t["correct"] == stats["correct"] and abs(stats_t["nats"] - stats["nats"]) < PARITY


def test_trained_in_torch_answers_the_same_in_numpy():
    """A few float32 Adam steps in torch, exported to arrays: the NumPy engine (no torch in its
    code path) gives the same probabilities."""
    from rnnkit.models.vqa.numpy_model import VQA

    rng = np.random.default_rng(30)
    spec = tiny_spec()
    _, images, ids, mask, answers = tiny_problem(rng, spec)
    net = TorchVQA.create(spec, seed=3)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(20):
        opt.zero_grad()
        net.loss(images, ids, mask, answers)[0].backward()
        opt.step()
    numpy_model = VQA(spec, net.to_arrays(np.float32))
    np.testing.assert_allclose(numpy_model.predict_proba(images.astype(np.float32), ids, mask),
                               net.predict_proba(images, ids, mask).numpy(), atol=1e-5)
    assert (net.predict_proba(images, ids, mask).numpy().argmax(1) == answers).all()
