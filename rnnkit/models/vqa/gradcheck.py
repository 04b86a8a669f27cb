"""Gradient checks of the VQA model's hand-written backward, for ``rnnkit gradcheck`` and the tests.

A tiny model in float64 (:func:`tiny_spec`: 8x8 RGB images, two conv layers each pooled, so a
2x2 grid of L = 4 locations), weights drawn larger than at initialisation so that every
gradient is of order one, a ragged batch of questions (padding included), and central differences
of the summed loss (N times the mean) for every parameter, the encoder's included. The head alone
(everything after the grid) is checked too, with the image features as an input: its dgrid is what
the encoder's backward receives.
"""

from __future__ import annotations

import numpy as np

from rnnkit.models.vqa.numpy_model import VQA
from rnnkit.models.vqa.spec import VQASpec
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient, rel_error, rel_error_norm
from rnnkit.numpy_engine.losses import softmax_loss

N, T, V, ANSWERS = 3, 4, 7, 4


def tiny_spec(hops: int = 2, cell: str = "lstm") -> VQASpec:
    """A VQA spec small enough for central differences over every parameter."""
    return VQASpec(cell=cell, vocab_size=V, embed_dim=4, hidden=5, hops=hops, attention=3, answers=ANSWERS,
                   image_height=8, image_width=8, image_channels=3, channels=(2, 3), kernel=3)


def tiny_problem(rng, spec: VQASpec):
    """(model, images, ids, mask, answers): random float64 weights (N(0, 0.5^2)), rows of 4, 2 and
    1 words with random ids in the padding (which must not matter)."""
    model = VQA.create(spec, dtype=np.float64)
    for value in model.params.values():
        value[...] = rng.standard_normal(value.shape) * 0.5
    images = rng.random((N, spec.image_height, spec.image_width, spec.image_channels))
    mask = np.arange(T)[None, :] < np.array([4, 2, 1])[:, None]
    ids = rng.integers(0, V, (N, T))
    return model, images, ids, mask, rng.integers(0, ANSWERS, N)


def check_vqa(rng, hops: int = 2) -> dict:
    """{(check, parameter): (rel_error_norm, rel_error)} for the whole model and for the head's dgrid."""
    spec = tiny_spec(hops)
    model, images, ids, mask, answers = tiny_problem(rng, spec)
    name = f"vqa {hops} hop" + ("s" if hops > 1 else "")
    _, grads, _ = model.loss(images, ids, mask, answers)

    def loss(_):
        return model.loss(images, ids, mask, answers)[0] * N   # the sum keeps gradients well above noise

    results = {}
    for key, p in model.params.items():
        numerical = eval_numerical_gradient(loss, p)
        results[(name, key)] = (rel_error_norm(grads[key] * N, numerical), rel_error(grads[key] * N, numerical))
    h, w = spec.encoder.grid
    grid = rng.standard_normal((N, h * w, spec.channels[-1]))

    def head_loss(g):
        return softmax_loss(model.head_forward(g, ids, mask)[0], answers)[0] * N

    scores, cache = model.head_forward(grid, ids, mask)
    dgrid, _ = model.head_backward(softmax_loss(scores, answers)[1] * N, cache)
    numerical = eval_numerical_gradient(head_loss, grid)
    results[(f"vqa head {hops} hop" + ("s" if hops > 1 else ""), "grid")] = (
        rel_error_norm(dgrid, numerical), rel_error(dgrid, numerical))
    return results
