"""How the torch engine computes a model: choices that change speed, never the function.

``CharLMSpec`` says *what* the model is (cell, sizes, highway gates) and is shared by both engines;
these options say *how* the torch engine runs it, so they live apart and are not saved with a model:

- ``path``: ``auto`` (PyTorch's fused kernels where they compute the configuration, else the explicit
  cell loop), ``fused`` (fail if impossible) or ``explicit``. A test holds the paths to 1e-10.
- ``scan``: ``parallel`` (log-space scan over time) or ``sequential`` (a loop), for mingru / minlstm.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError
from rnnkit.torch_engine.minrnn import SCANS
from rnnkit.torch_engine.recurrent import PATHS


@dataclass(frozen=True)
class TorchOptions:
    """See the module docstring. The defaults are the fastest choices."""

    path: str = "auto"
    scan: str = "parallel"

    def __post_init__(self) -> None:
        if self.path not in PATHS:
            raise UsageError(f"path must be one of {', '.join(PATHS)}, got {self.path!r}")
        if self.scan not in SCANS:
            raise UsageError(f"scan must be one of {', '.join(SCANS)}, got {self.scan!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "TorchOptions":
        return dataclass_from_json(cls, data, "torch options")
