"""Reading a user's picture file for a model, with the one-line errors of the bad-input policy.

Shared by the readers of trained models (rnnkit/tasks/caption_reader.py, vqa_reader.py) and the
COCO-format folder reader (rnnkit/data/coco_captions.py), so the three say the same thing:

- :func:`read_image_bytes`: a file's bytes, refusing one larger than :data:`MAX_IMAGE_BYTES`
  before reading it (a picture for these models is small; a huge file is a mistake, and decoding
  it would take the memory of the machine);
- :func:`fit_to_model`: decoded (H, W, 4) uint8 RGBA -> (height, width, 3) float32 in [0, 1], the
  model's size: composited on white; another size padded to a centred square and resized by area
  averaging (``fit_square``), with a warning; a model of non-square images refuses other sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data.sources.png import fit_square
from rnnkit.errors import UsageError

#: A picture file larger than this is refused before it is read.
MAX_IMAGE_BYTES = 64 << 20


def read_image_bytes(path: Path, hint: str = "", count: int = -1) -> bytes:
    """The first ``count`` bytes of ``path`` (all with -1). UsageError when it is larger than
    :data:`MAX_IMAGE_BYTES` (the message ends with ``hint``) or cannot be read."""
    try:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise UsageError(f"{path} is larger than {MAX_IMAGE_BYTES >> 20} MB{hint}")
        with path.open("rb") as stream:
            return stream.read(count)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_image_file(path) -> tuple[Path, bytes]:
    """(path, its bytes) of a picture a user names on the command line: a missing file, a
    too-large or unreadable one is a UsageError."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such image file: {path}")
    return path, read_image_bytes(path, "; give a small PNG")


def fit_to_model(rgba: np.ndarray, path, height: int, width: int, warn) -> np.ndarray:
    """(H, W, 4) uint8 RGBA -> (height, width, 3) float32 in [0, 1], as the module docstring says.

    At the model's size: ``rgb = (rgb * a + 255 (1 - a)) / 255`` with ``a`` the alpha in [0, 1].
    Other sizes (square models only) go through ``fit_square`` with a warning on ``warn``."""
    h, w = rgba.shape[:2]
    if (h, w) == (height, width):
        alpha = rgba[..., 3:].astype(np.float32) / 255.0     # composite on white
        return (rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)) / 255.0
    if height != width:
        raise UsageError(f"{path} is {w}x{h}; this model reads only {width}x{height} images")
    print(f"warning: {path} is {w}x{h}; the model reads {width}x{height} images, "
          "so it was padded to a square and resized", file=warn)
    return fit_square(rgba, height).astype(np.float32) / 255.0
