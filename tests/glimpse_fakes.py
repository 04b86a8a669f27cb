"""Small generated digits for the glimpse tests (tests/data/test_glimpse_digits.py,
tests/tasks/test_glimpse_task.py), imported by name from either folder: digit i is a solid 20 x 16
block of value 10 + i inside MNIST's blank 4-pixel margin, so every pixel says which digit it came
from and a digit moved by up to 4 pixels loses no stroke."""

import numpy as np

from rnnkit.data import glimpse_digits as gd


def fake_digits(n=40, seed=0):
    """(digits (n, 28, 28) uint8, labels (n,) = i mod 10)."""
    digits = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        digits[i, 4:24, 6:22] = 10 + i
    return digits, np.arange(n) % 10


def fake_data(name, n=40, seed=0):
    """GlimpseData ``name`` whose three splits are the same :func:`fake_digits`."""
    split = fake_digits(n)
    return gd.GlimpseData(name, {"train": split, "val": split, "test": split}, seed=seed)
