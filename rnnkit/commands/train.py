"""Train a model on a task: the character-level language model (--task charlm, the default) or
sentiment classification (--task sentiment); `rnnkit tasks` lists them with their data.

charlm: the corpus is cut into --batch contiguous streams; each step reads the next --seq-len
characters of every stream, carries the hidden state over from the previous chunk, and
back-propagates only through the chunk (truncated BPTT). sentiment: each step reads --batch
sentences, padded to the longest (masked), and back-propagates through each whole sentence.
Checkpoints, metrics and the configuration go to the run folder (--out).

examples:
  rnnkit train --minutes 2                         # LSTM on the Python standard library's source
  rnnkit train --data kjv --cell gru --layers 2 --hidden 256 --steps 5000 --out runs/kjv
  rnnkit train --resume runs/kjv --steps 10000     # continue that run to step 10000
  rnnkit train --data my.txt --byte-mode --dropout 0.2
  rnnkit train --task sentiment --data mr --minutes 5 --out runs/mr
  rnnkit train --task sentiment --data reviews.tsv --no-bidirectional --pool mean --out runs/reviews
  rnnkit train --task frames --data moving-digits --minutes 30 --out runs/frames   # --frame-alone: the baseline
  rnnkit train --task translate --data bible-en-es --attention additive --minutes 30 --out runs/en-es
  rnnkit train --task draw --data binarized-mnist --attention --minutes 60 --out runs/draw
  rnnkit train --task caption --data scenes --attention soft --minutes 20 --out runs/caption
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import re
import signal
import sys
from dataclasses import fields, replace
from pathlib import Path

from rnnkit.cells import CELL_NAMES
from rnnkit.commands._args import (fraction, non_negative_float, non_negative_int, positive_float, positive_int,
                                   probability, seed)
from rnnkit.config import ENGINES, SCHEDULES, TrainConfig
from rnnkit.data import augment
from rnnkit.data.corpora import check_data_file
from rnnkit.errors import UsageError
from rnnkit.models import spec_class
from rnnkit.numpy_engine.optim import OPTIMIZERS
from rnnkit.tasks import TASKS, task_class
from rnnkit.training.checkpoint import LATEST, load_checkpoint
from rnnkit.training.interrupts import deferred_interrupts, take_interrupt
from rnnkit.training.runfolder import check_folder_path, open_run_folder

#: Flags a resumed run may change: budgets, how often to evaluate, and where the data is (the
#: same data at another place: the task refuses data that gives another vocabulary, length or
#: labels). Everything else must stay.
RESUMABLE = {"steps", "minutes", "eval_every", "eval_chars", "data"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--task", choices=tuple(TASKS), help="what to learn (default: charlm)")
    data = p.add_argument_group("data")
    data.add_argument("--data", help="charlm: a corpus name (stdlib, kjv, sparv, linux) or a text file "
                                     "(default: stdlib); sentiment: mr or a TSV file of label TAB text (default: mr); "
                                     "translate: bible-en-es or a TSV file of source TAB target (default: bible-en-es)")
    data.add_argument("--byte-mode", action="store_const", const="byte", dest="mode",
                      help="charlm: read the text as bytes (any file, any encoding) instead of Unicode characters")
    data.add_argument("--val-fraction", type=fraction,
                      help=f"charlm: share of the text held out for validation (default: {d.val_fraction})")
    data.add_argument("--tokens", choices=("word", "char"), help="sentiment: word or character tokens (default: word)")
    data.add_argument("--max-len", type=positive_int, help="sentiment: tokens read of each text; translate: the most "
                                                           "subword pieces of a sentence (default: 100)")
    data.add_argument("--min-count", type=positive_int,
                      help="sentiment, caption: rarer training words become <unk> (default: 1)")
    data.add_argument("--reverse", action="store_true", default=None,
                      help="translate: from the data's second column to its first (Spanish to English)")
    data.add_argument("--src-vocab", type=positive_int, dest="src_pieces",
                      help="translate: subword pieces of the source tokenizer, > 264 (default: 2000)")
    data.add_argument("--tgt-vocab", type=positive_int, dest="tgt_pieces",
                      help="translate: subword pieces of the target tokenizer, > 264 (default: 2000)")
    data.add_argument("--subword", choices=("unigram", "bpe"), help="translate: SentencePiece model type (default: unigram)")
    data.add_argument("--val-beam", type=positive_int,
                      help="translate: beam size of the validation BLEU while training, 1 = greedy (default: 1)")
    model = p.add_argument_group("model")
    model.add_argument("--cell", choices=CELL_NAMES, help="recurrent cell (default: lstm)")
    model.add_argument("--hidden", type=positive_int, help="hidden size H (default: charlm 128, sentiment 128)")
    model.add_argument("--layers", type=positive_int, help="stacked recurrent layers L (default: 1)")
    model.add_argument("--embed", type=non_negative_int, dest="embed_dim",
                       help="embedding size; charlm: 0 feeds one-hot characters (default: charlm 64, sentiment 128)")
    model.add_argument("--dropout", type=probability, help="dropout between layers and before the output "
                                                            "(default: charlm 0, sentiment 0.5)")
    model.add_argument("--highway", action="store_true", default=None, help="charlm: highway gates between stacked layers")
    model.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None,
                       help="sentiment, translate (the encoder), frames: read each sequence both ways, or one way "
                            "with --no-bidirectional (default: both; frames one way)")
    model.add_argument("--attention", choices=("none", "additive", "dot", "on", "off", "soft"), nargs="?", const="on",
                       help="translate: the decoder's attention over the source (default: additive); "
                            "draw: on (a bare --attention) or off (default: on); "
                            "caption: soft attention over the image grid at every word, or none (default: soft)")
    model.add_argument("--input-feeding", action=argparse.BooleanOptionalAction, default=None,
                       help="translate: feed the previous attentional state to the decoder (default: on)")
    model.add_argument("--tie-embeddings", action="store_true", default=None,
                       help="translate: the output layer's weight is the target embedding")
    model.add_argument("--embed-dropout", type=probability,
                       help="sentiment: dropout of the embedded words before the first layer (default: 0.3)")
    model.add_argument("--pool", choices=("last", "mean", "max"),
                       help="sentiment: the final state, or the mean or max of the states over time (default: max)")
    model.add_argument("--glimpses", type=positive_int,
                       help="glimpse: glimpses per digit (default: mnist 6, translated 6, cluttered 8, pairs 3)")
    model.add_argument("--patch", type=positive_int,
                       help="glimpse: side g of every retina patch after reduction (default: mnist 8, else 12)")
    model.add_argument("--scales", type=positive_int,
                       help="glimpse: patches per glimpse k, each --scale-factor times wider (default: mnist 1, "
                            "translated 3, cluttered 4, pairs 3)")
    model.add_argument("--scale-factor", type=positive_int, help="glimpse: ratio of neighbouring patch sides (default: 2)")
    model.add_argument("--glimpse-hidden", type=positive_int, help="glimpse: width of the what pathway (default: 128)")
    model.add_argument("--loc-hidden", type=positive_int, help="glimpse: width of the where pathway (default: 128)")
    model.add_argument("--glimpse-out", type=positive_int, help="glimpse: width of the glimpse vector (default: 256)")
    model.add_argument("--loc-std", type=positive_float,
                       help="glimpse: standard deviation of the location policy; the image spans [-1, 1] (default: 0.1)")
    model.add_argument("--dram", action=argparse.BooleanOptionalAction, default=None,
                       help="glimpse: DRAM, two recurrent layers and a context network (default: on for mnist-pairs)")
    model.add_argument("--loc-grad", action=argparse.BooleanOptionalAction, default=None,
                       help="glimpse: let the REINFORCE gradient reach the core through the location mean "
                            "(default: off for RAM, on for DRAM, which needs it)")
    model.add_argument("--hops", type=positive_int,
                       help="vqa: attention hops over the image grid, as in stacked attention networks (default: 2)")
    model.add_argument("--frame-alone", action="store_true", default=None,
                       help="frames: label each frame from itself alone, no recurrence (the baseline)")
    model.add_argument("--skip", action=argparse.BooleanOptionalAction, default=None,
                       help="frames: the head also reads each frame's own features beside the recurrent state "
                            "(default: on; --no-skip: the recurrent state alone)")
    model.add_argument("--clip-len", type=positive_int,
                       help="frames: frames a clip, or steps a watch window (default: 20; watch 200)")
    model.add_argument("--image-size", type=positive_int,
                       help="frames: side of a moving clip's frames, a multiple of 8 (default: 64); "
                            "caption: side of the pictures (default: 64)")
    model.add_argument("--augment", choices=augment.MODES,
                       help=f"caption: move each training picture by up to {augment.MAX_SHIFT} pixels at random, and "
                            "with shift-flip mirror half of them (not for captions that say left or right); "
                            "glimpse: shift moves each mnist training digit by up to 2 pixels (default: none)")
    model.add_argument("--global-feature", choices=("mean", "flat"),
                       help="caption: the feature that starts the decoder, the grid's mean over its cells (what is "
                            "in the picture) or the whole grid in place (also where) (default: mean)")
    model.add_argument("--steps-t", type=positive_int, help="draw: drawing steps T (default: 64)")
    model.add_argument("--latent", type=positive_int, help="draw: latent size of z_t (default: 100)")
    model.add_argument("--read-n", type=positive_int, help="draw: side of the read glimpse, N x N (default: 2)")
    model.add_argument("--write-n", type=positive_int, help="draw: side of the written patch, N x N (default: 5)")
    train = p.add_argument_group("training")
    train.add_argument("--seq-len", type=positive_int, help=f"charlm: time steps per chunk, T (default: {d.seq_len})")
    train.add_argument("--batch", type=positive_int, help=f"streams (charlm) or sentences (sentiment) per step, B (default: {d.batch})")
    train.add_argument("--optimizer", choices=OPTIMIZERS,
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
    budget.add_argument("--steps", type=positive_int, help="total optimizer steps of the run (default when no --minutes: "
                                                              "charlm 2000, sentiment 1000)")
    budget.add_argument("--minutes", type=positive_float, help="training time budget in minutes (evaluation time not counted)")
    budget.add_argument("--eval-every", type=positive_int, help=f"steps between validation, metrics and checkpoints (default: {d.eval_every})")
    budget.add_argument("--eval-chars", type=positive_int, help=f"charlm: validation characters per evaluation (default: {d.eval_chars:,})")
    budget.add_argument("--out", help="run folder for checkpoints and metrics (default: runs/<task>)")
    budget.add_argument("--resume", metavar="RUN_DIR", help="continue the run saved in RUN_DIR")
    budget.add_argument("--force", action="store_true", help="start afresh in --out even if it holds a run")
    budget.add_argument("--seed", type=seed, help="random seed for weights, dropout and sampling, >= 0 (default: 0)")
    budget.add_argument("--engine", choices=ENGINES, help="numpy (hand-written, the reference) or torch (default: numpy)")
    budget.add_argument("--device", default="auto", help="torch engine: auto, cpu, cuda or mps (default: auto)")
    budget.add_argument("--compile", action="store_true",
                        help="torch engine: train through torch.compile (slow to start, faster steps on GPUs)")
    budget.add_argument("--threads", type=non_negative_int,
                        help="numpy engine: worker processes (cores) the batch is split over; 0 = automatic: one per core "
                             "for H >= 64 and 8+ streams per worker (default: 0)")
    budget.add_argument("--dtype", choices=("float32", "float64"), help="parameter precision (default: float32)")
    budget.add_argument("--sample-length", type=non_negative_int, default=300,
                        help="charlm: characters to sample when training ends, 0 for none (default: 300)")


def _given(args, names) -> dict:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


#: Flags every task takes (argparse dest names). Any other flag belongs to the tasks whose ``flags``
#: name it (rnnkit/tasks/*.py); tests/cli/test_task_flags.py holds the two lists to the parser.
#: --sample-length is here because it has a default, so that every run "gives" it (only charlm samples).
COMMON_FLAGS = frozenset({
    "task", "data", "cell", "hidden", "layers", "embed_dim", "dropout", "batch", "optimizer", "lr", "schedule",
    "warmup", "lr_decay", "decay_every", "clip", "clip_mode", "steps", "minutes", "eval_every", "out", "resume",
    "force", "seed", "engine", "device", "compile", "threads", "dtype", "sample_length",
})


def _parser_actions() -> list:
    """The actions of the train command's parser (a fresh one: the options, their dest names and
    help, as the user sees them)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    return [action for action in parser._actions if action.option_strings]


