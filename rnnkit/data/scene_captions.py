"""The words of the scenes' captions, when a relation counts as true, and the grammar that writes
the reference captions of a scene.

A scene holds one to four items (:class:`SceneItem`): an MNIST digit named by its word ("seven") or
a Fashion-MNIST garment ("sneaker", "t-shirt", "pair of trousers", "ankle boot"). Geometry is that
of the item's *ink*: its box is the bounding box of the pixels above :data:`INK` after placing,
and its centre (cy, cx) the middle of that box, in canvas pixels (row down, column right).

Relations between two items a and b, with d = centre(b) - centre(a):

- a *left of* b: dx >= margin; *right of*: -dx >= margin; *above*: dy >= margin; *below*:
  -dy >= margin.
- Judging a caption (:mod:`.scene_checker`) uses ``margin = JUDGE_MARGIN`` (6 px); the grammar
  states a relation only when it is clear: offset >= ``STATE_MARGIN`` (12 px) on that axis and at
  least half the offset on the other axis, so every generated relation is also judged true.

The grammar (examples on a scene with a seven at the top left and a sneaker at the bottom right):

- identity: "a seven and a sneaker." / "there is a seven and a sneaker." / "a picture of a seven
  and a sneaker." / "an image with ..." / "... in the picture." (items listed left to right, equal
  names merged: "two sevens and a bag")
- counts (exact): "one digit and one piece of clothing." / "there are two items." / "two objects."
- relations: "a seven to the left of a sneaker." / "a sneaker is below a seven." / "there is a
  sneaker right of a seven." / groups, when every member holds: "two digits above a bag." /
  "a bag below two digits." / with three or more items also two relations joined by "and".

:func:`reference_captions` draws five different ones of these per scene (one identity, one count,
up to three relations; identities and counts fill in where a scene has fewer relations).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

#: A pixel (0..255) above this belongs to an item's ink.
INK = 48
JUDGE_MARGIN = 6.0
STATE_MARGIN = 12.0
REFERENCES = 5

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_PLURALS = ("zeros", "ones", "twos", "threes", "fours", "fives", "sixes", "sevens", "eights",
                 "nines")
#: Fashion-MNIST's classes 0..9 as caption words (its own names: T-shirt/top, Trouser, Pullover,
#: Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot).
CLOTHES = ("t-shirt", "pair of trousers", "pullover", "dress", "coat", "sandal", "shirt",
           "sneaker", "bag", "ankle boot")
CLOTHES_PLURALS = ("t-shirts", "pairs of trousers", "pullovers", "dresses", "coats", "sandals",
                   "shirts", "sneakers", "bags", "ankle boots")
PLURALS = dict(zip(DIGITS + CLOTHES, DIGIT_PLURALS + CLOTHES_PLURALS))
KINDS = ("digit", "clothing")
NUMBERS = ("zero", "one", "two", "three", "four")

#: The words a relation is written with; the checker reads these and more.
RELATION_WORDS = {"left": ("to the left of", "left of", "on the left of"),
                  "right": ("to the right of", "right of", "on the right of"),
                  "above": ("above", "over"),
                  "below": ("below", "under", "beneath")}
OPPOSITE = {"left": "right", "right": "left", "above": "below", "below": "above"}
KIND_WORDS = {"digit": (("digit", "digits"), ("number", "numbers")),
              "clothing": (("piece of clothing", "pieces of clothing"),
                           ("item of clothing", "items of clothing"), ("garment", "garments"))}
ANY_WORDS = (("item", "items"), ("object", "objects"), ("thing", "things"))


@dataclass(frozen=True)
class SceneItem:
    """One item of a scene.

    Attributes:
        name: its caption word, one of :data:`DIGITS` or :data:`CLOTHES`.
        kind: ``"digit"`` or ``"clothing"``.
        box: (top, left, bottom, right) of its ink in canvas pixels, bottom and right exclusive.
    """

    name: str
    kind: str
    box: tuple[int, int, int, int]

    @property
    def centre(self) -> tuple[float, float]:
        """(row, column) of the middle of the ink box."""
        top, left, bottom, right = self.box
        return (top + bottom) / 2, (left + right) / 2

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "box": list(self.box)}

    @classmethod
    def from_json(cls, data) -> SceneItem:
        return cls(str(data["name"]), str(data["kind"]), tuple(int(v) for v in data["box"]))


def holds(relation: str, a: SceneItem, b: SceneItem, margin: float = JUDGE_MARGIN) -> bool:
    """Whether ``a`` is ``relation`` (left, right, above, below) of ``b`` by at least ``margin``."""
    (ay, ax), (by, bx) = a.centre, b.centre
    offset = {"left": bx - ax, "right": ax - bx, "above": by - ay, "below": ay - by}[relation]
    return offset >= margin


def clear(relation: str, a: SceneItem, b: SceneItem) -> bool:
    """Whether the grammar may state it: ``STATE_MARGIN`` on the axis, and that axis's offset at
    least half the other axis's (so a mostly vertical pair is not called left and right)."""
    (ay, ax), (by, bx) = a.centre, b.centre
    along, across = (abs(bx - ax), abs(by - ay)) if relation in ("left", "right") else \
        (abs(by - ay), abs(bx - ax))
    return holds(relation, a, b, STATE_MARGIN) and along >= across / 2


