"""Small files of a run folder (config.json, a rewritten metrics.jsonl), written atomically, and
the permissions every file of a run gets."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def file_mode() -> int:
    """The mode a new file gets under this process's umask (0o644 under the usual 022).

    ``tempfile.mkstemp`` creates files 0600 whatever the umask; a run's files are renamed from
    such temporaries, so they are given this mode first, as ``open()`` would have."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def temporary_beside(path: Path) -> tuple[int, str]:
    """(fd, name) of a new temporary ``<name>.<random>.tmp`` next to ``path``, with the mode of
    :func:`file_mode`. rnnkit/training/runfolder.py removes such files left by a kill."""
    fd, temp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
    except OSError:
        pass
    return fd, temp


def write_json_atomic(path, value, lines: bool = False) -> None:
    """Write ``value`` as JSON (or, with ``lines``, a list as one JSON object per line) to ``path``
    through a temporary file and a rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(v) + "\n" for v in value) if lines else json.dumps(value, indent=2) + "\n"
    fd, temp = temporary_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
