"""Evaluate a trained model: the metrics of its task on a split of its data, or on other data.

charlm: bits per character. The text is read as --batch contiguous streams with the hidden state
carried along, so every character is predicted from all the text before it in its stream.
sentiment: accuracy and mean cross-entropy. translate: sacrebleu's BLEU and chrF of the
detokenised translations (--beam K, 1 = greedy) against the raw references, with the token loss
and perplexity. The JSON keys (--json) are the metric names.

examples:
  rnnkit eval runs/charlm                           # the run's own held-out text
  rnnkit eval runs/charlm --data notes.txt --json   # all of another text
  rnnkit eval runs/mr --split test --json           # sentiment: the test split
  rnnkit eval runs/en-es --split test --beam 5 --json   # translate: BLEU and chrF
  rnnkit eval runs/caption --split test --beam 3 --json  # caption: bleu1..bleu4 (+ relations_correct)
  rnnkit eval runs/tux-0 --ensemble runs/tux-1 runs/tux-2 --beam 3 --length-penalty 0.5   # caption ensemble
"""

from __future__ import annotations

import json
import time

from rnnkit.commands._args import non_negative_float, positive_int
from rnnkit.commands._model import add_model_arguments, load_runtime
from rnnkit.errors import UsageError
from rnnkit.tasks import task_cli


def add_arguments(p) -> None:
    add_model_arguments(p)
    p.add_argument("--data", help="other data than the run's: a corpus name or text file (charlm), "
                                  "mr or a TSV file (sentiment), scenes, tuxpaint or coco:DIR (caption)")
    p.add_argument("--split", choices=("all", "train", "val", "test"),
                   help="which part: charlm val (held out in training) or all; sentiment train, val or test "
                        "(default: val; all with charlm --data)")
    p.add_argument("--batch", type=positive_int, default=64, help="charlm: parallel streams (default: 64)")
    p.add_argument("--seq-len", type=positive_int, default=128, help="charlm: steps per chunk (default: 128)")
    p.add_argument("--beam", type=positive_int, default=5,
                   help="translate, caption: beam size, 1 = greedy (default: 5)")
    p.add_argument("--ensemble", nargs="+", metavar="RUN", default=[],
                   help="caption: more runs (folders or checkpoints) of the same data and vocabulary that "
                        "decode together with the first, averaging their word probabilities at every step")
    p.add_argument("--length-penalty", type=non_negative_float, metavar="ALPHA",
                   help="caption: GNMT length normalisation of beam search, log P / ((5 + n) / 6) ** ALPHA; "
                        "larger favours longer captions (default: 0, rank by log P)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")


# The task's own code is its hook module, rnnkit/tasks/<task>_cli.py (rnnkit/tasks/common_cli.py):
# this command names no task.
def run(args) -> int:
    checkpoint, runtime = load_runtime(args)
    task = checkpoint.task.get("name")
    hooks = task_cli(task)
    if hooks is None:
        raise UsageError(f"{checkpoint.path} was trained on task {task!r}, which this rnnkit cannot evaluate")
    given = [flag for flag, value in (("--ensemble", args.ensemble), ("--length-penalty", args.length_penalty))
             if value not in (None, [])]
    if given and task != "caption":
        raise UsageError(f"{' and '.join(given)} {'are' if len(given) > 1 else 'is'} for caption runs; "
                         f"{checkpoint.path} was trained on task {task!r}")
    start = time.perf_counter()
    result = hooks.evaluate_command(args, checkpoint, runtime)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({**result, "checkpoint": str(checkpoint.path), "seconds": round(seconds, 3)}))
        return 0
    print(f"{hooks.describe(result)}; checkpoint {checkpoint.path}")
    return 0
