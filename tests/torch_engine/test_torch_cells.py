"""Each cell computes the equations of docs/numpy_engine.md (and of its paper), written out again here."""

import pytest

torch = pytest.importorskip("torch")

from rnnkit.torch_engine import CELL_TYPES, GRUCell, LNLSTMCell, LSTMCell, MinGRUCell, MinLSTMCell, RNNCell  # noqa: E402

N, D, H = 3, 4, 5
sig, tanh = torch.sigmoid, torch.tanh


def layer_norm(v, gain, bias=0.0, eps=1e-5):
    mean = v.mean(-1, keepdim=True)
    var = ((v - mean) ** 2).mean(-1, keepdim=True)
    return (v - mean) / torch.sqrt(var + eps) * gain + bias


def g(v):
    return torch.where(v >= 0, v + 0.5, sig(v))


def one_step(cell, x, state):
    """The cell's explicit forward on a sequence of length 1."""
    out, new = cell(x[:, None], state)
    assert torch.equal(out[:, 0], new[0])
    return new


@pytest.fixture
def data():
    torch.manual_seed(0)
    x = torch.randn(N, D, dtype=torch.float64)
    h = torch.randn(N, H, dtype=torch.float64)
    c = torch.randn(N, H, dtype=torch.float64)
    return x, h, c


def test_rnn_step(data):
    x, h, _ = data
    cell = RNNCell(D, H).double()
    (h1,) = one_step(cell, x, (h,))
    assert torch.allclose(h1, tanh(x @ cell.Wx + h @ cell.Wh + cell.b))


def test_lstm_step_gate_order_ifog(data):
    x, h, c = data
    cell = LSTMCell(D, H).double()
    a = x @ cell.Wx + h @ cell.Wh + cell.b
    i, f, o, gg = (a[:, k * H : (k + 1) * H] for k in range(4))
    c_ref = sig(f) * c + sig(i) * tanh(gg)
    h1, c1 = one_step(cell, x, (h, c))
    assert torch.allclose(c1, c_ref)
    assert torch.allclose(h1, sig(o) * tanh(c_ref))


def test_lstm_biases_start_at_zero_as_in_the_numpy_engine():
    assert torch.equal(LSTMCell(D, H).b.detach(), torch.zeros(4 * H))


def test_gru_step_two_biases(data):
    x, h, _ = data
    cell = GRUCell(D, H).double()
    with torch.no_grad():
        cell.bx.normal_()
        cell.bh.normal_()
    Wx, Wh, bx, bh = cell.Wx, cell.Wh, cell.bx, cell.bh
    r = sig(x @ Wx[:, :H] + bx[:H] + h @ Wh[:, :H] + bh[:H])
    z = sig(x @ Wx[:, H : 2 * H] + bx[H : 2 * H] + h @ Wh[:, H : 2 * H] + bh[H : 2 * H])
    n = tanh(x @ Wx[:, 2 * H :] + bx[2 * H :] + r * (h @ Wh[:, 2 * H :] + bh[2 * H :]))
    (h1,) = one_step(cell, x, (h,))
    assert torch.allclose(h1, (1 - z) * n + z * h)


def test_lnlstm_step(data):
    x, h, c = data
    cell = LNLSTMCell(D, H).double()
    with torch.no_grad():
        for p in (cell.gx, cell.gh, cell.gc, cell.bc, cell.b):
            p.normal_()
    a = layer_norm(x @ cell.Wx, cell.gx) + layer_norm(h @ cell.Wh, cell.gh) + cell.b
    i, f, o, gg = (a[:, k * H : (k + 1) * H] for k in range(4))
    c_ref = sig(f) * c + sig(i) * tanh(gg)
    h1, c1 = one_step(cell, x, (h, c))
    assert torch.allclose(c1, c_ref)
    assert torch.allclose(h1, sig(o) * tanh(layer_norm(c_ref, cell.gc, cell.bc)))


@pytest.mark.parametrize("scan", ["parallel", "sequential"])
def test_mingru_step(data, scan):
    x, h, _ = data
    cell = MinGRUCell(D, H, scan=scan).double()
    k = x @ cell.Wx + cell.b
    z, h_tilde = sig(k[:, :H]), g(k[:, H:])
    (h1,) = one_step(cell, x, (h,))
    assert torch.allclose(h1, (1 - z) * h + z * h_tilde)


@pytest.mark.parametrize("scan", ["parallel", "sequential"])
def test_minlstm_step(data, scan):
    x, h, _ = data
    cell = MinLSTMCell(D, H, scan=scan).double()
    k = x @ cell.Wx + cell.b
    f, i, h_tilde = sig(k[:, :H]), sig(k[:, H : 2 * H]), g(k[:, 2 * H :])
    (h1,) = one_step(cell, x, (h,))
    assert torch.allclose(h1, f / (f + i) * h + i / (f + i) * h_tilde)


@pytest.mark.parametrize("kind", sorted(CELL_TYPES))
def test_ids_are_one_hot_rows(kind):
    """Integer input gathers rows of Wx: the same as multiplying one-hot vectors."""
    torch.manual_seed(1)
    cell = CELL_TYPES[kind](D, H).double()
    ids = torch.randint(0, D, (N, 6))
    one_hot = torch.nn.functional.one_hot(ids, D).double()
    state = cell.init_state(N)
    out_ids, _ = cell(ids, state)
    out_dense, _ = cell(one_hot, state)
    assert out_ids.shape == (N, 6, H)
    assert torch.allclose(out_ids, out_dense, atol=1e-12, rtol=0)
