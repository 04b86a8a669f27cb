"""Quality benchmarks run rnnkit as a user does: ``rnnkit train ... --out RUN`` in a subprocess,
then ``rnnkit eval RUN --split test --json``, and read the JSON and RUN/metrics.jsonl.

One copy of that for caption_quality.py, draw_quality.py, frames_quality.py, glimpse_quality.py
and vqa.py. Standard library only, so it may be imported before the thread count is set.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rnnkit(args: list[str], what: str, *, live: bool = False, nice: int = 0, indent: str = "") -> str:
    """Run ``rnnkit ARGS`` in the repository root and return what it printed on stdout.

    The command is printed first (``$ rnnkit ...``, after ``indent``) so that any row can be
    repeated by hand. ``live`` lets its output through to the terminal (a long training shows its
    progress) instead of capturing it; ``nice`` lowers its priority. A failure ends the benchmark
    with ``<what> failed:`` and the end of the command's stderr (when captured).
    """
    print(f"{indent}$ rnnkit " + " ".join(args), flush=True)
    command = [sys.executable, "-m", "rnnkit", *args]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    done = subprocess.run(command, capture_output=not live, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:] if done.stderr else f'exit {done.returncode}'}")
    return done.stdout


def train_then_eval(train_args: list[str], run: Path, eval_args: tuple = (), **how) -> tuple[dict, float]:
    """``rnnkit train TRAIN_ARGS`` (which writes ``run``), then ``rnnkit eval RUN --split test
    EVAL_ARGS --json``. Returns (the eval JSON, wall seconds of the training command). ``how``:
    :func:`rnnkit`'s live, nice, indent, for both commands."""
    start = time.perf_counter()
    rnnkit(["train", *train_args], "training", **how)
    seconds = time.perf_counter() - start
    evaluated = rnnkit(["eval", str(run), "--split", "test", *eval_args, "--json"], "evaluation",
                       **{**how, "live": False})
    return json.loads(evaluated), seconds


def engine_flags(args) -> list[str]:
    """The train flags that place a run: ``--device`` for the torch engine, else the NumPy
    engine's ``--threads`` (a script's --workers; 0 lets rnnkit choose)."""
    return ["--device", args.device] if args.engine == "torch" else ["--threads", str(args.workers)]


def metrics(run: Path) -> list[dict]:
    """The records of RUN/metrics.jsonl, in order (one a logged step or evaluation)."""
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
