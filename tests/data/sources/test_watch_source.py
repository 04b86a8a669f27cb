"""The smartwatch reader on a tiny fake seglearn wheel, including one whose pickle runs code."""

import io

import numpy as np
import pytest
from sourcefakes import Evil, write_zip

from rnnkit.data.sources.watch import MEMBER, load_watch
from rnnkit.errors import UsageError

WHEEL = "seglearn-1.2.5-py3-none-any.whl"


def npy_of(record) -> bytes:
    """The record as seglearn saved it: np.save of a 0-d object array holding a dict."""
    holder = np.empty((), dtype=object)
    holder[()] = record
    stream = io.BytesIO()
    np.save(stream, holder, allow_pickle=True)
    return stream.getvalue()


def fake_record():
    rng = np.random.default_rng(0)
    return {"X": [rng.normal(size=(n, 6)) for n in (5, 3, 7)],
            "y_labels": ["PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"],
            "y": np.array([2, 0, 6]), "subject": np.array([1, 1, 4]),
            "side": np.array([1.0, 0.0, 1.0]),
            "X_labels": ["ax", "ay", "az", "wx", "wy", "wz"]}


def test_reads_the_fake_wheel_into_plain_arrays(tmp_path):
    record = fake_record()
    write_zip(tmp_path / WHEEL, {MEMBER: npy_of(record)})
    data = load_watch(tmp_path)
    assert len(data) == 3 and data.steps.shape == (15, 6) and data.steps.dtype == np.float64
    assert data.offsets.tolist() == [0, 5, 8, 15] and data.lengths().tolist() == [5, 3, 7]
    for r, recording in enumerate(record["X"]):
        assert np.array_equal(data.recording(r), recording)
    assert data.labels.tolist() == [2, 0, 6] and data.subjects.tolist() == [1, 1, 4]
    assert data.sides.tolist() == [1, 0, 1] and data.sides.dtype == np.int64
    assert data.step_labels().tolist() == [2] * 5 + [0] * 3 + [6] * 7
    assert data.class_names[6] == "ROW"
    assert data.channel_names == ("ax", "ay", "az", "wx", "wy", "wz")
    with np.load(data.cache, allow_pickle=False) as cached:   # the cache needs no pickle
        assert cached["steps"].shape == (15, 6)
    assert np.array_equal(load_watch(tmp_path).steps, data.steps)


def test_refuses_a_pickle_that_runs_code(tmp_path):
    marker = tmp_path / "ran"
    record = fake_record()
    record["X"][1] = Evil(f"touch {marker}")
    write_zip(tmp_path / WHEEL, {MEMBER: npy_of(record)})
    with pytest.raises(UsageError, match="refusing to unpickle the global posix.system"):
        load_watch(tmp_path)
    assert not marker.exists()


def test_rejects_inconsistent_records(tmp_path):
    record = fake_record()
    record["y"] = np.array([2, 0])
    write_zip(tmp_path / "a.whl", {MEMBER: npy_of(record)})
    with pytest.raises(UsageError, match="different numbers"):
        load_watch(tmp_path, wheel=tmp_path / "a.whl")
    write_zip(tmp_path / "b.whl", {MEMBER: npy_of([1, 2])})
    with pytest.raises(UsageError, match="does not hold a dict"):
        load_watch(tmp_path, wheel=tmp_path / "b.whl")


def test_missing_wheel_names_the_pip_command(tmp_path):
    with pytest.raises(UsageError, match="pip download --no-deps seglearn==1.2.5 -d"):
        load_watch(tmp_path)
