"""Layer-normalised LSTM: every gradient (inputs, initial states, the ten parameters, and gradients
flowing into hT and cT) against central differences in float64; the sequence against a loop of steps;
two chunks with carried state against one; and outputs and gradients against the torch engine's
LNLSTMCell (autograd) in float64."""

import numpy as np
import pytest
from gradutil import assert_close, check_all_inputs, randn, torch_tensors

from rnnkit.numpy_engine.lnlstm import (
    layer_norm, lnlstm_backward, lnlstm_forward, lnlstm_recurrence_backward,
    lnlstm_recurrence_forward, lnlstm_step_backward, lnlstm_step_forward,
)

N, T, D, H = 3, 4, 3, 4
RECURRENT = ("Wh", "h0", "c0", "prev_h", "prev_c")
PARAMS = ("Wx", "Wh", "b", "gx", "gh", "gc", "bc")
PARITY = 1e-9


def params(rng):
    # Gains near but not at 1, so that a gradient mixing up gx, gh and gc cannot pass.
    return {"Wx": randn(rng, D, 4 * H) * 0.5, "Wh": randn(rng, H, 4 * H) * 0.5, "b": randn(rng, 4 * H) * 0.5,
            "gx": 1 + 0.3 * randn(rng, 4 * H), "gh": 1 + 0.3 * randn(rng, 4 * H),
            "gc": 1 + 0.3 * randn(rng, H), "bc": randn(rng, H) * 0.3}


def seq_inputs(seed=0, steps=T):
    rng = np.random.default_rng(seed)
    return {"x": randn(rng, N, steps, D), "h0": randn(rng, N, H), "c0": randn(rng, N, H), **params(rng)}


def step_inputs(seed=1):
    rng = np.random.default_rng(seed)
    return {"x": randn(rng, N, D), "prev_h": randn(rng, N, H), "prev_c": randn(rng, N, H), **params(rng)}


def upstream(seed, steps=T):
    rng = np.random.default_rng(seed)
    return randn(rng, N, steps, H), randn(rng, N, H), randn(rng, N, H)


def forward_with_final_states(**k):
    h, cache = lnlstm_forward(**k)
    return h, cache.hT, cache.cT


def test_layer_norm_has_zero_mean_unit_variance_with_eps():
    v = randn(np.random.default_rng(2), N, 4 * H) * 3 + 1
    n, rstd = layer_norm(v)
    assert_close(n.mean(axis=1), np.zeros(N))
    assert_close(n.var(axis=1) * (v.var(axis=1) + 1e-5), v.var(axis=1))
    assert_close(rstd[:, 0], 1 / np.sqrt(v.var(axis=1) + 1e-5))


def test_step_backward_gradcheck():
    a = step_inputs()
    dh, dc, _ = upstream(3)
    _, _, cache = lnlstm_step_forward(**a)
    grads = lnlstm_step_backward(dh[:, 0], dc, cache)
    assert grads.keys() == a.keys()
    check_all_inputs(lambda **k: lnlstm_step_forward(**k)[:2], a, [dh[:, 0], dc], grads, RECURRENT)


def test_sequence_backward_gradcheck_with_dhT_dcT_h0_c0():
    a = seq_inputs()
    dh, dhT, dcT = upstream(4)
    _, cache = lnlstm_forward(**a)
    grads = lnlstm_backward(dh, cache, dhT=dhT, dcT=dcT)
    assert grads.keys() == a.keys()
    check_all_inputs(forward_with_final_states, a, [dh, dhT, dcT], grads, RECURRENT)


def test_a_corrupted_gradient_fails_the_check():
    a = seq_inputs()
    dh, dhT, dcT = upstream(4)
    _, cache = lnlstm_forward(**a)
    grads = lnlstm_backward(dh, cache, dhT=dhT, dcT=dcT)
    grads = {"gc": grads["gc"].copy()}
    grads["gc"][1] *= 1.001
    with pytest.raises(AssertionError, match="gc"):
        check_all_inputs(forward_with_final_states, a, [dh, dhT, dcT], grads)


def test_sequence_equals_loop_of_steps_forward_and_backward():
    a = seq_inputs()
    p = {k: a[k] for k in PARAMS}
    dh, dhT, dcT = upstream(5)
    h, c, caches, hs = a["h0"], a["c0"], [], []
    for t in range(T):
        h, c, cache = lnlstm_step_forward(a["x"][:, t], h, c, **p)
        caches.append(cache)
        hs.append(h)
    h_seq, cache_seq = lnlstm_forward(**a)
    assert_close(h_seq, np.stack(hs, axis=1), "h")
    assert_close(cache_seq.cT, c, "cT")

    want = {k: np.zeros_like(v) for k, v in a.items()}
    dprev_h, dprev_c = dhT, dcT
    for t in range(T - 1, -1, -1):
        g = lnlstm_step_backward(dh[:, t] + dprev_h, dprev_c, caches[t])
        want["x"][:, t] = g["x"]
        dprev_h, dprev_c = g["prev_h"], g["prev_c"]
        for k in PARAMS:
            want[k] += g[k]
    want["h0"], want["c0"] = dprev_h, dprev_c
    got = lnlstm_backward(dh, cache_seq, dhT=dhT, dcT=dcT)
    for k in a:
        assert_close(got[k], want[k], "d" + k)


