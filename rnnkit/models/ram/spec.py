"""The recurrent attention model's spec: RAM (Mnih et al. 2014) and, with ``dram``, DRAM (Ba et
al. 2015). Parameter names, shapes and initialisation, for both engines.

Dimensions: N batch, S image side, k scales, g patch side, Hg / Hl the glimpse network's what /
where widths, G its output width, H the core's hidden size, C classes, D digits read per image,
T = D * glimpses the steps.

    l_0 = 0 (RAM); DRAM: c = relu(coarse(x) context.W + context.b) -> h2_0 = c, l_0 ~ policy(h2_0)
    for t = 0 .. T-1:
        rho_t = sensor(x, l_t)                                       (N, k, g, g)  numpy_engine/glimpse.py
        g_t   = relu(relu(rho_t Wg + bg) Wgo + relu(l_t Wl + bl) Wlo + bo)        (N, G)
        h1_t  = core(g_t, h1_{t-1})                                  (N, H)  rnn.0.* (any cell)
        DRAM: h2_t = core2(h1_t, h2_{t-1})                           (N, H)  rnn2.0.*
        e_t   = h1_t (RAM) or h2_t (DRAM): the state that emits locations
        after glimpse j * glimpses - 1: scores_j = h1_t head.W + head.b    (N, C), digit j
        t < T-1: mu_{t+1} = tanh(e_t loc.W + loc.b), l_{t+1} = mu_{t+1} + loc_std * eps   (N, 2)
                 b_{t+1}  = e_t baseline.W + baseline.b  (the baseline reads e_t detached)

Mnih et al. write g = relu(Linear(h_g) + Linear(h_l)); the same map is relu([h_g; h_l] W) with
W = [Wgo; Wlo], so one form serves both descriptions.

DRAM follows Ba et al.: the context network initialises the *upper* layer, the one that emits
locations, so the first glimpse is aimed from the coarse view; the lower layer, which classifies,
starts from zeros and does not see the coarse view (the paper's reason: a classifier started from a
blurry whole-image view leans on it instead of the glimpses). The lower layer reads the digits one
after another and emits one label each ``glimpses`` steps.

Location convention: (row, column) in [-1, 1]^2, (0, 0) the centre (numpy_engine/glimpse.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.cells import CELL_NAMES
from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError
from rnnkit.recurrent_spec import RecurrentSpec

KIND = "ram"
MAX_WIDTH = 1 << 16
MAX_SIDE = 4096


def _bounded_int(name, value, minimum, maximum):
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise UsageError(f"{name.replace('_', '-')} must be an integer from {minimum} to {maximum:,}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class RAMSpec:
    """Shape of a recurrent attention model (see the module docstring). Fields are keywords only.

    Attributes:
        cell: the core's cell (rnnkit/cells.py); Mnih et al. used a ReLU RNN, an LSTM trains better.
        image_size: S, images are S x S (required: the data fixes it).
        classes: C; digits: D, labels read per image (2 for digit pairs).
        glimpses: glimpses per digit.
        patch: g, the side of every patch after reduction; scales: k; scale_factor: f.
        glimpse_hidden, loc_hidden, glimpse_out: Hg, Hl, G of the glimpse network.
        hidden: H of the core (and of DRAM's upper layer).
        dram: two recurrent layers and a context network (Ba et al. 2015).
        loc_std: the fixed standard deviation of the Gaussian location policy.
        loc_grad: whether the REINFORCE gradient flows from the location mean into the core (and
            the glimpse network below it), as in Mnih et al.; False trains only loc.W and loc.b by
            REINFORCE (the core then learns from the cross-entropy alone).
    """

    cell: str = "lstm"
    image_size: int
    classes: int = 10
    digits: int = 1
    glimpses: int = 6
    patch: int = 8
    scales: int = 1
    scale_factor: int = 2
    glimpse_hidden: int = 128
    loc_hidden: int = 128
    glimpse_out: int = 256
    hidden: int = 256
    dram: bool = False
    loc_std: float = 0.1
    loc_grad: bool = True

    kind = KIND
    #: The model samples locations in training: the runtime hands it a random generator.
    stochastic = True

    def __post_init__(self) -> None:
        if self.cell not in CELL_NAMES:
            raise UsageError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELL_NAMES)}")
        for name, lo, hi in (("image_size", 1, MAX_SIDE), ("classes", 2, MAX_WIDTH), ("digits", 1, 64),
                             ("glimpses", 1, 1024), ("patch", 1, MAX_SIDE), ("scales", 1, 8),
                             ("scale_factor", 1, 8), ("glimpse_hidden", 1, MAX_WIDTH), ("loc_hidden", 1, MAX_WIDTH),
                             ("glimpse_out", 1, MAX_WIDTH), ("hidden", 1, MAX_WIDTH)):
            _bounded_int(name, getattr(self, name), lo, hi)
        for name in ("dram", "loc_grad"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name.replace('_', '-')} must be true or false, got {getattr(self, name)!r}")
        if self.dram and not self.loc_grad:
            raise UsageError("DRAM needs loc-grad: its context network and upper layer learn only from the "
                             "REINFORCE gradient that reaches them through the location mean")
        std = self.loc_std
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not 0.0 < std <= 2.0:
            raise UsageError(f"loc-std must be a number in (0, 2], got {std!r}")
        if self.patch * self.scale_factor ** (self.scales - 1) > 4 * self.image_size:
            raise UsageError(f"the largest patch ({self.patch} x {self.scale_factor}^{self.scales - 1}) is more than "
                             f"four times the image ({self.image_size}); use fewer --scales or a smaller --patch")

    # What the shared machinery reads of every spec.
    @property
    def layers(self) -> int:
        """Recurrent layers: 1 (RAM) or 2 (DRAM)."""
        return 2 if self.dram else 1

    @property
    def dropout(self) -> float:
        return 0.0

    @property
    def steps(self) -> int:
        """T = digits * glimpses."""
        return self.digits * self.glimpses

    @property
    def retina(self) -> int:
        """k * g * g, the width of a flattened glimpse."""
        return self.scales * self.patch * self.patch

    @property
    def core(self) -> RecurrentSpec:
        return RecurrentSpec(self.cell, self.glimpse_out, self.hidden)

    @property
    def upper(self) -> RecurrentSpec:
        """DRAM's second layer, reading the core's output."""
        return RecurrentSpec(self.cell, self.hidden, self.hidden)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "RAMSpec":
        if isinstance(data, dict) and "image_size" not in data:
            raise UsageError("model configuration: image_size is missing")
        return dataclass_from_json(cls, data, "model configuration")

    def _affines(self) -> list[tuple[str, int, int, bool]]:
        """(name, fan_in, fan_out, has_bias) of every affine map, in the format's order."""
        H = self.hidden
        glimpse = [("glimpse.Wg", self.retina, self.glimpse_hidden, "glimpse.bg"),
                   ("glimpse.Wl", 2, self.loc_hidden, "glimpse.bl"),
                   ("glimpse.Wgo", self.glimpse_hidden, self.glimpse_out, None),
                   ("glimpse.Wlo", self.loc_hidden, self.glimpse_out, "glimpse.bo")]
        context = [("context.W", self.patch * self.patch, H, "context.b")] if self.dram else []
        heads = [("loc.W", H, 2, "loc.b"), ("baseline.W", H, 1, "baseline.b"), ("head.W", H, self.classes, "head.b")]
        return glimpse + context + heads

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """``glimpse.*``, ``rnn.0.*`` (the core), DRAM's ``rnn2.0.*`` and ``context.*``, then
        ``loc.*``, ``baseline.*``, ``head.*`` (see the module docstring for the shapes)."""
        shapes = {}
        affines = self._affines()
        for name, fan_in, fan_out, bias in affines[:4]:
            shapes[name] = (fan_in, fan_out)
            if bias:
                shapes[bias] = (fan_out,)
        shapes.update(self.core.param_shapes("rnn."))
        if self.dram:
            shapes.update(self.upper.param_shapes("rnn2."))
        for name, fan_in, fan_out, bias in affines[4:]:
            shapes[name] = (fan_in, fan_out)
            shapes[bias] = (fan_out,)
        return shapes

    def init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Float64 initial weights in :meth:`param_shapes` order: every affine W uniform in
        +-1/sqrt(fan_in) (PyTorch's nn.Linear rule), biases zero, the cells as rnnkit/cells.py says.
        loc.W starts 10x smaller, so that the first sampled paths stay near the centre."""
        draws = {}
        for name, fan_in, fan_out, bias in self._affines():
            bound = 1.0 / np.sqrt(fan_in) * (0.1 if name == "loc.W" else 1.0)
            draws[name] = rng.uniform(-bound, bound, size=(fan_in, fan_out))
            if bias:
                draws[bias] = np.zeros(fan_out)
        draws.update(self.core.init_params(rng, "rnn."))
        if self.dram:
            draws.update(self.upper.init_params(rng, "rnn2."))
        return {name: draws[name] for name in self.param_shapes()}
