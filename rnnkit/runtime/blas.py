"""Per-thread control of the BLAS library's own threads, when NumPy's BLAS allows it.

The NumPy engine runs shards of a batch side by side, in worker processes (processes.py) or
threads (parallel.py). Each calls BLAS; if BLAS also started its own threads for every call, the
machine would run cores x cores threads and slow down badly. OpenBLAS (what NumPy's wheels ship) has
``openblas_set_num_threads_local``, which limits BLAS threading for the calling thread only, so
workers can ask for one BLAS thread each while the rest of the program is left alone.

With another BLAS (MKL, Accelerate) this is a no-op.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=1)
def _openblas():
    """The OpenBLAS library NumPy loaded, or None."""
    folder = os.path.dirname(np.__file__) + ".libs"  # where NumPy's wheels bundle it
    for path in sorted(glob.glob(os.path.join(folder, "lib*openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_set_num_threads_local.argtypes = [ctypes.c_int]
            lib.openblas_set_num_threads_local.restype = ctypes.c_int
            return lib
        except (OSError, AttributeError):
            continue
    return None


def limit_blas_threads_here(n: int = 1) -> bool:
    """Let BLAS calls from the current thread use at most ``n`` threads. True if it took effect."""
    lib = _openblas()
    if lib is None:
        return False
    lib.openblas_set_num_threads_local(int(n))
    return True


@contextlib.contextmanager
def blas_threads_here(n: int):
    """Within the block, BLAS calls from the current thread use at most ``n`` threads; after it,
    the thread's previous setting is restored (``openblas_set_num_threads_local`` returns it)."""
    lib = _openblas()
    previous = None if lib is None else lib.openblas_set_num_threads_local(int(n))
    try:
        yield
    finally:
        if previous is not None:
            lib.openblas_set_num_threads_local(previous)
