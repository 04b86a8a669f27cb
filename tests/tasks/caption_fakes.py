"""A tiny captioned-image set, generated, standing in for rnnkit/data/caption_sets.py in the tests:
16x16 RGB pictures of one red or blue block on the left or the right of a white canvas, each with
two reference captions ("a red block on the left", "red on the left"), and facts that
:func:`judge` checks a caption's colour and side against."""

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import UsageError

SIZE = 16
COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220)}


@dataclass(frozen=True)
class FakeCaptionSet:
    images: np.ndarray
    references: list
    facts: list | None = None
    features: bool = False


def caption_words(text: str) -> list[str]:
    return text.lower().split()


def join_words(words) -> str:
    return " ".join(words)


def picture(colour: str, side: str, rng) -> np.ndarray:
    image = np.full((SIZE, SIZE, 3), 255, np.uint8)
    top = int(rng.integers(0, SIZE - 6))
    left = int(rng.integers(0, 3)) + (0 if side == "left" else SIZE // 2)
    image[top:top + 6, left:left + 5] = COLOURS[colour]
    return image


SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


def make_set(split: str, count: int, seed: int = 0, with_facts: bool = True) -> FakeCaptionSet:
    rng = np.random.default_rng([seed, SPLIT_CODES[split]])
    images, refs, facts = [], [], []
    for i in range(count):
        colour, side = ("red", "blue")[i % 2], ("left", "right")[(i // 2) % 2]
        images.append(picture(colour, side, rng))
        refs.append([f"a {colour} block on the {side}", f"{colour} on the {side}"])
        facts.append((colour, side))
    images = np.stack(images) if images else np.zeros((0, SIZE, SIZE, 3), np.uint8)
    return FakeCaptionSet(images, refs, facts if with_facts else None)


def judge(caption: str, fact) -> bool:
    """True unless the caption names the other colour or the other side."""
    colour, side = fact
    words = set(caption.split())
    return not ({"red", "blue"} - {colour}) & words and not ({"left", "right"} - {side}) & words


class FakeData:
    """The data module's interface over generated sets; ``counts`` per split."""

    def __init__(self, counts=None, with_facts=True):
        self.counts = counts or {"train": 16, "val": 8, "test": 8}
        self.with_facts = with_facts
        self.caption_words, self.join_words = caption_words, join_words

    def load_caption_data(self, name, split, *, seed=0, size=None, image_size=None, features=None):
        if name != "scenes":
            raise UsageError(f"unknown caption data {name!r}")
        return make_set(split, self.counts[split], seed, self.with_facts)


def use_fake_data(monkeypatch, data: FakeData | None = None) -> FakeData:
    """Route rnnkit's captioning task to the fake data and judge."""
    import rnnkit.tasks.caption as caption

    data = data or FakeData()
    monkeypatch.setattr(caption, "caption_data", lambda: data)
    monkeypatch.setattr(caption, "relations_judge", lambda: judge)
    return data