def article(word: str) -> str:
    """"an" before a vowel sound ("an eight", "an item"), "a" otherwise ("a one", "a seven")."""
    return "an" if word[0] in "aeiou" and not word.startswith("one") else "a"


def phrase(name: str, count: int, counted: bool = False) -> str:
    """``count`` items called ``name``: "a seven", "two sevens"; "one seven" where ``counted``."""
    if count == 1:
        return f"one {name}" if counted else f"{article(name)} {name}"
    return f"{NUMBERS[count]} {PLURALS.get(name, name)}"


def join_list(parts: list[str]) -> str:
    """"x", "x and y", "x, y and z"."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def listing(items: list[SceneItem]) -> str:
    """Every item, left to right, equal names merged: "two sevens and a bag"."""
    ordered = sorted(items, key=lambda item: item.centre[1])
    names = Counter(item.name for item in ordered)
    seen = list(dict.fromkeys(item.name for item in ordered))
    return join_list([phrase(name, names[name]) for name in seen])


def _counted(word: tuple[str, str], count: int) -> str:
    return f"{NUMBERS[count]} {word[0] if count == 1 else word[1]}"


def _identities(items: list[SceneItem]) -> list[str]:
    text = listing(items)
    verb = "is" if text.startswith(("a ", "an ")) else "are"
    return [f"{text}.", f"there {verb} {text}.", f"a picture of {text}.",
            f"an image with {text}.", f"{text} in the picture."]


def _counts(items: list[SceneItem], rng: np.random.Generator) -> list[str]:
    kinds = Counter(item.kind for item in items)
    parts = [_counted(KIND_WORDS[kind][int(rng.integers(len(KIND_WORDS[kind])))], kinds[kind])
             for kind in KINDS if kinds[kind]]
    total = _counted(ANY_WORDS[int(rng.integers(len(ANY_WORDS)))], len(items))
    by_kind = " and ".join(parts)
    verb = "is" if len(items) == 1 else "are"
    return [f"{by_kind}.", f"there {verb} {by_kind}.", f"{total}.", f"there {verb} {total}."]


def _groups(items: list[SceneItem]) -> list[tuple[str, list[SceneItem]]]:
    """Named groups of two or more items: equal names ("two sevens") and kinds ("two digits")."""
    groups = []
    for name in dict.fromkeys(item.name for item in items):
        members = [item for item in items if item.name == name]
        if len(members) > 1:
            groups.append((phrase(name, len(members)), members))
    for kind in KINDS:
        members = [item for item in items if item.kind == kind]
        names = {item.name for item in members}
        if len(members) > 1 and len(names) > 1:   # "two sevens" already says it otherwise
            groups.append((_counted(KIND_WORDS[kind][0], len(members)), members))
    return groups


def relation_facts(items: list[SceneItem]) -> list[tuple[str, str, str, bool]]:
    """Every clear relation the grammar may state: (subject phrase, relation, object phrase,
    subject plural), single items as "a seven", groups as "two digits" when every member holds."""
    facts = []
    for a in items:
        for b in items:
            if a is not b:
                for relation in RELATION_WORDS:
                    if clear(relation, a, b):
                        facts.append((phrase(a.name, 1), relation, phrase(b.name, 1), False))
    for text, members in _groups(items):
        for other in items:
            if other in members:
                continue
            for relation in RELATION_WORDS:
                if all(clear(relation, member, other) for member in members):
                    facts.append((text, relation, phrase(other.name, 1), True))
                    facts.append((phrase(other.name, 1), OPPOSITE[relation], text, False))
    return facts


def _relations(items: list[SceneItem], rng: np.random.Generator) -> list[str]:
    facts = relation_facts(items)
    sentences = []
    for subject, relation, obj, plural in facts:
        words = RELATION_WORDS[relation][int(rng.integers(len(RELATION_WORDS[relation])))]
        form = int(rng.integers(3))
        if form == 0:
            sentences.append(f"{subject} {words} {obj}.")
        elif form == 1:
            sentences.append(f"{subject} {'are' if plural else 'is'} {words} {obj}.")
        else:
            sentences.append(f"there {'are' if plural else 'is'} {subject} {words} {obj}.")
    if len(items) >= 3 and len(facts) >= 2:   # two relations in one caption
        first, second = rng.choice(len(facts), 2, replace=False)
        one, two = facts[int(first)], facts[int(second)]
        sentences.append(f"{one[0]} {RELATION_WORDS[one[1]][0]} {one[2]} and "
                         f"{two[0]} {RELATION_WORDS[two[1]][0]} {two[2]}.")
    return sentences


def reference_captions(items: list[SceneItem], rng: np.random.Generator,
                       count: int = REFERENCES) -> list[str]:
    """``count`` different captions of a scene (see the module docstring), drawn with ``rng``."""
    identities, counts = _identities(items), _counts(items, rng)
    relations = list(dict.fromkeys(_relations(items, rng)))
    chosen = [identities.pop(int(rng.integers(len(identities)))),
              counts.pop(int(rng.integers(len(counts))))]
    rng.shuffle(relations)
    chosen += relations[:count - len(chosen)]
    rest = identities + counts
    rng.shuffle(rest)
    for caption in rest:
        if len(chosen) >= count:
            break
        if caption not in chosen:
            chosen.append(caption)
    return chosen
