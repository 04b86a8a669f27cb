"""Captioning on pre-extracted feature grids (``--data coco:DIR`` with ``<file_name>.npy`` beside
the captions JSON, no pictures): a tiny COCO-format folder written by the test, read through the
real reader (rnnkit/data/coco_captions.py), trained through the CLI in both engines, evaluated and
captioned from .npy files; a tiny set learnt; the wrong kind of input answered with one line and
exit 2; a picture model's checkpoint written exactly as before grids existed."""

import json
from importlib.util import find_spec

import numpy as np
import pytest
from clirun import assert_resume_equals_whole, cli, one_line_error
from caption_fakes import FakeData, make_set, use_fake_data
from vqa_fakes import encode_png

from rnnkit.cli import main
from rnnkit.config import TrainConfig
from rnnkit.models.captioner.spec import CaptionerSpec
from rnnkit.runtime import make_runtime
from rnnkit.tasks.caption import CaptionTask
from rnnkit.training.checkpoint import load_checkpoint

needs_bleu = pytest.mark.skipif(find_spec("sacrebleu") is None, reason="BLEU needs pip install -e '.[translate]'")
GRID = (2, 2, 3)
COLOURS, SIDES = ("red", "blue"), ("left", "right")
#: The fields a captioner's spec had before feature grids: a picture model's spec JSON holds exactly these.
OLD_FIELDS = {"cell", "vocab_size", "embed_dim", "hidden", "layers", "dropout", "image_height", "image_width",
              "image_channels", "channels", "kernel", "attention", "attention_size", "penalty"}


def grid_of(colour: int, side: int, rng) -> np.ndarray:
    """A (2, 2, 3) grid: feature ``colour`` lit in column ``side``, feature 2 saying which side
    (+1 left, -1 right), small noise everywhere. The model sees the grid's cells as a set (mean and
    attention do not know a cell's place), so where a thing is must be in its features, as it is in
    a CNN's."""
    grid = 0.1 * rng.standard_normal(GRID).astype(np.float32)
    grid[:, side, colour] += 1.0
    grid[:, side, 2] += 1.0 - 2.0 * side
    return grid


