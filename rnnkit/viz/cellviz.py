"""Interpretable cells (Karpathy, Johnson and Fei-Fei 2015, "Visualizing and Understanding Recurrent
Networks"): run a character model over a text, colour every character by one cell's activation,
and find candidate cells by correlating every cell with simple features of the text.

Dimensions: T characters, U units (cells) of the probed layer, K features.

A unit's activation at character t is its value right after the model read that character (the
probes of rnnkit/inference/probes.py). Features, also as they stand after character t:

    in_quotes      inside a string literal: '...', "...", or a triple-quoted one across lines
    in_parens      inside ( ), [ ] or { }, at any depth;   paren_depth   how deep
    line_position  the column: 0 right after a newline
    indent         the indentation of the current line, in spaces (for code)
    in_comment     from a # to the end of the line (for Python code)

Pearson's r between a unit's T activations and a feature's T values ranks the units; features that
never vary in the text are left out. The page is self-contained HTML (inline CSS, no script).
"""

from __future__ import annotations

import html

import numpy as np

from rnnkit.inference.probes import GATE_PROBES, charlm_probes

OPEN, CLOSE = "([{", ")]}"
FEATURES = ("in_quotes", "in_parens", "paren_depth", "line_position", "indent", "in_comment")


def _token(text: str, i: int, quote: str | None, comment: bool) -> tuple[int, str | None, bool, int]:
    """What the characters from ``i`` do: (how many, the open string's delimiter after them, whether
    a comment is open after them, the change of bracket depth)."""
    ch = text[i]
    if quote is not None:
        if ch == "\\":
            return 2, quote, comment, 0  # an escaped character never closes the string
        if text.startswith(quote, i):
            return len(quote), None, comment, 0
        return 1, quote, comment, 0
    if comment:
        return 1, None, True, 0
    if text.startswith(("'''", '"""'), i):
        return 3, text[i:i + 3], False, 0
    if ch in "'\"":
        return 1, ch, False, 0
    return 1, None, ch == "#", (ch in OPEN) - (ch in CLOSE)


def text_features(text: str) -> dict[str, np.ndarray]:
    """Every feature of the module docstring for each character: {name: (T,) float64}."""
    T = len(text)
    out = {name: np.zeros(T) for name in FEATURES}
    quote, comment = None, False
    depth = column = indent = 0
    at_indent = True
    i = 0
    while i < T:
        width, new_quote, comment, step = _token(text, i, quote, comment)
        depth = max(0, depth + step)
        inside = quote is not None or new_quote is not None  # a quote reads as inside its string
        quote = new_quote
        for j in range(i, min(T, i + width)):
            if text[j] == "\n":
                column, indent, at_indent, comment = 0, 0, True, False
                if quote is not None and len(quote) == 1:
                    quote = None  # an unclosed one-line string ends with its line
            else:
                column += 1
                at_indent = at_indent and text[j] == " "
                indent += at_indent
            out["in_quotes"][j] = inside
            out["in_parens"][j] = depth > 0
            out["paren_depth"][j] = depth
            out["line_position"][j] = column
            out["indent"][j] = indent
            out["in_comment"][j] = comment
        i += width
    return out


def activations(model, ids: np.ndarray, chunk: int = 2000) -> list[dict[str, np.ndarray]]:
    """Every probe of every layer over one long text, read ``chunk`` characters at a time with the
    state carried: per layer {probe: (T, U)}."""
    state, parts = None, []
    for start in range(0, ids.size, chunk):
        _, state, layers = charlm_probes(model, ids[None, start:start + chunk], state)
        parts.append(layers)
    return [{name: np.concatenate([p[layer][name][:, 0] for p in parts]) for name in parts[0][layer]}
            for layer in range(len(parts[0]))]


