"""Issue 14, "nothing hangs, nothing is lost, no input crashes it", in fast versions: a few Ctrl-C
trials, a few dozen damaged checkpoints, and each bad flag and environment once. The guarantees
live in the shared loader, trainer and run folder, so some cases run on the sentiment task too.
benchmarks/stress_faults.py runs the same checks by the hundred."""

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import faults
from rnnkit.cli import main
from rnnkit.training import loop
from rnnkit.training.checkpoint import BEST, LATEST, load_checkpoint
from rnnkit.training.interrupts import deferred_interrupts, interrupt_pending, take_interrupt
from rnnkit.training.metrics import read_metrics
from rnnkit.training.runfolder import open_run_folder

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--hidden", "8", "--batch", "4", "--seq-len", "8", "--eval-every", "5", "--sample-length", "0"]


@pytest.fixture(autouse=True)
def token_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path_factory.getbasetemp() / "faults-cache"))


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Python's own Ctrl-C handler, whatever the runner has (a background job ignores SIGINT)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "words.txt"
    path.write_text(faults.words_text(200), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "reviews.tsv"
    path.write_text(faults.reviews_text(400), encoding="utf-8")
    return path


def cli(argv, capsys):
    """(exit code, stderr) of an in-process ``rnnkit`` call."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    return code, capsys.readouterr().err


def one_line_error(code, err, command="train"):
    lines = [line for line in err.splitlines() if line.strip()]
    return code == 2 and "Traceback" not in err and lines[-1].startswith(f"rnnkit {command}: error: ")


def params(run):
    return faults.final_params(run)


# -- 1, 2: Ctrl-C --------------------------------------------------------------------------------


def ctrl_c_now():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.01)  # the handler runs at the next bytecode


def test_a_ctrl_c_in_a_deferred_block_waits_for_its_end():
    seen = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupts():
            ctrl_c_now()
            seen.append(interrupt_pending())
            with deferred_interrupts():  # nested: only the outermost block raises
                pass
            seen.append("end of block")
    assert seen == [True, "end of block"]
    with deferred_interrupts():  # taken by the code: not raised
        ctrl_c_now()
        assert take_interrupt() and not interrupt_pending()
    with pytest.raises(ValueError):  # an exception of the block wins over the interrupt
        with deferred_interrupts():
            ctrl_c_now()
            raise ValueError
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_three_presses_while_one_is_pending_quit_at_once():
    code = ("import os, signal, time\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "from rnnkit.training.interrupts import deferred_interrupts\n"
            "with deferred_interrupts():\n"
            "    for _ in range(3):\n        os.kill(os.getpid(), signal.SIGINT); time.sleep(0.05)\n"
            "    print('not reached')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=faults.rnnkit_env())
    assert done.returncode == 130 and "not reached" not in done.stdout
    assert "stopping now without saving" in done.stderr and "Traceback" not in done.stderr


def interrupt_at_step(monkeypatch, at):
    """Send Ctrl-C inside training step ``at``: after its batch was taken, before it is counted."""
    make_runtime = loop.make_runtime

    def make(*args, **kwargs):
        runtime = make_runtime(*args, **kwargs)
        step, calls = runtime.train_step, []

        def train_step(batch, lr):
            calls.append(1)
            if len(calls) == at:
                ctrl_c_now()
            return step(batch, lr)

        runtime.train_step = train_step
        return runtime

    monkeypatch.setattr(loop, "make_runtime", make)


@pytest.mark.parametrize("engine, steps, at", [("numpy", 16, 7), ("torch", 8, 3)])
def test_a_ctrl_c_mid_step_saves_that_step_and_resumes_exactly(engine, steps, at, text, tmp_path, monkeypatch, capsys):
    if engine == "torch":
        pytest.importorskip("torch")
    model = ["--data", text, *SMALL, "--layers", "2", "--dropout", "0.2", "--engine", engine, "--seed", 3]
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert cli(["train", *model, "--steps", steps, "--out", whole], capsys)[0] == 0
    interrupt_at_step(monkeypatch, at)
    code, err = cli(["train", *model, "--steps", steps, "--out", split], capsys)
    assert code == 130 and "Traceback" not in err and "resume with" in err
    saved = load_checkpoint(split / LATEST).meta
    assert saved["progress"]["step"] == at  # the step the interrupt landed in, whole
    assert saved["data_position"]["position"] == at * 8  # and exactly its chunks
    monkeypatch.undo()
    assert cli(["train", "--resume", split], capsys)[0] == 0
    assert faults.same_params(params(split), params(whole))


def test_a_ctrl_c_before_the_first_step_saves_nothing_and_says_so(text, tmp_path, monkeypatch, capsys):
    real = loop.ProgressBar

    def bar_then_ctrl_c(*args, **kwargs):
        ctrl_c_now()
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "ProgressBar", bar_then_ctrl_c)
    code, err = cli(["train", "--data", text, *SMALL, "--steps", 10, "--out", tmp_path / "run"], capsys)
    assert code == 130 and "Traceback" not in err
    assert "interrupted before the first step: nothing was saved" in err
    assert not (tmp_path / "run" / LATEST).exists()


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
@pytest.mark.parametrize("whole_group", [True, False], ids=["process-group", "main-process"])
def test_ctrl_c_with_worker_processes_never_hangs_and_resumes_exactly(whole_group, text, tmp_path, capsys):
    argv = ["--data", text, "--hidden", "16", "--batch", "8", "--seq-len", "16", "--steps", 150,
            "--eval-every", 20, "--threads", 2]
    reference = tmp_path / "reference"
    assert cli(["train", *argv, "--out", reference, "--sample-length", 0], capsys)[0] == 0
    run = tmp_path / "run"
    trial = faults.interrupt_trial(argv, run, delay=0.3, whole_group=whole_group, env=faults.rnnkit_env(
        Path(os.environ["RNNKIT_CACHE"])))
    assert not trial["hung"] and not trial["leftover"] and not trial["traceback"], trial["err"]
    assert trial["rc"] in (0, 130), trial["err"]
    assert not list(run.glob("*.tmp"))
    if trial["rc"] == 130:
        assert cli(["train", "--resume", run], capsys)[0] == 0
    assert faults.same_params(params(run), params(reference))


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_a_ctrl_c_as_the_run_ends_prints_no_traceback(text, tmp_path):
    """Right after "done:" the worker processes are being stopped: a Ctrl-C there interrupts nothing."""
    argv = ["--data", text, "--hidden", "16", "--batch", "8", "--seq-len", "16", "--steps", 10, "--threads", 2]
    for delay in (0.0, 0.03):
        trial = faults.interrupt_trial(argv, tmp_path / f"run{delay}", delay, after="done:",
                                       env=faults.rnnkit_env(Path(os.environ["RNNKIT_CACHE"])))
        assert trial["rc"] == 0 and not trial["traceback"] and not trial["leftover"], trial["err"]



def test_a_ctrl_c_in_the_clean_up_after_done_ends_the_run_with_0(text, tmp_path, capsys, monkeypatch):
    """Deterministic twin of the test above: the Ctrl-C lands while the workers are being closed,
    after "done:" and the last checkpoint; a run that is saved and over reports success."""
    from rnnkit.commands import train as train_command

    def closing_interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_command, "_close", closing_interrupted)
    run = tmp_path / "run"
    code, err = cli(["train", "--data", text, *SMALL, "--steps", 3, "--out", run], capsys)
    assert code == 0 and "done:" in err and "interrupted" not in err, err
    assert load_checkpoint(run / LATEST)

    # Before "done:" the same Ctrl-C still means "interrupted" (here: sampling after the run).
    monkeypatch.setattr(train_command, "_close", lambda runtime: None)
    monkeypatch.setattr("rnnkit.generate.print_sample", closing_interrupted)
    code, err = cli(["train", "--data", text, *SMALL[:-2], "--steps", 3, "--out", tmp_path / "run2",
                     "--sample-length", 20], capsys)
    assert code == 130 and "interrupted" in err, err


# -- 3: divergence ---------------------------------------------------------------------------------


def test_a_huge_learning_rate_stops_with_a_message_and_never_saves_nan(text, tmp_path, capsys):
    run = tmp_path / "run"
    code, err = cli(["train", "--data", text, "--hidden", 16, "--batch", 4, "--seq-len", 8, "--lr", "3e38",
                     "--clip", 0, "--warmup", 0, "--eval-every", 1, "--out", run, "--sample-length", 0], capsys)
    assert one_line_error(code, err) and "diverged" in err
    for name in (LATEST, BEST):
        if (run / name).exists():
            load_checkpoint(run / name)  # a saved checkpoint is a good one


@pytest.mark.parametrize("task", ["charlm", "sentiment"])
def test_a_loss_far_above_a_uniform_guess_is_divergence(task, text, reviews, tmp_path, capsys):
    data = ["--data", text, "--batch", 4, "--seq-len", 8] if task == "charlm" else ["--task", "sentiment", "--data", reviews]
    started = time.monotonic()
    code, err = cli(["train", *data, "--hidden", 16, "--lr", "1e6", "--steps", 500, "--eval-every", 100,
                     "--out", tmp_path / "run"], capsys)
    assert one_line_error(code, err) and "x a uniform guess's" in err
    assert int(re.search(r"at step (\d+)", err).group(1)) <= 20 and time.monotonic() - started < 30


# -- 4, 5: the run folder --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["charlm", "sentiment"])
def test_a_second_run_into_a_locked_folder_is_refused_before_writing(task, text, reviews, tmp_path, capsys):
    data = (["--data", text, *SMALL] if task == "charlm"
            else ["--task", "sentiment", "--data", reviews, "--hidden", 8, "--batch", 8, "--eval-every", 5])
    run = tmp_path / "run"
    run.mkdir()
    with open_run_folder(run):
        before = sorted(p.name for p in run.iterdir())
        code, err = cli(["train", *data, "--steps", 3, "--out", run], capsys)
        assert one_line_error(code, err)
        assert f"in use by another run (pid {os.getpid()} on {socket.gethostname()}" in err
        assert sorted(p.name for p in run.iterdir()) == before
    assert cli(["train", *data, "--steps", 3, "--out", run], capsys)[0] == 0  # released
    with open_run_folder(run):
        code, err = cli(["train", "--resume", run, "--steps", 5], capsys)
        assert one_line_error(code, err) and "in use by another run" in err


def test_temporaries_of_an_interrupted_write_are_removed_at_the_next_start(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli(["train", "--data", text, *SMALL, "--steps", 3, "--out", run], capsys)[0] == 0
    stale = [run / "best.npz.k2j4h1.tmp", run / "checkpoint.npz.a8f3x0.tmp", run / "metrics.jsonl.zz.tmp"]
    for path in stale:
        path.write_bytes(b"PK\x03\x04 half")
    (run / "notes.tmp").write_text("mine")
    code, err = cli(["train", "--resume", run, "--steps", 5], capsys)
    assert code == 0 and all(f"removed {path}" in err for path in stale)
    assert not any(path.exists() for path in stale) and (run / "notes.tmp").exists()


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_run_files_follow_the_umask(umask, text, tmp_path, capsys):
    previous = os.umask(umask)
    try:
        assert cli(["train", "--data", text, *SMALL, "--steps", 5, "--out", tmp_path / "run"], capsys)[0] == 0
    finally:
        os.umask(previous)
    for path in (tmp_path / "run").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path.name


# -- 6, 7: hostile and damaged checkpoints --------------------------------------------------------


@pytest.fixture(scope="module")
def base_run(text, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "base"
    assert main(["train", "--data", str(text), "--hidden", "8", "--layers", "2", "--dropout", "0.1", "--batch", "4",
                 "--seq-len", "8", "--steps", "6", "--eval-every", "3", "--out", str(run), "--sample-length", "0"]) == 0
    return run


def mutant_checks(source, tmp_path, capsys, count, commands):
    seen = 0
    for name, path in faults.mutants(source, tmp_path / "mutants", count, seed=14, bomb_mib=32):
        run = tmp_path / "mutant-run"
        run.mkdir(exist_ok=True)
        os.replace(path, run / LATEST)
        for command in commands:
            argv = {"sample": ["sample", run / LATEST, "--length", 20],
                    "eval": ["eval", run / LATEST],
                    "resume": ["train", "--resume", run, "--steps", 8, "--sample-length", 0]}[command]
            started = time.monotonic()
            code, err = cli(argv, capsys)
            assert code == 0 or one_line_error(code, err, argv[0]), (name, command, err)
            assert time.monotonic() - started < 20, (name, command)
            if name.startswith("zip:bomb"):
                assert "is compressed" in err
        for leftover in run.iterdir():
            leftover.unlink()
        seen += 1
    return seen


def test_damaged_checkpoints_are_refused_with_one_line(base_run, tmp_path, capsys):
    assert mutant_checks(base_run / LATEST, tmp_path, capsys, 16, ("sample", "eval", "resume")) > 40


def test_damaged_sentiment_checkpoints_are_refused_with_one_line(reviews, tmp_path, capsys):
    run = tmp_path / "base"
    assert cli(["train", "--task", "sentiment", "--data", reviews, "--hidden", 8, "--batch", 8, "--steps", 4,
                "--eval-every", 2, "--out", run], capsys)[0] == 0
    assert mutant_checks(run / LATEST, tmp_path, capsys, 8, ("eval", "resume")) > 25


@pytest.fixture(scope="module")
def named_mutants(base_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("named-mutants")
    return dict(faults.mutants(base_run / LATEST, folder, 0, bomb_mib=128))


@pytest.mark.parametrize("case", ["named:layers=1e9", "named:hidden=1e9", "named:vocab-of-3-million",
                                  "zip:bomb-128MiB-deflated", "zip:20000-members"])
def test_a_small_file_cannot_make_the_loader_allocate(case, named_mutants):
    """Peak memory of `rnnkit sample` on a checkpoint declaring huge sizes stays that of a small one
    (about 40 MB): nothing declared is allocated before it is checked, no unexpected member is read."""
    result = faults.run_limited(faults.rnnkit("sample", named_mutants[case]), 60, env=faults.rnnkit_env())
    assert result["rc"] == 0 or faults.one_line_error(result, "sample"), result  # sample reads no state/*
    assert result["peak_mb"] < 100, result


# -- 8: bad flags and environments -------------------------------------------------------------------


def test_out_that_is_a_file_or_lies_under_one(text, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "run"):
        code, err = cli(["train", "--data", text, *SMALL, "--steps", 2, "--out", out], capsys)
        assert one_line_error(code, err) and "file" in err


def test_a_full_disk_is_one_line_and_the_last_checkpoint_survives(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli(["train", "--data", text, *SMALL, "--steps", 5, "--out", run], capsys)[0] == 0
    before = (run / LATEST).read_bytes()
    import resource

    def small_files():  # writes past 2 kB fail with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    done = subprocess.run(faults.rnnkit("train", "--resume", run, "--steps", 10), capture_output=True, text=True,
                          timeout=120, env=faults.rnnkit_env(Path(os.environ["RNNKIT_CACHE"])), preexec_fn=small_files)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1].startswith("rnnkit train: error: cannot write ")
    assert "intact" in done.stderr and (run / LATEST).read_bytes() == before and not list(run.glob("*.tmp"))


def test_a_model_too_large_for_memory_is_refused_before_allocating(text, tmp_path, capsys):
    started = time.monotonic()
    code, err = cli(["train", "--data", text, "--hidden", 100000, "--steps", 2, "--out", tmp_path / "run"], capsys)
    assert one_line_error(code, err) and "GiB" in err and time.monotonic() - started < 10


def test_negative_seeds_are_refused(base_run, text, tmp_path, capsys):
    for argv in (["train", "--data", text, "--seed", -1, "--out", tmp_path / "run"], ["sample", base_run, "--seed", -1]):
        code, err = cli(argv, capsys)
        assert one_line_error(code, err, argv[0]) and "--seed" in err


# -- 9: byte mode on text whose every character is several bytes -----------------------------------


def test_byte_mode_on_one_line_of_cjk_and_emoji_trains_and_samples(tmp_path, capsys):
    data = tmp_path / "cjk.txt"
    data.write_text("日本語のテキスト😀🎉中文字符" * 60, encoding="utf-8")
    run = tmp_path / "run"
    code, err = cli(["train", "--data", data, "--byte-mode", "--hidden", 8, "--batch", 2, "--seq-len", 8,
                     "--steps", 3, "--out", run, "--sample-length", 20], capsys)
    assert code == 0, err
    assert cli(["sample", run, "--length", 20], capsys)[0] == 0


# -- 11: data paths ------------------------------------------------------------------------------------


def test_a_relative_data_path_is_stored_resolved_and_resumes_from_elsewhere(text, tmp_path, monkeypatch, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "words.txt").write_bytes(text.read_bytes())
    monkeypatch.chdir(tmp_path / "a")
    assert cli(["train", "--data", "words.txt", *SMALL, "--steps", 3, "--out", tmp_path / "run"], capsys)[0] == 0
    assert load_checkpoint(tmp_path / "run").task["data"] == str(tmp_path / "a" / "words.txt")
    monkeypatch.chdir(tmp_path / "b")
    assert cli(["train", "--resume", tmp_path / "run", "--steps", 5], capsys)[0] == 0
    assert cli(["train", "--resume", tmp_path / "run", "--steps", 6, "--data", "../a/words.txt"], capsys)[0] == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_data_is_refused_not_read(base_run, tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for argv in (["train", "--data", fifo, "--out", tmp_path / "run"], ["eval", base_run, "--data", fifo]):
        code, err = cli(argv, capsys)
        assert one_line_error(code, err, argv[0]) and "not a regular file" in err
    assert cli(["sample", fifo], capsys)[0] == 2


def test_metrics_of_a_run_resumed_after_ctrl_c_have_no_gaps(text, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupt_at_step(monkeypatch, 8)
    assert cli(["train", "--data", text, *SMALL, "--steps", 12, "--out", run], capsys)[0] == 130
    monkeypatch.undo()
    assert cli(["train", "--resume", run], capsys)[0] == 0
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [5, 8, 10, 12]
    assert np.isfinite(load_checkpoint(run / BEST).params["head.W"]).all()
