"""minGRU and minLSTM: every gradient (x, h0, Wx, b and the gradient flowing into hT) against central
differences in float64; the sequence against a loop of steps; two chunks with carried state against
one; and outputs and gradients against the torch engine's MinGRUCell / MinLSTMCell (parallel scan and
sequential loop) in float64. Also g and its derivative, and the minLSTM's normalised gates where
both gates underflow."""

import numpy as np
import pytest
from gradutil import assert_close, check_all_inputs, randn, torch_tensors

from rnnkit.numpy_engine import minrnn

N, T, D, H = 3, 4, 3, 4
CELLS = {"mingru": 2, "minlstm": 3}
PARITY = 1e-9


def fn(cell, name):
    """The cell's public function, e.g. fn("mingru", "forward") is minrnn.mingru_forward."""
    return getattr(minrnn, f"{cell}_{name}")


def seq_inputs(cell, seed=0, steps=T):
    rng = np.random.default_rng(seed)
    G = CELLS[cell]
    # Pre-activations of size ~1.5: both branches of g and gates far from 0.5 both occur.
    return {"x": randn(rng, N, steps, D), "h0": randn(rng, N, H), "Wx": randn(rng, D, G * H),
            "b": randn(rng, G * H) * 0.5}


def upstream(seed, steps=T):
    rng = np.random.default_rng(seed)
    return randn(rng, N, steps, H), randn(rng, N, H)


def test_softplus_is_stable_and_exact():
    u = np.array([-800.0, -30.0, -1.0, 0.0, 2.5, 30.0, 800.0])
    with np.errstate(over="raise", invalid="raise"):  # exp underflowing to 0 is intended
        assert_close(minrnn.softplus(u), np.logaddexp(0.0, u), tol=1e-15)


def test_g_and_its_derivative():
    v = np.array([-30.0, -2.0, -0.3, 0.2, 1.5, 40.0])
    g, dg = minrnn.g_and_derivative(v)
    assert_close(g, np.where(v >= 0, v + 0.5, 1 / (1 + np.exp(-v))))
    eps = 1e-6
    numerical = (minrnn.g_and_derivative(v + eps)[0] - minrnn.g_and_derivative(v - eps)[0]) / (2 * eps)
    assert_close(dg, numerical, tol=1e-8)
    assert minrnn.g_and_derivative(np.array([0.0]))[0][0] == 0.5  # continuous at 0, always > 0


@pytest.mark.parametrize("cell", CELLS)
def test_step_backward_gradcheck(cell):
    a = seq_inputs(cell, 1)
    a = {"x": a["x"][:, 0], "prev_h": a["h0"], "Wx": a["Wx"], "b": a["b"]}
    dh, _ = upstream(2)
    _, cache = fn(cell, "step_forward")(**a)
    grads = dict(zip(a, fn(cell, "step_backward")(dh[:, 0], cache)))
    check_all_inputs(lambda **k: fn(cell, "step_forward")(**k)[:1], a, [dh[:, 0]], grads, ("prev_h",))


@pytest.mark.parametrize("cell", CELLS)
def test_sequence_backward_gradcheck_with_dhT_and_h0(cell):
    a = seq_inputs(cell)
    dh, dhT = upstream(3)

    def forward(**k):
        h, cache = fn(cell, "forward")(**k)
        return h, cache.hT

    _, cache = fn(cell, "forward")(**a)
    grads = dict(zip(a, fn(cell, "backward")(dh, cache, dhT=dhT)))
    check_all_inputs(forward, a, [dh, dhT], grads, ("h0",))


@pytest.mark.parametrize("cell", CELLS)
def test_sequence_equals_loop_of_steps_forward_and_backward(cell):
    a = seq_inputs(cell)
    dh, dhT = upstream(4)
    h, caches, hs = a["h0"], [], []
    for t in range(T):
        h, cache = fn(cell, "step_forward")(a["x"][:, t], h, a["Wx"], a["b"])
        caches.append(cache)
        hs.append(h)
    h_seq, cache_seq = fn(cell, "forward")(**a)
    assert_close(h_seq, np.stack(hs, axis=1), "h")
    dx, dWx, db, dprev_h = np.zeros_like(a["x"]), np.zeros_like(a["Wx"]), np.zeros_like(a["b"]), dhT
    for t in range(T - 1, -1, -1):
        dx[:, t], dprev_h, gWx, gb = fn(cell, "step_backward")(dh[:, t] + dprev_h, caches[t])
        dWx += gWx
        db += gb
    for name, got, want in zip(("dx", "dh0", "dWx", "db"), fn(cell, "backward")(dh, cache_seq, dhT=dhT),
                               (dx, dprev_h, dWx, db)):
        assert_close(got, want, name)


