"""`rnnkit train --task vqa`, `rnnkit eval` and `rnnkit predict` on a generated easy-VQA-shaped
wheel (64x64 PNGs, questions.json, answers.txt): the eval JSON keys, an answer with its
attention picture from the NumPy engine, and every bad input answered with one line and exit 2."""

import json
import zipfile

import numpy as np
import pytest
from clirun import cli, one_line_error
from vqa_fakes import ANSWERS, encode_png, write_wheel

from rnnkit.cli import main


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNKIT_DATA", str(tmp_path_factory.mktemp("data-cache")))   # the prepared .npz goes here
        yield write_wheel(tmp_path_factory.mktemp("wheel") / "easy_vqa-1.0-py3-none-any.whl", train=20, test=5)


@pytest.fixture(scope="module")
def run(package, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "vqa"
    assert main(["train", "--task", "vqa", "--data", str(package), "--engine", "numpy", "--hidden", "8",
                 "--embed", "4", "--hops", "1", "--steps", "4", "--batch", "8", "--eval-every", "2",
                 "--out", str(out)]) == 0
    return out


def test_eval_json_has_accuracy_per_question_type(run, capsys):
    code, out, err = cli(["eval", run, "--split", "test", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert {"accuracy", "loss", "yesno", "color", "shape"} <= set(result)
    assert result["count"] == 20 and result["split"] == "test"
    assert 0.0 <= result["accuracy"] <= 1.0
    code, out, _ = cli(["eval", run, "--split", "val"], capsys)
    assert code == 0 and out.startswith("accuracy ") and "yesno" in out


@pytest.fixture(scope="module")
def image(package, tmp_path_factory):
    """Test picture 0 of the wheel, as a PNG file."""
    path = tmp_path_factory.mktemp("pictures") / "0.png"
    with zipfile.ZipFile(package) as wheel:
        path.write_bytes(wheel.read("easy_vqa/data/test/images/0.png"))
    return path


def test_predict_answers_and_draws_the_attention(run, image, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "hops.png"
    code, out, err = cli(["predict", run, image, "what color is the shape?", "--attention-png", picture, "--json"],
                         capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["answer"] in ANSWERS and abs(sum(result["probabilities"].values()) - 1) < 1e-6
    weights = np.array(result["attention"])
    assert weights.shape == (1, 8, 8) and abs(weights.sum() - 1) < 1e-6   # one hop over the 8x8 grid
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, err = cli(["predict", run, image, "what is the zebra?"], capsys)
    assert code == 0 and "zebra" in err and "<unk>" in err


def test_bad_inputs_are_one_line_errors(run, image, tmp_path, capsys):
    one_line_error(*cli(["predict", run, tmp_path / "none.png", "what shape?"], capsys)[::2], "no such image")
    (tmp_path / "text.png").write_text("hello")
    one_line_error(*cli(["predict", run, tmp_path / "text.png", "what shape?"], capsys)[::2], "text.png")
    one_line_error(*cli(["predict", run, image, "  "], capsys)[::2], "empty")
    one_line_error(*cli(["predict", run, image], capsys)[::2], "an image and a question")
    one_line_error(*cli(["train", "--task", "sentiment", "--hops", "2", "--out", tmp_path / "x"], capsys)[::2],
                   "--hops is a flag of --task vqa")
    one_line_error(*cli(["train", "--task", "vqa", "--data", tmp_path / "nothing", "--out", tmp_path / "y"],
                        capsys)[::2], "easy-VQA")
    one_line_error(*cli(["eval", run, "--split", "all"], capsys)[::2], "splits")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_other_sizes_are_resized_with_a_warning(run, tmp_path, capsys):
    wide = np.full((40, 80, 3), 255, np.uint8)
    wide[10:30, 20:60] = (220, 30, 30)
    (tmp_path / "wide.png").write_bytes(encode_png(wide))
    code, out, err = cli(["predict", run, tmp_path / "wide.png", "what color is the shape?"], capsys)
    assert code == 0 and "80x40" in err and "resized" in err


def test_resume_continues_the_same_batches(package, tmp_path, capsys):
    """Four steps then two more after --resume end where six steps in one go end, bit for bit."""
    from rnnkit.training.checkpoint import load_checkpoint

    flags = ["--task", "vqa", "--data", package, "--engine", "numpy", "--hidden", "8", "--embed", "4",
             "--hops", "1", "--batch", "8", "--eval-every", "100"]
    assert cli(["train", *flags, "--steps", "6", "--out", tmp_path / "once"], capsys)[0] == 0
    assert cli(["train", *flags, "--steps", "4", "--out", tmp_path / "twice"], capsys)[0] == 0
    assert cli(["train", "--resume", tmp_path / "twice", "--steps", "6"], capsys)[0] == 0
    once = load_checkpoint(tmp_path / "once", prefer_best=False).params
    twice = load_checkpoint(tmp_path / "twice", prefer_best=False).params
    for name in once:
        np.testing.assert_array_equal(once[name], twice[name], err_msg=name)
