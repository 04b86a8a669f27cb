"""Tasks: what a model learns from, and how it is judged. One file a task:

    charlm      many-to-many: next character over a text (bits per character)
    sentiment   many-to-one: the polarity of a sentence (accuracy)
    glimpse     digits read glimpse by glimpse: recurrent attention, RAM and DRAM (error rate)
    frames      many-to-many: a label for every frame of a clip or stream (frame accuracy)
    draw        images drawn one piece at a time: DRAW (nats per image)
    translate   sequence to sequence: a sentence in another language (BLEU)
    caption     one-to-many: a sentence about an image, word by word (BLEU-4)

A task turns its data into batches (tuples of batch-first arrays the model's ``loss`` takes),
builds the model spec that fits the data (vocabulary sizes, classes), evaluates a runtime on a
split (a dict of named metrics) and says which metric decides the best checkpoint. The trainer
(rnnkit/training/loop.py) knows tasks only through :class:`Task`; the commands find them in
:data:`TASKS`.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from rnnkit.errors import UsageError

#: Task name -> "module:class".
TASKS = {
    "charlm": "rnnkit.tasks.charlm:CharLMTask",
    "sentiment": "rnnkit.tasks.sentiment:SentimentTask",
    "glimpse": "rnnkit.tasks.glimpse:GlimpseTask",
    "frames": "rnnkit.tasks.frames:FramesTask",
    "vqa": "rnnkit.tasks.vqa:VQATask",
    "draw": "rnnkit.tasks.draw:DrawTask",
    "translate": "rnnkit.tasks.translate:TranslateTask",
    "caption": "rnnkit.tasks.caption:CaptionTask",
}


class Source(NamedTuple):
    """A data source a task reads: its ``--data`` name, what it is, whether it is installed here,
    and the command that installs it."""

    name: str
    description: str
    installed: bool
    install: str


class Task:
    """The interface a task implements (see the module docstring). Attributes:

    name: the task's name in :data:`TASKS`.
    model_kind: the kind of rnnkit/models it trains.
    metric: the validation metric that decides ``best.npz``; ``lower_is_better`` its direction.
    loss_label: how the progress bar names the training loss (``bpc``, ``loss``).
    rate_unit: what its throughput counts (``chars/s``, ``tokens/s``).
    carries_state: whether the model's state runs on from batch to batch (truncated BPTT).
    flags: the ``rnnkit train`` flags (argparse dest names) this task takes beyond the common ones;
        ``rnnkit train`` refuses any other task's flag, naming the tasks that take it.
    """

    name: str
    summary: str
    model_kind: str
    metric: str
    lower_is_better: bool = True
    loss_label: str = "loss"
    rate_unit: str = "tokens/s"
    carries_state: bool = False
    flags: tuple[str, ...] = ()

    @classmethod
    def sources(cls) -> list[Source]:
        """The named data sources of this task (``--data NAME``); any task also reads a file."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line about the data, for the start of a run."""
        raise NotImplementedError

    def next_batch(self) -> tuple[tuple, bool]:
        """The next training batch, and whether the carried state must start afresh before it."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Where the batches stand (JSON), for an exact resume."""
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError

    def batch_tokens(self, batch: tuple) -> int:
        """How many tokens a batch holds (the progress bar's throughput)."""
        raise NotImplementedError

    def train_metrics(self, mean_loss: float) -> dict:
        """The training loss as the task reports it, e.g. ``{"train_bpc": ...}``."""
        return {"train_loss": mean_loss}

    def display_loss(self, loss: float) -> float:
        """The loss as the progress bar shows it (bits per character for language models)."""
        return loss

    def evaluate(self, runtime, split: str, limit: int | None = None) -> dict:
        """``{metric name: value}`` of ``runtime``'s model on ``split`` (``val`` or ``test``)."""
        raise NotImplementedError

    def meta(self) -> dict:
        """The task's part of a checkpoint: its name, data and options (JSON)."""
        raise NotImplementedError

    def tokenizers(self) -> dict:
        """Named tokenizers or vocabularies as JSON, saved in the checkpoint."""
        raise NotImplementedError


def task_class(name):
    """The class of task ``name``; an unknown name is a UsageError listing the known ones."""
    if not isinstance(name, str) or name not in TASKS:
        raise UsageError(f"unknown task {name!r}: choose one of {', '.join(TASKS)}")
    module, _, attribute = TASKS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def task_cli(name):
    """The module of task ``name``'s ``rnnkit eval`` and ``rnnkit predict`` hooks: the task's module
    with ``_cli`` appended (rnnkit/tasks/common_cli.py says what it holds). None for a name that
    is not a task here (a checkpoint of another rnnkit)."""
    if not isinstance(name, str) or name not in TASKS:
        return None
    return importlib.import_module(TASKS[name].partition(":")[0] + "_cli")
