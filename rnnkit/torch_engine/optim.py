"""``torch.optim`` optimizers with the NumPy engine's hyperparameters and checkpoint format.

The NumPy engine's optimizers (rnnkit/numpy_engine/optim.py) implement torch.optim's update rules
exactly; this module runs the real torch.optim ones and makes them interchangeable with those:

- hyperparameters: taken from the NumPy engine's optimizer of the same name (``make_optimizer``),
  so ``--optimizer adam`` means the same betas and eps in both engines;
- state: exported as the same named arrays, ``<slot>/<parameter name>``, and the same JSON
  (``{"name", "step", <hyperparameters>}``) that ``rnnkit.numpy_engine.optim.Optimizer.state_dict``
  writes. Slots map onto torch's state keys:

      sgd (momentum)  momentum   <-> momentum_buffer
      adagrad         sum        <-> sum
      rmsprop         square_avg <-> square_avg
      adam            m, v       <-> exp_avg, exp_avg_sq

Gradient clipping follows ``clip_grad_norm`` / ``clip_grad_value`` of the NumPy engine, which are
defined as torch.nn.utils' (the same 1e-6 in the norm clip's coefficient).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.errors import UsageError
from rnnkit.numpy_engine import optim as numpy_optim

#: numpy slot name -> torch state key, per optimizer (the NumPy engine's ``Optimizer.name``).
SLOTS = {
    "sgd": {"momentum": "momentum_buffer"},
    "adagrad": {"sum": "sum"},
    "rmsprop": {"square_avg": "square_avg"},
    "adam": {"m": "exp_avg", "v": "exp_avg_sq"},
}


def _torch_optimizer(spec: numpy_optim.Optimizer, params: list[Tensor]) -> torch.optim.Optimizer:
    """The torch.optim optimizer computing ``spec``'s update rule with its hyperparameters."""
    if isinstance(spec, numpy_optim.SGD):
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum, nesterov=spec.nesterov)
    if isinstance(spec, numpy_optim.Adagrad):
        return torch.optim.Adagrad(params, lr=spec.lr, eps=spec.eps)
    if isinstance(spec, numpy_optim.RMSprop):
        return torch.optim.RMSprop(params, lr=spec.lr, alpha=spec.alpha, eps=spec.eps)
    if isinstance(spec, numpy_optim.Adam):
        return torch.optim.Adam(params, lr=spec.lr, betas=spec.betas, eps=spec.eps, weight_decay=spec.weight_decay)
    raise ValueError(f"no torch.optim equivalent for {spec.name!r}")


class Optimizer:
    """A torch.optim optimizer over named parameters.

    Args:
        name: ``sgd``, ``momentum``, ``adagrad``, ``rmsprop`` or ``adam`` (the ``--optimizer`` names).
        lr: the base learning rate (``step`` takes each step's scheduled rate).
        params: name -> parameter, in the model's order; names key the exported state.
    """

    def __init__(self, name: str, lr: float, params: Iterable[tuple[str, nn.Parameter]]):
        try:
            self.spec = numpy_optim.make_optimizer(name, lr)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.names, self.params = map(list, zip(*params))
        self.optimizer = _torch_optimizer(self.spec, self.params)
        self.step_count = 0

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def step(self, lr: float) -> None:
        """One update of every parameter from its ``.grad``, at learning rate ``lr``."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.step_count += 1

    def state_dict(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(json, arrays) in the NumPy engine's format: arrays ``<slot>/<name>`` on the CPU."""
        js, _ = self.spec.state_dict()  # name and hyperparameters; the spec itself never steps
        js["step"] = self.step_count
        arrays = {}
        for name, p in zip(self.names, self.params):
            state = self.optimizer.state.get(p, {})
            for slot, key in SLOTS[self.spec.name].items():
                if state.get(key) is not None:
                    arrays[f"{slot}/{name}"] = np.array(state[key].detach().cpu().numpy(), order="C")
        return js, arrays

    def load_state_dict(self, js: dict, arrays: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`state_dict`'s output (or the NumPy engine's): rebuilds the torch
        optimizer with the saved hyperparameters and fills its state. Bad state is a UsageError."""
        try:
            spec = numpy_optim.make_optimizer(js["name"], js["lr"])
            spec.load_state_dict(js, arrays)  # validates names, hyperparameters and slots
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"the checkpoint's optimizer state is unusable: {exc}") from None
        unknown = {name for slot in spec.state.values() for name in slot} - set(self.names)
        if unknown:
            raise UsageError(f"the checkpoint's optimizer state names unknown parameters: {sorted(unknown)}")
        optimizer = _torch_optimizer(spec, self.params)
        state = {}
        for i, (name, p) in enumerate(zip(self.names, self.params)):
            entry = {key: torch.as_tensor(spec.state[slot][name]) for slot, key in SLOTS[spec.name].items()
                     if name in spec.state[slot]}
            if any(tuple(t.shape) != tuple(p.shape) for t in entry.values()):
                raise UsageError(f"the checkpoint's optimizer state for {name} does not fit its shape {tuple(p.shape)}")
            # In the parameter's memory layout (some are stored transposed), as a fresh run makes it.
            entry = {key: torch.empty_like(p, dtype=t.dtype, device="cpu").copy_(t) for key, t in entry.items()}
            if spec.name != "sgd":  # torch counts steps per parameter (Adam's bias correction)
                entry["step"] = torch.tensor(float(spec.step_count), dtype=torch.float32)
            state[i] = entry
        groups = [{k: v for k, v in g.items() if k != "params"} | {"params": list(range(len(self.params)))}
                  for g in optimizer.param_groups]
        optimizer.load_state_dict({"state": state, "param_groups": groups})
        self.spec, self.optimizer, self.step_count = spec, optimizer, spec.step_count


def grad_norm(params: Iterable[Tensor]) -> Tensor:
    """The global L2 norm of all gradients, sqrt(sum of squares), as a 0-d tensor."""
    norms = [torch.linalg.vector_norm(p.grad) for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms))


def clip_gradients(params: list[Tensor], clip: float, mode: str) -> Tensor:
    """Clip gradients in place as the NumPy runtime does; returns the norm it reports.

    ``mode="norm"``: scale all gradients by ``min(1, clip / (norm + 1e-6))``; returns the norm
    before clipping. ``mode="value"``: clamp every entry to [-clip, clip]; returns the norm after.
    ``clip == 0``: no clipping.
    """
    if clip and mode == "norm":
        return torch.nn.utils.clip_grad_norm_(params, clip)
    if clip:
        torch.nn.utils.clip_grad_value_(params, clip)
    return grad_norm(params)
