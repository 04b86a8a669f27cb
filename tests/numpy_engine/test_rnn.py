"""Vanilla RNN: the vectorised sequence pass against a loop of steps, every gradient against central
differences (float64) and against PyTorch autograd on the same weights."""

import numpy as np
import pytest
from gradutil import assert_close, check_all_inputs, randn, torch_tensors

from rnnkit.numpy_engine.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

N, T, D, H = 3, 5, 4, 6
RECURRENT = ("Wh", "h0", "prev_h")


def seq_inputs(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a = {"x": randn(rng, N, T, D), "h0": randn(rng, N, H), "Wx": randn(rng, D, H) * 0.5,
         "Wh": randn(rng, H, H) * 0.5, "b": randn(rng, H) * 0.5}
    return {k: v.astype(dtype) for k, v in a.items()}


def step_inputs(seed=1):
    rng = np.random.default_rng(seed)
    return {"x": randn(rng, N, D), "prev_h": randn(rng, N, H), "Wx": randn(rng, D, H) * 0.5,
            "Wh": randn(rng, H, H) * 0.5, "b": randn(rng, H) * 0.5}


def naive_forward(x, h0, Wx, Wh, b):
    h, hs = h0, []
    for t in range(x.shape[1]):
        h, _ = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        hs.append(h)
    return np.stack(hs, axis=1)


def test_step_forward_is_the_equation():
    a = step_inputs()
    h, _ = rnn_step_forward(**a)
    assert_close(h, np.tanh(a["x"] @ a["Wx"] + a["prev_h"] @ a["Wh"] + a["b"]))


def test_sequence_forward_equals_loop_of_steps():
    a = seq_inputs()
    h, cache = rnn_forward(**a)
    expected = naive_forward(**a)
    assert h.shape == (N, T, H)
    assert_close(h, expected, "h")
    assert_close(cache.hT, expected[:, -1], "hT")


def test_inputs_are_not_modified():
    a = seq_inputs()
    before = {k: v.copy() for k, v in a.items()}
    h, cache = rnn_forward(**a)
    dh = np.ones_like(h)
    dh_before = dh.copy()
    rnn_backward(dh, cache, dhT=np.ones((N, H)))
    for k in a:
        np.testing.assert_array_equal(a[k], before[k])
    np.testing.assert_array_equal(dh, dh_before)


def test_step_backward_gradcheck():
    a = step_inputs()
    dnext = np.random.default_rng(2).standard_normal((N, H))
    _, cache = rnn_step_forward(**a)
    grads = dict(zip(["x", "prev_h", "Wx", "Wh", "b"], rnn_step_backward(dnext, cache)))
    check_all_inputs(lambda **k: (rnn_step_forward(**k)[0],), a, [dnext], grads, RECURRENT)


def test_sequence_backward_gradcheck_with_gradient_into_final_state():
    a = seq_inputs()
    rng = np.random.default_rng(3)
    dh, dhT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))

    def forward(**k):
        h, cache = rnn_forward(**k)
        return h, cache.hT

    _, cache = rnn_forward(**a)
    grads = dict(zip(["x", "h0", "Wx", "Wh", "b"], rnn_backward(dh, cache, dhT=dhT)))
    check_all_inputs(forward, a, [dh, dhT], grads, RECURRENT)


def test_sequence_backward_equals_backward_through_steps():
    """Hand-unrolled BPTT with the step functions gives the vectorised pass's gradients."""
    a = seq_inputs()
    rng = np.random.default_rng(4)
    dh, dhT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    caches, h = [], a["h0"]
    for t in range(T):
        h, c = rnn_step_forward(a["x"][:, t], h, a["Wx"], a["Wh"], a["b"])
        caches.append(c)
    dx = np.zeros_like(a["x"])
    dWx, dWh, db = np.zeros_like(a["Wx"]), np.zeros_like(a["Wh"]), np.zeros_like(a["b"])
    dprev = dhT
    for t in range(T - 1, -1, -1):
        dx[:, t], dprev, gWx, gWh, gb = rnn_step_backward(dh[:, t] + dprev, caches[t])
        dWx += gWx
        dWh += gWh
        db += gb
    _, cache = rnn_forward(**a)
    for name, got, want in zip(["dx", "dh0", "dWx", "dWh", "db"], rnn_backward(dh, cache, dhT=dhT),
                               [dx, dprev, dWx, dWh, db]):
        assert_close(got, want, name)


