"""LSTM (gates i, f, o, g): the vectorised sequence pass against a loop of steps, every gradient
(including dc0 and the gradients flowing into hT and cT) against central differences in float64,
and against PyTorch autograd: nn.LSTM / nn.LSTMCell with the gate blocks reordered to PyTorch's
i, f, g, o, and a hand-written torch loop of the design's equations."""

import numpy as np
import pytest
from gradutil import assert_close, check_all_inputs, randn, torch_tensors

from rnnkit.numpy_engine.lstm import (
    lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward, sigmoid,
)

N, T, D, H = 3, 5, 4, 6
RECURRENT = ("Wh", "h0", "c0", "prev_h", "prev_c")
# Our gate blocks are i, f, o, g; PyTorch's are i, f, g, o. The same index list maps both ways.
TORCH_ORDER = np.concatenate([np.arange(k * H, (k + 1) * H) for k in (0, 1, 3, 2)])


def seq_inputs(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a = {"x": randn(rng, N, T, D), "h0": randn(rng, N, H), "Wx": randn(rng, D, 4 * H) * 0.5,
         "Wh": randn(rng, H, 4 * H) * 0.5, "b": randn(rng, 4 * H) * 0.5, "c0": randn(rng, N, H)}
    return {k: v.astype(dtype) for k, v in a.items()}


def step_inputs(seed=1):
    rng = np.random.default_rng(seed)
    return {"x": randn(rng, N, D), "prev_h": randn(rng, N, H), "prev_c": randn(rng, N, H),
            "Wx": randn(rng, D, 4 * H) * 0.5, "Wh": randn(rng, H, 4 * H) * 0.5, "b": randn(rng, 4 * H) * 0.5}


def naive_forward(x, h0, Wx, Wh, b, c0):
    h, c, hs = h0, c0, []
    for t in range(x.shape[1]):
        h, c, _ = lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        hs.append(h)
    return np.stack(hs, axis=1), c


def test_step_forward_is_the_equation_with_gates_i_f_o_g():
    a = step_inputs()
    h, c, _ = lstm_step_forward(**a)
    pre = a["x"] @ a["Wx"] + a["prev_h"] @ a["Wh"] + a["b"]
    i, f, o, g = (pre[:, k * H:(k + 1) * H] for k in range(4))
    c_want = 1 / (1 + np.exp(-f)) * a["prev_c"] + 1 / (1 + np.exp(-i)) * np.tanh(g)
    assert_close(c, c_want, "c")
    assert_close(h, 1 / (1 + np.exp(-o)) * np.tanh(c_want), "h")


def test_sigmoid_is_stable_and_exact():
    x = np.array([-800.0, -30.0, -1.0, 0.0, 2.5, 800.0])
    with np.errstate(all="raise"):
        s = sigmoid(x)
    assert_close(s[1:-1], 1 / (1 + np.exp(-x[1:-1])), tol=1e-15)
    assert s[0] == 0.0 and s[-1] == 1.0


def test_sequence_forward_equals_loop_of_steps_with_initial_states():
    a = seq_inputs()
    h, cache = lstm_forward(**a)
    h_want, c_want = naive_forward(**a)
    assert_close(h, h_want, "h")
    assert_close(cache.hT, h_want[:, -1], "hT")
    assert_close(cache.cT, c_want, "cT")


def test_c0_defaults_to_zeros():
    a = seq_inputs()
    a_zero = dict(a, c0=np.zeros((N, H)))
    del a["c0"]
    h, cache = lstm_forward(**a)
    h_want, c_want = naive_forward(**a_zero)
    assert_close(h, h_want)
    assert_close(cache.cT, c_want)


def test_inputs_are_not_modified():
    a = seq_inputs()
    before = {k: v.copy() for k, v in a.items()}
    h, cache = lstm_forward(**a)
    dh, dhT, dcT = np.ones_like(h), np.ones((N, H)), np.ones((N, H))
    lstm_backward(dh, cache, dhT=dhT, dcT=dcT, return_dc0=True)
    for k in a:
        np.testing.assert_array_equal(a[k], before[k])
    assert np.all(dh == 1) and np.all(dhT == 1) and np.all(dcT == 1)


def test_step_backward_gradcheck():
    a = step_inputs()
    rng = np.random.default_rng(2)
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    _, _, cache = lstm_step_forward(**a)
    grads = dict(zip(["x", "prev_h", "prev_c", "Wx", "Wh", "b"], lstm_step_backward(dh, dc, cache)))
    check_all_inputs(lambda **k: lstm_step_forward(**k)[:2], a, [dh, dc], grads, RECURRENT)


def test_sequence_backward_gradcheck_with_dhT_dcT_and_dc0():
    a = seq_inputs()
    rng = np.random.default_rng(3)
    dh, dhT, dcT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def forward(**k):
        h, cache = lstm_forward(**k)
        return h, cache.hT, cache.cT

    _, cache = lstm_forward(**a)
    grads = dict(zip(["x", "h0", "Wx", "Wh", "b", "c0"],
                     lstm_backward(dh, cache, dhT=dhT, dcT=dcT, return_dc0=True)))
    check_all_inputs(forward, a, [dh, dhT, dcT], grads, RECURRENT)


def test_backward_without_return_dc0_gives_five_gradients():
    a = seq_inputs()
    h, cache = lstm_forward(**a)
    dh = np.random.default_rng(4).standard_normal(h.shape)
    five = lstm_backward(dh, cache)
    six = lstm_backward(dh, cache, return_dc0=True)
    assert len(five) == 5 and len(six) == 6
    for g5, g6 in zip(five, six):
        np.testing.assert_array_equal(g5, g6)


def test_sequence_backward_equals_backward_through_steps():
    a = seq_inputs()
    rng = np.random.default_rng(5)
    dh, dhT, dcT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    caches, h, c = [], a["h0"], a["c0"]
    for t in range(T):
        h, c, cache = lstm_step_forward(a["x"][:, t], h, c, a["Wx"], a["Wh"], a["b"])
        caches.append(cache)
    dx = np.zeros_like(a["x"])
    dWx, dWh, db = np.zeros_like(a["Wx"]), np.zeros_like(a["Wh"]), np.zeros_like(a["b"])
    dprev_h, dprev_c = dhT, dcT
    for t in range(T - 1, -1, -1):
        dx[:, t], dprev_h, dprev_c, gWx, gWh, gb = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, caches[t])
        dWx += gWx
        dWh += gWh
        db += gb
    _, cache = lstm_forward(**a)
    got = lstm_backward(dh, cache, dhT=dhT, dcT=dcT, return_dc0=True)
    for name, g, want in zip(["dx", "dh0", "dWx", "dWh", "db", "dc0"], got, [dx, dprev_h, dWx, dWh, db, dprev_c]):
        assert_close(g, want, name)


