"""Numerical gradient checks (float64, torch.autograd.gradcheck) of every stack on tiny sizes.

Parameters, the input and the initial state are all inputs of the checked function, so the gradient of
every one of them is compared with finite differences, through outputs and final states.
"""

import pytest

torch = pytest.importorskip("torch")

from torch.autograd import gradcheck  # noqa: E402
from torch.func import functional_call  # noqa: E402

from rnnkit.torch_engine import Recurrent  # noqa: E402

N, T, D, H, L = 2, 3, 3, 2, 2


def check_stack(stack):
    torch.manual_seed(0)
    stack = stack.double()
    names = [name for name, _ in stack.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in stack.parameters()]
    layout = [len(layer) for layer in stack.init_state(N)]
    state = [torch.randn(N, H, dtype=torch.float64, requires_grad=True) for _ in range(sum(layout))]
    x = torch.randn(N, T, D, dtype=torch.float64, requires_grad=True)

    def fn(x, *args):
        weights = dict(zip(names, args[: len(names)]))
        flat = iter(args[len(names) :])
        initial = [tuple(next(flat) for _ in range(k)) for k in layout]
        out, final = functional_call(stack, weights, (x, initial))
        return (out, *[t for layer in final for t in layer])

    assert gradcheck(fn, (x, *params, *state), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize(
    "cell, kwargs",
    [
        ("rnn", {"path": "explicit"}),
        ("lstm", {"path": "explicit"}),
        ("gru", {"path": "explicit"}),
        ("lnlstm", {}),
        ("mingru", {"scan": "parallel"}),
        ("mingru", {"scan": "sequential"}),
        ("minlstm", {"scan": "parallel"}),
        ("minlstm", {"scan": "sequential"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(v.values()) or "default",
)
def test_gradcheck_cells(cell, kwargs):
    check_stack(Recurrent(cell, D, H, L, **kwargs))


@pytest.mark.parametrize(
    "cell, path", [("lstm", "explicit"), ("lstm", "fused"), ("gru", "fused"), ("lnlstm", "auto"), ("mingru", "auto")]
)
def test_gradcheck_highway(cell, path):
    check_stack(Recurrent(cell, D, H, 3, highway=True, path=path))
