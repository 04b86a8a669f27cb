"""Where a captioner looked while it wrote each word: the image, then one panel per word.

Panel 0 is the picture; panel t shows soft attention's weights e_t over the h x w grid of encoder
locations when the model wrote word t (the last panel: when it wrote ``<end>``), stretched over
the picture (each cell covers (H/h) x (W/w) pixels, drawn as blocks, not smoothed, since the model
saw cells) and laid over a dimmed copy of it. The weights of a panel sum to 1; the colour scale is
each panel's own, and its title gives the word and the largest weight.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit.viz.figures import new_figure, save

#: Panels a row; longer captions wrap onto more rows.
COLUMNS = 6


def draw_caption_attention(image: np.ndarray, weights, words: list[str], path, title: str = ""):
    """Draw ``image`` (H, W) or (H, W, C) floats in [0, 1] and ``weights`` (T, h, w), one map per
    word of ``words`` (T of them), to ``path`` (.png, .svg, .pdf); returns the path."""
    image = np.asarray(image, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or weights.ndim != 3 or len(words) != weights.shape[0]:
        raise ValueError(f"need image (H, W[, 3]), weights (T, h, w) and T words; got {image.shape}, "
                         f"{weights.shape} and {len(words)} words")
    H, W = image.shape[:2]
    panels = len(words) + 1
    columns = min(COLUMNS, panels)
    rows = math.ceil(panels / columns)
    cmap = "gray" if image.ndim == 2 else None
    fig = new_figure((2.0 * columns, 2.2 * rows + (0.3 if title else 0.0)))
    ax = fig.add_subplot(rows, columns, 1)
    ax.imshow(image, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_title("image", fontsize=9)
    ax.axis("off")
    for t, word in enumerate(words):
        ax = fig.add_subplot(rows, columns, t + 2)
        ax.imshow(0.35 * image + 0.65, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
        # extent maps the grid's cells onto the picture's pixels.
        ax.imshow(weights[t], cmap="magma", alpha=0.75, vmin=0.0, vmax=max(float(weights[t].max()), 1e-12),
                  interpolation="nearest", extent=(-0.5, W - 0.5, H - 0.5, -0.5))
        ax.set_title(f"{word[:14]} ({weights[t].max():.2f})", fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(title[:90], fontsize=9)
    fig.tight_layout()
    return save(fig, path)
