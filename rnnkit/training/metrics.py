"""Training metrics: bits per character, and a JSON-lines log that survives a crash.

``metrics.jsonl`` holds one JSON object per line (``{"step": 100, "loss": 1.93, ...}``). Each line
is flushed as it is written, so a run killed at any moment loses at most the line being written,
and ``read_metrics`` skips such a torn last line. A NaN or infinite value is written as ``null``:
the file stays standard JSON that any tool can parse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def bits_per_char(nats_sum: float, count: int) -> float:
    """Average cross-entropy in bits per character: nats_sum / count / ln 2.

    Inputs:
    - nats_sum: summed negative log-likelihood (natural log) over ``count`` predicted characters.
    - count: how many characters were predicted (> 0).
    """
    if count <= 0:
        raise ValueError(f"bits_per_char needs count > 0, got {count}")
    return float(nats_sum) / count / math.log(2.0)


def _jsonable(value):
    """Plain JSON values from NumPy scalars and arrays; non-finite floats become None."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class MetricsLog:
    """Appends one JSON object per line to ``path`` (created with its folder if missing).

    Usage::

        with MetricsLog(run_dir / "metrics.jsonl") as log:
            log.log({"step": step, "loss": loss, "lr": lr})
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")

    def log(self, record: Mapping) -> None:
        """Write ``record`` as one line and flush it to the operating system."""
        self._file.write(json.dumps(_jsonable(record), allow_nan=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "MetricsLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_metrics(path: str | Path) -> list[dict]:
    """All records of a metrics file, in order; a torn final line (a crash mid-write) is skipped,
    a malformed line anywhere else raises ``ValueError``."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise ValueError(f"{path}:{i + 1}: not a JSON object") from None
    return records