def test_float32_forward_and_backward_agree_with_float64():
    a64, a32 = seq_inputs(), seq_inputs(dtype=np.float32)
    h64, c64 = lstm_forward(**a64)
    h32, c32 = lstm_forward(**a32)
    assert h32.dtype == np.float32 and c32.cT.dtype == np.float32
    np.testing.assert_allclose(h32, h64, atol=1e-5)
    np.testing.assert_allclose(c32.cT, c64.cT, atol=1e-5)
    dh = np.random.default_rng(6).standard_normal((N, T, H))
    for g32, g64 in zip(lstm_backward(dh.astype(np.float32), c32, return_dc0=True),
                        lstm_backward(dh, c64, return_dc0=True)):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, atol=1e-4)


def _ours_with_upstream(a, seed):
    rng = np.random.default_rng(seed)
    dh, dhT, dcT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    h, cache = lstm_forward(**a)
    grads = dict(zip(["x", "h0", "Wx", "Wh", "b", "c0"],
                     lstm_backward(dh, cache, dhT=dhT, dcT=dcT, return_dc0=True)))
    return h, cache, grads, (dh, dhT, dcT)


def test_matches_torch_nn_lstm_autograd():
    torch = pytest.importorskip("torch")
    a = seq_inputs()
    h, cache, ours, (dh, dhT, dcT) = _ours_with_upstream(a, 7)
    net = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(a["Wx"][:, TORCH_ORDER].T))
        net.weight_hh_l0.copy_(torch.from_numpy(a["Wh"][:, TORCH_ORDER].T))
        net.bias_ih_l0.copy_(torch.from_numpy(a["b"][TORCH_ORDER]))
        net.bias_hh_l0.zero_()
    t = torch_tensors(torch, {"x": a["x"], "h0": a["h0"], "c0": a["c0"]})
    out, (hn, cn) = net(t["x"], (t["h0"][None], t["c0"][None]))
    assert_close(out.detach().numpy(), h, "h")
    assert_close(hn[0].detach().numpy(), cache.hT, "hT")
    assert_close(cn[0].detach().numpy(), cache.cT, "cT")
    loss = (out * torch.from_numpy(dh)).sum() + (hn[0] * torch.from_numpy(dhT)).sum() \
        + (cn[0] * torch.from_numpy(dcT)).sum()
    loss.backward()
    for name in ("x", "h0", "c0"):
        assert_close(ours[name], t[name].grad.numpy(), "d" + name)
    # Back from PyTorch's i, f, g, o blocks to ours (the permutation is its own inverse).
    assert_close(ours["Wx"], net.weight_ih_l0.grad.numpy().T[:, TORCH_ORDER], "dWx")
    assert_close(ours["Wh"], net.weight_hh_l0.grad.numpy().T[:, TORCH_ORDER], "dWh")
    assert_close(ours["b"], net.bias_ih_l0.grad.numpy()[TORCH_ORDER], "db")
    assert_close(ours["b"], net.bias_hh_l0.grad.numpy()[TORCH_ORDER], "db via bias_hh")