def test_two_chunks_with_carried_state_equal_one_chunk():
    k = 2
    a = seq_inputs(steps=2 * k)
    p = {n: a[n] for n in PARAMS}
    dh, dhT, dcT = upstream(6, steps=2 * k)
    h_full, c_full = lnlstm_forward(**a)
    h1, c1 = lnlstm_forward(a["x"][:, :k], a["h0"], c0=a["c0"], **p)
    h2, c2 = lnlstm_forward(a["x"][:, k:], c1.hT, c0=c1.cT, **p)
    assert_close(np.concatenate([h1, h2], axis=1), h_full, "h")
    assert_close(c2.hT, c_full.hT, "hT")
    assert_close(c2.cT, c_full.cT, "cT")
    # Exact BPTT across the border: chunk 2's gradient on its initial state enters chunk 1 as dhT, dcT.
    g2 = lnlstm_backward(dh[:, k:], c2, dhT=dhT, dcT=dcT)
    g1 = lnlstm_backward(dh[:, :k], c1, dhT=g2["h0"], dcT=g2["c0"])
    full = lnlstm_backward(dh, c_full, dhT=dhT, dcT=dcT)
    assert_close(np.concatenate([g1["x"], g2["x"]], axis=1), full["x"], "dx")
    for n in ("h0", "c0"):
        assert_close(g1[n], full[n], "d" + n)
    for n in PARAMS:
        assert_close(g1[n] + g2[n], full[n], "d" + n)


def test_recurrence_interface_for_the_stack():
    a = seq_inputs()
    p = {k: a[k] for k in PARAMS if k != "Wx"}
    xproj = np.ascontiguousarray((a["x"] @ a["Wx"]).swapaxes(0, 1))  # (T, N, 4H)
    hs, cache = lnlstm_recurrence_forward(xproj.copy(), a["h0"], a["c0"], **p)
    h, seq_cache = lnlstm_forward(**a)
    assert hs.shape == (T, N, H) and cache.cs.shape == (T, N, H)
    assert_close(hs, h.swapaxes(0, 1))
    assert_close(cache.cs[-1], seq_cache.cT)
    dh, dhT, dcT = upstream(7)
    dxproj, dh0, dc0, grads = lnlstm_recurrence_backward(np.ascontiguousarray(dh.swapaxes(0, 1)), cache, dhT, dcT)
    assert dxproj.shape == (T, N, 4 * H) and set(grads) == {"Wh", "b", "gx", "gh", "gc", "bc"}
    full = lnlstm_backward(dh, seq_cache, dhT=dhT, dcT=dcT)
    assert_close(np.einsum("tnk,dk->ntd", dxproj, a["Wx"]), full["x"], "dx")
    assert_close(dh0, full["h0"])
    assert_close(dc0, full["c0"])


def test_inputs_are_not_modified_and_float32_stays_float32():
    a = seq_inputs()
    before = {k: v.copy() for k, v in a.items()}
    dh, dhT, dcT = upstream(8)
    h, cache = lnlstm_forward(**a)
    g64 = lnlstm_backward(dh, cache, dhT=dhT, dcT=dcT)
    for k in a:
        np.testing.assert_array_equal(a[k], before[k])
    f32 = {k: v.astype(np.float32) for k, v in a.items()}
    h32, cache32 = lnlstm_forward(**f32)
    g32 = lnlstm_backward(dh.astype(np.float32), cache32, dhT=dhT.astype(np.float32), dcT=dcT.astype(np.float32))
    assert h32.dtype == np.float32 and all(v.dtype == np.float32 for v in g32.values())
    np.testing.assert_allclose(h32, h, atol=1e-5)
    for k in a:
        np.testing.assert_allclose(g32[k], g64[k], atol=1e-4, err_msg=k)


def torch_cell(torch, p):
    from rnnkit.torch_engine.lnlstm import LNLSTMCell

    cell = LNLSTMCell(D, H).double()
    with torch.no_grad():
        for name, param in cell.named_parameters():
            param.copy_(torch.from_numpy(p[name]))
    return cell


def test_matches_torch_lnlstm_cell_autograd():
    torch = pytest.importorskip("torch")
    a = seq_inputs()
    dh, dhT, dcT = upstream(9)
    h, cache = lnlstm_forward(**a)
    ours = lnlstm_backward(dh, cache, dhT=dhT, dcT=dcT)
    cell = torch_cell(torch, a)
    t = torch_tensors(torch, {"x": a["x"], "h0": a["h0"], "c0": a["c0"]})
    out, (hT, cT) = cell(t["x"], (t["h0"], t["c0"]))
    assert_close(out.detach().numpy(), h, "h", PARITY)
    assert_close(cT.detach().numpy(), cache.cT, "cT", PARITY)
    ((out * torch.from_numpy(dh)).sum() + (hT * torch.from_numpy(dhT)).sum()
     + (cT * torch.from_numpy(dcT)).sum()).backward()
    for name in ("x", "h0", "c0"):
        assert_close(ours[name], t[name].grad.numpy(), "d" + name, PARITY)
    for name, param in cell.named_parameters():
        assert_close(ours[name], param.grad.numpy(), "d" + name, PARITY)
