"""Alternating optimization (AO) between two subproblems, with history and a monotonicity record.

Paper-independent: the driver receives two *subproblem objects* and a state. Each object has ``name`` and
``solve(state) -> Step``; the first one (e.g. (P1.A) of the robust-precoding paper: maximize the design objective for
fixed budgets) reports the objective the AO is judged by, the second one (e.g. (P1.B): tighten the budgets while
keeping the first step's performance) prepares the next state. The driver stops when the first objective improves by
less than ``tol`` (relative), after ``max_iter`` rounds, or when a step has no solution. It never hides a decrease:
``monotone`` is False (and the decrease is in the history) when the objective fell by more than ``slack``. A second
step that is not solved to optimality (e.g. ``optimal_inaccurate``) ends the AO: its state is not trusted. A Ctrl-C
ends it too (``interrupted``), keeping the last completed round (``no_solution`` before the first).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from . import limits
from .progress import Progress
from .result import Status


@dataclass
class Step:
    """Outcome of one subproblem solve: the new state, its objective (None for a failed solve), status, extras."""

    state: Any
    objective: float | None
    status: Status
    solver_time_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


class Subproblem(Protocol):
    name: str

    def solve(self, state: Any) -> Step: ...


@dataclass
class AOOutcome:
    state: Any                       # state after the last successful first-step solve (and its second step)
    objective: float | None          # last objective of the first subproblem
    status: Status                   # OPTIMAL when every solve succeeded; else the failing solve's status
    iterations: int
    converged: bool
    monotone: bool
    history: list[dict[str, Any]]
    solver_time_s: float
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False        # a Ctrl-C ended the rounds (``state`` is the last completed round's)


def alternate(first: Subproblem, second: Subproblem, state: Any, *, max_iter: int = 20, tol: float = 1e-4,
              sense: str = "max", slack: float = 1e-6, name: str = "AO") -> AOOutcome:
    """Run first/second alternately from ``state``; see the module docstring. Progress (rounds, the first
    objective; :class:`~.progress.Progress`) is reported under ``name``."""
    bar = Progress(name, max_iter, unit="rounds")
    try:
        return _alternate(first, second, state, max_iter, tol, sense, slack, bar)
    finally:
        bar.finish()


def _alternate(first, second, state, max_iter, tol, sense, slack, bar) -> AOOutcome:
    """The loop behind :func:`alternate`."""
    sign = 1.0 if sense == "max" else -1.0
    history: list[dict[str, Any]] = []
    best_state, best_obj, previous = state, None, None
    monotone, converged, status, solver_time, notes = True, False, Status.OPTIMAL, 0.0, []
    iteration, best_round = 0, 0
    with limits.interruptible() as stop:                 # Ctrl-C: keep the last completed round's design
        for iteration in range(1, max_iter + 1):
            if iteration > 1 and limits.expired():          # the run's time limit: keep the last accepted round
                notes.append(f"AO stopped by the time limit before round {iteration}")
                break
            a = first.solve(state)
            solver_time += a.solver_time_s
            history.append({"iteration": iteration, "step": first.name, "status": a.status.value,
                            "objective": a.objective, **a.info})
            if not a.status.has_solution or a.objective is None:
                status = a.status
                notes.append(f"AO stopped: {first.name} returned {a.status.value} at iteration {iteration}")
                break
            if previous is not None and sign * (a.objective - previous) < -slack * max(1.0, abs(previous)):
                monotone = False
                notes.append(f"AO objective decreased at iteration {iteration}: {previous:.8g} -> {a.objective:.8g}")
            best_state, best_obj, best_round = a.state, a.objective, iteration
            bar.update(iteration, f"{first.name} objective {a.objective:.8g}")
            if previous is not None and abs(a.objective - previous) <= tol * max(1.0, abs(previous)):
                converged = True
                break
            previous = a.objective
            b = second.solve(a.state)
            solver_time += b.solver_time_s
            history.append({"iteration": iteration, "step": second.name, "status": b.status.value,
                            "objective": b.objective, **b.info})
            if b.status != Status.OPTIMAL:   # an inaccurate second step would void the monotonicity argument
                notes.append(f"AO stopped: {second.name} returned {b.status.value} at iteration {iteration}; "
                             f"keeping the last {first.name} solution")
                break
            state = b.state
        else:
            notes.append(f"AO reached max_iter = {max_iter} without meeting tol = {tol:g}")
    if stop.happened:
        notes.append(f"AO interrupted (Ctrl-C) in round {iteration}; "
                     + (f"keeping the design of round {best_round}" if best_obj is not None else "no round completed"))
        status = status if best_obj is not None else Status.NO_SOLUTION
    return AOOutcome(best_state, best_obj, status, iteration, converged, monotone, history, solver_time, notes,
                     stop.happened)
