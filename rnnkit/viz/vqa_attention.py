"""Where a VQA model looked: the image, and each attention hop's weights over the image's grid.

Panel 0 is the picture; panel k shows hop k's distribution p_k over the h x w grid of encoder
locations, stretched over the picture (each cell covers (H/h) x (W/w) pixels, drawn as blocks,
not smoothed, since the model saw cells) and laid over a dimmed copy of it. A hop that found the
shape puts its weight on the cells that hold it; the weights of a panel sum to 1.
"""

from __future__ import annotations

import numpy as np

from rnnkit.viz.figures import new_figure, save


def draw_vqa_attention(image: np.ndarray, weights: np.ndarray, path, question: str = "", answer: str = ""):
    """Draw ``image`` (H, W, 3) floats in [0, 1] and ``weights`` (K, h, w) to ``path`` (.png, .svg,
    .pdf); returns the path."""
    image = np.asarray(image, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if image.ndim != 3 or weights.ndim != 3:
        raise ValueError(f"need image (H, W, 3) and weights (K, h, w), got {image.shape} and {weights.shape}")
    hops, h, w = weights.shape
    H, W = image.shape[:2]
    fig = new_figure((2.4 * (hops + 1), 2.8))
    ax = fig.add_subplot(1, hops + 1, 1)
    ax.imshow(image, interpolation="nearest")
    ax.set_title("image", fontsize=9)
    ax.axis("off")
    for k in range(hops):
        ax = fig.add_subplot(1, hops + 1, k + 2)
        ax.imshow(0.35 * image + 0.65, interpolation="nearest")
        # extent maps the grid's cells onto the picture's pixels.
        ax.imshow(weights[k], cmap="magma", alpha=0.75, vmin=0.0, vmax=max(float(weights[k].max()), 1e-12),
                  interpolation="nearest", extent=(-0.5, W - 0.5, H - 0.5, -0.5))
        ax.set_title(f"hop {k + 1} (max {weights[k].max():.2f})", fontsize=9)
        ax.axis("off")
    if question or answer:
        fig.suptitle(f"{question} -> {answer}"[:90], fontsize=9)
    fig.tight_layout()
    return save(fig, path)
