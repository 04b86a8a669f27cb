"""Loading a trained model from a checkpoint into the engine the user asked for."""

from __future__ import annotations

from rnnkit.config import ENGINES
from rnnkit.runtime import default_engine, make_runtime
from rnnkit.training.checkpoint import load_checkpoint


def add_model_arguments(p) -> None:
    # dest "checkpoint", not "run": the CLI keeps each command's run function in args.run.
    p.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT",
                   help="a run folder (its best.npz, else checkpoint.npz) or a checkpoint file")
    p.add_argument("--engine", choices=ENGINES,
                   help="engine to run the model with (default: numpy, which needs nothing but NumPy)")
    p.add_argument("--device", default="auto", help="torch engine: auto, cpu, cuda or mps (default: auto)")


def load_runtime(args, path=None):
    """(checkpoint, runtime) for ``path`` (default: ``args.checkpoint``) on ``args.engine`` (NumPy
    unless the user names torch) and ``args.device``; only the parameters are read, not the
    training state."""
    checkpoint = load_checkpoint(args.checkpoint if path is None else path, training_state=False)
    engine = args.engine or default_engine()
    runtime = make_runtime(engine, checkpoint.spec, params=checkpoint.params, device=args.device)
    return checkpoint, runtime
