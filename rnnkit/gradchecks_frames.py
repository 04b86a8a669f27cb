"""Gradient checks of the image encoder's layers and of the frame tagger: rows of the
``rnnkit gradcheck`` table (rnnkit/gradchecks.py runs them with the others).

Each layer is checked through f = sum(out * dout) with a random dout, as the other layers are;
the tagger through its real loss (summed over the frames, so that its gradients stand well above
the finite-difference noise), for image and vector frames, causal, bidirectional and frame-alone.
Inputs are random normals: a ReLU's or a max-pool's kink is then never within the step h of an
entry, where central differences would be meaningless.
"""

from __future__ import annotations

import numpy as np

from rnnkit.image_encoder import ImageEncoderSpec
from rnnkit.numpy_engine import conv
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient, rel_error, rel_error_norm
from rnnkit.numpy_engine.image_encoder import encoder_backward, encoder_forward


def _compare(analytic, numerical):
    """(rel_error_norm, rel_error); a gradient that is zero everywhere proves nothing (a dead ReLU
    layer would pass vacuously), so it counts as an error of 1."""
    if np.linalg.norm(numerical) < 1e-9:
        return 1.0, 1.0
    return rel_error_norm(analytic, numerical), rel_error(analytic, numerical)


def check_conv(rng) -> dict:
    """conv2d (x, W, b), relu + 2x2 max-pool (x), and the two-layer encoder (images, every weight)."""
    results = {}
    inputs = {"x": rng.standard_normal((2, 4, 6, 2)), "W": rng.standard_normal((3, 3, 2, 3)),
              "b": rng.standard_normal(3)}
    dout = rng.standard_normal((2, 4, 6, 3))
    f = lambda _: float(np.sum(conv.conv2d_forward(**inputs)[0] * dout))  # noqa: E731
    analytic = dict(zip("xWb", conv.conv2d_backward(dout, conv.conv2d_forward(**inputs)[1])))
    for name in "xWb":
        results[("conv2d", name)] = _compare(analytic[name], eval_numerical_gradient(f, inputs[name]))
    x = rng.standard_normal((2, 4, 6, 3))
    dpool = rng.standard_normal((2, 2, 3, 3))
    relu, positive = conv.relu_forward(x)
    _, pool = conv.max_pool2x2_forward(relu)
    dx = conv.relu_backward(conv.max_pool2x2_backward(dpool, pool), positive)
    f = lambda _: float(np.sum(conv.max_pool2x2_forward(conv.relu_forward(x)[0])[0] * dpool))  # noqa: E731
    results[("relu + max_pool2x2", "x")] = _compare(dx, eval_numerical_gradient(f, x))

    spec = ImageEncoderSpec(height=8, width=8, channels=(2, 3))
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in spec.init_params(rng).items()}
    images = rng.random((2, 8, 8))
    dfeat, dgrid = rng.standard_normal((2, 3)), rng.standard_normal((2, 2, 2, 3))

    def f():
        feats, grid, _ = encoder_forward(images, params, spec)
        return float(np.sum(feats * dfeat) + np.sum(grid * dgrid))

    grads = {}
    dimages = encoder_backward(dfeat, dgrid, encoder_forward(images, params, spec)[2], grads)
    results[("image encoder", "images")] = _compare(dimages[..., 0], eval_numerical_gradient(lambda _: f(), images))
    for name, p in params.items():
        results[("image encoder", name)] = _compare(grads[name], eval_numerical_gradient(lambda _: f(), p))
    return results


def check_tagger(rng, frames: str = "image", **fields) -> dict:
    """The frame tagger through its real loss, with a ragged batch (one clip a frame short)."""
    from rnnkit.models.tagger.numpy_model import Tagger
    from rnnkit.models.tagger.spec import TaggerSpec

    N, T, C = 2, 3, 3
    extra = ({"encoder": ImageEncoderSpec(height=8, width=8, channels=(4, 4))} if frames == "image"
             else {"input_dim": 4, "embed_dim": 3})
    spec = TaggerSpec(classes=C, frames=frames, hidden=3, **extra, **fields)
    model = Tagger.create(spec, seed=int(rng.integers(1 << 30)), dtype=np.float64)
    for name, value in model.params.items():
        value += 0.1 * rng.standard_normal(value.shape)
        if name.startswith("enc.") and name.endswith(".b"):
            value += 0.2  # every ReLU layer alive: else the encoder's gradients are zero, checked vacuously
    clip = rng.random((N, T, *spec.frame_shape()))
    mask = np.arange(T)[None, :] < np.array([T, T - 1])[:, None]
    labels = rng.integers(0, C, (N, T))
    scale = float(mask.sum())
    _, grads, _ = model.loss(clip, mask, labels)
    loss = lambda _: model.loss(clip, mask, labels)[0] * scale  # noqa: E731
    name = f"tagger {frames}" + "".join(f" {k}" for k, v in fields.items() if v is True) + \
        "".join(f" {v}" for k, v in fields.items() if isinstance(v, str))
    return {(name, k): _compare(grads[k] * scale, eval_numerical_gradient(loss, p)) for k, p in model.params.items()}


def run_frames(rng) -> dict:
    """Every row of this module."""
    results = check_conv(rng)
    results.update(check_tagger(rng, "image"))
    results.update(check_tagger(rng, "image", frame_alone=True))
    results.update(check_tagger(rng, "vector", bidirectional=True, cell="gru"))
    return results
