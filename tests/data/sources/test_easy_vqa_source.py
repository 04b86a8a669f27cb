"""The easy-VQA reader on a tiny fake package (as a folder and as a wheel), and question types."""

import json

import numpy as np
import pytest
from sourcefakes import encode_png, write_zip

from rnnkit.data.sources import easy_vqa
from rnnkit.data.sources.easy_vqa import load_easy_vqa, question_type
from rnnkit.errors import UsageError

ANSWERS = ["circle", "red", "yes", "no", "blue", "triangle"]
QUESTIONS = {
    "train": [["what shape is in the image?", "circle", 1], ["is there a red shape?", "yes", 0],
              ["what color is the shape?", "blue", 1]],
    "test": [["does the image not contain a triangle?", "no", 0]],
}
COUNTS = {"train": 2, "test": 1}


def fake_files():
    """name relative to ``easy_vqa/data`` -> bytes, and the pictures by split."""
    rng = np.random.default_rng(0)
    files = {"answers.txt": "\n".join(ANSWERS).encode() + b"\n"}
    pictures = {}
    for split, count in COUNTS.items():
        pictures[split] = rng.integers(0, 256, (count, 64, 64, 3), dtype=np.uint8)
        for image_id, picture in enumerate(pictures[split]):
            files[f"{split}/images/{image_id}.png"] = encode_png(picture, 2, kinds=[2, 4, 1])
        files[f"{split}/questions.json"] = json.dumps(QUESTIONS[split]).encode()
    return files, pictures


def check(data, pictures):
    assert data.answers == tuple(ANSWERS)
    train = data["train"]
    assert len(train) == 3 and train.images.shape == (2, 64, 64, 3)
    assert np.array_equal(train.images, pictures["train"])
    assert train.questions[1] == "is there a red shape?"
    assert [data.answers[i] for i in train.answers] == ["circle", "yes", "blue"]
    assert train.image_index.tolist() == [1, 0, 1] and train.answers.dtype == np.int64
    assert train.question_types().tolist() == ["shape", "yesno", "color"]
    assert np.array_equal(data["test"].images, pictures["test"])


def test_reads_the_package_folder(tmp_path):
    files, pictures = fake_files()
    for name, payload in files.items():
        (tmp_path / "pkg" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / name).write_bytes(payload)
    data = load_easy_vqa(tmp_path / "data", source=tmp_path / "pkg")
    check(data, pictures)
    assert data.cache.parent == tmp_path / "data" / "prepared"


def test_reads_the_wheel_from_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(easy_vqa.importlib.util, "find_spec", lambda name: None)   # not installed
    files, pictures = fake_files()
    write_zip(tmp_path / "easy_vqa-1.0-py3-none-any.whl",
              {f"easy_vqa/data/{name}": payload for name, payload in files.items()})
    check(load_easy_vqa(tmp_path), pictures)
    check(load_easy_vqa(tmp_path), pictures)   # from the cache


def test_rejects_unknown_answers_and_gaps(tmp_path):
    files, _ = fake_files()
    files["test/questions.json"] = json.dumps([["is it?", "maybe", 0]]).encode()
    write_zip(tmp_path / "a.whl", {f"easy_vqa/data/{n}": p for n, p in files.items()})
    with pytest.raises(UsageError, match="bad entry"):
        load_easy_vqa(tmp_path, source=tmp_path / "a.whl")
    files, _ = fake_files()
    files["train/images/5.png"] = files.pop("train/images/1.png")
    write_zip(tmp_path / "b.whl", {f"easy_vqa/data/{n}": p for n, p in files.items()})
    with pytest.raises(UsageError, match="image ids are not 0..1"):
        load_easy_vqa(tmp_path, source=tmp_path / "b.whl")


def test_missing_names_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setattr(easy_vqa.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UsageError, match="pip download --no-deps easy-vqa==1.0"):
        load_easy_vqa(tmp_path)


@pytest.mark.parametrize("question, kind", [
    ("is there a black shape?", "yesno"), ("does the image not contain a gray shape?", "yesno"),
    ("is no triangle present?", "yesno"), ("is a teal shape present?", "yesno"),
    ("what color is the triangle?", "color"), ("what is the color of the shape?", "color"),
    ("what is the blue shape?", "shape"), ("what shape does the image contain?", "shape"),
    ("What shape is present", "shape"),
])
def test_question_type(question, kind):
    assert question_type(question) == kind


def test_question_type_refuses_other_text():
    with pytest.raises(UsageError, match="not an easy-VQA question"):
        question_type("how many shapes?")
