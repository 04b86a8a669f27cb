"""Highway gate: every gradient (x, h, W, b) against central differences in float64, for (N, H) and
(N, T, H) inputs; the whole sequence against one step at a time; outputs, gradients and initial
values against the torch engine's HighwayGate in float64. The gate has no state, so there is no
chunked (truncated BPTT) case."""

import numpy as np
import pytest
from gradutil import assert_close, check_all_inputs, randn, torch_tensors

from rnnkit.numpy_engine.highway import highway_backward, highway_forward

N, T, H = 3, 4, 4
PARITY = 1e-9


def inputs(seed, *lead):
    rng = np.random.default_rng(seed)
    return {"x": randn(rng, *lead, H), "h": randn(rng, *lead, H), "W": randn(rng, H, H), "b": randn(rng, H) * 0.5}


def test_y_mixes_input_and_output_with_the_transform_gate():
    a = inputs(0, N, T)
    y, _ = highway_forward(**a)
    t = 1 / (1 + np.exp(-(a["x"] @ a["W"] + a["b"])))
    assert_close(y, t * a["h"] + (1 - t) * a["x"])


@pytest.mark.parametrize("lead", [(N,), (N, T)])
def test_backward_gradcheck(lead):
    a = inputs(1, *lead)
    dy = randn(np.random.default_rng(2), *lead, H)
    _, cache = highway_forward(**a)
    grads = dict(zip(a, highway_backward(dy, cache)))
    check_all_inputs(lambda **k: highway_forward(**k)[:1], a, [dy], grads)


def test_sequence_equals_one_step_at_a_time():
    a = inputs(3, N, T)
    dy = randn(np.random.default_rng(4), N, T, H)
    y, cache = highway_forward(**a)
    dx, dh, dW, db = highway_backward(dy, cache)
    dW_sum, db_sum = np.zeros_like(dW), np.zeros_like(db)
    for t in range(T):
        y_t, cache_t = highway_forward(a["x"][:, t], a["h"][:, t], a["W"], a["b"])
        assert_close(y[:, t], y_t, "y")
        dx_t, dh_t, dW_t, db_t = highway_backward(dy[:, t], cache_t)
        assert_close(dx[:, t], dx_t, "dx")
        assert_close(dh[:, t], dh_t, "dh")
        dW_sum += dW_t
        db_sum += db_t
    assert_close(dW, dW_sum, "dW")
    assert_close(db, db_sum, "db")


def test_float32_stays_float32():
    a = {k: v.astype(np.float32) for k, v in inputs(5, N, T).items()}
    y, cache = highway_forward(**a)
    assert y.dtype == np.float32
    assert all(g.dtype == np.float32 for g in highway_backward(np.ones_like(y), cache))


def gate(torch, p):
    from rnnkit.torch_engine.highway import HighwayGate

    module = HighwayGate(H).double()
    with torch.no_grad():
        module.W.copy_(torch.from_numpy(p["W"]))
        module.b.copy_(torch.from_numpy(p["b"]))
    return module


def test_matches_torch_highway_gate_autograd():
    torch = pytest.importorskip("torch")
    a = inputs(6, N, T)
    dy = randn(np.random.default_rng(7), N, T, H)
    y, cache = highway_forward(**a)
    ours = dict(zip(a, highway_backward(dy, cache)))
    module = gate(torch, a)
    t = torch_tensors(torch, {"x": a["x"], "h": a["h"]})
    out = module(t["x"], t["h"])
    assert_close(out.detach().numpy(), y, "y", PARITY)
    (out * torch.from_numpy(dy)).sum().backward()
    for name in ("x", "h"):
        assert_close(ours[name], t[name].grad.numpy(), "d" + name, PARITY)
    assert_close(ours["W"], module.W.grad.numpy(), "dW", PARITY)
    assert_close(ours["b"], module.b.grad.numpy(), "db", PARITY)
