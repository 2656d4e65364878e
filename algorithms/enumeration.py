"""Exhaustive enumeration of discrete choices: the ground truth for small mixed-integer problems.

The caller supplies the choices and an *evaluator*: a picklable callable ``evaluate(choice) -> Evaluation`` that
solves the inner (continuous) problem of one choice, e.g. the SDP of a fixed BS selection and user association.
Nothing here knows which paper a model comes from. Choices are split into contiguous chunks and evaluated in a
process pool (``concurrent.futures``); each worker keeps only its best payload, so the inner problem's compiled
template is reused inside a worker and little data travels back.

The result is certified only if every evaluation ended with an accurate status (optimal or infeasible): an
evaluation that failed or stayed inaccurate is reported in ``failed`` and the outcome's status is then ERROR
(no claim is made about the choices that were not resolved).
"""
from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from . import backends, limits
from .progress import Progress
from .result import Status, Termination


@dataclass
class Evaluation:
    """Outcome of one inner problem: ``status`` (accurate: OPTIMAL or INFEASIBLE), objective (minimized) and an
    optional payload (the solution), ``solves`` the number of conic solves it took (its SDP count)."""

    status: Status
    objective: float | None = None
    payload: Any = None
    solves: int = 1


@dataclass
class EnumerationOutcome:
    status: Status                      # OPTIMAL (best found), INFEASIBLE (every choice infeasible) or ERROR
    choice: Any = None
    objective: float | None = None
    payload: Any = None
    evaluations: int = 0                # choices evaluated
    sdp_solves: int = 0                 # conic solves, summed over all choices
    objectives: list = field(default_factory=list)   # (choice, objective or None) for every choice, input order
    failed: list = field(default_factory=list)       # (choice, status) of unresolved evaluations
    time_s: float = 0.0
    workers: int = 1
    skipped: int = 0                                 # choices not evaluated (time limit, interrupt)
    termination: Termination = Termination.CONVERGED

    def ties(self, rel: float = 1e-6) -> list:
        """Choices whose objective is within ``rel`` of the optimum (alternative optima)."""
        if self.objective is None:
            return []
        tol = rel * max(abs(self.objective), 1e-12)
        return [c for c, v in self.objectives if v is not None and v <= self.objective + tol]


#: The status of a choice that was not evaluated (a time limit or an interrupt came first).
SKIPPED = Status.NO_SOLUTION


#: In a worker process: the pool's shared tally (choices evaluated, best objective) that the parent reports.
_TALLY = None


def _init_worker(tally) -> None:
    """Pool initializer: Ctrl-C is the parent's to handle (it stops the pool and keeps what finished)."""
    import signal
    global _TALLY
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _TALLY = tally


def _count(tally, objective: float | None) -> None:
    """One more choice evaluated (for the progress report)."""
    if tally is not None:
        with tally.get_lock() if hasattr(tally, "get_lock") else contextlib.nullcontext():
            tally[0] += 1
            if objective is not None and objective < tally[1]:
                tally[1] = objective


def _run_chunk(evaluate: Callable, chunk: Sequence, deadline: float | None = None, tally=None,
               report: Callable[[], None] | None = None) -> tuple[list, Any, int, list]:
    """Evaluate a chunk; (per-choice (objective, status), best (index, payload), conic solves, the conic attempts
    made when run in a worker process (the parent's :func:`~.backends.recording` cannot see them; in the parent:
    empty, they are recorded directly)). After ``deadline`` the remaining choices are skipped (status SKIPPED), and
    every conic solve stops at it. ``tally`` (else the worker's): [evaluated, best objective], updated after every
    choice, then ``report()``."""
    if tally is None:                                   # a worker process
        with backends.recording() as attempts:
            return _run_chunk(evaluate, chunk, deadline, _TALLY, report)[:3] + (attempts,)
    values, best, best_value, solves = [], None, math.inf, 0
    for i, choice in enumerate(chunk):
        if deadline is not None and time.monotonic() >= deadline:
            values.append((None, SKIPPED))
            continue
        with limits.until(deadline):
            ev = evaluate(choice)
        solves += ev.solves
        ok = ev.status == Status.OPTIMAL and ev.objective is not None
        values.append((ev.objective if ok else None, ev.status))
        if ev.status is not SKIPPED:                    # as the outcome counts it (a solve cut by the deadline)
            _count(tally, ev.objective if ok else None)
        if report is not None:
            report()
        if ok and ev.objective < best_value:
            best, best_value = (i, ev.payload), ev.objective
    return values, best, solves, []


