"""GRU (PyTorch's layout, gates r, z, n): the vectorised sequence pass against a loop of steps,
every gradient against central differences in float64, and against torch.nn.GRU / nn.GRUCell
with the same weights copied in."""

import numpy as np
import pytest
from gradutil import assert_close, check_all_inputs, randn, torch_tensors

from rnnkit.numpy_engine.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward

N, T, D, H = 3, 5, 4, 6
RECURRENT = ("Wh", "h0", "prev_h")
NAMES = ["x", "h0", "Wx", "Wh", "bx", "bh"]
STEP_NAMES = ["x", "prev_h", "Wx", "Wh", "bx", "bh"]


def seq_inputs(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a = {"x": randn(rng, N, T, D), "h0": randn(rng, N, H), "Wx": randn(rng, D, 3 * H) * 0.5,
         "Wh": randn(rng, H, 3 * H) * 0.5, "bx": randn(rng, 3 * H) * 0.5, "bh": randn(rng, 3 * H) * 0.5}
    return {k: v.astype(dtype) for k, v in a.items()}


def step_inputs(seed=1):
    rng = np.random.default_rng(seed)
    return {"x": randn(rng, N, D), "prev_h": randn(rng, N, H), "Wx": randn(rng, D, 3 * H) * 0.5,
            "Wh": randn(rng, H, 3 * H) * 0.5, "bx": randn(rng, 3 * H) * 0.5, "bh": randn(rng, 3 * H) * 0.5}


def naive_forward(x, h0, Wx, Wh, bx, bh):
    h, hs = h0, []
    for t in range(x.shape[1]):
        h, _ = gru_step_forward(x[:, t], h, Wx, Wh, bx, bh)
        hs.append(h)
    return np.stack(hs, axis=1)


def test_step_forward_is_the_design_equation():
    a = step_inputs()
    h, _ = gru_step_forward(**a)
    u = a["x"] @ a["Wx"] + a["bx"]
    v = a["prev_h"] @ a["Wh"] + a["bh"]
    sig = lambda s: 1 / (1 + np.exp(-s))  # noqa: E731
    r, z = sig(u[:, :H] + v[:, :H]), sig(u[:, H:2 * H] + v[:, H:2 * H])
    n = np.tanh(u[:, 2 * H:] + r * v[:, 2 * H:])
    assert_close(h, (1 - z) * n + z * a["prev_h"])


def test_sequence_forward_equals_loop_of_steps():
    a = seq_inputs()
    h, cache = gru_forward(**a)
    want = naive_forward(**a)
    assert_close(h, want, "h")
    assert_close(cache.hT, want[:, -1], "hT")


def test_inputs_are_not_modified():
    a = seq_inputs()
    before = {k: v.copy() for k, v in a.items()}
    h, cache = gru_forward(**a)
    dh, dhT = np.ones_like(h), np.ones((N, H))
    gru_backward(dh, cache, dhT=dhT)
    for k in a:
        np.testing.assert_array_equal(a[k], before[k])
    assert np.all(dh == 1) and np.all(dhT == 1)


def test_step_backward_gradcheck():
    a = step_inputs()
    dnext = np.random.default_rng(2).standard_normal((N, H))
    _, cache = gru_step_forward(**a)
    grads = dict(zip(STEP_NAMES, gru_step_backward(dnext, cache)))
    check_all_inputs(lambda **k: (gru_step_forward(**k)[0],), a, [dnext], grads, RECURRENT)


def test_sequence_backward_gradcheck_with_gradient_into_final_state():
    a = seq_inputs()
    rng = np.random.default_rng(3)
    dh, dhT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))

    def forward(**k):
        h, cache = gru_forward(**k)
        return h, cache.hT

    _, cache = gru_forward(**a)
    grads = dict(zip(NAMES, gru_backward(dh, cache, dhT=dhT)))
    check_all_inputs(forward, a, [dh, dhT], grads, RECURRENT)


