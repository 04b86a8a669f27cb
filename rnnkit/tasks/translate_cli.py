"""``rnnkit eval`` and ``rnnkit predict`` for translation runs (the hooks of rnnkit/tasks/common_cli.py).

eval: sacrebleu's BLEU and chrF of the detokenised translations (``--beam K``, 1 = greedy) against
the raw references, with the token loss and perplexity. predict: the translation of each sentence;
``--attention-png FILE`` draws where the decoder looked (FILE, then FILE-2, ... for more inputs).
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.tasks.common_cli import numbered_path, print_results, split_of_three


def evaluate_command(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.translate import TranslateTask

    split = split_of_three(args, "a translation data set")
    cfg = checkpoint.train_config(batch=1)
    task = TranslateTask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split, beam=args.beam)
    return {**metrics, "beam": args.beam, "count": len(task.data.splits()[split]), "data": args.data or cfg.data,
            "split": split}


def describe(result: dict) -> str:
    return (f"BLEU {result['bleu']:.2f}, chrF {result['chrf']:.2f} (beam {result['beam']}), loss "
            f"{result['loss']:.4f} nats per piece (perplexity {result['perplexity']:.2f}) over {result['count']:,} "
            f"pairs of {result['data']} ({result['split']})")


def predict_command(checkpoint, runtime, inputs: list[str], args) -> int:
    from rnnkit.tasks.translate import translator_from_checkpoint

    translator = translator_from_checkpoint(checkpoint)
    results = translator.translate(runtime, inputs, beam=args.beam, with_ids=True)
    if args.attention_png:
        from rnnkit.viz.attention_map import draw_attention

        for i, result in enumerate(results, start=1):
            src, out = result["source_ids"], result["ids"]
            weights = translator.attention(runtime, src, out)
            path = numbered_path(Path(args.attention_png), i)
            draw_attention(weights, translator.source.pieces(src), translator.target.pieces(out) + ["<eos>"],
                           path, title=result["translation"][:80])
            result["attention_png"] = str(path)
    for result in results:
        del result["source_ids"], result["ids"]
    return print_results(inputs, results, args, lambda text, result: result["translation"])
