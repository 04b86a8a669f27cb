"""The VQA model in the NumPy engine: every gradient by central differences (encoder, question
stack, hops, head, and the head's dgrid), padding invariance, attention that is a distribution,
the hops' residual, and the spec's checks."""

import numpy as np
import pytest
from gradutil import ENTRY_TOL, EXACT, TOL, TOL_RECURRENT

from rnnkit.errors import UsageError
from rnnkit.models.vqa.gradcheck import N, T, check_vqa, tiny_problem, tiny_spec
from rnnkit.models.vqa.numpy_model import VQA
from rnnkit.models.vqa.spec import VQASpec


@pytest.mark.parametrize("hops", [1, 2])
def test_every_gradient_matches_central_differences(hops):
    results = check_vqa(np.random.default_rng(hops), hops)
    assert len(results) == len(tiny_spec(hops).param_shapes()) + 1   # every parameter, and dgrid
    for (_, name), (norm_error, entry_error) in results.items():
        tol = TOL_RECURRENT if name.endswith(".Wh") else TOL
        assert norm_error <= tol, (name, norm_error)
        assert entry_error <= ENTRY_TOL * 100, (name, entry_error)


def test_padding_changes_nothing():
    rng = np.random.default_rng(3)
    model, images, ids, mask, answers = tiny_problem(rng, tiny_spec())
    loss, grads, _ = model.loss(images, ids, mask, answers)
    wider_ids = np.concatenate([ids, rng.integers(0, 7, (N, 3))], axis=1)     # 3 more padded steps
    wider_mask = np.concatenate([mask, np.zeros((N, 3), bool)], axis=1)
    loss2, grads2, _ = model.loss(images, wider_ids, wider_mask, answers)
    assert abs(loss - loss2) < EXACT
    for name in grads:
        np.testing.assert_allclose(grads2[name], grads[name], atol=EXACT, rtol=0)
    # Each row alone gives its own probabilities: rows do not see each other.
    probs = model.predict_proba(images, ids, mask)
    for n in range(N):
        width = int(mask[n].sum())
        alone = model.predict_proba(images[n:n + 1], ids[n:n + 1, :width], mask[n:n + 1, :width])
        np.testing.assert_allclose(alone[0], probs[n], atol=EXACT, rtol=0)


def test_attention_is_a_distribution_per_hop_and_depends_on_the_question():
    rng = np.random.default_rng(4)
    spec = tiny_spec(hops=2)
    model, images, ids, mask, _ = tiny_problem(rng, spec)
    weights = model.attention(images, ids, mask)
    assert weights.shape == (N, 2, spec.locations)
    np.testing.assert_allclose(weights.sum(axis=2), 1.0, atol=1e-12)
    assert (weights >= 0).all()
    other = ids.copy()
    other[:, 0] = (other[:, 0] + 1) % 7    # another first word: u_0, hence where hop 0 looks, changes
    assert np.abs(model.attention(images, other, mask) - weights).max() > 1e-6


def test_hops_add_their_context_to_the_question_vector():
    """u_{k+1} = u_k + v~_k: with every hop's context zeroed (img.W = 0, img.b = 0, so v_I = 0)
    the answer depends on the question alone, whatever the image."""
    rng = np.random.default_rng(5)
    model, images, ids, mask, _ = tiny_problem(rng, tiny_spec())
    model.params["img.W"][...] = 0.0
    model.params["img.b"][...] = 0.0
    a = model.predict_proba(images, ids, mask)
    b = model.predict_proba(rng.random(images.shape), ids, mask)
    np.testing.assert_allclose(a, b, atol=EXACT, rtol=0)


def test_a_few_steps_of_adam_fit_a_tiny_batch():
    from rnnkit.numpy_engine.optim import make_optimizer

    rng = np.random.default_rng(6)
    spec = tiny_spec()
    model = VQA.create(spec, seed=0, dtype=np.float64)
    _, images, ids, mask, answers = tiny_problem(rng, spec)
    optimizer = make_optimizer("adam", 0.05)
    first = model.loss(images, ids, mask, answers)[0]
    for _ in range(60):
        loss, grads, _ = model.loss(images, ids, mask, answers)
        optimizer.step(model.params, grads, lr=0.05)
    assert loss < 0.1 * first


def test_spec_checks_and_round_trip():
    spec = tiny_spec()
    assert VQASpec.from_json(spec.to_json()) == spec
    assert list(spec.param_shapes())[:2] == ["enc.conv0.W", "enc.conv0.b"]
    assert spec.param_shapes()["hop1.Wk"] == (5, 3) and spec.locations == 4
    with pytest.raises(UsageError, match="hops"):
        VQASpec(vocab_size=9, hops=0)
    with pytest.raises(UsageError, match="multiples of 8"):
        VQASpec(vocab_size=9, image_height=60, image_width=60)
    with pytest.raises(UsageError, match="vocab_size is missing"):
        VQASpec.from_json({"hidden": 4})
    with pytest.raises(ValueError, match="real step"):
        model = VQA.create(spec, dtype=np.float64)
        model.predict_proba(np.zeros((1, 8, 8, 3)), np.zeros((1, T), int), np.zeros((1, T), bool))
