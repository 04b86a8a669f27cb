"""Whether a caption says only true things about a scene: the ``relations_correct`` score.

A caption is read as clauses (words by :func:`rnnkit.data.caption_sets.caption_words`)::

    caption  := clause ( sep clause )* [ "." ]          sep: "." ";" "," "and" ", and"
    clause   := [opener] np_list [copula] [relation np] [trailer]
              | [copula] relation np [trailer]        (after a sep: the previous clause's subject)
    np_list  := np ( ("," | "and" | ", and") np )*
    np       := [det] noun
    det      := "a" | "an" | "the" | ["the"] number         number: one .. four or 1 .. 4
    opener   := "there is" | "there are" | "a picture of" | "an image with" | "i see" | ...
    copula   := "is" | "are" | "sits" | "stands" | "lies" | ... ;  trailer := "in the picture" | ...

Nouns: a digit's word or numeral ("seven", "7"; plural "sevens"), a garment ("sneaker", "t-shirt",
"pair of trousers"), a kind ("digit", "number"; "piece of clothing", "item of clothing",
"garment", "clothing item"), or anything ("item", "object", "thing"), singular or plural.
Relations: "(to | on) the left of", "left of", the same for right, "above", "over", "on top of",
"below", "under", "beneath", "underneath".

Meaning, checked against the scene's items (:class:`~rnnkit.data.scene_captions.SceneItem`):

- "a" / "an" / "the" / no determiner: *some* item that fits (existential); within one clause
  such noun phrases name different items ("a seven and a seven" needs two sevens).
- a number ("two digits", "one sneaker"): exactly that many items of the scene fit, and the
  phrase means all of them.
- a clause without a relation says that its noun phrases exist as described; with a relation,
  every item of every subject phrase stands in the relation to every item of the object phrase
  (an item is never related to itself), margins as in :func:`~rnnkit.data.scene_captions.holds`.

A caption is correct iff it parses completely into at least one clause and every clause is true.
Anything it cannot parse (an unknown word, a dangling relation, an empty caption) is False: a
model gets no credit for text the checker cannot judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from rnnkit.data.caption_sets import caption_words
from rnnkit.data.scene_captions import (ANY_WORDS, CLOTHES, CLOTHES_PLURALS, DIGIT_PLURALS,
                                        DIGITS, KIND_WORDS, SceneItem, holds)

_OPENERS = ("there is", "there are", "there's", "a picture of", "a picture with", "an image of",
            "an image with", "a scene with", "a canvas with", "the picture shows",
            "the image shows", "i see", "we see", "this is", "these are")
_TRAILERS = ("in the picture", "in the image", "in the scene", "on the canvas", "here")
_COPULAS = ("is", "are", "sits", "sit", "stands", "stand", "lies", "lie", "appears", "appear")
_RELATIONS = {"to the left of": "left", "on the left of": "left", "left of": "left",
              "to the right of": "right", "on the right of": "right", "right of": "right",
              "above": "above", "over": "above", "on top of": "above",
              "below": "below", "under": "below", "beneath": "below", "underneath": "below"}
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "1": 1, "2": 2, "3": 3, "4": 4}


@dataclass(frozen=True)
class _Noun:
    field: str    # "name", "kind" or "any"
    value: str


@dataclass(frozen=True)
class _Phrase:
    noun: _Noun
    count: int | None   # None: some item (existential); n: exactly n items, all of them


@lru_cache(maxsize=1)
def _lexicon() -> dict[tuple[str, ...], _Noun]:
    entries: dict[str, _Noun] = {}
    for i, (word, plural) in enumerate(zip(DIGITS, DIGIT_PLURALS)):
        for form in (word, plural, str(i), f"{i}s"):
            entries[form] = _Noun("name", word)
    for word, plural in zip(CLOTHES, CLOTHES_PLURALS):
        entries[word] = entries[plural] = _Noun("name", word)
    entries["trousers"] = _Noun("name", "pair of trousers")
    entries["tshirt"] = entries["tshirts"] = entries["top"] = _Noun("name", "t-shirt")
    entries["boot"] = entries["boots"] = _Noun("name", "ankle boot")
    for kind, words in KIND_WORDS.items():
        for pair in words + (("clothing item", "clothing items"),) * (kind == "clothing"):
            for form in pair:
                entries[form] = _Noun("kind", kind)
    for pair in ANY_WORDS:
        for form in pair:
            entries[form] = _Noun("any", "")
    return {tuple(caption_words(text)): noun for text, noun in entries.items()}


def _phrases(texts) -> list[tuple[str, ...]]:
    return sorted((tuple(caption_words(text)) for text in texts), key=len, reverse=True)


@lru_cache(maxsize=1)
def _tables():
    relations = {tuple(caption_words(k)): v for k, v in _RELATIONS.items()}
    return _phrases(_OPENERS), _phrases(_TRAILERS), relations


class _Parser:
    """Recursive descent over the words; each method returns None (no match, position kept) or
    what it read, advancing ``self.at``."""

    def __init__(self, words: list[str]):
        self.words, self.at = words, 0
        self.nouns = _lexicon()
        self.longest = max(len(key) for key in self.nouns)
        self.openers, self.trailers, self.relations = _tables()

    def peek(self, *options) -> bool:
        return self.at < len(self.words) and self.words[self.at] in options

    def take(self, sequences) -> tuple[str, ...] | None:
        for sequence in sequences:
            if tuple(self.words[self.at:self.at + len(sequence)]) == sequence:
                self.at += len(sequence)
                return sequence
        return None

    def noun(self) -> _Noun | None:
        for length in range(self.longest, 0, -1):
            key = tuple(self.words[self.at:self.at + length])
            if len(key) == length and key in self.nouns:
                self.at += length
                return self.nouns[key]
        return None

    def np(self) -> _Phrase | None:
        start = self.at
        if self.peek("the"):
            self.at += 1
        if self.peek(*_NUMBERS):
            count = _NUMBERS[self.words[self.at]]
            self.at += 1
            noun = self.noun()
            if noun is not None:
                return _Phrase(noun, count)
            self.at -= 1   # "one" / "1" as the digit itself, read below
        elif self.at == start and self.peek("a", "an"):
            self.at += 1
        noun = self.noun()
        if noun is None:
            self.at = start
            return None
        return _Phrase(noun, None)

    def np_list(self) -> list[_Phrase] | None:
        first = self.np()
        if first is None:
            return None
        phrases = [first]
        while True:
            start = self.at
            if self.take([(",", "and"), (",",), ("and",)]) and (following := self.np()):
                phrases.append(following)
                continue
            self.at = start
            return phrases

    def clause(self):
        start = self.at
        self.take(self.openers)
        subjects = self.np_list()
        if subjects is None:
            self.at = start
            return None
        if self.peek(*_COPULAS):
            self.at += 1
        relation, obj = None, None
        words = self.take(sorted(self.relations, key=len, reverse=True))
        if words is not None:
            relation, obj = self.relations[words], self.np()
            if obj is None:
                return None   # a relation with nothing after it
        self.take(self.trailers)
        return subjects, relation, obj

    def continuation(self, subjects):
        """A relation whose subject is the previous clause's: "... and above a bag"."""
        if self.peek(*_COPULAS):
            self.at += 1
        words = self.take(sorted(self.relations, key=len, reverse=True))
        obj = self.np() if words is not None else None
        if obj is None:
            return None
        self.take(self.trailers)
        return subjects, self.relations[words], obj

    def caption(self):
        clauses = []
        while self.at < len(self.words):
            clause = self.clause()
            if clause is None and clauses:
                clause = self.continuation(clauses[-1][0])
            if clause is None:
                return None
            clauses.append(clause)
            if not self.take([(",", "and"), (".",), (";",), (",",), ("and",)]):
                break
        return clauses if clauses and self.at == len(self.words) else None


