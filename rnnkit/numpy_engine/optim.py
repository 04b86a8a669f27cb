"""First-order optimizers and gradient clipping over a flat dict of named arrays.

A model's parameters are a ``dict[str, np.ndarray]`` (``"rnn.0.Wx"``, ``"head.b"``, ...) and its
gradients a dict with the same keys and shapes. ``step`` updates the parameter arrays *in place*,
because the model holds references to them. Per-parameter state (momentum, running averages) lives
in slots keyed by parameter name, so ``state_dict()`` exports it as arrays named ``"<slot>/<name>"``
(``"m/rnn.0.Wx"``) that a checkpoint can store as ``"optim/m/rnn.0.Wx"``.

Every update rule is the one ``torch.optim`` implements (the same bias correction and the same
place for ``eps``), so the two engines can be held to the same trajectory in float64. The hot path
writes into preallocated buffers (``np.multiply(..., out=...)``): a training step allocates no
parameter-sized arrays.

Resuming: ``make_optimizer(js["name"], js["lr"]).load_state_dict(js, arrays)`` rebuilds an
optimizer from its ``state_dict()``, hyperparameters included.
"""

from __future__ import annotations

import math

import numpy as np


class Optimizer:
    """Base class: step counting, lazily created slots, scratch buffers and (de)serialization.

    Subclasses set ``name`` (the registry name written to ``state_dict``), ``slots`` (names of the
    per-parameter state arrays), ``hyper`` (constructor arguments, restored by
    ``load_state_dict``) and implement ``_update(name, p, g, lr)``.
    """

    name = ""
    slots: tuple[str, ...] = ()
    hyper: tuple[str, ...] = ("lr",)

    def __init__(self, lr: float):
        if not lr >= 0.0:
            raise ValueError(f"learning rate must be >= 0, got {lr}")
        self.lr = float(lr)
        self.step_count = 0
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.slots}
        self._scratch: dict[np.dtype, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray],
             lr: float | None = None) -> None:
        """Apply one update to every array in ``params`` in place.

        Inputs:
        - params: name -> parameter array, any shape; updated in place.
        - grads: name -> gradient of the loss, same keys and shapes as ``params``; not modified.
        - lr: learning rate for this step only (a schedule drives it); default ``self.lr``.
        """
        if params.keys() != grads.keys():
            missing = sorted(set(params) ^ set(grads))
            raise KeyError(f"params and grads must have the same names; differing: {missing}")
        lr = self.lr if lr is None else float(lr)
        self.step_count += 1
        for name, p in params.items():
            self._update(name, p, grads[name], lr)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def _slot(self, slot: str, name: str, p: np.ndarray) -> np.ndarray:
        """The state array ``slot`` of parameter ``name``, created as zeros on first use."""
        buf = self.state[slot].get(name)
        if buf is None:
            buf = self.state[slot][name] = np.zeros_like(p)
        elif buf.shape != p.shape:
            raise ValueError(f"optimizer state {slot}/{name} has shape {buf.shape}, "
                             f"parameter has {p.shape}")
        elif buf.dtype != p.dtype:
            # State loaded from a checkpoint written at another precision: convert once.
            buf = self.state[slot][name] = buf.astype(p.dtype)
        return buf

    def _tmp(self, p: np.ndarray, k: int = 0) -> np.ndarray:
        """Scratch buffer ``k`` shaped like ``p``: a view into one flat array per dtype, grown to
        twice the largest parameter so the update rules need no fresh allocations."""
        buf = self._scratch.get(p.dtype)
        if buf is None or buf.size < 2 * p.size:
            buf = self._scratch[p.dtype] = np.empty(2 * p.size, dtype=p.dtype)
        return buf[k * p.size:(k + 1) * p.size].reshape(p.shape)

    def _descend(self, p: np.ndarray, direction: np.ndarray, lr: float, tmp: np.ndarray) -> None:
        """p -= lr * direction, through ``tmp`` (which may be ``direction`` itself)."""
        np.multiply(direction, lr, out=tmp)
        np.subtract(p, tmp, out=p)

    def state_dict(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Returns (json_dict, arrays): name, hyperparameters and step count as JSON-able values,
        and the slot arrays as ``{"<slot>/<param name>": array}`` (copies)."""
        js = {"name": self.name, "step": self.step_count}
        for key in self.hyper:
            value = getattr(self, key)
            js[key] = list(value) if isinstance(value, tuple) else value
        arrays = {f"{slot}/{name}": buf.copy()
                  for slot, bufs in self.state.items() for name, buf in bufs.items()}
        return js, arrays

    def load_state_dict(self, js: dict, arrays: dict[str, np.ndarray]) -> None:
        """Restore hyperparameters, step count and slot arrays written by ``state_dict``."""
        if js.get("name") != self.name:
            raise ValueError(f"optimizer state is for {js.get('name')!r}, not {self.name!r}")
        checked = type(self)(**{key: js[key] for key in self.hyper})  # validates the values
        state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.slots}
        for key, value in arrays.items():
            slot, _, name = key.partition("/")
            if slot not in state or not name:
                raise ValueError(f"unknown optimizer state array {key!r} for {self.name}")
            state[slot][name] = np.array(value, copy=True)
        for key in self.hyper:
            setattr(self, key, getattr(checked, key))
        self.step_count = int(js["step"])
        self.state = state


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as torch.optim.SGD.

        without momentum:  p <- p - lr * g
        with momentum mu:  buf <- mu * buf + g          (buf starts at 0, so buf_1 = g_1)
                           d   <- g + mu * buf  if nesterov  else  buf
                           p   <- p - lr * d
    """

    name = "sgd"
    slots = ("momentum",)
    hyper = ("lr", "momentum", "nesterov")

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False):
        if not momentum >= 0.0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        if nesterov and momentum == 0.0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        super().__init__(lr)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _update(self, name, p, g, lr):
        tmp = self._tmp(p)
        if self.momentum == 0.0:
            self._descend(p, g, lr, tmp)
            return
        buf = self._slot("momentum", name, p)
        np.multiply(buf, self.momentum, out=buf)
        np.add(buf, g, out=buf)
        if self.nesterov:
            np.multiply(buf, self.momentum, out=tmp)
            np.add(tmp, g, out=tmp)
            self._descend(p, tmp, lr, tmp)
        else:
            self._descend(p, buf, lr, tmp)


