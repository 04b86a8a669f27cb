"""Every model rnnkit trains, one folder each: its spec (parameter names, shapes, initialisation)
and its implementation in each engine.

    charlm/       many-to-many: a character-level language model (truncated BPTT)
    classifier/   many-to-one: a sequence classifier (sentiment)
    draw/         images drawn one piece at a time (a recurrent VAE with attention)
    ram/          recurrent attention: digits read glimpse by glimpse (RAM, DRAM)
    tagger/       many-to-many: a label at every frame of a clip or sensor stream

A model kind is registered in :data:`MODEL_KINDS` with where its three parts live; the runtimes,
checkpoints and commands find them here, so they never name a model. Each engine's model offers:

    Model(spec, params) / Model.create(spec, seed, dtype)     (NumPy; torch: from_arrays)
    model.init_state(n)                  what a batch carries from step to step (None: nothing)
    model.loss(*batch, state, rng)       -> loss, grads, state   (torch: loss tensor, state)
    model.evaluate(*batch, state)        -> {summed statistics}, state  (no gradient, no dropout)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelKind:
    """Where a model kind's spec class and engine implementations live ("module:attribute")."""

    name: str
    spec: str
    numpy: str
    torch: str
    tokenizer: str | None        # the checkpoint's tokenizer that gives the model's ids (None: reads no ids)
    tokenizer_class: str | None  # its class (from_json, len)
    summary: str


MODEL_KINDS = {kind.name: kind for kind in (
    ModelKind("charlm", "rnnkit.models.charlm.spec:CharLMSpec", "rnnkit.models.charlm.numpy_model:CharLM",
              "rnnkit.models.charlm.torch_model:TorchCharLM", "chars", "rnnkit.data.vocab:Vocab",
              "character-level language model"),
    ModelKind("ram", "rnnkit.models.ram.spec:RAMSpec", "rnnkit.models.ram.numpy_model:RAM",
              "rnnkit.models.ram.torch_model:TorchRAM", None, None,
              "recurrent attention: RAM and DRAM read images glimpse by glimpse (REINFORCE locations)"),
    ModelKind("vqa", "rnnkit.models.vqa.spec:VQASpec", "rnnkit.models.vqa.numpy_model:VQA",
              "rnnkit.models.vqa.torch_model:TorchVQA", "tokens", "rnnkit.data.words:TokenVocab",
              "visual question answering: stacked attention over a conv encoder's grid, LSTM question"),
    ModelKind("seq2seq", "rnnkit.models.seq2seq.spec:Seq2SeqSpec", "rnnkit.models.seq2seq.numpy_model:Seq2Seq",
              "rnnkit.models.seq2seq.torch_model:TorchSeq2Seq", "target", "rnnkit.data.subword:SubwordTokenizer",
              "encoder-decoder with attention (translation); reads the source and target tokenizers"),
    ModelKind("classifier", "rnnkit.models.classifier.spec:ClassifierSpec",
              "rnnkit.models.classifier.numpy_model:Classifier",
              "rnnkit.models.classifier.torch_model:TorchClassifier", "tokens", "rnnkit.data.words:TokenVocab",
              "sequence classifier (many-to-one)"),
    ModelKind("draw", "rnnkit.models.draw.spec:DrawSpec", "rnnkit.models.draw.numpy_model:DrawModel",
              "rnnkit.models.draw.torch_model:TorchDraw", None, None,
              "DRAW: images drawn over T steps by an LSTM VAE, with optional attention"),
    ModelKind("tagger", "rnnkit.models.tagger.spec:TaggerSpec", "rnnkit.models.tagger.numpy_model:Tagger",
              "rnnkit.models.tagger.torch_model:TorchTagger", "labels", "rnnkit.data.frame_labels:LabelSet",
              "frame tagger (many-to-many: a conv or affine encoder per frame, then a recurrence)"),
    ModelKind("captioner", "rnnkit.models.captioner.spec:CaptionerSpec", "rnnkit.models.captioner.numpy_model:Captioner",
              "rnnkit.models.captioner.torch_model:TorchCaptioner", "words", "rnnkit.tasks.caption_vocab:CaptionVocab",
              "image captioning (one-to-many): conv encoder, LSTM decoder, optional soft attention"),
)}


def _load(path: str):
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def model_kind(name) -> ModelKind:
    from rnnkit.errors import UsageError

    if not isinstance(name, str) or name not in MODEL_KINDS:
        raise UsageError(f"unknown model kind {name!r}: this rnnkit knows {', '.join(MODEL_KINDS)}")
    return MODEL_KINDS[name]


def spec_class(kind: str):
    return _load(model_kind(kind).spec)


def spec_from_json(kind: str, data):
    """The spec of model ``kind`` from its JSON (validated; bad values are a UsageError)."""
    return spec_class(kind).from_json(data)


def model_tokenizer(kind: str, tokenizers: dict):
    """The tokenizer whose ids model ``kind`` reads, from a checkpoint's ``tokenizers`` (validated)."""
    from rnnkit.errors import UsageError

    entry = model_kind(kind)
    if entry.tokenizer not in tokenizers:
        raise UsageError(f"it has no {entry.tokenizer!r} tokenizer, which a {kind} model reads")
    return _load(entry.tokenizer_class).from_json(tokenizers[entry.tokenizer])


def numpy_model_class(kind: str):
    return _load(model_kind(kind).numpy)


def torch_model_class(kind: str):
    return _load(model_kind(kind).torch)
