"""Tux Paint's stamps: small pictures, each with a caption a person wrote, for image captioning.

Source: Debian's ``tuxpaint-stamps-default`` (GPL-2+; ``apt-get install -y --no-install-recommends
tuxpaint-stamps-default``). Under ``/usr/share/tuxpaint/stamps/`` every stamp is ``NAME.png`` or
``NAME.svg`` (or both) with ``NAME.txt`` beside it: line 1 the English caption ("A US 1 cent piece
($.01) called a penny."), then ``<locale>.utf8=...`` translations, which are not read here.

Of the 952 captions in the 2022.06.04 package, 785 have a PNG and are read; 165 stamps are SVG only
and are skipped (there is no SVG renderer here), 2 captions have no picture at all, and 11 PNGs
(``*_mirror.png``) have no caption. Those counts are kept on the result.

Each picture is composited on white (most stamps are transparent around the object), padded with
white to a centred square so that its aspect ratio is kept, and area-resized to ``size`` x ``size``
(64 by default): (n, size, size, 3) uint8 RGB, cached in ``prepared/tuxpaint-<size>-<key>.npz``. The
first build decodes every PNG in pure NumPy and Python (see :mod:`.png`), some tens of seconds.

The split is fixed by the stamp's path relative to the stamps folder (e.g.
``animals/birds/cardinal.png``), with the rule of :func:`rnnkit.data.sentiment.split_bucket`: the
first 8 bytes of SHA-1 of the path, modulo 10; 0-7 train, 8 val, 9 test. It is the same on every
machine and does not move when stamps are added.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rnnkit.data.sentiment import split_name
from rnnkit.data.sources.cache import cached, files_key, missing_source
from rnnkit.data.sources.png import decode_png, fit_square
from rnnkit.errors import UsageError

FOLDER = Path("/usr/share/tuxpaint/stamps")
INSTALL = "apt-get install -y --no-install-recommends tuxpaint-stamps-default"
SIZE = 64
_VERSION = 1


@dataclass(frozen=True)
class Stamps:
    """n captioned stamps.

    Attributes:
        images: (n, size, size, 3) uint8 RGB on a white background.
        captions: (n,) the English captions, whitespace collapsed.
        paths: (n,) each PNG's path relative to the stamps folder.
        split: (n,) ``"train"``, ``"val"`` or ``"test"``.
        skipped_svg: captioned stamps skipped because they exist only as SVG.
        no_image: captions without a PNG or SVG beside them.
        uncaptioned: PNGs without a caption (not in ``images``).
    """

    images: np.ndarray
    captions: tuple[str, ...]
    paths: tuple[str, ...]
    split: np.ndarray
    skipped_svg: int = 0
    no_image: int = 0
    uncaptioned: int = 0
    origin: Path | None = field(default=None)
    cache: Path | None = field(default=None)

    def __len__(self) -> int:
        return len(self.captions)

    def select(self, split: str) -> Stamps:
        """The stamps of one split (``"train"``, ``"val"`` or ``"test"``), same counts otherwise."""
        rows = np.flatnonzero(self.split == split)
        return replace(self, images=self.images[rows], split=self.split[rows],
                       captions=tuple(self.captions[i] for i in rows),
                       paths=tuple(self.paths[i] for i in rows))

    def describe(self) -> str:
        sizes = ", ".join(f"{name} {int((self.split == name).sum())}"
                          for name in ("train", "val", "test"))
        return (f"{len(self)} captioned PNG stamps ({sizes}); skipped {self.skipped_svg} "
                f"SVG-only stamps, {self.no_image} captions without a picture and "
                f"{self.uncaptioned} PNGs without a caption")


def read_caption(path: Path) -> str:
    """Line 1 of a stamp's ``.txt`` file, whitespace collapsed ("" when the file is empty)."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return " ".join(lines[0].split()) if lines else ""


def _convert(root: Path, texts: list[Path], pngs: list[Path], size: int) -> dict[str, np.ndarray]:
    images, captions, paths = [], [], []
    skipped_svg = no_image = 0
    for text in texts:
        picture = text.with_suffix(".png")
        caption = read_caption(text)
        if not picture.is_file():
            if text.with_suffix(".svg").is_file():
                skipped_svg += 1
            else:
                no_image += 1
            continue
        if not caption:
            continue   # an empty caption teaches nothing; the PNG counts as uncaptioned
        name = picture.relative_to(root).as_posix()
        images.append(fit_square(decode_png(picture.read_bytes(), str(picture)), size))
        captions.append(caption)
        paths.append(name)
    uncaptioned = len(pngs) - len(paths)
    return {"images": np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8),
            "captions": np.array(captions, dtype=str), "paths": np.array(paths, dtype=str),
            "split": np.array([split_name(name) for name in paths], dtype=str),
            "counts": np.array([skipped_svg, no_image, uncaptioned], np.int64)}


def load_tuxpaint(folder: str | Path = FOLDER, *, size: int = SIZE,
                  data: str | Path | None = None) -> Stamps:
    """Every captioned PNG stamp under ``folder`` (see :class:`Stamps`), resized to size x size.

    Raises:
        UsageError: the folder has no captioned stamps (the message names the apt-get command).
    """
    if size < 1:
        raise UsageError(f"the stamp size must be positive, not {size}")
    root = Path(folder)
    texts = sorted(root.rglob("*.txt")) if root.is_dir() else []
    if not texts:
        raise missing_source(f"the Tux Paint stamps (no captions under {root})", INSTALL)
    pngs = sorted(root.rglob("*.png"))
    key = files_key(_VERSION, texts + pngs, root)
    arrays, cache = cached(f"tuxpaint-{size}", key, lambda: _convert(root, texts, pngs, size), data)
    skipped_svg, no_image, uncaptioned = (int(count) for count in arrays["counts"])
    return Stamps(arrays["images"], tuple(arrays["captions"].tolist()),
                  tuple(arrays["paths"].tolist()), arrays["split"], skipped_svg, no_image,
                  uncaptioned, root, cache)
