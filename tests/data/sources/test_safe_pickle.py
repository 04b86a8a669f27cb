"""The restricted unpickler reads NumPy's own pickles and refuses every other global."""

import io
import pickle

import numpy as np
import pytest
from sourcefakes import Evil, global_pickle

from rnnkit.data.sources.safe_pickle import ALLOWED, safe_load_npy, safe_loads
from rnnkit.errors import UsageError

ARRAYS = [
    np.arange(12, dtype=np.float32).reshape(3, 4) / 256,
    np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
    np.arange(10)[::3],
    np.array(["ab", "c"]),
    np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]),
    np.array([np.ones(3), "text", None, {"k": (1, 2)}], dtype=object),
]


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("index", range(len(ARRAYS)))
def test_reads_numpy_arrays(protocol, index):
    array = ARRAYS[index]
    back = safe_loads(pickle.dumps(array, protocol=protocol))
    assert back.dtype == array.dtype and back.shape == array.shape
    if array.dtype == object:
        assert np.array_equal(back[0], array[0]) and list(back[1:]) == list(array[1:])
    else:
        assert np.array_equal(back, array)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_reads_scalars_dtypes_and_containers(protocol):
    value = {"x": [np.float64(1.5), np.int64(3), np.bool_(True)], "dtype": np.dtype(">f4"),
             "set": {1, 2}, "frozen": frozenset("a"), "bytes": b"\x00\xff", "ba": bytearray(b"y"),
             "complex": 1 + 2j, "nested": ({"a": np.zeros((2, 2))},)}
    back = safe_loads(pickle.dumps(value, protocol=protocol))
    assert back["x"] == value["x"] and back["dtype"] == value["dtype"]
    assert back["set"] == {1, 2} and back["frozen"] == frozenset("a")
    assert back["bytes"] == b"\x00\xff" and back["ba"] == bytearray(b"y")
    assert back["complex"] == 1 + 2j
    assert np.array_equal(back["nested"][0]["a"], np.zeros((2, 2)))


def test_reads_numpy_1x_names():
    """Pickles written by NumPy 1.x name ``numpy.core.multiarray``; NumPy 2 moved it."""
    data = pickle.dumps(ARRAYS[0], protocol=2).replace(b"numpy._core.", b"numpy.core.")
    assert b"cnumpy.core.multiarray\n_reconstruct" in data
    assert np.array_equal(safe_loads(data), ARRAYS[0])


def test_allowed_names_are_numpy_codecs_and_containers_only():
    modules = {module for module, _ in ALLOWED}
    assert modules <= {"numpy", "numpy.core.multiarray", "numpy._core.multiarray",
                       "numpy.core.numeric", "numpy._core.numeric", "_codecs", "builtins",
                       "__builtin__"}
    assert {name for module, name in ALLOWED if module in ("builtins", "__builtin__")} == {
        "set", "frozenset", "bytearray", "complex"}


@pytest.mark.parametrize("module, name", [
    ("os", "system"), ("posix", "system"), ("nt", "system"), ("builtins", "eval"),
    ("builtins", "exec"), ("__builtin__", "eval"), ("builtins", "__import__"),
    ("builtins", "getattr"), ("builtins", "open"), ("subprocess", "Popen"),
    ("subprocess", "check_output"), ("shutil", "rmtree"), ("numpy", "load"),
    ("numpy.testing._private.utils", "runstring"), ("pickle", "loads"), ("_codecs", "decode"),
])
def test_refuses_other_globals(module, name):
    with pytest.raises(UsageError, match=f"refusing to unpickle the global {module}.{name}"):
        safe_loads(global_pickle(module, name))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_refuses_before_running_anything(tmp_path, protocol):
    marker = tmp_path / "ran"
    data = pickle.dumps([np.zeros(2), Evil(f"touch {marker}")], protocol=protocol)
    with pytest.raises(UsageError, match="system"):
        safe_loads(data)
    assert not marker.exists()
    hidden = pickle.dumps(np.array([1, Evil(f"touch {marker}")], dtype=object), protocol=protocol)
    with pytest.raises(UsageError, match="system"):   # inside an object array's state, too
        safe_loads(hidden)
    assert not marker.exists()


def test_damaged_pickle_is_a_usage_error():
    with pytest.raises(UsageError, match="not a readable pickle"):
        safe_loads(pickle.dumps(ARRAYS[0])[:40])


def _npy(array) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=True)
    return stream.getvalue()


def test_npy_plain_and_object_arrays(tmp_path):
    assert np.array_equal(safe_load_npy(_npy(ARRAYS[1])), ARRAYS[1])
    record = np.empty((), dtype=object)
    record[()] = {"X": [np.ones((3, 2))], "y": np.array([4])}
    back = safe_load_npy(_npy(record)).item()
    assert np.array_equal(back["X"][0], np.ones((3, 2))) and back["y"].tolist() == [4]
    path = tmp_path / "a.npy"
    path.write_bytes(_npy(record))
    assert safe_load_npy(path).item()["y"].tolist() == [4]


def test_npy_object_array_with_evil_content_is_refused(tmp_path):
    marker = tmp_path / "ran"
    record = np.empty((), dtype=object)
    record[()] = {"X": Evil(f"touch {marker}")}
    with pytest.raises(UsageError, match="refusing to unpickle the global posix.system"):
        safe_load_npy(_npy(record))
    assert not marker.exists()
    with pytest.raises(UsageError, match="not an .npy file"):
        safe_load_npy(b"not numpy at all")
