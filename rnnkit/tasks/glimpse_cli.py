"""``rnnkit eval`` and ``rnnkit predict`` for glimpse runs (the hooks of rnnkit/tasks/common_cli.py).

eval: the error rate (and the per-digit error) and loss on ``--split`` (val by default), over the
whole split. predict: the digits read from each image file; ``--glimpses-png FILE`` draws the path
of glimpses (rnnkit/tasks/glimpse_reader.py).
"""

from __future__ import annotations

from rnnkit.tasks.common_cli import print_results, split_of_three


def evaluate_command(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.glimpse import GlimpseTask

    split = split_of_three(args, "a glimpse data set")
    cfg = checkpoint.train_config(batch=1)
    task = GlimpseTask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split, limit=0)
    return {**metrics, "count": task.data.count(split), "data": args.data or cfg.data, "split": split}


def describe(result: dict) -> str:
    return (f"error {result['error']:.4f} (digits {result['digit_error']:.4f}), loss {result['loss']:.4f} nats over "
            f"{result['count']:,} images of {result['data']} ({result['split']})")


def predict_command(checkpoint, runtime, inputs: list[str], args) -> int:
    from rnnkit.tasks.glimpse_reader import predict

    results = predict(checkpoint, runtime, inputs, getattr(args, "glimpses_png", None))
    return print_results(inputs, results, args, _line)


def _line(text: str, result: dict) -> str:
    drawn = f"; glimpses drawn in {result['glimpses_png']}" if "glimpses_png" in result else ""
    return f"{text}: {result['digits']} ({result['probability']:.4f}){drawn}"
