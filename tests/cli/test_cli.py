"""The `rnnkit` command line, called in-process through rnnkit.cli.main (and once each as the console
script and as `python -m rnnkit`): smoke runs of train, sample, eval and gradcheck, and every bad
input answered with exit code 2, a message naming the problem, no traceback and no half-written file."""

import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clirun import cli

from rnnkit.cli import main
from rnnkit.runtime import make_runtime
from rnnkit.generate import generate, print_sample
from rnnkit import gradchecks as checks
from rnnkit.numpy_engine import rnn
from rnnkit.models.charlm.numpy_model import CharLM
from rnnkit.training.checkpoint import BEST, LATEST, load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
WORDS = "the quick brown fox jumps over a lazy dog while seven wizards box and hum".split()
TINY = ["--hidden", "16", "--steps", "20", "--batch", "4", "--seq-len", "16"]


def words_text(lines=120, seed=0):
    rng = random.Random(seed)
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))) for _ in range(lines)) + "\n"


@pytest.fixture(scope="module", autouse=True)
def token_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNKIT_CACHE", str(tmp_path_factory.mktemp("token-cache")))
        yield


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "words.txt"
    path.write_text(words_text(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory, corpus):
    """A small trained run shared by the sample and eval tests (read-only for them)."""
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--data", str(corpus), "--hidden", "24", "--steps", "60", "--batch", "4",
                 "--seq-len", "16", "--lr", "1e-2", "--warmup", "5", "--eval-every", "20",
                 "--out", str(out), "--sample-length", "0"]) == 0
    return out


def assert_usage_error(code, err, *words):
    assert code == 2, err
    assert "Traceback" not in err
    assert "error:" in err
    for w in words:
        assert w in err, err


# -- train ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_train_smoke(cell, corpus, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = cli(["train", "--data", corpus, "--cell", cell, *TINY, "--eval-every", "10",
                             "--out", out, "--sample-length", "50"], capsys)
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == {LATEST, BEST, "metrics.jsonl", "config.json", "run.lock"}
    assert "data:" in err and f"1 x {cell} H=16" in err and "done: step 20" in err
    assert "Traceback" not in err
    sample = stdout.rstrip("\n")
    assert len(sample) >= 50 and set(sample) <= set(corpus.read_text())
    ck = load_checkpoint(out / LATEST)
    assert ck.meta["progress"]["step"] == 20 and ck.spec.cell == cell


def test_train_byte_mode_reads_any_bytes(tmp_path, capsys):
    data = tmp_path / "latin1.txt"
    data.write_bytes(words_text().encode() + b"caf\xe9 \xff\xfe\n" * 3)
    code, _, err = cli(["train", "--data", data, "--byte-mode", *TINY, "--out", tmp_path / "run",
                        "--sample-length", "20"], capsys)
    assert code == 0, err
    assert load_checkpoint(tmp_path / "run").vocab.mode == "byte"


# -- sample --------------------------------------------------------------------------------------


def sample(run, capsys, *args):
    code, out, err = cli(["sample", run, *args], capsys)
    assert code == 0, err
    assert out.endswith("\n")
    return out[:-1]


def test_sample_same_seed_same_text_and_starts_with_the_prime(run, capsys):
    a = sample(run, capsys, "--prime", "the ", "--length", "80", "--seed", "1")
    b = sample(run, capsys, "--prime", "the ", "--length", "80", "--seed", "1")
    c = sample(run, capsys, "--prime", "the ", "--length", "80", "--seed", "2")
    assert a == b
    assert a != c
    assert a.startswith("the ") and c.startswith("the ")
    assert len(a) == len("the ") + 80


def test_sample_greedy_is_deterministic_and_equals_top_k_1_and_a_tiny_temperature(run, capsys):
    g1 = sample(run, capsys, "--prime", "the", "--length", "40", "--greedy", "--seed", "1")
    g2 = sample(run, capsys, "--prime", "the", "--length", "40", "--greedy", "--seed", "2")
    k1 = sample(run, capsys, "--prime", "the", "--length", "40", "--top-k", "1", "--seed", "3")
    cold = sample(run, capsys, "--prime", "the", "--length", "40", "--temperature", "1e-4", "--seed", "4")
    assert g1 == g2 == k1 == cold


