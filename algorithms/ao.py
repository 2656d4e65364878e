"""Alternating optimization (AO) with a penalty + majorization-minimization (MM) treatment of binary variables.

Algorithm 1 of the BS-selection paper, written for any model: binaries x in {0, 1} are relaxed to [0, 1] and the
penalty mu * sum(x - x^2) (16) is added to the objective; its concave part -x^2 is majorized at the current point
x^(t) by its tangent, (1 - 2 x^(t)) x + (x^(t))^2 (17), so every block subproblem is convex. The blocks are solved
in turn, each from the current point with the other blocks fixed, so the penalized objective (16) never
increases (each block's surrogate is >= the objective and equal to it at the current point). The loop stops when
the relative change of the surrogate objective is below ``tol`` (Algorithm 1, step 6) or after ``max_iter``.

The model supplies the blocks: ``step(state) -> (state, Status)`` callables that solve one subproblem each, and
``objective(state) -> (penalized objective, record dict)``. Defaults mu = 3e4 and tol = 1e-3 are Table I's.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from . import limits
from .progress import Progress
from .result import Status, Termination

#: Table I of the BS-selection paper.
DEFAULT_MU = 3e4
DEFAULT_TOL = 1e-3


@dataclass
class AOOutcome:
    status: Status                       # OPTIMAL: every block solve succeeded; else the failing block's status
    termination: Termination
    state: Any
    history: list[dict] = field(default_factory=list)
    iterations: int = 0
    sdp_solves: int = 0
    time_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def alternate(state: Any, steps: Sequence[Callable[[Any], tuple[Any, Status]]],
              objective: Callable[[Any], tuple[float, dict]], *, tol: float = DEFAULT_TOL, max_iter: int = 30,
              log: Callable[[str], None] | None = None, advance: Callable[[int], None] | None = None,
              settled: Callable[[Any], bool] | None = None, stop_when_settled: bool = False,
              name: str = "AO") -> AOOutcome:
    """Run the blocks ``steps`` in turn until the penalized objective settles (see module docstring).

    ``history[0]`` is the starting point; every later entry is one full iteration (all blocks), with the
    penalized objective under ``"penalized"`` plus the model's record. ``advance(it)`` runs after iteration
    ``it`` (a penalty continuation grows mu there); with ``settled``, convergence also needs ``settled(state)``
    (e.g. the binaries at 0/1), else the loop goes on to ``max_iter``; ``stop_when_settled``: stop at the first
    settled iterate (a penalty continuation's goal) whatever the objective's change. Progress (iterations, the
    penalized objective; :class:`~.progress.Progress`) is reported under ``name``.
    """
    bar = Progress(name, max_iter, unit="iterations")
    try:
        return _alternate(state, steps, objective, tol, max_iter, log, advance, settled, stop_when_settled, bar)
    finally:
        bar.finish()


def _alternate(state, steps, objective, tol, max_iter, log, advance, settled, stop_when_settled, bar) -> AOOutcome:
    """The loop behind :func:`alternate`."""
    start = time.perf_counter()
    value, record = objective(state)
    history = [dict(iteration=0, penalized=value, **record)]
    solves = 0
    for it in range(1, max_iter + 1):
        if limits.expired():                            # the run's time limit: keep the last full iterate
            return AOOutcome(Status.OPTIMAL, Termination.TIME_LIMIT, state, history, it - 1, solves,
                             time.perf_counter() - start, [f"time limit reached before iteration {it}"])
        for step in steps:
            new_state, status = step(state)
            solves += 1
            if status != Status.OPTIMAL:
                why = Termination.TIME_LIMIT if limits.expired() else Termination.SOLVER_FAILURE
                return AOOutcome(status if why is Termination.SOLVER_FAILURE else Status.OPTIMAL, why, state,
                                 history, it - 1, solves,
                                 time.perf_counter() - start,
                                 [f"iteration {it}: a block subproblem returned {status.value}; stopped"])
            state = new_state
        new_value, record = objective(state)
        history.append(dict(iteration=it, penalized=new_value, **record))
        if log:
            log(f"AO iteration {it}: penalized objective {new_value:.10g}")
        bar.update(it, f"penalized objective {new_value:.8g}")
        small = abs(new_value - value) <= tol * max(abs(new_value), 1e-12)
        if (small or stop_when_settled) and (settled is None or settled(state)):
            return AOOutcome(Status.OPTIMAL, Termination.CONVERGED, state, history, it, solves,
                             time.perf_counter() - start)
        value = new_value
        if advance is not None:
            advance(it)
    return AOOutcome(Status.OPTIMAL, Termination.ITERATION_LIMIT, state, history, max_iter, solves,
                     time.perf_counter() - start,
                     [f"no convergence within {max_iter} iterations"])
