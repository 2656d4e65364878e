"""Successive convex approximation (SCA): solve a convex surrogate linearized at the current point, move, repeat.

Paper-independent. The model supplies ``surrogate(point) -> cp.Problem`` (binds the linearization at ``point`` into a
DPP template and returns it) and ``read() -> point`` (the surrogate's solution). When each surrogate is an inner
approximation of the original problem (e.g. a matrix-convex function replaced by its linearization, a lower bound, as
in the robust-precoding paper's recovery), every iterate is feasible for the original problem; and as the
linearization is exact at the point it is taken, the previous iterate is feasible for the next surrogate at its old
value, so the surrogate's optimum never gets worse. The loop stops when the value changes by at most ``tol``
relative to max(1, |previous|), after ``max_iter`` rounds, or when a surrogate is not solved to optimality: then the previous point is kept (an inaccurate
answer is no certified iterate) and a note says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import cvxpy as cp

from . import backends
from .result import Status


@dataclass
class SCAOutcome:
    point: Any                       # the last accepted iterate (the start when no round succeeded)
    history: list[float] = field(default_factory=list)    # surrogate optimum per accepted round
    note: str | None = None          # why the loop stopped early, if a solve failed
    outcomes: list = field(default_factory=list)          # every conic outcome (backends.ConicOutcome)


def successive_convex_approximation(point: Any, surrogate: Callable[[Any], cp.Problem], read: Callable[[], Any], *,
                                    max_iter: int, tol: float = 1e-3, solver: str | None = None,
                                    name: str = "SCA") -> SCAOutcome:
    """Run SCA from ``point`` (module docstring). The surrogates are solved by Clarabel's ladder only
    (``fallback=False``): a first-order answer (~1e-6 residuals) is not accurate enough to certify an iterate."""
    out = SCAOutcome(point)
    best = None
    for it in range(max_iter):
        problem = surrogate(out.point)
        solved = backends.solve_conic(problem, solver, fallback=False)
        out.outcomes.append(solved)
        if solved.status != Status.OPTIMAL:
            out.note = f"{name} round {it + 1}: {solved.status.value}; kept the previous iterate"
            break
        out.point = read()
        value = float(problem.value)
        out.history.append(value)
        if best is not None and abs(value - best) <= tol * max(1.0, abs(best)):
            break
        best = value
    return out
