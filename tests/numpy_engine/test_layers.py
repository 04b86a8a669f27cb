"""The non-recurrent layers: embedding, temporal affine, temporal softmax loss, dropout. Each forward
against its definition, each backward against central differences (float64) and PyTorch autograd."""

import math

import numpy as np
import pytest
from gradutil import assert_close, assert_grad, numerical_vjp, randn, torch_tensors

from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient
from rnnkit.numpy_engine.losses import log_softmax, temporal_softmax_loss
from rnnkit.numpy_engine.layers import (
    dropout_backward, dropout_forward, temporal_affine_backward, temporal_affine_forward,
    word_embedding_backward, word_embedding_forward,
)

N, T, V, D, M = 3, 5, 7, 4, 6


def test_embedding_forward_looks_up_rows():
    rng = np.random.default_rng(0)
    ids, W = rng.integers(0, V, (N, T)), randn(rng, V, D)
    out, _ = word_embedding_forward(ids, W)
    for n in range(N):
        for t in range(T):
            np.testing.assert_array_equal(out[n, t], W[ids[n, t]])


def test_embedding_backward_accumulates_repeated_ids():
    W = np.zeros((3, 2))
    ids = np.array([[1, 1, 2]])
    _, cache = word_embedding_forward(ids, W)
    dW = word_embedding_backward(np.array([[[1.0, 2.0], [10.0, 20.0], [5.0, 5.0]]]), cache)
    np.testing.assert_array_equal(dW, [[0, 0], [11, 22], [5, 5]])


def test_embedding_backward_gradcheck():
    rng = np.random.default_rng(1)
    ids, W, dout = rng.integers(0, V, (N, T)), randn(rng, V, D), randn(rng, N, T, D)
    _, cache = word_embedding_forward(ids, W)
    assert_grad(word_embedding_backward(dout, cache), numerical_vjp(lambda: (word_embedding_forward(ids, W)[0],), W, [dout]))


def test_temporal_affine_equals_loop_over_time():
    rng = np.random.default_rng(2)
    x, w, b = randn(rng, N, T, D), randn(rng, D, M), randn(rng, M)
    out, _ = temporal_affine_forward(x, w, b)
    assert_close(out, np.stack([x[:, t] @ w + b for t in range(T)], axis=1))


def test_temporal_affine_backward_gradcheck():
    rng = np.random.default_rng(3)
    a = {"x": randn(rng, N, T, D), "w": randn(rng, D, M), "b": randn(rng, M)}
    dout = randn(rng, N, T, M)
    _, cache = temporal_affine_forward(**a)
    for name, grad in zip(["x", "w", "b"], temporal_affine_backward(dout, cache)):
        assert_grad(grad, numerical_vjp(lambda: (temporal_affine_forward(**a)[0],), a[name], [dout]), name)


def test_softmax_loss_definition_sum_over_time_mean_over_batch():
    rng = np.random.default_rng(4)
    x, y = randn(rng, N, T, V), rng.integers(0, V, (N, T))
    mask = rng.random((N, T)) > 0.3
    loss, _ = temporal_softmax_loss(x, y, mask)
    want = 0.0
    for n in range(N):
        for t in range(T):
            if mask[n, t]:
                want -= x[n, t, y[n, t]] - math.log(np.exp(x[n, t]).sum())
    assert loss == pytest.approx(want / N, rel=1e-12)
    # Uniform scores: every counted step costs log V.
    loss, _ = temporal_softmax_loss(np.zeros((N, T, V)), y, mask)
    assert loss == pytest.approx(mask.sum() / N * math.log(V), rel=1e-12)


def test_softmax_loss_gradcheck_and_masked_steps_get_no_gradient():
    rng = np.random.default_rng(5)
    x, y = randn(rng, N, T, V), rng.integers(0, V, (N, T))
    mask = rng.random((N, T)) > 0.3
    mask[0, 0], mask[1, 1] = False, True
    _, dx = temporal_softmax_loss(x, y, mask)
    assert_grad(dx, eval_numerical_gradient(lambda _: temporal_softmax_loss(x, y, mask)[0], x))
    assert np.all(dx[~mask] == 0)


def test_softmax_loss_is_stable_for_huge_scores():
    x = np.zeros((1, 2, 3))
    x[0, :, 0] = 1e4
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        loss, dx = temporal_softmax_loss(x, np.array([[0, 1]]), np.ones((1, 2)))
    assert loss == pytest.approx(1e4)
    assert np.all(np.isfinite(dx))
    assert np.all(np.isfinite(log_softmax(np.array([1e5, -1e5]))))