def enumerate_choices(choices: Sequence, evaluate: Callable[[Any], Evaluation], *, workers: int | None = None,
                      chunks_per_worker: int = 4, progress_name: str = "enumeration") -> EnumerationOutcome:
    """Evaluate every choice and return the best (smallest objective; ties: the first in input order).

    ``workers``: processes (None: ``os.cpu_count()``; 1: in this process, no pool). ``evaluate`` must be picklable
    when workers > 1 (a module-level function or an object with ``__call__``). Progress (choices evaluated, the best
    objective so far; :class:`~.progress.Progress`) is reported under ``progress_name``.
    """
    start = time.perf_counter()
    deadline = limits.deadline()
    choices = list(choices)
    workers = max(1, min(workers or os.cpu_count() or 1, len(choices) or 1))
    n_chunks = 1 if workers == 1 else min(len(choices), workers * chunks_per_worker)
    bounds = [round(i * len(choices) / n_chunks) for i in range(n_chunks + 1)]
    chunks = [choices[bounds[i]:bounds[i + 1]] for i in range(n_chunks)]
    parts: list = [None] * len(chunks)
    interrupted = False
    # choices evaluated and the best objective so far, shared with the worker processes
    tally = [0.0, math.inf] if workers == 1 else multiprocessing.Array("d", [0.0, math.inf])
    progress = Progress(progress_name, len(choices), unit="choices")

    def best() -> str:
        return f"best {tally[1]:.6g}" if math.isfinite(tally[1]) else "none feasible yet"

    def report() -> None:
        progress.update(int(tally[0]), best)

    if workers == 1:
        try:
            for k, c in enumerate(chunks):
                parts[k] = _run_chunk(evaluate, c, deadline, tally, report)
        except KeyboardInterrupt:
            interrupted = True
    else:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(tally,))
        try:
            futures = {pool.submit(_run_chunk, evaluate, c, deadline): k for k, c in enumerate(chunks)}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for fut in finished:
                    parts[futures[fut]] = fut.result()
                report()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=not interrupted, cancel_futures=True)
            for process in processes if interrupted else []:
                process.terminate()
    progress.finish(int(tally[0]), best)
    out = EnumerationOutcome(Status.INFEASIBLE, evaluations=0, workers=workers)
    best_value = math.inf
    for chunk, part in zip(chunks, parts):
        if part is None:                                 # an interrupted chunk: nothing of it is known
            out.skipped += len(chunk)
            continue
        values, best, solves, attempts = part
        backends.note_attempts(attempts)
        out.sdp_solves += solves
        for choice, (value, status) in zip(chunk, values):
            if status is SKIPPED:
                out.skipped += 1
                continue
            out.evaluations += 1
            out.objectives.append((choice, value))
            if status not in (Status.OPTIMAL, Status.INFEASIBLE):
                out.failed.append((choice, status))
            if value is not None and value < best_value:
                best_value = value
                out.choice, out.objective = choice, value
        if best is not None and chunk[best[0]] == out.choice:
            out.payload = best[1]
    if out.skipped:                                      # a partial enumeration proves nothing
        out.termination = Termination.INTERRUPTED if interrupted else Termination.TIME_LIMIT
        out.status = Status.FEASIBLE if out.choice is not None else Status.NO_SOLUTION
    elif out.failed:
        out.status = Status.ERROR
    elif out.choice is not None:
        out.status = Status.OPTIMAL
    out.time_s = time.perf_counter() - start
    return out
