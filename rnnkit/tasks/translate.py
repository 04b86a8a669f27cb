"""Translation, sequence to sequence: read a sentence, write it in another language.

Data (rnnkit/data/parallel.py): ``bible-en-es``, the King James Bible verse-aligned with the
Reina-Valera 1909 (test Mark + Ruth, validation Jonah + Philemon, the rest trains), or a TSV file
of ``source TAB target`` with a hashed split; ``--reverse`` translates the other way.
Tokens (rnnkit/data/subword.py): one SentencePiece model per language (``--src-vocab``,
``--tgt-vocab`` pieces, ``--subword unigram|bpe``), trained on the training split only, with byte
fallback; both are saved in the checkpoint (``tokenizers``: ``source``, ``target``).
Batches (rnnkit/data/pair_batches.py): (src, src_len, tgt_in, tgt_out, tgt_len), shuffled every
epoch, sources of similar length together; full batches only.
Model: rnnkit/models/seq2seq. Teacher forcing in training; greedy or beam search in use.

Length limit: a training pair whose source or target has more than ``max_len`` pieces is left out
(counted in the run's first lines); in evaluation and prediction a longer source is truncated to
its first ``max_len`` pieces with a warning (rnnkit/inference/translate.py). The default, 100,
leaves out none of the Bible's pairs.

Metric: BLEU on the validation split (higher is better), sacrebleu's corpus BLEU of the greedy
(``--val-beam``, default 1) translations, detokenised, against the raw reference texts; the token
loss (nats per target piece) and perplexity are reported beside it. Validating ``bible-en-es`` (72
verses) decodes in seconds; a file's validation split is decoded up to its first
``VAL_SENTENCES`` pairs (the loss counts all of them).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.config import TrainConfig, dataclass_from_json
from rnnkit.data.pair_batches import PairBatcher, pair_batch
from rnnkit.data.parallel import BIBLE, SOURCES, bible_installed, load_parallel
from rnnkit.data.subword import BOS, EOS, MODEL_TYPES, SubwordTokenizer
from rnnkit.errors import UsageError
from rnnkit.inference.translate import Translator, corpus_scores
from rnnkit.tasks import Source
from rnnkit.tasks.batched import BatchedTask

EVAL_BATCH = 64
VAL_SENTENCES = 500


@dataclass(frozen=True)
class TranslateOptions:
    """How the translation task reads its data.

    Attributes:
        src_vocab, tgt_vocab: the most subword pieces of each side's tokenizer (260 reserved ids included).
        subword: ``unigram`` or ``bpe``.
        max_len: the most pieces of a source or target (see the module docstring).
        reverse: translate from the data's second column to its first.
        val_beam: beam size of the validation BLEU during training (1: greedy).
    """

    src_vocab: int = 2000
    tgt_vocab: int = 2000
    subword: str = "unigram"
    max_len: int = 100
    reverse: bool = False
    val_beam: int = 1

    def __post_init__(self) -> None:
        if self.subword not in MODEL_TYPES:
            raise UsageError(f"subword must be one of {', '.join(MODEL_TYPES)}, got {self.subword!r}")
        for name, low in (("src_vocab", 265), ("tgt_vocab", 265), ("max_len", 1), ("val_beam", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UsageError(f"{name.replace('_', '-')} must be an integer >= {low}, got {value!r}")
        if not isinstance(self.reverse, bool):
            raise UsageError(f"reverse must be true or false, got {self.reverse!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data) -> "TranslateOptions":
        return dataclass_from_json(cls, data, "translation options")


def translator_from_checkpoint(checkpoint) -> Translator:
    """The tokenizers and length limit saved with a trained translation model."""
    try:
        options = TranslateOptions.from_json(checkpoint.task.get("options", {}))
        tokenizers = checkpoint.tokenizers
        return Translator(SubwordTokenizer.from_json(tokenizers["source"]),
                          SubwordTokenizer.from_json(tokenizers["target"]), options.max_len)
    except (KeyError, TypeError) as exc:
        raise UsageError(f"{checkpoint.path} has no usable translation tokenizers or options ({exc})") from None


class TranslateTask(BatchedTask):
    name = "translate"
    summary = "sequence to sequence: translate a sentence (English to Spanish Bible verses, or your pairs)"
    model_kind = "seq2seq"
    metric = "bleu"
    lower_is_better = False
    loss_label = "loss"
    rate_unit = "tokens/s"
    carries_state = False
    flags = ("max_len", "bidirectional", "reverse", "src_pieces", "tgt_pieces", "subword", "val_beam",
             "attention", "input_feeding", "tie_embeddings")
    TRAIN_DEFAULTS = {"data": BIBLE, "steps": 3000, "batch": 64, "lr": 2e-3, "eval_every": 250}
    #: Sized to learn within 30 minutes on 2 CPU cores (docs/translation.md, Results): E=128 H=256
    #: with 4,000 pieces managed under 600 steps on one core, and translated no better than 2.8 BLEU.
    MODEL_DEFAULTS = {"embed": 64, "hidden": 128, "bidirectional": True, "attention": "additive",
                      "input_feeding": True, "dropout": 0.1, "cell": "lstm"}

    def __init__(self, cfg: TrainConfig, options: TranslateOptions | None = None,
                 tokenizers: tuple[SubwordTokenizer, SubwordTokenizer] | None = None, data=None):
        self.cfg = cfg
        self.options = options = options or TranslateOptions()
        self.data = data if data is not None else load_parallel(cfg.data, reverse=options.reverse)
        if tokenizers is None:
            tokenizers = (SubwordTokenizer.train(self.data.train.sources, options.src_vocab, options.subword),
                          SubwordTokenizer.train(self.data.train.targets, options.tgt_vocab, options.subword))
        self.source, self.target = tokenizers
        self.translator = Translator(self.source, self.target, options.max_len)
        self._encoded = {}
        src, tgt = self.encoded("train")
        limit = options.max_len
        keep = [i for i, (s, t) in enumerate(zip(src, tgt)) if 1 <= s.size <= limit and t.size <= limit]
        self.left_out = len(src) - len(keep)
        if len(keep) < cfg.batch:
            raise UsageError(f"the training split holds {len(keep)} pairs within --max-len {options.max_len}, "
                             f"fewer than one batch of {cfg.batch}; lower --batch")
        self.batcher = PairBatcher([src[i] for i in keep], [tgt[i] for i in keep], cfg.batch, seed=cfg.seed,
                                   bucket=True, drop_last=True)

    @classmethod
    def sources(cls) -> list[Source]:
        bible = Source(BIBLE, SOURCES[BIBLE], bible_installed(), "apt-get install -y sword-text-kjv sword-text-sparv")
        return [bible, Source("FILE", "a TSV file: source TAB target, one pair per line", True, "")]

    @classmethod
    def from_flags(cls, cfg: TrainConfig, args) -> "TranslateTask":
        names = {"src_pieces": "src_vocab", "tgt_pieces": "tgt_vocab", "subword": "subword", "max_len": "max_len",
                 "reverse": "reverse", "val_beam": "val_beam"}
        given = {option: getattr(args, flag) for flag, option in names.items() if getattr(args, flag, None) is not None}
        return cls(cfg, TranslateOptions(**given))

    @classmethod
    def from_checkpoint(cls, cfg: TrainConfig, checkpoint, data=None) -> "TranslateTask":
        """The task of a trained run with its saved tokenizers and options (``data``: other pairs to
        evaluate on than the run's own)."""
        translator = translator_from_checkpoint(checkpoint)
        options = TranslateOptions.from_json(checkpoint.task.get("options", {}))
        loaded = load_parallel(data, reverse=options.reverse) if data is not None else None
        return cls(cfg, options, tokenizers=(translator.source, translator.target), data=loaded)

    def encoded(self, split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The source and target piece ids of every pair of ``split``."""
        if split not in self._encoded:
            pairs = self.data.splits()[split]
            self._encoded[split] = (self.source.encode_all(pairs.sources), self.target.encode_all(pairs.targets))
        return self._encoded[split]

    def describe(self) -> str:
        return (f"{self.data.describe()}\nsubword tokens ({self.options.subword}, training split): "
                f"{len(self.source):,} source and {len(self.target):,} target pieces; {self.left_out:,} training "
                f"pairs over --max-len {self.options.max_len} left out")

    @property
    def output_size(self) -> int:
        """Vt, the outputs of every decoder step (the trainer's divergence check reads it)."""
        return len(self.target)

    def spec_fields(self) -> dict:
        return {"src_vocab": len(self.source), "tgt_vocab": len(self.target), "bos_id": BOS, "eos_id": EOS}

    def next_batch(self):
        return self.batcher.next_batch(), False

    def batch_tokens(self, batch) -> int:
        return int(batch[4].sum())  # target pieces, <eos> included

    def _loss(self, runtime, src, tgt) -> dict:
        """Summed token loss over pairs, the source cut at max_len."""
        totals = {"loss_sum": 0.0, "tokens": 0, "correct": 0}
        cut = [s[:self.options.max_len] for s in src]
        for start in range(0, len(cut), EVAL_BATCH):
            batch = pair_batch(cut[start:start + EVAL_BATCH], tgt[start:start + EVAL_BATCH])
            stats, _ = runtime.evaluate(batch, None)
            for key in totals:
                totals[key] += float(stats[key])
        return totals

    def evaluate(self, runtime, split: str = "val", limit: int | None = None, beam: int | None = None) -> dict:
        """BLEU and chrF of the translations of ``split`` (beam ``beam``, default the validation beam)
        against its raw references, with the token loss, perplexity and token accuracy."""
        if split not in ("train", "val", "test"):
            raise UsageError(f"unknown split {split!r}: choose train, val or test")
        src, tgt = self.encoded(split)
        references = self.data.splits()[split].targets
        if limit is not None:
            src, tgt, references = src[:limit], tgt[:limit], references[:limit]
        if not src:
            return {}
        totals = self._loss(runtime, src, tgt)
        loss = totals["loss_sum"] / max(totals["tokens"], 1)
        decode = len(src) if split != "val" or limit is not None else min(len(src), VAL_SENTENCES)
        seqs = [s[:self.options.max_len] for s in src[:decode]]
        beam = self.options.val_beam if beam is None else beam
        hyps = [self.target.decode(h.ids) for h in self.translator.decode_ids(runtime, seqs, beam)]
        scores = corpus_scores(hyps, list(references[:decode]))
        return {**scores, "loss": loss, "perplexity": math.exp(min(loss, 700.0)),
                "token_accuracy": totals["correct"] / max(totals["tokens"], 1)}

    def translations(self, runtime, split: str, beam: int, limit: int | None = None) -> list[dict]:
        """``[{"ref", "source", "reference", "translation"}]`` of ``split`` (for inspection and benchmarks)."""
        pairs = self.data.splits()[split]
        src, _ = self.encoded(split)
        n = len(src) if limit is None else min(limit, len(src))
        hyps = self.translator.decode_ids(runtime, [s[:self.options.max_len] for s in src[:n]], beam)
        return [{"ref": pairs.refs[i], "source": pairs.sources[i], "reference": pairs.targets[i],
                 "translation": self.target.decode(h.ids)} for i, h in enumerate(hyps)]

    def meta(self) -> dict:
        return {"name": self.name, "data": self.cfg.data, "options": self.options.to_json(),
                "languages": [self.data.src_lang, self.data.tgt_lang]}

    def tokenizers(self) -> dict:
        return {"source": self.source.to_json(), "target": self.target.to_json()}
