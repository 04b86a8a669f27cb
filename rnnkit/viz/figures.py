"""Figures without pyplot: a matplotlib ``Figure`` with the Agg canvas, so that drawing needs no
display, keeps no global state between calls and works from any thread (the playground's)."""

from __future__ import annotations

import io
from pathlib import Path

from rnnkit.errors import UsageError
from rnnkit.viz import require

#: Small PNGs for the docs: 100 dots per inch of the figure size, a palette of 128 colours.
DPI = 100
PNG_COLOURS = 128


def new_figure(figsize=(8, 6)):
    """A blank figure of ``figsize`` inches on the Agg canvas."""
    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save(fig, path, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` (the format from its suffix: .png, .svg, .pdf), creating its folder;
    a path that cannot be written is a UsageError."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("png", "svg", "pdf"):
        raise UsageError(f"{path}: write a .png, .svg or .pdf file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == "png":
            _save_small_png(fig, path, dpi)
        else:
            fig.savefig(path, dpi=dpi, format=suffix, metadata=_metadata(suffix))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _save_small_png(fig, path: Path, dpi: int) -> None:
    """A PNG of at most :data:`PNG_COLOURS` colours: a third of the bytes of a full-colour one, and
    the same to the eye for line plots and text (Pillow comes with matplotlib)."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format="png", metadata=_metadata("png"))
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=PNG_COLOURS).save(path, format="PNG", optimize=True)


def _metadata(fmt: str) -> dict:
    """No creation date or software version in the file: the same figure gives the same bytes."""
    if fmt == "png":
        return {"Software": None}
    if fmt == "svg":
        return {"Date": None, "Creator": None}
    return {"CreationDate": None, "Producer": None, "Creator": None}