def _owners(dest: str, help_text: str | None) -> list[str]:
    """The tasks that declare ``dest`` in their ``flags``, in the order the flag's help names them
    (the help says what the flag means for each), then in registry order. Imports every task:
    only called to word an error."""
    text = help_text or ""

    def mentioned_at(name: str) -> int:
        found = re.search(rf"\b{re.escape(name)}\b", text)
        return found.start() if found else len(text)

    return sorted((name for name in TASKS if dest in task_class(name).flags), key=mentioned_at)


def _check_flags_fit(args, task) -> None:
    """A flag of another task is a mistake worth saying (--pool with --task charlm): a flag given
    that is neither common (:data:`COMMON_FLAGS`) nor one of ``task.flags``. The message names the
    flag as the parser shows it (--byte-mode, whose dest is ``mode``) and the tasks that take it."""
    for action in _parser_actions():
        dest = action.dest
        if dest in COMMON_FLAGS or dest in task.flags or getattr(args, dest, None) is None:
            continue
        owners = _owners(dest, action.help)
        if owners:
            raise UsageError(f"{action.option_strings[0]} is a flag of --task {' or '.join(owners)}, "
                             f"not of --task {task.name}")


def _resolved(data: str, task_type) -> str:
    """A data file as an absolute path, so that --resume works from any folder; a source name as it
    is. A path that is not a regular file (a FIFO, a device) is refused: reading it could block."""
    path = Path(data).expanduser()
    if data in {source.name for source in task_type.sources()} or not path.exists():
        return data
    return str(check_data_file(path))


