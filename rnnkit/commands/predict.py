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

import json
import sys
from pathlib import Path

import numpy as np

from rnnkit.commands._args import positive_int
from rnnkit.commands._model import add_model_arguments, load_runtime
from rnnkit.errors import UsageError
from rnnkit.sampling import softmax


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


def _sentiment(checkpoint, runtime, inputs, args) -> list[dict]:
    from rnnkit.tasks.sentiment import SentimentReader

    return SentimentReader.from_checkpoint(checkpoint).predict(runtime, inputs)


def _charlm(checkpoint, runtime, inputs, args) -> list[dict]:
    vocab = checkpoint.vocab
    results = []
    for i, text in enumerate(inputs, start=1):
        if not text:
            raise UsageError(f"input {i} is empty: give text to continue")
        ids = vocab.encode(text)  # a UsageError names characters outside the vocabulary
        state = runtime.init_state(1)
        for token in ids:
            logits, state = runtime.step_logits(np.array([token]), state)
        probs = softmax(logits[0])
        top = np.argsort(-probs)[: min(args.top_k, len(probs))]
        results.append({"next": [{"char": vocab.decode([k]), "probability": float(probs[k])} for k in top]})
    return results


def _translate(checkpoint, runtime, inputs, args) -> list[dict]:
    from rnnkit.tasks.translate import translator_from_checkpoint

    translator = translator_from_checkpoint(checkpoint)
    results = translator.translate(runtime, inputs, beam=args.beam, with_ids=True)
    if args.attention_png:
        from rnnkit.viz.attention_map import draw_attention

        base = Path(args.attention_png)
        for i, result in enumerate(results, start=1):
            src, out = result["source_ids"], result["ids"]
            weights = translator.attention(runtime, src, out)
            path = base if i == 1 else base.with_name(f"{base.stem}-{i}{base.suffix}")
            draw_attention(weights, translator.source.pieces(src), translator.target.pieces(out) + ["<eos>"],
                           path, title=result["translation"][:80])
            result["attention_png"] = str(path)
    for result in results:
        del result["source_ids"], result["ids"]
    return results


def _frames(checkpoint, runtime, inputs, args) -> list[dict]:
    from rnnkit.tasks.frames_reader import FramesReader

    reader = FramesReader.from_checkpoint(checkpoint)
    clips = [reader.read_clip(path) for path in inputs]  # every file checked before any is run
    results = [reader.predict(runtime, clip) for clip in clips]
    if getattr(args, "strip_png", None):
        from rnnkit.viz.frame_strip import draw_frame_strip

        base = Path(args.strip_png)
        for i, (path, clip, result) in enumerate(zip(inputs, clips, results), start=1):
            out = base if i == 1 else base.with_name(f"{base.stem}-{i}{base.suffix}")
            draw_frame_strip(clip, result["labels"], result["probabilities"], out, reader.class_names, title=path)
            result["strip_png"] = str(out)
    return results


PREDICTORS = {"charlm": _charlm, "sentiment": _sentiment, "translate": _translate, "frames": _frames}


def _glimpse(checkpoint, runtime, inputs, args) -> list[dict]:
    from rnnkit.tasks.glimpse_reader import predict

    return predict(checkpoint, runtime, inputs, getattr(args, "glimpses_png", None))


PREDICTORS["glimpse"] = _glimpse


def run(args) -> int:
    inputs = read_inputs(args)
    checkpoint, runtime = load_runtime(args)
    task = checkpoint.task.get("name")
    if task == "vqa":  # pairs of an image and a question (rnnkit/tasks/vqa_cli.py)
        from rnnkit.tasks.vqa_cli import predict_command

        return predict_command(checkpoint, runtime, inputs, args)
    if task == "caption":  # images (rnnkit/tasks/caption_cli.py)
        from rnnkit.tasks.caption_cli import predict_command as caption_images

        return caption_images(checkpoint, runtime, inputs, args)
    if task not in PREDICTORS:
        raise UsageError(f"{checkpoint.path} was trained on task {task!r}, which this rnnkit cannot run")
    for text, result in zip(inputs, PREDICTORS[task](checkpoint, runtime, inputs, args)):
        if args.json:
            print(json.dumps({"input": text, **result}, ensure_ascii=False))
        elif task == "sentiment":
            print(f"{result['label']:<8} {result['probability']:.4f}  {text}")
        elif task == "translate":
            print(result["translation"])
        elif task == "frames":
            print(f"{text}: {' '.join(result['labels'])}")
        elif task == "glimpse":
            print(f"{text}: {result['digits']} ({result['probability']:.4f})"
                  + (f"; glimpses drawn in {result['glimpses_png']}" if "glimpses_png" in result else ""))
        else:
            shown = "  ".join(f"{c['char']!r} {c['probability']:.3f}" for c in result["next"])
            print(f"{text!r} -> {shown}")
    return 0
