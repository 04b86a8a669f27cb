"""The sequence classifier in the NumPy engine: the pooling pairs and the whole model gradient-checked
in float64 (ragged batches, both directions, every pool, dropout with a fixed mask), padding
invariance, the statistics of evaluate, the spec's validation, and a small model that learns."""

import numpy as np
import pytest
from gradutil import TOL, TOL_RECURRENT, assert_close, assert_grad, numerical_vjp

from rnnkit.errors import UsageError
from rnnkit.models.classifier.numpy_model import Classifier, lengths_from_mask
from rnnkit.models.classifier.spec import ClassifierSpec
from rnnkit.numpy_engine import pooling
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient
from rnnkit.numpy_engine.layers import dropout_forward
from rnnkit.numpy_engine.losses import softmax_loss

N, T, H, E, V, C = 3, 5, 3, 3, 7, 3
LENGTHS = np.array([5, 2, 4])


def ragged_batch(rng, lengths=LENGTHS, steps=T):
    """ids (N, T) with random ids in the padding too (they must not matter), mask, labels."""
    mask = np.arange(steps)[None, :] < np.asarray(lengths)[:, None]
    return rng.integers(0, V, (len(lengths), steps)), mask, rng.integers(0, C, len(lengths))


def float64_model(seed=0, **fields):
    spec = ClassifierSpec(**{"vocab_size": V, "embed_dim": E, "hidden": H, "classes": C, **fields})
    model = Classifier.create(spec, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for value in model.params.values():
        value[...] = rng.standard_normal(value.shape) * 0.5
    return model


# --- pooling pairs -----------------------------------------------------------------------------

POOLS = {
    "mean": (pooling.mean_pool_forward, pooling.mean_pool_backward),
    "max": (pooling.max_pool_forward, pooling.max_pool_backward),
}


@pytest.mark.parametrize("kind", ["mean", "max"])
def test_masked_pool_gradients(kind):
    forward, backward = POOLS[kind]
    rng = np.random.default_rng(3)
    y, mask = rng.standard_normal((T, N, 4)), (np.arange(T)[:, None] < LENGTHS[None, :])
    out, cache = forward(y, mask)
    dout = rng.standard_normal(out.shape)
    dy = backward(dout, cache)
    assert_grad(dy, numerical_vjp(lambda: [forward(y, mask)[0]], y, [dout]), f"{kind} dy")
    assert not np.any(dy[~mask]), "padded steps got a gradient"


@pytest.mark.parametrize("directions", [1, 2])
def test_last_pool_gradient(directions):
    rng = np.random.default_rng(4)
    y = rng.standard_normal((T, N, 2 * directions))
    out, cache = pooling.last_pool_forward(y, LENGTHS, directions)
    dout = rng.standard_normal(out.shape)
    dy = pooling.last_pool_backward(dout, cache)
    assert_grad(dy, numerical_vjp(lambda: [pooling.last_pool_forward(y, LENGTHS, directions)[0]], y, [dout]))


def test_pools_ignore_padding_and_read_the_right_steps():
    rng = np.random.default_rng(5)
    y, mask = rng.standard_normal((T, N, 4)), (np.arange(T)[:, None] < LENGTHS[None, :])
    spoiled = np.where(mask[:, :, None], y, 1e6)  # padding that would win any max
    for forward, _ in POOLS.values():
        assert_close(forward(spoiled, mask)[0], forward(y, mask)[0])
    for n, length in enumerate(LENGTHS):
        assert_close(pooling.mean_pool_forward(y, mask)[0][n], y[:length, n].mean(axis=0))
        assert_close(pooling.max_pool_forward(y, mask)[0][n], y[:length, n].max(axis=0))
        last = pooling.last_pool_forward(y, LENGTHS, 2)[0][n]
        assert_close(last, np.concatenate([y[length - 1, n, :2], y[0, n, 2:]]))
    with pytest.raises(ValueError, match="real step"):
        pooling.mean_pool_forward(y, np.zeros((T, N), bool))


# --- the whole model ---------------------------------------------------------------------------

# Every cell x layers x directions x pool, except that two bidirectional layers (the slowest check:
# most parameters, four recurrences) meet each pool once rather than with each cell.
CONFIGS = [(cell, layers, bidirectional, pool)
           for cell in ("lstm", "gru") for layers in (1, 2) for bidirectional in (False, True)
           for pool in ("last", "mean", "max") if layers == 1 or not bidirectional]
CONFIGS += [("lstm", 2, True, "last"), ("gru", 2, True, "mean"), ("lstm", 2, True, "max")]


@pytest.mark.parametrize("cell,layers,bidirectional,pool", CONFIGS)
def test_whole_model_gradcheck_ragged_with_dropout(cell, layers, bidirectional, pool):
    model = float64_model(cell=cell, layers=layers, bidirectional=bidirectional, pool=pool, dropout=0.3)
    # An instance where the max pool's kept winners are not all at step 0 (there a layer's Wh gets
    # no gradient and the check would prove nothing about it).
    ids, mask, labels = ragged_batch(np.random.default_rng(3))
    seed = 8  # a fresh Generator per call: the same dropout masks every time

    def f(_=None):
        scores, _ = model.forward(ids, mask, np.random.default_rng(seed))
        return softmax_loss(scores, labels)[0]

    loss, grads, state = model.loss(ids, mask, labels, rng=np.random.default_rng(seed))
    assert state is None and loss == pytest.approx(f())
    assert list(grads) == list(model.spec.param_shapes())
    for name, grad in grads.items():
        tol = TOL_RECURRENT if ".Wh" in name or name.startswith("rnn") else TOL
        assert_grad(grad, eval_numerical_gradient(f, model.params[name]), name, tol)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradcheck_with_dropout_of_the_embedded_words(bidirectional):
    model = float64_model(cell="lstm", layers=2, bidirectional=bidirectional, pool="mean", dropout=0.3,
                          embed_dropout=0.4)
    ids, mask, labels = ragged_batch(np.random.default_rng(3))
    seed = 9

    def f(_=None):
        scores, _ = model.forward(ids, mask, np.random.default_rng(seed))
        return softmax_loss(scores, labels)[0]

    loss, grads, _ = model.loss(ids, mask, labels, rng=np.random.default_rng(seed))
    assert loss == pytest.approx(f()) and loss != pytest.approx(model.loss(ids, mask, labels)[0])
    for name, grad in grads.items():
        tol = TOL_RECURRENT if name.startswith("rnn") else TOL
        assert_grad(grad, eval_numerical_gradient(f, model.params[name]), name, tol)


def test_dropout_with_a_fixed_mask_is_what_the_gradient_check_saw():
    """The check above is only meaningful if the rng really dropped something."""
    out, cache = dropout_forward(np.ones((4, 4)), 0.3, np.random.default_rng(8))
    assert cache.mask is not None and np.any(out == 0.0)


@pytest.mark.parametrize("pool", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_changes_no_probability_or_gradient(bidirectional, pool):
    """Each row alone, unpadded, gives the probabilities of its row in a ragged batch (whatever ids
    fill the padding), and the batch's gradient is the mean of the rows' own gradients."""
    model = float64_model(cell="lstm", layers=2, bidirectional=bidirectional, pool=pool)
    ids, mask, labels = ragged_batch(np.random.default_rng(8), steps=T + 2)
    proba = model.predict_proba(ids, mask)
    _, grads, _ = model.loss(ids, mask, labels)
    other_padding = np.where(mask, ids, (ids + 3) % V)
    assert_close(model.predict_proba(other_padding, mask), proba)
    mean = {name: np.zeros_like(g) for name, g in grads.items()}
    for n, length in enumerate(LENGTHS):
        row_ids, row_mask = ids[n:n + 1, :length], mask[n:n + 1, :length]
        assert_close(model.predict_proba(row_ids, row_mask), proba[n:n + 1], f"row {n}", 1e-12)
        for name, g in model.loss(row_ids, row_mask, labels[n:n + 1])[1].items():
            mean[name] += g / len(LENGTHS)
    for name, g in grads.items():
        assert_close(g, mean[name], name, 1e-12)


def test_evaluate_sums_nats_and_counts_correct_predictions():
    model = float64_model(pool="mean")
    ids, mask, labels = ragged_batch(np.random.default_rng(9))
    stats, state = model.evaluate(ids, mask, labels)
    proba = model.predict_proba(ids, mask)
    assert state is None and model.init_state(N) is None
    assert stats["count"] == N
    assert stats["correct"] == int(np.sum(proba.argmax(axis=1) == labels))
    assert stats["nats"] == pytest.approx(-np.log(proba[np.arange(N), labels]).sum())
    assert stats["nats"] / N == pytest.approx(model.loss(ids, mask, labels)[0])
    assert_close(proba.sum(axis=1), np.ones(N))


def test_masks_must_be_right_padding_with_a_real_step():
    model = float64_model()
    ids, mask, labels = ragged_batch(np.random.default_rng(10))
    assert list(lengths_from_mask(mask)) == list(LENGTHS)
    with pytest.raises(ValueError, match="right padding"):
        model.loss(ids, mask[:, ::-1], labels)
    mask[1] = False
    with pytest.raises(ValueError, match="real step"):
        model.loss(ids, mask, labels)


def test_spec_shapes_json_and_validation():
    spec = ClassifierSpec(cell="gru", vocab_size=V, embed_dim=E, hidden=H, layers=2, bidirectional=True,
                          pool="max", classes=C)
    shapes = spec.param_shapes()
    assert list(shapes)[0] == "embed.W" and list(shapes)[-2:] == ["head.W", "head.b"]
    assert shapes["rnn_rev.1.Wx"] == (2 * H, 3 * H) and shapes["head.W"] == (2 * H, C)
    params = spec.init_params(np.random.default_rng(0))
    assert {k: v.shape for k, v in params.items()} == shapes and list(params) == list(shapes)
    assert ClassifierSpec.from_json(spec.to_json()) == spec and spec.kind == "classifier"
    for bad in ({"pool": "sum"}, {"cell": "tree"}, {"classes": 1}, {"dropout": 1.0}, {"embed_dropout": -0.1}, {"hidden": 0},
                {"bidirectional": 1}, {"layers": True}, {"layers": 1025}, {"vocab_size": 2**40}):
        with pytest.raises(UsageError):
            ClassifierSpec(**{"vocab_size": V, **bad})
    with pytest.raises(UsageError, match="vocab_size"):
        ClassifierSpec.from_json({"cell": "lstm"})
    with pytest.raises(UsageError, match="unknown"):
        ClassifierSpec.from_json({"vocab_size": V, "heads": 2})


def test_a_small_model_learns_a_rule_over_ragged_rows():
    """Label = whether token 1 occurs in the row: the model must read every real step."""
    spec = ClassifierSpec(cell="gru", vocab_size=6, embed_dim=8, hidden=16, pool="max")
    model = Classifier.create(spec, seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 9, 64)
    ids, mask, _ = ragged_batch(rng, lengths, 8)
    ids = np.where(mask, rng.integers(1, 6, ids.shape), 0)
    labels = (np.where(mask, ids, 0) == 1).any(axis=1).astype(int)
    first = model.loss(ids, mask, labels)[0]
    for _ in range(150):
        _, grads, _ = model.loss(ids, mask, labels)
        for name, g in grads.items():
            model.params[name] -= 0.5 * g
    stats, _ = model.evaluate(ids, mask, labels)
    assert stats["nats"] / stats["count"] < 0.25 * first and stats["correct"] >= 60
