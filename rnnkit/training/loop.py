"""The training loop for character models: truncated BPTT over contiguous streams, any engine.

    for each step:
        (x, y) = the next (B, T) chunk of the B streams       (state carried from the last chunk)
        loss   = runtime.train_step(x, y, lr(step, progress))  (backprop stops at the chunk border)
        every --eval-every steps: validation bpc, metrics line, checkpoint (and best.npz)

The loop knows the engine only through the runtime interface (rnnkit/numpy_engine/runtime.py).
Budgets (--steps, --minutes) count the whole run across resumes; time spent evaluating and saving
does not count as training time.

Under torchrun (the torch engine's data-parallel training) every process runs this loop in lockstep;
only the main process (``runtime.is_main``) writes the run folder and draws the progress bar, and
all processes use the main process's clock, so they stop, and schedule the learning rate, together.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from rnnkit.config import ModelConfig, TrainConfig
from rnnkit.data.corpora import Corpus, load_corpus
from rnnkit.data.streams import TBPTTStream
from rnnkit.runtime import make_runtime
from rnnkit.errors import UsageError
from rnnkit.training.checkpoint import BEST, LATEST, Checkpoint, save_checkpoint
from rnnkit.training.evaluate import evaluate_tokens
from rnnkit.training.metrics import MetricsLog, bits_per_char, read_metrics
from rnnkit.training.progress import ProgressBar
from rnnkit.training.runfiles import write_json_atomic
from rnnkit.training.schedule import LRSchedule, training_progress


class TrainingDiverged(Exception):
    """The loss became NaN or infinite."""


def make_schedule(cfg: TrainConfig) -> LRSchedule:
    """The learning-rate schedule a configuration asks for.

    ``auto``, when only --minutes bounds the run, holds the rate and decays it linearly over the
    last 20% of the time (``wsd``): in runs this short the model is far from converged, and a rate
    that stays high for longer learns more (measured on KJV, LSTM 256 x 2, 1264 steps: cosine
    decay from 3e-3 reached 2.11 bpc, a constant 3e-3 2.04). Otherwise ``auto`` decays
    exponentially with the step, a function of the step alone, so that ``--resume RUN --steps 2N``
    repeats a 2N-step run exactly.
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
    elapsed: float = 0.0  # seconds of training, across resumes
    best_bpc: float | None = None
    val_bpc: float | None = None


@dataclass
class RunResult:
    run_dir: Path
    progress: Progress
    interrupted: bool
    corpus: Corpus


