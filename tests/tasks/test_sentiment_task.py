"""The sentiment task end to end, as a user runs it: train on a TSV with either engine, evaluate,
predict (also from a file, as JSON, in the other engine and without torch), resume exactly, and
bad input answered with one line and exit code 2.

The data is generated: each sentence mixes neutral words with polar words, and its label is the
sign of (positive words - negative words), so a model must count over the whole sentence.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clirun import cli

from rnnkit.cli import main
from rnnkit.training.checkpoint import BEST, LATEST, load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
POSITIVE = "good great superb moving delightful".split()
NEGATIVE = "bad dull awful boring clumsy".split()
NEUTRAL = "the film a story of this and with its plot cast".split()
SMALL = ["--hidden", "16", "--embed", "16", "--batch", "16", "--eval-every", "20", "--lr", "0.01",
         "--dropout", "0.1"]


def sentence(rng) -> tuple[str, str]:
    pos, neg = rng.integers(0, 3, 2)
    if pos == neg:
        pos += 1
    words = list(rng.choice(NEUTRAL, rng.integers(2, 9))) + list(rng.choice(POSITIVE, pos)) + list(rng.choice(NEGATIVE, neg))
    rng.shuffle(words)
    return ("positive" if pos > neg else "negative"), " ".join(words)


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("data") / "reviews.tsv"
    path.write_text("".join(f"{label}\t{text}\n" for label, text in (sentence(rng) for _ in range(600))),
                    encoding="utf-8")
    return path


def train(tsv, out, *extra):
    return main(["train", "--task", "sentiment", "--data", str(tsv), *SMALL, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def run(tsv, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "numpy"
    assert train(tsv, out, "--steps", "120") == 0
    return out


def test_training_learns_and_writes_the_run_folder(run):
    assert {p.name for p in run.iterdir()} >= {LATEST, BEST, "metrics.jsonl", "config.json"}
    best = load_checkpoint(run)
    assert best.kind == "classifier" and best.task["name"] == "sentiment"
    assert best.meta["progress"]["best"] >= 0.9  # validation accuracy
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"step", "train_loss", "val_accuracy", "val_loss"} <= records[-1].keys()


def test_eval_prints_the_task_metrics(run, capsys):
    code, out, err = cli(["eval", run, "--split", "test", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["accuracy"] >= 0.85 and result["loss"] > 0 and result["split"] == "test"
    code, out, _ = cli(["eval", run, "--split", "val"], capsys)
    assert code == 0 and out.startswith("accuracy ")


def test_predict_gives_the_label_and_its_probability(run, tmp_path, capsys):
    code, out, err = cli(["predict", run, "a good superb great film", "the dull awful boring plot"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[0] == "positive" and lines[1].split()[0] == "negative"
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("a delightful moving story\nclumsy and bad\n", encoding="utf-8")
    code, out, err = cli(["predict", run, "--file", inputs, "--json"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert all(0.5 < r["probability"] <= 1 and r["input"] for r in rows)
    assert sum(rows[0]["probabilities"].values()) == pytest.approx(1.0)


def test_a_text_over_the_limit_is_cut_with_a_warning(run, capsys):
    code, out, err = cli(["predict", run, " ".join(["good"] * 150)], capsys)
    assert code == 0 and out.split()[0] == "positive"
    assert "warning: input 1 has 150 words; the model reads the first 100" in err


@pytest.mark.parametrize("args, words", [
    (["predict", "RUN", ""], "input 1 is empty"),
    (["predict", "RUN"], "nothing to predict"),
    (["predict", "RUN", "--file", "EMPTY"], "is empty"),
    (["predict", "RUN", "--file", "MISSING"], "no such file"),
    (["sample", "RUN"], "'rnnkit predict"),
    (["eval", "RUN", "--split", "all"], "train, val and test"),
], ids=["empty-text", "no-input", "empty-file", "missing-file", "sample-a-classifier", "bad-split"])
def test_bad_input_is_one_line_and_exit_2(run, tmp_path, capsys, args, words):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    names = {"RUN": str(run), "EMPTY": str(empty), "MISSING": str(tmp_path / "nowhere.txt")}
    code, out, err = cli([names.get(a, a) for a in args], capsys)
    assert code == 2 and words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, words", [
    ("positive\tgood\nmaybe\tso so\n", "line 2"),
    ("positive\tgood\nno tab here\n", "line 2"),
    ("", "empty"),
], ids=["unknown-label", "missing-column", "empty-file"])
def test_bad_tsv_is_one_line_and_exit_2(tmp_path, capsys, content, words):
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    code, _, err = cli(["train", "--task", "sentiment", "--data", path, "--steps", "1", "--out", tmp_path / "r"], capsys)
    assert code == 2 and words in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_flags_of_another_task_are_refused(tsv, tmp_path, capsys):
    code, _, err = cli(["train", "--task", "sentiment", "--data", tsv, "--seq-len", "8", "--out", tmp_path / "r"], capsys)
    assert code == 2 and "--seq-len is a flag of --task charlm" in err
    code, _, err = cli(["train", "--pool", "max", "--out", tmp_path / "r"], capsys)
    assert code == 2 and "--pool is a flag of --task sentiment" in err


def test_resume_is_exact(tsv, tmp_path):
    """N steps then --resume to 2N: the same parameters, optimizer state and data position as 2N
    steps in one run (dropout on, batches shuffled and bucketed)."""
    assert train(tsv, tmp_path / "whole", "--steps", "16", "--threads", "1") == 0
    assert train(tsv, tmp_path / "split", "--steps", "8", "--threads", "1") == 0
    assert main(["train", "--resume", str(tmp_path / "split"), "--steps", "16"]) == 0
    whole, split = (load_checkpoint(tmp_path / name, prefer_best=False) for name in ("whole", "split"))
    assert whole.meta["data_position"] == split.meta["data_position"]
    assert set(whole.arrays) == set(split.arrays)
    for name, value in whole.arrays.items():
        assert np.array_equal(value, split.arrays[name]), name


def test_two_worker_processes_train_like_one(tsv, tmp_path):
    """The NumPy engine's worker processes split the sentences of a batch; float64, so that only
    the order of the gradient sums differs."""
    common = ["--steps", "4", "--dtype", "float64", "--dropout", "0"]  # each process draws its own masks
    assert train(tsv, tmp_path / "one", *common, "--threads", "1") == 0
    assert train(tsv, tmp_path / "two", *common, "--threads", "2") == 0
    one, two = (load_checkpoint(tmp_path / name, prefer_best=False).params for name in ("one", "two"))
    for name, value in one.items():
        assert np.allclose(two[name], value, rtol=1e-9, atol=1e-12), name


def run_without_torch(*argv):
    """``rnnkit argv`` in a fresh interpreter where ``import torch`` fails: (exit code, stdout)."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from rnnkit.cli import main\n"
            f"code = main({list(argv)!r})\n"
            "assert not any(m == 'torch' or m.startswith('torch.') for m in sys.modules if sys.modules[m] is not None)\n"
            "sys.exit(code)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_torch_trained_classifier_predicts_alike_in_numpy_without_torch(tsv, tmp_path, capsys):
    pytest.importorskip("torch")
    run = tmp_path / "torch"
    assert train(tsv, run, "--steps", "40", "--engine", "torch", "--device", "cpu") == 0
    texts = ["a good superb great film", "the dull awful boring plot", "the cast"]
    capsys.readouterr()
    assert main(["predict", str(run), *texts, "--json", "--engine", "torch", "--device", "cpu"]) == 0
    by_torch = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_numpy = [json.loads(line) for line in run_without_torch("predict", str(run), *texts, "--json").splitlines()]
    for t, n in zip(by_torch, by_numpy):
        assert t["label"] == n["label"]
        for name, p in t["probabilities"].items():
            assert n["probabilities"][name] == pytest.approx(p, abs=1e-5)
    assert main(["eval", str(run), "--split", "test", "--json"]) == 0  # and evaluates in numpy
    assert json.loads(capsys.readouterr().out)["accuracy"] > 0.5
