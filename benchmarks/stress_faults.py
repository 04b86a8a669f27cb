"""Fault injection at scale (issue 14): Ctrl-C at random moments and hostile checkpoints.

    python benchmarks/stress_faults.py                       # everything: about 2.5 hours on 2 cores
    python benchmarks/stress_faults.py --part ctrlc-numpy --trials 100
    python benchmarks/stress_faults.py --part ctrlc-torch --trials 100
    python benchmarks/stress_faults.py --part mutants --mutants 1000
    python benchmarks/stress_faults.py --part sentiment      # the same checks on --task sentiment
    python benchmarks/stress_faults.py --quick               # a few of each, to see that it works
    python benchmarks/stress_faults.py --part ctrlc-numpy,ctrlc-torch --workdir /tmp/a &
    python benchmarks/stress_faults.py --part mutants --workdir /tmp/b      # two at once, own folders

Ctrl-C (``ctrlc-numpy``: the NumPy engine with two worker processes, ``--threads 2``;
``ctrlc-torch``: the torch engine on the CPU): each trial starts ``rnnkit train`` in a process
group of its own (the character model of the issue: ``--hidden 64 --seq-len 32 --batch 8
--steps 400 --eval-every 20``), sends SIGINT at a random moment (9 in 10 trials: uniformly over the
training time, after the "training" line, the window shrunk whenever a run finished first; 1 in
10: from the start, during set-up; half to the whole group as a terminal's Ctrl-C does, half to the
main process only), and waits up to 60 s.
A Ctrl-C while the command imports its modules ends it with one line ("interrupted while starting;
nothing was saved", exit 130). One in the first hundredths of a second, while the Python interpreter
itself starts (longer on a busy machine), is Python's own (a KeyboardInterrupt traceback; nothing has
been written): such trials are counted apart.
Then it resumes the run to its 400 steps and compares the final parameters with those of one
uninterrupted run, bit for bit. A trial fails if the run hangs, prints a traceback, leaves a
process or a temporary behind, exits with another code than 130 (or 0 when it had finished), or
if the resumed run differs.

Mutants: one small trained checkpoint (2-layer LSTM with dropout: parameters, Adam state, carried
state) damaged in N ways (tests/faults.py: the cases the issue names, hostile JSON values at random
places of the header, arrays of other dtypes, shapes and values, missing and extra members,
flipped bytes, truncation, a zip bomb of 2 GiB of deflated zeros, 20,000 members), each run
through ``sample``, ``eval`` and ``train --resume`` in a fresh process. A run fails unless it exits
0, or 2 with a one-line ``rnnkit <command>: error: ...`` and no traceback, within 20 s and 2 GB of
peak resident memory.

The results go to stdout as tables and to ``--workdir``/results.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks"), str(ROOT)]

from _common import cpu_model, print_table  # noqa: E402
from faults import (final_params, interrupt_trial, mutants, one_line_error, reviews_text,  # noqa: E402
                    rnnkit, rnnkit_env, run_limited, same_params, words_text)

CHARLM = ["--hidden", "64", "--seq-len", "32", "--batch", "8", "--steps", "400", "--eval-every", "20"]
SENTIMENT = ["--task", "sentiment", "--hidden", "64", "--batch", "16", "--steps", "200", "--eval-every", "20"]
ENGINES = {"ctrlc-numpy": ["--threads", "2"], "ctrlc-torch": ["--engine", "torch", "--device", "cpu"]}
LIMIT_S, LIMIT_MB = 20.0, 2048


def _reference(work: Path, name: str, argv, env) -> tuple[dict, float]:
    """One uninterrupted run: its final parameters and how long it ran after its "training" line
    (the window in which a trial's Ctrl-C lands)."""
    run = work / f"reference-{name}"
    shutil.rmtree(run, ignore_errors=True)
    log = work / f"reference-{name}.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(rnnkit("train", *argv, "--out", run, "--sample-length", "0"), stdout=subprocess.DEVNULL,
                                stderr=err, env=env)
        began = None
        while proc.poll() is None:
            if began is None and "\ntraining " in "\n" + log.read_text():
                began = time.monotonic()
            time.sleep(0.01)
    if proc.returncode != 0 or began is None:
        sys.exit(f"the reference run failed:\n{log.read_text()}")
    return final_params(run), time.monotonic() - began


