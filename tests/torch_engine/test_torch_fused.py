"""The fused path (PyTorch's kernels) and the explicit cell loop compute the same function.

Both paths of a stack share one set of weights; outputs, final states and the gradients with respect
to every parameter, the input and the initial state must agree to 1e-10 in float64.
"""

import pytest

torch = pytest.importorskip("torch")

from rnnkit.torch_engine import Recurrent  # noqa: E402
from rnnkit.torch_engine.fused import fused_forward  # noqa: E402
from stack_grads import outputs_and_grads  # noqa: E402

N, T, D, H, L = 3, 5, 4, 3, 3
TOL = 1e-10


def twin_stacks(cell, **kwargs):
    """A fused and an explicit stack with the same float64 weights."""
    fused = Recurrent(cell, D, H, L, path="fused", **kwargs).double()
    explicit = Recurrent(cell, D, H, L, path="explicit", **kwargs).double()
    explicit.load_state_dict(fused.state_dict())
    assert fused.uses_fused and not explicit.uses_fused
    return fused, explicit


def assert_close(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.shape == v.shape
        assert (u - v).abs().max().item() <= TOL


@pytest.mark.parametrize("highway", [False, True], ids=["plain", "highway"])
@pytest.mark.parametrize("one_hot", [False, True], ids=["dense", "ids"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fused_equals_explicit(cell, one_hot, highway):
    torch.manual_seed(0)
    fused, explicit = twin_stacks(cell, highway=highway)
    x = torch.randint(0, D, (N, T)) if one_hot else torch.randn(N, T, D, dtype=torch.float64)
    state = [tuple(torch.randn(N, H, dtype=torch.float64) for _ in layer) for layer in fused.init_state(N)]
    with torch.no_grad():
        out, final = fused(x, state)
    weights = [torch.randn_like(t) for t in [out] + [t for layer in final for t in layer]]
    fused_results, fused_grads = outputs_and_grads(fused, x, state, weights)
    explicit_results, explicit_grads = outputs_and_grads(explicit, x, state, weights)
    assert_close(fused_results, explicit_results)
    assert_close(fused_grads, explicit_grads)


def test_fused_uses_pytorch_layout_and_gate_order():
    """Our LSTM through the fused path equals nn.LSTM given the mapped weights."""
    torch.manual_seed(1)
    ours = Recurrent("lstm", D, H, 1, path="explicit").double()
    ref = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        w_ih, w_hh, b_ih, b_hh = ours.cells[0].fused_weights()
        for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), (w_ih, w_hh, b_ih, b_hh)):
            getattr(ref, name).copy_(value)
    x = torch.randn(N, T, D, dtype=torch.float64)
    out, [(h, c)] = ours(x)
    ref_out, (ref_h, ref_c) = ref(x)
    assert (out - ref_out).abs().max() <= TOL
    assert (c - ref_c[0]).abs().max() <= TOL


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_dropout_between_layers_only_when_training(cell):
    torch.manual_seed(2)
    fused, explicit = twin_stacks(cell, dropout=0.5)
    x = torch.randn(N, T, D, dtype=torch.float64)
    for stack in (fused, explicit):
        stack.eval()
    assert torch.allclose(fused(x)[0], explicit(x)[0], atol=TOL, rtol=0)
    fused.train()
    assert not torch.allclose(fused(x)[0], explicit(x)[0])


def test_fused_rejects_cells_without_kernel():
    with pytest.raises(ValueError):
        Recurrent("lnlstm", D, H, 1, path="fused")
    stack = Recurrent("mingru", D, H, 1)
    assert not stack.uses_fused
    with pytest.raises(ValueError):
        fused_forward(stack.cells, torch.randn(N, T, D), stack.init_state(N), 0.0, False)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_gru_and_rnn_weights_reach_the_kernel_without_a_copy(cell):
    """Stored transposed, in PyTorch's gate order: the kernel reads our parameters' own memory."""
    stack = Recurrent(cell, D, H, 1, path="fused")
    c = stack.cells[0]
    w_ih, w_hh, *_ = c.fused_weights()
    assert w_ih.is_contiguous() and w_ih.data_ptr() == c.Wx.data_ptr()
    assert w_hh.is_contiguous() and w_hh.data_ptr() == c.Wh.data_ptr()


def test_transposed_storage_exports_row_major_arrays_and_keeps_gradient_layout():
    from rnnkit.models.charlm.spec import CharLMSpec
    from rnnkit.models.charlm.torch_model import TorchCharLM

    model = TorchCharLM(CharLMSpec(cell="lstm", vocab_size=7, hidden=H, layers=2, embed_dim=4))
    assert model.rnn.cells[0].Wh.t().is_contiguous()  # the kernel's layout in memory
    arrays = model.to_arrays()
    assert all(a.flags["C_CONTIGUOUS"] for a in arrays.values())
    x = torch.randint(0, 7, (2, 5))
    model.loss(x, x)[0].backward()
    for p in model.parameters():
        assert p.grad.stride() == p.stride()  # PyTorch's gradient layout contract: no extra copies
