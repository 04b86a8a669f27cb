"""Learning-rate schedules at known points, warmup, resume-independence and the JSON round trip."""

import json
import math

import pytest

from rnnkit.errors import UsageError
from rnnkit.training.schedule import LRSchedule, training_progress


def test_constant():
    s = LRSchedule("constant", lr=0.01)
    assert [s.lr_at(k, k / 10) for k in (0, 5, 10)] == [0.01, 0.01, 0.01]


def test_exp_known_points():
    s = LRSchedule("exp", lr=1.0, decay=0.5, decay_every=100)
    assert s.lr_at(0, 0.0) == 1.0
    assert s.lr_at(100, 0.0) == pytest.approx(0.5, rel=1e-15)
    assert s.lr_at(300, 0.0) == pytest.approx(0.125, rel=1e-15)
    assert s.lr_at(50, 0.0) == pytest.approx(math.sqrt(0.5), rel=1e-15)


def test_exp_does_not_depend_on_total_steps():
    """A run resumed with a larger --steps must follow the same curve: progress is ignored."""
    s = LRSchedule("exp", lr=0.002, decay=0.9, decay_every=10)
    short = [s.lr_at(k, training_progress(k, total_steps=100)) for k in range(100)]
    long = [s.lr_at(k, training_progress(k, total_steps=1000)) for k in range(100)]
    assert short == long


def test_cosine_known_points():
    s = LRSchedule("cosine", lr=1.0, min_ratio=0.1)
    assert s.lr_at(0, 0.0) == 1.0
    assert s.lr_at(0, 0.5) == pytest.approx(0.55, rel=1e-15)
    assert s.lr_at(0, 1.0) == pytest.approx(0.1, rel=1e-15)
    assert s.lr_at(0, 1.7) == s.lr_at(0, 1.0)  # a time budget overrun stays at the floor
    values = [s.lr_at(0, p / 20) for p in range(21)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_cosine_follows_time_progress():
    s = LRSchedule("cosine", lr=1.0, min_ratio=0.0)
    p = training_progress(step=10, elapsed=30.0, time_budget=60.0)
    assert p == 0.5
    assert s.lr_at(10, p) == pytest.approx(0.5, rel=1e-15)


@pytest.mark.parametrize("kind", ["constant", "exp", "cosine"])
def test_linear_warmup(kind):
    s = LRSchedule(kind, lr=1.0, warmup=4, decay=0.5, decay_every=1e9)
    base = LRSchedule(kind, lr=1.0, decay=0.5, decay_every=1e9)
    ramp = [s.lr_at(k, 0.0) / base.lr_at(k, 0.0) for k in range(6)]
    assert ramp == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0], rel=1e-15)


def test_training_progress():
    assert training_progress(5) == 0.0
    assert training_progress(25, total_steps=100) == 0.25
    assert training_progress(25, total_steps=100, elapsed=50.0, time_budget=100.0) == 0.5
    assert training_progress(200, total_steps=100) == 1.0


def test_json_round_trip():
    s = LRSchedule("cosine", lr=3e-3, warmup=100, min_ratio=0.05)
    assert LRSchedule.from_json(json.loads(json.dumps(s.to_json()))) == s
    with pytest.raises(UsageError, match="unknown fields"):
        LRSchedule.from_json({**s.to_json(), "gamma": 0.1})


@pytest.mark.parametrize("kwargs", [{"kind": "step"}, {"lr": -1.0}, {"lr": math.inf},
                                    {"warmup": -1}, {"warmup": 1.5}, {"decay": 0.0},
                                    {"decay": 1.5}, {"decay_every": 0}, {"min_ratio": 2.0}])
def test_invalid_values_raise(kwargs):
    with pytest.raises(UsageError):
        LRSchedule(**kwargs)