def ctrl_c(work: Path, name: str, argv, trials: int, env, rng) -> dict:
    """``trials`` Ctrl-C trials of ``argv`` (module docstring); returns counts and failures."""
    want, whole = _reference(work, name, argv, env)
    counts, failures, seconds = Counter(), [], []
    for i in range(trials):
        run = work / f"{name}-{i}"
        shutil.rmtree(run, ignore_errors=True)
        during_setup = rng.random() < 0.1
        delay = rng.uniform(0.2, 3.0 if "torch" not in name else 8.0) if during_setup else rng.uniform(0, whole)
        group = rng.random() < 0.5
        started = time.monotonic()
        trial = interrupt_trial(argv, run, delay, whole_group=group, env=env, after=None if during_setup else "training ")
        problems = []
        if trial["hung"]:
            problems.append("hung")
        if _while_importing(trial, run):
            # Python's own Ctrl-C while the interpreter starts, before rnnkit's command runs (a few
            # hundredths of a second; longer on a busy machine): a traceback, nothing written.
            # Counted apart, not hidden.
            counts["interrupted while Python started (its traceback; nothing written)"] += 1
            seconds.append(time.monotonic() - started)
            print(f"  {name} trial {i + 1}/{trials}: delay {delay:.2f}s (setup) -> interrupted while Python "
                  "started", flush=True)
            continue
        if trial["traceback"]:
            problems.append("traceback")
        if trial["leftover"]:
            problems.append("process left behind")
        if trial["rc"] not in (0, 130):
            problems.append(f"exit {trial['rc']}")
        if any(p.name.endswith(".tmp") for p in run.glob("*")):
            problems.append("temporary left behind")
        saved = (run / "checkpoint.npz").exists()
        if trial["rc"] == 130 and saved:
            outcome = "interrupted, resumed"
            resumed = run_limited(rnnkit("train", "--resume", run, "--sample-length", "0"), 900, env=env)
            if resumed["rc"] != 0:
                problems.append(f"resume exit {resumed['rc']}: {resumed['err'][-300:]}")
            elif not same_params(final_params(run), want):
                problems.append("resumed run differs from the uninterrupted one")
        elif trial["rc"] == 130:
            outcome = "interrupted before anything was saved"
            if "nothing was saved" not in trial["err"] and "rnnkit train: interrupted" not in trial["err"]:
                problems.append("no checkpoint and no message saying so")
        elif trial["rc"] == 0:
            outcome = "finished before the signal"
            if not during_setup:  # the machine runs faster now than the reference did: aim earlier
                whole = max(0.5, 0.9 * delay)
            if not same_params(final_params(run), want):
                problems.append("finished run differs from the reference")
        else:
            outcome = "failed"
        counts[outcome] += 1
        seconds.append(time.monotonic() - started)
        if problems:
            failures.append({"trial": i, "delay": round(delay, 3), "group": group, "setup": during_setup,
                             "problems": problems, "stderr": trial["err"][-800:]})
        print(f"  {name} trial {i + 1}/{trials}: delay {delay:.2f}s ({'setup' if during_setup else 'training'}, "
              f"{'group' if group else 'main process'}) -> {outcome}{'; ' + ', '.join(problems) if problems else ''}",
              flush=True)
        shutil.rmtree(run, ignore_errors=True)
    return {"trials": trials, "outcomes": dict(counts), "failures": failures, "training_window_s": round(whole, 1),
            "seconds": round(sum(seconds), 1)}


def _while_importing(trial: dict, run: Path) -> bool:
    """A KeyboardInterrupt traceback can only come from before rnnkit's CLI took over (it turns a
    Ctrl-C inside a command into "interrupted"): Python importing the modules."""
    lines = trial["err"].strip().splitlines()
    return (trial["rc"] in (1, -2, 130) and bool(lines) and lines[-1] == "KeyboardInterrupt"
            and lines[0].startswith("Traceback") and not run.exists())


def _base_run(work: Path, name: str, argv, env) -> Path:
    run = work / f"base-{name}"
    shutil.rmtree(run, ignore_errors=True)
    result = run_limited(rnnkit("train", *argv, "--out", run), 600, env=env)
    if result["rc"] != 0:
        sys.exit(f"the base run failed:\n{result['err']}")
    return run


def mutant_runs(work: Path, name: str, base: Path, count: int, env, seed: int, commands, bomb_mib: int) -> dict:
    """Every mutant of ``base``'s checkpoint through ``commands``; returns counts and failures."""
    step = json.loads((base / "config.json").read_text())["train"].get("steps") or 0
    counts, failures, worst = Counter(), [], {"seconds": 0.0, "peak_mb": 0.0}
    produced = 0
    for label, path in mutants(base / "checkpoint.npz", work / f"mutants-{name}", count, seed=seed, bomb_mib=bomb_mib):
        produced += 1
        for command in commands:
            if command == "resume":
                run = work / f"mutant-run-{name}"
                shutil.rmtree(run, ignore_errors=True)
                run.mkdir()
                shutil.copy(path, run / "checkpoint.npz")
                argv, shown = ["train", "--resume", run, "--steps", step + 2], "train"
            elif command == "sample":
                argv, shown = ["sample", path, "--length", "50", "--seed", "1"], "sample"
            else:
                argv, shown = ["eval", path], "eval"
            result = run_limited(rnnkit(*argv), LIMIT_S, env=env)
            worst["seconds"] = max(worst["seconds"], result["seconds"])
            worst["peak_mb"] = max(worst["peak_mb"], result["peak_mb"])
            problems = []
            if result["timed_out"]:
                problems.append(f"over {LIMIT_S:g} s")
            if result["peak_mb"] > LIMIT_MB:
                problems.append(f"{result['peak_mb']:.0f} MB")
            if result["rc"] == 0 and "Traceback" not in result["err"]:
                counts[f"{command}: exit 0"] += 1
            elif one_line_error(result, shown):
                counts[f"{command}: exit 2, one line"] += 1
            else:
                problems.append(f"exit {result['rc']}" + (" with a traceback" if "Traceback" in result["err"] else ""))
            if problems:
                counts[f"{command}: FAILED"] += 1
                failures.append({"mutant": label, "command": command, "problems": problems,
                                 "stderr": result["err"][-600:]})
                print(f"  FAILED {label} {command}: {', '.join(problems)}", flush=True)
        path.unlink()
        if produced % 50 == 0:
            print(f"  {name}: {produced} mutants done", flush=True)
    return {"mutants": produced, "counts": dict(sorted(counts.items())), "failures": failures,
            "worst_seconds": round(worst["seconds"], 2), "worst_peak_mb": round(worst["peak_mb"], 1)}


