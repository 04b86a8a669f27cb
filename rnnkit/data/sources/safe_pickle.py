"""A restricted unpickler for the data sets that ship as pickles: NumPy arrays and plain containers.

MNIST (``mnist.pkl.gz``) and the seglearn smartwatch recordings (``watch_dataset.npy``, an object
array) are pickles, and unpickling runs whatever callable the stream names. :class:`SafeUnpickler`
overrides ``find_class``, the one place the pickle machinery turns a name into a callable, so a
stream can reach only the globals in :data:`ALLOWED`; any other name raises
:class:`~rnnkit.errors.UsageError` naming it, before anything is called. Everything else a pickle
can build (numbers, strings, bytes, lists, tuples, dicts) needs no global at all.

The allowed names are exactly those that NumPy's own pickles refer to (checked with
``pickletools`` on NumPy 1.x and 2.x pickles of protocols 2 to 5):

- arrays: ``numpy.core.multiarray._reconstruct`` (NumPy 1.x; ``numpy._core.multiarray`` in 2.x),
  ``numpy.ndarray`` and ``numpy.dtype``; protocol 5 uses ``numpy._core.numeric._frombuffer``;
- NumPy scalars: ``numpy._core.multiarray.scalar`` (``numpy.core...`` in 1.x);
- protocol 2 written by Python 3 encodes bytes as ``_codecs.encode(text, "latin1")``;
- containers without an opcode of their own: ``set``, ``frozenset``, ``bytearray``, ``complex``
  (``builtins`` in Python 3 pickles, ``__builtin__`` in protocol 0-2 ones).

Names resolve to this process's NumPy objects (never by importing the module the stream names), so
an old ``numpy.core`` pickle loads on NumPy 2 without the deprecated alias. Object arrays inside an
array's state are unpickled by the same unpickler, so they obey the same rule.
"""

from __future__ import annotations

import _codecs
import io
import pickle
from pathlib import Path

import numpy as np

from rnnkit.errors import UsageError

try:    # NumPy >= 2 moved the core modules; their 1.x names remain in old pickles
    from numpy._core import multiarray as _multiarray, numeric as _numeric
except ImportError:   # pragma: no cover - NumPy 1.x
    from numpy.core import multiarray as _multiarray, numeric as _numeric

_CORE = {"_reconstruct": _multiarray._reconstruct, "scalar": _multiarray.scalar}
_BUILTINS = {"set": set, "frozenset": frozenset, "bytearray": bytearray, "complex": complex}

ALLOWED: dict[tuple[str, str], object] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _codecs.encode,
    **{(module, name): obj for module in ("numpy.core.multiarray", "numpy._core.multiarray")
       for name, obj in _CORE.items()},
    **{(module, "_frombuffer"): _numeric._frombuffer
       for module in ("numpy.core.numeric", "numpy._core.numeric")},
    **{(module, name): obj for module in ("builtins", "__builtin__")
       for name, obj in _BUILTINS.items()},
}
"""(module, name) -> the object it stands for: every global a pickle may name."""


class SafeUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that resolves only the globals in :data:`ALLOWED`."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise UsageError(f"refusing to unpickle the global {module}.{name}: only NumPy arrays, "
                             "dtypes and plain containers are allowed") from None


def safe_loads(data: bytes, *, encoding: str = "latin1") -> object:
    """Unpickle ``data`` with :class:`SafeUnpickler`.

    ``encoding="latin1"`` is what NumPy needs for pickles written by Python 2 (such as
    ``mnist.pkl.gz``), whose array buffers arrive as 8-bit ``str``; it changes nothing for Python 3
    pickles. A damaged stream raises UsageError, as a refused global does.
    """
    try:
        return SafeUnpickler(io.BytesIO(data), encoding=encoding).load()
    except UsageError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as error:
        raise UsageError(f"not a readable pickle: {error}") from None


def safe_load_npy(data: bytes | str | Path) -> np.ndarray:
    """An ``.npy`` file (its bytes or its path) as an array; object arrays go through
    :func:`safe_loads`, every other dtype through ``np.load(allow_pickle=False)``.

    Returns:
        the array as stored; an object array saved from a dict has shape () and ``.item()`` is the
        dict.
    """
    if not isinstance(data, bytes):
        data = Path(data).read_bytes()
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise UsageError(f"unsupported .npy format version {version[0]}.{version[1]}")
    except ValueError as error:
        raise UsageError(f"not an .npy file: {error}") from None
    if not dtype.hasobject:
        return np.load(io.BytesIO(data), allow_pickle=False)
    array = safe_loads(data[stream.tell():])
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise UsageError(f"the .npy pickle holds {type(array).__name__}, not an array of shape "
                         f"{tuple(shape)}")
    return array
