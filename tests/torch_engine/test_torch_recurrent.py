"""The recurrent stack: shapes, parameter names, state handling and truncated BPTT."""

import pytest

torch = pytest.importorskip("torch")

from rnnkit.torch_engine import CELL_TYPES, Recurrent, detach_state  # noqa: E402

N, K, D, H, L = 2, 4, 3, 5, 2
STATE_SIZES = {"rnn": 1, "gru": 1, "mingru": 1, "minlstm": 1, "lstm": 2, "lnlstm": 2}


@pytest.mark.parametrize("cell", sorted(CELL_TYPES))
def test_shapes_and_state_layout(cell):
    stack = Recurrent(cell, D, H, L)
    out, state = stack(torch.randn(N, 2 * K, D))
    assert out.shape == (N, 2 * K, H)
    assert len(state) == L
    assert all(len(layer) == STATE_SIZES[cell] and all(t.shape == (N, H) for t in layer) for layer in state)
    assert torch.equal(out[:, -1], state[-1][0])  # the output is the top layer's h


def test_parameter_names_follow_the_shared_format():
    names = {n: tuple(p.shape) for n, p in Recurrent("gru", D, H, L, highway=True).named_parameters()}
    assert names == {
        "0.Wx": (D, 3 * H), "0.Wh": (H, 3 * H), "0.bx": (3 * H,), "0.bh": (3 * H,),
        "1.Wx": (H, 3 * H), "1.Wh": (H, 3 * H), "1.bx": (3 * H,), "1.bh": (3 * H,),
        "highway.1.W": (H, H), "highway.1.b": (H,),
    }  # fmt: skip


@pytest.mark.parametrize("highway", [False, True], ids=["plain", "highway"])
@pytest.mark.parametrize("cell", sorted(CELL_TYPES))
def test_two_chunks_with_carried_state_equal_one_long_chunk(cell, highway):
    torch.manual_seed(0)
    stack = Recurrent(cell, D, H, L, highway=highway).double()
    x = torch.randn(N, 2 * K, D, dtype=torch.float64)
    start = [tuple(torch.randn(N, H, dtype=torch.float64) for _ in layer) for layer in stack.init_state(N)]
    whole, whole_state = stack(x, start)
    first, state = stack(x[:, :K], start)
    second, state = stack(x[:, K:], detach_state(state))
    assert torch.allclose(torch.cat([first, second], dim=1), whole, atol=1e-12, rtol=0)
    for layer, whole_layer in zip(state, whole_state):
        for u, v in zip(layer, whole_layer):
            assert torch.allclose(u, v, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "lnlstm"])
def test_detach_state_cuts_the_graph_at_the_chunk_border(cell):
    torch.manual_seed(1)
    stack = Recurrent(cell, D, H, L)
    x = torch.randn(N, 2 * K, D, requires_grad=True)
    _, state = stack(x[:, :K])
    cut = detach_state(state)
    assert all(not t.requires_grad for layer in cut for t in layer)
    assert all(torch.equal(u, v) for layer, cut_layer in zip(state, cut) for u, v in zip(layer, cut_layer))
    out, _ = stack(x[:, K:], cut)
    out.sum().backward()
    assert x.grad[:, :K].abs().sum() == 0 and x.grad[:, K:].abs().sum() > 0


def test_float64_and_dtype_of_default_state():
    stack = Recurrent("lstm", D, H, L).double()
    out, state = stack(torch.randn(N, K, D, dtype=torch.float64))
    assert out.dtype == torch.float64 and state[0][1].dtype == torch.float64


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown cell"):
        Recurrent("transformer", D, H)
    with pytest.raises(ValueError, match="path"):
        Recurrent("lstm", D, H, path="cudnn")
    with pytest.raises(ValueError, match="scan"):
        Recurrent("mingru", D, H, scan="blelloch")
    stack = Recurrent("lstm", D, H, L)
    with pytest.raises(ValueError, match="layers"):
        stack(torch.randn(N, K, D), stack.init_state(N)[:1])
