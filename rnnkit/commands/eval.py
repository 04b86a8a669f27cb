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
"""

from __future__ import annotations

import json
import time

from rnnkit.commands._args import positive_int
from rnnkit.commands._model import add_model_arguments, load_runtime
from rnnkit.data.corpora import load_corpus
from rnnkit.errors import UsageError
from rnnkit.training.evaluate import evaluate_tokens
from rnnkit.training.metrics import bits_per_char


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
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")


def _charlm(args, checkpoint, runtime) -> dict:
    split = args.split or ("all" if args.data else "val")
    if split not in ("all", "val"):
        raise UsageError(f"a character model's text has the parts 'val' and 'all', not {split!r}")
    vocab = checkpoint.vocab
    data = args.data or checkpoint.task.get("data") or "stdlib"
    if not isinstance(data, str):
        raise UsageError(f"{checkpoint.path} names no usable data ({data!r}); give it with --data")
    val_fraction = checkpoint.train_config().val_fraction if split == "val" else 0.0
    corpus = load_corpus(data, vocab.mode, vocab=vocab, val_fraction=val_fraction)
    tokens = corpus.val if split == "val" else corpus.tokens
    nats, count = evaluate_tokens(runtime, tokens, batch=args.batch, seq_len=args.seq_len)
    return {"bpc": bits_per_char(nats, count), "chars": count, "nats": nats, "data": data, "split": split}


def _split_of_three(args, data_set: str) -> str:
    """``--split`` of a data set with the splits train, val and test: val by default; all is refused,
    naming ``data_set`` ("a sentiment data set")."""
    split = args.split or "val"
    if split == "all":
        raise UsageError(f"{data_set} has the splits train, val and test")
    return split


def _sentiment(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.sentiment import SentimentTask

    split = _split_of_three(args, "a sentiment data set")
    cfg = checkpoint.train_config(batch=1)
    task = SentimentTask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split)
    return {**metrics, "count": len(task.data.splits()[split]), "data": args.data or cfg.data, "split": split}


def _translate(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.translate import TranslateTask

    split = _split_of_three(args, "a translation data set")
    cfg = checkpoint.train_config(batch=1)
    task = TranslateTask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split, beam=args.beam)
    return {**metrics, "beam": args.beam, "count": len(task.data.splits()[split]), "data": args.data or cfg.data,
            "split": split}


def _frames(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.frames import FramesTask

    split = args.split or "val"
    if split not in ("val", "test"):
        raise UsageError("a frames task evaluates on the split val or test")
    cfg = checkpoint.train_config(batch=1)
    task = FramesTask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split)
    return {**metrics, "frames": getattr(task, "last_count", 0), "data": args.data or cfg.data, "split": split}


EVALUATORS = {"charlm": _charlm, "sentiment": _sentiment, "translate": _translate, "frames": _frames}


def _glimpse(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.glimpse import GlimpseTask

    split = _split_of_three(args, "a glimpse data set")
    cfg = checkpoint.train_config(batch=1)
    task = GlimpseTask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split, limit=0)
    return {**metrics, "count": task.data.count(split), "data": args.data or cfg.data, "split": split}


EVALUATORS["glimpse"] = _glimpse


def _draw(args, checkpoint, runtime) -> dict:
    """DRAW: the variational bound on the negative log-likelihood, nats per image, over the whole
    split, with one noise sample per image from a fixed seed (``samples``)."""
    from rnnkit.tasks.draw import DrawTask

    split = _split_of_three(args, "an image data set")
    cfg = checkpoint.train_config(batch=1)
    task = DrawTask.from_checkpoint(cfg, checkpoint, data=args.data)
    metrics = task.evaluate(runtime, split, limit=0)
    return {**metrics, "samples": 1, "count": len(task.split(split)), "data": args.data or cfg.data, "split": split}


EVALUATORS["draw"] = _draw


def _vqa(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.vqa_cli import evaluate_command

    return evaluate_command(args, checkpoint, runtime)


EVALUATORS["vqa"] = _vqa


def _caption(args, checkpoint, runtime) -> dict:
    from rnnkit.tasks.caption_cli import evaluate_command

    return evaluate_command(args, checkpoint, runtime)


EVALUATORS["caption"] = _caption


def run(args) -> int:
    checkpoint, runtime = load_runtime(args)
    task = checkpoint.task.get("name")
    if task not in EVALUATORS:
        raise UsageError(f"{checkpoint.path} was trained on task {task!r}, which this rnnkit cannot evaluate")
    start = time.perf_counter()
    result = EVALUATORS[task](args, checkpoint, runtime)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({**result, "checkpoint": str(checkpoint.path), "seconds": round(seconds, 3)}))
        return 0
    if task == "charlm":
        print(f"{result['bpc']:.4f} bits per character over {result['chars']:,} characters of {result['data']} "
              f"({result['split']}); checkpoint {checkpoint.path}")
    elif task == "translate":
        print(f"BLEU {result['bleu']:.2f}, chrF {result['chrf']:.2f} (beam {result['beam']}), loss "
              f"{result['loss']:.4f} nats per piece (perplexity {result['perplexity']:.2f}) over {result['count']:,} "
              f"pairs of {result['data']} ({result['split']}); checkpoint {checkpoint.path}")
    elif task == "frames":
        print(f"frame accuracy {result['frame_accuracy']:.4f}, loss {result['loss']:.4f} nats over "
              f"{result['frames']:,} frames of {result['data']} ({result['split']}); checkpoint {checkpoint.path}")
    elif task == "draw":
        print(f"bound {result['nll_nats']:.2f} nats per image (reconstruction {result['recon_nats']:.2f}, KL "
              f"{result['kl_nats']:.2f}) over {result['count']:,} images of {result['data']} ({result['split']}); "
              f"checkpoint {checkpoint.path}")
    elif task == "vqa":
        from rnnkit.tasks.vqa_cli import describe

        print(f"{describe(result)}; checkpoint {checkpoint.path}")
    elif task == "caption":
        from rnnkit.tasks.caption_cli import describe as describe_captions

        print(f"{describe_captions(result)}; checkpoint {checkpoint.path}")
    elif task == "glimpse":
        print(f"error {result['error']:.4f} (digits {result['digit_error']:.4f}), loss {result['loss']:.4f} nats over "
              f"{result['count']:,} images of {result['data']} ({result['split']}); checkpoint {checkpoint.path}")
    else:
        print(f"accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f} nats over {result['count']:,} texts "
              f"of {result['data']} ({result['split']}); checkpoint {checkpoint.path}")
    return 0
