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
reading (checkpoint_v1.py). A checkpoint can come from a stranger, so loading trusts nothing in it
and allocates nothing it has not checked (docs/checkpoints.md lists every check): it reads the zip's
directory (npz_reader.py), then the JSON header (bounded in size, strict JSON, every string valid
Unicode), builds the model's spec and checks it against the arrays present (their names, and their
shapes from their ``.npy`` headers) before reading any array's data, reads only the members it
expects, and refuses parameters that are not finite or absurdly large (|x| > 1e6). Any problem is
a UsageError naming the file: one line and exit code 2 in the commands. Saving writes a temporary
file in the same folder, flushes it to disk and renames it over the old one: a crash leaves either
the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.errors import UsageError
from rnnkit.models import model_kind, model_tokenizer, spec_from_json
from rnnkit.training.checkpoint_v1 import upgrade_v1
from rnnkit.training.npz_reader import NpzReader
from rnnkit.training.runfiles import temporary_beside

FORMAT = "rnnkit-checkpoint"
VERSION = 2
LATEST = "checkpoint.npz"
BEST = "best.npz"
#: The header is JSON of a few kilobytes (a vocabulary of a few thousand words: a few hundred).
MAX_HEADER_BYTES = 16 << 20
#: No trained parameter comes near this magnitude (Adam moves a weight by about the learning rate
#: a step), and every product a model computes from weights below it stays far inside float32's
#: range; a larger one is damage or divergence. The trainer never saves such parameters.
MAX_PARAM_ABS = 1e6
#: What goes wrong when a stranger's header is interpreted: all of it is the file's fault.
DAMAGE = (TypeError, ValueError, LookupError, AttributeError, ArithmeticError, RecursionError)
GROUPS = ("param/", "optim/", "state/")
_STATE_NAME = re.compile(r"state/[0-9]{1,4}/[0-9]{1,2}")


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

    def train_config(self, **overrides):
        """The run's training configuration (header ``train``), validated, with ``overrides``."""
        from rnnkit.config import TrainConfig

        train = self.meta.get("train")
        if not isinstance(train, dict):
            raise UsageError(f"{self.path} has no training configuration (its header's 'train' is missing or damaged)")
        try:
            return TrainConfig.from_json({**train, **overrides})
        except UsageError as exc:
            raise UsageError(f"{self.path}: {exc}") from None

    def group(self, prefix: str) -> dict:
        """Arrays whose names start with ``prefix/``, keyed by the rest of the name."""
        start = prefix + "/"
        return {k[len(start):]: v for k, v in self.arrays.items() if k.startswith(start)}

    @property
    def params(self) -> dict:
        return self.group("param")


def save_checkpoint(path, meta: dict, arrays: dict) -> Path:
    """Write ``arrays`` and ``meta`` atomically to ``path``. Returns the path.

    A failure to write (a full disk, a folder that went away) is a UsageError saying so; the
    temporary is removed and the old file at ``path``, if any, is left as it was."""
    path = Path(path)
    header = {"format": FORMAT, "version": VERSION, **meta}
    payload = {name: np.ascontiguousarray(value) for name, value in arrays.items()}
    payload["__meta__"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = temporary_beside(path)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except OSError as exc:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        kept = f"; the previous {path.name} is intact" if path.exists() else ""
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}{kept}") from None
    except BaseException:
        if temp is not None:
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
    if not path.is_file():  # a FIFO or a device would block or never end
        raise UsageError(f"{path} is not a regular file; give a run folder or a checkpoint file")
    return path


