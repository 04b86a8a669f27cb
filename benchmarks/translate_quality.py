"""Translation quality at equal training time: rnnkit with --attention none, additive and dot, and a
plain PyTorch encoder-decoder with additive attention (benchmarks/baselines/plain_seq2seq.py).

All models see the same data, the same subword tokenizers (trained once, on the training split),
the same batches in the same order, the same sizes (E, H, cell, bidirectional encoder), Adam at the
same constant learning rate, gradient clipping 5 and the same training time each (``--minutes``,
or ``--steps``). rnnkit's models train through its Python API (TranslateTask, make_runtime,
runtime.train_step), as ``rnnkit train`` does but without validation pauses or a schedule, so the
four differ only in the model. Then all are scored on the test split (Mark + Ruth for bible-en-es)
with sacrebleu on detokenised output against the raw reference verses: rnnkit greedy (beam 1) and
beam ``--beam`` (default 5), the plain model greedy; and BLEU by source length (words) in buckets, to
see whether attention matters most on long sentences as in Bahdanau et al. (2015).

    python benchmarks/translate_quality.py --threads 2 --minutes 30            # the issue's table
    python benchmarks/translate_quality.py --quick     # a minute: checks that it runs, numbers mean nothing
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_threads_argument, configure_torch, print_header, print_table, set_threads_from_argv  # noqa: E402

THREADS = set_threads_from_argv()

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnnkit.config import TrainConfig  # noqa: E402
from rnnkit.inference.translate import corpus_scores  # noqa: E402
from rnnkit.models.seq2seq.spec import Seq2SeqSpec  # noqa: E402
from rnnkit.runtime import make_runtime  # noqa: E402
from rnnkit.tasks.translate import TranslateOptions, TranslateTask  # noqa: E402

#: The task's own defaults, so that the benchmark measures what `rnnkit train --task translate` trains.
MODEL = TranslateTask.MODEL_DEFAULTS
PIECES = TranslateOptions().src_vocab

#: Source-length buckets in words, for BLEU by length: (low, high) inclusive.
BUCKETS = ((1, 15), (16, 25), (26, 35), (36, 1000))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(p, THREADS)
    p.add_argument("--data", default="bible-en-es", help="bible-en-es or a TSV of source TAB target")
    p.add_argument("--reverse", action="store_true", help="translate the other way (Spanish to English)")
    p.add_argument("--minutes", type=float, default=30.0, help="training time of each model (default: 30)")
    p.add_argument("--steps", type=int, help="train each model this many steps instead of --minutes")
    p.add_argument("--attention", nargs="+", default=["none", "additive", "dot"], choices=("none", "additive", "dot"))
    p.add_argument("--engine", default="torch", choices=("torch", "numpy"), help="rnnkit's engine (default: torch)")
    p.add_argument("--cell", default="lstm", choices=("gru", "lstm"))
    p.add_argument("--embed", type=int, default=MODEL["embed"])
    p.add_argument("--hidden", type=int, default=MODEL["hidden"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--dropout", type=float, default=MODEL["dropout"])
    p.add_argument("--vocab", type=int, default=PIECES, help=f"subword pieces of each side (default: {PIECES})")
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--limit", type=int, help="score only the first N test pairs")
    p.add_argument("--no-baseline", action="store_true", help="leave out the plain PyTorch model")
    p.add_argument("--outputs", metavar="DIR", help="write every model's test translations (greedy and beam) "
                                                    "to DIR/<model>-<decoding>.jsonl, to read them")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny sizes, 20 steps, 40 test pairs: checks that it runs")
    args = p.parse_args()
    if args.quick:
        args.steps, args.hidden, args.embed, args.batch, args.limit, args.vocab = 20, 32, 16, 16, 40, 1000
    return args


def budget_over(start: float, steps: int, args) -> bool:
    return steps >= args.steps if args.steps else time.perf_counter() - start >= 60.0 * args.minutes


def train(step_fn, task, args) -> tuple[int, float]:
    """Steps of ``step_fn(batch)`` over the task's batches from the first one, until the budget is
    spent: (steps, seconds)."""
    task.load_state_dict({**task.state_dict(), "epoch": 0, "position": 0})
    start, steps = time.perf_counter(), 0
    while not budget_over(start, steps, args):
        batch, _ = task.next_batch()
        step_fn(batch)
        steps += 1
    return steps, time.perf_counter() - start


def bucket_bleu(rows: list[dict]) -> list[str]:
    """BLEU of each source-length bucket (``-`` for an empty one)."""
    cells = []
    for low, high in BUCKETS:
        part = [r for r in rows if low <= len(r["source"].split()) <= high]
        cells.append(f"{corpus_scores([r['translation'] for r in part], [r['reference'] for r in part])['bleu']:.2f}"
                     if part else "-")
    return cells


def write_rows(folder: str, name: str, rows: list[dict]) -> None:
    """One JSON line per test pair (source, reference, translation) in folder/name.jsonl."""
    path = Path(folder) / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def main() -> None:
    args = parse_args()
    torch = configure_torch(THREADS) if (args.engine == "torch" or not args.no_baseline) else None
    print_header("Translation quality at equal training time (benchmarks/translate_quality.py)", THREADS, torch)
    cfg = TrainConfig(data=args.data, batch=args.batch, lr=args.lr, seed=args.seed, engine=args.engine)
    started = time.perf_counter()
    task = TranslateTask(cfg, TranslateOptions(src_vocab=args.vocab, tgt_vocab=args.vocab, reverse=args.reverse))
    print(f"data: {task.describe()}")
    print(f"(tokenizers and data ready in {time.perf_counter() - started:.0f} s)")
    budget = f"{args.steps} steps" if args.steps else f"{args.minutes:g} min"
    print(f"each model: {budget}, batch {args.batch}, Adam lr {args.lr:g} (constant), clip 5, {args.cell} "
          f"E={args.embed} H={args.hidden}, bidirectional encoder, dropout {args.dropout}\n")
    test = task.data.test
    n_test = len(test) if args.limit is None else min(args.limit, len(test))
    results, buckets = [], []
    for attention in args.attention:
        spec = Seq2SeqSpec(**task.spec_fields(), embed=args.embed, hidden=args.hidden, cell=args.cell,
                           bidirectional=True, attention=attention, input_feeding=attention != "none",
                           dropout=args.dropout)
        runtime = make_runtime(args.engine, spec, train_config=cfg, seed=args.seed, device="cpu")
        steps, seconds = train(lambda batch: runtime.train_step(batch, args.lr), task, args)
        greedy = task.evaluate(runtime, "test", limit=args.limit, beam=1)
        beam = task.evaluate(runtime, "test", limit=args.limit, beam=args.beam)
        rows = task.translations(runtime, "test", args.beam, limit=args.limit)
        if args.outputs:
            write_rows(args.outputs, f"rnnkit-{attention}-beam{args.beam}", rows)
            write_rows(args.outputs, f"rnnkit-{attention}-greedy", task.translations(runtime, "test", 1, limit=args.limit))
        params = sum(v.size for v in runtime.params_numpy().values())
        name = f"rnnkit {args.engine} --attention {attention}"
        results.append([name, f"{params:,}", steps, f"{seconds:.0f}", f"{greedy['bleu']:.2f}", f"{beam['bleu']:.2f}",
                        f"{beam['chrf']:.2f}", f"{beam['loss']:.3f}"])
        buckets.append([f"{name} (beam {args.beam})", *bucket_bleu(rows)])
        close = getattr(runtime, "close", None)
        if close:
            close()
        print(f"  {name}: {steps} steps, test BLEU {greedy['bleu']:.2f} greedy / {beam['bleu']:.2f} beam", flush=True)
    if not args.no_baseline:
        sys.path.insert(0, str(Path(__file__).resolve().parent / "baselines"))
        from plain_seq2seq import PlainSeq2Seq, PlainTrainer

        torch.manual_seed(args.seed)
        model = PlainSeq2Seq(len(task.source), len(task.target), args.embed, args.hidden, args.cell,
                             bidirectional=True, dropout=args.dropout)
        trainer = PlainTrainer(model, lr=args.lr)
        steps, seconds = train(trainer.step, task, args)
        src, _ = task.encoded("test")
        outputs = trainer.translate([s[:task.options.max_len] for s in src[:n_test]])
        rows = [{"source": test.sources[i], "reference": test.targets[i], "translation": task.target.decode(ids)}
                for i, ids in enumerate(outputs)]
        scores = corpus_scores([r["translation"] for r in rows], [r["reference"] for r in rows])
        if args.outputs:
            write_rows(args.outputs, "plain-additive-greedy", rows)
        results.append(["plain PyTorch, additive (greedy)", f"{model.n_params:,}", steps, f"{seconds:.0f}",
                        f"{scores['bleu']:.2f}", "-", f"{scores['chrf']:.2f}", "-"])
        buckets.append(["plain PyTorch, additive (greedy)", *bucket_bleu(rows)])
    print(f"\ntest: {n_test:,} pairs of {args.data}{' (reversed)' if args.reverse else ''}; sacrebleu BLEU and chrF")
    print_table(["model", "params", "steps", "s", "BLEU greedy", f"BLEU beam {args.beam}", "chrF", "test loss"], results)
    counts = [sum(1 for s in test.sources[:n_test] if low <= len(s.split()) <= high) for low, high in BUCKETS]
    print("BLEU by source length (words; pairs per bucket: " + ", ".join(map(str, counts)) + ")")
    print_table(["model", *[f"{low}-{high}" if high < 1000 else f"{low}+" for low, high in BUCKETS]], buckets)


if __name__ == "__main__":
    main()
