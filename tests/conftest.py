"""Shared pytest setup: make the checkout importable without installing it.

``pytest`` run from any folder imports ``rnnkit`` from this checkout, not from an older installed
copy, so the tests always exercise the code next to them. The helpers the test folders share
(``gradutil``, ``stack_grads``) live in this folder and import by their names from any of them.
"""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
for path in (ROOT, TESTS):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
