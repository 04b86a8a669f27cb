"""Train a character-level language model with truncated backpropagation through time.

The corpus is cut into --batch contiguous streams; each step reads the next --seq-len characters
of every stream, carries the hidden state over from the previous chunk, and back-propagates only
through the chunk. Checkpoints, metrics and the configuration go to the run folder (--out).

examples:
  rnnkit train --minutes 2                         # LSTM on the Python standard library's source
  rnnkit train --data kjv --cell gru --layers 2 --hidden 256 --steps 5000 --out runs/kjv
  rnnkit train --resume runs/kjv --steps 10000     # continue that run to step 10000
  rnnkit train --data my.txt --byte-mode --dropout 0.2
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields, replace
from pathlib import Path

from rnnkit.commands._args import fraction, non_negative_float, non_negative_int, positive_float, positive_int, probability
from rnnkit.config import CELLS, ENGINES, SCHEDULES, ModelConfig, TrainConfig
from rnnkit.errors import UsageError
from rnnkit.training.checkpoint import LATEST, load_checkpoint

DEFAULT_STEPS = 2000
DEFAULT_EMBED = 64  # learns faster than one-hot input at no cost in speed (see docs/charlm.md)
DEFAULT_OUT = "runs/charlm"
#: Flags a resumed run may change: budgets and how often to evaluate. Everything else must stay.
RESUMABLE = {"steps", "minutes", "eval_every", "eval_chars"}
MODEL_FLAGS = {"cell", "hidden", "layers", "embed_dim", "dropout", "highway"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    m = ModelConfig(vocab_size=1)  # defaults of the shape fields
    data = p.add_argument_group("data")
    data.add_argument("--data", help=f"a corpus name (stdlib, kjv, sparv) or a text file (default: {d.data})")
    data.add_argument("--byte-mode", action="store_const", const="byte", dest="mode",
                      help="read the text as bytes (any file, any encoding) instead of Unicode characters")
    data.add_argument("--val-fraction", type=fraction, help=f"share of the text held out for validation (default: {d.val_fraction})")
    model = p.add_argument_group("model")
    model.add_argument("--cell", choices=CELLS,
                       help=f"recurrent cell; lnlstm, mingru and minlstm need --engine torch (default: {m.cell})")
    model.add_argument("--hidden", type=positive_int, help=f"hidden size H (default: {m.hidden})")
    model.add_argument("--layers", type=positive_int, help=f"stacked recurrent layers L (default: {m.layers})")
    model.add_argument("--embed", type=non_negative_int, dest="embed_dim",
                       help=f"embedding size; 0 feeds one-hot characters (default: {DEFAULT_EMBED})")
    model.add_argument("--dropout", type=probability, help="dropout between layers and before the output (default: 0)")
    model.add_argument("--highway", action="store_true", default=None,
                       help="highway gates between stacked layers (needs --engine torch)")
    train = p.add_argument_group("training")
    train.add_argument("--seq-len", type=positive_int, help=f"time steps per chunk, T (default: {d.seq_len})")
    train.add_argument("--batch", type=positive_int, help=f"parallel streams, B (default: {d.batch})")
    train.add_argument("--optimizer", choices=("sgd", "momentum", "adagrad", "rmsprop", "adam"),
                       help=f"(default: {d.optimizer})")
    train.add_argument("--lr", type=positive_float, help=f"peak learning rate (default: {d.lr})")
    train.add_argument("--schedule", choices=SCHEDULES,
                       help="learning-rate schedule; auto = wsd (hold, then decay over the last 20%%) for a --minutes budget, else exponential decay (default: auto)")
    train.add_argument("--warmup", type=non_negative_int, help=f"steps of linear warm-up (default: {d.warmup})")
    train.add_argument("--lr-decay", type=positive_float, help=f"exp schedule: factor per --decay-every steps (default: {d.lr_decay})")
    train.add_argument("--decay-every", type=positive_float, help=f"exp schedule: steps per --lr-decay (default: {d.decay_every:g})")
    train.add_argument("--clip", type=non_negative_float, help=f"gradient clipping threshold, 0 for none (default: {d.clip})")
    train.add_argument("--clip-mode", choices=("norm", "value"), help="clip the global norm or each value (default: norm)")
    budget = p.add_argument_group("budget, evaluation and output")
    budget.add_argument("--steps", type=positive_int, help=f"total optimizer steps of the run (default: {DEFAULT_STEPS} when no --minutes)")
    budget.add_argument("--minutes", type=positive_float, help="training time budget in minutes (evaluation time not counted)")
    budget.add_argument("--eval-every", type=positive_int, help=f"steps between validation, metrics and checkpoints (default: {d.eval_every})")
    budget.add_argument("--eval-chars", type=positive_int, help=f"validation characters per evaluation (default: {d.eval_chars:,})")
    budget.add_argument("--out", help=f"run folder for checkpoints and metrics (default: {DEFAULT_OUT})")
    budget.add_argument("--resume", metavar="RUN_DIR", help="continue the run saved in RUN_DIR")
    budget.add_argument("--force", action="store_true", help="start afresh in --out even if it holds a run")
    budget.add_argument("--seed", type=int, help="random seed for weights, dropout and sampling (default: 0)")
    budget.add_argument("--engine", choices=ENGINES, help="numpy (hand-written, the reference) or torch (default: numpy)")
    budget.add_argument("--device", default="auto", help="torch engine: auto, cpu, cuda or mps (default: auto)")
    budget.add_argument("--compile", action="store_true",
                        help="torch engine: train through torch.compile (slow to start, faster steps on GPUs)")
    budget.add_argument("--threads", type=non_negative_int,
                        help="numpy engine: worker processes (cores) the batch is split over; 0 = automatic: one per core "
                             "for H >= 64 and 8+ streams per worker (default: 0)")
    budget.add_argument("--dtype", choices=("float32", "float64"), help="parameter precision (default: float32)")
    budget.add_argument("--sample-length", type=non_negative_int, default=300,
                        help="characters to sample when training ends, 0 for none (default: 300)")


def _given(args, names) -> dict:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def _fresh_configs(args):
    train_given = _given(args, [f.name for f in fields(TrainConfig)])
    if "steps" not in train_given and "minutes" not in train_given:
        train_given["steps"] = DEFAULT_STEPS
    model_given = {"embed_dim": DEFAULT_EMBED, **_given(args, MODEL_FLAGS)}
    # vocab_size is a placeholder until the corpus is read (the trainer fills it in).
    return ModelConfig(vocab_size=1, **model_given), TrainConfig(**train_given)


def _resumed_configs(args, checkpoint):
    saved = TrainConfig.from_json(checkpoint.meta["train"])
    given = _given(args, [f.name for f in fields(TrainConfig)]) | _given(args, MODEL_FLAGS)
    # Repeating the original command with --resume is fine: only a value that differs is a change.
    current = saved.to_json() | checkpoint.model_config.to_json()
    changed = sorted(k for k, v in given.items() if k not in RESUMABLE and v != current.get(k))
    if changed:
        flags = ", ".join("--" + k.replace("_", "-") for k in changed)
        raise UsageError(f"{flags} cannot change when resuming; a resumed run keeps its configuration "
                         "(only --steps, --minutes, --eval-every and --eval-chars may change)")
    overrides = {k: v for k, v in given.items() if k in RESUMABLE}
    if "steps" in overrides or "minutes" in overrides:
        overrides.setdefault("steps", None)
        overrides.setdefault("minutes", None)
    return checkpoint.model_config, replace(saved, **overrides)


def run(args) -> int:
    from rnnkit.training.loop import Trainer, TrainingDiverged
    from rnnkit.generate import print_sample

    if args.resume:
        run_dir = Path(args.resume)
        if not run_dir.is_dir():
            raise UsageError(f"--resume takes a run folder (the --out of an earlier 'rnnkit train'); "
                             f"{run_dir} is not a folder")
        if args.out and Path(args.out) != run_dir:
            raise UsageError("--out and --resume name different folders; a resumed run stays in its folder")
        checkpoint = load_checkpoint(run_dir, prefer_best=False)
        model_config, cfg = _resumed_configs(args, checkpoint)
    else:
        run_dir = Path(args.out or DEFAULT_OUT)
        if (run_dir / LATEST).exists() and not args.force:
            raise UsageError(f"{run_dir} already holds a run; continue it with --resume {run_dir}, "
                             "start afresh with --force, or choose another --out")
        checkpoint = None
        model_config, cfg = _fresh_configs(args)
    trainer = Trainer(model_config, cfg, run_dir, checkpoint=checkpoint, device=args.device, compile=args.compile)
    if not trainer.runtime.is_main:  # another process of a torchrun run: it trains in step, rank 0 reports
        try:
            return 130 if trainer.run().interrupted else 0
        except TrainingDiverged:
            return 1
    out = sys.stderr
    print(f"data: {trainer.corpus.describe()}", file=out)
    mc = trainer.model_config
    n_params = sum(v.size for v in trainer.runtime.params_numpy().values())
    print(f"model: {mc.layers} x {mc.cell} H={mc.hidden} V={mc.vocab_size} "
          f"({'one-hot' if not mc.embed_dim else f'embedding {mc.embed_dim}'}), {n_params:,} parameters; "
          f"engine {cfg.engine}", file=out)
    limit = " and ".join(x for x in (cfg.steps and f"{cfg.steps} steps", cfg.minutes and f"{cfg.minutes:g} min") if x)
    start = f" from step {trainer.progress.step}" if checkpoint else ""
    print(f"training{start} for {limit}: batch {cfg.batch} x seq-len {cfg.seq_len}, {cfg.optimizer} "
          f"lr {cfg.lr:g} ({trainer.schedule.kind} schedule), clip {cfg.clip:g}; run folder {run_dir}", file=out)
    try:
        result = trainer.run()
    except TrainingDiverged as exc:
        print(f"rnnkit train: error: {exc}; try a lower --lr or --clip. The last good checkpoint "
              f"is in {run_dir}", file=sys.stderr)
        return 1
    p = result.progress
    best = f", best {p.best_bpc:.4f}" if p.best_bpc is not None else ""
    val = f"{p.val_bpc:.4f}" if p.val_bpc is not None else "n/a"
    print(f"done: step {p.step}, {p.tokens:,} characters in {p.elapsed:.0f} s "
          f"({p.tokens / max(p.elapsed, 1e-9):,.0f} chars/s); validation bpc {val}{best}", file=out)
    if result.interrupted:
        print(f"resume with: rnnkit train --resume {run_dir}", file=out)
        return 130
    if args.sample_length:
        print("sample:", file=out)
        print_sample(trainer.runtime, trainer.corpus.vocab, length=args.sample_length, seed=cfg.seed)
    return 0
