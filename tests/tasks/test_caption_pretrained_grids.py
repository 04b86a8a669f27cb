"""``rnnkit grids``: a caption source's pictures through a ResNet whose weights the user has, written
as a COCO-format folder of .npy grids, then trained and evaluated with ``--data coco:OUT``; the
folder appears whole or not at all; bad weights, flags and sources answered with one line, exit 2.

The source is a tiny COCO-format set of PNG pictures the test writes; the weights a random
resnet18 saved the way torchvision saves its own (rnnkit/torch_engine/resnet.py)."""

import json

import numpy as np
import pytest
from clirun import cli, one_line_error
from vqa_fakes import encode_png

torch = pytest.importorskip("torch")

from rnnkit.cli import main  # noqa: E402
from rnnkit.data.coco_captions import load_coco_captions  # noqa: E402
from rnnkit.torch_engine.resnet import ResNet, load_resnet, picture_grids  # noqa: E402

COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 200, 30)}
COUNTS = {"train": 6, "val": 3, "test": 3}


def write_pictures(root, counts=COUNTS):
    """captions_<split>.json and <split>/<i>.png: a coloured block on white, two captions each."""
    for split, count in counts.items():
        (root / split).mkdir(parents=True)
        images, notes = [], []
        for i in range(count):
            name = list(COLOURS)[i % 3]
            rgb = np.full((12, 12, 3), 255, np.uint8)
            rgb[2 + i % 4:8 + i % 4, 3:9] = COLOURS[name]
            (root / split / f"{i}.png").write_bytes(encode_png(rgb))
            images.append({"id": i, "file_name": f"{i}.png"})
            notes += [{"image_id": i, "caption": f"A {name} block."}, {"image_id": i, "caption": f"{name}"}]
        (root / f"captions_{split}.json").write_text(json.dumps({"images": images, "annotations": notes}))
    return root


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return write_pictures(tmp_path_factory.mktemp("pictures"))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(ResNet("resnet18").state_dict(), path)
    return path


def grids_argv(source, weights, out, *flags):
    return ["grids", "--data", f"coco:{source}", "--weights", weights, "--image-size", "32", "--out", out, *flags]


def test_grids_hold_the_resnets_view_and_train_a_captioner(tmp_path, capsys, source, weights):
    out = tmp_path / "grids"
    code, stdout, stderr = cli(grids_argv(source, weights, out), capsys)
    assert code == 0, stderr
    assert f"--data coco:{out}" in stdout and "train: 6 pictures -> grids (1, 1, 512)" in stdout
    model = load_resnet("resnet18", weights)
    for split, count in COUNTS.items():
        pictures = load_coco_captions(source, split, image_size=32, features=False)
        grids = load_coco_captions(out, split)
        assert grids.features and grids.images.shape == (count, 1, 1, 512)
        assert grids.references == pictures.references
        np.testing.assert_allclose(grids.images, picture_grids(model, pictures.images), rtol=1e-5, atol=1e-6)
        info = json.loads((out / f"captions_{split}.json").read_text())["info"]
        assert info["arch"] == "resnet18" and info["image_size"] == 32 and info["split"] == split
    assert [p.name for p in tmp_path.iterdir()] == ["grids"]          # no temporary folder left
    run = tmp_path / "run"
    assert main(["train", "--task", "caption", "--data", f"coco:{out}", "--engine", "numpy", "--hidden", "8",
                 "--embed", "8", "--batch", "4", "--steps", "2", "--eval-every", "2", "--out", str(run)]) == 0
    capsys.readouterr()
    code, stdout, stderr = cli(["eval", run, "--split", "test", "--beam", "2", "--json"], capsys)
    assert code == 0, stderr
    assert json.loads(stdout)["count"] == 3


def test_an_existing_folder_is_refused_unless_forced(tmp_path, capsys, source, weights):
    out = tmp_path / "grids"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    one_line_error(*cli(grids_argv(source, weights, out), capsys)[::2], "already exists", "--force")
    assert (out / "keep.txt").exists()
    code, _, stderr = cli(grids_argv(source, weights, out, "--force", "--size", "2"), capsys)
    assert code == 0, stderr
    assert not (out / "keep.txt").exists() and len(list((out / "train").iterdir())) == 2


def test_the_current_folder_is_never_replaced(tmp_path, capsys, monkeypatch, source, weights):
    monkeypatch.chdir(tmp_path)
    for out in (".", ".."):
        one_line_error(*cli(grids_argv(source, weights, out, "--force"), capsys)[::2], "current folder")
    assert tmp_path.exists()


def test_a_failure_part_way_leaves_no_folder(tmp_path, capsys, weights):
    source = write_pictures(tmp_path / "pictures", {"train": 3, "val": 2})   # no test split
    out = tmp_path / "grids"
    one_line_error(*cli(grids_argv(source, weights, out), capsys)[::2], "no test captions")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pictures"]


@pytest.mark.parametrize("change, words", [
    (lambda a, tmp: a.__setitem__(4, tmp / "missing.pth"), ("no weights file", "missing.pth")),
    (lambda a, tmp: a.__setitem__(6, "16"), ("--image-size must be at least 32",)),
    (lambda a, tmp: a.extend(["--arch", "resnet34"]), ("does not fit resnet34",)),
    (lambda a, tmp: a.__setitem__(2, f"coco:{tmp / 'nowhere'}"), ("no such folder", "nowhere")),
])
def test_bad_input_is_one_line(tmp_path, capsys, source, weights, change, words):
    argv = grids_argv(source, weights, tmp_path / "grids")
    change(argv, tmp_path)
    one_line_error(*cli(argv, capsys)[::2], *words)
    assert not (tmp_path / "grids").exists()


def test_unknown_arch_is_an_argparse_error(tmp_path, capsys, source, weights):
    code, _, stderr = cli(grids_argv(source, weights, tmp_path / "g", "--arch", "vgg16"), capsys)
    assert code == 2 and "invalid choice: 'vgg16'" in stderr


def test_a_grid_function_of_the_wrong_shape_is_refused(tmp_path, source):
    from rnnkit.data.grid_folder import write_grid_folder
    from rnnkit.errors import UsageError

    with pytest.raises(UsageError, match=r"gave shape \(1, 2, 2, 4\) for 6 pictures"):
        write_grid_folder(f"coco:{source}", tmp_path / "g", lambda images: np.zeros((1, 2, 2, 4)), image_size=16,
                          progress=lambda line: None)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="already exists and is not a folder"):
        write_grid_folder(f"coco:{source}", tmp_path / "file", lambda images: images, image_size=16, force=True)


def test_without_torch_it_says_what_to_install(tmp_path, capsys, monkeypatch, source, weights):
    monkeypatch.setitem(__import__("sys").modules, "torch", None)      # import torch now fails
    one_line_error(*cli(grids_argv(source, weights, tmp_path / "g"), capsys)[::2], "pip install 'rnnkit[torch]'")
