"""The interpretable-cells PNG: a few lines of text per cell, each character on a square coloured by
the cell's activation (blue -1, white 0, red +1), drawn with matplotlib."""

from __future__ import annotations

import numpy as np

from rnnkit.viz.cellviz import level_colours
from rnnkit.viz.figures import new_figure, save


def _grid(text: str, values: np.ndarray, lines: int, columns: int):
    """(rows of characters, (lines, columns) values with NaN where no character stands)."""
    grid = np.full((lines, columns), np.nan)
    rows, row, col = [], [], 0
    for ch, v in zip(text, values):
        if len(rows) == lines:
            break
        if ch == "\n" or col == columns:
            if col < columns:
                grid[len(rows), col] = v  # the newline's own colour, one square at the line's end
            rows.append("".join(row))
            row, col = [], 0
            if ch == "\n":
                continue
            if len(rows) == lines:
                break
        grid[len(rows), col] = v
        row.append(ch)
        col += 1
    if row and len(rows) < lines:
        rows.append("".join(row))
    return rows, grid


def draw_cells(blocks: list[tuple[str, str, np.ndarray]], path, lines: int = 10, columns: int = 80):
    """Write a PNG (or SVG) of ``blocks``: (heading, text, values (T,) in [-1, 1]) each."""
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap(level_colours()).with_extremes(bad="white")
    fig = new_figure(figsize=(columns * 0.105, len(blocks) * (lines * 0.19 + 0.45)))
    axes = fig.subplots(len(blocks), 1, squeeze=False)[:, 0]
    for ax, (heading, text, values) in zip(axes, blocks):
        rows, grid = _grid(text, values, lines, columns)
        ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
        for r, row in enumerate(rows):
            for c, ch in enumerate(row):
                if not ch.isspace():
                    ax.text(c, r, ch, ha="center", va="center", fontsize=8, family="DejaVu Sans Mono")
        ax.set_title(heading, fontsize=9, loc="left")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.3 / fig.get_figheight(), bottom=0.01,
                        hspace=0.45 / (lines * 0.19))
    return save(fig, path)
