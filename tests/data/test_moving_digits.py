"""Moving-item clips and watch streams from tiny generated data: determinism, labels that follow
the composition (none when no item is in view, the item's class under occlusion), the split by
subject, windows and padding; the real sources where installed."""

import numpy as np
import pytest

from rnnkit.data.moving_digits import ClipOptions, MovingItems, load_moving
from rnnkit.data.sources import WatchData
from rnnkit.data.watch_streams import SPLIT_SUBJECTS, join_streams
from rnnkit.errors import UsageError


def items(n=6):
    """n 28x28 'items': a solid square of ink, class k for item k."""
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 6:22, 6:22] = 255
    return MovingItems(images, np.arange(n) % 3, ("a", "b", "c"), ClipOptions(frames=12, size=32, occlude=1.0))


def test_clips_are_deterministic_and_labelled_by_composition():
    maker = items()
    f1, l1, _ = maker.clips(seed=5, start=3, count=4)
    f2, l2, _ = maker.clips(seed=5, start=3, count=4)
    assert f1.shape == (4, 12, 32, 32) and l1.shape == (4, 12) and f1.dtype == np.float32
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(l1, l2)
    assert not np.array_equal(maker.clips(seed=6, start=3, count=4)[0], f1)
    assert maker.class_names[-1] == "none" and maker.none == 3
    assert set(np.unique(l1)) <= {0, 1, 2, 3}


def test_none_where_no_item_is_in_view_and_occluded_frames_keep_their_label():
    maker = items()
    occluded_seen = 0
    for i in range(40):
        frames, labels, occluded = maker.clip(np.random.default_rng([1, i]))
        # a frame labelled none holds no item: noise, and at most a sliver (< 5% of its ink) of one
        for t in np.flatnonzero(labels == maker.none):
            assert (frames[t] > 0.6).sum() <= 0.05 * 16 * 16 + 3  # at most a sliver of an item leaving
        for t in np.flatnonzero(occluded):
            assert labels[t] != maker.none
            occluded_seen += 1
            assert t >= 3  # only after the item was seen whole
    assert occluded_seen > 0


def test_bad_options_and_images_are_usage_errors():
    with pytest.raises(UsageError, match="frames"):
        ClipOptions(frames=2)
    with pytest.raises(UsageError, match="28, 28"):
        MovingItems(np.zeros((3, 20, 20), np.uint8), np.zeros(3), ("a",))
    with pytest.raises(UsageError, match="unknown clip source"):
        load_moving("moving-cats")


def fake_watch(rng):
    lengths = rng.integers(30, 60, size=20)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return WatchData(rng.standard_normal((offsets[-1], 6)), offsets, np.arange(20) % 7, np.arange(20) % 10 + 1,
                     np.zeros(20, np.int64), ("PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"),
                     ("ax", "ay", "az", "wx", "wy", "wz"))


def test_watch_streams_split_by_subject_and_window():
    watch = fake_watch(np.random.default_rng(0))
    streams = join_streams(watch)
    for split, subjects in SPLIT_SUBJECTS.items():
        chosen = np.isin(watch.subjects, subjects)
        assert len(streams[split]) == watch.lengths()[chosen].sum()
        assert sorted(np.unique(streams[split].labels)) == sorted(np.unique(watch.labels[chosen]))
    np.testing.assert_allclose(streams["train"].steps.mean(axis=0), 0, atol=1e-5)
    steps, mask, labels = streams["test"].windows(16)
    assert mask.sum() == len(streams["test"]) and not mask[-1].all() or len(streams["test"]) % 16 == 0
    np.testing.assert_array_equal(labels[mask], streams["test"].labels)
    a, b = streams["train"].random_windows(16, seed=2, start=5, count=3), streams["train"].random_windows(16, 2, 5, 3)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].shape == (3, 16, 6) and a[1].shape == (3, 16)


def test_real_sources_where_installed():
    try:
        clips = load_moving("moving-digits", ClipOptions(frames=6))
    except UsageError as exc:
        pytest.skip(f"MNIST not installed: {exc}")
    assert clips["test"].items.shape[0] == 10_000 and clips["train"].items.shape[0] == 50_000
    frames, labels, _ = clips["test"].clips(0, 0, 2)
    assert frames.shape == (2, 6, 64, 64)
