"""Mixed-integer programs through Pyomo's solver layer: HiGHS by default, a size-limited Gurobi when it fits."""
from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass, field

from ...errors import SolverError
from ..result import Status, Termination
from .availability import DEFAULT_INTEGER, canonical_name, require_usable

@dataclass
class IntegerOutcome:
    status: Status
    solver: str
    objective: float | None      # incumbent objective
    bound: float | None          # best proven bound
    gap: float | None            # relative gap |objective - bound| / max(|objective|, 1e-10)
    solve_time_s: float
    notes: list[str] = field(default_factory=list)
    termination: Termination = Termination.CONVERGED


_PYOMO_NAMES = {"HIGHS": "highs", "GUROBI": "gurobi_direct"}


def _pyomo_solve(model, name: str, time_limit, rel_gap, options):
    import pyomo.environ  # noqa: F401
    from pyomo.contrib.solver.common.factory import SolverFactory

    solver = SolverFactory(_PYOMO_NAMES[name])
    kwargs = dict(load_solutions=False, raise_exception_on_nonoptimal_result=False, rel_gap=rel_gap,
                  abs_gap=0.0, solver_options=dict(options or {}))
    if time_limit is not None:
        kwargs["time_limit"] = float(time_limit)
    with contextlib.redirect_stdout(io.StringIO()):
        return solver.solve(model, **kwargs)


def solve_integer(model, solver: str | None = None, *, time_limit: float | None = None, rel_gap: float = 1e-9,
                  options: dict[str, dict] | None = None) -> IntegerOutcome:
    """Solve a Pyomo (mixed-)integer model and load the incumbent into it.

    HiGHS by default; with a size-limited Gurobi licence a model that is too large falls back to HiGHS (noted).
    An "infeasible or unbounded" answer is re-solved with presolve off to tell the two apart. ``options``: solver
    options per solver name (``{"HIGHS": {"presolve": "off"}}``), so a fallback gets its own settings.
    """
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition as TC

    name = require_usable(solver, "integer") if solver else DEFAULT_INTEGER
    per_solver = {canonical_name(k): v for k, v in (options or {}).items()}
    notes: list[str] = []
    start = time.perf_counter()
    try:
        res = _pyomo_solve(model, name, time_limit, rel_gap, per_solver.get(name))
    except Exception as exc:  # gurobipy raises for models beyond the size-limited licence
        if name == "GUROBI" and "size-limited" in str(exc).lower():
            notes.append("Gurobi's size-limited licence refused the model; solved with HiGHS instead")
            name = DEFAULT_INTEGER
            res = _pyomo_solve(model, name, time_limit, rel_gap, per_solver.get(name))
        else:
            raise SolverError(f"{name} failed: {exc}") from exc
    if res.termination_condition == TC.infeasibleOrUnbounded:
        notes.append(f"{name} reported infeasible-or-unbounded; re-solved with presolve off")
        off = {"HIGHS": {"presolve": "off"}, "GUROBI": {"DualReductions": 0}}[name]
        res = _pyomo_solve(model, name, time_limit, rel_gap, {**per_solver.get(name, {}), **off})
    _LIMITS = {TC.maxTimeLimit: Termination.TIME_LIMIT, TC.iterationLimit: Termination.ITERATION_LIMIT,
               TC.objectiveLimit: Termination.ITERATION_LIMIT, TC.interrupted: Termination.INTERRUPTED}
    tc, sol = res.termination_condition, res.solution_status
    has_solution = sol in (SolutionStatus.optimal, SolutionStatus.feasible)
    if has_solution:
        res.solution_loader.load_vars()
    obj = res.incumbent_objective if has_solution else None
    bound = res.objective_bound
    bound = float(bound) if bound is not None and abs(bound) != float("inf") else None
    gap = None
    if obj is not None and bound is not None:
        gap = abs(obj - bound) / max(abs(obj), 1e-10)
    if tc == TC.convergenceCriteriaSatisfied and has_solution:
        status = Status.OPTIMAL
    elif tc == TC.provenInfeasible or tc == TC.infeasibleOrUnbounded:
        status = Status.INFEASIBLE
    elif tc == TC.unbounded:
        status = Status.UNBOUNDED
    elif tc in _LIMITS:
        status = Status.FEASIBLE if has_solution else Status.NO_SOLUTION
    else:
        status = Status.ERROR
    termination = _LIMITS.get(tc, Termination.CONVERGED if status is not Status.ERROR else Termination.SOLVER_FAILURE)
    return IntegerOutcome(status, name, obj, bound, gap, time.perf_counter() - start, notes, termination)
