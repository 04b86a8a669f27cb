"""The whole run as a user times it (issue 13): ``rnnkit train`` as a process against a plain
PyTorch script of the same model, start-up, and evaluation speed.

    python benchmarks/whole_run.py --threads 2                  # the three sizes, 10 and 70 steps
    python benchmarks/whole_run.py --threads 2 --sizes H=128 --repeats 1 --short 2 --long 6   # a look

For each size of benchmarks/charlm_speed.py (H=128; H=256 x2; H=512) and each side (rnnkit's NumPy
engine with ``--threads`` worker processes, rnnkit's torch engine on the CPU, and
benchmarks/baselines/plain_charlm_train.py), it runs the training command twice, for ``--short``
and ``--long`` steps, on the same text file, and times each process from its start to its exit:

    seconds per step = (wall(long) - wall(short)) / (long - short)

so start-up, the first evaluation, the last checkpoint and everything else a run does once cancel
out, and what is left is the step together with everything the training loop adds to each step
(batch preparation, the schedule, progress output, synchronisation with worker processes).
rnnkit runs with ``--eval-every`` above ``--long`` and ``--sample-length 0``; the plain script
evaluates nothing either. The ratio is plain seconds per step / rnnkit seconds per step (above 1:
rnnkit is faster). Each measurement is the median of ``--repeats`` runs, the sides interleaved.

Start-up: seconds from the command to the line that announces training (rnnkit's ``training ...``;
the plain script prints ``training``), median over all runs.

Evaluation: ``rnnkit eval RUN --data F`` on two held-out texts of different lengths, differenced
the same way: held-out characters per second, beside the training characters per second
(batch x seq-len / seconds per step). An evaluation pass should not be slower per character than
training, which also runs a backward pass.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import add_threads_argument, set_threads_from_argv  # noqa: E402

THREADS = set_threads_from_argv()

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLAIN = ROOT / "benchmarks" / "baselines" / "plain_charlm_train.py"
#: (label, hidden, layers, batch, seq_len): the sizes of charlm_speed.py.
SIZES = [("H=128", 128, 1, 32, 64), ("H=256 x2", 256, 2, 32, 64), ("H=512", 512, 1, 64, 100)]
EMBED = 64


def timed(cmd, marker: str | None = None) -> tuple[float, float | None]:
    """Run ``cmd``; return its wall seconds and the seconds until ``marker`` began a stderr line."""
    start = time.perf_counter()
    seen = None
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if seen is None and marker is not None and line.lstrip("\r").startswith(marker):
            seen = time.perf_counter() - start
    proc.wait()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{''.join(lines[-20:])}")
    return wall, seen


def rnnkit_cmd(*args) -> list:
    return [sys.executable, "-m", "rnnkit", *args]


def train_cmd(side: str, text: Path, out: Path, steps: int, size) -> list:
    _, H, L, N, T = size
    if side == "plain torch":
        return [sys.executable, PLAIN, text, "--hidden", H, "--layers", L, "--embed", EMBED, "--batch", N,
                "--seq-len", T, "--steps", steps, "--threads", THREADS, "--out", out / "plain.pt"]
    engine = ["--threads", THREADS] if side == "rnnkit numpy" else ["--engine", "torch", "--device", "cpu"]
    return rnnkit_cmd("train", "--data", text, "--hidden", H, "--layers", L, "--embed", EMBED, "--batch", N,
                      "--seq-len", T, "--steps", steps, "--eval-every", steps + 100, "--sample-length", "0",
                      "--out", out, *engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(parser, THREADS)
    parser.add_argument("--data", default="kjv", help="corpus name or text file (default: kjv, else stdlib)")
    parser.add_argument("--short", type=int, default=10, help="steps of the short run (default: 10)")
    parser.add_argument("--long", type=int, default=70, help="steps of the long run (default: 70)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind; the median counts (default: 3)")
    parser.add_argument("--sizes", default=",".join(s[0] for s in SIZES),
                        help="comma-separated labels of the sizes to run (default: all three)")
    args = parser.parse_args()
    if not 1 <= args.short < args.long:
        parser.error("need 1 <= --short < --long")
    wanted = [s.strip() for s in args.sizes.split(",")]
    sizes = [s for s in SIZES if s[0] in wanted]
    if len(sizes) != len(wanted):
        parser.error(f"--sizes: choose from {', '.join(s[0] for s in SIZES)}")

    import torch

    from _common import configure_torch, load_corpus_or_stdlib, print_header, print_table

    configure_torch(THREADS)
    print_header("whole_run: rnnkit train as a process against a plain PyTorch script", THREADS, torch)
    corpus = load_corpus_or_stdlib(args.data)
    work = Path(tempfile.mkdtemp(prefix="rnnkit-whole-run-"))
    try:
        text = work / "train.txt"
        full = corpus.vocab.decode(corpus.tokens)
        text.write_text(full, encoding="utf-8")
        # Evaluation reads text of the training part, whose characters are all in the vocabulary:
        # its speed, not its score, is measured.
        held = full[: min(len(full) // 4, 400_000)]
        small, large = work / "held-small.txt", work / "held-large.txt"
        small.write_text(held[: len(held) // 4], encoding="utf-8")
        large.write_text(held, encoding="utf-8")
        print(f"data:    {corpus.name}, {len(full):,} characters; runs of {args.short} and {args.long} steps, "
              f"median of {args.repeats}\n", flush=True)
        sides = ("rnnkit numpy", "rnnkit torch", "plain torch")
        rows, eval_rows = [], []
        for size in sizes:
            label, H, L, N, T = size
            walls = {(side, steps): [] for side in sides for steps in (args.short, args.long)}
            starts = {side: [] for side in sides}
            for _ in range(args.repeats):
                for side in sides:
                    for steps in (args.short, args.long):
                        out = work / f"{side.replace(' ', '-')}-{steps}"
                        shutil.rmtree(out, ignore_errors=True)
                        out.mkdir()
                        wall, start = timed(train_cmd(side, text, out, steps, size), "training")
                        walls[side, steps].append(wall)
                        if start is not None:
                            starts[side].append(start)
            per_step = {side: (statistics.median(walls[side, args.long]) - statistics.median(walls[side, args.short]))
                        / (args.long - args.short) for side in sides}
            plain = per_step["plain torch"]
            for side in sides:
                rows.append([label, side, f"{per_step[side] * 1e3:.1f}", f"{N * T / per_step[side]:,.0f}",
                             f"{plain / per_step[side]:.2f}x" if side != "plain torch" else "1.00x",
                             f"{statistics.median(starts[side]):.2f}" if starts[side] else "?"])
            for side, engine in (("rnnkit numpy", "numpy"), ("rnnkit torch", "torch")):
                run = work / f"{side.replace(' ', '-')}-{args.long}"
                device = ["--device", "cpu"] if engine == "torch" else []
                t_small = statistics.median(timed(rnnkit_cmd("eval", run, "--engine", engine, *device, "--data", small))[0]
                                            for _ in range(args.repeats))
                t_large = statistics.median(timed(rnnkit_cmd("eval", run, "--engine", engine, *device, "--data", large))[0]
                                            for _ in range(args.repeats))
                chars = len(held) - len(held) // 4
                eval_rate = chars / max(t_large - t_small, 1e-9)
                train_rate = N * T / per_step[side]
                eval_rows.append([label, side, f"{eval_rate:,.0f}", f"{train_rate:,.0f}", f"{eval_rate / train_rate:.2f}x"])
            print(f"  {label} done", flush=True)
        print()
        print_table(["size", "side", "ms/step", "chars/s", "vs plain", "start-up s"], rows)
        print()
        print_table(["size", "engine", "eval chars/s", "train chars/s", "eval/train"], eval_rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