def write_coco_grids(folder, counts=(("train", 16), ("val", 4), ("test", 4))):
    """captions_<split>.json and <split>/<i>.jpg.npy (COCO's naming: the grid of picture <i>.jpg)."""
    rng = np.random.default_rng(0)
    for split, count in counts:
        (folder / split).mkdir(parents=True)
        images, annotations = [], []
        for i in range(count):
            colour, side = i % 2, (i // 2) % 2
            np.save(folder / split / f"{i}.jpg.npy", grid_of(colour, side, rng))
            images.append({"id": i, "file_name": f"{i}.jpg"})
            annotations += [{"image_id": i, "caption": f"A {COLOURS[colour]} block on the {SIDES[side]}."},
                            {"image_id": i, "caption": f"{COLOURS[colour]} on the {SIDES[side]}"}]
        (folder / f"captions_{split}.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    return folder


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    return write_coco_grids(tmp_path_factory.mktemp("coco"))


TRAIN = ["train", "--task", "caption", "--hidden", "8", "--embed", "4", "--steps", "2", "--batch", "8",
         "--eval-every", "2"]


@pytest.fixture(scope="module")
def run(coco, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "grids"
    assert main([*TRAIN, "--data", f"coco:{coco}", "--engine", "numpy", "--out", str(out)]) == 0
    return out


def test_the_checkpoint_is_a_model_of_grids(run):
    checkpoint = load_checkpoint(run)
    spec = checkpoint.spec
    assert spec.grid == GRID and spec.attention == "soft" and spec.input_shape == GRID
    assert not any(name.startswith("enc.") for name in checkpoint.params)
    assert checkpoint.params["feat.W"].shape == (3, 8) and checkpoint.params["att.Wk"].shape[0] == 3


@needs_bleu
def test_eval_reads_the_grids(coco, run, capsys):
    code, out, err = cli(["eval", run, "--split", "test", "--beam", "2", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["count"] == 4 and result["data"] == f"coco:{coco}" and "relations_correct" not in result
    assert 0 <= result["bleu4"] <= result["bleu1"] <= 100 and np.isfinite(result["loss"])


def test_predict_captions_a_grid_file_and_draws_its_attention(coco, run, tmp_path, capsys):
    grid = coco / "test" / "0.jpg.npy"
    code, out, err = cli(["predict", run, grid], capsys)
    assert code == 0 and out.startswith(f"{grid}: "), err
    pytest.importorskip("matplotlib")
    picture = tmp_path / "words.png"
    code, out, err = cli(["predict", run, grid, "--beam", "2", "--attention-png", picture, "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    weights = np.array(result["attention"])
    assert weights.shape == (len(result["words"]) + 1, 2, 2)     # a row a word, and one after the last
    np.testing.assert_allclose(weights.sum(axis=(1, 2)), 1, atol=1e-6)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_wrong_inputs_to_a_grid_model_are_one_line(coco, run, tmp_path, capsys):
    png = tmp_path / "picture.png"
    png.write_bytes(encode_png(np.full((2, 2, 3), 200, np.uint8)))
    one_line_error(*cli(["predict", run, png], capsys)[::2], "PNG", "2x2x3")
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 2, 3), np.float32))
    one_line_error(*cli(["predict", run, wrong], capsys)[::2], "3x2x3", "2x2x3")
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    one_line_error(*cli(["predict", run, pickled], capsys)[::2], "pickled.npy")
    bad = tmp_path / "nan.npy"
    np.save(bad, np.full(GRID, np.nan, np.float32))
    one_line_error(*cli(["predict", run, bad], capsys)[::2], "NaN")
    one_line_error(*cli(["predict", run, tmp_path / "missing.npy"], capsys)[::2], "no such file")
    # a model of grids evaluated on pictures
    pictures = tmp_path / "pictures"
    (pictures / "val").mkdir(parents=True)
    (pictures / "val" / "0.png").write_bytes(encode_png(np.full((4, 4, 3), 9, np.uint8)))
    (pictures / "captions_val.json").write_text(json.dumps({"images": [{"id": 0, "file_name": "0.png"}],
                                                            "annotations": [{"image_id": 0, "caption": "a"}]}))
    one_line_error(*cli(["eval", run, "--data", f"coco:{pictures}"], capsys)[::2], "0.png.npy")
    one_line_error(*cli([*TRAIN, "--data", f"coco:{coco}", "--image-size", "16", "--out", tmp_path / "r"],
                        capsys)[::2], "--image-size")
    assert not (tmp_path / "r").exists()
    one_line_error(*cli([*TRAIN, "--data", f"coco:{coco}", "--augment", "shift", "--out", tmp_path / "r"],
                        capsys)[::2], "--augment", "feature grids")
    assert not (tmp_path / "r").exists()


def test_a_picture_model_refuses_a_grid_and_is_saved_as_before(tmp_path, capsys, monkeypatch):
    use_fake_data(monkeypatch, FakeData())
    out = tmp_path / "pictures"
    assert main([*TRAIN, "--data", "scenes", "--engine", "numpy", "--out", str(out)]) == 0
    capsys.readouterr()
    grid = tmp_path / "grid.npy"
    np.save(grid, np.zeros(GRID, np.float32))
    one_line_error(*cli(["predict", out, grid], capsys)[::2], "NumPy array", "PNG")
    # the spec in the file is the format of checkpoints saved before grids: no new field
    spec_json = load_checkpoint(out).meta["model"]["spec"]
    assert set(spec_json) == OLD_FIELDS
    assert CaptionerSpec.from_json(spec_json).grid is None
    image = tmp_path / "0.png"
    image.write_bytes(encode_png(make_set("test", 1).images[0]))
    code, text, err = cli(["predict", out, image], capsys)
    assert code == 0 and text.startswith(f"{image}: "), err


def test_the_torch_engine_trains_on_grids(coco, tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "torch"
    assert main([*TRAIN, "--data", f"coco:{coco}", "--engine", "torch", "--attention", "none", "--out", str(out)]) == 0
    checkpoint = load_checkpoint(out)
    assert checkpoint.spec.grid == GRID and checkpoint.spec.attention == "none"


@needs_bleu
def test_a_tiny_set_of_grids_is_learnt(coco):
    """Four kinds of grid (colour x side), two references each: the loss falls to a fraction and
    every greedy caption of the validation grids is a reference (BLEU-4 100)."""
    cfg = TrainConfig(data=f"coco:{coco}", batch=16, lr=0.02, engine="numpy")
    task = CaptionTask(cfg)
    spec = CaptionerSpec(**task.spec_fields(), embed_dim=8, hidden=24, attention_size=8, penalty=0.02,
                         attention="soft")
    assert spec.grid == GRID
    runtime = make_runtime("numpy", spec, cfg, seed=0)
    before = task.evaluate(runtime, "val")
    for _ in range(150):
        runtime.train_step(task.next_batch()[0], cfg.lr)
    after = task.evaluate(runtime, "val", limit=0, beam=2, return_captions=True)
    assert after["loss"] < before["loss"] / 3
    assert after["bleu4"] > 99, after["captions"]


def test_a_resumed_run_on_grids_equals_an_uninterrupted_one(coco, tmp_path):
    """--resume rebuilds the task from the checkpoint (grids, not pictures) and ends bit-identical."""
    assert_resume_equals_whole(["train", "--task", "caption", "--hidden", "8", "--embed", "4", "--batch", "8",
                                "--eval-every", "2", "--data", f"coco:{coco}", "--engine", "numpy"], tmp_path)
