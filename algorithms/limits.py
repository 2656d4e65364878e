"""One wall-clock deadline for a whole run, honoured within one subproblem solve.

``with time_limit(seconds):`` sets a deadline (``time.monotonic()``, system-wide on Linux, so it means the same in
worker processes) that every conic solve (:func:`~.backends.conic.solve_conic`), the branch-and-bound, the
enumeration and the AO drivers consult; nested limits keep the earlier deadline. :func:`interruptible` is the
same early stop for a Ctrl-C, for the methods that return their best so far when interrupted.
"""
from __future__ import annotations

import contextlib
import contextvars
import time

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("isacopt_deadline", default=None)


def deadline() -> float | None:
    """The current deadline (``time.monotonic()`` instant), or None."""
    return _DEADLINE.get()


def expired() -> bool:
    d = _DEADLINE.get()
    return d is not None and time.monotonic() >= d


def remaining() -> float | None:
    d = _DEADLINE.get()
    return None if d is None else max(d - time.monotonic(), 0.0)


@contextlib.contextmanager
def until(instant: float | None):
    """Run the block under the deadline ``instant`` (None: no new limit)."""
    current = _DEADLINE.get()
    new = instant if current is None else (current if instant is None else min(current, instant))
    token = _DEADLINE.set(new)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_limit(seconds: float | None):
    """``with time_limit(10): ...`` - a deadline ``seconds`` from now (None: no limit)."""
    return until(None if seconds is None else time.monotonic() + float(seconds))


class Interrupt:
    """What :func:`interruptible` saw: ``happened`` is True when a Ctrl-C ended its block."""

    happened: bool = False


@contextlib.contextmanager
def interruptible():
    """``with interruptible() as stop: ...`` - a Ctrl-C (KeyboardInterrupt) inside the block ends the block, not the
    run, and sets ``stop.happened``: the caller then returns its best answer so far with termination
    ``interrupted``. Only for a method that owns such an answer (the AO methods); everywhere else a
    KeyboardInterrupt goes on to the caller (the CLI prints ``interrupted``, exit 130)."""
    stop = Interrupt()
    try:
        yield stop
    except KeyboardInterrupt:
        stop.happened = True


class SigintWatch:
    """What :func:`sigint_watch` saw: ``seen`` is True once a SIGINT arrived inside its block."""

    seen: bool = False


@contextlib.contextmanager
def sigint_watch():
    """``with sigint_watch() as watch: ...`` - notes every SIGINT in ``watch.seen`` and raises KeyboardInterrupt as
    Python does. For native solvers that catch the KeyboardInterrupt raised inside their solve and return an error
    instead (HiGHS ends with a solve error): the caller checks ``watch.seen`` after each solve. Only in the main
    thread (signals cannot be handled elsewhere); the previous handler is restored on exit."""
    import signal
    import threading
    watch = SigintWatch()

    def handler(signum, frame):
        watch.seen = True
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGINT, handler) if threading.current_thread() is threading.main_thread() else None
    try:
        yield watch
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