def test_sample_greedy_takes_the_argmax_and_top_k_stays_in_the_top_k(run, capsys):
    """Replay the generated text through the model: every greedy character is the argmax of the
    logits at its step, every top-3 character among the 3 largest."""
    ck = load_checkpoint(run)
    model = CharLM(ck.spec, {k: v.astype(np.float64) for k, v in ck.params.items()})

    def ranks(text, prime_len):
        ids = ck.vocab.encode(text)
        logits, _, _ = model.forward(ids[None, :-1], model.init_state(1))  # (len - 1, V), batch 1
        order = np.argsort(-logits, axis=1)
        return [int(np.where(order[t] == ids[t + 1])[0][0]) for t in range(prime_len - 1, len(ids) - 1)]

    greedy = sample(run, capsys, "--prime", "a ", "--length", "30", "--greedy")
    assert set(ranks(greedy, 2)) == {0}
    top3 = sample(run, capsys, "--prime", "a ", "--length", "60", "--top-k", "3", "--seed", "5")
    assert max(ranks(top3, 2)) <= 2


def test_sample_length_zero_prints_only_the_prime(run, capsys):
    assert sample(run, capsys, "--prime", "box", "--length", "0") == "box"


def test_sample_reads_a_run_folder_or_a_checkpoint_file(run, capsys):
    from_dir = sample(run, capsys, "--length", "30", "--seed", "9")
    from_best = sample(run / BEST, capsys, "--length", "30", "--seed", "9")
    assert from_dir == from_best
    assert len(sample(run / LATEST, capsys, "--length", "30", "--seed", "9")) == 30


def test_sample_streams(run):
    """Characters come out one at a time, each flushed: the first arrives before the rest exist."""
    ck = load_checkpoint(run)
    runtime = make_runtime("numpy", ck.spec, params=ck.params)
    pieces = generate(runtime, ck.vocab, prime="the", length=10**9, seed=0)
    first = [next(pieces) for _ in range(5)]  # an endless sample yields at once
    assert all(len(p) == 1 for p in first)

    class Recorder:
        def __init__(self):
            self.events = []

        def write(self, s):
            self.events.append(("write", s))

        def flush(self):
            self.events.append(("flush", None))

    rec = Recorder()
    print_sample(runtime, ck.vocab, prime="the", length=12, stream=rec, seed=0)
    writes = [s for kind, s in rec.events if kind == "write"]
    assert writes[0] == "the" and "".join(writes[1:-1]) and writes[-1] == "\n"
    for i in range(1, 13):  # every generated character is flushed before the next is written
        assert rec.events[2 * i - 1][0] == "write" and rec.events[2 * i][0] == "flush"


# -- eval ----------------------------------------------------------------------------------------


def test_eval_prints_bits_per_character(run, corpus, capsys):
    code, out, err = cli(["eval", run, "--data", corpus], capsys)
    assert code == 0, err
    m = re.match(r"(\d+\.\d+) bits per character over ([\d,]+) characters", out)
    assert m, out
    assert 0 < float(m.group(1)) < math.log2(len(set(corpus.read_text())))  # better than uniform
    assert int(m.group(2).replace(",", "")) == len(corpus.read_text()) - 1


def test_eval_json_all_and_val(run, corpus, capsys):
    code, out, err = cli(["eval", run, "--data", corpus, "--json"], capsys)
    assert code == 0, err
    every = json.loads(out)
    assert every["chars"] == len(corpus.read_text()) - 1 and every["bpc"] > 0
    code, out, err = cli(["eval", run, "--data", corpus, "--json", "--split", "val"], capsys)
    assert code == 0, err
    val = json.loads(out)
    n = len(corpus.read_text())
    assert val["chars"] == math.ceil(n * 0.05) - 1
    # The run's own validation measurement of best.npz is the same number.
    assert val["bpc"] == pytest.approx(load_checkpoint(run / BEST).meta["progress"]["best"], rel=1e-6)


def test_eval_one_stream_equals_the_model_reading_the_whole_text(run, corpus, capsys):
    code, out, err = cli(["eval", run, "--data", corpus, "--json", "--batch", "1", "--seq-len", "50"], capsys)
    assert code == 0, err
    ck = load_checkpoint(run)
    model = CharLM(ck.spec, {k: v.astype(np.float64) for k, v in ck.params.items()})
    ids = ck.vocab.encode(corpus.read_text())
    nats = model.evaluate(ids[None, :-1], ids[None, 1:], model.init_state(1))[0]["nats"]
    assert json.loads(out)["bpc"] == pytest.approx(nats / (len(ids) - 1) / math.log(2), rel=1e-5)