def _fresh(args):
    """(task, spec, TrainConfig) of a new run: the task's defaults, then the flags given; the spec's
    data-dependent fields (vocabulary size, classes) come from the task's data."""
    task_type = task_class(args.task or "charlm")
    _check_flags_fit(args, task_type)
    train_given = {**task_type.TRAIN_DEFAULTS, **_given(args, [f.name for f in fields(TrainConfig)])}
    if "steps" not in _given(args, ["steps"]) and "minutes" in train_given:
        train_given.pop("steps", None)
    train_given["data"] = _resolved(train_given.get("data", TrainConfig.data), task_type)
    cfg = TrainConfig(**train_given)
    task = task_type.from_flags(cfg, args)
    spec_type = spec_class(task.model_kind)
    model_given = _given(args, [f.name for f in fields(spec_type)])
    if "embed" in {f.name for f in fields(spec_type)} and getattr(args, "embed_dim", None) is not None:
        model_given["embed"] = args.embed_dim  # --embed's dest is the character model's field name
    spec = spec_type(**{**task_type.MODEL_DEFAULTS, **model_given, **task.spec_fields()})
    return task, spec, cfg


def _resumed(args, checkpoint):
    """(task, spec, TrainConfig) of a resumed run: everything as saved, but the budgets."""
    saved = TrainConfig.from_json(checkpoint.meta.get("train"))
    task_type = task_class(checkpoint.task.get("name"))
    if args.task and args.task != task_type.name:
        raise UsageError(f"the run in {checkpoint.path.parent} is a {task_type.name} run, not {args.task}")
    given = _given(args, [f.name for f in fields(TrainConfig)]) | _given(args, [f.name for f in fields(type(checkpoint.spec))])
    # Repeating the original command with --resume is fine: only a value that differs is a change.
    current = saved.to_json() | checkpoint.spec.to_json()
    if isinstance(current.get("attention"), bool) and given.get("attention") in ("on", "off"):
        given["attention"] = given["attention"] == "on"  # draw's --attention on|off is the spec's boolean
    changed = sorted(k for k, v in given.items() if k not in RESUMABLE and v != current.get(k))
    if changed:
        flags = ", ".join("--" + k.replace("_", "-") for k in changed)
        raise UsageError(f"{flags} cannot change when resuming; a resumed run keeps its configuration "
                         "(only --steps, --minutes, --eval-every, --eval-chars and where --data is may change)")
    overrides = {k: v for k, v in given.items() if k in RESUMABLE}
    if "data" in overrides:
        overrides["data"] = _resolved(overrides["data"], task_type)
    if "steps" in overrides or "minutes" in overrides:
        overrides.setdefault("steps", None)
        overrides.setdefault("minutes", None)
    cfg = replace(saved, **overrides)
    return task_type.from_checkpoint(cfg, checkpoint), checkpoint.spec, cfg


