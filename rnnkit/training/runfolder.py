"""The run folder (``--out``) of a training run: one run at a time, no stale temporaries.

    RUN/run.lock          held (fcntl.flock) for the life of the run; says which process holds it
    RUN/config.json       the configuration (written by the trainer)
    RUN/metrics.jsonl     one line per evaluation
    RUN/checkpoint.npz    everything an exact resume needs; RUN/best.npz the best parameters

:func:`open_run_folder` is called by ``rnnkit train`` before anything else is read or written:

- the path must be a folder or creatable as one (not a file, not under a file);
- the folder is locked: a second run into it ends at once with exit code 2, naming the process
  that holds it (pid, host, start time), before it has changed anything. The kernel releases the
  lock when its holder ends, however it ends (kill -9 included), so a lock is never stale; the
  file stays behind, harmless;
- temporaries that a killed write left behind (``checkpoint.npz.<random>.tmp``, ...) are removed.
  Every file of a run is written to such a temporary and renamed over its final name, so a kill
  leaves the old file or the new one, never half of one, and at worst one temporary.

Every task trains through this folder (and the trainer of rnnkit/training/loop.py), so all of them
have these guarantees.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from rnnkit.errors import UsageError

try:
    import fcntl
except ImportError:  # not POSIX: no locking
    fcntl = None

LOCK = "run.lock"
#: Files the trainer writes through a temporary ``<name>.<random>.tmp`` (checkpoint.py, runfiles.py).
WRITTEN = ("checkpoint.npz", "best.npz", "config.json", "metrics.jsonl")


class RunFolder:
    """A locked run folder; :meth:`close` (or the end of the process) releases the lock."""

    def __init__(self, path: Path, fd: int | None, removed: list[str]):
        self.path = path
        self._fd = fd
        self.removed = removed  # stale temporaries removed when it was opened

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the flock
            self._fd = None

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_folder_path(path, create: bool = True) -> Path:
    """``path`` as a folder, created if missing (unless ``create`` is False); UsageError if it is
    a file, lies under a file or cannot be created."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is a file, not a folder; give --out a folder for the run")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"--out {path} lies under {parent}, which is a file, not a folder")
    if not create:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the run folder {path}: {exc.strerror or exc}") from None
    return path


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode("utf-8"))
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["started"])))
        return f"pid {int(info['pid'])} on {info['host']}, since {since}"
    except (OSError, ValueError, KeyError, TypeError, OverflowError):
        return "another process"


def lock_folder(path: Path) -> int | None:
    """Lock ``path/run.lock`` for this process; UsageError naming the holder when another has it.
    Returns the lock file's descriptor (None where locking is not available)."""
    if fcntl is None:
        return None
    lock = path / LOCK
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)  # the umask applies
    except OSError as exc:
        raise UsageError(f"cannot create the lock file {lock}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise UsageError(f"{path} is in use by another run ({holder}); wait for it to end, "
                         "or choose another --out") from None
    except OSError:  # a file system without flock (some network mounts): run unlocked
        return fd
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
    except OSError:
        pass  # the lock holds without the note
    return fd


def remove_stale_temporaries(path: Path) -> list[str]:
    """Remove the temporaries of interrupted writes (only names the trainer writes); returns them."""
    removed = []
    for name in WRITTEN:
        for temp in path.glob(f"{name}.*.tmp"):
            try:
                temp.unlink()
                removed.append(temp.name)
            except OSError:
                pass
    return sorted(removed)


def open_run_folder(path) -> RunFolder:
    """Check, create, lock and clean the run folder ``path`` (see the module docstring)."""
    folder = check_folder_path(path)
    fd = lock_folder(folder)
    return RunFolder(folder, fd, remove_stale_temporaries(folder))
