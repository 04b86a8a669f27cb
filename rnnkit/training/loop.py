"""One training loop for every task, any engine.

    for each step:
        batch, reset = task.next_batch()                  (reset: the carried state starts afresh)
        loss = runtime.train_step(batch, lr(step, progress))
        every --eval-every steps: the task's validation metrics, a metrics line, a checkpoint
        (and best.npz when the task's deciding metric improved)

The loop knows the engine only through the runtime interface (rnnkit/runtime/numpy_runtime.py)
and the task only through rnnkit/tasks/__init__.py's Task. Budgets (--steps, --minutes) count
the whole run across resumes; time spent evaluating and saving does not count as training time.

What every task gets from this loop (docs/checkpoints.md):

- Ctrl-C stops at a step boundary: a step (batch, update, counters) happens whole or not at all,
  so the checkpoint written on the way out resumes exactly (rnnkit/training/interrupts.py).
- Divergence stops the run: a loss or gradient norm that is not finite, or a training loss above
  :data:`DIVERGENCE_FACTOR` times a uniform guess's (log V nats, V the model's outputs) for
  :data:`DIVERGENCE_STEPS` steps in a row. Parameters that are not finite or absurdly large are
  never saved (rnnkit/training/checkpoint.py ``params_problem``), so the last checkpoint is good.
- A model that would not fit in memory is refused before anything is allocated (memory.py).
- A failed write (a full disk) ends the run with one line; the previous checkpoint is intact.

Under torchrun (the torch engine's data-parallel training) every process runs this loop in lockstep;
only the main process (``runtime.is_main``) writes the run folder and draws the progress bar, and
all processes use the main process's clock, so they stop, and schedule the learning rate, together.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rnnkit.config import TrainConfig
from rnnkit.errors import UsageError
from rnnkit.runtime import make_runtime
from rnnkit.training.checkpoint import BEST, DAMAGE, LATEST, Checkpoint, params_problem, save_checkpoint
from rnnkit.training.interrupts import deferred_interrupts, interrupt_pending, take_interrupt
from rnnkit.training.memory import check_training_memory
from rnnkit.training.metrics import MetricsLog, read_metrics
from rnnkit.training.progress import ProgressBar
from rnnkit.training.runfiles import write_json_atomic
from rnnkit.training.schedule import LRSchedule, training_progress

#: A training loss above this many times a uniform guess's (log V nats) ...
DIVERGENCE_FACTOR = 3.0
#: ... for this many steps in a row is divergence.
DIVERGENCE_STEPS = 10
#: Larger step or token counts than these are damage, not progress.
_MAX_COUNT = 1 << 53


class TrainingDiverged(UsageError):
    """The loss or the parameters left the numbers (NaN, infinite, absurdly large), or the loss
    stayed far above a uniform guess's. Exit code 2: the flags (--lr, --clip) or the checkpoint
    that was resumed caused it."""


def make_schedule(cfg: TrainConfig) -> LRSchedule:
    """The learning-rate schedule a configuration asks for.

    ``auto``, when only --minutes bounds the run, holds the rate and decays it linearly over the
    last 20% of the time (``wsd``): in runs this short the model is far from converged, and a rate
    that stays high for longer learns more (docs/charlm.md has the measurement). Otherwise ``auto``
    decays exponentially with the step, a function of the step alone, so that
    ``--resume RUN --steps 2N`` repeats a 2N-step run exactly.
    """
    kind = cfg.schedule
    if kind == "auto":
        kind = "wsd" if cfg.minutes and not cfg.steps else "exp"
    return LRSchedule(kind=kind, lr=cfg.lr, warmup=cfg.warmup, decay=cfg.lr_decay,
                      decay_every=cfg.decay_every, min_ratio=cfg.min_lr_ratio)


@dataclass
class Progress:
    """Where a run stands: saved in every checkpoint's header."""

    step: int = 0
    tokens: int = 0
    elapsed: float = 0.0    # seconds of training, across resumes
    best: float | None = None  # the best value so far of the task's deciding metric
    val: dict | None = None    # the latest validation metrics

    @classmethod
    def from_json(cls, data) -> "Progress":
        """A checkpoint's progress, every field checked (a stranger's file: ValueError if wrong)."""
        def number(value, what):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{what} must be a finite number, got {value!r}")
            return value

        def count(value, what):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT:
                raise ValueError(f"{what} must be an integer in [0, 2**53], got {value!r}")
            return value

        if not isinstance(data, dict):
            raise ValueError(f"progress must be a JSON object, got {type(data).__name__}")
        unknown = set(data) - {"step", "tokens", "elapsed", "best", "val"}
        if unknown:
            raise ValueError(f"progress has unknown fields {sorted(unknown)}")
        elapsed = number(data.get("elapsed", 0.0), "progress.elapsed")
        if elapsed < 0:
            raise ValueError(f"progress.elapsed must be >= 0, got {elapsed!r}")
        best = data.get("best")
        val = data.get("val")
        if val is not None:
            if not isinstance(val, dict) or len(val) > 100:
                raise ValueError("progress.val must be a JSON object of metrics")
            for key, value in val.items():
                if value is not None:
                    number(value, f"progress.val.{key}")
        return cls(step=count(data.get("step", 0), "progress.step"), tokens=count(data.get("tokens", 0), "progress.tokens"),
                   elapsed=float(elapsed), best=None if best is None else float(number(best, "progress.best")), val=val)


