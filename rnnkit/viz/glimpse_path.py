"""The path of a recurrent attention model's glimpses drawn over the image: every glimpse's
squares (one per scale, the innermost solid), numbered in order, joined by a line; colour runs
from the first glimpse to the last. Drawn by ``rnnkit predict RUN digit.png --glimpses-png FILE``."""

from __future__ import annotations

import numpy as np

from rnnkit.numpy_engine.glimpse import glimpse_boxes
from rnnkit.viz.figures import new_figure, save


def draw_glimpse_path(image, locations, spec, path, title: str | None = None):
    """Write ``image`` (S, S) with the glimpses at ``locations`` (T, 2) (row, column in [-1, 1]) of a
    model of ``spec`` (patch, scales, scale_factor) to ``path`` (.png, .svg or .pdf)."""
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    image = np.asarray(image)
    size = image.shape[0]
    locations = np.clip(np.asarray(locations, dtype=np.float64), -1.0, 1.0)
    boxes = glimpse_boxes(locations, size, spec.patch, spec.scales, spec.scale_factor)   # (T, k, 3)
    centres = (locations + 1.0) * (size / 2.0) - 0.5                                      # pixel centres
    colours = colormaps["autumn"](np.linspace(0.0, 1.0, len(locations)))
    fig = new_figure((4.2, 4.4))
    ax = fig.add_axes([0.02, 0.02, 0.96, 0.88])
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    for t, (glimpse, colour) in enumerate(zip(boxes, colours)):
        for i, (top, left, side) in enumerate(glimpse):
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), side, side, fill=False, edgecolor=colour,
                                   linewidth=1.6 if i == 0 else 0.7, linestyle="-" if i == 0 else "--"))
        ax.text(centres[t, 1], centres[t, 0], str(t + 1), color=colour, fontsize=9, ha="center", va="center",
                fontweight="bold")
    ax.plot(centres[:, 1], centres[:, 0], color="cyan", linewidth=0.8, alpha=0.7)
    ax.set_xlim(-0.5, size - 0.5)
    ax.set_ylim(size - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    return save(fig, path)
