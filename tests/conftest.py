"""Shared pytest setup: make the checkout importable without installing it.

``pytest`` run from any folder imports ``rnnkit`` from this checkout, not from an older installed
copy, so the tests always exercise the code next to them.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
