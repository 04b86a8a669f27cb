"""The attention matrix of one translation as a heat map: source pieces across, output pieces down.

Row t is the distribution the decoder's attention put over the source pieces when it wrote output
piece t (the last row: ``<eos>``); every row sums to 1. A good alignment shows as a bright band,
roughly diagonal for English and Spanish, with bends where word order differs ("the red house" /
"la casa roja").
"""

from __future__ import annotations

import numpy as np

from rnnkit.viz.figures import new_figure, save


def draw_attention(weights: np.ndarray, source: list[str], output: list[str], path, title: str = ""):
    """Draw ``weights`` (T_out, S) with the source pieces (S strings) on the x axis and the output
    pieces (T_out strings) on the y axis to ``path`` (.png, .svg or .pdf); returns the path."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(output), len(source)):
        raise ValueError(f"weights {weights.shape} do not match {len(output)} output and {len(source)} source pieces")
    # About a quarter inch a piece, within what a page holds.
    width = float(np.clip(0.28 * len(source) + 2.0, 4.0, 24.0))
    height = float(np.clip(0.28 * len(output) + 1.6, 3.0, 24.0))
    fig = new_figure((width, height))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(source)))
    ax.set_xticklabels(source, rotation=90, fontsize=8)
    ax.set_yticks(range(len(output)))
    ax.set_yticklabels(output, fontsize=8)
    ax.set_xlabel("source pieces")
    ax.set_ylabel("output pieces")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label="attention weight")
    fig.tight_layout()
    return save(fig, path)
