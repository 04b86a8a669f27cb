"""``rnnkit eval`` and ``rnnkit predict`` for VQA runs (the hooks of rnnkit/tasks/common_cli.py,
which rnnkit/commands/eval.py and predict.py call for a VQA checkpoint).

predict reads pairs: ``rnnkit predict RUN IMAGE QUESTION [IMAGE QUESTION ...]``, or with
``--file`` one ``IMAGE<TAB>QUESTION`` a line. ``--attention-png FILE`` draws each pair's attention
hops over its image (FILE, then FILE-2, ... for more pairs).
"""

from __future__ import annotations

import json
from pathlib import Path

from rnnkit.errors import UsageError
from rnnkit.tasks.common_cli import Quiet, numbered_path


def evaluate_command(args, checkpoint, runtime) -> dict:
    """Accuracy overall and per question type on ``--split`` (val by default) of the run's data,
    or of ``--data`` (easy-VQA at another place)."""
    from rnnkit.tasks.vqa import VQATask

    split = args.split or "val"
    if split == "all":
        raise UsageError("easy-VQA has the splits train, val (held-out training images) and test")
    cfg = checkpoint.train_config(batch=1)
    task = VQATask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split)
    return {**metrics, "count": len(task.splits[split]), "data": args.data or cfg.data, "split": split}


def describe(result: dict) -> str:
    types = ", ".join(f"{k} {result[k]:.4f}" for k in ("yesno", "color", "shape") if k in result)
    return (f"accuracy {result['accuracy']:.4f} ({types}), loss {result['loss']:.4f} nats over "
            f"{result['count']:,} questions of {result['data']} ({result['split']})")


def read_pairs(inputs: list[str], from_file: bool) -> list[tuple[str, str]]:
    """(image, question) pairs from the positional inputs or the lines of --file."""
    if from_file:
        pairs = []
        for i, line in enumerate(inputs, start=1):
            image, tab, question = line.partition("\t")
            if not tab:
                raise UsageError(f"line {i} of --file has no TAB: write IMAGE<TAB>QUESTION")
            pairs.append((image, question))
        return pairs
    if len(inputs) % 2:
        raise UsageError("give an image and a question (IMAGE QUESTION [IMAGE QUESTION ...]); "
                         f"got {len(inputs)} inputs")
    return list(zip(inputs[0::2], inputs[1::2]))


def predict_command(checkpoint, runtime, inputs: list[str], args) -> int:
    from rnnkit.tasks.vqa_reader import VQAReader

    reader = VQAReader.from_checkpoint(checkpoint)
    pairs = read_pairs(inputs, bool(getattr(args, "file", None)))
    results = reader.predict(runtime, pairs)
    base = Path(args.attention_png) if getattr(args, "attention_png", None) else None
    for i, ((image, question), result) in enumerate(zip(pairs, results), start=1):
        if base is not None:
            from rnnkit.viz.vqa_attention import draw_vqa_attention

            path = numbered_path(base, i)
            draw_vqa_attention(reader.read_image(image, warn=Quiet()), result["attention"], path, question,
                               result["answer"])
            result["attention_png"] = str(path)
        if args.json:
            print(json.dumps({"image": image, "question": question, **result}, ensure_ascii=False))
        else:
            print(f"{result['answer']:<10} {result['probability']:.4f}  {image}: {question}"
                  + (f"; attention drawn in {result['attention_png']}" if "attention_png" in result else ""))
    return 0