def test_sequence_backward_equals_backward_through_steps():
    a = seq_inputs()
    rng = np.random.default_rng(4)
    dh, dhT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    caches, h = [], a["h0"]
    for t in range(T):
        h, cache = gru_step_forward(a["x"][:, t], h, a["Wx"], a["Wh"], a["bx"], a["bh"])
        caches.append(cache)
    dx = np.zeros_like(a["x"])
    sums = [np.zeros_like(a[k]) for k in ("Wx", "Wh", "bx", "bh")]
    dprev = dhT
    for t in range(T - 1, -1, -1):
        dx[:, t], dprev, *weights = gru_step_backward(dh[:, t] + dprev, caches[t])
        for s, g in zip(sums, weights):
            s += g
    _, cache = gru_forward(**a)
    for name, got, want in zip(NAMES, gru_backward(dh, cache, dhT=dhT), [dx, dprev, *sums]):
        assert_close(got, want, "d" + name)


def test_float32_forward_and_backward_agree_with_float64():
    a64, a32 = seq_inputs(), seq_inputs(dtype=np.float32)
    h64, c64 = gru_forward(**a64)
    h32, c32 = gru_forward(**a32)
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, atol=1e-5)
    dh = np.random.default_rng(5).standard_normal((N, T, H))
    for g32, g64 in zip(gru_backward(dh.astype(np.float32), c32), gru_backward(dh, c64)):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, atol=1e-4)


def _copy_into(torch, module, a, suffix=""):
    with torch.no_grad():
        getattr(module, "weight_ih" + suffix).copy_(torch.from_numpy(a["Wx"].T))
        getattr(module, "weight_hh" + suffix).copy_(torch.from_numpy(a["Wh"].T))
        getattr(module, "bias_ih" + suffix).copy_(torch.from_numpy(a["bx"]))
        getattr(module, "bias_hh" + suffix).copy_(torch.from_numpy(a["bh"]))


def _weight_grads(module, suffix=""):
    return {"Wx": getattr(module, "weight_ih" + suffix).grad.numpy().T,
            "Wh": getattr(module, "weight_hh" + suffix).grad.numpy().T,
            "bx": getattr(module, "bias_ih" + suffix).grad.numpy(),
            "bh": getattr(module, "bias_hh" + suffix).grad.numpy()}


def test_matches_torch_nn_gru_autograd():
    torch = pytest.importorskip("torch")
    a = seq_inputs()
    rng = np.random.default_rng(6)
    dh, dhT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    h, cache = gru_forward(**a)
    ours = dict(zip(NAMES, gru_backward(dh, cache, dhT=dhT)))
    net = torch.nn.GRU(D, H, batch_first=True).double()
    _copy_into(torch, net, a, "_l0")
    t = torch_tensors(torch, {"x": a["x"], "h0": a["h0"]})
    out, hn = net(t["x"], t["h0"][None])
    assert_close(out.detach().numpy(), h, "h")
    assert_close(hn[0].detach().numpy(), cache.hT, "hT")
    ((out * torch.from_numpy(dh)).sum() + (hn[0] * torch.from_numpy(dhT)).sum()).backward()
    theirs = {"x": t["x"].grad.numpy(), "h0": t["h0"].grad.numpy(), **_weight_grads(net, "_l0")}
    for name in NAMES:
        assert_close(ours[name], theirs[name], "d" + name)


def test_step_matches_torch_gru_cell_autograd():
    torch = pytest.importorskip("torch")
    a = step_inputs()
    dnext = np.random.default_rng(7).standard_normal((N, H))
    h, cache = gru_step_forward(**a)
    ours = dict(zip(STEP_NAMES, gru_step_backward(dnext, cache)))
    cell = torch.nn.GRUCell(D, H).double()
    _copy_into(torch, cell, a)
    t = torch_tensors(torch, {"x": a["x"], "prev_h": a["prev_h"]})
    out = cell(t["x"], t["prev_h"])
    assert_close(out.detach().numpy(), h)
    (out * torch.from_numpy(dnext)).sum().backward()
    theirs = {"x": t["x"].grad.numpy(), "prev_h": t["prev_h"].grad.numpy(), **_weight_grads(cell)}
    for name in STEP_NAMES:
        assert_close(ours[name], theirs[name], "d" + name)
