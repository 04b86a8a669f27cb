"""What a trained VQA model needs to read an image and a question, and nothing of the data.

Bad-input policy (docs/vqa.md), each a one-line UsageError (exit code 2) where it is an error:

- a missing or unreadable file, or one that is not a PNG: error;
- any PNG colour type (grey, palette, RGB, with or without alpha) is converted to RGB, transparent
  pixels composited on white (``fit_square``);
- another size than the model's: padded with white to a centred square and resized by area
  averaging to the model's size, with a warning (easy-VQA's pictures are 64x64);
- an empty question (no word): error;
- words outside the vocabulary: read as ``<unk>``, with a warning naming them.
"""

from __future__ import annotations

import sys

import numpy as np

from rnnkit.data.images import fit_to_model, read_image_file
from rnnkit.data.padding import pad_batch
from rnnkit.data.sources.png import decode_png
from rnnkit.data.words import UNK_ID, TokenVocab
from rnnkit.errors import UsageError


class VQAReader:
    """The question vocabulary, the answers and the image size (all saved in the checkpoint)."""

    def __init__(self, vocab: TokenVocab, answers: tuple[str, ...], height: int, width: int, channels: int = 3):
        self.vocab, self.answers = vocab, tuple(answers)
        self.height, self.width, self.channels = height, width, channels

    @classmethod
    def from_checkpoint(cls, checkpoint) -> "VQAReader":
        spec, task = checkpoint.spec, checkpoint.task
        try:
            vocab = TokenVocab.from_json(checkpoint.tokenizers["tokens"])
            answers = task["answers"]
            if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
                raise TypeError("answers must be a list of strings")
        except (KeyError, TypeError) as exc:
            raise UsageError(f"{checkpoint.path} has no usable VQA vocabulary or answers ({exc})") from None
        if len(answers) != spec.answers:
            raise UsageError(f"{checkpoint.path} lists {len(answers)} answers but its model has {spec.answers}")
        return cls(vocab, tuple(answers), spec.image_height, spec.image_width, spec.image_channels)

    def read_image(self, path, warn=None) -> np.ndarray:
        """The image at ``path`` as (H, W, 3) float32 in [0, 1], converted and resized as the module
        docstring says."""
        path, data = read_image_file(path)
        rgba = decode_png(data, str(path))  # UsageError for anything that is not a sane PNG
        return fit_to_model(rgba, path, self.height, self.width, warn or sys.stderr)

    def encode_question(self, question: str, where: str = "the question", warn=None) -> np.ndarray:
        """The question's ids (n,); empty is an error, unknown words a warning."""
        warn = warn or sys.stderr
        tokens = self.vocab.tokenize(question)
        if not tokens:
            raise UsageError(f"{where} is empty: ask a question about the image")
        unknown = [t for t in tokens if self.vocab.id_of(t) == UNK_ID]
        if unknown:
            print(f"warning: {where} has words the model never saw, read as <unk>: {', '.join(unknown)}",
                  file=warn)
        return self.vocab.encode(question)

    def predict(self, runtime, pairs: list[tuple[str, str]], warn=None) -> list[dict]:
        """Answer each (image path, question): ``[{"answer", "probability", "probabilities",
        "attention"}]``, attention a list per hop of (h, w) nested lists over the image's grid."""
        if not pairs:
            raise UsageError("nothing to answer: give an image and a question")
        images = np.stack([self.read_image(image, warn) for image, _ in pairs])
        seqs = [self.encode_question(q, f"question {i}", warn) for i, (_, q) in enumerate(pairs, start=1)]
        ids, mask, _ = pad_batch(seqs)
        probs = runtime.call("predict_proba", images, ids, mask)
        attention = runtime.call("attention", images, ids, mask)       # (N, K, L)
        spec = runtime.spec
        h, w = spec.encoder.grid
        results = []
        for row, weights in zip(probs, attention):
            k = int(np.argmax(row))
            results.append({"answer": self.answers[k], "probability": float(row[k]),
                            "probabilities": {a: float(p) for a, p in zip(self.answers, row)},
                            "attention": weights.reshape(-1, h, w).tolist()})
        return results
