"""``rnnkit eval`` for DRAW runs (the hook of rnnkit/tasks/common_cli.py; DRAW has no predict: it
draws images from nothing, and `rnnkit predict` says that it cannot run it).

eval: the variational bound on the negative log-likelihood, nats per image, over the whole split,
with one noise sample per image from a fixed seed (``samples``).
"""

from __future__ import annotations

from rnnkit.tasks.common_cli import split_of_three


def evaluate_command(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.draw import DrawTask

    split = split_of_three(args, "an image data set")
    cfg = checkpoint.train_config(batch=1)
    task = DrawTask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split, limit=0)
    return {**metrics, "samples": 1, "count": len(task.split(split)), "data": args.data or cfg.data, "split": split}


def describe(result: dict) -> str:
    return (f"bound {result['nll_nats']:.2f} nats per image (reconstruction {result['recon_nats']:.2f}, KL "
            f"{result['kl_nats']:.2f}) over {result['count']:,} images of {result['data']} ({result['split']})")
