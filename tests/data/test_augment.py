"""Random shifts and mirror images of training pictures (rnnkit/data/augment.py)."""

import numpy as np
import pytest

from rnnkit.data.augment import MAX_SHIFT, augment_images


def dot_pictures(n=64, side=16):
    """Each picture black with one white pixel in its middle, and a grey channel of its index."""
    images = np.zeros((n, side, side, 2), np.float32)
    images[:, side // 2, side // 2, 0] = 1.0
    images[:, :, :, 1] = np.arange(n, dtype=np.float32)[:, None, None]
    return images


def dot_places(images):
    return [tuple(int(v) for v in np.argwhere(image[:, :, 0] == 1.0)[0]) for image in images]


def test_none_returns_the_pictures_unchanged():
    images = dot_pictures()
    assert augment_images(images, "none", np.random.default_rng(0)) is images


def test_shift_moves_each_picture_within_the_bound_and_keeps_everything_else():
    images = dot_pictures()
    out = augment_images(images, "shift", np.random.default_rng(0))
    assert out.shape == images.shape and out.dtype == images.dtype
    moves = [(y - 8, x - 8) for y, x in dot_places(out)]
    assert all(abs(dy) <= MAX_SHIFT and abs(dx) <= MAX_SHIFT for dy, dx in moves)
    assert len(set(moves)) > 10                                   # random, not one fixed move
    assert (out[:, :, :, 0].sum(axis=(1, 2)) == 1).all()          # the dot is neither lost nor doubled
    np.testing.assert_array_equal(out[:, :, :, 1], images[:, :, :, 1])   # each picture stays itself
    assert images[:, 8, 8, 0].all()                               # the input is not changed


def test_the_background_fills_the_space_left_behind():
    images = np.ones((32, 12, 12, 3), np.float32)                 # a stamp on white, as Tux Paint's
    images[:, 5:7, 5:7] = 0.0
    out = augment_images(images, "shift", np.random.default_rng(1))
    assert (out[:, [0, 0, -1, -1], [0, -1, 0, -1]] == 1.0).all()  # corners white, not zero padding
    assert ((out == 0.0).sum(axis=(1, 2, 3)) == 2 * 2 * 3).all()  # the square whole in every picture


def test_shift_flip_mirrors_about_half_of_the_pictures():
    images = np.zeros((400, 9, 9, 1), np.float32)
    images[:, 4, 0] = 1.0                                          # a dot at the left edge's middle
    out = augment_images(images, "shift-flip", np.random.default_rng(2), max_shift=0)
    right = out[:, 4, 8, 0] == 1.0
    assert (right ^ (out[:, 4, 0, 0] == 1.0)).all()               # each either as it was or mirrored
    assert 0.4 < right.mean() < 0.6


def test_the_same_generator_seed_gives_the_same_pictures():
    images = dot_pictures()
    a = augment_images(images, "shift-flip", np.random.default_rng([3, 1, 2]))
    b = augment_images(images, "shift-flip", np.random.default_rng([3, 1, 2]))
    c = augment_images(images, "shift-flip", np.random.default_rng([3, 1, 3]))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'"):
        augment_images(dot_pictures(), "rotate", np.random.default_rng(0))
