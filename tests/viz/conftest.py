"""Tiny trained runs shared by the viz tests: a character LSTM and a sentiment classifier, trained by
``rnnkit train`` for a few steps on generated text (seconds), read-only for the tests."""

import random

import pytest

from rnnkit.cli import main

WORDS = "the quick brown fox jumps over a lazy dog while seven wizards box and hum".split()


def code_text(lines=300, seed=0) -> str:
    """Python-like lines with quotes, brackets and indentation, for the cell features."""
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        indent = " " * 4 * rng.randint(0, 3)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
        form = rng.choice(['{w} = "{w}"', "f({w}, '{w}')", "# {w}", "return [{w}]", "{w}"])
        out.append(indent + form.format(w=words))
    return "\n".join(out) + "\n"


@pytest.fixture(scope="session")
def viz_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNKIT_CACHE", str(tmp_path_factory.mktemp("viz-cache")))
        yield


@pytest.fixture(scope="session")
def code_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("viz-data") / "code.py"
    path.write_text(code_text(), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def char_run(tmp_path_factory, code_file, viz_cache):
    out = tmp_path_factory.mktemp("viz-runs") / "charlm"
    assert main(["train", "--data", str(code_file), "--hidden", "16", "--steps", "20", "--batch", "4",
                 "--seq-len", "16", "--eval-every", "10", "--out", str(out), "--sample-length", "0"]) == 0
    return out


@pytest.fixture(scope="session")
def sentiment_run(tmp_path_factory, viz_cache):
    rng = random.Random(1)
    good, bad = ["good", "great", "fine", "lovely"], ["bad", "awful", "dull", "poor"]
    rows = []
    for _ in range(200):
        label = rng.randint(0, 1)
        words = [rng.choice(WORDS) for _ in range(4)] + [rng.choice(good if label else bad)]
        rng.shuffle(words)
        rows.append(f"{label}\t{' '.join(words)}")
    data = tmp_path_factory.mktemp("viz-data") / "reviews.tsv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("viz-runs") / "sentiment"
    assert main(["train", "--task", "sentiment", "--data", str(data), "--hidden", "8", "--embed", "8",
                 "--steps", "10", "--batch", "8", "--eval-every", "10", "--out", str(out)]) == 0
    return out
