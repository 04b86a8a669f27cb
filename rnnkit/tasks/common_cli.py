"""Parts the tasks' ``rnnkit eval`` and ``rnnkit predict`` hooks share (rnnkit/tasks/<name>_cli.py).

Every task has a hook module beside it, found by name from the registry (:func:`rnnkit.tasks.task_cli`):
``evaluate_command(args, checkpoint, runtime) -> dict`` (the metrics, JSON), ``describe(result) -> str``
(the sentence ``rnnkit eval`` prints), and, where the task can run on inputs,
``predict_command(checkpoint, runtime, inputs, args) -> int`` (prints one line or JSON object an input).
"""

from __future__ import annotations

import json
from pathlib import Path

from rnnkit.errors import UsageError


def split_of_three(args, data_set: str) -> str:
    """``--split`` of a data set with the splits train, val and test: val by default; all is refused,
    naming ``data_set`` ("a sentiment data set")."""
    split = args.split or "val"
    if split == "all":
        raise UsageError(f"{data_set} has the splits train, val and test")
    return split


def numbered_path(base: Path, i: int) -> Path:
    """The picture of the i-th input (from 1): ``base`` itself, then ``base-2``, ``base-3``, ... (same suffix)."""
    return base if i == 1 else base.with_name(f"{base.stem}-{i}{base.suffix}")


def print_results(inputs: list[str], results: list[dict], args, line) -> int:
    """Print each input's result: with ``--json`` one object ``{"input": ..., **result}`` a line,
    else ``line(text, result)``. Returns the exit code 0."""
    for text, result in zip(inputs, results):
        if args.json:
            print(json.dumps({"input": text, **result}, ensure_ascii=False))
        else:
            print(line(text, result))
    return 0


class Quiet:
    """A stream that drops what is written: for reading an input again to draw it, when its
    warnings were given once already."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass
