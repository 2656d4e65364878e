"""The exact mixed-integer conic methods as a cvxpy solver: ``problem.solve(solver=MISDP)`` on your own model.

cvxpy compiles the user's problem (boolean/integer variables; zero, nonnegative, second-order, PSD, exponential and
3-d power cones) to Clarabel's conic form min c'x s.t. A x + s = b, s in K, with the integer columns listed
(``MIP_CAPABLE``). :class:`MisdpSolver` rebuilds that data as a plain cvxpy problem over one column vector x
(:func:`conic_problem`) and hands it to :func:`~isacopt.algorithms.branch_and_bound.solve` (default) or
:func:`~isacopt.algorithms.outer_approximation.solve` (``method="oa"``); cvxpy then maps the answer back to the
user's variables. The certificate is in ``problem.solver_stats.extra_stats``: status, termination, lower and upper
bound (of the compiled minimization: for a ``Maximize`` problem they bound minus its objective), gap, nodes (OA: its
master solves), conic solves, notes.

Statuses: proven optimal -> ``optimal``; stopped at a limit with a point -> ``user_limit`` (cvxpy's "solution
present, not proven"; the gap is in the stats); infeasible / unbounded as proven; an unverified or inaccurate end
-> ``optimal_inaccurate`` / ``unbounded_inaccurate``; no point at all -> cvxpy's ``SolverError`` with the notes.
Settings (``problem.solve(solver=MISDP, **settings)``): ``algorithm`` ("bnb" | "oa"), ``time_limit`` (s),
``rel_gap`` (1e-6), ``node_limit`` (bnb nodes / OA masters).
"""
from __future__ import annotations

import cvxpy as cp
import cvxpy.settings as s
import numpy as np
import scipy.sparse as sp
from cvxpy.reductions.solution import Solution, failure_solution
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import CLARABEL

from .backends.certificate import _triangle
from .result import Status

SETTINGS = {"algorithm", "time_limit", "rel_gap", "node_limit"}


def _triangle_to_full(n: int) -> sp.csr_matrix:
    """(n*n, n(n+1)/2) sparse map from Clarabel's PSDTriangle vector to the column-major full matrix (the convention
    of :func:`~.backends.certificate.psd_unpack`, which the backends' tests pin): entry j of the triangle, at (r, c)
    with scale 1 or sqrt 2, fills (r, c) and (c, r) with 1/scale."""
    rows, cols, scale = _triangle(n)
    j = np.arange(rows.size)
    off = rows != cols
    full = np.concatenate([rows + cols * n, (cols + rows * n)[off]])
    return sp.csr_matrix((np.concatenate([1 / scale, 1 / scale[off]]), (full, np.concatenate([j, j[off]]))),
                         shape=(n * n, rows.size))


def conic_problem(data: dict) -> tuple[cp.Problem, cp.Expression, dict]:
    """A cvxpy problem over the column vector x of Clarabel-form conic data (c, A, b, dims, integer columns):
    (problem, x, {"binary"/"integer"/"continuous": (columns, variable)})."""
    c, A, b, dims = np.asarray(data[s.C], float), sp.csr_matrix(data[s.A]), np.asarray(data[s.B], float), data["dims"]
    n = c.size
    kinds = np.zeros(n, int)                                   # 0 continuous, 1 boolean, 2 integer
    kinds[np.asarray(data.get(s.BOOL_IDX, []), int)] = 1
    kinds[np.asarray(data.get(s.INT_IDX, []), int)] = 2
    parts, pieces = {}, []
    for kind, name, attrs in ((1, "binary", dict(boolean=True)), (2, "integer", dict(integer=True)),
                              (0, "continuous", {})):
        cols = np.flatnonzero(kinds == kind)
        if cols.size:
            var = cp.Variable(cols.size, name=f"x_{name}", **attrs)
            parts[name] = (cols, var)
            pieces.append(sp.csr_matrix((np.ones(cols.size), (cols, np.arange(cols.size))), shape=(n, cols.size))
                          @ var)
    x = sum(pieces) if pieces else cp.Constant(np.zeros(0))
    slack = b - A @ x
    cons, row = [], 0
    if dims.zero:
        cons.append(slack[:dims.zero] == 0)
    row = dims.zero
    if dims.nonneg:
        cons.append(slack[row:row + dims.nonneg] >= 0)
    row += dims.nonneg
    for k in dims.soc:
        cons.append(cp.SOC(slack[row], slack[row + 1:row + k]))
        row += k
    for k in dims.psd:
        m = k * (k + 1) // 2
        full = cp.reshape(_triangle_to_full(k) @ slack[row:row + m], (k, k), order="F")   # symmetric by construction
        cons.append(0.5 * (full + full.T) >> 0)
        row += m
    for _ in range(dims.exp):
        cons.append(cp.ExpCone(slack[row], slack[row + 1], slack[row + 2]))
        row += 3
    for alpha in dims.p3d:
        cons.append(cp.PowCone3D(slack[row], slack[row + 1], slack[row + 2], alpha))
        row += 3
    if getattr(dims, "pnd", None):
        raise ValueError("MISDP: n-dimensional power cones are not supported")
    return cp.Problem(cp.Minimize(c @ x), cons), x, parts


