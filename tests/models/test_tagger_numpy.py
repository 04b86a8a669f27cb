"""The frame tagger in the NumPy engine: every gradient against central differences in float64
(image and vector frames, causal, bidirectional, frame-alone), causality, frames labelled alone,
padding invariance, and bad specs."""

import numpy as np
import pytest
from gradutil import assert_grad

from rnnkit.errors import UsageError
from rnnkit.image_encoder import ImageEncoderSpec
from rnnkit.models.tagger.numpy_model import Tagger
from rnnkit.models.tagger.spec import TaggerSpec
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient

N, T, C = 2, 4, 3
ENC = ImageEncoderSpec(height=8, width=8, channels=(2, 3), kernel=3)


def spec_of(frames="image", **fields):
    extra = {"encoder": ENC} if frames == "image" else {"input_dim": 5, "embed_dim": 4}
    return TaggerSpec(**{"classes": C, "frames": frames, "hidden": 3, **extra, **fields})


def batch(rng, spec, lengths=(T,) * N):
    frames = rng.random((len(lengths), T, *spec.frame_shape()))
    mask = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
    return frames, mask, rng.integers(0, C, (len(lengths), T))


def model_of(spec, seed=0):
    model = Tagger.create(spec, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for v in model.params.values():  # away from zero biases: every ReLU and gate in play
        v += 0.1 * rng.standard_normal(v.shape)
    return model


@pytest.mark.parametrize("fields", [
    {"frames": "image"}, {"frames": "image", "bidirectional": True}, {"frames": "image", "frame_alone": True},
    {"frames": "vector", "cell": "gru"}, {"frames": "vector", "bidirectional": True},
    {"frames": "vector", "frame_alone": True}, {"frames": "image", "skip": True},
    {"frames": "vector", "skip": True, "bidirectional": True, "layers": 2, "dropout": 0.0},
])
def test_every_gradient_is_the_numerical_one(fields):
    spec = spec_of(**fields)
    model = model_of(spec)
    frames, mask, labels = batch(np.random.default_rng(2), spec, lengths=(T, T - 1))
    scale = float(mask.sum())  # the summed loss: gradients well above finite-difference noise
    _, grads, _ = model.loss(frames, mask, labels)
    assert list(grads) == list(spec.param_shapes())
    for name, p in model.params.items():
        numerical = eval_numerical_gradient(lambda _: model.loss(frames, mask, labels)[0] * scale, p)
        assert_grad(grads[name] * scale, numerical, name, tol=1e-6)


def test_causal_model_does_not_look_ahead_and_bidirectional_does():
    rng = np.random.default_rng(3)
    for bidirectional, changes_past in ((False, False), (True, True)):
        spec = spec_of("vector", bidirectional=bidirectional)
        model = model_of(spec)
        frames, mask, _ = batch(rng, spec)
        before = model.predict_proba(frames, mask)
        frames[:, -1] += 1.0
        after = model.predict_proba(frames, mask)
        assert np.allclose(before[:, :-1], after[:, :-1]) != changes_past
        assert not np.allclose(before[:, -1], after[:, -1])


def test_frame_alone_labels_each_frame_from_itself():
    spec = spec_of("image", frame_alone=True)
    model = model_of(spec)
    frames, mask, _ = batch(np.random.default_rng(4), spec)
    before = model.predict_proba(frames, mask)
    frames[:, 0] = 0.0
    after = model.predict_proba(frames, mask)
    np.testing.assert_allclose(before[:, 1:], after[:, 1:])
    assert not np.allclose(before[:, 0], after[:, 0])


def test_padding_changes_no_loss_or_gradient():
    spec = spec_of("vector", bidirectional=True)
    model = model_of(spec)
    rng = np.random.default_rng(5)
    frames, mask, labels = batch(rng, spec, lengths=(T, 2))
    loss, grads, _ = model.loss(frames, mask, labels)
    frames[1, 2:] = 100 * rng.standard_normal(frames[1, 2:].shape)
    labels[1, 2:] = C - 1
    loss2, grads2, _ = model.loss(frames, mask, labels)
    assert loss == pytest.approx(loss2, rel=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads[name], grads2[name], rtol=1e-10, atol=1e-13)
    stats, _ = model.evaluate(frames, mask, labels)
    assert stats["count"] == T + 2


def test_skip_feeds_the_frames_features_to_the_head_and_frame_alone_drops_it():
    spec = spec_of("vector", skip=True)
    assert spec.head_input == spec.hidden + spec.features
    assert spec.param_shapes()["head.W"] == (spec.hidden + spec.features, C)
    assert spec_of("vector", skip=True, frame_alone=True).skip is False
    # With the recurrent part of the head zeroed, a skip model labels each frame from itself.
    model = model_of(spec)
    model.params["head.W"][:spec.hidden] = 0.0
    rng = np.random.default_rng(5)
    frames, mask, _ = batch(rng, spec)
    before = model.forward(frames, mask)[0]
    changed = frames.copy()
    changed[:, 0] += 1.0
    after = model.forward(changed, mask)[0]
    np.testing.assert_allclose(after[:, 1:], before[:, 1:], rtol=0, atol=1e-12)
    assert not np.allclose(after[:, 0], before[:, 0])


def test_spec_refuses_bad_values_and_round_trips():
    with pytest.raises(UsageError, match="encoder"):
        TaggerSpec(classes=3, frames="image")
    with pytest.raises(UsageError, match="input_dim"):
        TaggerSpec(classes=3, frames="vector")
    with pytest.raises(UsageError, match="frames"):
        TaggerSpec(classes=3, frames="audio")
    spec = spec_of("image", bidirectional=True)
    assert TaggerSpec.from_json(spec.to_json()) == spec
    model = model_of(spec)
    with pytest.raises(ValueError, match="frames must be"):
        model.loss(np.zeros((1, T, 9, 8)), np.ones((1, T), bool), np.zeros((1, T), int))


@pytest.mark.parametrize("damage", [
    {"encoder": "conv"}, {"encoder": {"channels": [True]}}, {"encoder": {"kernel": 2}},
    {"encoder": {"height": 1 << 30}}, {"classes": 1}, {"frame_alone": "yes"}, {"surprise": 1},
])
def test_a_strangers_spec_is_refused_with_a_usage_error(damage):
    data = spec_of("image").to_json()
    for key, value in damage.items():
        if isinstance(value, dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    with pytest.raises(UsageError):
        TaggerSpec.from_json(data)


def test_shards_of_clips_of_different_lengths_give_the_whole_batch_loss():
    """The loss is a mean over real frames: shards of clips of different lengths are weighted by
    their frames (model.loss_weight), so 2 or 3 shards give the unsharded loss and gradients."""
    from rnnkit.runtime.shards import ShardedModel

    spec = spec_of("vector")
    model = model_of(spec)
    data = batch(np.random.default_rng(3), spec, lengths=(4, 1, 1, 3, 2, 1))
    assert model.loss_weight(*data) == 12
    whole_loss, whole_grads, _ = model.loss(*data)
    for shards in (2, 3):
        loss, grads, _ = ShardedModel(model, shards).loss(data, None)
        np.testing.assert_allclose(loss, whole_loss, rtol=1e-12)
        for name, grad in whole_grads.items():
            np.testing.assert_allclose(grads[name], grad, rtol=1e-9, atol=1e-12, err_msg=name)
