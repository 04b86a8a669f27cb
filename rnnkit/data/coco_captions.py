"""Captioned images in the COCO captions format, for users who have COCO, Flickr8k converted to it,
or their own pictures (``--data coco:DIR``). Nothing here is downloaded: DIR is the user's.

Where the captions are, for ``split`` in train, val, test (the first layout that exists wins):

1. ``DIR/captions_<split>.json`` (this project's layout);
2. ``DIR/annotations/captions_<split>*.json``, COCO's own naming (``captions_train2014.json``,
   ``captions_val2017.json``); exactly one file may match.

The JSON is COCO's: ``{"images": [{"id": int, "file_name": str, ...}], "annotations":
[{"image_id": int, "caption": str, ...}]}``. Every image with at least one caption is kept, in the
order of ``images``, with all its captions as references (COCO has five); images without captions
are left out (COCO's test images have none). An annotation naming an image the list lacks, a
repeated image id, a caption that is not text and a file name that leaves DIR (absolute, or with
``..``) are errors.

Where a picture is: ``file_name`` inside the first folder of: the layout's image folder
(``DIR/<split>/``, or for COCO's naming the JSON's suffix, ``DIR/train2014/``), ``DIR/images/``,
the JSON's folder. Pictures are PNG (read by :mod:`.sources.png`, no dependency) or JPEG (read
through Pillow where it is installed; otherwise a message says to install it or convert to PNG),
composited on white, padded with white to a centred square and area-resized to ``image_size``
(:func:`~rnnkit.data.sources.png.fit_square`): any size and mode is accepted and converted.

Feature grids instead of pictures: ``<file_name>.npy`` (e.g. ``train2014/x.jpg.npy``) in those
folders, a float array (h, w, F) the same shape for every image, read with
``allow_pickle=False``. With ``features=None`` grids are read when the first image has one (then
every image must); ``True`` demands them, ``False`` reads the pictures.

Nothing is cached: every load decodes the pictures again (pure Python PNG decoding takes some
milliseconds a picture), so for a large set prefer feature grids or a small ``size``.
Every problem is a UsageError that names the file.
"""

from __future__ import annotations

import io
import json
from pathlib import Path, PurePosixPath

import numpy as np

from rnnkit.data.caption_sets import CaptionSet
from rnnkit.data.images import read_image_bytes
from rnnkit.data.sources.png import SIGNATURE, decode_png, fit_square
from rnnkit.errors import UsageError

JPEG_SIGNATURE = b"\xff\xd8\xff"


def find_captions(folder: Path, split: str) -> tuple[Path, Path]:
    """(the captions JSON of ``split``, the layout's image folder) under ``folder``."""
    plain = folder / f"captions_{split}.json"
    if plain.is_file():
        return plain, folder / split
    found = sorted((folder / "annotations").glob(f"captions_{split}*.json"))
    if len(found) > 1:
        raise UsageError(f"{folder / 'annotations'} holds {len(found)} caption files for "
                         f"{split} ({', '.join(p.name for p in found)}); keep one")
    if found:
        return found[0], folder / found[0].stem[len("captions_"):]
    raise UsageError(f"no {split} captions in {folder}: expected {plain} or "
                     f"{folder / 'annotations'}/captions_{split}*.json (COCO's naming)")


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise UsageError(f"{path} is not valid JSON: {error}") from None