def _fits(noun: _Noun, item: SceneItem) -> bool:
    return noun.field == "any" or getattr(item, noun.field) == noun.value


def _choices(phrase: _Phrase, items: list[SceneItem]) -> list[tuple[int, ...]]:
    """The item sets a phrase may mean: each fitting item alone, or all of exactly ``count``."""
    fitting = tuple(i for i, item in enumerate(items) if _fits(phrase.noun, item))
    if phrase.count is None:
        return [(i,) for i in fitting]
    return [fitting] if len(fitting) == phrase.count else []


def _clause_true(subjects, relation, obj, items: list[SceneItem]) -> bool:
    phrases = list(subjects) + ([obj] if obj is not None else [])
    if sum(p.count is None for p in phrases) > len(items):
        return False   # more different items named than the scene holds (and no search blow-up)
    for sets in product(*(_choices(p, items) for p in phrases)):
        single = [s[0] for s, p in zip(sets, phrases) if p.count is None]
        if len(single) != len(set(single)):
            continue   # two existential phrases of one clause name different items
        if relation is None:
            return True
        *subject_sets, object_set = sets
        if all(s != o and holds(relation, items[s], items[o])
               for subject in subject_sets for s in subject for o in object_set):
            return True
    return False


def relations_correct(caption: str, facts) -> bool:
    """True iff the caption parses and every identity, count and relation it states is true of
    the scene whose items are ``facts`` (:class:`SceneItem` or their ``to_json`` dicts); rules in
    the module docstring."""
    items = [f if isinstance(f, SceneItem) else SceneItem.from_json(f) for f in facts]
    clauses = _Parser(caption_words(caption)).caption()
    if clauses is None:
        return False
    return all(_clause_true(subjects, relation, obj, items) for subjects, relation, obj in clauses)