class Adagrad(Optimizer):
    """Adagrad, as torch.optim.Adagrad (no lr decay, accumulator starting at 0).

        s <- s + g * g
        p <- p - lr * g / (sqrt(s) + eps)
    """

    name = "adagrad"
    slots = ("sum",)
    hyper = ("lr", "eps")

    def __init__(self, lr: float, eps: float = 1e-10):
        if not eps >= 0.0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        super().__init__(lr)
        self.eps = float(eps)

    def _update(self, name, p, g, lr):
        s, tmp = self._slot("sum", name, p), self._tmp(p)
        np.multiply(g, g, out=tmp)
        np.add(s, tmp, out=s)
        np.sqrt(s, out=tmp)
        np.add(tmp, self.eps, out=tmp)
        np.divide(g, tmp, out=tmp)
        self._descend(p, tmp, lr, tmp)


class RMSprop(Optimizer):
    """RMSprop, as torch.optim.RMSprop (not centered, no momentum); note eps outside the sqrt.

        v <- alpha * v + (1 - alpha) * g * g
        p <- p - lr * g / (sqrt(v) + eps)
    """

    name = "rmsprop"
    slots = ("square_avg",)
    hyper = ("lr", "alpha", "eps")

    def __init__(self, lr: float, alpha: float = 0.99, eps: float = 1e-8):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if not eps >= 0.0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        super().__init__(lr)
        self.alpha = float(alpha)
        self.eps = float(eps)

    def _update(self, name, p, g, lr):
        v, tmp = self._slot("square_avg", name, p), self._tmp(p)
        np.multiply(v, self.alpha, out=v)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 1.0 - self.alpha, out=tmp)
        np.add(v, tmp, out=v)
        np.sqrt(v, out=tmp)
        np.add(tmp, self.eps, out=tmp)
        np.divide(g, tmp, out=tmp)
        self._descend(p, tmp, lr, tmp)


