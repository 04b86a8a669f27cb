"""Gradient check of the captioner's hand-written backward, with and without soft attention
(``rnnkit gradcheck`` and the tests):
a tiny float64 model (8x8 RGB images, two pooled conv layers), weights N(0, 0.5^2), captions of
4, 2 and 1 real words with random ids in the padding, central differences of N times the loss
for every parameter, the encoder's included. With ``grids=True`` the model reads 2x3 feature grids
of 4 features (``spec.grid``, no encoder) instead of pictures."""

from __future__ import annotations

import numpy as np

from rnnkit.models.captioner.numpy_model import Captioner
from rnnkit.models.captioner.spec import CaptionerSpec
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient, rel_error, rel_error_norm

N, T, V = 3, 4, 7


def tiny_spec(cell: str = "lstm", layers: int = 1, attention: str = "none", grids: bool = False,
              global_feature: str = "mean") -> CaptionerSpec:
    """Soft attention over the 2x2 grid (2x3 for grids), attention size 3, penalty 0.7 (any weight of
    it is checked)."""
    source = ({"grid": (2, 3, 4)} if grids else
              {"image_height": 8, "image_width": 8, "image_channels": 3, "channels": (2, 3), "kernel": 3})
    return CaptionerSpec(cell=cell, vocab_size=V, embed_dim=4, hidden=5, layers=layers, attention=attention,
                         attention_size=3, penalty=0.7, global_feature=global_feature, **source)


def tiny_problem(rng, spec: CaptionerSpec):
    """(model, images or feature grids (N, *spec.input_shape), captions (N, T+1), mask (N, T))."""
    model = Captioner.create(spec, dtype=np.float64)
    for value in model.params.values():
        value[...] = rng.standard_normal(value.shape) * 0.5
    # Grids N(0, 1): locations that differ clearly, so attention's gradients stand above the noise.
    images = rng.random((N, *spec.input_shape)) if spec.grid is None else rng.standard_normal((N, *spec.grid))
    captions = rng.integers(0, V, (N, T + 1))
    mask = np.arange(T)[None, :] < np.array([4, 2, 1])[:, None]
    return model, images, captions, mask


def check_captioner(rng, cell: str = "lstm", layers: int = 1, attention: str = "none", grids: bool = False,
                    global_feature: str = "mean") -> dict:
    """{("captioner <cell> xL [soft] [grids] [flat]", parameter): (rel_error_norm, rel_error)}; with
    soft attention the loss includes the doubly stochastic penalty."""
    model, images, captions, mask = tiny_problem(rng, tiny_spec(cell, layers, attention, grids, global_feature))
    layer = (f"captioner {cell} x{layers}" + (" soft" if attention == "soft" else "") + (" grids" if grids else "")
             + (" flat" if global_feature == "flat" else ""))
    _, grads, _ = model.loss(images, captions, mask)
    loss = lambda _: model.loss(images, captions, mask)[0] * N   # noqa: E731  the sum: gradients above noise
    results = {}
    for key, p in model.params.items():
        numerical = eval_numerical_gradient(loss, p)
        results[(layer, key)] = (rel_error_norm(grads[key] * N, numerical), rel_error(grads[key] * N, numerical))
    return results