class Trainer:
    """Trains one run: owns the corpus, the runtime, the stream, the schedule and the run folder."""

    def __init__(self, model_config: ModelConfig, cfg: TrainConfig, run_dir, checkpoint: Checkpoint | None = None,
                 log_stream=None, corpus: Corpus | None = None, device: str = "auto", compile: bool = False):
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.corpus = corpus or load_corpus(cfg.data, cfg.mode, val_fraction=cfg.val_fraction)
        if checkpoint is not None and checkpoint.vocab != self.corpus.vocab:
            raise UsageError(f"the data {cfg.data!r} has a different vocabulary from the checkpoint's; "
                             "resume with the data the run was trained on")
        self.corpus.check_length(cfg.batch, cfg.seq_len)
        self.model_config = replace(model_config, vocab_size=len(self.corpus.vocab))
        params = checkpoint.params if checkpoint is not None else None
        self.runtime = make_runtime(cfg.engine, self.model_config, cfg, params=params, seed=cfg.seed,
                                    device=device, compile=compile)
        self.stream = TBPTTStream(self.corpus.train, cfg.batch, cfg.seq_len)
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
            self.stream.load_state_dict(meta["stream"])
            self.progress = Progress(**meta["progress"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"{checkpoint.path} cannot be resumed: its training state is incomplete "
                             f"or damaged ({type(exc).__name__}: {exc})") from None

    def save(self, best: bool = False) -> None:
        """Write checkpoint.npz (everything an exact resume needs) and, when asked, best.npz."""
        runtime_js, arrays = self.runtime.export()  # every process: it may gather from all of them
        if not self.runtime.is_main:
            return
        meta = {
            "model": self.model_config.to_json(),
            "vocab": self.corpus.vocab.to_json(),
            "train": self.cfg.to_json(),
            "schedule": self.schedule.to_json(),
            "progress": asdict(self.progress),
            "stream": self.stream.state_dict(),
            "runtime": runtime_js,
        }
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

    def evaluate(self) -> float | None:
        """Validation bits per character over the first --eval-chars characters of the held-out part."""
        if len(self.corpus.val) < 2:
            return None
        nats, count = evaluate_tokens(self.runtime, self.corpus.val, max_chars=self.cfg.eval_chars)
        return bits_per_char(nats, count)

    def _checkpoint_and_log(self, metrics: MetricsLog, bar: ProgressBar, window: list, lr: float, norm: float):
        p = self.progress
        val = self.evaluate()
        p.val_bpc = val
        improved = val is not None and (p.best_bpc is None or val < p.best_bpc)
        if improved:
            p.best_bpc = val
        train_bpc = sum(window) / len(window) / math.log(2.0) if window else None
        record = {"step": p.step, "tokens": p.tokens, "elapsed": round(p.elapsed, 3), "lr": lr,
                  "train_bpc": train_bpc, "val_bpc": val, "grad_norm": norm,
                  "chars_per_sec": p.tokens / p.elapsed if p.elapsed else None}
        if metrics is not None:
            metrics.log(record)
        self.save(best=improved or val is None)
        shown = f"{val:.4f}" if val is not None else "n/a"
        bar.write(f"step {p.step:>6}  train bpc {train_bpc:.4f}  val bpc {shown}  lr {lr:.2e}"
                  + ("  (best)" if improved else ""))

    def run(self) -> RunResult:
        cfg, p = self.cfg, self.progress
        main = self.runtime.is_main
        budget = cfg.minutes * 60.0 if cfg.minutes else None
        interrupted = False
        window: list[float] = []
        lr = norm = 0.0
        with ExitStack() as files:
            if main:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                write_json_atomic(self.run_dir / "config.json",
                                  {"model": self.model_config.to_json(), "train": cfg.to_json()})
            metrics = files.enter_context(self._open_metrics()) if main else None
            stream = self.log_stream if main else files.enter_context(open(os.devnull, "w", encoding="utf-8"))
            bar = files.enter_context(ProgressBar(total_steps=cfg.steps, time_budget=budget, stream=stream,
                                                       loss_label="bpc"))
            try:
                started = time.monotonic() - p.elapsed
                while not self._done(p.elapsed):
                    if self.stream.at_start:
                        self.runtime.reset_state(cfg.batch)
                    x, y = self.stream.next_batch()
                    lr = self.schedule.lr_at(p.step, training_progress(p.step, cfg.steps, p.elapsed, budget))
                    loss, norm = self.runtime.train_step(x, y, lr)
                    if not math.isfinite(loss):
                        raise TrainingDiverged(f"the loss became {loss} at step {p.step + 1}")
                    p.step += 1
                    p.tokens += int(x.size)
                    p.elapsed = self.runtime.broadcast(time.monotonic() - started)
                    window.append(loss)
                    bar.update(p.step, loss=loss / math.log(2.0), tokens=p.tokens, elapsed=p.elapsed)
                    if p.step % cfg.eval_every == 0:
                        paused = time.monotonic()
                        self._checkpoint_and_log(metrics, bar, window, lr, norm)
                        window = []
                        started += time.monotonic() - paused  # evaluation is not training time
            except KeyboardInterrupt:
                interrupted = True
                bar.write("interrupted: saving a checkpoint")
            if window or p.val_bpc is None:
                self._checkpoint_and_log(metrics, bar, window, lr, norm)
        return RunResult(self.run_dir, p, interrupted, self.corpus)