class Adam(Optimizer):
    """Adam, as torch.optim.Adam (L2 weight decay added to the gradient, not AdamW's).

    At step t = 1, 2, ...:
        g <- g + weight_decay * p
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g * g
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    name = "adam"
    slots = ("m", "v")
    hyper = ("lr", "betas", "eps", "weight_decay")

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        beta1, beta2 = (float(b) for b in betas)
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        if not eps >= 0.0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        super().__init__(lr)
        self.betas = (beta1, beta2)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def _update(self, name, p, g, lr):
        beta1, beta2 = self.betas
        m, v = self._slot("m", name, p), self._slot("v", name, p)
        tmp = self._tmp(p, 0)
        if self.weight_decay != 0.0:
            g_wd = self._tmp(p, 1)
            np.multiply(p, self.weight_decay, out=g_wd)
            np.add(g, g_wd, out=g_wd)
            g = g_wd
        np.multiply(m, beta1, out=m)
        np.multiply(g, 1.0 - beta1, out=tmp)
        np.add(m, tmp, out=m)
        np.multiply(v, beta2, out=v)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 1.0 - beta2, out=tmp)
        np.add(v, tmp, out=v)
        t = self.step_count
        step_size = lr / (1.0 - beta1 ** t)
        np.sqrt(v, out=tmp)
        np.divide(tmp, math.sqrt(1.0 - beta2 ** t), out=tmp)
        np.add(tmp, self.eps, out=tmp)
        np.divide(m, tmp, out=tmp)
        self._descend(p, tmp, step_size, tmp)


_REGISTRY = {
    "sgd": lambda lr, **kw: SGD(lr, **kw),
    "momentum": lambda lr, **kw: SGD(lr, **{"momentum": 0.9, **kw}),
    "adagrad": lambda lr, **kw: Adagrad(lr, **kw),
    "rmsprop": lambda lr, **kw: RMSprop(lr, **kw),
    "adam": lambda lr, **kw: Adam(lr, **kw),
}
OPTIMIZERS = tuple(_REGISTRY)


def make_optimizer(name: str, lr: float, **kw) -> Optimizer:
    """Build an optimizer by registry name: sgd, momentum (SGD with momentum 0.9), adagrad,
    rmsprop, adam. Extra keyword arguments go to the constructor."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}") from None
    return factory(lr, **kw)


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """sqrt(sum over arrays of sum(g ** 2)): the L2 norm of all gradients as one vector."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale all gradients in place so their global L2 norm is at most ``max_norm``.

        total = sqrt(sum over arrays of sum(g ** 2))
        g <- g * min(1, max_norm / (total + 1e-6))

    Same semantics as ``torch.nn.utils.clip_grad_norm_`` (including its 1e-6, and a non-finite
    total turning every gradient non-finite rather than raising). Returns the norm before clipping.
    """
    total = global_norm(grads)
    coef = max_norm / (total + 1e-6)
    # Written so that a NaN coefficient still multiplies, as torch's clamp(max=1) lets NaN through.
    if not coef >= 1.0:
        for g in grads.values():
            np.multiply(g, coef, out=g)
    return total


def clip_grad_value(grads: dict[str, np.ndarray], clip: float) -> None:
    """Clamp every gradient entry to [-clip, clip] in place, as ``torch.nn.utils.clip_grad_value_``."""
    if not clip >= 0.0:
        raise ValueError(f"clip must be >= 0, got {clip}")
    for g in grads.values():
        np.clip(g, -clip, clip, out=g)