@dataclass
class RunResult:
    run_dir: Path
    progress: Progress
    interrupted: bool


class Trainer:
    """Trains one run of a task: owns the runtime, the schedule and the run folder.

    ``spec`` is the model's spec, built from the task's data (its vocabulary sizes); a
    ``checkpoint`` to resume from holds the parameters and the training state.
    """

    def __init__(self, task, spec, cfg: TrainConfig, run_dir, checkpoint: Checkpoint | None = None,
                 log_stream=None, device: str = "auto", compile: bool = False):
        self.task = task
        self.spec = spec
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        check_training_memory(spec, cfg, engine=cfg.engine, device=device)
        params = checkpoint.params if checkpoint is not None else None
        self.runtime = make_runtime(cfg.engine, spec, cfg, params=params, seed=cfg.seed, device=device,
                                    compile=compile)
        self.schedule = make_schedule(cfg)
        self.progress = Progress()
        self._saved_step = None  # the step of the checkpoint in the run folder (None: none yet)
        self._high_loss_steps = 0
        self.uniform_loss = _uniform_loss(task, spec)
        if checkpoint is not None:
            self._restore(checkpoint)
            self._saved_step = self.progress.step
        self.log_stream = log_stream

    # -- run folder -------------------------------------------------------------------------

    def _restore(self, checkpoint: Checkpoint) -> None:
        """Continue exactly where the checkpoint left off; a damaged header is a UsageError."""
        meta = checkpoint.meta
        try:
            self.progress = Progress.from_json(meta.get("progress"))
            if not isinstance(meta.get("runtime", {}), dict) or "data_position" not in meta:
                raise ValueError("the runtime state or the data position is missing")
            self.runtime.restore(meta.get("runtime", {}), {g: checkpoint.group(g) for g in ("optim", "state")})
            self.task.load_state_dict(meta["data_position"])
        except UsageError as exc:
            raise UsageError(f"{checkpoint.path} cannot be resumed: {exc}") from None
        except DAMAGE as exc:
            raise UsageError(f"{checkpoint.path} cannot be resumed: its training state is incomplete "
                             f"or damaged ({type(exc).__name__}: {exc})") from None

    def header(self) -> dict:
        """The checkpoint header of this run as it stands (rnnkit/training/checkpoint.py)."""
        return {
            "model": {"kind": self.spec.kind, "spec": self.spec.to_json()},
            "tokenizers": self.task.tokenizers(),
            "task": self.task.meta(),
            "train": self.cfg.to_json(),
            "schedule": self.schedule.to_json(),
            "progress": asdict(self.progress),
            "data_position": self.task.state_dict(),
        }

    def save(self, best: bool = False) -> None:
        """Write checkpoint.npz (everything an exact resume needs) and, when asked, best.npz."""
        self._write(*self._export(), best=best)

    def _export(self):
        """(runtime json, arrays) of the run as it stands. Parameters that are not finite or are
        absurdly large are divergence: TrainingDiverged, and nothing is saved."""
        runtime_js, arrays = self.runtime.export()  # every process: it may gather from all of them
        problem = params_problem({k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")})
        if problem:
            raise TrainingDiverged(f"at step {self.progress.step} {problem}")
        return runtime_js, arrays

    def _write(self, runtime_js: dict, arrays: dict, best: bool) -> None:
        if self.runtime.is_main:
            meta = {**self.header(), "runtime": runtime_js}
            with deferred_interrupts():  # checkpoint.npz and best.npz of the same step
                save_checkpoint(self.run_dir / LATEST, meta, arrays)
                if best:
                    params_only = {k: v for k, v in arrays.items() if k.startswith("param/")}
                    save_checkpoint(self.run_dir / BEST, meta, params_only)
        self._saved_step = self.progress.step

    def _open_metrics(self) -> MetricsLog:
        """The metrics file, without lines from steps after the checkpoint we resume from."""
        path = self.run_dir / "metrics.jsonl"
        try:
            if path.exists():
                kept = [r for r in read_metrics(path) if r.get("step", 0) <= self.progress.step]
                write_json_atomic(path, kept, lines=True)
            return MetricsLog(path)
        except ValueError:
            raise UsageError(f"{path} is damaged (a line that is not JSON); move it away to resume") from None
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None

    # -- the loop ---------------------------------------------------------------------------

    def _done(self, elapsed: float) -> bool:
        cfg = self.cfg
        if cfg.steps is not None and self.progress.step >= cfg.steps:
            return True
        return cfg.minutes is not None and elapsed >= cfg.minutes * 60.0

    def evaluate(self) -> dict:
        """The task's validation metrics (empty when the task has nothing to validate on)."""
        return self.task.evaluate(self.runtime, "val")

    def _improved(self, value: float | None) -> bool:
        best = self.progress.best
        if value is None or not math.isfinite(value):
            return False
        return best is None or (value < best if self.task.lower_is_better else value > best)

    def _watch(self, loss: float, norm: float) -> None:
        """Raise TrainingDiverged when the step just taken shows divergence (module docstring)."""
        step = self.progress.step
        for what, value in (("loss", loss), ("gradient norm", norm)):
            if not math.isfinite(value):
                raise TrainingDiverged(f"the {what} became {value} at step {step}")
        if self.uniform_loss is None or loss <= DIVERGENCE_FACTOR * self.uniform_loss:
            self._high_loss_steps = 0
            return
        self._high_loss_steps += 1
        if self._high_loss_steps >= DIVERGENCE_STEPS:
            raise TrainingDiverged(f"the training loss stayed above {DIVERGENCE_FACTOR:g} x a uniform guess's "
                                   f"({self.uniform_loss:.3g} nats) for {DIVERGENCE_STEPS} steps: {loss:.4g} nats "
                                   f"at step {step}")

    def _checkpoint_and_log(self, metrics: MetricsLog, bar: ProgressBar, window: list, lr: float, norm: float,
                            validate: bool = True):
        """Validate (unless told not to: a Ctrl-C is waiting), log a metrics line, save."""
        p, task = self.progress, self.task
        with np.errstate(all="ignore"):
            val = self.evaluate() if validate else {}
        if validate:
            p.val = val or None
        value = val.get(task.metric)
        improved = self._improved(value)
        if improved:
            p.best = value
        train = task.train_metrics(sum(window) / len(window)) if window else {}
        record = {"step": p.step, "tokens": p.tokens, "elapsed": round(p.elapsed, 3), "lr": lr,
                  **train, **{f"val_{k}": v for k, v in val.items()}, "grad_norm": norm,
                  "tokens_per_sec": p.tokens / p.elapsed if p.elapsed else None}
        exported = self._export()  # before the metrics line: a diverged step logs nothing
        if metrics is not None:  # the line before the checkpoint: a resume drops lines past its step
            try:
                metrics.log(record)
            except OSError as exc:
                raise UsageError(f"cannot write {metrics.path}: {exc.strerror or exc}") from None
        self._write(*exported, best=improved or (validate and not val))
        shown = "  ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in {**train, **{f"val_{k}": v for k, v in val.items()}}.items()
                          if isinstance(v, (int, float)))
        bar.write(f"step {p.step:>6}  {shown}  lr {lr:.2e}" + ("  (best)" if improved else ""))

    def _stop_requested(self) -> bool:
        """A Ctrl-C is pending (in the main process's judgement: all processes stop together)."""
        return self.runtime.broadcast(1.0 if interrupt_pending() else 0.0) > 0.5

    def run(self) -> RunResult:
        cfg, p, task = self.cfg, self.progress, self.task
        main = self.runtime.is_main
        budget = cfg.minutes * 60.0 if cfg.minutes else None
        interrupted = False
        window: list[float] = []
        lr = norm = 0.0
        with ExitStack() as files, deferred_interrupts():  # Ctrl-C is polled at step boundaries
            if main:
                try:
                    self.run_dir.mkdir(parents=True, exist_ok=True)
                    write_json_atomic(self.run_dir / "config.json",
                                      {"model": {"kind": self.spec.kind, "spec": self.spec.to_json()},
                                       "task": task.meta(), "train": cfg.to_json()})
                except OSError as exc:
                    raise UsageError(f"cannot write the run folder {self.run_dir}: {exc.strerror or exc}") from None
            metrics = files.enter_context(self._open_metrics()) if main else None
            stream = self.log_stream if main else files.enter_context(open(os.devnull, "w", encoding="utf-8"))
            bar = files.enter_context(ProgressBar(total_steps=cfg.steps, time_budget=budget, stream=stream,
                                                  loss_label=task.loss_label, rate_unit=task.rate_unit))
            started = time.monotonic() - p.elapsed
            while not self._done(p.elapsed):
                if self._stop_requested():
                    interrupted = True
                    break
                batch, reset = task.next_batch()
                if reset and task.carries_state:
                    self.runtime.reset_state(cfg.batch)
                lr = self.schedule.lr_at(p.step, training_progress(p.step, cfg.steps, p.elapsed, budget))
                with np.errstate(all="ignore"):  # overflow is divergence, which _watch reports
                    loss, norm = self.runtime.train_step(batch, lr)
                p.step += 1
                p.tokens += task.batch_tokens(batch)
                p.elapsed = self.runtime.broadcast(time.monotonic() - started)
                self._watch(loss, norm)
                window.append(loss)
                bar.update(p.step, loss=task.display_loss(loss), tokens=p.tokens, elapsed=p.elapsed)
                if p.step % cfg.eval_every == 0:
                    paused = time.monotonic()
                    self._checkpoint_and_log(metrics, bar, window, lr, norm)
                    window = []
                    started += time.monotonic() - paused  # evaluation is not training time
            if interrupted:
                take_interrupt()
                bar.write("interrupted: saving a checkpoint" if p.step != self._saved_step
                          else "interrupted: the checkpoint in the run folder is up to date")
            if p.step != self._saved_step and (p.step > 0 or not interrupted):
                self._checkpoint_and_log(metrics, bar, window, lr, norm, validate=not interrupted)
            # A Ctrl-C during the last evaluation or save: all is saved; the run reports it.
            interrupted = take_interrupt() or interrupted
        return RunResult(self.run_dir, p, interrupted)


def _uniform_loss(task, spec) -> float | None:
    """log V: the loss (nats) of a model that gives each of its V outputs the same probability. V
    is the task's, if it says (``task.output_size``), else the width of the model's output bias
    ``head.b``; None when neither is known (then only a loss that is not finite is divergence)."""
    size = getattr(task, "output_size", None)
    if size is None:
        try:
            size = spec.param_shapes().get("head.b", (None,))[0]
        except (AttributeError, TypeError, IndexError):
            size = None
    return math.log(size) if isinstance(size, int) and size > 1 else None