def test_dropout_identity_at_test_time_and_with_p_zero():
    x = np.random.default_rng(6).standard_normal((N, T, D))
    for out, cache in (dropout_forward(x, 0.5, None), dropout_forward(x, 0.0, np.random.default_rng(0))):
        np.testing.assert_array_equal(out, x)
        np.testing.assert_array_equal(dropout_backward(x, cache), x)


def test_dropout_zeroes_a_share_p_and_keeps_the_expectation():
    x = np.ones((200, 500), dtype=np.float32)
    out, cache = dropout_forward(x, 0.3, np.random.default_rng(7))
    assert out.dtype == np.float32
    assert np.mean(out == 0) == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(out[out != 0], 1 / 0.7, rtol=1e-6)
    assert out.mean() == pytest.approx(1.0, abs=0.01)
    np.testing.assert_array_equal(dropout_backward(x, cache), out)  # same mask backward


def test_dropout_backward_gradcheck_with_a_fixed_mask():
    rng = np.random.default_rng(8)
    x, dout = randn(rng, N, T, D), randn(rng, N, T, D)
    seeded = lambda: dropout_forward(x, 0.4, np.random.default_rng(9))  # noqa: E731  same mask every call
    _, cache = seeded()
    assert np.any(cache.mask == 0)
    assert_grad(dropout_backward(dout, cache), numerical_vjp(lambda: (seeded()[0],), x, [dout]))


def test_float32_layers_agree_with_float64():
    rng = np.random.default_rng(10)
    x, w, b = randn(rng, N, T, D), randn(rng, D, V), randn(rng, V)
    y, mask = rng.integers(0, V, (N, T)), np.ones((N, T))
    s64, _ = temporal_affine_forward(x, w, b)
    s32, _ = temporal_affine_forward(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32))
    assert s32.dtype == np.float32
    np.testing.assert_allclose(s32, s64, atol=1e-5)
    l64, d64 = temporal_softmax_loss(s64, y, mask)
    l32, d32 = temporal_softmax_loss(s32, y, mask)
    assert d32.dtype == np.float32
    assert l32 == pytest.approx(l64, rel=1e-5)
    np.testing.assert_allclose(d32, d64, atol=1e-6)


def test_layers_match_torch_autograd():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    ids, W, dout = rng.integers(0, V, (N, T)), randn(rng, V, D), randn(rng, N, T, D)
    t = torch_tensors(torch, {"W": W})
    (F.embedding(torch.from_numpy(ids), t["W"]) * torch.from_numpy(dout)).sum().backward()
    assert_close(word_embedding_backward(dout, word_embedding_forward(ids, W)[1]), t["W"].grad.numpy(), "embedding")

    a = {"x": randn(rng, N, T, D), "w": randn(rng, D, M), "b": randn(rng, M)}
    dout = randn(rng, N, T, M)
    t = torch_tensors(torch, a)
    (F.linear(t["x"], t["w"].T, t["b"]) * torch.from_numpy(dout)).sum().backward()
    got = temporal_affine_backward(dout, temporal_affine_forward(**a)[1])
    for name, g in zip(["x", "w", "b"], got):
        assert_close(g, t[name].grad.numpy(), "affine d" + name)

    x, y = randn(rng, N, T, V), rng.integers(0, V, (N, T))
    mask = rng.random((N, T)) > 0.3
    t = torch_tensors(torch, {"x": x})
    per_step = F.cross_entropy(t["x"].reshape(N * T, V), torch.from_numpy(y.reshape(-1)), reduction="none")
    torch_loss = (per_step * torch.from_numpy(mask.reshape(-1).astype(np.float64))).sum() / N
    torch_loss.backward()
    loss, dx = temporal_softmax_loss(x, y, mask)
    assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
    assert_close(dx, t["x"].grad.numpy(), "softmax dx")

    x, dout = randn(rng, N, T, D), randn(rng, N, T, D)
    out, cache = dropout_forward(x, 0.4, np.random.default_rng(12))
    keep = torch.from_numpy((cache.mask != 0).astype(np.float64))
    t = torch_tensors(torch, {"x": x})
    torch_out = t["x"] * keep / 0.6
    (torch_out * torch.from_numpy(dout)).sum().backward()
    assert_close(out, torch_out.detach().numpy(), "dropout out")
    assert_close(dropout_backward(dout, cache), t["x"].grad.numpy(), "dropout dx")