def display_values(probe: str, values: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Activations on the colour scale [-1, 1]: gates (0..1) stretched; the cell state c, which
    has no fixed range, through tanh (as h sees it) or, given the unit's values over a whole text
    (``reference``), from its 1st percentile (-1) to its 99th (+1); the rest (tanh range) as they are."""
    if probe in GATE_PROBES:
        return 2.0 * values - 1.0
    if probe == "c" and reference is not None:
        lo, hi = np.percentile(reference, [1, 99])
        return np.clip(2.0 * (values - lo) / max(hi - lo, 1e-12) - 1.0, -1.0, 1.0)
    if probe == "c":
        return np.tanh(values)
    return np.clip(values, -1.0, 1.0)


def correlations(acts: np.ndarray, features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pearson's r of every unit with every feature that varies: {feature: (U,)}."""
    a = acts - acts.mean(axis=0)
    a_norm = np.linalg.norm(a, axis=0)
    out = {}
    for name, f in features.items():
        f = f - f.mean()
        f_norm = np.linalg.norm(f)
        if f_norm == 0:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (f @ a) / (a_norm * f_norm)
        out[name] = np.nan_to_num(r)
    return out


def candidates(layers: list[dict], probe: str, features: dict[str, np.ndarray], top: int = 3) -> list[dict]:
    """The units of ``probe`` (every layer) that correlate best with each feature, by |r|:
    ``[{"feature", "layer", "probe", "cell", "r"}]``, best first within each feature."""
    found = []
    for layer, probes in enumerate(layers):
        for feature, r in correlations(probes[probe], features).items():
            for unit in np.argsort(-np.abs(r))[:top]:
                found.append({"feature": feature, "layer": layer, "probe": probe, "cell": int(unit),
                              "r": float(r[unit])})
    found.sort(key=lambda c: (FEATURES.index(c["feature"]), -abs(c["r"])))
    best = []
    for feature in FEATURES:
        best += [c for c in found if c["feature"] == feature][:top]
    return best


# -- the page ---------------------------------------------------------------------------------

LEVELS = 21


def level_colours(levels: int = LEVELS) -> list[str]:
    """CSS colours from blue (-1) through white (0) to red (+1)."""
    colours = []
    for k in range(levels):
        v = 2.0 * k / (levels - 1) - 1.0
        if v < 0:
            r, g, b = 1 + v * 0.75, 1 + v * 0.55, 1.0
        else:
            r, g, b = 1.0, 1 - v * 0.65, 1 - v * 0.75
        colours.append(f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}")
    return colours


def coloured_html(text: str, values: np.ndarray, levels: int = LEVELS) -> str:
    """``text`` as spans whose background is ``values`` (T,) in [-1, 1]; runs of one level share a span."""
    bins = np.clip(np.rint((values + 1.0) / 2.0 * (levels - 1)), 0, levels - 1).astype(int)
    out, start = [], 0
    for t in range(1, len(text) + 1):
        if t == len(text) or bins[t] != bins[start]:
            out.append(f'<span class="v{bins[start]}">{html.escape(text[start:t])}</span>')
            start = t
    return "".join(out)


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
pre {{ font-family: "DejaVu Sans Mono", monospace; font-size: 13px; line-height: 1.35; white-space: pre-wrap;
      border: 1px solid #ddd; padding: 0.6em; max-width: 110ch; }}
h2 {{ font-size: 1.05em; margin-top: 2em; }}
.legend span {{ display: inline-block; width: 1.4em; height: 1em; }}
{styles}
</style></head><body>
<h1>{title}</h1>
<p>{intro}</p>
<p class="legend">-1 {legend} +1</p>
{sections}
</body></html>
"""


def render_page(title: str, intro: str, text: str, sections: list[tuple[str, np.ndarray]]) -> str:
    """A self-contained HTML page: for each (heading, values (T,) in [-1, 1]) the text coloured."""
    colours = level_colours()
    styles = "\n".join(f".v{k} {{ background: {c}; }}" for k, c in enumerate(colours))
    legend = "".join(f'<span class="v{k}"></span>' for k in range(len(colours)))
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n<pre>{coloured_html(text, v)}</pre>" for h, v in sections)
    return PAGE.format(title=html.escape(title), intro=html.escape(intro), styles=styles, legend=legend,
                       sections=body)