def test_matches_a_torch_loop_of_the_design_equations():
    torch = pytest.importorskip("torch")
    a = seq_inputs()
    h, cache, ours, (dh, dhT, dcT) = _ours_with_upstream(a, 8)
    t = torch_tensors(torch, a)
    hh, cc, outs = t["h0"], t["c0"], []
    for step in range(T):
        pre = t["x"][:, step] @ t["Wx"] + hh @ t["Wh"] + t["b"]
        i, f, o, g = pre.split(H, dim=1)
        cc = torch.sigmoid(f) * cc + torch.sigmoid(i) * torch.tanh(g)
        hh = torch.sigmoid(o) * torch.tanh(cc)
        outs.append(hh)
    out = torch.stack(outs, dim=1)
    assert_close(out.detach().numpy(), h)
    ((out * torch.from_numpy(dh)).sum() + (hh * torch.from_numpy(dhT)).sum()
     + (cc * torch.from_numpy(dcT)).sum()).backward()
    for name in ours:
        assert_close(ours[name], t[name].grad.numpy(), "d" + name)


def test_step_matches_torch_lstm_cell_autograd():
    torch = pytest.importorskip("torch")
    a = step_inputs()
    rng = np.random.default_rng(9)
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    h, c, cache = lstm_step_forward(**a)
    ours = dict(zip(["x", "prev_h", "prev_c", "Wx", "Wh", "b"], lstm_step_backward(dh, dc, cache)))
    cell = torch.nn.LSTMCell(D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(a["Wx"][:, TORCH_ORDER].T))
        cell.weight_hh.copy_(torch.from_numpy(a["Wh"][:, TORCH_ORDER].T))
        cell.bias_ih.copy_(torch.from_numpy(a["b"][TORCH_ORDER]))
        cell.bias_hh.zero_()
    t = torch_tensors(torch, {"x": a["x"], "prev_h": a["prev_h"], "prev_c": a["prev_c"]})
    th, tc = cell(t["x"], (t["prev_h"], t["prev_c"]))
    assert_close(th.detach().numpy(), h, "h")
    assert_close(tc.detach().numpy(), c, "c")
    ((th * torch.from_numpy(dh)).sum() + (tc * torch.from_numpy(dc)).sum()).backward()
    for name in ("x", "prev_h", "prev_c"):
        assert_close(ours[name], t[name].grad.numpy(), "d" + name)
    assert_close(ours["Wx"], cell.weight_ih.grad.numpy().T[:, TORCH_ORDER], "dWx")
    assert_close(ours["Wh"], cell.weight_hh.grad.numpy().T[:, TORCH_ORDER], "dWh")
    assert_close(ours["b"], cell.bias_ih.grad.numpy()[TORCH_ORDER], "db")
