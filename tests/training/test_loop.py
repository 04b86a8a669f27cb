"""The training loop through `rnnkit train`: exact resume, run-folder files, the --minutes budget,
refusing to overwrite a run, and Ctrl-C leaving a valid checkpoint."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.runtime.numpy_runtime import NumpyRuntime
from rnnkit.training.checkpoint import BEST, LATEST, load_checkpoint
from rnnkit.training.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[2]
WORDS = "the quick brown fox jumps over a lazy dog while seven wizards box and hum".split()


@pytest.fixture(autouse=True)
def token_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def text(tmp_path):
    rng = random.Random(0)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))) for _ in range(40)]
    path = tmp_path / "words.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train(*argv):
    return main(["train", *map(str, argv), "--sample-length", "0"])


def arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files if k != "__meta__"}


def steps_logged(run):
    return [r["step"] for r in read_metrics(run / "metrics.jsonl")]


# 2 layers and dropout: the dropout generator's state and the carried state both have to survive the
# resume. 1,200 training characters in 4 streams of 16-step chunks wrap around after ~19 steps.
MODEL = ["--cell", "lstm", "--layers", "2", "--dropout", "0.25", "--hidden", "12", "--embed", "6",
         "--batch", "4", "--seq-len", "16", "--eval-every", "5", "--seed", "7"]


def one_run_and_resumed_run(text, tmp_path, n=12, extra=()):
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert train("--data", text, *MODEL, *extra, "--steps", 2 * n, "--out", whole) == 0
    assert train("--data", text, *MODEL, *extra, "--steps", n, "--out", split) == 0
    assert load_checkpoint(split / LATEST).meta["progress"]["step"] == n
    return whole, split


@pytest.mark.parametrize("workers", [[], ["--threads", "2"]], ids=["one-process", "two-processes"])
def test_resume_is_exact(text, tmp_path, capsys, workers):
    whole, split = one_run_and_resumed_run(text, tmp_path, extra=workers)
    # A line logged after the last checkpoint (a crash between the two) must not survive the resume.
    with open(split / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 13, "val_bpc": 9.9}) + "\n")
    assert train("--resume", split, "--steps", 24) == 0
    assert "from step 12" in capsys.readouterr().err

    a, b = arrays(whole / LATEST), arrays(split / LATEST)
    assert a.keys() == b.keys()
    assert any(k.startswith("optim/") for k in a) and any(k.startswith("state/1/") for k in a)
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{k} differs after resume"
    ma, mb = load_checkpoint(whole / LATEST).meta, load_checkpoint(split / LATEST).meta
    assert ma["data_position"] == mb["data_position"] and ma["data_position"]["epoch"] >= 1  # the streams wrapped around
    assert ma["runtime"] == mb["runtime"]  # optimizer counters and the dropout generators' states
    assert len(ma["runtime"]["rngs"]) == (2 if workers else 1)  # one generator per worker process
    assert ma["progress"]["step"] == mb["progress"]["step"] == 24
    assert ma["progress"]["tokens"] == mb["progress"]["tokens"]

    assert steps_logged(whole) == [5, 10, 15, 20, 24]
    assert steps_logged(split) == [5, 10, 12, 15, 20, 24]  # no duplicates, nothing from the torn line
    val_a = {r["step"]: r["val_bpc"] for r in read_metrics(whole / "metrics.jsonl")}
    val_b = {r["step"]: r["val_bpc"] for r in read_metrics(split / "metrics.jsonl")}
    for step in (15, 20, 24):
        assert val_a[step] == val_b[step]
    assert load_checkpoint(split / BEST).meta["progress"]["best"] == min(val_b.values())


@pytest.mark.parametrize("lost", ["rng", "state"])
def test_resume_test_notices_lost_state(text, tmp_path, monkeypatch, lost):
    """The comparison above has teeth: a resume that forgets the dropout generator or the carried
    hidden state ends with different parameters."""
    whole, split = one_run_and_resumed_run(text, tmp_path)
    real_restore = NumpyRuntime.restore

    def forgetful_restore(self, js, groups):
        if lost == "rng":
            js = {k: v for k, v in js.items() if not k.startswith("rng")}
        else:
            groups = {**groups, "state": {}}
        real_restore(self, js, groups)

    monkeypatch.setattr(NumpyRuntime, "restore", forgetful_restore)
    assert train("--resume", split, "--steps", 24) == 0
    a, b = arrays(whole / LATEST), arrays(split / LATEST)
    assert not np.array_equal(a["param/rnn.0.Wh"], b["param/rnn.0.Wh"])


def test_run_folder_files(text, tmp_path):
    run = tmp_path / "run"
    assert train("--data", text, "--hidden", "8", "--batch", "4", "--seq-len", "8", "--steps", 7,
                 "--eval-every", 3, "--out", run) == 0
    assert {p.name for p in run.iterdir()} == {LATEST, BEST, "metrics.jsonl", "config.json", "run.lock"}
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["spec"]["hidden"] == 8 and config["train"]["steps"] == 7
    records = read_metrics(run / "metrics.jsonl")
    assert [r["step"] for r in records] == [3, 6, 7]
    for r in records:
        assert {"step", "tokens", "lr", "train_bpc", "val_bpc", "grad_norm"} <= r.keys()
        assert np.isfinite(r["val_bpc"])
    best = load_checkpoint(run / BEST)
    assert best.meta["progress"]["best"] == min(r["val_bpc"] for r in records)
    assert not any(k.startswith("optim/") for k in best.arrays)  # best.npz: parameters only


def test_minutes_budget_stops_the_run(text, tmp_path):
    """The run trains until the budget is spent and stops at the first step after it: judged by the
    run's own clock and step count, not by how fast this machine is."""
    run = tmp_path / "run"
    assert train("--data", text, "--hidden", "8", "--batch", "4", "--seq-len", "8", "--minutes", "0.02",
                 "--eval-every", 100000, "--out", run) == 0
    progress = load_checkpoint(run / LATEST).meta["progress"]
    assert progress["step"] > 1
    seconds_per_step = progress["elapsed"] / progress["step"]
    assert 1.2 <= progress["elapsed"] < 1.2 + 3 * seconds_per_step + 0.1
    assert load_checkpoint(run / LATEST).meta["train"]["steps"] is None


