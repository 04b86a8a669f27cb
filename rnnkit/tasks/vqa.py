"""Visual question answering: answer a question about an image (easy-VQA).

Data (rnnkit/data/sources/easy_vqa.py): ``easy-vqa``, 4,000 training and 1,000 test images of
64x64 RGB, 38,575 / 9,673 questions, 13 answers; or the package's wheel given as a path. Validation is held out by image, so that no validation picture is seen in training:
the training images whose id is a multiple of :data:`VAL_EVERY` (400 images, 0, 10, 20, ...) and
all their questions (about 3,900) form ``val``; the other 3,600 images and their questions form
``train``. ``test`` is the data set's own test split.
Words (rnnkit/data/words.py): lower-cased word tokens, vocabulary from the ``train`` questions
with ``<pad>`` and ``<unk>``.
Batches: (images (N, 64, 64, 3) float32 in [0, 1], ids (N, T), mask (N, T), answers (N,)), one
question a row with its image; the questions reshuffled every epoch by (seed, epoch), so a resumed
run reads the same batches. Model: rnnkit/models/vqa. Metric: validation accuracy.

Accuracy is reported overall and per question type (:func:`rnnkit.data.sources.question_type`:
``yesno``, ``color``, ``shape``), under those names.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rnnkit.config import TrainConfig
from rnnkit.data.padding import pad_batch
from rnnkit.data.sources.easy_vqa import QUESTION_TYPES, EasyVQA, VQASplit, find_easy_vqa, load_easy_vqa
from rnnkit.data.words import TokenVocab
from rnnkit.errors import UsageError
from rnnkit.runtime import torch_available
from rnnkit.tasks import Source
from rnnkit.tasks.batched import BatchedTask
from rnnkit.tasks.vqa_reader import VQAReader

#: Training images with ``id % VAL_EVERY == 0`` are the validation split.
VAL_EVERY = 10
EVAL_BATCH = 256
SPLITS = ("train", "val", "test")


def split_by_image(split: VQASplit, every: int = VAL_EVERY) -> tuple[VQASplit, VQASplit]:
    """(train, val) parts of easy-VQA's training split: images with ``id % every == 0`` and their
    questions are ``val``, the rest ``train``. Each part keeps only its own images (re-indexed)."""
    n_images = split.images.shape[0]
    held = np.arange(n_images) % every == 0

    def part(keep_images: np.ndarray) -> VQASplit:
        rows = np.flatnonzero(keep_images[split.image_index])
        new_index = np.cumsum(keep_images) - 1              # old image id -> row in the part
        return VQASplit(split.images[keep_images], tuple(split.questions[i] for i in rows),
                        split.answers[rows], new_index[split.image_index[rows]])

    return part(~held), part(held)


class QuestionBatcher:
    """Batches of question indices, a fresh permutation every epoch drawn from (seed, epoch); only
    full batches. The state is (epoch, position): enough to resume exactly."""

    def __init__(self, count: int, batch: int, seed: int):
        if count < batch:
            raise UsageError(f"the training split holds {count} questions, fewer than one batch of {batch}; "
                             "lower --batch")
        self.count, self.batch, self.seed = count, batch, seed
        self.epoch, self.position = 0, 0
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.count)

    def next_indices(self) -> np.ndarray:
        if self.position + self.batch > self.count:
            self.epoch, self.position = self.epoch + 1, 0
            self._order = self._permutation()
        rows = self._order[self.position:self.position + self.batch]
        self.position += self.batch
        return rows

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        try:
            epoch, position = state["epoch"], state["position"]
        except (KeyError, TypeError):
            raise UsageError("the data position is damaged: it needs epoch and position") from None
        for name, value in (("epoch", epoch), ("position", position)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"the data position's {name} must be a non-negative integer, got {value!r}")
        if position > self.count:
            raise UsageError(f"the data position {position} lies beyond the {self.count} training questions")
        self.epoch, self.position = epoch, position
        self._order = self._permutation()


def load_vqa_data(data: str) -> EasyVQA:
    """``easy-vqa`` (the installed package or its wheel), or a path to the package's wheel (or, from
    Python, its ``data`` folder)."""
    if data == "easy-vqa":
        return load_easy_vqa()
    return load_easy_vqa(source=data)


class VQATask(BatchedTask):
    name = "vqa"
    summary = "visual question answering: easy-VQA, a question about a 64x64 image (accuracy)"
    model_kind = "vqa"
    metric = "accuracy"
    lower_is_better = False
    loss_label = "loss"
    rate_unit = "questions/s"
    carries_state = False
    #: docs/vqa.md: what a short run showed with these, and the command of the 30-minute run.
    #: The torch engine where it is installed: it trains the convolutions through PyTorch's kernels.
    flags = ("hops",)
    TRAIN_DEFAULTS = {"data": "easy-vqa", "steps": 6000, "batch": 64, "lr": 2e-3, "eval_every": 500,
                      "engine": "torch" if torch_available() else "numpy"}
    MODEL_DEFAULTS = {}

    def __init__(self, cfg: TrainConfig, vocab: TokenVocab | None = None, data: EasyVQA | None = None):
        self.cfg = cfg
        self.data = data if data is not None else load_vqa_data(cfg.data)
        train, val = split_by_image(self.data["train"])
        self.splits = {"train": train, "val": val, "test": self.data["test"]}
        vocab = vocab or TokenVocab.build(train.questions, "word")
        images = train.images
        self.reader = VQAReader(vocab, tuple(self.data.answers), images.shape[1], images.shape[2], images.shape[3])
        self.vocab = vocab
        self.output_size = len(self.data.answers)
        self._encoded, self._types = {}, {}
        self.batcher = QuestionBatcher(len(train), cfg.batch, cfg.seed)

    @classmethod
    def sources(cls) -> list[Source]:
        return [Source("easy-vqa", "easy-VQA: 4,000 / 1,000 images 64x64, 38,575 / 9,673 questions, 13 answers",
                       find_easy_vqa() is not None, "pip install easy-vqa==1.0"),
                Source("PATH", "easy-VQA's wheel (easy_vqa-1.0-*.whl) at another place", True, "")]

    @classmethod
    def from_flags(cls, cfg: TrainConfig, args) -> "VQATask":
        return cls(cfg)

    @classmethod
    def from_checkpoint(cls, cfg: TrainConfig, checkpoint, data=None) -> "VQATask":
        """The task of a trained run with its saved vocabulary (``data``: another place of the data)."""
        reader = VQAReader.from_checkpoint(checkpoint)
        task = cls(replace(cfg, data=data) if data is not None else cfg, vocab=reader.vocab)
        if tuple(task.data.answers) != reader.answers:
            raise UsageError(f"the data's answers differ from the ones {checkpoint.path} was trained on")
        return task

    def encoded(self, split: str):
        """(ids (n, T), mask (n, T)) of every question of ``split``, padded together."""
        if split not in self._encoded:
            ids, mask, _ = pad_batch(self.vocab.encode_all(self.splits[split].questions))
            self._encoded[split] = ids, mask
        return self._encoded[split]

    def question_types(self, split: str) -> np.ndarray:
        if split not in self._types:
            self._types[split] = self.splits[split].question_types()
        return self._types[split]

    def batch_of(self, split: str, rows: np.ndarray) -> tuple:
        """(images, ids, mask, answers) of questions ``rows`` of ``split``, padded to the longest."""
        part = self.splits[split]
        ids, mask = self.encoded(split)
        ids, mask = ids[rows], mask[rows]
        width = max(1, int(mask.sum(axis=1).max()))
        images = part.images[part.image_index[rows]].astype(np.float32) / 255.0
        return images, ids[:, :width], mask[:, :width], part.answers[rows]

    def describe(self) -> str:
        sizes = ", ".join(f"{s} {len(self.splits[s]):,} questions on {self.splits[s].images.shape[0]:,} images"
                          for s in SPLITS)
        return f"easy-VQA ({self.data.origin}): {sizes}; vocabulary {len(self.vocab)} words, " \
               f"{len(self.data.answers)} answers"

    def spec_fields(self) -> dict:
        r = self.reader
        return {"vocab_size": len(self.vocab), "answers": len(r.answers), "image_height": r.height,
                "image_width": r.width, "image_channels": r.channels}

    def next_batch(self):
        return self.batch_of("train", self.batcher.next_indices()), False

    def batch_tokens(self, batch) -> int:
        return int(batch[3].shape[0])

    def evaluate(self, runtime, split: str = "val", limit: int | None = None) -> dict:
        """Accuracy overall and per question type, and the mean cross-entropy (nats), on ``split``."""
        if split not in SPLITS:
            raise UsageError(f"unknown split {split!r}: choose train, val or test")
        types = self.question_types(split)
        count = len(types) if limit is None else min(limit, len(types))
        totals = {"nats": 0.0, "correct": 0, "count": 0}
        per_type = {}
        for kind in QUESTION_TYPES:
            rows = np.flatnonzero(types[:count] == kind)
            correct = 0
            for start in range(0, len(rows), EVAL_BATCH):
                stats, _ = runtime.evaluate(self.batch_of(split, rows[start:start + EVAL_BATCH]), None)
                for key in totals:
                    totals[key] += stats[key]
                correct += stats["correct"]
            if len(rows):
                per_type[kind] = correct / len(rows)
        if not totals["count"]:
            return {}
        return {"accuracy": totals["correct"] / totals["count"], "loss": totals["nats"] / totals["count"],
                **per_type}

    def meta(self) -> dict:
        return {"name": self.name, "data": self.cfg.data, "answers": list(self.data.answers),
                "val_every": VAL_EVERY}

    def tokenizers(self) -> dict:
        return {"tokens": self.vocab.to_json()}
