"""The class names of a frame-labelling task, kept in a checkpoint as its ``labels`` tokenizer.

A tagger's outputs are indices into these names (``none``, when a task has it, is one of them);
the checkpoint loader checks that there are as many names as the model has classes.
"""

from __future__ import annotations

from rnnkit.errors import UsageError

MAX_LABELS = 1 << 16
MAX_NAME = 200


class LabelSet:
    """An ordered tuple of distinct, non-empty class names."""

    def __init__(self, names):
        names = tuple(names)
        if not 2 <= len(names) <= MAX_LABELS:
            raise UsageError(f"a label set needs 2 to {MAX_LABELS:,} names, got {len(names)}")
        if not all(isinstance(n, str) and 0 < len(n) <= MAX_NAME for n in names):
            raise UsageError("every label must be a non-empty string of at most 200 characters")
        if len(set(names)) != len(names):
            raise UsageError("the labels are not distinct")
        self.names = names

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, k: int) -> str:
        return self.names[k]

    def to_json(self) -> dict:
        return {"names": list(self.names)}

    @classmethod
    def from_json(cls, data) -> "LabelSet":
        if not isinstance(data, dict) or not isinstance(data.get("names"), list):
            raise UsageError("a label set is a JSON object with a list of names")
        return cls(data["names"])