def test_float32_forward_and_backward_agree_with_float64():
    a64, a32 = seq_inputs(), seq_inputs(dtype=np.float32)
    h64, c64 = rnn_forward(**a64)
    h32, c32 = rnn_forward(**a32)
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, atol=1e-5)
    dh = np.random.default_rng(5).standard_normal((N, T, H))
    for g32, g64 in zip(rnn_backward(dh.astype(np.float32), c32), rnn_backward(dh, c64)):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, atol=1e-4)


def test_matches_torch_rnn_autograd():
    torch = pytest.importorskip("torch")
    a = seq_inputs()
    rng = np.random.default_rng(6)
    dh, dhT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    h, cache = rnn_forward(**a)
    ours = dict(zip(["x", "h0", "Wx", "Wh", "b"], rnn_backward(dh, cache, dhT=dhT)))

    net = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(a["Wx"].T))
        net.weight_hh_l0.copy_(torch.from_numpy(a["Wh"].T))
        net.bias_ih_l0.copy_(torch.from_numpy(a["b"]))
        net.bias_hh_l0.zero_()
    t = torch_tensors(torch, {"x": a["x"], "h0": a["h0"]})
    out, hn = net(t["x"], t["h0"][None])
    assert_close(out.detach().numpy(), h, "h")
    assert_close(hn[0].detach().numpy(), cache.hT, "hT")
    ((out * torch.from_numpy(dh)).sum() + (hn[0] * torch.from_numpy(dhT)).sum()).backward()
    assert_close(ours["x"], t["x"].grad.numpy(), "dx")
    assert_close(ours["h0"], t["h0"].grad.numpy(), "dh0")
    assert_close(ours["Wx"], net.weight_ih_l0.grad.numpy().T, "dWx")
    assert_close(ours["Wh"], net.weight_hh_l0.grad.numpy().T, "dWh")
    assert_close(ours["b"], net.bias_ih_l0.grad.numpy(), "db")


def test_step_matches_torch_rnn_cell_autograd():
    torch = pytest.importorskip("torch")
    a = step_inputs()
    dnext = np.random.default_rng(7).standard_normal((N, H))
    h, cache = rnn_step_forward(**a)
    ours = dict(zip(["x", "prev_h", "Wx", "Wh", "b"], rnn_step_backward(dnext, cache)))
    cell = torch.nn.RNNCell(D, H, nonlinearity="tanh").double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(a["Wx"].T))
        cell.weight_hh.copy_(torch.from_numpy(a["Wh"].T))
        cell.bias_ih.copy_(torch.from_numpy(a["b"]))
        cell.bias_hh.zero_()
    t = torch_tensors(torch, {"x": a["x"], "prev_h": a["prev_h"]})
    out = cell(t["x"], t["prev_h"])
    assert_close(out.detach().numpy(), h)
    (out * torch.from_numpy(dnext)).sum().backward()
    assert_close(ours["x"], t["x"].grad.numpy(), "dx")
    assert_close(ours["prev_h"], t["prev_h"].grad.numpy(), "dprev_h")
    assert_close(ours["Wx"], cell.weight_ih.grad.numpy().T, "dWx")
    assert_close(ours["Wh"], cell.weight_hh.grad.numpy().T, "dWh")
    assert_close(ours["b"], cell.bias_ih.grad.numpy(), "db")