@pytest.mark.parametrize("cell", CELLS)
def test_two_chunks_with_carried_state_equal_one_chunk(cell):
    k = 2
    a = seq_inputs(cell, steps=2 * k)
    dh, dhT = upstream(5, steps=2 * k)
    forward, backward = fn(cell, "forward"), fn(cell, "backward")
    h_full, c_full = forward(**a)
    h1, c1 = forward(a["x"][:, :k], a["h0"], a["Wx"], a["b"])
    h2, c2 = forward(a["x"][:, k:], c1.hT, a["Wx"], a["b"])
    assert_close(np.concatenate([h1, h2], axis=1), h_full, "h")
    assert_close(c2.hT, c_full.hT, "hT")
    # Exact BPTT across the border: chunk 2's gradient on its initial state enters chunk 1 as dhT.
    dx2, dh0_2, dWx2, db2 = backward(dh[:, k:], c2, dhT=dhT)
    dx1, dh0_1, dWx1, db1 = backward(dh[:, :k], c1, dhT=dh0_2)
    dx, dh0, dWx, db = backward(dh, c_full, dhT=dhT)
    assert_close(np.concatenate([dx1, dx2], axis=1), dx, "dx")
    assert_close(dh0_1, dh0, "dh0")
    assert_close(dWx1 + dWx2, dWx, "dWx")
    assert_close(db1 + db2, db, "db")


@pytest.mark.parametrize("cell", CELLS)
def test_recurrence_interface_for_the_stack(cell):
    a = seq_inputs(cell)
    proj = np.ascontiguousarray((a["x"] @ a["Wx"] + a["b"]).swapaxes(0, 1))  # (T, N, G*H)
    hs, cache = fn(cell, "recurrence_forward")(proj, a["h0"])
    h, seq_cache = fn(cell, "forward")(**a)
    assert hs.shape == (T, N, H)
    assert_close(hs, h.swapaxes(0, 1))
    dh, dhT = upstream(6)
    dproj, dh0 = fn(cell, "recurrence_backward")(np.ascontiguousarray(dh.swapaxes(0, 1)), cache, dhT)
    dx, dh0_want, _, db = fn(cell, "backward")(dh, seq_cache, dhT=dhT)
    assert dproj.shape == (T, N, CELLS[cell] * H)
    assert_close(dproj.sum(axis=(0, 1)), db, "db")
    assert_close(np.einsum("tnk,dk->ntd", dproj, a["Wx"]), dx, "dx")
    assert_close(dh0, dh0_want, "dh0")


@pytest.mark.parametrize("cell", CELLS)
def test_inputs_are_not_modified_and_float32_stays_float32(cell):
    a = seq_inputs(cell)
    before = {k: v.copy() for k, v in a.items()}
    dh, dhT = upstream(7)
    h, cache = fn(cell, "forward")(**a)
    g64 = fn(cell, "backward")(dh, cache, dhT=dhT)
    for k in a:
        np.testing.assert_array_equal(a[k], before[k])
    h32, cache32 = fn(cell, "forward")(**{k: v.astype(np.float32) for k, v in a.items()})
    g32 = fn(cell, "backward")(dh.astype(np.float32), cache32, dhT=dhT.astype(np.float32))
    assert h32.dtype == np.float32 and all(g.dtype == np.float32 for g in g32)
    np.testing.assert_allclose(h32, h, atol=1e-5)
    for g, want in zip(g32, g64):
        np.testing.assert_allclose(g, want, atol=1e-4)


def test_minlstm_gates_stay_finite_where_both_underflow():
    # f = sigmoid(-800) = i = 0 in float64: f / (f + i) would be 0 / 0; i / (f + i) = sigmoid(-1) here.
    proj = np.concatenate([np.full((1, 1, H), -800.0), np.full((1, 1, H), -801.0), np.zeros((1, 1, H))], axis=2)
    hs, cache = minrnn.minlstm_recurrence_forward(proj, np.ones((1, H)))
    i_n = 1 / (1 + np.exp(1.0))
    assert_close(hs[0], np.full((1, H), (1 - i_n) + i_n * 0.5))
    dproj, dh0 = minrnn.minlstm_recurrence_backward(np.ones((1, 1, H)), cache)
    assert np.all(np.isfinite(dproj)) and np.all(np.isfinite(dh0))


def torch_class(cell):
    from rnnkit.torch_engine.minrnn import MinGRUCell, MinLSTMCell

    return {"mingru": MinGRUCell, "minlstm": MinLSTMCell}[cell]


def torch_cell(torch, cell, scan, p):
    module = torch_class(cell)(D, H, scan=scan).double()
    with torch.no_grad():
        for name, param in module.named_parameters():
            param.copy_(torch.from_numpy(p[name]))
    return module


@pytest.mark.parametrize("scan", ["parallel", "sequential"])
@pytest.mark.parametrize("cell", CELLS)
def test_matches_torch_cell_autograd(cell, scan):
    torch = pytest.importorskip("torch")
    a = seq_inputs(cell)
    dh, dhT = upstream(8)
    h, cache = fn(cell, "forward")(**a)
    ours = dict(zip(a, fn(cell, "backward")(dh, cache, dhT=dhT)))
    module = torch_cell(torch, cell, scan, a)
    t = torch_tensors(torch, {"x": a["x"], "h0": a["h0"]})
    out, (hT,) = module(t["x"], (t["h0"],))
    assert_close(out.detach().numpy(), h, "h", PARITY)
    ((out * torch.from_numpy(dh)).sum() + (hT * torch.from_numpy(dhT)).sum()).backward()
    for name in ("x", "h0"):
        assert_close(ours[name], t[name].grad.numpy(), "d" + name, PARITY)
    for name, param in module.named_parameters():
        assert_close(ours[name], param.grad.numpy(), "d" + name, PARITY)
