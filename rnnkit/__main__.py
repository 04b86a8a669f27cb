"""``python -m rnnkit`` is the ``rnnkit`` command."""

import sys

from rnnkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
