"""Progress of long runs: a tqdm bar on a terminal, periodic one-line records otherwise (a log file, a batch job).

:class:`LineProgress` decides when a line is due - when the count crosses a tenth of its total, or every ``every_s``
seconds, never in the first ``first_s`` seconds (a short run prints nothing) - and formats it, e.g.
``enumeration: 97/972 choices (10 %; best 0.1997), 18s elapsed, ~2m42s left`` or, without a total,
``branch-and-bound: 412 nodes; 37 open, bounds [0.19, 0.21], gap 9.5 %, 35s elapsed``. Studies print their lines
to stderr; solver loops (enumeration, branch-and-bound, the AO drivers) use :class:`Progress`, which writes them at
INFO to the ``isacopt.progress`` logger (the CLI enables it; in Python ``logging.basicConfig(level=logging.INFO)``)
when stderr is not a terminal, and shows a bar (after ``bar_delay_s``, removed at the end) when it is. Inside
:func:`quiet` (a study's jobs: the study reports its own progress) solver loops show nothing.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import sys
import time
from typing import Callable

LOGGER = logging.getLogger("isacopt.progress")
_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("isacopt_quiet_progress", default=False)


@contextlib.contextmanager
def quiet():
    """Solver loops inside the block show no bar and log no progress lines."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class LineProgress:
    """One line per tenth of ``total`` or per ``every_s`` seconds, whichever comes first, none in the first
    ``first_s`` seconds (with ``first_s`` > 0 the first line comes at ``first_s``). ``emit`` takes each line
    (default: print to ``stream``, stderr). :meth:`update` counts one finished item by status (a study's jobs)."""

    def __init__(self, name: str, total: int | None = None, every_s: float = 60.0, stream=None, *,
                 unit: str = "jobs", first_s: float = 0.0, emit: Callable[[str], None] | None = None):
        self.name, self.total, self.every_s, self.unit, self.first_s = name, total, every_s, unit, first_s
        self.emit_line = emit or (lambda line: print(line, file=stream or sys.stderr, flush=True))
        self.done, self.counts, self.start = 0, {}, time.monotonic()
        self.last_time, self.last_done, self.lines = self.start, 0, 0

    def due(self, done: int) -> bool:
        now = time.monotonic()
        if now - self.start < self.first_s:
            return False
        if self.total:
            step = max(1, math.ceil(self.total / 10))
            if done // step > self.last_done // step or (done >= self.total > self.last_done):
                return True
        return now - self.last_time >= self.every_s or (self.first_s > 0 and self.lines == 0)

    def emit(self, done: int, detail: str = "") -> None:
        now = time.monotonic()
        elapsed = now - self.start
        if self.total:
            left = elapsed / done * (self.total - done) if done else math.nan
            line = (f"{self.name}: {done}/{self.total} {self.unit} ({100 * done / self.total:.0f} %"
                    + (f"; {detail}" if detail else "") + f"), {duration(elapsed)} elapsed"
                    + (f", ~{duration(left)} left" if 0 < done < self.total else ""))
        else:
            line = f"{self.name}: {done} {self.unit}" + (f"; {detail}" if detail else "") + \
                f", {duration(elapsed)} elapsed"
        self.emit_line(line)
        self.last_time, self.last_done, self.lines = now, done, self.lines + 1

    def update(self, status: str) -> None:
        self.done += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.due(self.done):
            self.emit(self.done, ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items())))


class Progress:
    """A solver loop's progress (a context manager): ``update(done, detail)`` after each step, where ``detail`` is a
    string or a callable returning one (evaluated only when shown). A bar on a terminal; otherwise
    :class:`LineProgress` lines at INFO on ``isacopt.progress`` (first after ``first_s``, then per tenth of
    ``total`` or per ``every_s`` seconds, and a closing line from :meth:`finish` when any line was written)."""

    def __init__(self, name: str, total: int | None = None, *, unit: str = "nodes", first_s: float = 5.0,
                 every_s: float = 30.0, bar_delay_s: float = 2.0):
        self.bar = self.lines = None
        self.done, self.detail = 0, ""
        if _QUIET.get():
            return
        if is_terminal():
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, desc=name, unit=f" {unit}", delay=bar_delay_s, leave=False,
                            dynamic_ncols=True)
        elif LOGGER.isEnabledFor(logging.INFO):
            self.lines = LineProgress(name, total, every_s, unit=unit, first_s=first_s, emit=LOGGER.info)

    def update(self, done: int, detail: str | Callable[[], str] = "") -> None:
        self.done, self.detail = done, detail
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            if detail:
                self.bar.set_postfix_str(detail() if callable(detail) else detail, refresh=False)
        elif self.lines is not None and self.lines.due(done):
            self.lines.emit(done, detail() if callable(detail) else detail)

    def finish(self, done: int | None = None, detail: str | Callable[[], str] | None = None) -> None:
        """The closing line (only after earlier lines, and when the count moved since the last one); ``done`` and
        ``detail`` default to the last update's."""
        done, detail = self.done if done is None else done, self.detail if detail is None else detail
        if self.lines is not None and self.lines.lines and done != self.lines.last_done:
            self.lines.emit(done, detail() if callable(detail) else detail)
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
