"""``rnnkit eval`` and ``rnnkit predict`` for frame-labelling runs (the hooks of rnnkit/tasks/common_cli.py).

eval: frame accuracy and loss on ``--split`` val or test. predict: a label for every frame of each
clip file; ``--strip-png FILE`` draws each clip's frames with their labels (FILE, FILE-2, ...).
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.errors import UsageError
from rnnkit.tasks.common_cli import numbered_path, print_results


def evaluate_command(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.frames import FramesTask

    split = args.split or "val"
    if split not in ("val", "test"):
        raise UsageError("a frames task evaluates on the split val or test")
    cfg = checkpoint.train_config(batch=1)
    task = FramesTask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split)
    return {**metrics, "frames": getattr(task, "last_count", 0), "data": args.data or cfg.data, "split": split}


def describe(result: dict) -> str:
    return (f"frame accuracy {result['frame_accuracy']:.4f}, loss {result['loss']:.4f} nats over "
            f"{result['frames']:,} frames of {result['data']} ({result['split']})")


def predict_command(checkpoint, runtime, inputs: list[str], args) -> int:
    from rnnkit.tasks.frames_reader import FramesReader

    reader = FramesReader.from_checkpoint(checkpoint)
    clips = [reader.read_clip(path) for path in inputs]  # every file checked before any is run
    results = [reader.predict(runtime, clip) for clip in clips]
    if getattr(args, "strip_png", None):
        from rnnkit.viz.frame_strip import draw_frame_strip

        for i, (path, clip, result) in enumerate(zip(inputs, clips, results), start=1):
            out = numbered_path(Path(args.strip_png), i)
            draw_frame_strip(clip, result["labels"], result["probabilities"], out, reader.class_names, title=path)
            result["strip_png"] = str(out)
    return print_results(inputs, results, args, lambda text, result: f"{text}: {' '.join(result['labels'])}")
