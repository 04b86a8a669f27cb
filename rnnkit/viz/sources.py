"""What the viz commands read: text (a named corpus or a file) and trained character models."""

from __future__ import annotations

import numpy as np

from rnnkit.data.corpora import CORPORA, bible_text, check_data_file, stdlib_text
from rnnkit.errors import UsageError


def load_text(spec: str, limit: int) -> str:
    """At most ``limit`` characters of ``stdlib``, ``kjv``, ``sparv`` or a UTF-8 text file."""
    if spec == "stdlib":
        return stdlib_text(limit)
    if spec in ("kjv", "sparv"):
        return bible_text(spec)[:limit]
    if spec in CORPORA:
        raise UsageError(f"--data {spec} is too large to read whole here; give a text file")
    path = check_data_file(spec)
    with open(path, encoding="utf-8", errors="strict") as f:
        try:
            text = f.read(limit)
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path} is not UTF-8 text ({exc.reason})") from None
    if not text:
        raise UsageError(f"{path} is empty")
    return text


def load_charlm(path):
    """(checkpoint, NumPy CharLM in float64) of a character-model run folder or checkpoint file."""
    from rnnkit.models.charlm.numpy_model import CharLM
    from rnnkit.training.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(path, training_state=False)
    if checkpoint.kind != "charlm":
        raise UsageError(f"{checkpoint.path} holds a {checkpoint.kind} model; this command reads character models")
    params = {k: np.asarray(v, dtype=np.float64) for k, v in checkpoint.params.items()}
    try:
        return checkpoint, CharLM(checkpoint.spec, params)
    except ValueError as exc:
        raise UsageError(f"{checkpoint.path}: {exc}") from None


def known_text(vocab, text: str) -> tuple[str, int]:
    """``text`` without the characters ``vocab`` lacks, and how many were dropped (character-mode
    vocabularies only)."""
    if vocab.mode != "char":
        raise UsageError("this command reads character-mode models (not --byte-mode)")
    missing = set(vocab.unknown(text))
    if not missing:
        return text, 0
    kept = "".join(ch for ch in text if ch not in missing)
    return kept, len(text) - len(kept)
