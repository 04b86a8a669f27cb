"""``rnnkit eval`` and ``rnnkit predict`` for sentiment runs (the hooks of rnnkit/tasks/common_cli.py).

eval: accuracy and mean cross-entropy on ``--split`` (val by default) of the run's data or of
``--data``. predict: the label of each text and its probability.
"""

from __future__ import annotations

from rnnkit.tasks.common_cli import print_results, split_of_three


def evaluate_command(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.sentiment import SentimentTask

    split = split_of_three(args, "a sentiment data set")
    cfg = checkpoint.train_config(batch=1)
    task = SentimentTask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split)
    return {**metrics, "count": len(task.data.splits()[split]), "data": args.data or cfg.data, "split": split}


def describe(result: dict) -> str:
    return (f"accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f} nats over {result['count']:,} texts "
            f"of {result['data']} ({result['split']})")


def predict_command(checkpoint, runtime, inputs: list[str], args) -> int:
    from rnnkit.tasks.sentiment import SentimentReader

    results = SentimentReader.from_checkpoint(checkpoint).predict(runtime, inputs)
    return print_results(inputs, results, args,
                         lambda text, result: f"{result['label']:<8} {result['probability']:.4f}  {text}")
