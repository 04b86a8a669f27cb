"""Ctrl-C at safe points only: a training step, a checkpoint write and a message exchange with the
worker processes either happen whole or not at all.

Python raises KeyboardInterrupt between any two bytecodes, so a Ctrl-C could land after a batch
was taken but before the step was counted (the checkpoint then skipped a chunk), or after a
worker's answer was read from its pipe but before it was kept (the parent then waited for it
forever). Inside :func:`deferred_interrupts` a Ctrl-C is only recorded; code polls
:func:`interrupt_pending` at its safe points, and a recorded Ctrl-C that nobody took with
:func:`take_interrupt` is raised as KeyboardInterrupt when the outermost block ends, where nothing
is half done. Blocks nest: only the outermost one installs the handler and raises.

A user who presses Ctrl-C three times before the pending one is honoured (a step that does not
end, a worker that hangs) wants out at once: the third press ends the process with exit code 130
without saving. That is what kill -9 does, which every run survives (the last checkpoint stands;
stale temporaries are removed at the next start, rnnkit/training/runfolder.py).

Signals reach only the main thread; elsewhere these blocks change nothing.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

#: Presses of Ctrl-C while one is pending after which the process ends at once.
PRESSES_TO_QUIT = 3

_depth = 0
_pending = 0
_previous = None


def _record(signum, frame) -> None:
    global _pending
    _pending += 1
    if _pending >= PRESSES_TO_QUIT:
        try:
            sys.stderr.write(f"\nrnnkit: interrupted {_pending} times; stopping now without saving "
                             "(the last checkpoint stands)\n")
            sys.stderr.flush()
        finally:
            os._exit(130)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def deferred_interrupts():
    """Record Ctrl-C instead of raising it inside the block; raise it when the outermost block
    ends normally (an exception from the block wins: it is raised, the interrupt is dropped)."""
    global _depth, _pending, _previous
    if not _main_thread():
        yield
        return
    if _depth == 0:
        previous = signal.getsignal(signal.SIGINT)
        if not callable(previous):  # SIGINT ignored (a background job) or default: leave it so
            yield
            return
        _previous, _pending = previous, 0
        signal.signal(signal.SIGINT, _record)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        raise_now = False
        if _depth == 0:
            signal.signal(signal.SIGINT, _previous)
            raise_now, _pending = _pending > 0, 0
    # Reached only when the block ended normally; an exception has already left through finally.
    if raise_now:
        raise KeyboardInterrupt


def interrupt_pending() -> bool:
    """Whether a Ctrl-C has been recorded and not yet taken."""
    return _pending > 0


def take_interrupt() -> bool:
    """Whether a Ctrl-C was pending; it no longer is (the caller handles it)."""
    global _pending
    pending, _pending = _pending > 0, 0
    return pending
