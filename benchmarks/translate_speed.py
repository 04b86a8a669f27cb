"""Translation training throughput and decoding speed, side by side in one run.

Training (target tokens per second, <eos> included, padding not): rnnkit's torch engine, the plain
PyTorch encoder-decoder with additive attention (benchmarks/baselines/plain_seq2seq.py) and rnnkit's
NumPy engine, all at the same size (E, H, cell, bidirectional encoder, additive attention) on the
same batches of the same data and subword tokens. The sides take turns, ``--per-round`` steps each
for ``--rounds`` rounds after ``--warmup`` untimed steps, so a change in the machine's load falls on
all of them alike. The ratio column is each side's throughput over the plain model's.

Decoding (sentences per second) of the first ``--sentences`` test sources: rnnkit greedy (beam 1)
and beam 5 in both engines, and the plain model's greedy loop.

    python benchmarks/translate_speed.py --threads 2                  # the issue's table
    python benchmarks/translate_speed.py --quick   # seconds: checks that it runs, numbers mean nothing
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_threads_argument, configure_torch, print_header, print_table, rate, set_threads_from_argv  # noqa: E402,E501

THREADS = set_threads_from_argv()

import argparse  # noqa: E402
import itertools  # noqa: E402
import time  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "baselines"))

from rnnkit.config import TrainConfig  # noqa: E402
from rnnkit.models.seq2seq.spec import Seq2SeqSpec  # noqa: E402
from rnnkit.runtime import make_runtime  # noqa: E402
from rnnkit.tasks.translate import TranslateOptions, TranslateTask  # noqa: E402

#: The task's own defaults, so that the benchmark measures what `rnnkit train --task translate` trains.
MODEL = TranslateTask.MODEL_DEFAULTS
PIECES = TranslateOptions().src_vocab


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(p, THREADS)
    p.add_argument("--data", default="bible-en-es", help="bible-en-es or a TSV of source TAB target")
    p.add_argument("--cell", default="lstm", choices=("gru", "lstm"))
    p.add_argument("--embed", type=int, default=MODEL["embed"])
    p.add_argument("--hidden", type=int, default=MODEL["hidden"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--vocab", type=int, default=PIECES, help=f"subword pieces of each side (default: {PIECES})")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--per-round", type=int, default=4)
    p.add_argument("--sentences", type=int, default=200, help="test sources decoded per measurement")
    p.add_argument("--quick", action="store_true", help="tiny sizes and counts: checks that it runs")
    args = p.parse_args()
    if args.quick:
        args.hidden, args.embed, args.batch, args.vocab = 32, 16, 8, 1000
        args.warmup, args.rounds, args.per_round, args.sentences = 1, 2, 1, 8
    return args


def timed_training(sides: dict, batches: list, args) -> dict:
    """name -> (target tokens, seconds) over the timed steps; every side reads the same batches."""
    feeds = {name: itertools.cycle(batches) for name in sides}
    for name, step in sides.items():
        for _ in range(args.warmup):
            step(next(feeds[name]))
    totals = {name: [0, 0.0] for name in sides}
    for _ in range(args.rounds):
        for name, step in sides.items():
            for _ in range(args.per_round):
                batch = next(feeds[name])
                start = time.perf_counter()
                step(batch)
                totals[name][1] += time.perf_counter() - start
                totals[name][0] += int(batch[4].sum())
    return totals


def main() -> None:
    args = parse_args()
    torch = configure_torch(THREADS)
    from plain_seq2seq import PlainSeq2Seq, PlainTrainer

    print_header("Translation speed: training tokens/s and decoding sentences/s (benchmarks/translate_speed.py)",
                 THREADS, torch)
    cfg = TrainConfig(data=args.data, batch=args.batch, lr=2e-3, seed=0, threads=1)
    task = TranslateTask(cfg, TranslateOptions(src_vocab=args.vocab, tgt_vocab=args.vocab))
    print(f"data: {task.describe()}")
    spec = Seq2SeqSpec(**task.spec_fields(), embed=args.embed, hidden=args.hidden, cell=args.cell, bidirectional=True,
                       attention="additive", input_feeding=True, dropout=0.0)
    runtimes = {engine: make_runtime(engine, spec, train_config=TrainConfig(**{**cfg.to_json(), "engine": engine}),
                                     seed=0, device="cpu") for engine in ("torch", "numpy")}
    torch.manual_seed(0)
    plain = PlainTrainer(PlainSeq2Seq(len(task.source), len(task.target), args.embed, args.hidden, args.cell,
                                      bidirectional=True))
    print(f"model: {args.cell} E={args.embed} H={args.hidden}, bidirectional encoder, additive attention; batch "
          f"{args.batch}; rnnkit input feeding on, the plain model feeds the context (as the tutorial)\n")
    batches = [task.next_batch()[0] for _ in range(max(8, args.per_round * 2))]
    sides = {"rnnkit torch": lambda b: runtimes["torch"].train_step(b, 2e-3), "plain PyTorch": plain.step,
             "rnnkit numpy (1 process)": lambda b: runtimes["numpy"].train_step(b, 2e-3)}
    params = {"rnnkit torch": sum(v.size for v in runtimes["torch"].params_numpy().values()),
              "plain PyTorch": plain.model.n_params}
    params["rnnkit numpy (1 process)"] = params["rnnkit torch"]
    totals = timed_training(sides, batches, args)
    base = totals["plain PyTorch"][0] / totals["plain PyTorch"][1]
    print_table(["training", "params", "target tokens/s", "x plain"],
                [[name, f"{params[name]:,}", rate(tokens / seconds), f"{tokens / seconds / base:.2f}x"]
                 for name, (tokens, seconds) in totals.items()])
    src, _ = task.encoded("test")
    sources = [s[:task.options.max_len] for s in src[:args.sentences]]
    rows = []
    for engine, runtime in runtimes.items():
        for beam in (1, 5):
            start = time.perf_counter()
            task.translator.decode_ids(runtime, sources, beam)
            rows.append([f"rnnkit {engine}, beam {beam}", f"{len(sources) / (time.perf_counter() - start):.1f}"])
    start = time.perf_counter()
    plain.translate(sources)
    rows.append(["plain PyTorch, greedy", f"{len(sources) / (time.perf_counter() - start):.1f}"])
    print(f"decoding {len(sources)} test sources of {args.data}")
    print_table(["decoding", "sentences/s"], rows)
    for runtime in runtimes.values():
        close = getattr(runtime, "close", None)
        if close:
            close()


if __name__ == "__main__":
    main()