# -- gradcheck -----------------------------------------------------------------------------------


def test_gradcheck_prints_the_table_and_passes(capsys):
    code, out, err = cli(["gradcheck"], capsys)
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["layer", "input", "rel_error"]
    assert any(line.startswith("lstm_forward") and " c0 " in line for line in lines)
    assert any(line.startswith("charlm gru x2") for line in lines)
    assert "FAIL" not in out
    assert re.search(r"(\d+) of \1 gradients within tolerance", out)


def test_gradcheck_fails_with_exit_1_on_a_wrong_gradient(monkeypatch, capsys):
    real = rnn.rnn_backward

    def off(*args, **kwargs):
        dx, dh0, dWx, dWh, db = real(*args, **kwargs)
        return dx, dh0, dWx, dWh * 1.001, db

    monkeypatch.setattr(rnn, "rnn_backward", off)
    monkeypatch.setattr(checks, "check_charlm", lambda *a, **k: {})  # the layers suffice, and are quick
    code, out, _ = cli(["gradcheck"], capsys)
    assert code == 1
    assert [line.split()[:2] for line in out.splitlines() if "FAIL" in line] == [["rnn_forward", "Wh"]]


# -- bad input: exit 2, a message, no traceback, nothing half-written ------------------------------


def _bad_data(tmp_path, kind):
    if kind == "missing":
        return tmp_path / "nowhere.txt"
    path = tmp_path / "data.txt"
    if kind == "empty":
        path.write_text("")
    elif kind == "directory":
        path.mkdir()
    elif kind == "short":
        path.write_text("hi there\n")
    elif kind == "undecodable":
        path.write_bytes(words_text().encode() + b"\xff\xfe caf\xe9\n")
    elif kind == "name":
        return "nosuchcorpus"
    return path


