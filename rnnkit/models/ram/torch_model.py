"""The recurrent attention model (RAM, DRAM) as a PyTorch module, in the shared model format.

The same function as rnnkit/models/ram/numpy_model.py (its docstring has the hybrid loss, spec.py
the equations), with autograd for the gradient. What the NumPy engine does by hand in its backward
pass is said here with ``detach``:

- the advantage R - b is a constant to the REINFORCE term, and the baseline reads the emitting
  state detached (the MSE trains only baseline.W, baseline.b);
- without ``loc_grad`` the location mean reads the emitting state detached;
- the sampled location is data: it feeds the sensor and the glimpse network without a gradient.

Sampling draws eps from torch's generator (the runtime seeds it); ``loss`` also takes the noise or
the sampled locations, so that tests can hold both engines to the same path in float64.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.ram.numpy_model import sampled_locations
from rnnkit.models.ram.spec import RAMSpec
from rnnkit.torch_engine.arrays import SharedArrays
from rnnkit.torch_engine.glimpse import coarse_view, glimpse_sensor, prepare_retina
from rnnkit.torch_engine.layers import Affine
from rnnkit.torch_engine.losses import cross_entropy_sum, softmax_loss
from rnnkit.torch_engine.recurrent import Recurrent


class GlimpseNet(nn.Module):
    """g = relu(relu(rho Wg + bg) Wgo + relu(l Wl + bl) Wlo + bo): (N, k*g*g), (N, 2) -> (N, G)."""

    def __init__(self, retina: int, what: int, where: int, out: int) -> None:
        super().__init__()

        def weight(rows, cols):
            bound = 1.0 / math.sqrt(rows)
            return nn.Parameter(torch.empty(rows, cols).uniform_(-bound, bound))

        self.Wg, self.bg = weight(retina, what), nn.Parameter(torch.zeros(what))
        self.Wl, self.bl = weight(2, where), nn.Parameter(torch.zeros(where))
        self.Wgo, self.Wlo, self.bo = weight(what, out), weight(where, out), nn.Parameter(torch.zeros(out))

    def forward(self, rho: Tensor, loc: Tensor) -> Tensor:
        hg = torch.relu(torch.addmm(self.bg, rho.reshape(rho.shape[0], -1), self.Wg))
        hl = torch.relu(torch.addmm(self.bl, loc, self.Wl))
        return torch.relu(torch.addmm(self.bo, hg, self.Wgo) + hl @ self.Wlo)


class TorchRAM(SharedArrays, nn.Module):
    """A recurrent attention model built from a :class:`RAMSpec`; ``named_parameters()`` are
    exactly ``spec.param_shapes()``, names, shapes and order. Inputs: images (N, S, S) floats,
    labels (N, D) or (N,) ints."""

    def __init__(self, spec: RAMSpec, options=None) -> None:
        super().__init__()
        self.spec = self.config = spec
        H = spec.hidden
        self.glimpse = GlimpseNet(spec.retina, spec.glimpse_hidden, spec.loc_hidden, spec.glimpse_out)
        self.rnn = Recurrent(spec.cell, spec.glimpse_out, H, path="explicit")
        self.rnn2 = Recurrent(spec.cell, H, H, path="explicit") if spec.dram else None
        self.context = Affine(spec.patch * spec.patch, H) if spec.dram else None
        self.loc, self.baseline, self.head = Affine(H, 2), Affine(H, 1), Affine(H, spec.classes)

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, nn.Parameter]]:
        """The parameters in ``spec.param_shapes()`` order (module order differs)."""
        found = dict(super().named_parameters(prefix, recurse, remove_duplicate))
        if not recurse:
            return iter(found.items())
        dot = prefix + "." if prefix else ""
        return iter([(dot + name, found[dot + name]) for name in self.spec.param_shapes()])

    def init_state(self, n: int) -> None:
        return None

    def _emit(self, e: Tensor, draw, k: int, trace: dict) -> Tensor:
        """The next location from the emitting state e (N, H): mean, sample (drawn, given as noise,
        or given outright), baseline. Returns the location clipped to the image."""
        spec = self.spec
        source = e if spec.loc_grad else e.detach()
        mu = torch.tanh(self.loc(source))
        kind, values = draw
        if kind == "locations":
            loc = values[:, k]
        elif kind == "noise":
            loc = mu.detach() + spec.loc_std * values[:, k]
        else:
            loc = mu.detach()
        trace["mus"].append(mu)
        trace["samples"].append(loc)
        trace["baselines"].append(self.baseline(e.detach())[:, 0])
        return loc.clamp(-1.0, 1.0)

    def trace(self, images: Tensor, draw=("mean", None)) -> dict:
        """Glimpse the images for T steps. ``draw``: ("mean", None), ("noise", eps (N, P, 2)) or
        ("locations", l (N, P, 2)). Returns {"scores": D tensors (N, C), "locs": (N, T, 2),
        "mus", "samples", "baselines": P tensors each}."""
        spec = self.spec
        N = images.shape[0]
        if tuple(images.shape[1:]) != (spec.image_size, spec.image_size):
            raise ValueError(f"images must be (N, {spec.image_size}, {spec.image_size}), got {tuple(images.shape)}")
        trace = {"scores": [], "locs": [], "mus": [], "samples": [], "baselines": []}
        state1, state2 = None, None
        if spec.dram:
            c = torch.relu(self.context(coarse_view(images, spec.patch).reshape(N, -1)))
            state2 = [(c,) + tuple(self.rnn2.init_state(N)[0][1:])]
            loc = self._emit(c, draw, 0, trace)
        else:
            loc = images.new_zeros(N, 2)
        retina = prepare_retina(images, spec.patch, spec.scales, spec.scale_factor)  # once for T glimpses
        for t in range(spec.steps):
            trace["locs"].append(loc)
            rho = glimpse_sensor(images, loc, spec.patch, spec.scales, spec.scale_factor, retina)
            h1, state1 = self.rnn.step(self.glimpse(rho, loc), state1)
            e = h1
            if spec.dram:
                e, state2 = self.rnn2.step(h1, state2)
            if (t + 1) % spec.glimpses == 0:
                trace["scores"].append(self.head(h1))
            if t < spec.steps - 1:
                loc = self._emit(e, draw, len(trace["mus"]), trace)
        trace["locs"] = torch.stack(trace["locs"], dim=1)
        return trace

    def _tensors(self, images, labels=None):
        device, dtype = self.head.W.device, self.head.W.dtype
        images = torch.as_tensor(images, device=device).to(dtype)
        if labels is None:
            return images
        labels = torch.as_tensor(labels, device=device).long()
        return images, labels.reshape(labels.shape[0], -1)

    def loss(self, images, labels, state=None, noise=None, locations=None) -> tuple[Tensor, None]:
        """The hybrid loss (a scalar tensor; numpy_model.py's definition) and None. Locations are
        drawn from torch's generator unless ``noise`` or ``locations`` (N, P, 2) fix them."""
        spec = self.spec
        images, labels = self._tensors(images, labels)
        N, P = labels.shape[0], sampled_locations(spec)
        if locations is not None:
            draw = ("locations", torch.as_tensor(locations, device=images.device).to(images.dtype))
        elif noise is not None:
            draw = ("noise", torch.as_tensor(noise, device=images.device).to(images.dtype))
        else:
            draw = ("noise", torch.randn(N, P, 2, dtype=images.dtype, device=images.device))
        trace = self.trace(images, draw)
        loss, correct = 0.0, torch.ones(N, dtype=torch.bool, device=images.device)
        for j, scores in enumerate(trace["scores"]):
            loss = loss + softmax_loss(scores, labels[:, j])
            correct &= scores.argmax(dim=1) == labels[:, j]
        reward = correct.to(images.dtype)
        var = spec.loc_std ** 2
        for mu, sample, b in zip(trace["mus"], trace["samples"], trace["baselines"]):
            error = reward - b
            loss = loss + (error ** 2).sum() / (N * P)
            log_pi = -((sample - mu) ** 2).sum(dim=1) / (2 * var) - math.log(2 * math.pi * var)
            loss = loss - (error.detach() * log_pi).sum() / N
        return loss, None

    @torch.no_grad()
    def evaluate(self, images, labels, state=None) -> tuple[dict, None]:
        """Summed statistics along the mean path (numpy_model.py's keys), no gradient."""
        images, labels = self._tensors(images, labels)
        trace = self.trace(images)
        nats, digits = 0.0, 0
        correct = torch.ones(labels.shape[0], dtype=torch.bool, device=images.device)
        for j, scores in enumerate(trace["scores"]):
            nats += float(cross_entropy_sum(scores, labels[:, j]))
            right = scores.argmax(dim=1) == labels[:, j]
            digits += int(right.sum())
            correct &= right
        return {"nats": nats, "correct": int(correct.sum()), "digits_correct": digits,
                "count": int(labels.shape[0])}, None

    @torch.no_grad()
    def predict_proba(self, images) -> Tensor:
        """Class probabilities (N, D, C) along the mean path."""
        return torch.stack([F.softmax(s, dim=-1) for s in self.trace(self._tensors(images))["scores"]], dim=1)

    @torch.no_grad()
    def locations(self, images) -> Tensor:
        """The locations glimpsed along the mean path, (N, T, 2)."""
        return self.trace(self._tensors(images))["locs"]

    @classmethod
    def create(cls, spec: RAMSpec, seed: int = 0, options=None, *, dtype: torch.dtype = torch.float32,
               device=None) -> "TorchRAM":
        """A new model initialised like the NumPy engine's (``spec.init_params``, the same seed)."""
        return cls.from_arrays(spec, spec.init_params(np.random.default_rng(seed)), options, dtype=dtype,
                               device=device)
