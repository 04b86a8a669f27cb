"""``rnnkit eval`` and ``rnnkit predict`` for captioning runs (called from rnnkit/commands/eval.py
and predict.py, which dispatch on the checkpoint's task).

eval: BLEU-1..4 (``bleu1``..``bleu4``, sacrebleu corpus BLEU, 0-100), the loss and, for scenes,
``relations_correct`` on ``--split`` (val by default) of the run's data or of ``--data``, decoded
with ``--beam K`` (1 = greedy) and ``--length-penalty ALPHA``; ``--ensemble RUN ...`` decodes with
more runs of the same vocabulary together (rnnkit/inference/ensemble.py). predict:
``rnnkit predict RUN IMAGE [IMAGE ...]`` prints each image's caption (a model trained on feature
grids takes ``.npy`` grid files instead of PNGs); ``--attention-png FILE`` draws where the model
looked at each word (FILE, then FILE-2, ... for more images; over a grid's feature norms where there
is no picture).
"""

from __future__ import annotations

import json
from pathlib import Path

from rnnkit.errors import UsageError
from rnnkit.tasks.common_cli import numbered_path


def evaluate_command(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.caption import ALPHA, CaptionTask

    split = args.split or "val"
    if split == "all":
        raise UsageError("caption data has the splits train, val and test")
    beam = args.beam
    cfg = checkpoint.train_config(batch=1)
    task = CaptionTask.from_checkpoint(cfg, checkpoint, data=args.data, train=False)
    shape = checkpoint.spec.input_shape   # (Hi, Wi, C_0) of pictures or (h, w, F) of feature grids
    if task.split(split).images.shape[1:] != shape:
        raise UsageError(f"the images of {args.data or cfg.data} are {task.split(split).images.shape[1:]}, "
                         f"but the model reads {shape}")
    alpha = ALPHA if args.length_penalty is None else args.length_penalty
    members = [ensemble_member(path, checkpoint, args) for path in args.ensemble]
    metrics = task.evaluate(runtime, split, limit=0, beam=beam, alpha=alpha, ensemble=members)
    result = {**metrics, "beam": beam, "length_penalty": alpha, "count": task.last_count,
              "data": args.data or cfg.data, "split": split}
    if members:
        result["ensemble"] = [str(checkpoint.path), *(str(p) for p in args.ensemble)]
    return result


def ensemble_member(path: str, first, args):
    """The runtime of one more ``--ensemble`` run, on the engine of the first; refused unless it is
    a captioner of the same vocabulary and input shape (otherwise its word ids would mean other words)."""
    from rnnkit.commands._model import load_runtime

    checkpoint, runtime = load_runtime(args, path)
    task = checkpoint.task.get("name")
    if task != "caption":
        raise UsageError(f"--ensemble {path}: trained on task {task!r}, not caption")
    if checkpoint.tokenizers.get("words") != first.tokenizers.get("words"):
        raise UsageError(f"--ensemble {path}: its vocabulary differs from {first.path}'s; an ensemble needs "
                         "runs trained on the same captions")
    if checkpoint.spec.input_shape != first.spec.input_shape:
        raise UsageError(f"--ensemble {path}: it reads inputs of {checkpoint.spec.input_shape}, "
                         f"{first.path} of {first.spec.input_shape}")
    return runtime


def describe(result: dict) -> str:
    bleu = ", ".join(f"BLEU-{n} {result[f'bleu{n}']:.2f}" for n in (1, 2, 3, 4))
    relations = (f", relations correct {result['relations_correct']:.4f}" if "relations_correct" in result else "")
    decoding = f"beam {result['beam']}, length penalty {result['length_penalty']:g}"
    if "ensemble" in result:
        decoding += f", ensemble of {len(result['ensemble'])}"
    return (f"{bleu}{relations} ({decoding}), loss {result['loss']:.4f} nats per caption over "
            f"{result['count']:,} images of {result['data']} ({result['split']})")


def predict_command(checkpoint, runtime, inputs: list[str], args) -> int:
    from rnnkit.tasks.caption_reader import CaptionReader

    reader = CaptionReader.from_checkpoint(checkpoint)
    base = Path(args.attention_png) if getattr(args, "attention_png", None) else None
    results = reader.caption(runtime, inputs, beam=args.beam, attention=base is not None)
    for i, (image, result) in enumerate(zip(inputs, results), start=1):
        if base is not None:
            from rnnkit.viz.caption_attention import draw_caption_attention

            path = numbered_path(base, i)
            draw_caption_attention(reader.backdrop(image), result["attention"],
                                   result["words"] + ["<end>"], path)
            result["attention_png"] = str(path)
        if args.json:
            print(json.dumps({"image": image, **result}, ensure_ascii=False))
        else:
            print(f"{image}: {result['caption']}"
                  + (f"; attention drawn in {result['attention_png']}" if "attention_png" in result else ""))
    return 0
