"""The glimpse sensor (rnnkit/numpy_engine/glimpse.py): patches read where the docstring says,
block means at coarser scales, zeros outside the image, clipping, a naive loop, and the torch twin."""

import numpy as np
import pytest

from rnnkit.numpy_engine.glimpse import clip_locations, coarse_view, glimpse_boxes, glimpse_sensor, patch_corners


def naive_sensor(image, loc, patch, scales, factor):
    """Pixel by pixel from the definition: corners floor(c - s/2 + 1/2), zeros outside, block means."""
    S = image.shape[0]
    loc = np.clip(loc, -1, 1)
    out = np.zeros((scales, patch, patch))
    for i in range(scales):
        block, side = factor ** i, patch * factor ** i
        top, left = (int(np.floor((loc[k] + 1) * S / 2 - side / 2 + 0.5)) for k in range(2))
        for a in range(patch):
            for b in range(patch):
                total = 0.0
                for r in range(top + a * block, top + (a + 1) * block):
                    for c in range(left + b * block, left + (b + 1) * block):
                        total += image[r, c] if 0 <= r < S and 0 <= c < S else 0.0
                out[i, a, b] = total / block ** 2
    return out


def test_the_centre_patch_of_a_known_image():
    image = np.arange(36, dtype=np.float64).reshape(1, 6, 6)
    rho = glimpse_sensor(image, np.zeros((1, 2)), patch=2, scales=2)
    assert rho.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(rho[0, 0], [[14, 15], [20, 21]])          # rows 2-3, columns 2-3
    # scale 1: the 4 x 4 square rows 1-4, columns 1-4, as 2 x 2 block means
    np.testing.assert_array_equal(rho[0, 1], [[(7 + 8 + 13 + 14) / 4, (9 + 10 + 15 + 16) / 4],
                                              [(19 + 20 + 25 + 26) / 4, (21 + 22 + 27 + 28) / 4]])


def test_a_corner_location_reads_zeros_outside_the_image():
    image = np.ones((1, 8, 8))
    rho = glimpse_sensor(image, np.array([[-1.0, -1.0]]), patch=2, scales=1)
    # centre pixel coordinate (0, 0): the patch covers rows and columns -1 and 0
    np.testing.assert_array_equal(rho[0, 0], [[0, 0], [0, 1]])


def test_locations_outside_the_image_are_clipped():
    rng = np.random.default_rng(0)
    images = rng.random((3, 10, 10))
    far = np.array([[3.0, -2.0], [1.5, 0.2], [-9.0, 9.0]])
    np.testing.assert_array_equal(glimpse_sensor(images, far, 3, 2), glimpse_sensor(images, clip_locations(far), 3, 2))


@pytest.mark.parametrize("size, patch, scales, factor", [(12, 3, 3, 2), (9, 2, 2, 3), (8, 8, 1, 2)])
def test_the_vectorised_sensor_matches_a_naive_loop(size, patch, scales, factor):
    rng = np.random.default_rng(size)
    images, locs = rng.random((4, size, size)), rng.uniform(-1.1, 1.1, (4, 2))
    rho = glimpse_sensor(images, locs, patch, scales, factor)
    for n in range(4):
        np.testing.assert_allclose(rho[n], naive_sensor(images[n], locs[n], patch, scales, factor), atol=1e-12)


def test_boxes_are_the_squares_the_sensor_reads():
    locs = np.array([[0.3, -0.5], [1.0, 1.0]])
    boxes = glimpse_boxes(locs, 20, patch=4, scales=2)
    np.testing.assert_array_equal(boxes[:, 0, :2], patch_corners(locs, 20, 4))
    np.testing.assert_array_equal(boxes[:, 1, 2], [8, 8])


def test_coarse_view_is_block_means_with_zero_padding():
    image = np.arange(25, dtype=np.float64).reshape(1, 5, 5)
    view = coarse_view(image, 2)                     # blocks of 3 over a 6 x 6 zero-padded image
    assert view.shape == (1, 2, 2)
    assert view[0, 0, 0] == image[0, :3, :3].mean()
    assert view[0, 1, 1] == image[0, 3:, 3:].sum() / 9


def test_the_torch_sensor_is_the_same_function():
    torch = pytest.importorskip("torch")
    from rnnkit.torch_engine import glimpse as tg

    rng = np.random.default_rng(1)
    images, locs = rng.random((5, 16, 16)), rng.uniform(-1.2, 1.2, (5, 2))
    expected = glimpse_sensor(images, locs, 3, 3)
    got = tg.glimpse_sensor(torch.as_tensor(images), torch.as_tensor(locs), 3, 3).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_allclose(tg.coarse_view(torch.as_tensor(images), 3).numpy(), coarse_view(images, 3), atol=1e-12)