class MisdpSolver(CLARABEL):
    """cvxpy custom solver ``ISACOPT_MISDP`` (module docstring)."""

    MIP_CAPABLE = True

    def name(self):
        return "ISACOPT_MISDP"

    def import_solver(self) -> None:
        return None

    def supports_quad_obj(self) -> bool:
        return False

    def apply(self, problem):
        """Clarabel's conic data plus the integer columns (cvxpy lists them for MIP-capable solvers)."""
        data, inv_data = super().apply(problem)
        param_prob = data[s.PARAM_PROB]
        data[s.BOOL_IDX] = [int(t[0]) for t in param_prob.x.boolean_idx]
        data[s.INT_IDX] = [int(t[0]) for t in param_prob.x.integer_idx]
        return data, inv_data

    def solve_via_data(self, data, warm_start: bool, verbose: bool, solver_opts, solver_cache=None):
        from . import branch_and_bound, outer_approximation

        opts = dict(solver_opts or {})
        opts.pop("use_quad_obj", None)
        unknown = set(opts) - SETTINGS
        if unknown:
            raise TypeError(f"ISACOPT_MISDP: unrecognized setting(s) {sorted(unknown)}: expected {sorted(SETTINGS)}")
        method = opts.get("algorithm", "bnb")
        if method not in ("bnb", "oa"):
            raise ValueError(f"ISACOPT_MISDP: algorithm must be 'bnb' or 'oa' (got {method!r})")
        problem, x, parts = conic_problem(data)
        kwargs = dict(time_limit_s=opts.get("time_limit"), rel_gap=opts.get("rel_gap", 1e-6),
                      log=print if verbose else None)
        if method == "bnb":
            out = branch_and_bound.solve(problem, node_limit=opts.get("node_limit"), **kwargs)
        else:
            out = outer_approximation.solve(problem, iteration_limit=opts.get("node_limit") or 1000, **kwargs)
        point = None
        if out.values is not None:
            point = np.zeros(np.asarray(data[s.C]).size)
            for cols, var in parts.values():
                point[cols] = np.asarray(out.values[var], float).ravel()
        return dict(outcome=out, x=point, method=method)

    def invert(self, solution, inverse_data):
        out, x = solution["outcome"], solution["x"]
        offset = float(inverse_data[s.OFFSET])
        shift = (lambda v: None if v is None else v + offset)
        stats = dict(algorithm=solution["method"], status=out.status.value, termination=out.termination.value,
                     lower_bound=shift(out.lower_bound), upper_bound=shift(out.upper_bound), gap=out.gap,
                     nodes=out.nodes,
                     conic_solves=out.sdp_solves, notes=list(out.notes))
        attr = {s.SOLVE_TIME: out.time_s, s.EXTRA_STATS: stats, s.NUM_ITERS: out.nodes}
        status = {Status.OPTIMAL: s.OPTIMAL, Status.FEASIBLE: s.USER_LIMIT, Status.INFEASIBLE: s.INFEASIBLE,
                  Status.UNBOUNDED: s.UNBOUNDED, Status.UNBOUNDED_INACCURATE: s.UNBOUNDED_INACCURATE,
                  Status.OPTIMAL_INACCURATE: s.OPTIMAL_INACCURATE,
                  Status.FEASIBLE_INACCURATE: s.OPTIMAL_INACCURATE}.get(out.status, s.SOLVER_ERROR)
        if status in s.SOLUTION_PRESENT and x is not None and out.objective is not None:
            return Solution(status, out.objective + offset, {inverse_data[self.VAR_ID]: x}, {}, attr)
        if status in s.SOLUTION_PRESENT:
            status = s.SOLVER_ERROR
        return failure_solution(status, attr)


#: The instance to pass to cvxpy: ``problem.solve(solver=MISDP, algorithm="bnb", time_limit=60)``.
MISDP = MisdpSolver()