def read_captions(path: Path) -> list[tuple[str, list[str]]]:
    """(file name, captions) of every captioned image of a COCO captions JSON, in its order."""
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise UsageError(f"{path} is not a COCO captions file: it needs lists \"images\" and "
                         "\"annotations\"")
    names: dict[int, str] = {}
    for i, image in enumerate(data["images"]):
        ident = image.get("id") if isinstance(image, dict) else None
        name = image.get("file_name") if isinstance(image, dict) else None
        if isinstance(ident, bool) or not isinstance(ident, int) or not isinstance(name, str) \
                or not name:
            raise UsageError(f"{path}: images[{i}] needs an integer \"id\" and a \"file_name\"")
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or "\\" in name:
            raise UsageError(f"{path}: images[{i}] has file name {name!r}, which leaves the folder")
        if ident in names:
            raise UsageError(f"{path}: image id {ident} is listed twice")
        names[ident] = name
    captions: dict[int, list[str]] = {}
    for i, note in enumerate(data["annotations"]):
        ident = note.get("image_id") if isinstance(note, dict) else None
        text = note.get("caption") if isinstance(note, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise UsageError(f"{path}: annotations[{i}] needs a non-empty \"caption\" string")
        if isinstance(ident, bool) or not isinstance(ident, int) or ident not in names:
            raise UsageError(f"{path}: annotations[{i}] is for image id {ident!r}, which "
                             "\"images\" does not list")
        captions.setdefault(ident, []).append(" ".join(text.split()))
    return [(name, captions[ident]) for ident, name in names.items() if ident in captions]


def _locate(name: str, folders: list[Path], suffix: str = "") -> Path | None:
    for folder in folders:
        path = folder / (name + suffix)
        if path.is_file():
            return path
    return None


def read_picture(path: Path, size: int) -> np.ndarray:
    """A PNG or JPEG file as (size, size, 3) uint8 RGB (module docstring)."""
    data = read_image_bytes(path)   # UsageError for a file too large or unreadable
    if data.startswith(SIGNATURE):
        return fit_square(decode_png(data, str(path)), size)
    if not data.startswith(JPEG_SIGNATURE):
        raise UsageError(f"{path} is neither a PNG nor a JPEG picture")
    try:
        from PIL import Image
    except ImportError:
        raise UsageError(f"{path} is a JPEG: reading JPEG needs Pillow (pip install pillow), "
                         "or convert the pictures to PNG") from None
    try:
        with Image.open(io.BytesIO(data)) as picture:
            rgba = np.asarray(picture.convert("RGBA"), np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise UsageError(f"cannot read the JPEG {path}: {error}") from None
    return fit_square(rgba, size)


def read_grid(path: Path) -> np.ndarray:
    """A feature grid file as (h, w, F) float32."""
    try:
        grid = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(f"cannot read the feature grid {path}: {error}") from None
    if not isinstance(grid, np.ndarray) or grid.ndim != 3 or grid.dtype.kind not in "fiu":
        raise UsageError(f"{path}: a feature grid must be a numeric (h, w, F) array, got "
                         f"{getattr(grid, 'shape', '?')} {getattr(grid, 'dtype', '')}")
    return grid.astype(np.float32)


def load_coco_captions(folder: str | Path, split: str, *, size: int | None = None,
                       image_size: int = 64, features: bool | None = None) -> CaptionSet:
    """One split of a COCO-format folder as a :class:`CaptionSet` (module docstring); ``size``
    keeps the first ``size`` captioned images."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"no such folder: {folder}")
    path, image_folder = find_captions(folder, split)
    entries = read_captions(path)
    if size is not None:
        entries = entries[:size]
    if not entries:
        raise UsageError(f"{path} has no captioned images")
    folders = list(dict.fromkeys([image_folder, folder / "images", path.parent]))
    if features is None:
        features = _locate(entries[0][0], folders, ".npy") is not None
    arrays = []
    for name, _ in entries:
        found = _locate(name, folders, ".npy" if features else "")
        if found is None:
            what = f"the feature grid {name}.npy" if features else f"the picture {name}"
            raise UsageError(f"{path}: {what} is in none of "
                             f"{', '.join(str(f) for f in folders)}")
        arrays.append(read_grid(found) if features else read_picture(found, image_size))
        if arrays[-1].shape != arrays[0].shape:
            raise UsageError(f"{found}: a feature grid of shape {arrays[-1].shape}, but the "
                             f"first one's is {arrays[0].shape}")
    return CaptionSet(np.stack(arrays), [refs for _, refs in entries], None, bool(features),
                      ids=tuple(name for name, _ in entries))
