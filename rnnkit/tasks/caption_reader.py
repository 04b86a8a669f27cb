"""What a trained captioner needs to read an image and write its caption, and nothing of the data.

Bad-input policy (docs/captioning.md), each a one-line UsageError (exit code 2) where it is an error:

- no image given, a missing or unreadable file, or one that is not a sane PNG: error;
- any PNG colour type (grey, palette, RGB, with or without alpha; 1-16 bits) is read and
  converted to what the model reads: RGB, or grey as the mean of R, G and B for a one-channel
  model;
- the background: transparent pixels are composited on white for an RGB model (Tux Paint's
  stamps and COCO's photographs), on black for a grey one (the scenes: bright ink on black);
- another size than the model's (square models only): padded with that background to a centred
  square and resized by area averaging (``fit_square``), with a warning; a model of non-square
  images refuses other sizes.

A model trained on feature grids (``spec.grid = (h, w, F)``) reads ``.npy`` files instead, each one
grid of exactly that shape (loaded with ``allow_pickle=False``, finite values): a PNG given to it,
a ``.npy`` given to a model of pictures, another shape, a pickled or non-numeric array are errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rnnkit.data.images import fit_to_model, read_image_bytes, read_image_file
from rnnkit.data.sources.png import SIGNATURE as PNG_SIGNATURE
from rnnkit.data.sources.png import decode_png
from rnnkit.errors import UsageError
from rnnkit.tasks.caption_vocab import CaptionVocab
from rnnkit.tasks.common_cli import Quiet

#: The first bytes of every .npy file (NumPy's format, any version).
NPY_SIGNATURE = b"\x93NUMPY"


class CaptionReader:
    """The vocabulary and the image size (or the feature grid's shape, ``grid``) of a trained captioner
    (all saved in the checkpoint)."""

    def __init__(self, vocab: CaptionVocab, height: int, width: int, channels: int, max_words: int = 32,
                 grid: tuple[int, int, int] | None = None):
        self.vocab, self.height, self.width, self.channels = vocab, height, width, channels
        self.max_words, self.grid = max_words, grid

    @classmethod
    def from_checkpoint(cls, checkpoint) -> "CaptionReader":
        spec = checkpoint.spec
        try:
            vocab = CaptionVocab.from_json(checkpoint.tokenizers["words"])
        except KeyError:
            raise UsageError(f"{checkpoint.path} has no caption vocabulary") from None
        max_words = checkpoint.task.get("max_words", 32)
        if isinstance(max_words, bool) or not isinstance(max_words, int) or not 1 <= max_words <= 1000:
            raise UsageError(f"{checkpoint.path}: its task's max_words must be an integer from 1 to 1000")
        return cls(vocab, spec.image_height, spec.image_width, spec.image_channels, max_words, spec.grid)

    def read(self, path, warn=None) -> np.ndarray:
        """One input of the model: a picture (:meth:`read_image`) or a feature grid (:meth:`read_grid`)."""
        return self.read_grid(path) if self.grid is not None else self.read_image(path, warn)

    def read_grid(self, path) -> np.ndarray:
        """The ``.npy`` feature grid at ``path`` as (h, w, F) float32, the model's shape (module docstring)."""
        from rnnkit.data.coco_captions import read_grid

        path = Path(path)
        head = self._head(path)
        shape = "x".join(map(str, self.grid))
        if head.startswith(PNG_SIGNATURE):
            raise UsageError(f"{path} is a PNG picture, but this model reads feature grids: give the image's "
                             f"{shape} grid as a .npy file")
        if not head.startswith(NPY_SIGNATURE):
            raise UsageError(f"{path} is not a .npy file; this model reads {shape} feature grids saved by numpy.save")
        grid = read_grid(path)   # allow_pickle=False; UsageError for a pickled or non-numeric array
        if grid.shape != self.grid:
            raise UsageError(f"{path} holds a grid of {'x'.join(map(str, grid.shape))}; this model reads {shape}")
        if not np.isfinite(grid).all():
            raise UsageError(f"{path} holds NaN or infinite values")
        return grid

    def backdrop(self, path) -> np.ndarray:
        """What an attention picture is drawn over: the picture, or for a feature grid each cell's
        feature norm scaled to [0, 1] (h, w) (a grid has no picture)."""
        if self.grid is None:
            return self.read_image(path, warn=Quiet())
        norms = np.linalg.norm(self.read_grid(path), axis=2)
        return norms / max(float(norms.max()), 1e-12)

    @staticmethod
    def _head(path: Path) -> bytes:
        """The first bytes of an input file, after checking that it exists and is not too large."""
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        return read_image_bytes(path, count=8)

    def read_image(self, path, warn=None) -> np.ndarray:
        """The image at ``path`` as (H, W, C) float32 in [0, 1], converted and resized as the module
        docstring says."""
        warn = warn or sys.stderr
        path, data = read_image_file(path)
        if data.startswith(NPY_SIGNATURE):
            raise UsageError(f"{path} is a NumPy array (.npy), but this model reads pictures: give a PNG "
                             "(feature grids are for a model trained on them)")
        rgba = decode_png(data, str(path))  # UsageError for anything that is not a sane PNG
        grey = self.channels == 1
        if grey:   # composite and pad on black: on white in the negative, then back
            rgba = np.concatenate([255 - rgba[..., :3], rgba[..., 3:]], axis=2)
        rgb = fit_to_model(rgba, path, self.height, self.width, warn)
        if grey:
            return 1.0 - rgb.mean(axis=2, keepdims=True)
        if self.channels != 3:
            raise UsageError(f"this model reads images of {self.channels} channels; a PNG gives 1 or 3")
        return rgb

    def caption(self, runtime, paths: list[str], beam: int = 3, attention: bool = False, warn=None) -> list[dict]:
        """Caption each image file: ``[{"caption", "words", "log_prob", "finished"}]``, with
        ``attention`` also ``"attention"``: (n + 1, h, w) nested lists, where the model looked for
        each word and for ``<end>`` (soft attention only)."""
        from rnnkit.inference.caption_beam import attention_of, decode, numpy_captioner
        from rnnkit.tasks.caption import ALPHA, FORBIDDEN, caption_data
        from rnnkit.tasks.caption_vocab import END_ID, START_ID

        if not paths:
            raise UsageError("nothing to caption: give one or more "
                             + (".npy feature grids" if self.grid is not None else "PNG images"))
        if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
            raise UsageError(f"--beam must be a positive integer (1 is greedy decoding), got {beam!r}")
        images = np.stack([self.read(p, warn) for p in paths])   # every file checked before decoding
        model = numpy_captioner(runtime)
        if attention and model.spec.attention != "soft":
            raise UsageError("this model has no attention (trained with --attention none): there is nothing to draw")
        results = []
        for image, h in zip(images, decode(model, images, START_ID, END_ID, self.max_words + 1, beam=beam,
                                           alpha=ALPHA, forbidden=FORBIDDEN)):
            words = self.vocab.decode(h.ids)
            result = {"caption": caption_data().join_words(words), "words": words, "log_prob": float(h.log_prob),
                      "finished": bool(h.finished)}
            if attention:
                gh, gw = model.spec.grid_size
                weights = attention_of(model, image, h.ids, START_ID)
                result["attention"] = weights.reshape(-1, gh, gw).tolist()
            results.append(result)
        return results

