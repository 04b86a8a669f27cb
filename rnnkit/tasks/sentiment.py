"""Sentiment classification, many-to-one: read a sentence, say whether it is positive or negative.

Data (rnnkit/data/sentiment.py): ``mr``, the Pang & Lee movie-review snippets shipped in the
vaderSentiment source distribution, or a TSV file of ``label TAB text``; a fixed split by a hash of
each text (80% train, 10% validation, 10% test).
Tokens (rnnkit/data/words.py): words (lower-cased, punctuation split off) or characters, with
``<pad>`` and ``<unk>``; the vocabulary is built on the training split only.
Batches: (ids (N, T), mask (N, T), labels (N,)), shuffled every epoch, sentences of similar length
together (rnnkit/data/padding.py); full batches only, so every step and every process sees N rows.
Model: rnnkit/models/classifier. Metric: accuracy on the validation split (higher is better).

Texts longer than ``max_len`` tokens are truncated to their first ``max_len`` tokens, in training
and in prediction (where a warning says so).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.config import TrainConfig, dataclass_from_json
from rnnkit.data.padding import ClassificationBatcher, pad_batch
from rnnkit.data.sentiment import LABEL_NAMES, VADER_SDIST, data_dir, fetch_command, load_sentiment
from rnnkit.data.words import TokenVocab
from rnnkit.errors import UsageError
from rnnkit.tasks import Source
from rnnkit.tasks.batched import BatchedTask

LEVELS = ("word", "char")
EVAL_BATCH = 256


@dataclass(frozen=True)
class SentimentOptions:
    """How the sentiment task reads its data.

    Attributes:
        tokens: ``word`` or ``char``.
        max_len: tokens kept of each text (the rest is cut off).
        min_count: a word seen fewer times in the training split becomes ``<unk>``.
    """

    tokens: str = "word"
    max_len: int = 100
    min_count: int = 1

    def __post_init__(self) -> None:
        if self.tokens not in LEVELS:
            raise UsageError(f"tokens must be one of {', '.join(LEVELS)}, got {self.tokens!r}")
        for name in ("max_len", "min_count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data) -> "SentimentOptions":
        return dataclass_from_json(cls, data, "sentiment options")


class SentimentReader:
    """What a trained classifier needs to read text, and nothing of the data: the vocabulary, the
    options and the label names (all saved in the checkpoint)."""

    def __init__(self, vocab: TokenVocab, options: SentimentOptions, label_names=LABEL_NAMES):
        if vocab.level != options.tokens:
            raise UsageError(f"the vocabulary is of {vocab.level}s, the options say {options.tokens}s")
        self.vocab, self.options, self.label_names = vocab, options, tuple(label_names)

    @classmethod
    def from_checkpoint(cls, checkpoint) -> "SentimentReader":
        task = checkpoint.task
        try:
            return cls(TokenVocab.from_json(checkpoint.tokenizers["tokens"]),
                       SentimentOptions.from_json(task.get("options", {})), tuple(task.get("labels", LABEL_NAMES)))
        except (KeyError, TypeError) as exc:
            raise UsageError(f"{checkpoint.path} has no usable sentiment vocabulary or options ({exc})") from None

    def padded(self, seqs):
        """(ids, mask) of id sequences, cut at max_len."""
        ids, mask, _ = pad_batch(seqs, self.options.max_len)
        return ids, mask

    def predict(self, runtime, texts: list[str], warn=None) -> list[dict]:
        """The label and probabilities of each text: ``[{"label", "probability", "probabilities"}]``.

        An empty text is a UsageError; a text longer than ``max_len`` tokens is cut, with a warning
        on ``warn`` (default: standard error).
        """
        warn = warn or sys.stderr
        seqs = []
        for i, text in enumerate(texts, start=1):
            ids = self.vocab.encode(text)
            if ids.size == 0:
                raise UsageError(f"input {i} is empty: give a sentence to classify")
            if ids.size > self.options.max_len:
                print(f"warning: input {i} has {ids.size} {self.options.tokens}s; the model reads the first "
                      f"{self.options.max_len}", file=warn)
            seqs.append(ids)
        results = []
        for start in range(0, len(seqs), EVAL_BATCH):
            probs = runtime.call("predict_proba", *self.padded(seqs[start:start + EVAL_BATCH]))
            for row in probs:
                k = int(np.argmax(row))
                results.append({"label": self.label_names[k], "probability": float(row[k]),
                                "probabilities": {name: float(p) for name, p in zip(self.label_names, row)}})
        return results


class SentimentTask(BatchedTask):
    name = "sentiment"
    summary = "many-to-one: the polarity of a sentence (positive or negative)"
    model_kind = "classifier"
    metric = "accuracy"
    lower_is_better = False
    loss_label = "loss"
    carries_state = False
    #: Chosen on the validation split of mr (docs/sentiment.md): a bidirectional LSTM, max-pooled,
    #: with dropout on the embedded words; it overfits after 2-4 epochs (265 steps each), and the
    #: best validation checkpoint is kept.
    flags = ("tokens", "max_len", "min_count", "bidirectional", "pool", "embed_dropout")
    TRAIN_DEFAULTS = {"data": "mr", "steps": 1000, "lr": 2e-3, "eval_every": 50}
    MODEL_DEFAULTS = {"bidirectional": True, "dropout": 0.5, "embed_dropout": 0.3, "pool": "max"}

    def __init__(self, cfg: TrainConfig, options: SentimentOptions | None = None, vocab: TokenVocab | None = None,
                 data=None):
        self.cfg = cfg
        options = options or SentimentOptions()
        self.data = data if data is not None else load_sentiment(cfg.data)
        vocab = vocab or TokenVocab.build(self.data.train.texts, options.tokens, min_count=options.min_count)
        self.reader = SentimentReader(vocab, options, self.data.label_names)
        self.vocab, self.options = vocab, options
        self._encoded = {}
        train = self.encoded("train")
        if len(train) < cfg.batch:
            raise UsageError(f"the training split holds {len(train)} texts, fewer than one batch of {cfg.batch}; "
                             "lower --batch")
        self.batcher = ClassificationBatcher(train, self.data.train.labels, cfg.batch, seed=cfg.seed, bucket=True,
                                             drop_last=True, max_len=self.options.max_len)

    @classmethod
    def sources(cls) -> list[Source]:
        folder = data_dir()
        mr = Source("mr", "Pang & Lee movie-review snippets (10,605, from the vaderSentiment 3.3.2 sdist)",
                    (folder / VADER_SDIST).is_file(), f"make data, or: {fetch_command(folder)}")
        return [mr, Source("FILE", "a TSV file: label (positive/negative) TAB text, one per line", True, "")]

    @classmethod
    def from_flags(cls, cfg: TrainConfig, args) -> "SentimentTask":
        given = {k: getattr(args, k) for k in ("tokens", "max_len", "min_count") if getattr(args, k, None) is not None}
        return cls(cfg, SentimentOptions(**given))

    @classmethod
    def from_checkpoint(cls, cfg: TrainConfig, checkpoint, data=None) -> "SentimentTask":
        """The task of a trained run, with its saved vocabulary and options (``data``: another
        source than the one it was trained on, for evaluation)."""
        reader = SentimentReader.from_checkpoint(checkpoint)
        loaded = load_sentiment(data) if data is not None else None
        return cls(cfg, reader.options, vocab=reader.vocab, data=loaded)

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.reader.label_names

    def encoded(self, split: str) -> list[np.ndarray]:
        """The token ids of every text of ``split``, each (n_i,)."""
        if split not in self._encoded:
            self._encoded[split] = self.vocab.encode_all(self.data.splits()[split].texts)
        return self._encoded[split]

    def describe(self) -> str:
        return (f"{self.data.describe()}\n{self.options.tokens} tokens: vocabulary of {len(self.vocab):,} "
                f"(training split, min count {self.options.min_count}), texts cut at {self.options.max_len}")

    def spec_fields(self) -> dict:
        return {"vocab_size": len(self.vocab), "classes": len(self.label_names)}

    def next_batch(self):
        return self.batcher.next_batch(), False

    def batch_tokens(self, batch) -> int:
        return int(batch[1].sum())

    def train_metrics(self, mean_loss: float) -> dict:
        return {"train_loss": mean_loss}

    def evaluate(self, runtime, split: str = "val", limit: int | None = None) -> dict:
        """Accuracy and mean cross-entropy (nats) of ``runtime``'s model on ``split``."""
        if split not in ("train", "val", "test"):
            raise UsageError(f"unknown split {split!r}: choose train, val or test")
        seqs, labels = self.encoded(split), self.data.splits()[split].labels
        if limit is not None:
            seqs, labels = seqs[:limit], labels[:limit]
        totals = {"nats": 0.0, "correct": 0, "count": 0}
        for start in range(0, len(seqs), EVAL_BATCH):
            ids, mask = self.reader.padded(seqs[start:start + EVAL_BATCH])
            stats, _ = runtime.evaluate((ids, mask, labels[start:start + EVAL_BATCH]), None)
            for key in totals:
                totals[key] += stats[key]
        if not totals["count"]:
            return {}
        return {"accuracy": totals["correct"] / totals["count"], "loss": totals["nats"] / totals["count"]}

    def meta(self) -> dict:
        return {"name": self.name, "data": self.cfg.data, "options": self.options.to_json(),
                "labels": list(self.label_names)}

    def tokenizers(self) -> dict:
        return {"tokens": self.vocab.to_json()}

