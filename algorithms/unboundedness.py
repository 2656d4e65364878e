"""Unboundedness of a mixed-integer conic problem whose relaxation is unbounded: a proof, infeasibility, or no
decision (used by both exact methods, :mod:`.branch_and_bound` and :mod:`.outer_approximation`)."""
from __future__ import annotations

import cvxpy as cp
import numpy as np

from .backends.conic import solve_conic_data
from .result import Status


#: A recession direction's integer entries, scaled so that the smallest non-negligible one is 1, must be integral to
#: this (relative); entries below RAY_TOL of the largest count as zero.
RAY_TOL = 1e-7
#: Wall-clock budget of the feasibility search behind an unboundedness proof when the run has no limit of its own.
UNBOUNDED_SEARCH_S = 60.0


def prove_unbounded(problem: cp.Problem, relax, lo: np.ndarray, hi: np.ndarray,
                    time_limit_s: float | None) -> tuple[Status | None, str]:
    """Decide a mixed-integer conic problem whose relaxation (integers within [lo, hi]) the solver proved unbounded.

    Unbounded (a proof, to the stated tolerances): a recession direction d of the relaxation (Clarabel's certificate:
    -A d in K, c'd < 0) whose integer entries are integral after scaling, and one mixed-integer feasible point x0
    (a branch-and-bound run on the feasibility problem, objective the integers' 1-norm): x0 + k d is feasible for
    every k in N with objective -> -inf (Meyer 1974 needs rational linear data for the converse; here the ray itself
    is checked).
    Infeasible: the feasibility run proves that no integer point exists. Otherwise (no usable ray, no decision):
    None. ``relax``: the problem's :class:`~.branch_and_bound.Relaxation`. Returns (status, a note saying which)."""
    from .branch_and_bound import solve
    from .outer_approximation import conic_form
    try:
        form, _ = conic_form(problem, relax, lo, hi)
    except ValueError as exc:
        return None, f"unbounded relaxation: no recession direction checked ({exc})"
    ans = solve_conic_data(form.A, form.b, form.c, form.dims)
    if ans.status is not Status.UNBOUNDED or ans.x is None or not np.all(np.isfinite(ans.x)):
        return None, f"unbounded relaxation: the raw re-solve gave {ans.status.value}, no recession direction"
    d = ans.x / max(float(np.max(np.abs(ans.x))), 1e-300)
    d_int = d[form.int_cols]
    big = np.abs(d_int) > RAY_TOL
    if big.any():
        d = d / float(np.min(np.abs(d_int[big])))
        d_int = d[form.int_cols]
        if np.max(np.abs(d_int - np.round(d_int)) / np.maximum(1.0, np.abs(d_int))) > 1e-6:
            return None, ("unbounded relaxation: its recession direction is not integral in the integer variables "
                          f"({d_int[:6]}...); no proof for the integer problem")
    d[form.int_cols] = np.round(d_int) * big
    slope, cone = float(form.c @ d), form.violation(d, ray=True)
    if not slope < -1e-9 * float(np.abs(form.c) @ np.abs(d)) or cone > 1e-7:
        return None, f"unbounded relaxation: the rounded direction fails (c'd = {slope:.3g}, cone violation {cone:.1e})"
    # the feasibility problem, with the integers' 1-norm as objective: bounded below, and it keeps the relaxed points
    # (and so rounding) near the origin instead of at the analytic centre of an unbounded set
    feasibility = cp.Problem(cp.Minimize(sum(cp.norm1(cp.vec(iv.var, order="F")) for iv in relax.int_vars)),
                             problem.constraints)
    out = solve(feasibility, time_limit_s=time_limit_s, node_limit=10_000)
    if out.status is Status.INFEASIBLE:
        return Status.INFEASIBLE, ("unbounded relaxation, but the feasibility search proves that no integer point "
                                   "exists: infeasible")
    if out.status in (Status.OPTIMAL, Status.FEASIBLE):
        return Status.UNBOUNDED, (f"unbounded: an integer-feasible point (feasibility search, {out.nodes} nodes) "
                                  f"plus k times an integral recession direction (c'd = {slope:.3g} per unit, cone "
                                  f"violation {cone:.1e}) stays feasible for every k in N")
    return None, (f"unbounded relaxation with an integral recession direction; the feasibility search ended "
                  f"{out.status.value}: no decision (unbounded_inaccurate; Meyer 1974 proves unboundedness from a "
                  "feasible point for rational linear data only)")
