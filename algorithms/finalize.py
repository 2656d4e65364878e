"""The one place that decides a result's status (DESIGN.md, "One finalizer owns the status rules").

Every method of every paper ends in :func:`finalize`. The rules:

1. No solution came back: the status is the solver's (infeasible, unbounded, no_solution, error), with why it
   stopped in ``termination``.
2. A method whose optimal solve does not prove its point optimal for the paper's problem (``proven=False``: AO, SCA
   polish, Gaussian randomization, a benchmark scheme) is ``feasible`` with the best valid ``bound`` it knows and the
   gap to it; it may say ``optimal`` only when that gap is within ``tol`` of the bound.
3. An inaccurate solve is never upgraded (``optimal_inaccurate`` stays).
4. An unverified point is never ``optimal`` or ``feasible``: it becomes ``optimal_inaccurate`` /
   ``feasible_inaccurate``, and the worst violated constraint is named in the notes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import verify
from .result import GAP_TOLERANCE, Result, Status, Termination, relative_gap


@dataclass
class Assessment:
    """What a paper recomputes from a solution with NumPy against its original, unrelaxed constraints: the one
    return type of every paper's ``assess`` (and of :meth:`~.protocols.RelaxationModel.assess`), handed to
    :func:`finalize` as ``assessment=``."""

    objective: float
    metrics: dict[str, Any]
    checks: list[verify.Check]
    notes: list[str] = field(default_factory=list)
    proven: bool = True              # an optimal solve proves this point optimal (False: a heuristic's point)
    bound: float | None = None       # a valid bound on the optimum in the objective's units (e.g. a relaxation value)


def bounds_in_sense(objective: float | None, bound: float | None, sense: str) -> tuple[float | None, float | None]:
    """(lower_bound, upper_bound) on the optimum: the incumbent bounds one side, ``bound`` the other."""
    return (bound, objective) if sense == "min" else (objective, bound)


def finalize(base: dict[str, Any], *, status: Status, assessment: Assessment | None = None,
             bound: float | None = None, proven: bool | None = None,
             termination: Termination = Termination.CONVERGED, tol: float = GAP_TOLERANCE,
             notes: Iterable[str] = (), **fields) -> Result:
    """A :class:`Result` from what a method found; see the module docstring for the rules.

    ``base``: the Result fields every outcome of the method shares (problem, method, objective_name, sense, scenario,
    channels, solver, ...); ``status``: what the solve(s) returned; ``assessment``: the paper's :class:`Assessment`
    of the solution (objective, metrics, the NumPy re-checks of the original constraints, notes, proven, bound), None
    when no solution came back; ``bound``: a valid bound on the optimum in the problem's sense (lower for ``min``)
    and ``proven``: an ``optimal`` solve proves this point optimal (exact SDR, exact search) - given here they
    override the assessment's (a search's bound, a heuristic's ``proven=False``). ``fields``: any further Result
    fields (solution, metrics (merged over the assessment's), history, nodes, ...).
    """
    objective = None
    if assessment is not None:
        objective, checks = assessment.objective, assessment.checks
        bound = assessment.bound if bound is None else bound
        proven = assessment.proven if proven is None else proven
        notes = list(assessment.notes) + list(notes)
        fields["metrics"] = {**assessment.metrics, **fields.get("metrics", {})}
    proven = True if proven is None else proven
    notes = list(base.get("notes", [])) + list(notes)
    base = {k: v for k, v in base.items() if k != "notes"}
    if not status.has_solution or objective is None:
        if status.has_solution:                         # a solve that claims a point but gave no objective
            notes.append(f"the method returned {status.value} without an objective; reported as an error")
            status, termination = Status.ERROR, Termination.SOLVER_FAILURE
        return Result(status=status, termination=termination, notes=notes, **base, **fields)
    report = verify.verify(list(checks))
    sense = base.get("sense", "min")
    gap = relative_gap(objective, bound)
    if bound is not None and math.isfinite(bound) and gap is not None and gap > tol and (
            (sense == "min" and bound > objective) or (sense == "max" and bound < objective)):
        notes.append(f"the bound {bound:.8g} is on the wrong side of the objective {objective:.8g}: not used")
        bound, gap = None, None
    elif bound is not None and gap is not None and ((sense == "min" and bound > objective) or
                                                    (sense == "max" and bound < objective)):
        bound, gap = objective, 0.0                     # past the objective by the solvers' accuracy only
    if status is Status.OPTIMAL and not proven:
        status = Status.OPTIMAL if gap is not None and gap <= tol else Status.FEASIBLE
    elif status is Status.FEASIBLE and gap is not None and gap <= tol:
        status = Status.OPTIMAL                         # a heuristic that met a valid bound within tol
    if not report.passed:
        notes.append(f"verification failed: worst constraint '{report.worst}' violated by {report.max_violation:.2e}")
        status = {Status.OPTIMAL: Status.OPTIMAL_INACCURATE, Status.FEASIBLE: Status.FEASIBLE_INACCURATE}.get(status,
                                                                                                         status)
    lower, upper = bounds_in_sense(objective, bound, sense)
    extra = dict(lower_bound=lower, upper_bound=upper, gap=gap) if bound is not None else {}
    extra.update(fields)
    return Result(status=status, termination=termination, objective=objective, verified=report.passed,
                  max_violation=report.max_violation, violations=report.violations, notes=notes, **base, **extra)
