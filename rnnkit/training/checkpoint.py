"""Checkpoints: one ``.npz`` file of plain numeric arrays plus a JSON header, never pickle.

Layout of the arrays (see docs/checkpoints.md):

    param/<name>          model parameters in the shared model format
    optim/<slot>/<name>   optimizer state
    state/<layer>/<k>     the carried hidden state of the training rows (k = 0: h, 1: c)
    __meta__              uint8 array holding UTF-8 JSON, format version 2:

    {"format": "rnnkit-checkpoint", "version": 2,
     "model": {"kind": "charlm", "spec": {...}},        which model (rnnkit/models) and its shape
     "tokenizers": {"chars": {...}, ...},               any number of named vocabularies
     "task": {"name": "charlm", "data": ..., ...},      what it was trained on
     "train": {...}, "schedule": {...}, "progress": {...}, "data_position": {...}, "runtime": {...}}

Version 1 files (the character model's, before tasks) still load: their header is upgraded on
reading (checkpoint_v1.py). A checkpoint can come from a stranger, so loading reads the zip's
directory and every array's header first (npz_reader.py), validates the header against the
registry of models and the parameters' shapes against the spec, and only then reads the arrays it
needs. Saving writes a temporary file in the same folder, flushes it to disk and renames it over
the old one: a crash leaves either the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.errors import UsageError
from rnnkit.models import model_tokenizer, spec_from_json
from rnnkit.training.checkpoint_v1 import upgrade_v1
from rnnkit.training.npz_reader import NpzReader

FORMAT = "rnnkit-checkpoint"
VERSION = 2
LATEST = "checkpoint.npz"
BEST = "best.npz"
#: The header is JSON of a few kilobytes (a vocabulary of a few thousand words: a few hundred).
MAX_HEADER_BYTES = 64 << 20


@dataclass
class Checkpoint:
    """A loaded checkpoint: its JSON header (version 2) and its arrays (by full name, e.g.
    ``param/head.W``)."""

    meta: dict
    arrays: dict
    path: Path
    spec: object  # the model's spec (rnnkit/models/<kind>/spec.py)

    @property
    def kind(self) -> str:
        return self.meta["model"]["kind"]

    @property
    def tokenizers(self) -> dict:
        return self.meta.get("tokenizers", {})

    @property
    def task(self) -> dict:
        return self.meta.get("task", {})

    @property
    def vocab(self):
        """The character vocabulary of a character model."""
        from rnnkit.data.vocab import Vocab

        if "chars" not in self.tokenizers:
            raise UsageError(f"{self.path} holds a {self.kind} model, which has no character vocabulary")
        return Vocab.from_json(self.tokenizers["chars"])

    def group(self, prefix: str) -> dict:
        """Arrays whose names start with ``prefix/``, keyed by the rest of the name."""
        start = prefix + "/"
        return {k[len(start):]: v for k, v in self.arrays.items() if k.startswith(start)}

    @property
    def params(self) -> dict:
        return self.group("param")


def save_checkpoint(path, meta: dict, arrays: dict) -> Path:
    """Write ``arrays`` and ``meta`` atomically to ``path``. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": FORMAT, "version": VERSION, **meta}
    payload = {name: np.ascontiguousarray(value) for name, value in arrays.items()}
    payload["__meta__"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    fd, temp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def resolve_checkpoint(spec, prefer_best: bool = True) -> Path:
    """A run directory or a checkpoint file -> the checkpoint file to read.

    A run directory gives its best checkpoint (lowest validation bpc) when ``prefer_best`` and one
    exists, otherwise its latest.
    """
    path = Path(spec).expanduser()
    if path.is_dir():
        for name in ((BEST, LATEST) if prefer_best else (LATEST,)):
            if (path / name).is_file():
                return path / name
        raise UsageError(f"{path} holds no checkpoint ({LATEST}); is it a run directory made by 'rnnkit train'?")
    if not path.exists():
        raise UsageError(f"no such checkpoint or run directory: {path}")
    return path


def load_checkpoint(spec, prefer_best: bool = True, training_state: bool = True) -> Checkpoint:
    """Load and validate a checkpoint; any problem is a :class:`UsageError` naming the file.

    ``training_state`` False reads the parameters only (enough to sample, evaluate or predict).
    """
    path = resolve_checkpoint(spec, prefer_best)
    with NpzReader(path) as reader:
        meta = _read_header(reader)
        model_spec = _model_spec(path, meta)
        _check_param_headers(reader, model_spec)
        groups = ("param/", "optim/", "state/") if training_state else ("param/",)
        arrays = reader.read_all(lambda name: name.startswith(groups))
    checkpoint = Checkpoint(meta, arrays, path, model_spec)
    _check_param_values(checkpoint)
    return checkpoint


def _read_header(reader: NpzReader) -> dict:
    path = reader.path
    member = reader.members.get("__meta__")
    if member is None or member.dtype != np.uint8 or len(member.shape) != 1:
        raise UsageError(f"{path} is not an rnnkit checkpoint: it has no rnnkit header")
    if member.nbytes > MAX_HEADER_BYTES:
        raise UsageError(f"{path} has a header of {member.nbytes:,} bytes; an rnnkit header is far smaller")
    try:
        meta = json.loads(reader.read("__meta__").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError: not JSON, or an integer of thousands of digits; RecursionError: nesting
        raise UsageError(f"{path} has a corrupted header (not UTF-8 JSON of a sane shape)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UsageError(f"{path} is not an rnnkit checkpoint (its header names another format)")
    if meta.get("version") == 1:
        meta = upgrade_v1(meta, path)
    if meta.get("version") != VERSION:
        raise UsageError(f"{path} is checkpoint version {meta.get('version')!r}; this rnnkit reads versions 1 and {VERSION}")
    model = meta.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("spec"), dict):
        raise UsageError(f"{path} is incomplete: its header has no model kind and spec")
    if not isinstance(meta.get("tokenizers", {}), dict) or not isinstance(meta.get("task", {}), dict):
        raise UsageError(f"{path} has a damaged header: 'tokenizers' and 'task' must be JSON objects")
    return meta


def _model_spec(path: Path, meta: dict):
    """The model's spec from the header, checked against the tokenizer that feeds it."""
    try:
        kind = meta["model"].get("kind")
        spec = spec_from_json(kind, meta["model"]["spec"])
        tokenizer = model_tokenizer(kind, meta.get("tokenizers", {}))
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:
        raise UsageError(f"{path}: the model spec or its vocabulary is damaged ({type(exc).__name__}: {exc})") from None
    if len(tokenizer) != spec.vocab_size:
        raise UsageError(f"{path}: vocabulary holds {len(tokenizer)} symbols but the model expects {spec.vocab_size}")
    return spec


def _check_param_headers(reader: NpzReader, spec) -> None:
    """The parameters present are exactly the spec's, with its shapes: checked on the arrays'
    headers, before any of their data is read."""
    path = reader.path
    expected = spec.param_shapes()
    present = {name[len("param/"):]: m for name, m in reader.members.items() if name.startswith("param/")}
    missing = [name for name in expected if name not in present]
    if missing:
        raise UsageError(f"{path} is missing parameter {missing[0]!r}")
    extra = sorted(set(present) - set(expected))
    if extra:
        raise UsageError(f"{path} has a parameter {extra[0]!r} that its model does not have")
    for name, shape in expected.items():
        member = present[name]
        if member.shape != shape or member.dtype.kind != "f":
            raise UsageError(f"{path}: parameter {name!r} has shape {member.shape} and dtype {member.dtype}, "
                             f"expected a float array of shape {shape}")


def _check_param_values(checkpoint: Checkpoint) -> None:
    for name, value in checkpoint.params.items():
        if not np.all(np.isfinite(value)):
            raise UsageError(f"{checkpoint.path}: parameter {name!r} holds NaN or infinite values")
