"""The captioner on pre-extracted feature grids (``spec.grid``, no encoder): every gradient by
central differences, float64 parity with the torch engine, the grid's mean as the global feature,
decoding through the shared search, a spec saved before grids existed, and a tiny set learnt."""

import numpy as np
import pytest
from gradutil import ENTRY_TOL, TOL, TOL_RECURRENT

from rnnkit.errors import UsageError
from rnnkit.inference.caption_beam import attention_of, decode
from rnnkit.models.captioner.gradcheck import check_captioner, tiny_problem, tiny_spec
from rnnkit.models.captioner.numpy_model import Captioner
from rnnkit.models.captioner.spec import CaptionerSpec
from rnnkit.numpy_engine.optim import make_optimizer


@pytest.mark.parametrize("cell,layers,attention", [("lstm", 1, "none"), ("gru", 2, "soft")])
def test_every_gradient_matches_central_differences(cell, layers, attention):
    results = check_captioner(np.random.default_rng(1), cell, layers, attention, grids=True)
    names = tiny_spec(cell, layers, attention, grids=True).param_shapes()
    assert len(results) == len(names) and not any(name.startswith("enc.") for name in names)
    for (_, name), (norm_error, entry_error) in results.items():
        assert norm_error <= (TOL_RECURRENT if name.endswith(".Wh") else TOL), (name, norm_error)
        assert entry_error <= ENTRY_TOL, (name, entry_error)


def test_torch_parity_in_float64():
    torch = pytest.importorskip("torch")
    from rnnkit.models.captioner.torch_model import TorchCaptioner

    torch.set_num_threads(1)
    for cell, layers, attention in (("lstm", 1, "none"), ("gru", 2, "none"), ("lstm", 2, "soft"), ("gru", 1, "soft")):
        spec = tiny_spec(cell, layers, attention, grids=True)
        model, grids, captions, mask = tiny_problem(np.random.default_rng(5), spec)
        loss, grads, _ = model.loss(grids, captions, mask)
        net = TorchCaptioner.from_arrays(spec, model.params, dtype=torch.float64)
        assert net.param_shapes() == spec.param_shapes()
        loss_t, _ = net.loss(grids, captions, mask)
        loss_t.backward()
        assert abs(loss_t.item() - loss) < 1e-9
        for name, p in net.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), grads[name], atol=1e-9, rtol=0, err_msg=name)


def test_the_grid_is_the_input_and_its_mean_the_feature():
    spec = tiny_spec(attention="soft", grids=True)
    model, grids, captions, _ = tiny_problem(np.random.default_rng(2), spec)
    features, grid, cache = model.encode(grids)
    np.testing.assert_array_equal(grid, grids)
    np.testing.assert_allclose(features, grids.mean(axis=(1, 2)), rtol=0, atol=1e-15)
    assert cache is None and spec.feature_width == 4 and spec.grid_size == (2, 3)
    # the same grid laid out in another order of locations with the same mean: h_0 equal, attention moved
    weights = model.attention(grids, captions[:, :-1])
    assert weights.shape == (3, 4, 6)
    flipped = grids[:, ::-1, ::-1].copy()
    np.testing.assert_allclose(model.attention(flipped, captions[:, :-1]), weights[:, :, ::-1], atol=1e-12)
    with pytest.raises(ValueError, match="feature grids"):
        model.encode(grids[:, :, :2])


@pytest.mark.parametrize("attention", ["none", "soft"])
def test_decode_greedy_equals_the_models_greedy(attention):
    model, grids, _, _ = tiny_problem(np.random.default_rng(3), tiny_spec(attention=attention, grids=True))
    hyps = decode(model, grids.astype(np.float32), start_id=1, end_id=2, max_len=5)
    words = model.greedy(grids, 1, 2, 5)
    for h, row in zip(hyps, words):
        assert list(h.ids) == [int(w) for w in row[:len(h.ids)]]
    beams = decode(model, grids, start_id=1, end_id=2, max_len=5, beam=3)
    assert len(beams) == len(grids) and all(np.isfinite(b.log_prob) and len(b.ids) <= 5 for b in beams)
    if attention == "soft":
        a = attention_of(model, grids[0], beams[0].ids, 1)
        np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-12)


def test_spec_json_round_trip_and_old_specs():
    spec = tiny_spec(attention="soft", grids=True)
    data = spec.to_json()
    assert data["grid"] == [2, 3, 4]
    assert CaptionerSpec.from_json(data) == spec
    pictures = tiny_spec(attention="soft")
    assert "grid" not in pictures.to_json()            # a picture model's spec reads as before
    assert CaptionerSpec.from_json(pictures.to_json()) == pictures and pictures.grid is None
    assert not {"image_height", "image_width", "image_channels", "channels", "kernel"} & set(data)
    for bad in ([2, 3], [2, 0, 4], [2, 3, "4"], [True, 3, 4], 7):
        with pytest.raises(UsageError):
            CaptionerSpec.from_json({**data, "grid": bad})
    with pytest.raises(UsageError, match="image_height"):
        CaptionerSpec.from_json({**data, "image_height": 32})     # an encoder's field on a model without one


@pytest.mark.parametrize("attention", ["none", "soft"])
def test_learns_a_caption_per_grid(attention):
    """Two 2x2 grids of 3 features: feature 0 lit on the left or feature 1 on the right."""
    spec = CaptionerSpec(vocab_size=6, embed_dim=8, hidden=16, attention=attention, attention_size=8, grid=(2, 2, 3))
    model = Captioner.create(spec, seed=0, dtype=np.float64)
    grids = np.zeros((2, 2, 2, 3))
    grids[0, :, 0, 0] = 1.0
    grids[1, :, 1, 1] = 1.0
    captions = np.array([[1, 2, 3, 5], [1, 4, 2, 5]])
    mask = np.ones((2, 3), bool)
    optimizer = make_optimizer("adam", 0.05)
    first = model.loss(grids, captions, mask)[0]
    for _ in range(80):
        loss, grads, _ = model.loss(grids, captions, mask)
        optimizer.step(model.params, grads, lr=0.05)
    assert loss < 0.1 * first
    np.testing.assert_array_equal(model.greedy(grids, 1, 5, 5)[:, :3], captions[:, 1:])
