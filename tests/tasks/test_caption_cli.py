"""`rnnkit train --task caption`, `rnnkit eval` and `rnnkit predict` on the generated stand-in of
the caption data (tests/tasks/caption_fakes.py): the eval JSON keys, a caption with its attention
picture from the NumPy engine, and every bad input answered with one line and exit 2."""

import json

import numpy as np
import pytest
from clirun import assert_resume_equals_whole, cli, one_line_error
from caption_fakes import FakeData, make_set, use_fake_data
from vqa_fakes import encode_png

import rnnkit.tasks.caption as caption_task
from rnnkit.cli import main
from rnnkit.training.checkpoint import load_checkpoint

REAL_DATA = caption_task.caption_data      # before the module's fixture routes it to the stand-in

pytest.importorskip("sacrebleu", reason="BLEU needs pip install -e '.[translate]'")


@pytest.fixture(scope="module")
def fake():
    with pytest.MonkeyPatch.context() as mp:
        yield use_fake_data(mp, FakeData())


def train_scenes(out, *flags):
    assert main(["train", "--task", "caption", "--data", "scenes", "--engine", "numpy", "--hidden", "8",
                 "--embed", "4", "--steps", "4", "--batch", "8", "--eval-every", "2", "--out", str(out),
                 *flags]) == 0
    return out


@pytest.fixture(scope="module")
def run(fake, tmp_path_factory):
    return train_scenes(tmp_path_factory.mktemp("runs") / "caption")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """Test picture 0 of the stand-in, as a PNG file."""
    path = tmp_path_factory.mktemp("pictures") / "0.png"
    path.write_bytes(encode_png(make_set("test", 1).images[0]))
    return path


