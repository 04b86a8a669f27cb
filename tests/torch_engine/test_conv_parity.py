"""The torch engine's convolution, pooling and image encoder against the NumPy engine's
hand-written pairs in float64: the same outputs and the same gradients (to 1e-9), with the same
parameter names and layouts."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit.image_encoder import ImageEncoderSpec  # noqa: E402
from rnnkit.numpy_engine.conv import conv2d_backward, conv2d_forward  # noqa: E402
from rnnkit.numpy_engine.image_encoder import encoder_backward, encoder_forward  # noqa: E402
from rnnkit.torch_engine.conv import conv2d, conv_stack, max_pool2x2  # noqa: E402
from rnnkit.torch_engine.image_encoder import ImageEncoder  # noqa: E402

PARITY = 1e-9


def close(a, b):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else a
    return np.max(np.abs(a - b)) <= PARITY * max(1.0, np.max(np.abs(b)))


def test_conv2d_matches_torch_autograd():
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((2, 6, 5, 3)), rng.standard_normal((3, 3, 3, 4)), rng.standard_normal(4)
    dout = rng.standard_normal((2, 6, 5, 4))
    out, cache = conv2d_forward(x, W, b)
    dx, dW, db = conv2d_backward(dout, cache)
    tx, tW, tb = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    tout = conv2d(tx, tW, tb)
    (tout * torch.tensor(dout)).sum().backward()
    assert close(tout, out)
    assert close(tx.grad, dx) and close(tW.grad, dW) and close(tb.grad, db)


@pytest.mark.parametrize("pool", [True, False])
def test_the_channels_first_stack_equals_the_layer_by_layer_channels_last_chain(pool):
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.standard_normal((2, 8, 8, 3)))
    layers = [(torch.tensor(rng.standard_normal((3, 3, 3, 5))), torch.tensor(rng.standard_normal(5))),
              (torch.tensor(rng.standard_normal((3, 3, 5, 4))), torch.tensor(rng.standard_normal(4)))]
    leaves = [x.requires_grad_(), *(t.requires_grad_() for layer in layers for t in layer)]
    chained = x
    for W, b in layers:
        chained = torch.relu(conv2d(chained, W, b))
        chained = max_pool2x2(chained) if pool else chained
    stacked = conv_stack(x, layers, pool)
    assert stacked.shape == chained.shape == ((2, 2, 2, 4) if pool else (2, 8, 8, 4))
    assert close(stacked, chained.detach().numpy())
    # the stack applies ReLU after the pool (they commute): the gradients must be the same too
    dout = torch.tensor(rng.standard_normal(tuple(stacked.shape)))
    for a, b in zip(torch.autograd.grad((chained * dout).sum(), leaves),
                    torch.autograd.grad((stacked * dout).sum(), leaves)):
        assert close(b, a.numpy())


def test_encoder_matches_torch_autograd_with_the_same_parameter_names():
    spec = ImageEncoderSpec(height=16, width=16, channels=(4, 6), kernel=3)
    rng = np.random.default_rng(1)
    params = spec.init_params(rng)
    model = ImageEncoder(spec).double()
    named = {"enc." + k: v for k, v in model.named_parameters()}
    assert {k: tuple(v.shape) for k, v in named.items()} == spec.param_shapes()
    with torch.no_grad():
        for name, p in named.items():
            p.copy_(torch.tensor(params[name]))
    images = rng.random((3, 16, 16))
    dfeat, dgrid = rng.standard_normal((3, 6)), rng.standard_normal((3, 4, 4, 6))
    feats, grid, cache = encoder_forward(images, params, spec)
    grads = {}
    dimages = encoder_backward(dfeat, dgrid, cache, grads)
    timages = torch.tensor(images, requires_grad=True)
    tfeat, tgrid = model(timages)
    ((tfeat * torch.tensor(dfeat)).sum() + (tgrid * torch.tensor(dgrid)).sum()).backward()
    assert close(tfeat, feats) and close(tgrid, grid)
    assert close(timages.grad, dimages[..., 0])
    for name, p in named.items():
        assert close(p.grad, grads[name]), name
