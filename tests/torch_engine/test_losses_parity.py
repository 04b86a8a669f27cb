"""The torch engine's losses against the NumPy engine's, in float64: the same loss and the same
gradient (autograd against the hand-written one) to 1e-12, and masked steps count for nothing."""

import numpy as np
import pytest
from gradutil import assert_close, randn

torch = pytest.importorskip("torch")

from rnnkit.numpy_engine import losses as np_losses  # noqa: E402
from rnnkit.torch_engine import losses as torch_losses  # noqa: E402

N, T, V, C = 3, 5, 7, 4
TOL = 1e-12


def _leaf(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def _problem(seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((N, T)) > 0.4
    mask[0, 0], mask[1, -1] = False, True
    return randn(rng, N, T, V), rng.integers(0, V, (N, T)), mask


@pytest.mark.parametrize("average", ["batch", "tokens"])
@pytest.mark.parametrize("masked", [False, True])
def test_temporal_softmax_loss_matches_numpy(average, masked):
    x, y, mask = _problem(0)
    mask = mask if masked else None
    want, want_dx = np_losses.temporal_softmax_loss(x, y, mask, average=average)
    t = _leaf(x)
    tmask = None if mask is None else torch.from_numpy(mask)
    loss = torch_losses.temporal_softmax_loss(t, torch.from_numpy(y), tmask, average=average)
    loss.backward()
    assert loss.dtype == torch.float64 and loss.dim() == 0
    assert loss.item() == pytest.approx(want, rel=TOL)
    assert_close(t.grad.numpy(), want_dx, "dx", TOL)


def test_masked_steps_contribute_nothing():
    x, y, mask = _problem(1)
    garbage_x, garbage_y = x.copy(), y.copy()
    garbage_x[~mask] = 1e3 * randn(np.random.default_rng(2), int((~mask).sum()), V)
    garbage_y[~mask] = -1  # a padding target need not even be a class
    for average in ("batch", "tokens"):
        losses, grads = [], []
        for scores, targets in ((x, y), (garbage_x, garbage_y)):
            t = _leaf(scores)
            tmask = torch.from_numpy(mask)
            loss = torch_losses.temporal_softmax_loss(t, torch.from_numpy(targets), tmask, average)
            loss.backward()
            losses.append(loss.item())
            grads.append(t.grad.numpy())
        assert losses[0] == losses[1]
        np.testing.assert_array_equal(grads[0], grads[1])
        assert not grads[1][~mask].any()


def test_a_01_float_mask_is_a_boolean_mask_and_all_padding_costs_nothing():
    x, y, mask = _problem(3)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for average in ("batch", "tokens"):
        as_bool = torch_losses.temporal_softmax_loss(tx, ty, torch.from_numpy(mask), average)
        as_float = torch_losses.temporal_softmax_loss(tx, ty, torch.from_numpy(mask.astype(np.float64)), average)
        assert as_bool.item() == as_float.item()
    nothing = torch_losses.temporal_softmax_loss(tx, ty, torch.zeros(N, T, dtype=torch.bool), "tokens")
    assert nothing.item() == 0.0 == np_losses.temporal_softmax_loss(x, y, np.zeros((N, T)), "tokens")[0]
    with pytest.raises(ValueError, match="average"):
        torch_losses.temporal_softmax_loss(tx, ty, average="mean")


def test_softmax_loss_and_cross_entropy_sum_match_numpy():
    rng = np.random.default_rng(4)
    x, y = randn(rng, N, C), rng.integers(0, C, N)
    want, want_dx = np_losses.softmax_loss(x, y)
    t = _leaf(x)
    loss = torch_losses.softmax_loss(t, torch.from_numpy(y))
    loss.backward()
    assert loss.item() == pytest.approx(want, rel=TOL)
    assert_close(t.grad.numpy(), want_dx, "dx", TOL)
    got = torch_losses.cross_entropy_sum(torch.from_numpy(x), torch.from_numpy(y))
    assert got.item() == pytest.approx(np_losses.cross_entropy_sum(x, y), rel=TOL)
