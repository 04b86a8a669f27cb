"""DistributedDataParallel through torchrun: 2 CPU processes (gloo) train what 1 process trains.

Two processes with B/2 streams each, averaging their gradients, compute the gradient of one
process on all B streams; so after the same steps the parameters agree to float32 rounding (the
sums run in another order). The run stops half way and resumes, also under torchrun, so the
checkpoint's gathered carried state and its scattering on resume are part of what is checked.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit.cli import main  # noqa: E402
from rnnkit.training.checkpoint import load_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODEL = ["--engine", "torch", "--device", "cpu", "--cell", "lstm", "--layers", "2", "--hidden", "24",
         "--embed", "8", "--batch", "6", "--seq-len", "16", "--eval-every", "3", "--eval-chars", "400",
         "--optimizer", "adam", "--lr", "0.01", "--warmup", "0", "--sample-length", "0"]


def torchrun(args, env, processes=2):
    """``torchrun --nproc-per-node processes -m rnnkit args``; returns the finished process."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               "-m", "rnnkit", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=150, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.slow
def test_two_processes_train_like_one_process_on_the_whole_batch(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    words = "and the evening and the morning were the first day of all the days".split()
    text = tmp_path / "text.txt"
    text.write_text(" ".join(rng.choice(words, 4000)) + "\n", encoding="utf-8")
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}

    ddp = tmp_path / "ddp"
    first = torchrun(["train", "--data", str(text), *MODEL, "--steps", "6", "--out", str(ddp)], env)
    assert first.stderr.count("done: step 6") == 1  # rank 0 alone reports
    saved = load_checkpoint(ddp, prefer_best=False)
    assert saved.arrays["state/0/0"].shape == (6, 24)  # both ranks' 3 streams, gathered
    torchrun(["train", "--resume", str(ddp), "--steps", "12", "--device", "cpu", "--sample-length", "0"], env)

    assert main(["train", "--data", str(text), *MODEL, "--steps", "12", "--out", str(tmp_path / "one")]) == 0
    one = load_checkpoint(tmp_path / "one", prefer_best=False)
    two = load_checkpoint(ddp, prefer_best=False)
    assert two.meta["progress"]["step"] == 12 and two.meta["progress"]["tokens"] == 12 * 6 * 16
    assert set(one.arrays) == set(two.arrays)
    for name, value in one.arrays.items():
        assert np.allclose(two.arrays[name], value, rtol=1e-4, atol=1e-5), name
    moved = np.abs(one.params["head.W"] - saved.params["head.W"]).max()
    assert moved > 1e-3  # the second half trained: the comparison is not between two untouched models

    steps = [json.loads(line)["step"] for line in (ddp / "metrics.jsonl").read_text().splitlines()]
    assert steps == [3, 6, 9, 12]  # one writer, no duplicated lines


@pytest.mark.slow
def test_the_sentiment_task_trains_under_torchrun_like_one_process(tmp_path, monkeypatch):
    """Every task gets DDP from the shared trainer: 2 processes with 4 sentences each train what one
    process trains on the 8 (dropout off, so both draw nothing at random)."""
    rng = np.random.default_rng(3)
    words = "good great bad awful the film a plot".split()
    lines = [f"{'positive' if 'good' in s or 'great' in s else 'negative'}\t{s}"
             for s in (" ".join(rng.choice(words, rng.integers(2, 8))) for _ in range(300))]
    tsv = tmp_path / "reviews.tsv"
    tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    model = ["--task", "sentiment", "--data", str(tsv), "--engine", "torch", "--device", "cpu", "--hidden", "8",
             "--embed", "8", "--batch", "8", "--dropout", "0", "--embed-dropout", "0", "--eval-every", "3",
             "--steps", "6"]
    done = torchrun(["train", *model, "--out", str(tmp_path / "ddp")], env)
    assert done.stderr.count("done: step 6") == 1
    assert main(["train", *model, "--out", str(tmp_path / "one")]) == 0
    one = load_checkpoint(tmp_path / "one", prefer_best=False)
    two = load_checkpoint(tmp_path / "ddp", prefer_best=False)
    assert one.meta["data_position"] == two.meta["data_position"]
    for name, value in one.params.items():
        assert np.allclose(two.params[name], value, rtol=1e-4, atol=1e-5), name
