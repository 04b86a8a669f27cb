"""minGRU / minLSTM: the log-space parallel scan equals the step-by-step recurrence."""

import pytest

torch = pytest.importorskip("torch")

from rnnkit.torch_engine import Recurrent, detach_state, parallel_scan_log  # noqa: E402
from stack_grads import outputs_and_grads  # noqa: E402

N, T, D, H, L = 3, 7, 4, 5, 3
TOL = 1e-10


def loop(a, b, h0):
    h, hs = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        hs.append(h)
    return torch.stack(hs, dim=1)


@pytest.mark.parametrize("start", ["signed", "zero"])
def test_parallel_scan_log_equals_loop(start):
    torch.manual_seed(0)
    a = torch.rand(N, T, H, dtype=torch.float64) * 0.98 + 0.01
    b = torch.rand(N, T, H, dtype=torch.float64) + 0.01
    h0 = torch.randn(N, H, dtype=torch.float64) if start == "signed" else torch.zeros(N, H, dtype=torch.float64)
    h0.requires_grad_()
    h = parallel_scan_log(a.log(), b.log(), h0)
    assert (h - loop(a, b, h0)).abs().max() <= 1e-12
    h.sum().backward()
    assert torch.isfinite(h0.grad).all()
    assert torch.allclose(h0.grad, a.cumprod(dim=1).sum(dim=1))  # dh_t/dh0 = a_1 ... a_t


def twin_stacks(cell):
    parallel = Recurrent(cell, D, H, L, scan="parallel").double()
    sequential = Recurrent(cell, D, H, L, scan="sequential").double()
    sequential.load_state_dict(parallel.state_dict())
    return parallel, sequential


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_parallel_equals_sequential(cell):
    torch.manual_seed(1)
    parallel, sequential = twin_stacks(cell)
    x = torch.randn(N, T, D, dtype=torch.float64)
    state = [(torch.randn(N, H, dtype=torch.float64),) for _ in range(L)]
    weights = [torch.randn(N, T, H, dtype=torch.float64)] + [torch.randn(N, H, dtype=torch.float64) for _ in range(L)]
    a = outputs_and_grads(parallel, x, state, weights)
    b = outputs_and_grads(sequential, x, state, weights)
    for u, v in zip(a[0] + a[1], b[0] + b[1]):
        assert (u - v).abs().max() <= TOL


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_parallel_chunks_with_carried_state_equal_sequential_whole(cell):
    """TBPTT: two parallel-scanned chunks, state carried across, equal one sequential pass."""
    torch.manual_seed(2)
    parallel, sequential = twin_stacks(cell)
    x = torch.randn(N, 2 * T, D, dtype=torch.float64)
    whole, whole_state = sequential(x)
    first, state = parallel(x[:, :T])
    second, state = parallel(x[:, T:], detach_state(state))
    assert (torch.cat([first, second], dim=1) - whole).abs().max() <= TOL
    for (u,), (v,) in zip(state, whole_state):
        assert (u - v).abs().max() <= TOL


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_parallel_scan_is_stable_over_long_sequences(cell):
    """Gate products over thousands of steps underflow in linear space, not in log space: float32
    scanned in parallel stays finite and close to the float64 sequential result (the error grows
    like float32's epsilon times |sum of log a|, about 2e-4 here; see scan.py)."""
    torch.manual_seed(3)
    parallel, sequential = twin_stacks(cell)
    x = 3 * torch.randn(2, 2000, D, dtype=torch.float64)
    reference, _ = sequential(x)
    out, _ = parallel.float()(x.float())
    assert torch.isfinite(out).all()
    assert ((out.double() - reference).abs() / (reference.abs() + 1e-3)).max() < 1e-3
