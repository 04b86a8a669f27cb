"""Image captioning (one-to-many): write a sentence about an image, word by word.

Data (rnnkit/data/caption_sets.py, docs/captioning_data.md): ``scenes`` (canvases of real MNIST
digits and Fashion-MNIST clothes, captions generated from what is where; test items from the data
sets' own test images), ``tuxpaint`` (Tux Paint's stamps with their human one-line captions, a
fixed test split) or ``coco:DIR`` (a COCO-format captions JSON with its images, or with
pre-extracted ``.npy`` feature grids). Each split is a CaptionSet: images (n, S, S, C) uint8, or
feature grids (n, h, w, F) float32, and one or more raw reference captions per image. A run on
grids trains a captioner without an encoder (``grid=(h, w, F)`` in its spec); every split it
reads, and every input it captions, is then a grid of that shape.

Words: ``caption_words`` of the data module; the vocabulary (rnnkit/tasks/caption_vocab.py) is
built on the training references, words seen fewer than ``min_count`` times read as ``<unk>``, and
saved in the checkpoint. A caption is at most :data:`MAX_WORDS` words (longer ones are cut).

Batches: one (image, reference) pair a row: (images (N, S, S, C) float32 in [0, 1], or grids
(N, h, w, F) float32 as they are, captions
(N, T+1) ids ``<start> w_1 .. w_n <end>`` right-padded, mask (N, T) True where captions[:, 1:] is
real). The pairs are reshuffled every epoch by (seed, epoch) (rnnkit/data/padding.py's batcher,
only full batches), so a resumed run reads the same batches. ``--augment shift|shift-flip`` moves
(and mirrors) each training picture at random (rnnkit/data/augment.py), seeded by (seed, epoch,
batch), so a resumed run sees the same pictures too. Model: rnnkit/models/captioner.

Metrics (rnnkit/tasks/caption_metrics.py): corpus BLEU-1..4 (sacrebleu, 0-100) of the decoded
captions against all references of each image, written the way the model writes (lower case:
``join_words(caption_words(reference))``), greedy while training (``bleu4`` on the first
:data:`EVAL_IMAGES` validation images decides ``best.npz``), ``--beam K`` in ``rnnkit eval``;
``loss``, the teacher-forced nats per caption of each image's first reference; for scenes
``relations_correct``, the share of captions whose every stated relation holds in the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from rnnkit.config import TrainConfig
from rnnkit.data.augment import MODES as AUGMENT_MODES
from rnnkit.data.augment import augment_images
from rnnkit.data.padding import ClassificationBatcher, pad_batch
from rnnkit.errors import UsageError
from rnnkit.runtime import torch_available
from rnnkit.tasks import Source
from rnnkit.tasks.batched import BatchedTask
from rnnkit.tasks.caption_vocab import END_ID, PAD_ID, START_ID, UNK_ID, CaptionVocab

SPLITS = ("train", "val", "test")
NAMED = ("scenes", "tuxpaint")
MAX_WORDS = 32           # Tux Paint's longest caption is 31 words
EVAL_IMAGES = 500        # validation images decoded at each evaluation while training
EVAL_BATCH = 128
MIN_COUNT = 1
#: GNMT length normalisation of beam search (rnnkit/inference/beam.py); 0 ranks by log P alone.
ALPHA = 0.0
#: Decoding never writes these.
FORBIDDEN = (PAD_ID, START_ID, UNK_ID)
#: The scenes are always drawn with this seed, so every run is tested on the same scenes (and the
#: retrieval baseline of docs/captioning_data.md on them too); --seed seeds weights and batch order.
DATA_SEED = 0


def caption_data():
    """The data module (rnnkit/data/caption_sets.py)."""
    try:
        from rnnkit.data import caption_sets
    except ImportError as exc:
        raise UsageError(f"this rnnkit has no captioning data reader (rnnkit/data/caption_sets.py: {exc})") from None
    return caption_sets


def relations_judge():
    """``relations_correct(caption, facts) -> bool`` of the scenes (rnnkit/data/scenes.py)."""
    try:
        from rnnkit.data.scenes import relations_correct
    except ImportError as exc:
        raise UsageError(f"this rnnkit cannot judge scene captions (rnnkit/data/scenes.py: {exc})") from None
    return relations_correct


def check_data_name(data) -> str:
    if not isinstance(data, str) or not (data in NAMED or (data.startswith("coco:") and len(data) > 5)):
        raise UsageError(f"--task caption reads --data scenes, tuxpaint or coco:DIR, not {data!r}")
    return data


def load_split(data: str, split: str, seed: int = 0, image_size: int | None = None, features: bool | None = None):
    """The CaptionSet of ``split`` with pictures of side ``image_size`` (None: the source's 64), or
    (``coco:DIR``) feature grids: ``features`` True demands grids, False pictures, None takes the
    grids where the folder has them. Checked: images (n, S, S, C) uint8 or grids (n, h, w, F)
    float32 and finite, n >= 1, every image with a reference of a word."""
    caption_set = caption_data().load_caption_data(check_data_name(data), split, seed=seed, image_size=image_size,
                                                   features=features)
    images, refs = caption_set.images, caption_set.references
    grids = bool(getattr(caption_set, "features", False))
    if features is not None and grids != features:
        raise UsageError(f"the model reads {'feature grids' if features else 'pictures'}, but {data} gives "
                         f"{'feature grids' if grids else 'pictures'}")
    if grids and image_size is not None:
        raise UsageError(f"--image-size sizes pictures; {data} gives feature grids, which are read as they are")
    if len(refs) == 0 or images.shape[0] == 0:
        raise UsageError(f"the {split} split of {data} holds no captioned images")
    if images.ndim != 4 or images.dtype != (np.float32 if grids else np.uint8) or images.shape[0] != len(refs):
        raise UsageError(f"the {split} split of {data} is malformed: images {images.dtype} {images.shape} "
                         f"for {len(refs)} images' captions")
    if grids and not np.isfinite(images).all():
        raise UsageError(f"the feature grids of the {split} split of {data} hold NaN or infinite values")
    words = caption_data().caption_words
    empty = [i for i, r in enumerate(refs) if not any(words(text) for text in r)]
    if empty:
        raise UsageError(f"image {empty[0]} of the {split} split of {data} has no caption with a word")
    return caption_set


def as_floats(images: np.ndarray) -> np.ndarray:
    """Pictures (uint8) as float32 in [0, 1]; feature grids (float) as they are, in float32."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    return images.astype(np.float32, copy=False)


class CaptionTask(BatchedTask):
    name = "caption"
    summary = "image captioning: scenes of real digits and clothes, Tux Paint stamps, COCO format (BLEU-4)"
    model_kind = "captioner"
    metric = "bleu4"
    lower_is_better = False
    loss_label = "loss"
    rate_unit = "images/s"
    carries_state = False
    #: docs/captioning.md records what a short run showed with these.
    flags = ("min_count", "image_size", "attention", "augment", "global_feature")
    TRAIN_DEFAULTS = {"data": "scenes", "steps": 6000, "batch": 32, "lr": 2e-3, "eval_every": 500,
                      "engine": "torch" if torch_available() else "numpy"}
    #: The doubly stochastic penalty is summed over the L grid cells (rnnkit/models/captioner/spec.py):
    #: 0.02 is about 1/L for the 8x8 grid of 64x64 images, the weight of the usual mean over cells.
    #: At 1 it is ~45 nats at the start, more than the words' ~40, and least at an even spread.
    MODEL_DEFAULTS = {"attention": "soft", "penalty": 0.02}

    def __init__(self, cfg: TrainConfig, vocab: CaptionVocab | None = None, min_count: int = MIN_COUNT,
                 image_size: int | None = None, train: bool = True, features: bool | None = None,
                 augment: str = "none"):
        if augment not in AUGMENT_MODES:
            raise UsageError(f"--augment must be one of {', '.join(AUGMENT_MODES)}, got {augment!r}")
        self.cfg, self.min_count, self.image_size, self.augment = cfg, min_count, image_size, augment
        #: feature grids (True) or pictures (False); None until the first split says which
        self.features = features
        self.data_name = check_data_name(cfg.data)
        self._sets = {}
        self._pairs = None
        self.vocab = vocab
        if train or vocab is None:
            self.vocab = vocab or CaptionVocab.build(self.pairs()[1], min_count)
            seqs, rows = self.encoded_pairs()
            self.batcher = ClassificationBatcher(seqs, rows, cfg.batch, seed=cfg.seed, drop_last=True)
            # The trainer's divergence check compares the loss with log(output_size), a uniform
            # guess's. The loss is per caption, so a whole caption is the output: V^(n+1) word
            # sequences of the longest caption, a uniform guess (n+1) log V nats.
            self.output_size = len(self.vocab) ** (max(len(w) for w in self.pairs()[1]) + 1)
            if augment != "none" and self.features:
                raise UsageError("--augment moves and mirrors pictures; this data is feature grids, which it "
                                 "cannot change: leave --augment out")

    # -- data ------------------------------------------------------------------------------

    def split(self, name: str):
        if name not in SPLITS:
            raise UsageError(f"unknown split {name!r}: choose train, val or test")
        if name not in self._sets:
            self._sets[name] = load_split(self.data_name, name, DATA_SEED, self.image_size, self.features)
            # every later split (and the spec) follows what the first one gave
            self.features = bool(getattr(self._sets[name], "features", False))
        return self._sets[name]

    def pairs(self):
        """(image row of each pair, words of each pair) over the training references."""
        if self._pairs is None:
            words = caption_data().caption_words
            rows, captions = [], []
            for i, refs in enumerate(self.split("train").references):
                for text in refs:
                    w = words(text)[:MAX_WORDS]
                    if w:
                        rows.append(i)
                        captions.append(w)
            self._pairs = np.asarray(rows, dtype=np.int64), captions
        return self._pairs

    def encoded_pairs(self):
        rows, captions = self.pairs()
        return [self.vocab.encode(w) for w in captions], rows

    @classmethod
    def sources(cls) -> list[Source]:
        from rnnkit.data.sources import fashion_mnist, tuxpaint
        from rnnkit.data.sources.cache import find_download, pip_download_command
        from rnnkit.data.sources.mnist import WHEEL_PATTERN, WHEEL_SPEC

        scenes = find_download(WHEEL_PATTERN) is not None and fashion_mnist.FOLDER.is_dir()
        return [Source("scenes", "1-4 real MNIST digits and Fashion-MNIST clothes on a canvas, captions of what is "
                                 "where (a stand-in, not COCO)", scenes,
                       f"{fashion_mnist.INSTALL}; {pip_download_command(WHEEL_SPEC)}"),
                Source("tuxpaint", "Tux Paint's stamps with their human one-line captions", tuxpaint.FOLDER.is_dir(),
                       tuxpaint.INSTALL),
                Source("coco:DIR", "a COCO-format captions JSON with its image folder or .npy feature grids "
                                   "(COCO, Flickr8k)", True, "")]

    @classmethod
    def from_flags(cls, cfg: TrainConfig, args) -> "CaptionTask":
        return cls(cfg, min_count=getattr(args, "min_count", None) or MIN_COUNT,
                   image_size=getattr(args, "image_size", None), augment=getattr(args, "augment", None) or "none")

    @classmethod
    def from_checkpoint(cls, cfg: TrainConfig, checkpoint, data=None, train: bool = True) -> "CaptionTask":
        """The task of a trained run with its saved vocabulary (``data``: other caption data);
        ``train=False`` reads no training split (evaluation)."""
        from rnnkit.tasks.caption_reader import CaptionReader

        reader = CaptionReader.from_checkpoint(checkpoint)
        meta = checkpoint.task
        task = cls(replace(cfg, data=data) if data is not None else cfg, vocab=reader.vocab,
                   min_count=meta.get("min_count", MIN_COUNT), image_size=meta.get("image_size"), train=train,
                   features=checkpoint.spec.grid is not None, augment=meta.get("augment", "none"))
        task.reader = reader
        return task

    def describe(self) -> str:
        train, val = self.split("train"), self.split("val")
        n, height, width, channels = train.images.shape
        shape = f"feature grids {height}x{width}x{channels}" if self.features else f"{height}x{width}x{channels}"
        return (f"{self.data_name}: train {n:,} images ({len(self.pairs()[0]):,} captions), "
                f"val {len(val.references):,} "
                f"images; {shape}; vocabulary {len(self.vocab)} words")

    def spec_fields(self) -> dict:
        _, height, width, channels = self.split("train").images.shape
        if self.features:   # no encoder: the grid (h, w, F) is the model's input
            return {"vocab_size": len(self.vocab), "grid": (height, width, channels)}
        return {"vocab_size": len(self.vocab), "image_height": height, "image_width": width,
                "image_channels": channels}

    # -- training --------------------------------------------------------------------------

    def next_batch(self):
        epoch, position = self.batcher.epoch, self.batcher.position
        ids, mask, rows = self.batcher.next_batch()
        images = as_floats(self.split("train").images[rows])
        if self.augment != "none":
            images = augment_images(images, self.augment, np.random.default_rng([self.cfg.seed, epoch, position]))
        return (images, ids, mask[:, 1:]), False

    def batch_tokens(self, batch) -> int:
        return int(batch[0].shape[0])

    # -- evaluation ------------------------------------------------------------------------

    def captions(self, runtime, images: np.ndarray, beam: int = 1, alpha: float = ALPHA,
                 ensemble: Sequence = ()) -> list[list[str]]:
        """The words of each image's decoded caption (images (n, S, S, C) uint8, or grids); with
        ``ensemble`` (more runtimes of the same vocabulary), decoded by all of them together."""
        from rnnkit.inference.caption_beam import decode, numpy_captioner

        models = [numpy_captioner(r) for r in (runtime, *ensemble)]
        out = []
        for first in range(0, len(images), EVAL_BATCH):
            hyps = decode(models, as_floats(images[first:first + EVAL_BATCH]), START_ID, END_ID, MAX_WORDS + 1,
                          beam=beam, alpha=alpha, forbidden=FORBIDDEN)
            out += [self.vocab.decode(h.ids) for h in hyps]
        return out

    def loss(self, runtime, caption_set, count: int, ensemble: Sequence = ()) -> float:
        """Teacher-forced nats per caption, each image's first reference (words cut at MAX_WORDS):

            loss = -(1/N) sum_{n, t} mask[n, t] log p(y[n, t] | y[n, <t], image n)

        with p the model's softmax, or an ensemble's mean of its members' (rnnkit/inference/ensemble.py)."""
        from rnnkit.inference.caption_beam import numpy_captioner
        from rnnkit.inference.ensemble import mean_probabilities
        from rnnkit.numpy_engine.losses import log_softmax

        models = [numpy_captioner(r) for r in (runtime, *ensemble)]
        words = caption_data().caption_words
        total = 0.0
        for first in range(0, count, EVAL_BATCH):
            rows = range(first, min(first + EVAL_BATCH, count))
            ids, mask, _ = pad_batch([self.vocab.encode(words(caption_set.references[i][0])[:MAX_WORDS])
                                      for i in rows])
            images = as_floats(caption_set.images[first:first + len(rows)])
            log_probs = mean_probabilities(np.stack([
                log_softmax(m.forward(images, ids[:, :-1], mask[:, 1:])[0].astype(np.float64)) for m in models]))
            target = np.take_along_axis(log_probs, ids[:, 1:, None], axis=2)[..., 0]      # (n, T)
            total -= float(np.sum(target, where=mask[:, 1:].astype(bool)))
        return total / count

    def evaluate(self, runtime, split: str = "val", limit: int | None = None, beam: int = 1,
                 return_captions: bool = False, alpha: float = ALPHA, ensemble: Sequence = ()) -> dict:
        """BLEU-1..4, the loss and (scenes) relations_correct on the first ``limit`` images of
        ``split`` (None: :data:`EVAL_IMAGES`; 0: all), decoded with beam ``beam`` and GNMT length
        normalisation ``alpha``, by ``runtime`` alone or with the runtimes in ``ensemble``."""
        caption_set = self.split(split)
        n = len(caption_set.references)
        count = n if limit == 0 else min(n, EVAL_IMAGES if limit is None else limit)
        words = self.captions(runtime, caption_set.images[:count], beam, alpha, ensemble)
        data = caption_data()
        texts = [data.join_words(w) for w in words]
        from rnnkit.tasks.caption_metrics import bleu_scores, normalised

        references = [[normalised(r, data) for r in refs] for refs in caption_set.references[:count]]
        metrics = bleu_scores(texts, references)
        metrics["loss"] = self.loss(runtime, caption_set, count, ensemble)
        if caption_set.facts is not None:
            judge = relations_judge()
            metrics["relations_correct"] = float(np.mean([judge(t, caption_set.facts[i]) for i, t in enumerate(texts)]))
        self.last_count = count
        if return_captions:
            metrics["captions"] = texts
        return metrics

    def meta(self) -> dict:
        return {"name": self.name, "data": self.cfg.data, "min_count": self.min_count, "image_size": self.image_size,
                "max_words": MAX_WORDS, "augment": self.augment}

    def tokenizers(self) -> dict:
        return {"words": self.vocab.to_json()}
