"""Checkpoints: one ``.npz`` file of plain numeric arrays plus a JSON header, never pickle.

Layout of the arrays (see docs/architecture.md):

    param/<name>          model parameters in the shared model format
    optim/<slot>/<name>   optimizer state
    state/<layer>/<k>     the carried hidden state of the training streams (k = 0: h, 1: c)
    __meta__              uint8 array holding UTF-8 JSON: format, version, model, vocab, train, progress

A checkpoint can come from a stranger, so loading uses ``allow_pickle=False`` and validates the
header and every parameter's shape before anything is built from it. Saving writes a temporary
file in the same folder, flushes it to disk and renames it over the old one: a crash leaves either
the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.config import ModelConfig
from rnnkit.data.vocab import Vocab
from rnnkit.errors import UsageError

FORMAT = "rnnkit-checkpoint"
VERSION = 1
LATEST = "checkpoint.npz"
BEST = "best.npz"


@dataclass
class Checkpoint:
    """A loaded checkpoint: its JSON header and its arrays (by full name, e.g. ``param/head.W``)."""

    meta: dict
    arrays: dict
    path: Path

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig.from_json(self.meta["model"])

    @property
    def vocab(self) -> Vocab:
        return Vocab.from_json(self.meta["vocab"])

    def group(self, prefix: str) -> dict:
        """Arrays whose names start with ``prefix/``, keyed by the rest of the name."""
        start = prefix + "/"
        return {k[len(start):]: v for k, v in self.arrays.items() if k.startswith(start)}

    @property
    def params(self) -> dict:
        return self.group("param")


def state_arrays(state, to_array=np.asarray) -> dict:
    """The carried state as checkpoint arrays: ``{"state/<layer>/<k>": (B, H)}``.

    ``state`` is a list with one tuple per layer ((h,) or (h, c)); ``to_array`` turns an engine's
    tensor into a NumPy array.
    """
    return {f"state/{l}/{k}": to_array(v) for l, tensors in enumerate(state) for k, v in enumerate(tensors)}


def state_from_arrays(saved: dict, layers: int, width: int, convert) -> list:
    """The inverse of :func:`state_arrays`: ``saved`` maps ``"<layer>/<k>"`` (the ``state`` group)
    to arrays, ``convert`` turns each into the engine's tensor. A missing or misshapen array is a
    UsageError."""
    try:
        return [tuple(convert(saved[f"{l}/{k}"]) for k in range(width)) for l in range(layers)]
    except (KeyError, IndexError) as exc:
        raise UsageError(f"the checkpoint's carried state does not fit the model: {exc}") from None


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


def load_checkpoint(spec, prefer_best: bool = True) -> Checkpoint:
    """Load and validate a checkpoint; any problem is a :class:`UsageError` naming the file."""
    path = resolve_checkpoint(spec, prefer_best)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as exc:  # noqa: BLE001
        # Any failure to parse the file is the file's fault: besides BadZipFile, ValueError and OSError,
        # a corrupted zip directory raises NotImplementedError and a corrupted .npy header
        # SyntaxError or tokenize.TokenError (numpy parses the header as a Python literal).
        raise UsageError(
            f"{path} is not a readable rnnkit checkpoint (truncated or corrupted?): {exc}"
        ) from None
    # np.load hands back a zip member that is not a .npy file as raw bytes.
    foreign = sorted(name for name, value in arrays.items() if not isinstance(value, np.ndarray))
    if foreign:
        raise UsageError(f"{path} is not an rnnkit checkpoint: its member {foreign[0]!r} is not a NumPy array")
    meta_bytes = arrays.pop("__meta__", None)
    if meta_bytes is None or meta_bytes.dtype != np.uint8:
        raise UsageError(f"{path} is not an rnnkit checkpoint: it has no rnnkit header")
    try:
        meta = json.loads(meta_bytes.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError(f"{path} has a corrupted header (not UTF-8 JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UsageError(f"{path} is not an rnnkit checkpoint (its header names another format)")
    if meta.get("version") != VERSION:
        raise UsageError(f"{path} is checkpoint version {meta.get('version')!r}; this rnnkit reads version {VERSION}")
    for key in ("model", "vocab"):
        if key not in meta:
            raise UsageError(f"{path} is incomplete: its header has no {key!r}")
    checkpoint = Checkpoint(meta, arrays, path)
    _validate_params(checkpoint)
    return checkpoint


def _validate_params(checkpoint: Checkpoint) -> None:
    config = checkpoint.model_config
    vocab = checkpoint.vocab
    if len(vocab) != config.vocab_size:
        raise UsageError(f"{checkpoint.path}: vocabulary holds {len(vocab)} symbols but the model expects {config.vocab_size}")
    params = checkpoint.params
    for name, shape in config.param_shapes().items():
        if name not in params:
            raise UsageError(f"{checkpoint.path} is missing parameter {name!r}")
        value = params[name]
        if value.shape != shape or value.dtype.kind != "f":
            raise UsageError(
                f"{checkpoint.path}: parameter {name!r} has shape {value.shape} and dtype {value.dtype}, "
                f"expected a float array of shape {shape}"
            )
        if not np.all(np.isfinite(value)):
            raise UsageError(f"{checkpoint.path}: parameter {name!r} holds NaN or infinite values")
