"""Gradient checks of the recurrent attention models (RAM, DRAM): rows of the ``rnnkit gradcheck``
table (rnnkit/gradchecks.py runs them with the others).

- the glimpse network through f = sum(g * dout): every weight and bias (the glimpse and the
  location are data to it, without gradient);
- the location policy's mean mu = tanh(e W + b) through f = sum(mu * dout): e, W, b;
- the whole model through its hybrid loss, RAM (LSTM, and ReLU-free rnn without ``loc_grad``) and
  DRAM (GRU), with the sampled locations and the advantage R - b held fixed (``loss(locations=...,
  advantage=...)``): what the REINFORCE gradient treats as constants.

Two stop-gradients of the hybrid loss are invisible to differences: the baseline reads the emitting
state detached, and without ``loc_grad`` so does the location mean. The whole-model checks set
baseline.W (and there loc.W) to zero, so that these paths carry no gradient at all and the
difference quotient is the gradient the model computes; the gradients on baseline.W and loc.W
themselves are still checked, and their paths are tested against torch autograd with the
``detach`` written out (tests/models/test_ram_torch.py).
"""

from __future__ import annotations

import numpy as np

from rnnkit.models.ram import parts
from rnnkit.models.ram.numpy_model import RAM, sampled_locations
from rnnkit.models.ram.spec import RAMSpec
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient, rel_error, rel_error_norm

N = 3


def _compare(analytic, numerical):
    return rel_error_norm(analytic, numerical), rel_error(analytic, numerical)


def check_glimpse_net(rng) -> dict:
    R, Hg, Hl, G = 8, 5, 4, 6
    p = {"glimpse.Wg": rng.standard_normal((R, Hg)), "glimpse.bg": rng.standard_normal(Hg) * 0.5,
         "glimpse.Wl": rng.standard_normal((2, Hl)), "glimpse.bl": rng.standard_normal(Hl) * 0.5,
         "glimpse.Wgo": rng.standard_normal((Hg, G)), "glimpse.Wlo": rng.standard_normal((Hl, G)),
         "glimpse.bo": rng.standard_normal(G) * 0.5}
    rho, loc, dout = rng.random((N, 2, 2, 2)), rng.uniform(-1, 1, (N, 2)), rng.standard_normal((N, G))
    grads: dict = {}
    parts.glimpse_net_backward(dout, parts.glimpse_net_forward(rho, loc, p)[1], p, grads)
    f = lambda _: float(np.sum(parts.glimpse_net_forward(rho, loc, p)[0] * dout))  # noqa: E731
    return {("glimpse_net", k): _compare(grads[k], eval_numerical_gradient(f, v)) for k, v in p.items()}


def check_policy(rng) -> dict:
    H = 5
    inputs = {"e": rng.standard_normal((N, H)), "W": rng.standard_normal((H, 2)) * 0.5,
              "b": rng.standard_normal(2) * 0.5}
    dout = rng.standard_normal((N, 2))
    _, _, cache = parts.policy_forward(inputs["e"], inputs["W"], inputs["b"], 0.1)
    analytic = dict(zip(("e", "W", "b"), parts.policy_backward(dout, cache, inputs["W"])))

    def f(_):
        return float(np.sum(parts.policy_forward(inputs["e"], inputs["W"], inputs["b"], 0.1)[1] * dout))

    return {("location_policy", k): _compare(analytic[k], eval_numerical_gradient(f, v)) for k, v in inputs.items()}


def check_model(rng, cell: str, dram: bool, loc_grad: bool = True) -> dict:
    spec = RAMSpec(image_size=8, classes=3, digits=2 if dram else 1, glimpses=2, patch=2, scales=2,
                   glimpse_hidden=4, loc_hidden=3, glimpse_out=4, hidden=4, dram=dram, cell=cell,
                   loc_std=0.3, loc_grad=loc_grad)
    model = RAM.create(spec, seed=int(rng.integers(1 << 30)), dtype=np.float64)
    for value in model.params.values():  # larger than at initialisation: gradients of order one
        value[...] = rng.standard_normal(value.shape) * 0.5
    model.params["baseline.W"][...] = 0.0
    if not loc_grad:
        model.params["loc.W"][...] = 0.0
    P = sampled_locations(spec)
    images, labels = rng.random((N, 8, 8)), rng.integers(0, 3, (N, spec.digits))
    locations, advantage = rng.uniform(-1.2, 1.2, (N, P, 2)), rng.standard_normal((N, P))
    _, grads, _ = model.loss(images, labels, locations=locations, advantage=advantage)
    loss = lambda _: model.loss(images, labels, locations=locations, advantage=advantage)[0]  # noqa: E731
    name = ("dram" if dram else "ram") + f" {cell}" + ("" if loc_grad else " no loc-grad")
    return {(name, k): _compare(grads[k], eval_numerical_gradient(loss, p)) for k, p in model.params.items()}


def run_glimpse(rng) -> dict:
    results = {}
    results.update(check_glimpse_net(rng))
    results.update(check_policy(rng))
    results.update(check_model(rng, "lstm", dram=False))
    results.update(check_model(rng, "rnn", dram=False, loc_grad=False))
    results.update(check_model(rng, "gru", dram=True))
    return results