def _open_folder(run_dir: Path):
    """The run folder, locked for this run (rnnkit/training/runfolder.py); under torchrun only the
    main process (rank 0), which alone writes it, takes the lock."""
    if os.environ.get("RANK", "0") != "0":
        return contextlib.nullcontext()
    folder = open_run_folder(run_dir)
    for name in folder.removed:
        print(f"removed {run_dir / name}, left by a write that was interrupted", file=sys.stderr)
    return folder


def _ignore_ctrl_c_at_exit() -> None:
    """Run at the interpreter's exit (atexit) after a training command: the run is saved and over,
    and a Ctrl-C during the exit's clean-up (the torch engine's takes a moment) would only print a
    traceback from it or end the process by the signal. Ignored SIGINT stays ignored to the end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run(args) -> int:
    try:
        return _run(args)
    finally:
        atexit.unregister(_ignore_ctrl_c_at_exit)
        atexit.register(_ignore_ctrl_c_at_exit)  # the last registered runs first


def _run(args) -> int:
    if args.resume:
        run_dir = Path(args.resume)
        if not run_dir.is_dir():
            raise UsageError(f"--resume takes a run folder (the --out of an earlier 'rnnkit train'); "
                             f"{run_dir} is not a folder")
        if args.out and Path(args.out) != run_dir:
            raise UsageError("--out and --resume name different folders; a resumed run stays in its folder")
    else:
        run_dir = check_folder_path(args.out or f"runs/{args.task or 'charlm'}", create=False)
    with contextlib.ExitStack() as stack:
        locked = []

        def lock() -> None:
            if not locked:
                stack.enter_context(_open_folder(run_dir))
                locked.append(True)
            if not args.resume and (run_dir / LATEST).exists() and not args.force:
                raise UsageError(f"{run_dir} already holds a run; continue it with --resume {run_dir}, "
                                 "start afresh with --force, or choose another --out")

        # A folder that exists is locked at once, before anything in it is read or written; a new
        # one is created and locked once the data and flags have been checked (a refused run
        # leaves no folder behind).
        if run_dir.exists():
            lock()
        return _train(args, run_dir, lock)


def _train(args, run_dir: Path, lock) -> int:
    from rnnkit.training.loop import Trainer

    if args.resume:
        checkpoint = load_checkpoint(run_dir, prefer_best=False)
        task, spec, cfg = _resumed(args, checkpoint)
    else:
        checkpoint = None
        task, spec, cfg = _fresh(args)
        lock()  # (again: another run may have taken the folder meanwhile)
    trainer = Trainer(task, spec, cfg, run_dir, checkpoint=checkpoint, device=args.device, compile=args.compile)
    try:
        return _run_trainer(args, trainer, task, spec, cfg, checkpoint, run_dir)
    finally:
        _close(trainer.runtime)


def _close(runtime) -> None:
    """Stop the runtime's worker processes now, with Ctrl-C deferred and then dropped: at the end
    of a run it interrupts nothing, and inside the clean-up (or in a garbage collector's call of
    it) it would only print a traceback."""
    close = getattr(runtime, "close", None)
    if close is not None:
        with deferred_interrupts():
            close()
            take_interrupt()


def _run_trainer(args, trainer, task, spec, cfg, checkpoint, run_dir: Path) -> int:
    from rnnkit.generate import print_sample
    from rnnkit.training.loop import TrainingDiverged

    if not trainer.runtime.is_main:  # another process of a torchrun run: it trains in step, rank 0 reports
        try:
            return 130 if trainer.run().interrupted else 0
        except TrainingDiverged:
            return TrainingDiverged.exit_code
    out = sys.stderr
    print(f"data: {task.describe()}", file=out)
    n_params = sum(v.size for v in trainer.runtime.params_numpy().values())
    print(f"model: {spec.kind} {spec.layers} x {spec.cell} H={spec.hidden} "
          f"({', '.join(f'{k}={v}' for k, v in spec.to_json().items() if k not in ('cell', 'hidden', 'layers'))}), "
          f"{n_params:,} parameters; engine {cfg.engine}", file=out)
    limit = " and ".join(x for x in (cfg.steps and f"{cfg.steps} steps", cfg.minutes and f"{cfg.minutes:g} min") if x)
    start = f" from step {trainer.progress.step}" if checkpoint else ""
    print(f"training{start} for {limit}: batch {cfg.batch}, {cfg.optimizer} lr {cfg.lr:g} "
          f"({trainer.schedule.kind} schedule), clip {cfg.clip:g}; run folder {run_dir}", file=out)
    try:
        result = trainer.run()
    except TrainingDiverged as exc:
        saved = (f"the last good checkpoint (step {trainer._saved_step}) is in {run_dir}"
                 if trainer._saved_step is not None else "nothing was saved")
        raise TrainingDiverged(f"training diverged: {exc}; try a lower --lr or a --clip; {saved}") from None
    p = result.progress
    if result.interrupted and trainer._saved_step is None:
        print("interrupted before the first step: nothing was saved", file=out)
        return 130
    metric = task.metric
    best = f", best {metric} {p.best:.4f}" if p.best is not None else ""
    val = "  ".join(f"{k} {v:.4f}" for k, v in (p.val or {}).items() if isinstance(v, (int, float))) or "n/a"
    unit = task.rate_unit.split("/")[0]  # chars, tokens
    sampling = task.name == "charlm" and args.sample_length
    if not result.interrupted and not sampling:
        # Everything is saved and nothing is left but closing the workers and the run folder: from
        # here a Ctrl-C changes nothing, and cli.main ends with this code instead of "interrupted".
        args.finished_code = 0
    print(f"done: step {p.step}, {p.tokens:,} {unit} in {p.elapsed:.0f} s "
          f"({p.tokens / max(p.elapsed, 1e-9):,.0f} {task.rate_unit}); validation {val}{best}", file=out)
    if result.interrupted:
        print(f"resume with: rnnkit train --resume {run_dir}", file=out)
        return 130
    if sampling:
        print("sample:", file=out)
        print_sample(trainer.runtime, task.vocab, length=args.sample_length, seed=cfg.seed)
        args.finished_code = 0
    return 0
