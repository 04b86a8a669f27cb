"""Run a trained model on inputs given on the command line or in a file (one input per line).

sentiment: the label of each text and its probability. charlm: the most likely next characters
after each text. translate: the translation of each sentence (--beam K, 1 = greedy), and with
--attention-png FILE a heat map of where the decoder looked (one file per input: FILE, FILE-2, ...).
With --json, one JSON object per input line (for sentiment at least "label" and "probability",
for translate "translation").

examples:
  rnnkit predict runs/mr "an engrossing, beautifully acted film"
  rnnkit predict runs/mr --file reviews.txt --json
  rnnkit predict runs/charlm "def " --top-k 3
  rnnkit predict runs/en-es "And God said, Let there be light: and there was light." --beam 5
  rnnkit predict runs/en-es --file verses.txt --json --attention-png attention.png
  rnnkit predict runs/caption scene.png --beam 3 --attention-png words.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from rnnkit.commands._args import positive_int
from rnnkit.commands._model import add_model_arguments, load_runtime
from rnnkit.errors import UsageError
from rnnkit.tasks import task_cli


def add_arguments(p) -> None:
    add_model_arguments(p)
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="texts to run the model on")
    p.add_argument("--file", help="read the inputs from this UTF-8 file, one per line ('-': standard input)")
    p.add_argument("--json", action="store_true", help="one JSON object per input line")
    p.add_argument("--top-k", type=positive_int, default=5, help="charlm: next characters to show (default: 5)")
    p.add_argument("--glimpses-png", metavar="FILE",
                   help="glimpse: draw the path of glimpses over each image (FILE, then FILE-2, ... for more images)")
    p.add_argument("--beam", type=positive_int, default=5,
                   help="translate, caption: beam size, 1 = greedy (default: 5)")
    p.add_argument("--attention-png", metavar="FILE",
                   help="translate: draw the attention matrix of each input (source against output pieces); "
                        "vqa: draw each attention hop over the image; caption: the attention over the "
                        "image at each word")
    p.add_argument("--strip-png", metavar="FILE",
                   help="frames: draw each clip's frames with the label predicted for each (a per-frame strip)")


def read_inputs(args) -> list[str]:
    """The inputs: the positional ones, or the lines of --file (not both)."""
    if args.file and args.inputs:
        raise UsageError("give inputs on the command line or with --file, not both")
    if not args.file:
        if not args.inputs:
            raise UsageError("nothing to predict: give one or more inputs, or --file FILE")
        return list(args.inputs)
    if args.file == "-":
        return sys.stdin.read().splitlines()
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    if not lines:
        raise UsageError(f"{path} is empty: write one input per line")
    return lines


# The task's own code is its hook module, rnnkit/tasks/<task>_cli.py (rnnkit/tasks/common_cli.py):
# this command names no task.
def run(args) -> int:
    inputs = read_inputs(args)
    checkpoint, runtime = load_runtime(args)
    task = checkpoint.task.get("name")
    hooks = task_cli(task)
    if hooks is None or not hasattr(hooks, "predict_command"):
        raise UsageError(f"{checkpoint.path} was trained on task {task!r}, which this rnnkit cannot run")
    return hooks.predict_command(checkpoint, runtime, inputs, args)
