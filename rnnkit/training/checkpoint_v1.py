"""Version 1 checkpoints (the character model's, before tasks existed) upgraded to version 2.

Version 1 headers held ``model`` (the character model's configuration), ``vocab``, ``train``,
``progress`` with ``best_bpc`` / ``val_bpc``, and ``stream``. The upgrade renames them into the
version 2 layout; the arrays are the same in both versions.
"""

from __future__ import annotations

from rnnkit.errors import UsageError


def upgrade_v1(meta: dict, path) -> dict:
    """A version 1 header as version 2 (see the module docstring)."""
    for key in ("model", "vocab"):
        if key not in meta:
            raise UsageError(f"{path} is incomplete: its header has no {key!r}")
    train = meta.get("train") if isinstance(meta.get("train"), dict) else {}
    upgraded = {
        "format": meta["format"], "version": 2,
        "model": {"kind": "charlm", "spec": meta["model"]},
        "tokenizers": {"chars": meta["vocab"]},
        "task": {"name": "charlm", "data": train.get("data"), "mode": train.get("mode", "char")},
    }
    for key in ("train", "schedule", "runtime"):
        if key in meta:
            upgraded[key] = meta[key]
    if "stream" in meta:
        upgraded["data_position"] = meta["stream"]
    progress = meta.get("progress")
    if isinstance(progress, dict):
        progress = dict(progress)
        best, val = progress.pop("best_bpc", None), progress.pop("val_bpc", None)
        upgraded["progress"] = {**progress, "best": best, "val": None if val is None else {"bpc": val}}
    return upgraded
