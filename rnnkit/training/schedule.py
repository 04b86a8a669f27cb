"""Learning-rate schedules as pure functions of the step and of training progress.

With base rate lr, step s (the 0-based index of the update about to be taken) and progress
p in [0, 1] (how far through its step or time budget the run is, see ``training_progress``):

    constant:  lr(s, p) = lr
    exp:       lr(s, p) = lr * decay ** (s / decay_every)
    cosine:    lr(s, p) = lr * (min_ratio + (1 - min_ratio) * (1 + cos(pi * p)) / 2)
    wsd:       lr(s, p) = lr until p = 1 - decay_fraction, then linearly down to lr * min_ratio at
               p = 1 ("warmup, stable, decay": Hägele et al. 2024 find it as good as cosine, and
               it keeps the rate high for longer, which short runs far from convergence need)

and, when ``warmup`` > 0, the result is multiplied by min(1, (s + 1) / warmup): a linear ramp
whose first update already moves (rate lr / warmup) and which reaches lr at step warmup - 1.

Nothing here keeps state: the rate depends only on (s, p), so a resumed run recomputes exactly the
rates it would have used, and ``exp`` does not depend on the total number of steps at all (a run
resumed with a larger --steps follows the same curve).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError

KINDS = ("constant", "exp", "cosine", "wsd")


def training_progress(step: int, total_steps: int | None = None, elapsed: float | None = None,
                      time_budget: float | None = None) -> float:
    """Fraction of the run done, in [0, 1]: step / total_steps, elapsed / time_budget, or the
    larger of the two when both limits are set (the run ends at whichever comes first); 0 with
    neither."""
    fractions = [0.0]
    if total_steps:
        fractions.append(step / total_steps)
    if time_budget and elapsed is not None:
        fractions.append(elapsed / time_budget)
    return min(1.0, max(fractions))


@dataclass(frozen=True)
class LRSchedule:
    """How the learning rate moves during training (see the module docstring for the equations).

    Attributes:
        kind: ``constant``, ``exp``, ``cosine`` or ``wsd``.
        lr: the base (peak) learning rate.
        warmup: number of steps of linear warmup; 0 for none.
        decay: ``exp`` only: the factor applied every ``decay_every`` steps, in (0, 1].
        decay_every: ``exp`` only: steps per factor of ``decay`` (applied continuously).
        min_ratio: ``cosine`` and ``wsd``: the final rate as a fraction of ``lr``, in [0, 1].
        decay_fraction: ``wsd`` only: the last share of the run over which the rate decays.
    """

    kind: str = "constant"
    lr: float = 2e-3
    warmup: int = 0
    decay: float = 0.97
    decay_every: float = 1000.0
    min_ratio: float = 0.1
    decay_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"unknown learning-rate schedule {self.kind!r}: choose one of {', '.join(KINDS)}")
        if not (isinstance(self.lr, (int, float)) and self.lr >= 0.0 and math.isfinite(self.lr)):
            raise UsageError(f"learning rate must be a finite number >= 0, got {self.lr!r}")
        if not isinstance(self.warmup, int) or isinstance(self.warmup, bool) or self.warmup < 0:
            raise UsageError(f"warmup must be a whole number of steps >= 0, got {self.warmup!r}")
        if not 0.0 < self.decay <= 1.0:
            raise UsageError(f"decay must be in (0, 1], got {self.decay!r}")
        if not self.decay_every > 0.0:
            raise UsageError(f"decay_every must be > 0 steps, got {self.decay_every!r}")
        if not 0.0 < self.decay_fraction <= 1.0:
            raise UsageError(f"decay_fraction must be in (0, 1], got {self.decay_fraction!r}")
        if not 0.0 <= self.min_ratio <= 1.0:
            raise UsageError(f"min_ratio must be in [0, 1], got {self.min_ratio!r}")

    def lr_at(self, step: int, progress: float) -> float:
        """The learning rate for update ``step`` (0-based) at training progress ``progress``
        (clamped to [0, 1]; only ``cosine`` reads it)."""
        if self.kind == "exp":
            rate = self.lr * self.decay ** (step / self.decay_every)
        elif self.kind == "cosine":
            p = min(1.0, max(0.0, progress))
            rate = self.lr * (self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * p)))
        elif self.kind == "wsd":
            left = min(1.0, max(0.0, 1.0 - progress)) / self.decay_fraction  # > 1 while stable
            rate = self.lr * (self.min_ratio + (1.0 - self.min_ratio) * min(1.0, left))
        else:
            rate = self.lr
        if self.warmup:
            rate *= min(1.0, (step + 1) / self.warmup)
        return rate

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "LRSchedule":
        return dataclass_from_json(cls, data, "learning-rate schedule")
