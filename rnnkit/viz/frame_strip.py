"""A per-frame prediction strip: a clip's frames in a row, each with the label the model gave it
(and its probability), or for a sensor stream its channels over time above a band coloured by
the predicted class. Drawn by ``rnnkit predict RUN clip.npy --strip-png FILE``."""

from __future__ import annotations

import numpy as np

from rnnkit.viz.figures import new_figure, save

MAX_FRAMES = 24


def draw_frame_strip(clip, labels, probabilities, path, class_names=None, title: str | None = None):
    """Write the strip of ``clip`` (T, H, W) images or (T, D) vectors with the per-frame ``labels``
    (names) and ``probabilities`` (None: labels alone, e.g. the true ones) to ``path`` (.png, .svg or .pdf). Image clips longer than
    MAX_FRAMES show every k-th frame so that the strip stays readable."""
    clip = np.asarray(clip)
    if clip.ndim == 3:
        step = max(1, -(-len(clip) // MAX_FRAMES))
        shown = list(range(0, len(clip), step))
        fig = new_figure((1.1 * len(shown) + 0.2, 1.6))
        for i, t in enumerate(shown):
            ax = fig.add_subplot(1, len(shown), i + 1)
            ax.imshow(clip[t], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            shown_p = "" if probabilities is None else f"\n{probabilities[t]:.2f}"
            ax.set_title(f"{t}: {labels[t]}{shown_p}", fontsize=7)
    else:
        names = list(class_names) if class_names else sorted(set(labels))
        index = np.array([names.index(name) for name in labels])
        fig = new_figure((10, 3.2))
        ax = fig.add_axes([0.07, 0.35, 0.9, 0.55])
        ax.plot(clip, linewidth=0.6)
        ax.set_xlim(0, len(clip))
        ax.set_ylabel("channels")
        band = fig.add_axes([0.07, 0.12, 0.9, 0.12])
        band.imshow(index[None, :], aspect="auto", cmap="tab10", vmin=0, vmax=9, interpolation="nearest",
                    extent=(0, len(clip), 0, 1))
        band.set_yticks([])
        band.set_xlabel("time step; colour: the predicted class")
        starts = [0] + [t for t in range(1, len(index)) if index[t] != index[t - 1]]
        for t in starts:
            band.text(t + 0.5, 0.5, labels[t], fontsize=7, va="center")
    if title:
        fig.suptitle(title, fontsize=9)
    return save(fig, path)
