"""The character model's task: predict the next character of a text, over truncated-BPTT streams.

Data: a named corpus or a text file (rnnkit/data/corpora.py), the last ``val_fraction`` held out.
Batches: (x, y) of (B, T) ids from B contiguous streams (rnnkit/data/streams.py), y = x shifted
by one; the model's state runs on from batch to batch and starts afresh with each epoch.
Metric: bits per character on the held-out text (lower is better).
"""

from __future__ import annotations

import math

from rnnkit.config import TrainConfig
from rnnkit.data.corpora import CORPORA, LINUX_SOURCE_DIR, SWORD_MODULES, Corpus, load_corpus, sword_module_dir
from rnnkit.data.streams import TBPTTStream
from rnnkit.data.vocab import Vocab
from rnnkit.errors import UsageError
from rnnkit.tasks import Source, Task
from rnnkit.training.evaluate import evaluate_tokens
from rnnkit.training.metrics import bits_per_char


class CharLMTask(Task):
    name = "charlm"
    summary = "many-to-many: a character-level language model, trained with truncated BPTT"
    model_kind = "charlm"
    metric = "bpc"
    lower_is_better = True
    loss_label = "bpc"
    rate_unit = "chars/s"
    carries_state = True
    flags = ("mode", "val_fraction", "seq_len", "highway", "eval_chars")
    TRAIN_DEFAULTS = {"steps": 2000}
    MODEL_DEFAULTS: dict = {}

    def __init__(self, cfg: TrainConfig, corpus: Corpus | None = None, vocab: Vocab | None = None):
        self.cfg = cfg
        self.corpus = corpus or load_corpus(cfg.data, cfg.mode, val_fraction=cfg.val_fraction)
        if vocab is not None and vocab != self.corpus.vocab:
            raise UsageError(f"the data {cfg.data!r} has a different vocabulary from the checkpoint's; "
                             "resume with the data the run was trained on")
        self.corpus.check_length(cfg.batch, cfg.seq_len)
        self.stream = TBPTTStream(self.corpus.train, cfg.batch, cfg.seq_len)

    @classmethod
    def sources(cls) -> list[Source]:
        hints = {"stdlib": "nothing (every Python has it)", "kjv": "apt-get install -y sword-text-kjv",
                 "sparv": "apt-get install -y sword-text-sparv", "linux": "apt-get install -y linux-source-6.1"}
        installed = {"stdlib": True, "kjv": sword_module_dir(SWORD_MODULES["kjv"][0]) is not None,
                     "sparv": sword_module_dir(SWORD_MODULES["sparv"][0]) is not None,
                     "linux": any(LINUX_SOURCE_DIR.glob("linux-source-*.tar.xz"))}
        named = [Source(name, CORPORA[name].split(" (")[0], installed[name], hints[name]) for name in CORPORA]
        return named + [Source("FILE", "any text file (UTF-8, or any bytes with --byte-mode)", True, "")]

    @classmethod
    def from_flags(cls, cfg: TrainConfig, args) -> "CharLMTask":
        return cls(cfg)

    @classmethod
    def from_checkpoint(cls, cfg: TrainConfig, checkpoint) -> "CharLMTask":
        """The task of a run being resumed: its data must give the checkpoint's vocabulary."""
        return cls(cfg, vocab=checkpoint.vocab)

    @property
    def vocab(self) -> Vocab:
        return self.corpus.vocab

    def describe(self) -> str:
        return self.corpus.describe()

    def spec_fields(self) -> dict:
        """What the data fixes in the model's spec."""
        return {"vocab_size": len(self.corpus.vocab)}

    def next_batch(self):
        reset = self.stream.at_start
        return self.stream.next_batch(), reset

    def state_dict(self) -> dict:
        return self.stream.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.stream.load_state_dict(state)

    def batch_tokens(self, batch) -> int:
        return int(batch[0].size)

    def display_loss(self, loss: float) -> float:
        return loss / math.log(2.0)

    def train_metrics(self, mean_loss: float) -> dict:
        return {"train_bpc": mean_loss / math.log(2.0)}

    def evaluate(self, runtime, split: str = "val", limit: int | None = None) -> dict:
        """Bits per character over the first ``limit`` characters (default --eval-chars) of the
        held-out text; {} when it is too short to predict anything."""
        if split != "val":
            raise UsageError("the character model holds out one part of its text, 'val'; "
                             "evaluate other text with 'rnnkit eval RUN --data FILE'")
        if len(self.corpus.val) < 2:
            return {}
        nats, count = evaluate_tokens(runtime, self.corpus.val, max_chars=limit or self.cfg.eval_chars)
        return {"bpc": bits_per_char(nats, count)}

    def meta(self) -> dict:
        return {"name": self.name, "data": self.cfg.data, "mode": self.cfg.mode}

    def tokenizers(self) -> dict:
        return {"chars": self.corpus.vocab.to_json()}
