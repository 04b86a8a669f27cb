"""The common form of captioned images: the tokenizer and its inverse, CaptionSet's checks, the
names load_caption_data accepts, the retrieval baseline, and the real Tux Paint split where
installed."""

import numpy as np
import pytest

from rnnkit.data.caption_sets import (CaptionSet, caption_words, join_words, load_caption_data,
                                      nearest_neighbour_captions)
from rnnkit.errors import UsageError


def test_caption_words_and_join_words():
    assert caption_words("A T-shirt LEFT of a Seven.") == ["a", "t", "-", "shirt", "left", "of",
                                                           "a", "seven", "."]
    assert caption_words("Tux's hat, (red)!") == ["tux's", "hat", ",", "(", "red", ")", "!"]
    assert join_words(caption_words("Tux's hat, (red)!")) == "tux's hat, (red)!"
    assert join_words(["a", "t", "-", "shirt", "."]) == "a t-shirt."
    assert join_words(["a", "-", "b", "-"]) == "a-b -"    # a hyphen with no word after stays apart
    assert join_words([]) == ""


def test_caption_set_checks_and_head():
    images = np.zeros((3, 4, 4, 1), np.uint8)
    data = CaptionSet(images, [["a"], ["b", "c"], ["d"]], facts=[(), (), ()], ids=("x", "y", "z"))
    first = data.head(2)
    assert len(first) == 2 and first.references == [["a"], ["b", "c"]] and first.ids == ("x", "y")
    assert len(first.facts) == 2
    with pytest.raises(ValueError, match="3 images but 2 reference lists"):
        CaptionSet(images, [["a"], ["b"]])
    with pytest.raises(ValueError, match="at least one reference"):
        CaptionSet(images, [["a"], [], ["d"]])
    with pytest.raises(ValueError, match="facts"):
        CaptionSet(images, [["a"], ["b"], ["c"]], facts=[()])


@pytest.mark.parametrize("name, split, size, message", [
    ("flickr", "train", None, "unknown caption data 'flickr'"),
    ("scenes", "dev", None, "unknown split 'dev'"),
    ("scenes", "train", 0, "positive integer"),
    ("scenes", "train", True, "positive integer"),
    ("coco:", "train", None, "needs a folder"),
])
def test_bad_names_splits_and_sizes(name, split, size, message):
    with pytest.raises(UsageError, match=message):
        load_caption_data(name, split, size=size)


def test_bad_image_size():
    with pytest.raises(UsageError, match="image size"):
        load_caption_data("tuxpaint", "train", image_size=0)


def stamps():
    """Dark marks on white, one caption each, at four places."""
    images = np.full((4, 16, 16, 3), 255, np.uint8)
    for image, (r, c) in zip(images, [(0, 0), (0, 8), (8, 0), (8, 8)]):
        image[r:r + 8, c:c + 8] = 30
    return CaptionSet(images, [["top left."], ["top right."], ["bottom left."], ["bottom right."]])


def test_nearest_neighbour_finds_the_most_similar_training_image():
    train = stamps()
    query = train.images[[3, 0, 1]].copy()
    query[:, :2] = 255            # a little of each mark wiped away
    query[0, 15, 0] = 0           # and a speck elsewhere
    assert nearest_neighbour_captions(train, query) == ["bottom right.", "top left.", "top right."]
    grids = CaptionSet(np.eye(4, dtype=np.float32)[:, None, None, :] * np.ones((4, 4, 4, 1), np.float32),
                       train.references, features=True)
    assert nearest_neighbour_captions(grids, grids.images[[2]] * 3) == ["bottom left."]
    with pytest.raises(UsageError, match="do not match"):
        nearest_neighbour_captions(train, np.zeros((1, 8, 8, 3), np.uint8))


def test_white_around_a_stamp_counts_as_nothing():
    """Compared as ink, a mark matches a picture holding that mark and another (cosine 0.71), not
    a blank one; compared as raw pixels the blank one would win (0.90 against 0.86)."""
    blank = np.full((16, 16, 3), 255, np.uint8)
    blank[15, 15] = 0
    two_marks = np.full((16, 16, 3), 255, np.uint8)
    two_marks[:8] = 30
    train = CaptionSet(np.stack([blank, two_marks]), [["blank."], ["marks."]])
    query = stamps().images[[0]]   # one mark, top left
    assert nearest_neighbour_captions(train, query) == ["marks."]


def test_real_tuxpaint_split_and_baseline():
    from rnnkit.data.sources.tuxpaint import FOLDER, INSTALL

    if not FOLDER.is_dir():
        pytest.skip(f"Tux Paint stamps not installed; fetch them with: {INSTALL}")
    train, test = (load_caption_data("tuxpaint", split) for split in ("train", "test"))
    assert (len(train), len(test)) == (648, 73)
    assert test.images.shape == (73, 64, 64, 3) and test.images.dtype == np.uint8
    assert all(len(refs) == 1 and refs[0] for refs in test.references)
    assert not set(train.ids) & set(test.ids)
    guesses = nearest_neighbour_captions(train, test.images)
    known = {refs[0] for refs in train.references}
    assert len(guesses) == 73 and set(guesses) <= known
    assert nearest_neighbour_captions(train, train.images[:20]) == [r[0] for r in train.references[:20]]
    assert len(load_caption_data("tuxpaint", "val", size=5)) == 5