def load_checkpoint(spec, prefer_best: bool = True, training_state: bool = True) -> Checkpoint:
    """Load and validate a checkpoint; any problem is a :class:`UsageError` naming the file.

    ``training_state`` False reads the parameters only (enough to sample, evaluate or predict);
    True also the optimizer's state and the carried state (``optim/*``, ``state/*``), checked
    against the parameters. A member of another name is refused without being read.
    """
    path = resolve_checkpoint(spec, prefer_best)
    with NpzReader(path) as reader:
        foreign = [name for name in reader.names if name != "__meta__" and not name.startswith(GROUPS)]
        if foreign:  # refused, not read: nothing but these groups is ever written
            raise UsageError(f"{path} is not an rnnkit checkpoint: it has a member {foreign[0]!r}, and an rnnkit "
                             "checkpoint holds only __meta__, param/*, optim/* and state/*")
        meta = _read_header(reader)
        model_spec = _model_spec(reader, meta)
        names = [name for name in reader.names if name.startswith("param/")]
        if training_state:
            names += _training_members(reader, model_spec)
        arrays = {name: reader.read(name) for name in names}
    checkpoint = Checkpoint(meta, arrays, path, model_spec)
    _check_values(checkpoint)
    return checkpoint


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _read_header(reader: NpzReader) -> dict:
    path = reader.path
    if "__meta__" not in reader.names:
        raise UsageError(f"{path} is not an rnnkit checkpoint: it has no rnnkit header")
    member = reader.member("__meta__")
    if member.dtype != np.uint8 or len(member.shape) != 1:
        raise UsageError(f"{path} is not an rnnkit checkpoint: it has no rnnkit header")
    if member.nbytes > MAX_HEADER_BYTES:
        raise UsageError(f"{path} has a header of {member.nbytes:,} bytes; an rnnkit header is far smaller")
    try:
        meta = json.loads(reader.read("__meta__").tobytes().decode("utf-8"), parse_constant=_refuse_constant)
        # A lone surrogate ("\ud800") parses, but is no character: it fails later, when printed.
        json.dumps(meta, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        # ValueError: not UTF-8, not JSON, NaN, an integer of thousands of digits, a lone
        # surrogate; RecursionError: nesting thousands deep
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
    if not isinstance(meta.get("task", {}).get("name", ""), str):
        raise UsageError(f"{path} has a damaged header: the task's name must be a string")
    return meta


def _model_spec(reader: NpzReader, meta: dict):
    """The model's spec from the header, checked against the parameter arrays present, then
    against the tokenizer that feeds it."""
    path = reader.path
    kind = meta["model"].get("kind")
    try:
        spec = spec_from_json(kind, meta["model"]["spec"])
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    except DAMAGE as exc:
        raise UsageError(f"{path}: the model spec is damaged ({type(exc).__name__}: {exc})") from None
    _check_param_headers(reader, spec)
    if model_kind(kind).tokenizer is None:  # a model that reads no ids (DRAW reads images)
        return spec
    try:
        tokenizer = model_tokenizer(kind, meta.get("tokenizers", {}))
        size = len(tokenizer)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    except DAMAGE as exc:
        raise UsageError(f"{path}: the vocabulary is damaged ({type(exc).__name__}: {exc})") from None
    if size != spec.vocab_size:
        raise UsageError(f"{path}: vocabulary holds {size} symbols but the model expects {spec.vocab_size}")
    symbols = getattr(tokenizer, "symbols", None)
    if getattr(tokenizer, "mode", None) == "char" and symbols is not None:
        surrogates = symbols[(symbols >= 0xD800) & (symbols <= 0xDFFF)]
        if surrogates.size:  # no text holds one; printing it would fail only when sampled
            raise UsageError(f"{path}: its vocabulary holds U+{int(surrogates[0]):04X}, a surrogate code point, "
                             "which is no character")
    return spec


def _check_param_headers(reader: NpzReader, spec) -> None:
    """The parameters present are exactly the spec's, with its shapes: checked on the zip's
    directory and the arrays' headers, before any of their data is read. A spec of more layers
    than the file has arrays is refused before its parameter list is even built (a billion layers
    would take that long)."""
    path = reader.path
    present = {name[len("param/"):] for name in reader.names if name.startswith("param/")}
    layers = getattr(spec, "layers", None)
    if isinstance(layers, int) and layers > len(present):
        raise UsageError(f"{path}: its model has {layers:,} layers but the file holds {len(present)} parameter arrays")
    try:
        expected = spec.param_shapes()
    except DAMAGE as exc:
        raise UsageError(f"{path}: the model spec is damaged ({type(exc).__name__}: {exc})") from None
    missing = [name for name in expected if name not in present]
    if missing:
        raise UsageError(f"{path} is missing parameter {missing[0]!r}")
    extra = sorted(present - set(expected))
    if extra:
        raise UsageError(f"{path} has a parameter {extra[0]!r} that its model does not have")
    for name, shape in expected.items():
        member = reader.member("param/" + name)
        if member.shape != shape or member.dtype.kind != "f":
            raise UsageError(f"{path}: parameter {name!r} has shape {member.shape} and dtype {member.dtype}, "
                             f"expected a float array of shape {shape}")


def _training_members(reader: NpzReader, spec) -> list[str]:
    """The names of the optimizer's and the carried state's arrays, checked on their headers:
    ``optim/<slot>/<param>`` a float array of its parameter's shape; ``state/<layer>/<k>`` float
    (B, H) arrays with one B for all. Whether the state fits the model the runtime checks."""
    path = reader.path
    shapes = spec.param_shapes()
    optim = [name for name in reader.names if name.startswith("optim/")]
    state = [name for name in reader.names if name.startswith("state/")]
    if len(optim) > 8 * len(shapes):
        raise UsageError(f"{path} has {len(optim)} optimizer arrays for {len(shapes)} parameters")
    for name in optim:
        slot, _, param = name[len("optim/"):].partition("/")
        member = reader.member(name)
        if not slot or param not in shapes:
            raise UsageError(f"{path} has optimizer state {name!r} for no parameter of its model")
        if member.shape != shapes[param] or member.dtype.kind != "f":
            raise UsageError(f"{path}: optimizer state {name!r} is {member.dtype} {member.shape}, expected "
                             f"floats of its parameter's shape {shapes[param]}")
    rows = set()
    for name in state:
        member = reader.member(name) if _STATE_NAME.fullmatch(name) else None
        if member is None or len(member.shape) != 2 or member.dtype.kind != "f":
            raise UsageError(f"{path}: {name!r} is not a carried state (a float (B, H) array under state/<layer>/<k>)")
        rows.add(member.shape[0])
    if len(rows) > 1:
        raise UsageError(f"{path}: the carried state's arrays have different row counts {sorted(rows)}")
    return optim + state


def params_problem(params: dict) -> str | None:
    """What makes ``params`` unfit to save or to load (NaN, infinite or absurdly large values), or
    None. The trainer asks before it saves; the loader refuses what this names."""
    for name, value in params.items():
        value = np.asarray(value)
        if not np.all(np.isfinite(value)):
            return f"parameter {name!r} holds NaN or infinite values"
        if value.size and float(np.max(np.abs(value))) > MAX_PARAM_ABS:
            return (f"parameter {name!r} holds values of magnitude {float(np.max(np.abs(value))):.3g}, "
                    f"beyond {MAX_PARAM_ABS:g} (a diverged or damaged model)")
    return None


def _check_values(checkpoint: Checkpoint) -> None:
    problem = params_problem(checkpoint.params)
    if problem:
        raise UsageError(f"{checkpoint.path}: {problem}")
    for name, value in checkpoint.arrays.items():
        if not name.startswith("param/") and not np.all(np.isfinite(value)):
            raise UsageError(f"{checkpoint.path}: {name!r} holds NaN or infinite values")