def test_refuses_to_overwrite_a_run_without_force(text, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--data", text, "--hidden", "8", "--batch", "4", "--seq-len", "8", "--steps", 4, "--out", run]
    assert train(*args) == 0
    files = lambda: {p.name: p.read_bytes() for p in run.iterdir() if p.name != "run.lock"}  # noqa: E731
    before = files()
    capsys.readouterr()
    assert train(*args, "--seed", 3) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--resume" in err and "--force" in err
    assert files() == before  # only the lock's note of its holder changed
    assert train(*args, "--seed", 3, "--force") == 0
    assert (run / LATEST).read_bytes() != before[LATEST]
    assert steps_logged(run) == [4]  # the old run's metrics are gone, not mixed in


def test_resume_refuses_changed_configuration_but_accepts_the_same_flags(text, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--data", text, "--hidden", "8", "--batch", "4", "--seq-len", "8", "--out", run]
    assert train(*args, "--steps", 3) == 0
    checkpoint = (run / LATEST).read_bytes()
    capsys.readouterr()
    assert train("--resume", run, "--steps", 6, "--hidden", 16) == 2
    assert "--hidden cannot change" in capsys.readouterr().err
    assert (run / LATEST).read_bytes() == checkpoint
    assert train("--resume", run, "--out", tmp_path / "elsewhere", "--steps", 6) == 2
    assert train("--resume", run / LATEST, "--steps", 6) == 2
    assert "run folder" in capsys.readouterr().err
    assert train("--resume", run, "--steps", 6, "--hidden", 8, "--data", text) == 0  # same values: fine
    assert load_checkpoint(run / LATEST).meta["progress"]["step"] == 6


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
@pytest.mark.parametrize("threads", ["1", "2"], ids=["one-process", "two-processes"])
def test_ctrl_c_leaves_a_valid_checkpoint_and_exit_code_130(text, tmp_path, threads):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "rnnkit", "train", "--data", str(text), "--hidden", "8", "--batch", "4",
           "--seq-len", "8", "--steps", "100000000", "--eval-every", "10", "--out", str(run), "--sample-length", "0",
           "--threads", threads]
    # SIG_DFL before exec: Python then installs its KeyboardInterrupt handler even when the test
    # runner itself runs with SIGINT ignored (a background job). A session of its own, so that the
    # signal can go to the whole process group, worker processes included, as a terminal's Ctrl-C does.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not (run / LATEST).exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint after 60 s"
            time.sleep(0.05)
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "resume with: rnnkit train --resume" in err
    assert {p.name for p in run.iterdir()} == {LATEST, BEST, "metrics.jsonl", "config.json", "run.lock"}  # no temporaries
    step = load_checkpoint(run / LATEST).meta["progress"]["step"]
    assert step >= 10
    assert steps_logged(run)[-1] == step
    assert train("--resume", run, "--steps", step + 3) == 0
    assert load_checkpoint(run / LATEST).meta["progress"]["step"] == step + 3
