"""The captioner (CS231n style, and with Show-Attend-Tell soft attention): every gradient by central differences, float64
parity with the torch engine, padding that changes nothing, greedy decoding that equals the
teacher-forced scores, a tiny set of captions learnt, and dropout before the word layer
(gradient-checked with fixed masks; in training only, in both engines)."""

import numpy as np
import pytest
from gradutil import ENTRY_TOL, EXACT, TOL, TOL_RECURRENT, assert_grad

from rnnkit.models.captioner.gradcheck import N, T, V, check_captioner, tiny_problem, tiny_spec
from rnnkit.models.captioner.numpy_model import Captioner
from rnnkit.models.captioner.spec import CaptionerSpec
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient
from rnnkit.numpy_engine.optim import make_optimizer


@pytest.mark.parametrize("cell,layers,attention,grids,global_feature", [
    ("lstm", 1, "none", False, "mean"), ("gru", 2, "soft", False, "mean"),
    ("lstm", 1, "none", False, "flat"), ("gru", 2, "soft", False, "flat"), ("lstm", 1, "soft", True, "flat")])
def test_every_gradient_matches_central_differences(cell, layers, attention, grids, global_feature):
    results = check_captioner(np.random.default_rng(1), cell, layers, attention, grids, global_feature)
    assert len(results) == len(tiny_spec(cell, layers, attention, grids, global_feature).param_shapes())
    for (_, name), (norm_error, entry_error) in results.items():
        assert norm_error <= (TOL_RECURRENT if name.endswith(".Wh") else TOL), (name, norm_error)
        assert entry_error <= ENTRY_TOL * 100, (name, entry_error)


@pytest.mark.parametrize("attention", ["none", "soft"])
def test_padding_changes_nothing(attention):
    rng = np.random.default_rng(2)
    model, images, captions, mask = tiny_problem(rng, tiny_spec(attention=attention))
    loss, grads, _ = model.loss(images, captions, mask)
    other = captions.copy()
    other[:, 1:][~mask] = rng.integers(0, V, int((~mask).sum()))   # other words where the mask is off
    wider = np.concatenate([other, rng.integers(0, V, (N, 2))], axis=1)
    wider_mask = np.concatenate([mask, np.zeros((N, 2), bool)], axis=1)
    loss2, grads2, _ = model.loss(images, wider, wider_mask)
    assert abs(loss - loss2) < EXACT
    for name in grads:
        np.testing.assert_allclose(grads2[name], grads[name], atol=EXACT, rtol=0, err_msg=name)


@pytest.mark.parametrize("attention", ["none", "soft"])
def test_greedy_follows_the_teacher_forced_argmax(attention):
    """Fed its own words, step t's scores are the teacher-forced scores of that same prefix."""
    rng = np.random.default_rng(3)
    model, images, _, _ = tiny_problem(rng, tiny_spec(attention=attention))
    words = model.greedy(images, start_id=1, end_id=V + 5, max_len=T)     # an end word that never comes
    scores, _ = model.forward(images, np.concatenate([np.ones((N, 1), int), words[:, :-1]], axis=1))
    np.testing.assert_array_equal(scores.argmax(axis=2), words)


@pytest.mark.parametrize("attention", ["none", "soft"])
def test_learns_a_caption_per_picture(attention):
    spec = CaptionerSpec(vocab_size=6, embed_dim=8, hidden=16, image_height=8, image_width=8, channels=(4, 4),
                         attention=attention, attention_size=8)
    model = Captioner.create(spec, seed=0, dtype=np.float64)
    images = np.zeros((2, 8, 8, 3))
    images[0, :, :, 0] = 1.0                       # a red picture: "2 3 <end>"; a blue one: "4 2 <end>"
    images[1, :, :, 2] = 1.0
    captions = np.array([[1, 2, 3, 5], [1, 4, 2, 5]])
    mask = np.ones((2, 3), bool)
    optimizer = make_optimizer("adam", 0.05)
    for _ in range(80):
        _, grads, _ = model.loss(images, captions, mask)
        optimizer.step(model.params, grads, lr=0.05)
    np.testing.assert_array_equal(model.greedy(images, 1, 5, 5)[:, :3], captions[:, 1:])


