"""The training progress bar (terminal and log modes) and the metrics log."""

import io
import json
import math

import numpy as np
import pytest

from rnnkit.training.metrics import MetricsLog, bits_per_char, read_metrics
from rnnkit.training.progress import ProgressBar, format_duration, format_rate


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_formatters():
    assert format_duration(65) == "1:05"
    assert format_duration(3723) == "1:02:03"
    assert format_duration(-3) == "0:00"
    assert [format_rate(x) for x in (950, 12345, 4.56e6)] == ["950", "12.3k", "4.56M"]


def test_log_mode_prints_a_line_every_few_seconds():
    out, clock = io.StringIO(), Clock()
    bar = ProgressBar(total_steps=100, stream=out, log_every=5.0, clock=clock)
    assert not bar.tty
    for step in range(1, 101):
        clock.now += 0.5
        bar.update(step, loss=2.0 - step / 100, tokens=step * 1000)
    bar.close()
    lines = out.getvalue().splitlines()
    # Updates at 0.5 s, 1.0 s, ..., 50 s: lines at 0.5, 5.5, ..., 45.5 s and the final state
    # from close().
    assert len(lines) == 11
    assert "\r" not in out.getvalue() and "[" not in out.getvalue()
    assert lines[-1] == "step 100/100 100% loss 1.0000 2k chars/s ETA 0:00"


def test_tty_mode_redraws_in_place_and_write_goes_above():
    out, clock = io.StringIO(), Clock()
    bar = ProgressBar(total_steps=10, stream=out, tty=True, redraw_every=0.0,
                      columns=200, clock=clock)
    clock.now += 1.0
    bar.update(1, loss=3.0)
    clock.now += 1.0
    bar.update(2, loss=2.5)
    bar.write("validation bpc 1.80")
    bar.close()
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 2
    assert "step 2/10 [####................]  20% loss 2.5000 ETA 0:08" in text
    # The message starts on a cleared line: blanks overwrite the bar, then a carriage return.
    before, after = text.split("validation bpc 1.80\n")
    assert before.endswith("\r" + " " * len("step 2/10 [####................]  20% loss 2.5000 ETA 0:08") + "\r")
    assert after.startswith("\rstep 2/10")  # the bar comes back below the message


def test_tty_mode_throttles_redraws():
    out, clock = io.StringIO(), Clock()
    bar = ProgressBar(total_steps=1000, stream=out, tty=True, redraw_every=0.1,
                      columns=200, clock=clock)
    for step in range(1, 1001):
        clock.now += 0.001
        bar.update(step)
    assert out.getvalue().count("\r") == 10  # 1 s of updates, one redraw per 0.1 s
    bar.close()
    assert out.getvalue().rstrip("\n").endswith("step 1000/1000 [####################] 100% ETA 0:00")


def test_tty_line_is_cut_to_the_terminal_width():
    out = io.StringIO()
    bar = ProgressBar(total_steps=10, stream=out, tty=True, columns=12, clock=Clock())
    bar.update(1, loss=2.0)
    assert out.getvalue() == "\rstep 1/10 ["


def test_time_budget_mode_and_eta():
    out, clock = io.StringIO(), Clock()
    bar = ProgressBar(time_budget=600, stream=out, clock=clock)
    clock.now += 1.0
    bar.update(10, loss=1.5, tokens=0)
    clock.now += 10.0
    bar.update(20, loss=1.4, tokens=100_000, elapsed=252.0)
    bar.close()
    assert out.getvalue().splitlines()[-1] == "4:12/10:00  42% step 20 loss 1.4000 10k chars/s ETA 5:48"


def test_close_is_idempotent_and_write_after_close_is_plain():
    out = io.StringIO()
    bar = ProgressBar(stream=out, tty=True, clock=Clock())
    bar.update(3)
    bar.close()
    bar.close()
    bar.write("done")
    assert out.getvalue() == "\rstep 3\ndone\n"


def test_bits_per_char():
    assert bits_per_char(math.log(2.0) * 10, 10) == pytest.approx(1.0, rel=1e-15)
    assert bits_per_char(math.log(65.0) * 3, 3) == pytest.approx(math.log2(65.0), rel=1e-15)
    with pytest.raises(ValueError):
        bits_per_char(1.0, 0)


def test_metrics_log_appends_flushed_json_lines(tmp_path):
    path = tmp_path / "run" / "metrics.jsonl"
    log = MetricsLog(path)
    log.log({"step": 1, "loss": np.float32(2.5), "bpc": float("nan"), "shape": np.array([2, 3])})
    # Flushed: another reader sees the line before the log is closed.
    assert json.loads(path.read_text()) == {"step": 1, "loss": 2.5, "bpc": None, "shape": [2, 3]}
    log.close()
    with MetricsLog(path) as log:  # reopening appends, as a resumed run does
        log.log({"step": 2, "loss": 2.0})
    assert [r["step"] for r in read_metrics(path)] == [1, 2]


def test_read_metrics_skips_only_a_torn_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "lo')
    assert read_metrics(path) == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\n{"ste\n{"step": 3}\n')
    with pytest.raises(ValueError, match=":2:"):
        read_metrics(path)