def test_eval_json_has_bleu_and_relations(fake, run, capsys):
    code, out, err = cli(["eval", run, "--split", "test", "--beam", "3", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert {"bleu1", "bleu2", "bleu3", "bleu4", "loss", "relations_correct"} <= set(result)
    assert result["count"] == 8 and result["split"] == "test" and result["beam"] == 3
    assert 0 <= result["bleu4"] <= result["bleu1"] <= 100 and 0 <= result["relations_correct"] <= 1
    code, out, _ = cli(["eval", run], capsys)
    assert code == 0 and out.startswith("BLEU-1 ") and "(val)" in out


def test_eval_decodes_with_an_ensemble_and_a_length_penalty(fake, run, tmp_path, capsys):
    other = train_scenes(tmp_path / "seed-1", "--seed", "1")
    capsys.readouterr()
    code, out, err = cli(["eval", run, "--ensemble", other, "--split", "test", "--beam", "2",
                          "--length-penalty", "0.5", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["length_penalty"] == 0.5 and len(result["ensemble"]) == 2
    alone = json.loads(cli(["eval", run, "--split", "test", "--beam", "2", "--json"], capsys)[1])
    assert alone["length_penalty"] == 0.0 and "ensemble" not in alone
    assert result["loss"] != alone["loss"]                  # the pair's mean probability, not the first's
    code, out, _ = cli(["eval", run, "--ensemble", other], capsys)
    assert code == 0 and "length penalty 0, ensemble of 2" in out


def test_an_ensemble_of_other_vocabularies_or_tasks_is_refused(fake, run, tmp_path, capsys):
    small = train_scenes(tmp_path / "small", "--min-count", "1000")   # every word <unk>: another vocabulary
    text, charlm = tmp_path / "text.txt", tmp_path / "charlm"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    assert main(["train", "--data", str(text), "--hidden", "8", "--steps", "2", "--batch", "2", "--seq-len", "8",
                 "--out", str(charlm)]) == 0
    capsys.readouterr()                                                # the trainings' progress
    one_line_error(*cli(["eval", run, "--ensemble", small], capsys)[::2], "vocabulary differs")
    one_line_error(*cli(["eval", run, "--ensemble", tmp_path / "missing"], capsys)[::2], "missing")
    one_line_error(*cli(["eval", run, "--ensemble", charlm], capsys)[::2], "not caption")
    one_line_error(*cli(["eval", charlm, "--ensemble", run], capsys)[::2], "--ensemble is for caption runs")
    one_line_error(*cli(["eval", charlm, "--length-penalty", "1"], capsys)[::2], "--length-penalty is for caption")
    code, _, err = cli(["eval", run, "--length-penalty", "-1"], capsys)
    assert code == 2 and "--length-penalty" in err and "Traceback" not in err


def test_checkpoint_keeps_the_vocabulary_and_the_spec(fake, run):
    from rnnkit.training.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(run)
    words = checkpoint.tokenizers["words"]["words"]
    assert words[:4] == ["<pad>", "<start>", "<end>", "<unk>"] and "block" in words
    spec = checkpoint.spec
    assert spec.kind == "captioner" and spec.attention == "soft" and spec.vocab_size == len(words)
    assert (spec.image_height, spec.image_channels) == (16, 3)


def test_predict_captions_and_draws_the_attention(fake, run, image, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "words.png"
    code, out, err = cli(["predict", run, image, "--beam", "2", "--attention-png", picture, "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert isinstance(result["caption"], str) and result["image"] == str(image)
    weights = np.array(result["attention"])
    assert weights.shape == (len(result["words"]) + result["finished"], 2, 2)     # the 2x2 grid of 16x16
    np.testing.assert_allclose(weights.sum(axis=(1, 2)), 1, atol=1e-6)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, err = cli(["predict", run, image], capsys)
    assert code == 0 and out.startswith(f"{image}: ")


def test_another_size_is_resized_with_a_warning(fake, run, tmp_path, capsys):
    path = tmp_path / "big.png"
    path.write_bytes(encode_png(np.full((20, 40, 3), 200, np.uint8)))
    code, out, err = cli(["predict", run, path], capsys)
    assert code == 0 and "40x20" in err and "resized" in err


def test_bad_inputs_are_one_line_and_exit_2(fake, run, image, tmp_path, capsys):
    missing = tmp_path / "missing.png"
    one_line_error(*cli(["predict", run, missing], capsys)[::2], "no such image file")
    text = tmp_path / "note.png"
    text.write_text("not a picture")
    one_line_error(*cli(["predict", run, text], capsys)[::2], "note.png")
    one_line_error(*cli(["predict", run], capsys)[::2], "nothing to predict")
    code, _, err = cli(["predict", run, image, "--beam", "0"], capsys)
    assert code == 2 and "--beam" in err and "Traceback" not in err
    code, _, err = cli(["eval", run, "--beam", "0"], capsys)
    assert code == 2 and "--beam" in err and "Traceback" not in err
    one_line_error(*cli(["eval", run, "--split", "all"], capsys)[::2], "train, val and test")
    out = tmp_path / "r"
    one_line_error(*cli(["train", "--task", "caption", "--data", "flickr", "--steps", "1", "--out", out], capsys)[::2],
                   "scenes, tuxpaint or coco:DIR")
    one_line_error(*cli(["train", "--task", "caption", "--attention", "additive", "--steps", "1", "--batch", "4",
                         "--out", out], capsys)[::2], "attention must be one of none, soft")
    one_line_error(*cli(["train", "--task", "sentiment", "--attention", "soft", "--out", out], capsys)[::2],
                   "--attention is a flag of --task")
    assert not out.exists()


def test_empty_caption_data_is_one_line(fake, tmp_path, capsys):
    saved = fake.counts
    fake.counts = {"train": 0, "val": 1, "test": 1}
    try:
        one_line_error(*cli(["train", "--task", "caption", "--steps", "1", "--out", tmp_path / "r"], capsys)[::2],
                       "no captioned images")
    finally:
        fake.counts = saved


def test_resume_equals_an_uninterrupted_run(fake, tmp_path):
    assert_resume_equals_whole(["train", "--task", "caption", "--engine", "numpy", "--hidden", "8", "--embed", "4",
                                "--batch", "8", "--eval-every", "2"], tmp_path)


def test_coco_format_folder_end_to_end(tmp_path, capsys, monkeypatch):
    """The real reader of rnnkit/data/coco_captions.py (no stand-in): a tiny COCO-format folder the
    test writes (captions_<split>.json, <split>/<file>.png), trained, evaluated and captioned."""
    monkeypatch.setattr(caption_task, "caption_data", REAL_DATA)
    folder = tmp_path / "coco"
    for split, count in (("train", 8), ("val", 4), ("test", 4)):
        data = make_set(split, count)
        (folder / split).mkdir(parents=True)
        images, annotations = [], []
        for i, (picture, refs) in enumerate(zip(data.images, data.references)):
            (folder / split / f"{i}.png").write_bytes(encode_png(picture))
            images.append({"id": i, "file_name": f"{i}.png"})
            annotations += [{"image_id": i, "caption": text.capitalize() + "."} for text in refs]
        (folder / f"captions_{split}.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    out = tmp_path / "run"
    code, _, err = cli(["train", "--task", "caption", "--data", f"coco:{folder}", "--image-size", "16", "--engine",
                        "numpy", "--hidden", "8", "--embed", "4", "--steps", "2", "--batch", "8", "--eval-every", "2",
                        "--out", out], capsys)
    assert code == 0, err
    code, out_text, err = cli(["eval", out, "--split", "test", "--beam", "2", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out_text)
    assert result["count"] == 4 and "relations_correct" not in result and result["data"] == f"coco:{folder}"
    code, out_text, err = cli(["predict", out, folder / "test" / "0.png"], capsys)
    assert code == 0 and out_text.startswith(str(folder / "test" / "0.png")), err
    one_line_error(*cli(["train", "--task", "caption", "--data", f"coco:{tmp_path / 'none'}", "--steps", "1",
                         "--out", tmp_path / "r"], capsys)[::2])


def test_eval_and_predict_need_no_torch(fake, run, image):
    """With torch made unimportable, a checkpoint still captions (the NumPy engine decodes)."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "from rnnkit.cli import main\n"
            f"sys.exit(main(['predict', {str(run)!r}, {str(image)!r}, '--beam', '2', '--json']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout)["caption"], str)


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_the_flat_global_feature_trains_evaluates_and_stays(fake, tmp_path, capsys, engine):
    if engine == "torch":
        pytest.importorskip("torch")
    run = train_scenes(tmp_path / "flat", "--global-feature", "flat", "--engine", engine)
    checkpoint = load_checkpoint(run / "checkpoint.npz")
    assert checkpoint.spec.global_feature == "flat"
    assert checkpoint.params["feat.W"].shape == (2 * 2 * 32, 8)         # 16x16 pictures: a 2x2 grid of 32
    capsys.readouterr()
    code, out, err = cli(["eval", run, "--split", "test", "--beam", "2", "--json"], capsys)
    assert code == 0, err
    code, _, err = cli(["train", "--resume", run, "--steps", "6", "--global-feature", "mean"], capsys)
    one_line_error(code, err, "--global-feature cannot change when resuming")