PARTS = ("ctrlc-numpy", "ctrlc-torch", "mutants", "sentiment")


def _parts(text: str) -> list[str]:
    """``--part``: 'all' or a comma-separated list of :data:`PARTS`, in the order given."""
    if text == "all":
        return list(PARTS)
    parts = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in parts if part not in PARTS]
    if unknown or not parts:
        raise argparse.ArgumentTypeError(f"unknown part {', '.join(unknown) or repr(text)}: choose all or "
                                         f"from {', '.join(PARTS)}")
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", type=_parts, default=list(PARTS),
                        help=f"all, or a comma-separated list of {', '.join(PARTS)} (default: all)")
    parser.add_argument("--trials", type=int, default=100, help="Ctrl-C trials per engine (default: 100)")
    parser.add_argument("--mutants", type=int, default=1000, help="checkpoint mutants (default: 1000)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rnnkit-stress"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="3 trials and 30 mutants of each kind")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.mutants = 3, 30
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    env = rnnkit_env(work / "cache")
    text = work / "words.txt"
    text.write_text(words_text(3000), encoding="utf-8")
    reviews = work / "reviews.tsv"
    reviews.write_text(reviews_text(2000), encoding="utf-8")
    rng = random.Random(args.seed)
    started = time.time()
    print(f"stress_faults: {time.strftime('%Y-%m-%d %H:%M')}, {cpu_model()}, Python {platform.python_version()}, "
          f"command: {' '.join(sys.argv)}", flush=True)
    results = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_model(), "command": " ".join(sys.argv)}
    parts = args.part
    for part in parts:
        t0 = time.monotonic()
        if part in ENGINES:
            results[part] = ctrl_c(work, part, ["--data", text, *CHARLM, *ENGINES[part]], args.trials, env, rng)
        elif part == "mutants":
            base = _base_run(work, "charlm", ["--data", text, "--hidden", "32", "--layers", "2", "--dropout", "0.1",
                                              "--seq-len", "32", "--batch", "8", "--steps", "20", "--eval-every", "10",
                                              "--sample-length", "0"], env)
            results[part] = mutant_runs(work, "charlm", base, args.mutants, env, args.seed, ("sample", "eval", "resume"),
                                        bomb_mib=64 if args.quick else 2048)
        else:
            trials = max(3, args.trials // 5)
            results["sentiment-ctrlc"] = ctrl_c(work, "sentiment-ctrlc", ["--data", reviews, *SENTIMENT, "--threads", "2"],
                                                trials, env, rng)
            base = _base_run(work, "sentiment", ["--task", "sentiment", "--data", reviews, "--hidden", "16", "--layers", "2",
                                                 "--bidirectional", "--batch", "8", "--steps", "20", "--eval-every", "10"], env)
            results["sentiment-mutants"] = mutant_runs(work, "sentiment", base, max(30, args.mutants // 5), env, args.seed + 1,
                                                       ("eval", "resume"), bomb_mib=64 if args.quick else 2048)
        print(f"{part}: {time.monotonic() - t0:.0f} s", flush=True)
        # After every part, so that a run stopped later keeps what it measured.
        (work / "results.json").write_text(json.dumps({**results, "parts_done": parts[:parts.index(part) + 1]}, indent=2))
    results["seconds"] = round(time.time() - started)
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print()
    rows = []
    for key, value in results.items():
        if isinstance(value, dict) and "trials" in value:
            failed = len(value["failures"])
            rows.append([key, value["trials"], "; ".join(f"{k} {v}" for k, v in value["outcomes"].items()), failed,
                         f"{value['seconds']:.0f}"])
    if rows:
        print_table(["Ctrl-C part", "trials", "outcomes", "failed", "seconds"], rows)
        print()
    rows = []
    for key, value in results.items():
        if isinstance(value, dict) and "mutants" in value:
            rows.append([key, value["mutants"], "; ".join(f"{k} {v}" for k, v in value["counts"].items()),
                         len(value["failures"]), value["worst_seconds"], value["worst_peak_mb"]])
    if rows:
        print_table(["mutant part", "mutants", "runs", "failed", "slowest s", "peak MB"], rows)
    print(f"\nall: {results['seconds']} s; details in {work / 'results.json'}")
    if any(isinstance(v, dict) and v.get("failures") for v in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