def test_torch_parity_in_float64():
    torch = pytest.importorskip("torch")
    from rnnkit.models.captioner.torch_model import TorchCaptioner

    torch.set_num_threads(1)
    for cell, layers, attention, flat in (("lstm", 1, "none", "mean"), ("gru", 2, "none", "mean"),
                                          ("lstm", 2, "soft", "mean"), ("gru", 1, "soft", "mean"),
                                          ("lstm", 1, "none", "flat"), ("gru", 1, "soft", "flat")):
        spec = tiny_spec(cell, layers, attention, global_feature=flat)
        model, images, captions, mask = tiny_problem(np.random.default_rng(5), spec)
        loss, grads, _ = model.loss(images, captions, mask)
        net = TorchCaptioner.from_arrays(model.spec, model.params, dtype=torch.float64)
        assert net.param_shapes() == model.spec.param_shapes()
        loss_t, _ = net.loss(images, captions, mask)
        loss_t.backward()
        assert abs(loss_t.item() - loss) < 1e-9
        for name, p in net.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), grads[name], atol=1e-9, rtol=0, err_msg=name)


def test_soft_attention_weights_and_penalty():
    model, images, captions, mask = tiny_problem(np.random.default_rng(6), tiny_spec(attention="soft"))
    weights = model.attention(images, captions[:, :-1])
    assert weights.shape == (N, T, 4)
    np.testing.assert_allclose(weights.sum(axis=2), 1.0, atol=1e-12)
    plain = CaptionerSpec(**{**model.spec.to_json(), "penalty": 0.0})
    without = Captioner(plain, model.params).loss(images, captions, mask)[0]
    with_penalty = model.loss(images, captions, mask)[0]
    coverage = (mask[:, :, None] * weights).sum(axis=1)
    assert abs(with_penalty - without - 0.7 * ((1 - coverage) ** 2).sum() / N) < 1e-12


@pytest.mark.parametrize("layers,attention", [(1, "none"), (2, "soft")])
def test_gradients_with_dropout_before_the_word_layer_match_central_differences(layers, attention):
    spec = CaptionerSpec(**{**tiny_spec("lstm", layers, attention).to_json(), "dropout": 0.4})
    model, images, captions, mask = tiny_problem(np.random.default_rng(7), spec)
    seed = 9  # a fresh Generator per call: the same dropout masks every time

    def loss(_=None):
        return model.loss(images, captions, mask, rng=np.random.default_rng(seed))[0] * N

    value, grads, _ = model.loss(images, captions, mask, rng=np.random.default_rng(seed))
    # even one layer drops (the word layer's input), and without an rng nothing is dropped
    assert abs(value * N - model.loss(images, captions, mask)[0] * N) > 1e-3
    for name, p in model.params.items():
        numerical = eval_numerical_gradient(loss, p)
        assert_grad(grads[name] * N, numerical, name, TOL_RECURRENT if name.endswith(".Wh") else TOL)


def test_torch_dropout_acts_in_training_only_even_with_one_layer():
    torch = pytest.importorskip("torch")
    from rnnkit.models.captioner.torch_model import TorchCaptioner

    spec = CaptionerSpec(**{**tiny_spec("lstm", 1, "soft").to_json(), "dropout": 0.5})
    model, images, captions, mask = tiny_problem(np.random.default_rng(8), spec)
    net = TorchCaptioner.from_arrays(spec, model.params, dtype=torch.float64)
    net.eval()
    assert abs(net.loss(images, captions, mask)[0].item() - model.loss(images, captions, mask)[0]) < 1e-9
    net.train()
    torch.manual_seed(0)
    assert abs(net.loss(images, captions, mask)[0].item() - model.loss(images, captions, mask)[0]) > 1e-3


def test_the_flat_global_feature_reads_the_grid_in_place():
    """feat.W is (h*w*C, H); the JSON names the field only when it is flat (a mean model's JSON is
    as before); moving a picture's content changes the flat feature but, at the grid's mean, only
    what the moved cells hold; an unknown value is refused."""
    from rnnkit.errors import UsageError

    mean, flat = tiny_spec(attention="soft"), tiny_spec(attention="soft", global_feature="flat")
    assert mean.param_shapes()["feat.W"] == (3, 5) and flat.param_shapes()["feat.W"] == (2 * 2 * 3, 5)
    assert "global_feature" not in mean.to_json() and flat.to_json()["global_feature"] == "flat"
    assert CaptionerSpec.from_json(flat.to_json()) == flat and CaptionerSpec.from_json(mean.to_json()) == mean
    model = Captioner.create(tiny_spec(grids=True, global_feature="flat"), dtype=np.float64)
    grid = np.random.default_rng(0).standard_normal((1, 2, 3, 4))
    features, _, _ = model.encode(grid)
    np.testing.assert_array_equal(features, grid.reshape(1, -1))
    swapped, _, _ = model.encode(grid[:, :, ::-1])                      # the same cells, other places
    assert not np.allclose(swapped, features)
    with pytest.raises(UsageError, match="global_feature must be one of mean, flat"):
        tiny_spec(global_feature="max")
