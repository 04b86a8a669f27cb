"""The gradient-flow figure: four panels drawn from the numbers :mod:`rnnkit.viz.gradflow` measures
(the JSON of ``rnnkit gradflow --json``), with matplotlib.

    (a) untrained   median ||dL/ds_{T-k}|| / median ||dL/dh_T|| against k, one line a cell
    (b) trained     the same after training (the LSTM's cell state c dashed)
    (c) Wh rescaled the vanilla RNN with the largest singular value of Wh set below and above 1
    (d) clipping    training loss of the vanilla RNN with plain SGD, with and without clipping
"""

from __future__ import annotations

import numpy as np

from rnnkit.viz.figures import new_figure, save

CELL_COLOURS = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c", "lnlstm": "#9467bd",
                "mingru": "#8c564b", "minlstm": "#e377c2"}


def _relative(summary: dict, base: float) -> np.ndarray:
    values = np.array(summary["median"], dtype=float)
    return np.where(values > 0, values / base, np.nan)


def _flow_panel(ax, models: dict, title: str) -> None:
    for name, entry in models.items():
        colour = CELL_COLOURS.get(entry["cell"], None)
        base = entry["states"]["h"]["median"][0]
        for state, style in (("h", "-"), ("c", "--")):
            if state not in entry["states"]:
                continue
            summary = entry["states"][state]
            k = np.array(summary["distance"])
            rel = _relative(summary, base)
            label = f"{name}: {'h' if state == 'h' else 'cell state c'}"
            ax.plot(k[1:] if state == "c" else k, rel[1:] if state == "c" else rel, style, color=colour, label=label)
            if state == "h":
                lo, hi = (np.array(summary[q], dtype=float) / base for q in ("q10", "q90"))
                ax.fill_between(k, lo, hi, color=colour, alpha=0.12, linewidth=0)
    ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("distance back in time k (steps)")
    ax.set_ylabel("||dL/ds(T-k)|| / ||dL/dh(T)||")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(True, which="major", alpha=0.3)


def _sigma_panel(ax, sweep: dict) -> None:
    sigmas = sorted(sweep, key=float)
    cmap = _colormap()
    for j, sigma in enumerate(sigmas):
        summary = sweep[sigma]["h"]
        s = float(sigma)
        colour = cmap(j / max(1, len(sigmas) - 1))
        rel = _relative(summary, summary["median"][0])
        ax.plot(summary["distance"], rel, color=colour, label=f"sigma_max(Wh) = {s:g}" + (" (< 1)" if s < 1 else ""))
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_yscale("log")
    ax.set_title("(c) vanilla RNN: vanishing (sigma_max < 1) and exploding (> 1)", fontsize=10)
    ax.set_xlabel("distance back in time k (steps)")
    ax.set_ylabel("||dL/dh(T-k)|| / ||dL/dh(T)||")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="major", alpha=0.3)


def _colormap():
    from matplotlib import colormaps

    return colormaps["coolwarm"]


def _clipping_panel(ax, clipping: dict) -> None:
    runs = clipping["runs"]
    colours = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e"]
    norm_ax = ax.twinx()
    for colour, (label, run) in zip(colours, runs.items()):
        loss = np.array([np.nan if v is None else v for v in run["loss"]], dtype=float)
        norms = np.array([np.nan if v is None else v for v in run["grad_norm"]], dtype=float)
        steps = np.arange(1, loss.size + 1)
        ax.plot(steps, loss, color=colour, label=f"{label}: loss")
        norm_ax.plot(steps, norms, color=colour, alpha=0.35, linewidth=0.8, label=f"{label}: gradient norm")
        if np.isnan(loss).any():
            end = int(np.argmax(np.isnan(loss)))
            ax.annotate("diverged", (end, loss[end - 1] if end else 0), color=colour, fontsize=8)
    norm_ax.set_yscale("log")
    norm_ax.set_ylabel("gradient norm before clipping (thin)", fontsize=8)
    ax.set_title(f"(d) gradient clipping: vanilla RNN, SGD lr {clipping['lr']:g}", fontsize=10)
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (bits per character)")
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(True, alpha=0.3)


def draw_gradflow(result: dict, path):
    """Write the four-panel figure of a ``gradflow`` result to ``path`` (PNG or SVG by suffix)."""
    cfg = result["config"]
    fig = new_figure(figsize=(12.5, 9))
    axes = fig.subplots(2, 2)
    fig.suptitle(f"Gradient flow back in time: loss at the last of T = {cfg['steps_back']} characters of "
                 f"{cfg['data']}, H = {cfg['hidden']}, median over {cfg['windows']} windows "
                 f"(band: 10th-90th percentile)", fontsize=11)
    _flow_panel(axes[0, 0], result["untrained"], "(a) untrained (the initialisation)")
    _flow_panel(axes[0, 1], result["trained"], f"(b) trained ({result['trained_how']})")
    _sigma_panel(axes[1, 0], result["sigma_sweep"])
    _clipping_panel(axes[1, 1], result["clipping"])
    # Fixed margins: tight_layout measures every tick label of the log axes, seconds on 2 cores.
    fig.subplots_adjust(left=0.07, right=0.93, bottom=0.07, top=0.91, wspace=0.3, hspace=0.28)
    return save(fig, path)
