"""Pictures of DRAW's generations: a grid of final images (PNG) and the canvas animated over the T
steps (GIF), with the write window drawn on every frame when the model attends. Drawn by
``rnnkit sample RUN --out samples.png --gif canvas.gif`` with Pillow; every file is written under a
temporary name and renamed, so an error never leaves half a picture.

The window of a step is the square its n x n filter centres span: centre (gX, gY), side
(n - 1) delta (rnnkit/models/draw/filterbank.py), drawn one pixel wider than that in red, clipped
to its tile.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data.tokens import atomic_write
from rnnkit.errors import UsageError

GAP = 1
WINDOW_COLOUR = (230, 40, 40)


def _pil():
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise UsageError("drawing samples needs Pillow: pip install 'rnnkit[viz]' (or pillow)") from None
    return Image, ImageDraw


def grid(images, cols: int) -> np.ndarray:
    """Tile images (K, B, A) in [0, 1] into one (rows (B+1) - 1, cols (A+1) - 1) uint8 picture,
    ink white on black, one grey pixel between tiles."""
    images = np.asarray(images, dtype=np.float64)
    K, B, A = images.shape
    rows = -(-K // cols)
    out = np.full((rows * (B + GAP) - GAP, cols * (A + GAP) - GAP), 96, dtype=np.uint8)
    for k in range(K):
        r, c = divmod(k, cols)
        out[r * (B + GAP):r * (B + GAP) + B, c * (A + GAP):c * (A + GAP) + A] = np.rint(images[k].clip(0, 1) * 255)
    return out


def _window_boxes(windows, write_n: int, cols: int, B: int, A: int, scale: int):
    """Boxes (x0, y0, x1, y1) in the scaled picture, one per tile, from windows (K, 5)."""
    boxes = []
    for k, (gx, gy, delta, _, _) in enumerate(np.asarray(windows)):
        r, c = divmod(k, cols)
        half = (write_n - 1) / 2 * delta + 0.5
        # clipped to the tile: a window wider than the image would run over its neighbours
        x0, x1 = np.clip([gx - half, gx + half + 1], 0, A) + c * (A + GAP)
        y0, y1 = np.clip([gy - half, gy + half + 1], 0, B) + r * (B + GAP)
        boxes.append(tuple(float(v) * scale for v in (x0, y0, x1 - 1 / scale, y1 - 1 / scale)))
    return boxes


def _save(path, save_fn) -> Path:
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: its folder does not exist")
    try:
        atomic_write(path, save_fn)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def save_grid_png(images, path, cols: int | None = None, scale: int = 3) -> Path:
    """Write images (K, B, A) in [0, 1] as one PNG grid, each pixel ``scale`` x ``scale``."""
    Image, _ = _pil()
    images = np.asarray(images)
    cols = cols or int(np.ceil(np.sqrt(len(images))))
    picture = Image.fromarray(grid(images, cols)).resize(
        (scale * (cols * (images.shape[2] + GAP) - GAP), scale * (-(-len(images) // cols) * (images.shape[1] + GAP) - GAP)),
        Image.NEAREST)
    return _save(path, lambda temp: picture.save(temp, format="PNG"))


def save_canvas_gif(canvases, path, windows=None, write_n: int = 0, cols: int | None = None, scale: int = 3,
                    frame_ms: int = 80) -> Path:
    """Write the canvases over time as a GIF.

    Inputs: canvases (T, K, B, A) in [0, 1] (sigmoid of the canvas after each step); windows
    (T, K, 5) of the write attention (gX, gY, delta, sigma^2, gamma) or None; write_n its patch side.
    The last frame is held three times as long.
    """
    Image, ImageDraw = _pil()
    canvases = np.asarray(canvases)
    T, K, B, A = canvases.shape
    cols = cols or int(np.ceil(np.sqrt(K)))
    frames = []
    for t in range(T):
        tile = grid(canvases[t], cols)
        frame = Image.fromarray(tile).resize((tile.shape[1] * scale, tile.shape[0] * scale), Image.NEAREST)
        if windows is not None:  # grey frames otherwise: a GIF of one channel is far smaller
            frame = frame.convert("RGB")
            draw = ImageDraw.Draw(frame)
            for box in _window_boxes(windows[t], write_n, cols, B, A, scale):
                draw.rectangle(box, outline=WINDOW_COLOUR, width=1)
        frames.append(frame)
    durations = [frame_ms] * (T - 1) + [frame_ms * 3]

    def write(temp):
        frames[0].save(temp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)

    return _save(path, write)