@pytest.mark.parametrize("kind, words", [
    ("missing", ["no such file", "nowhere.txt"]),
    ("empty", ["is empty"]),
    ("directory", ["is a directory"]),
    ("short", ["too short", "batch 4"]),
    ("undecodable", ["not UTF-8", "--byte-mode"]),
    ("name", ["unknown corpus", "nosuchcorpus"]),
])
def test_train_refuses_bad_data(kind, words, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = cli(["train", "--data", _bad_data(tmp_path, kind), *TINY, "--out", out], capsys)
    assert_usage_error(code, err, *words)
    assert stdout == ""
    assert not out.exists()  # no run folder, so no half-written checkpoint


@pytest.mark.parametrize("flag, value", [
    ("--hidden", "0"), ("--steps", "-5"), ("--lr", "0"), ("--lr", "-1e-3"), ("--lr", "abc"),
    ("--dropout", "1.5"), ("--dropout", "-0.1"), ("--batch", "0"), ("--seq-len", "0"), ("--layers", "0"),
    ("--minutes", "0"), ("--clip", "-1"), ("--val-fraction", "0.9"), ("--cell", "transformer"),
])
def test_train_refuses_out_of_range_flags(flag, value, corpus, tmp_path, capsys):
    argv = ["train", "--data", corpus, *TINY, "--out", tmp_path / "run"]
    code, _, err = cli([*argv, flag, value], capsys)
    assert_usage_error(code, err, flag)
    assert not (tmp_path / "run").exists()


def test_sample_refuses_a_prime_outside_the_vocabulary_and_names_the_characters(run, capsys):
    code, out, err = cli(["sample", run, "--prime", "the QZ€"], capsys)
    assert_usage_error(code, err, "'Q'", "'Z'", "'€'", "not in the vocabulary")
    assert out == ""  # not even the prime


@pytest.mark.parametrize("flag, value, words", [
    ("--temperature", "0", ["--temperature", "> 0"]),
    ("--temperature", "-1", ["--temperature"]),
    ("--temperature", "nan", ["--temperature"]),
    ("--top-k", "0", ["--top-k"]),
    ("--top-k", "10000", ["top-k", "vocabulary size"]),
    ("--length", "-1", ["--length"]),
])
def test_sample_refuses_out_of_range_flags(run, flag, value, words, capsys):
    code, out, err = cli(["sample", run, flag, value], capsys)
    assert_usage_error(code, err, *words)
    assert out == ""


def _bad_checkpoint(run, tmp_path, kind):
    good = (run / LATEST).read_bytes()
    path = tmp_path / "model.npz"
    if kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "corrupted":
        data = bytearray(good)
        at = good.find(load_checkpoint(run / LATEST).params["head.W"].tobytes())
        data[at + 3] ^= 0xFF
        path.write_bytes(bytes(data))
    elif kind == "foreign-npz":
        np.savez(path, weights=np.zeros((4, 4)))
    elif kind == "text-file":
        path.write_text("not a checkpoint at all\n")
    elif kind == "empty-folder":
        path = tmp_path / "empty-run"
        path.mkdir()
    elif kind == "missing":
        path = tmp_path / "nowhere"
    return path


CHECKPOINT_PROBLEMS = [
    ("truncated", ["truncated or corrupted"]),
    ("corrupted", ["model.npz"]),
    ("foreign-npz", ["not an rnnkit checkpoint"]),
    ("text-file", ["model.npz"]),
    ("empty-folder", ["holds no checkpoint"]),
    ("missing", ["no such checkpoint"]),
]


@pytest.mark.parametrize("kind, words", CHECKPOINT_PROBLEMS)
def test_sample_refuses_a_bad_checkpoint(run, tmp_path, kind, words, capsys):
    code, out, err = cli(["sample", _bad_checkpoint(run, tmp_path, kind), "--length", "5"], capsys)
    assert_usage_error(code, err, *words)
    assert out == ""


@pytest.mark.parametrize("kind, words", CHECKPOINT_PROBLEMS[:3])
def test_eval_refuses_a_bad_checkpoint(run, corpus, tmp_path, kind, words, capsys):
    code, out, err = cli(["eval", _bad_checkpoint(run, tmp_path, kind), "--data", corpus], capsys)
    assert_usage_error(code, err, *words)
    assert out == ""


def test_eval_refuses_missing_data_and_text_outside_the_vocabulary(run, tmp_path, capsys):
    code, _, err = cli(["eval", run, "--data", tmp_path / "nowhere.txt"], capsys)
    assert_usage_error(code, err, "no such file")
    other = tmp_path / "other.txt"
    other.write_text("ZEBRA XYLOPHONE\n" * 20)
    code, _, err = cli(["eval", run, "--data", other], capsys)
    assert_usage_error(code, err, "not in the vocabulary", "'A'")


def test_train_resume_refuses_a_bad_checkpoint(run, tmp_path, capsys):
    folder = tmp_path / "broken-run"
    folder.mkdir()
    (folder / LATEST).write_bytes((run / LATEST).read_bytes()[:500])
    code, _, err = cli(["train", "--resume", folder, "--steps", "100"], capsys)
    assert_usage_error(code, err, "truncated or corrupted")
    assert len((folder / LATEST).read_bytes()) == 500  # left as it was


# -- the installed entry points --------------------------------------------------------------------


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_console_script_rnnkit(run, capsys):
    script = Path(sys.executable).with_name("rnnkit")
    script = str(script) if script.exists() else shutil.which("rnnkit")
    if script is None:
        pytest.skip("the rnnkit console script is not installed")
    args = ["sample", str(run), "--prime", "the ", "--length", "40", "--seed", "3"]
    proc = subprocess.run([script, *args], capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == sample(run, capsys, *args[2:]) + "\n"  # the same as in-process


def test_python_dash_m_rnnkit_bad_input(run):
    proc = subprocess.run([sys.executable, "-m", "rnnkit", "sample", str(run), "--prime", "QQ"],
                          capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 2
    assert "rnnkit sample: error:" in proc.stderr and "'Q'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_import_rnnkit_is_light_so_the_command_owns_ctrl_c_early():
    """``import rnnkit`` (what the console script runs first) imports no NumPy: the command's own
    Ctrl-C handling starts before the slow imports, not after them."""
    code = "import sys, rnnkit, rnnkit.cli; print('numpy' in sys.modules); print(rnnkit.TrainConfig.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "TrainConfig"]


def test_a_ctrl_c_while_the_command_starts_is_one_line(monkeypatch, capsys):
    from rnnkit import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["train"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "rnnkit: interrupted while starting; nothing was saved"
