"""Seeing inside: gradient flow over time, interpretable cells, training curves, the playground.

    gradflow.py          ||dL/dh_t|| against the distance back in time, from the NumPy engine's
                         own backward (NumPy only); gradflow_figure.py draws it
    cellviz.py           text features, cell-feature correlations, the coloured-text HTML page;
                         cellviz_figure.py the PNG
    curves.py            training curves from metrics.jsonl
    serving.py           the playground's models and limits (no HTTP); server.py the Starlette
                         application and static/ its page; browser.py drives it in Chromium
    figures.py           matplotlib figures without pyplot, small PNGs
    sources.py           the text and the character models the commands read

The measurements need NumPy alone; the figures need matplotlib and the playground Starlette and
uvicorn (``pip install 'rnnkit[viz]'``). :func:`require` says so in one line when one is missing.
"""

from __future__ import annotations

import importlib

from rnnkit.errors import UsageError

#: The extra that installs what this package's figures and server import.
EXTRA = "pip install 'rnnkit[viz]'"


def require(*modules: str) -> None:
    """Import ``modules`` or raise a UsageError naming the install command."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise UsageError(f"this command needs {name.split('.')[0]}: {EXTRA}") from None
