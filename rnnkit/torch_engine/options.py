"""Torch-side model options that :class:`rnnkit.config.ModelConfig` does not (yet) describe.

``ModelConfig`` is shared by both engines and knows the cells both compute (rnn, lstm, gru). The torch
engine also offers cells and connections that only its explicit path computes; until the shared
configuration names them, they are chosen here:

- ``cell``: replaces ``ModelConfig.cell`` when set: ``lnlstm``, ``mingru`` or ``minlstm`` (or one of
  the shared cells). Parameter shapes then follow the cell (see ``TorchCharLM.param_shapes``).
- ``highway``: highway gates between stacked layers (adds ``rnn.highway.{l}.W``, ``.b`` for l >= 1).
- ``path``: ``auto`` (fused kernels where possible), ``fused`` or ``explicit``; the same function.
- ``scan``: ``parallel`` or ``sequential`` for mingru / minlstm; the same function.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from rnnkit.errors import UsageError
from rnnkit.torch_engine.minrnn import SCANS
from rnnkit.torch_engine.recurrent import CELL_TYPES, PATHS


@dataclass(frozen=True)
class TorchOptions:
    """See the module docstring. The defaults build exactly the model ``ModelConfig`` describes."""

    cell: str = ""
    highway: bool = False
    path: str = "auto"
    scan: str = "parallel"

    def __post_init__(self) -> None:
        if self.cell and self.cell not in CELL_TYPES:
            raise UsageError(f"unknown cell {self.cell!r}: choose one of {', '.join(CELL_TYPES)}")
        if not isinstance(self.highway, bool):
            raise UsageError(f"highway must be true or false, got {self.highway!r}")
        if self.path not in PATHS:
            raise UsageError(f"path must be one of {', '.join(PATHS)}, got {self.path!r}")
        if self.scan not in SCANS:
            raise UsageError(f"scan must be one of {', '.join(SCANS)}, got {self.scan!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "TorchOptions":
        if not isinstance(data, dict):
            raise UsageError("torch options are not a JSON object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise UsageError(f"torch options have unknown fields: {', '.join(sorted(unknown))}")
        return cls(**data)
