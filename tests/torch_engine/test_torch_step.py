"""``Recurrent.step`` for every cell, 2 layers, with and without highway, float64: a loop of steps
is ``forward`` (outputs, final state and every autograd gradient, fused and explicit paths), it
drops out between layers as ``forward`` does, and a closed loop (x_{t+1} = h_t A) has the gradients
of the NumPy engine's step API given the same weights."""

import numpy as np
import pytest
from gradutil import assert_close

torch = pytest.importorskip("torch")

from rnnkit.cells import CELLS  # noqa: E402
from rnnkit.numpy_engine.step import stack_step_backward, stack_step_forward  # noqa: E402
from rnnkit.recurrent_spec import RecurrentSpec  # noqa: E402
from rnnkit.torch_engine import Recurrent  # noqa: E402

N, T, D, H, L = 2, 4, 3, 4, 2
CASES = [(cell, highway) for cell in CELLS for highway in (False, True)]
TOL = 1e-10


def _stack(cell, highway, seed, path="auto"):
    """A float64 torch stack holding the shared-format weights of ``RecurrentSpec.init_params``
    (moved off their initial constants), and those arrays under their shared names."""
    spec = RecurrentSpec(cell, D, H, layers=L, highway=highway)
    rng = np.random.default_rng(seed)
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in spec.init_params(rng).items()}
    stack = Recurrent(cell, D, H, L, highway=highway, path=path).double()
    assert {"rnn." + n for n, _ in stack.named_parameters()} == set(params)
    with torch.no_grad():
        for name, p in stack.named_parameters():
            p.copy_(torch.from_numpy(params["rnn." + name]))
    return stack, spec, params


def _leaves(rng, *shape):
    return torch.tensor(rng.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("path", ["auto", "explicit"])
@pytest.mark.parametrize("cell,highway", CASES)
def test_a_loop_of_steps_is_forward(cell, highway, path):
    stack, _, _ = _stack(cell, highway, 0, path)
    rng = np.random.default_rng(1)
    x = _leaves(rng, N, T, D)
    state0 = [tuple(_leaves(rng, N, H) for _ in layer) for layer in stack.init_state(N)]
    weights = torch.from_numpy(rng.standard_normal((N, T, H)))

    def run(loop):
        stack.zero_grad()
        for leaf in [x] + [s for layer in state0 for s in layer]:
            leaf.grad = None
        if loop:
            state, hs = state0, []
            for t in range(T):
                h, state = stack.step(x[:, t], state)
                hs.append(h)
            out = torch.stack(hs, dim=1)
        else:
            out, state = stack(x, state0)
        finals = [s for layer in state for s in layer]
        ((out * weights).sum() + sum((k + 1) * s.sum() for k, s in enumerate(finals))).backward()
        grads = [p.grad for p in stack.parameters()] + [x.grad] + [s.grad for layer in state0 for s in layer]
        return [t.detach().numpy() for t in [out] + finals + grads]

    for k, (got, want) in enumerate(zip(run(True), run(False))):
        assert_close(got, want, f"result {k}", TOL)


def test_step_drops_out_between_layers_as_forward_does():
    torch.manual_seed(0)
    stack = Recurrent("lstm", D, H, L, dropout=0.5, highway=True, path="explicit").double().train()
    x = torch.randn(N, 1, D, dtype=torch.float64)
    torch.manual_seed(1)
    want, _ = stack(x)
    torch.manual_seed(1)
    got, _ = stack.step(x[:, 0])
    assert torch.equal(got, want[:, 0])
    assert not torch.equal(got, stack.eval().step(x[:, 0])[0])  # dropout did act


def _numpy_closed_loop(x0, state0, params, spec, A, ws, wf):
    """The same loop through the NumPy step API: (dx0, dstate0, grads)."""
    x, state, caches = x0, state0, []
    for t in range(T):
        h, state, cache = stack_step_forward(x, state, params, spec)
        caches.append(cache)
        x = h @ A
    grads, dstate, dx = {}, wf, np.zeros_like(x0)
    for t in reversed(range(T)):
        dx, dstate = stack_step_backward(ws[t] + dx @ A.T, dstate, caches[t], params, grads)
    return dx, dstate, grads


@pytest.mark.parametrize("cell,highway", CASES)
def test_closed_loop_gradients_match_the_numpy_step_api(cell, highway):
    stack, spec, params = _stack(cell, highway, 2)
    rng = np.random.default_rng(3)
    A, ws = rng.standard_normal((H, D)), rng.standard_normal((T, N, H))
    x0 = rng.standard_normal((N, D))
    state0 = [tuple(0.5 * rng.standard_normal((N, H)) for _ in range(spec.state_width)) for _ in range(L)]
    wf = [tuple(rng.standard_normal((N, H)) for _ in layer) for layer in state0]

    tx0 = torch.tensor(x0, requires_grad=True)
    tstate0 = [tuple(torch.tensor(s, requires_grad=True) for s in layer) for layer in state0]
    x, state, loss = tx0, tstate0, 0.0
    for t in range(T):
        h, state = stack.step(x, state)
        loss = loss + (h * torch.from_numpy(ws[t])).sum()
        x = h @ torch.from_numpy(A)
    for layer, wl in zip(state, wf):
        loss = loss + sum((s * torch.from_numpy(w)).sum() for s, w in zip(layer, wl))
    loss.backward()

    dx0, dstate0, grads = _numpy_closed_loop(x0, state0, params, spec, A, ws, wf)
    for name, p in stack.named_parameters():
        assert_close(p.grad.numpy(), grads["rnn." + name], name, TOL)
    assert_close(tx0.grad.numpy(), dx0, "x0", TOL)
    for layer in range(L):
        for k, s in enumerate(tstate0[layer]):
            assert_close(s.grad.numpy(), dstate0[layer][k], f"state0 {layer}.{k}", TOL)
