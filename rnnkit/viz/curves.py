"""Training curves from runs' ``metrics.jsonl``: each metric against steps and against wall-clock
time, several runs on one figure.

A record (rnnkit/training/loop.py) holds ``step``, ``elapsed`` (seconds of training, across
resumes) and the task's metrics: ``train_bpc`` and ``val_bpc`` for a character model,
``train_loss``, ``val_loss`` and ``val_accuracy`` for sentiment. A run resumed from an earlier
checkpoint logs some steps twice; the later record of a step wins.
"""

from __future__ import annotations

import math
from pathlib import Path

from rnnkit.errors import UsageError

#: The metrics drawn, in row order, with their axis labels; a row appears when a run has its key.
METRICS = {
    "train_bpc": "training loss (bits per character)",
    "train_loss": "training loss (nats)",
    "val_bpc": "validation bits per character",
    "val_loss": "validation loss (nats)",
    "val_accuracy": "validation accuracy",
}


def read_run(path) -> dict:
    """{"label", "records"} of a run folder (or a metrics.jsonl file): records sorted by step, one per step."""
    from rnnkit.training.metrics import read_metrics

    path = Path(path)
    file = path / "metrics.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise UsageError(f"{path} has no metrics.jsonl; give a run folder made by 'rnnkit train'")
    try:
        records = read_metrics(file)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise UsageError(f"cannot read {file}: {exc}") from None
    by_step = {}
    for r in records:
        if isinstance(r, dict) and isinstance(r.get("step"), (int, float)):
            by_step[r["step"]] = r
    if not by_step:
        raise UsageError(f"{file} holds no metrics yet (a run logs them every --eval-every steps)")
    label = (path if path.is_dir() else path.parent).name or str(path)
    return {"label": label, "records": [by_step[s] for s in sorted(by_step)]}


def series(records: list[dict], key: str, x: str) -> tuple[list[float], list[float]]:
    """The finite (x, value) pairs of ``key``."""
    xs, ys = [], []
    for r in records:
        value, position = r.get(key), r.get(x)
        if isinstance(value, (int, float)) and isinstance(position, (int, float)) and math.isfinite(value):
            xs.append(float(position))
            ys.append(float(value))
    return xs, ys


def draw_curves(runs: list[dict], paths: list, title: str | None = None):
    """One row per metric any run has, columns against steps and against minutes of training;
    written to every path in ``paths`` (.png, .svg)."""
    from rnnkit.viz.figures import new_figure, save

    keys = [k for k in METRICS if any(series(run["records"], k, "step")[0] for run in runs)]
    if not keys:
        raise UsageError(f"the runs log none of the metrics drawn here ({', '.join(METRICS)})")
    fig = new_figure(figsize=(11, 2.9 * len(keys) + 0.6))
    axes = fig.subplots(len(keys), 2, squeeze=False)
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for row, key in enumerate(keys):
        for col, (x, xlabel, scale) in enumerate((("step", "training step", 1.0),
                                                   ("elapsed", "wall-clock time (minutes of training)", 60.0))):
            ax = axes[row, col]
            for run, colour in zip(runs, colours):
                xs, ys = series(run["records"], key, x)
                if xs:
                    ax.plot([v / scale for v in xs], ys, color=colour, marker="." if len(xs) < 30 else None,
                            label=run["label"])
            ax.set_xlabel(xlabel)
            ax.set_ylabel(METRICS[key])
            ax.grid(True, alpha=0.3)
            if row == 0 and col == 0:
                ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return [save(fig, p) for p in paths]
