"""The COCO-format caption loader on tiny fixtures the tests write: both folder layouts, PNG and
JPEG pictures, feature grids, and every bad input as a UsageError that names the file."""

import json
import struct
import sys
import zlib

import numpy as np
import pytest

from rnnkit.data.caption_sets import load_caption_data
from rnnkit.data.coco_captions import load_coco_captions
from rnnkit.errors import UsageError


def png_bytes(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 as an unfiltered RGB PNG."""
    height, width, _ = rgb.shape

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\0" + row.tobytes() for row in rgb.astype(np.uint8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def solid(colour, height=8, width=8):
    return np.broadcast_to(np.array(colour, np.uint8), (height, width, 3)).copy()


IMAGES = [{"id": 7, "file_name": "red.png"}, {"id": 3, "file_name": "blue.png"},
          {"id": 9, "file_name": "uncaptioned.png"}]
NOTES = [{"image_id": 3, "caption": "A blue  square."}, {"image_id": 7, "caption": "A red square."},
         {"image_id": 7, "caption": "Red, all red."}]


def write_set(root, split="train", images=IMAGES, notes=NOTES, folder=None):
    """captions_<split>.json in root and the pictures in root/<split>/ (or ``folder``)."""
    pictures = root / (folder or split)
    pictures.mkdir(parents=True, exist_ok=True)
    (pictures / "red.png").write_bytes(png_bytes(solid((255, 0, 0))))
    (pictures / "blue.png").write_bytes(png_bytes(solid((0, 0, 255), 4, 8)))   # not square
    (pictures / "uncaptioned.png").write_bytes(png_bytes(solid((0, 255, 0))))
    (root / f"captions_{split}.json").write_text(json.dumps({"images": images,
                                                             "annotations": notes}))
    return root


def test_reads_pictures_references_and_order(tmp_path):
    data = load_caption_data(f"coco:{write_set(tmp_path)}", "train", image_size=8)
    assert data.ids == ("red.png", "blue.png")            # the JSON's order; uncaptioned left out
    assert data.references == [["A red square.", "Red, all red."], ["A blue square."]]
    assert data.images.shape == (2, 8, 8, 3) and data.images.dtype == np.uint8
    assert not data.features and data.facts is None
    assert (data.images[0] == (255, 0, 0)).all()
    blue = data.images[1]
    assert (blue[2:6] == (0, 0, 255)).all() and (blue[0] == 255).all()   # padded with white
    assert len(load_coco_captions(tmp_path, "train", size=1, image_size=8)) == 1


def test_coco_naming_layout(tmp_path):
    write_set(tmp_path, "val", folder="val2014")
    (tmp_path / "annotations").mkdir()
    (tmp_path / "captions_val.json").rename(tmp_path / "annotations" / "captions_val2014.json")
    data = load_caption_data(f"coco:{tmp_path}", "val", image_size=4)
    assert data.images.shape == (2, 4, 4, 3) and data.ids == ("red.png", "blue.png")


def test_feature_grids(tmp_path):
    write_set(tmp_path)
    grids = {"red.png": np.full((2, 3, 5), 1.5), "blue.png": np.arange(30.0).reshape(2, 3, 5)}
    for name, grid in grids.items():
        np.save(tmp_path / "train" / f"{name}.npy", grid)
    data = load_caption_data(f"coco:{tmp_path}", "train")
    assert data.features and data.images.shape == (2, 2, 3, 5) and data.images.dtype == np.float32
    assert np.array_equal(data.images[1], grids["blue.png"])
    pixels = load_caption_data(f"coco:{tmp_path}", "train", features=False, image_size=8)
    assert not pixels.features and pixels.images.shape == (2, 8, 8, 3)
    np.save(tmp_path / "train" / "blue.png.npy", np.zeros((2, 2, 5)))
    with pytest.raises(UsageError, match=r"blue\.png\.npy.*shape"):
        load_caption_data(f"coco:{tmp_path}", "train")
    np.save(tmp_path / "train" / "blue.png.npy", np.array([{"x": 1}], dtype=object))
    with pytest.raises(UsageError, match=r"blue\.png\.npy"):
        load_caption_data(f"coco:{tmp_path}", "train")


def test_jpeg_through_pillow(tmp_path):
    image = pytest.importorskip("PIL.Image")
    write_set(tmp_path)
    image.fromarray(solid((0, 200, 0), 6, 6)).save(tmp_path / "train" / "red.png", "JPEG")
    data = load_coco_captions(tmp_path, "train", image_size=6)
    assert abs(int(data.images[0, 3, 3, 1]) - 200) <= 3   # a JPEG under a .png name: content decides


def test_jpeg_without_pillow_is_a_clear_message(tmp_path, monkeypatch):
    write_set(tmp_path)
    (tmp_path / "train" / "red.png").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    monkeypatch.setitem(sys.modules, "PIL", None)   # as if Pillow were not installed
    with pytest.raises(UsageError, match=r"red\.png is a JPEG.*pip install pillow"):
        load_coco_captions(tmp_path, "train")


def test_missing_json_names_the_expected_files(tmp_path):
    with pytest.raises(UsageError, match=r"captions_test\.json.*annotations"):
        load_caption_data(f"coco:{tmp_path}", "test")
    with pytest.raises(UsageError, match="no such folder"):
        load_caption_data(f"coco:{tmp_path / 'absent'}", "test")


@pytest.mark.parametrize("images, notes, message", [
    (IMAGES, NOTES + [{"image_id": 42, "caption": "x"}], r"annotations\[3\].*image id 42"),
    (IMAGES + [{"id": 7, "file_name": "again.png"}], NOTES, "image id 7 is listed twice"),
    ([{"id": 1, "file_name": "../secret.png"}], NOTES, "leaves the folder"),
    (IMAGES, [{"image_id": 7, "caption": 5}], r"annotations\[0\].*caption"),
    ([{"file_name": "red.png"}], NOTES, r"images\[0\].*id"),
    (IMAGES, [], "no captioned images"),
])
def test_bad_json_contents_name_the_file(tmp_path, images, notes, message):
    write_set(tmp_path, images=images, notes=notes)
    with pytest.raises(UsageError, match=message) as error:
        load_coco_captions(tmp_path, "train")
    assert "captions_train.json" in str(error.value)


def test_unreadable_missing_or_damaged_files_are_named(tmp_path):
    write_set(tmp_path)
    (tmp_path / "train" / "blue.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(UsageError, match=r"blue\.png"):
        load_coco_captions(tmp_path, "train")
    (tmp_path / "train" / "blue.png").write_bytes(b"GIF89a")
    with pytest.raises(UsageError, match=r"blue\.png is neither a PNG nor a JPEG"):
        load_coco_captions(tmp_path, "train")
    (tmp_path / "train" / "blue.png").unlink()
    with pytest.raises(UsageError, match=r"the picture blue\.png is in none of"):
        load_coco_captions(tmp_path, "train")
    (tmp_path / "captions_train.json").write_text("{not json")
    with pytest.raises(UsageError, match=r"captions_train\.json is not valid JSON"):
        load_coco_captions(tmp_path, "train")
    (tmp_path / "captions_train.json").write_text("[]")
    with pytest.raises(UsageError, match="not a COCO captions file"):
        load_coco_captions(tmp_path, "train")
