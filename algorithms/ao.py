"""Alternating optimization (AO): the one block-coordinate driver of every paper's heuristic.

A model hands the driver a state and its *blocks*: objects with ``name`` and ``solve(state) -> Step``, each solving
one subproblem with the other blocks' variables fixed. The driver runs them in turn, round after round, and judges
the rounds by a *merit*:

- ``merit(state) -> (value, record)`` after every full round (the BS-selection paper's Algorithm 1: the penalized
  objective (16), its concave part majorized at the current point (17), so each block is convex and the merit never
  increases at fixed mu), or
- with ``merit=None``, the objective of the first block's :class:`Step`, judged right after that block; the later
  blocks only prepare the next round (the robust-precoding paper's Algorithm 1: stage A maximizes the design
  objective for fixed budgets, stage B tightens the budgets keeping stage A's performance). If stage A has settled,
  stage B is not run.

Stopping: the merit changed by at most ``tol`` relative to ``max(|previous|, floor)`` (and, with ``settled``, the
state is settled, e.g. binaries at 0/1), ``max_iter`` rounds, the run's time limit (:mod:`.limits`), a block that
returns no solution, a non-judged block that is not solved to optimality (its state would void the monotonicity
argument), or a Ctrl-C. Whatever ends the loop, the outcome keeps the state of the last merit evaluation, i.e. the
last round the history records (with ``merit``, one record per round: the merit and the model's record; without,
one record per block solve); ``termination`` says why it ended, apart from ``status`` (what the solves returned).
A decrease of the merit (in its ``sense``) by more than ``slack`` is never hidden: ``monotone`` is False and the
history shows it (``slack=None``: not checked, e.g. under a penalty continuation, whose merit changes by design).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from . import limits
from .progress import Progress
from .result import Status, Termination

#: Table I of the BS-selection paper.
DEFAULT_MU = 3e4
DEFAULT_TOL = 1e-3


@dataclass
class Step:
    """Outcome of one block solve: the new state, its objective (None when the block reports none or failed),
    status, solver time and extras for the history."""

    state: Any
    objective: float | None
    status: Status
    solver_time_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


class Block(Protocol):
    name: str

    def solve(self, state: Any) -> Step: ...


@dataclass
class FunctionBlock:
    """A block from a function ``state -> (state, Status)`` (no objective of its own)."""

    name: str
    function: Callable[[Any], tuple[Any, Status]]

    def solve(self, state: Any) -> Step:
        new, status = self.function(state)
        return Step(new, None, status)


@dataclass
class AOOutcome:
    status: Status                   # OPTIMAL when every solve succeeded; else the failing solve's status
    termination: Termination
    state: Any                       # the state of the last merit evaluation (the last round in the history)
    objective: float | None          # its merit; None when no round completed (merit=None, first block failed)
    history: list[dict[str, Any]] = field(default_factory=list)
    iterations: int = 0
    solves: int = 0
    time_s: float = 0.0
    solver_time_s: float = 0.0
    monotone: bool | None = True     # None: not checked (slack=None)
    notes: list[str] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        return self.termination is Termination.CONVERGED

    @property
    def interrupted(self) -> bool:
        return self.termination is Termination.INTERRUPTED


def alternate(state: Any, blocks: Sequence[Block], *, merit: Callable[[Any], tuple[float, dict]] | None = None,
              sense: str = "min", tol: float = DEFAULT_TOL, floor: float = 1e-12, max_iter: int = 30,
              slack: float | None = 1e-6, advance: Callable[[int], None] | None = None,
              settled: Callable[[Any], bool] | None = None, stop_when_settled: bool = False,
              name: str = "AO") -> AOOutcome:
    """Run ``blocks`` in turn from ``state`` (module docstring). ``advance(it)`` runs after round ``it`` (a penalty
    continuation grows mu there); ``stop_when_settled``: stop at the first settled state whatever the merit's change
    (a continuation's goal). Progress (rounds, the merit; :class:`~.progress.Progress`) is reported under ``name``."""
    if sense not in ("min", "max"):
        raise ValueError(f"alternate: sense must be 'min' or 'max', not {sense!r}")
    bar = Progress(name, max_iter, unit="rounds")
    run = _Run(state, blocks, merit, 1.0 if sense == "max" else -1.0, slack)
    try:
        with limits.interruptible() as stop:          # Ctrl-C: keep the last completed round
            run.loop(tol, floor, max_iter, advance, settled, stop_when_settled, bar)
        if stop.happened:
            run.end(Termination.INTERRUPTED, f"AO interrupted (Ctrl-C) in round {run.round}; "
                    + (f"keeping the state of round {run.kept_round}" if run.value is not None
                       else "no round completed"))
            if run.value is None:
                run.status = Status.NO_SOLUTION
        return run.outcome()
    finally:
        bar.finish()


class _Run:
    """The loop behind :func:`alternate` and what it has kept so far."""

    def __init__(self, state, blocks, merit, sign, slack):
        self.blocks, self.merit, self.sign, self.slack = list(blocks), merit, sign, slack
        self.state, self.kept, self.value, self.kept_round, self.round = state, state, None, 0, 0
        self.history, self.notes, self.status, self.termination = [], [], Status.OPTIMAL, None
        self.solves, self.solver_time, self.monotone = 0, 0.0, (None if slack is None else True)
        self.start = time.perf_counter()
        if merit is not None:
            self.value, record = merit(state)
            self.history.append(dict(iteration=0, merit=self.value, **record))

    def end(self, termination: Termination, note: str | None = None) -> None:
        self.termination = self.termination or termination
        if note:
            self.notes.append(note)

    def accept(self, it: int, value: float, state) -> bool:
        """Keep ``state`` with its merit ``value`` of round ``it`` (noting a worsening); returns the previous merit."""
        previous = self.value
        if previous is not None and self.slack is not None and \
                self.sign * (value - previous) < -self.slack * max(1.0, abs(previous)):
            self.monotone = False
            self.notes.append(f"AO merit got worse at round {it}: {previous:.8g} -> {value:.8g}")
        self.kept, self.value, self.kept_round = state, value, it
        return previous

    def loop(self, tol, floor, max_iter, advance, settled, stop_when_settled, bar) -> None:
        for it in range(1, max_iter + 1):
            self.round = it
            if self.value is not None and limits.expired():      # the run's time limit: keep the last round
                return self.end(Termination.TIME_LIMIT, f"AO stopped by the time limit before round {it}")
            for k, block in enumerate(self.blocks):
                step = block.solve(self.state)
                self.solves += 1
                self.solver_time += step.solver_time_s
                judged = self.merit is None and k == 0
                if self.merit is None:                   # else one record per round, the merit's
                    self.history.append({"iteration": it, "step": block.name, "status": step.status.value,
                                         "objective": step.objective, **step.info})
                failed = (not step.status.has_solution or (judged and step.objective is None)
                          or (not judged and step.status != Status.OPTIMAL))
                if failed:
                    self.status = step.status
                    why = Termination.TIME_LIMIT if limits.expired() else Termination.SOLVER_FAILURE
                    kept = f"; keeping round {self.kept_round}" if self.value is not None else ""
                    return self.end(why, f"AO stopped: {block.name} returned {step.status.value} in round {it}{kept}")
                self.state = step.state
                if judged:
                    previous = self.accept(it, step.objective, step.state)
                    bar.update(it, f"{block.name} objective {step.objective:.8g}")
                    if previous is not None and abs(step.objective - previous) <= tol * max(abs(previous), floor):
                        return self.end(Termination.CONVERGED)
            if self.merit is not None:
                value, record = self.merit(self.state)
                self.history.append(dict(iteration=it, merit=value, **record))
                previous = self.accept(it, value, self.state)
                bar.update(it, f"merit {value:.8g}")
                small = abs(value - previous) <= tol * max(abs(previous), floor)
                if (small or stop_when_settled) and (settled is None or settled(self.state)):
                    return self.end(Termination.CONVERGED)
            if advance is not None:
                advance(it)
        self.end(Termination.ITERATION_LIMIT, f"AO reached max_iter = {max_iter} without meeting tol = {tol:g}")

    def outcome(self) -> AOOutcome:
        return AOOutcome(self.status, self.termination, self.kept, self.value, self.history, self.kept_round,
                         self.solves, time.perf_counter() - self.start, self.solver_time, self.monotone, self.notes)
