"""One training loop for every task, any engine.

    for each step:
        batch, reset = task.next_batch()                  (reset: the carried state starts afresh)
        loss = runtime.train_step(batch, lr(step, progress))
        every --eval-every steps: the task's validation metrics, a metrics line, a checkpoint
        (and best.npz when the task's deciding metric improved)

The loop knows the engine only through the runtime interface (rnnkit/runtime/numpy_runtime.py)
and the task only through rnnkit/tasks/__init__.py's Task. Budgets (--steps, --minutes) count
the whole run across resumes; time spent evaluating and saving does not count as training time.

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

from rnnkit.config import TrainConfig
from rnnkit.errors import UsageError
from rnnkit.runtime import make_runtime
from rnnkit.training.checkpoint import BEST, LATEST, Checkpoint, save_checkpoint
from rnnkit.training.metrics import MetricsLog, read_metrics
from rnnkit.training.progress import ProgressBar
from rnnkit.training.runfiles import write_json_atomic
from rnnkit.training.schedule import LRSchedule, training_progress


class TrainingDiverged(Exception):
    """The loss became NaN or infinite."""


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
        params = checkpoint.params if checkpoint is not None else None
        self.runtime = make_runtime(cfg.engine, spec, cfg, params=params, seed=cfg.seed, device=device,
                                    compile=compile)
        self.schedule = make_schedule(cfg)
        self.progress = Progress()
        if checkpoint is not None:
            self._restore(checkpoint)
        self.log_stream = log_stream

    # -- run folder -------------------------------------------------------------------------

    def _restore(self, checkpoint: Checkpoint) -> None:
        """Continue exactly where the checkpoint left off; a damaged header is a UsageError."""
        meta = checkpoint.meta
        try:
            self.runtime.restore(meta.get("runtime", {}), {g: checkpoint.group(g) for g in ("optim", "state")})
            self.task.load_state_dict(meta["data_position"])
            self.progress = Progress(**meta["progress"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
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
        runtime_js, arrays = self.runtime.export()  # every process: it may gather from all of them
        if not self.runtime.is_main:
            return
        meta = {**self.header(), "runtime": runtime_js}
        save_checkpoint(self.run_dir / LATEST, meta, arrays)
        if best:
            params_only = {k: v for k, v in arrays.items() if k.startswith("param/")}
            save_checkpoint(self.run_dir / BEST, meta, params_only)

    def _open_metrics(self) -> MetricsLog:
        """The metrics file, without lines from steps after the checkpoint we resume from."""
        path = self.run_dir / "metrics.jsonl"
        if path.exists():
            kept = [r for r in read_metrics(path) if r.get("step", 0) <= self.progress.step]
            write_json_atomic(path, kept, lines=True)
        return MetricsLog(path)

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
        if value is None:
            return False
        return best is None or (value < best if self.task.lower_is_better else value > best)

    def _checkpoint_and_log(self, metrics: MetricsLog, bar: ProgressBar, window: list, lr: float, norm: float):
        p, task = self.progress, self.task
        val = self.evaluate()
        p.val = val or None
        value = val.get(task.metric)
        improved = self._improved(value)
        if improved:
            p.best = value
        train = task.train_metrics(sum(window) / len(window)) if window else {}
        record = {"step": p.step, "tokens": p.tokens, "elapsed": round(p.elapsed, 3), "lr": lr,
                  **train, **{f"val_{k}": v for k, v in val.items()}, "grad_norm": norm,
                  "tokens_per_sec": p.tokens / p.elapsed if p.elapsed else None}
        if metrics is not None:
            metrics.log(record)
        self.save(best=improved or not val)
        shown = "  ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in {**train, **{f"val_{k}": v for k, v in val.items()}}.items())
        bar.write(f"step {p.step:>6}  {shown}  lr {lr:.2e}" + ("  (best)" if improved else ""))

    def run(self) -> RunResult:
        cfg, p, task = self.cfg, self.progress, self.task
        main = self.runtime.is_main
        budget = cfg.minutes * 60.0 if cfg.minutes else None
        interrupted = False
        window: list[float] = []
        lr = norm = 0.0
        with ExitStack() as files:
            if main:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                write_json_atomic(self.run_dir / "config.json",
                                  {"model": {"kind": self.spec.kind, "spec": self.spec.to_json()},
                                   "task": task.meta(), "train": cfg.to_json()})
            metrics = files.enter_context(self._open_metrics()) if main else None
            stream = self.log_stream if main else files.enter_context(open(os.devnull, "w", encoding="utf-8"))
            bar = files.enter_context(ProgressBar(total_steps=cfg.steps, time_budget=budget, stream=stream,
                                                  loss_label=task.loss_label))
            try:
                started = time.monotonic() - p.elapsed
                while not self._done(p.elapsed):
                    batch, reset = task.next_batch()
                    if reset and task.carries_state:
                        self.runtime.reset_state(cfg.batch)
                    lr = self.schedule.lr_at(p.step, training_progress(p.step, cfg.steps, p.elapsed, budget))
                    loss, norm = self.runtime.train_step(batch, lr)
                    if not math.isfinite(loss):
                        raise TrainingDiverged(f"the loss became {loss} at step {p.step + 1}")
                    p.step += 1
                    p.tokens += task.batch_tokens(batch)
                    p.elapsed = self.runtime.broadcast(time.monotonic() - started)
                    window.append(loss)
                    bar.update(p.step, loss=task.display_loss(loss), tokens=p.tokens, elapsed=p.elapsed)
                    if p.step % cfg.eval_every == 0:
                        paused = time.monotonic()
                        self._checkpoint_and_log(metrics, bar, window, lr, norm)
                        window = []
                        started += time.monotonic() - paused  # evaluation is not training time
            except KeyboardInterrupt:
                interrupted = True
                bar.write("interrupted: saving a checkpoint")
            if window or p.val is None:
                self._checkpoint_and_log(metrics, bar, window, lr, norm)
        return RunResult(self.run_dir, p, interrupted)
