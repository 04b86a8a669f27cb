"""A progress bar for training, standard library only.

On a terminal it redraws one line in place (``\\r``), at most every ``redraw_every`` seconds:

    step 1200/5000 [#####...............]  24% loss 1.2345 12.3k chars/s ETA 3:10

With a time budget instead of a step count the bar measures time:

    4:12/10:00 [########............]  42% step 1200 loss 1.2345 12.3k chars/s ETA 5:48

When the stream is not a terminal (CI logs, ``| tee``) a carriage return would pile up into one
endless line, so it prints a plain line (no bar) every ``log_every`` seconds instead. ``write``
puts a message above the bar without leaving bar fragments behind it.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO


def format_duration(seconds: float) -> str:
    """1:05 for 65 s, 1:02:03 for 3723 s."""
    minutes, secs = divmod(int(max(0.0, seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_rate(per_second: float) -> str:
    """950, 12.3k, 4.56M."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if per_second >= scale:
            return f"{per_second / scale:.3g}{suffix}"
    return f"{per_second:.0f}"


class ProgressBar:
    """Shows training progress on ``stream`` (default stderr).

    Inputs:
    - total_steps: the run's step limit, or None.
    - time_budget: the run's limit in seconds, or None; when set, the bar measures time.
    - stream: where to draw; its ``isatty()`` picks the mode unless ``tty`` says otherwise.
    - log_every: seconds between plain lines when not a terminal.
    - redraw_every: seconds between redraws on a terminal (redrawing costs time on fast steps).
    - columns: the terminal width; default asked of the terminal at each redraw.
    - clock: the time source, replaceable in tests.
    - loss_label: the word shown before the loss ("loss"; the training loop shows "bpc").
    - rate_unit: what the throughput counts ("chars/s" for a character model, "tokens/s" else).
    """

    BAR_WIDTH = 20

    def __init__(self, total_steps: int | None = None, time_budget: float | None = None,
                 stream: TextIO | None = None, tty: bool | None = None, log_every: float = 5.0,
                 redraw_every: float = 0.1, columns: int | None = None,
                 clock: Callable[[], float] = time.monotonic, loss_label: str = "loss",
                 rate_unit: str = "chars/s"):
        self.total_steps = total_steps
        self.time_budget = time_budget
        self.stream = sys.stderr if stream is None else stream
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.interval = redraw_every if tty else log_every
        self.columns = columns
        self.clock = clock
        self.loss_label = loss_label
        self.rate_unit = rate_unit
        self._start = clock()
        self._first: tuple[float, int, int | None] | None = None  # (time, step, tokens) at first update
        self._line = ""           # the latest status line
        self._shown = 0           # length of the line now on the terminal (tty mode)
        self._last_draw = None    # clock time of the last draw
        self._pending = False     # an update not yet drawn or printed
        self._closed = False

    def update(self, step: int, loss: float | None = None, tokens: int | None = None,
               elapsed: float | None = None) -> None:
        """Record progress after ``step`` updates; draws only when ``interval`` has passed.

        - loss: the latest training loss.
        - tokens: total characters processed so far (the rate counts those since the first call).
        - elapsed: training seconds so far, time budget included from earlier sessions of a resumed
          run; default the time since this bar was created.
        """
        now = self.clock()
        if self._first is None:
            self._first = (now, step, tokens)
        elapsed = now - self._start if elapsed is None else elapsed
        self._line = self._format(now, step, loss, tokens, elapsed)
        self._pending = True
        if self._last_draw is None or now - self._last_draw >= self.interval:
            self._draw(now)

    def write(self, msg: str) -> None:
        """Print ``msg`` on its own line; on a terminal the bar is redrawn below it."""
        if self.tty and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self._shown = 0
        self.stream.write(msg + "\n")
        if self.tty and self._line and not self._closed:
            self._show(self._line)
        self.stream.flush()

    def close(self) -> None:
        """Show the final state and end the bar's line; safe to call twice."""
        if self._closed:
            return
        if self._pending:
            self._draw(self.clock())
        if self.tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = 0
        self._closed = True

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _draw(self, now: float) -> None:
        if self.tty:
            self._show(self._line)
        else:
            self.stream.write(self._line + "\n")
        self.stream.flush()
        self._last_draw = now
        self._pending = False

    def _show(self, line: str) -> None:
        # A line wider than the terminal wraps, and "\r" then returns only to the wrapped part.
        columns = self.columns or shutil.get_terminal_size().columns
        line = line[:max(1, columns - 1)]
        self.stream.write("\r" + line + " " * max(0, self._shown - len(line)))
        self._shown = len(line)

    def _format(self, now: float, step: int, loss: float | None, tokens: int | None,
                elapsed: float) -> str:
        t0, step0, tokens0 = self._first
        wall = now - t0
        if self.time_budget:
            fraction = elapsed / self.time_budget
            head = f"{format_duration(elapsed)}/{format_duration(self.time_budget)}"
            tail = [f"step {step}"]
        elif self.total_steps:
            fraction = step / self.total_steps
            head, tail = f"step {step}/{self.total_steps}", []
        else:
            fraction, head, tail = None, f"step {step}", []
        parts = [head]
        if fraction is not None:
            fraction = min(1.0, max(0.0, fraction))
            if self.tty:
                filled = int(round(fraction * self.BAR_WIDTH))
                parts.append("[" + "#" * filled + "." * (self.BAR_WIDTH - filled) + "]")
            parts.append(f"{100 * fraction:3.0f}%")
        parts += tail
        if loss is not None:
            parts.append(f"{self.loss_label} {loss:.4f}")
        if tokens is not None and tokens0 is not None and wall > 0:
            parts.append(f"{format_rate((tokens - tokens0) / wall)} {self.rate_unit}")
        etas = []
        if self.time_budget:
            etas.append(self.time_budget - elapsed)
        if self.total_steps and wall > 0 and step > step0:
            etas.append((self.total_steps - step) * wall / (step - step0))
        if etas:
            parts.append(f"ETA {format_duration(min(etas))}")
        return " ".join(parts)
