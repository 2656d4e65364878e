"""Mixed-integer SDPs from CBF files (Conic Benchmark Format, CBLIB, versions 1-3) for the branch-and-bound.

The CBF model (0-based indices, symmetric matrices given by their lower triangle):

    min/max   sum_j <F^obj_j, X_j> + c^T x + b^obj
    s.t.      g_i = sum_j <F_ij, X_j> + sum_j a_ij x_j + b_i   in the cones of CON (F, L+, L-, L=, Q, QR, EXP)
              G_k = sum_j x_j H_kj + D_k  PSD                    (PSDCON)
              x in the cones of VAR, X_j PSD (PSDVAR), x_j integer for j in INT.

:func:`isacopt.data.cbf.read_cbf` parses a file into :class:`CBFData` (plain NumPy/SciPy, no cvxpy); ``build_problem`` turns it into a
cvxpy problem with ``boolean=True`` integers where single-variable rows bound them to [0, 1] and ``integer=True``
(with cvxpy ``bounds``) otherwise; ``check_solution`` re-checks a solution against the ORIGINAL data with NumPy
only (integrality, every cone row, PSD-ness by eigenvalues, the objective). ``PSDVARRANK1`` and ``PSDCONRANK1``
(SCIP-SDP extensions: a rank-one PSD variable, a rank-one PSD constraint) are not convex: the solver drops them and
``check_solution`` verifies rank one at the end (if the relaxed optimum is rank one, it is optimal for the
rank-constrained problem too; otherwise the run is an error, never a claimed optimum).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from ..algorithms import verify
from ..data.cbf import (INSTANCE_DIR, CBFData, CBFError, available_instances, known_optima, read_cbf,
                        resolve_instance)
from ..data.schema import spec, validate
from ..registry import Method, Problem, register

PROBLEM = "misdp"
INT_TOL = 1e-6

__all__ = ["CBFData", "CBFError", "INSTANCE_DIR", "available_instances", "known_optima", "read_cbf",
           "resolve_instance", "build_problem", "check_solution", "objective_value", "MisdpScenario", "solve_bnb",
           "solve_oa"]

# ================================================================================================ cvxpy model
@dataclass
class MisdpModel:
    """A CBF instance as a cvxpy problem: ``x`` (n,) affine expression of the scalar variables, ``X`` PSD variables,
    ``groups`` (none are inferred; kept for the branch-and-bound API)."""

    data: CBFData
    problem: cp.Problem
    x: cp.Expression
    parts: dict[str, tuple[np.ndarray, cp.Variable]]       # "binary"/"integer"/"continuous": (indices, variable)
    X: list[cp.Variable]

    def assemble(self, values: dict) -> tuple[np.ndarray, list[np.ndarray]]:
        """(x (n,), [X_j]) from a {variable: value} dict."""
        x = np.zeros(self.data.n)
        for idx, var in self.parts.values():
            if var is not None:
                x[idx] = np.asarray(values[var], float).ravel()
        return x, [np.asarray(values[X], float) for X in self.X]


def build_problem(data: CBFData) -> MisdpModel:
    """The cvxpy problem of a CBF instance; integers bounded to [0, 1] become boolean variables."""
    is_int = np.zeros(data.n, bool)
    is_int[data.integers] = True
    binary = is_int & (data.int_lower >= -INT_TOL) & (data.int_upper <= 1 + INT_TOL)
    general = is_int & ~binary
    parts: dict[str, tuple[np.ndarray, cp.Variable | None]] = {}
    pieces = []
    for name, mask in (("binary", binary), ("integer", general), ("continuous", ~is_int)):
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            parts[name] = (idx, None)
            continue
        if name == "binary":
            var = cp.Variable(idx.size, boolean=True, name="x_bin")
        elif name == "integer":
            lo = np.ceil(data.int_lower[idx] - INT_TOL)
            hi = np.floor(data.int_upper[idx] + INT_TOL)
            var = cp.Variable(idx.size, integer=True, name="x_int", bounds=[lo, hi])
        else:
            var = cp.Variable(idx.size, name="x")
        parts[name] = (idx, var)
        sel = sp.csr_matrix((np.ones(idx.size), (idx, np.arange(idx.size))), shape=(data.n, idx.size))
        pieces.append(sel @ var)
    x = sum(pieces) if pieces else cp.Constant(np.zeros(0))
    X = [cp.Variable((dim, dim), PSD=True, name=f"X{j}") for j, dim in enumerate(data.psd_dims)]
    vecs = [cp.vec(Xj, order="C") for Xj in X]     # row-major, matching the CBF coordinate fill

    constraints = []
    offset = 0
    for cone, dim in data.var_cones:
        constraints += _cone_constraint(cone, x[offset:offset + dim], data) if data.n else []
        offset += dim
    if data.m:
        g = data.a @ x + data.b if data.n else cp.Constant(data.b)
        for fj, vj in zip(data.f, vecs):
            if fj.nnz:
                g = g + fj @ vj
        offset = 0
        for cone, dim in data.con_cones:
            constraints += _cone_constraint(cone, g[offset:offset + dim], data)
            offset += dim
    for hk, dk in zip(data.h, data.d):
        dim = dk.shape[0]
        G = cp.reshape(hk @ x, (dim, dim), order="C") + dk
        constraints.append(G >> 0)
    objective = data.obj_c @ x + data.obj_b if data.n else cp.Constant(data.obj_b)
    for Fj, Xj in zip(data.obj_f, X):
        if np.any(Fj):
            objective = objective + cp.sum(cp.multiply(Fj, Xj))
    sense = cp.Minimize if data.sense == "min" else cp.Maximize
    return MisdpModel(data, cp.Problem(sense(objective), constraints), x, parts, X)


def _cone_constraint(cone: str, expr, data: CBFData) -> list:
    beta = data.power_beta(cone)
    if beta is not None:              # @k:POW / @k:POW* (data/cbf.py); the dual cone is the primal one at x / beta
        n_l = len(beta)
        left = expr[:n_l] if cone.endswith(":POW") else cp.multiply(1.0 / beta, expr[:n_l])
        right = expr[n_l:]
        if right.size == 0:
            return [left >= 0]
        t = right[0] if right.size == 1 else cp.Variable(nonneg=True)
        cons = [] if right.size == 1 else [cp.SOC(t, right)]
        if n_l == 1:                  # x_0 >= ||x_1:||
            return cons + [cp.SOC(left[0], cp.reshape(t, (1,)))]
        if n_l == 2:
            return cons + [cp.PowCone3D(left[0], left[1], t, float(beta[0]))]
        return cons + [cp.PowConeND(left, t, beta, axis=0)]
    if cone == "F":
        return []
    if cone == "L+":
        return [expr >= 0]
    if cone == "L-":
        return [expr <= 0]
    if cone == "L=":
        return [expr == 0]
    if cone == "Q":
        return [cp.SOC(expr[0], expr[1:])]
    if cone == "EXP":                 # CBF: x1 >= x2 exp(x3 / x2); cvxpy's ExpCone(x, y, z): y exp(x / y) <= z
        return [cp.ExpCone(expr[2], expr[1], expr[0])]
    # QR: 2 x0 x1 >= ||x_2:||^2, x0, x1 >= 0  <=>  ||(x0 - x1, sqrt(2) x_2:)|| <= x0 + x1
    return [cp.SOC(expr[0] + expr[1], cp.hstack([expr[0] - expr[1], np.sqrt(2.0) * expr[2:]]))]


# ================================================================================================ verification
def objective_value(data: CBFData, x: np.ndarray, X: list[np.ndarray]) -> float:
    return float(data.obj_c @ x + data.obj_b + sum(np.sum(F * Xj) for F, Xj in zip(data.obj_f, X)))


def check_solution(data: CBFData, x: np.ndarray, X: list[np.ndarray], objective: float | None = None,
                   tol: float = verify.TOLERANCE) -> verify.Verification:
    """Re-check (x, X) against the original CBF data with NumPy only; violations relative to each row's size."""
    return verify.verify(solution_checks(data, x, X, objective), tol)


def solution_checks(data: CBFData, x: np.ndarray, X: list[np.ndarray], objective: float | None = None
                    ) -> list[verify.Check]:
    """The checks of :func:`check_solution`: integrality, every cone row, PSD-ness, rank one, the objective."""
    checks = []
    if data.integers.size:
        xi = x[data.integers]
        checks.append(verify.at_most("integrality", np.abs(xi - np.round(xi)), 0.0, scale=1.0))
    g = data.a @ x + data.b
    terms = np.abs(data.a) @ np.abs(x) + np.abs(data.b)
    for fj, Xj in zip(data.f, X):
        v = Xj.reshape(-1)
        g = g + fj @ v
        terms = terms + np.abs(fj) @ np.abs(v)
    for label, vec, scale, cones in (("var", x, 1.0 + np.abs(x), data.var_cones),
                                     ("row", g, 1.0 + terms, data.con_cones)):
        offset = 0
        for k, (cone, dim) in enumerate(cones):
            seg, sc = vec[offset:offset + dim], np.broadcast_to(scale, vec.shape)[offset:offset + dim]
            name = f"{label} cone {k} ({cone})"
            if cone == "L+":
                checks.append(verify.at_least(name, seg, 0.0, scale=sc))
            elif cone == "L-":
                checks.append(verify.at_most(name, seg, 0.0, scale=sc))
            elif cone == "L=":
                checks.append(verify.close(name, seg, 0.0, scale=sc))
            elif cone == "Q":
                checks.append(verify.at_least(name, seg[0] - np.linalg.norm(seg[1:]), 0.0, scale=float(sc.max())))
            elif data.power_beta(cone) is not None:
                beta = data.power_beta(cone)
                left = seg[:len(beta)] if cone.endswith(":POW") else seg[:len(beta)] / beta
                with np.errstate(invalid="ignore"):
                    slack = float(np.prod(np.maximum(left, 0.0) ** beta)) - float(np.linalg.norm(seg[len(beta):]))
                checks.append(verify.at_least(name, np.append(left, slack), 0.0, scale=float(sc.max())))
            elif cone == "EXP":
                x1, x2, x3 = seg
                with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                    slack = x1 - x2 * np.exp(x3 / x2) if x2 > 0 else (x1 if x3 <= 0 else -np.inf)
                checks.append(verify.at_least(name, np.array([slack, x1, x2]), 0.0, scale=float(sc.max())))
            elif cone == "QR":
                checks.append(verify.at_least(name, np.array([seg[0], seg[1], 2 * seg[0] * seg[1]
                                                              - seg[2:] @ seg[2:]]), 0.0,
                                              scale=float(sc.max()) ** 2))
            offset += dim
    for j, Xj in enumerate(X):
        checks.append(_psd_check(f"PSD variable {j}", Xj))
        if j in data.psd_rank1:
            eig = np.linalg.eigvalsh(0.5 * (Xj + Xj.T))
            checks.append(verify.at_most(f"rank one of PSD variable {j}", eig[-2] if eig.size > 1 else 0.0, 0.0,
                                         scale=max(abs(eig[-1]), 1.0)))
    for k, (hk, dk) in enumerate(zip(data.h, data.d)):
        dim = dk.shape[0]
        G = (hk @ x).reshape(dim, dim) + dk
        scale = 1.0 + float((np.abs(hk) @ np.abs(x)).max(initial=0)) + float(np.abs(dk).max(initial=0))
        checks.append(_psd_check(f"PSD constraint {k}", G, scale=scale))
        if k in data.psdcon_rank1:
            eig = np.linalg.eigvalsh(0.5 * (G + G.T))
            checks.append(verify.at_most(f"rank one of PSD constraint {k}", eig[-2] if eig.size > 1 else 0.0, 0.0,
                                         scale=max(abs(eig[-1]), scale)))
    if objective is not None:
        value = objective_value(data, x, X)
        checks.append(verify.close("objective", objective, value, scale=max(1.0, abs(value))))
    return checks


def _psd_check(name: str, M: np.ndarray, scale: float | None = None) -> verify.Check:
    """Smallest eigenvalue >= 0 relative to ``scale`` (default 1 + the largest |eigenvalue|), and symmetry."""
    eig = np.linalg.eigvalsh(0.5 * (M + M.T))
    asym = float(np.max(np.abs(M - M.T), initial=0.0))
    sc = scale if scale is not None else 1.0 + float(np.max(np.abs(eig), initial=0.0))
    return verify.at_least(name, min(float(eig[0]) if eig.size else 0.0, -asym), 0.0, scale=sc)


# ================================================================================================ scenario
@dataclass(frozen=True)
class MisdpScenario:
    """A CBF instance and the branch-and-bound limits (``--set time_limit_s=60``)."""

    cbf_path: str = spec("", help="path to the .cbf file (or the name of one in data/misdp/)")
    time_limit_s: float | None = spec(None, unit="s", low=0.0, low_open=True, optional=True,
                                      help="wall-clock limit of the branch-and-bound")
    node_limit: int | None = spec(None, low=1, optional=True, help="maximum number of nodes solved")
    rel_gap: float = spec(1e-6, low=0.0, help="relative optimality gap at which the search stops")
    group_branching: str = spec("sos1", choices=("sos1", "fix_one"), help="branching rule for exactly-one groups")
    oa_master: str = spec("highs", choices=("highs", "gurobi"),
                          help="MILP master of --method oa (gurobi: when licensed; a size-limited licence hands a "
                               "master that outgrows it to HiGHS)")

    def __post_init__(self):
        validate(self)


def load(source: str | None, default: str | None, overrides=(), values: dict | None = None
         ) -> tuple[MisdpScenario, str]:
    """Registry hook: ``--scenario`` is a CBF path (or shipped name); ``--set``/``values`` override the limits."""
    from ..data.loader import build, with_overrides

    path = resolve_instance(source if source is not None else default)
    values = with_overrides(MisdpScenario, {"cbf_path": str(path)}, overrides, values)
    path = resolve_instance(str(values["cbf_path"]))         # --set cbf_path=... names the instance too
    values["cbf_path"] = str(path)
    return build(MisdpScenario, values, f"scenario '{path.stem}'"), path.stem


# ================================================================================================ solve
def solve_bnb(scenario: MisdpScenario, rng=None, solver: str | None = None, log=None):
    """Read, build and solve a CBF instance by branch-and-bound; a verified :class:`Result`."""
    from ..algorithms import branch_and_bound

    def search(model):
        return branch_and_bound.solve(model.problem, solver=solver, time_limit_s=scenario.time_limit_s,
                                      node_limit=scenario.node_limit, rel_gap=scenario.rel_gap,
                                      group_branching=scenario.group_branching, log=log)
    return _solve(scenario, "bnb", search)


def solve_oa(scenario: MisdpScenario, rng=None, solver: str | None = None, log=None):
    """Read, build and solve a CBF instance by outer approximation (:mod:`isacopt.algorithms.outer_approximation`);
    ``node_limit`` limits its MILP master solves."""
    from ..algorithms import outer_approximation

    def search(model):
        return outer_approximation.solve(model.problem, solver=solver, time_limit_s=scenario.time_limit_s,
                                         iteration_limit=scenario.node_limit or 1000, rel_gap=scenario.rel_gap,
                                         master_solver=scenario.oa_master, log=log)
    return _solve(scenario, "oa", search)


def _solve(scenario: MisdpScenario, method: str, search):
    """Read and build the instance, run ``search(model)`` (an exact method's outcome with ``certificate()``), and
    verify its point against the original CBF data; one :class:`Result`."""
    import time

    from ..algorithms.finalize import Assessment, finalize
    from ..algorithms.result import Status
    from ..data.loader import scenario_dict

    start = time.perf_counter()
    data = read_cbf(scenario.cbf_path)
    model = build_problem(data)
    out = search(model)
    notes = list(out.notes)
    rank1 = [f"PSDVARRANK1 {data.psd_rank1}"] * bool(data.psd_rank1) + \
        [f"PSDCONRANK1 {data.psdcon_rank1}"] * bool(data.psdcon_rank1)
    if rank1:
        notes.append(f"{' and '.join(rank1)}: not convex, solved without, rank one verified at the end")
    metrics = dict(num_variables=data.n, num_integers=int(data.integers.size), num_psd_vars=len(data.psd_dims),
                   num_psd_constraints=len(data.psdcon_dims), unresolved_nodes=out.unresolved,
                   solver_time_s=out.solver_time_s)
    if hasattr(out, "counts"):
        metrics.update(out.counts())
    known = known_optima().get(Path(scenario.cbf_path).stem) if Path(scenario.cbf_path).parent.resolve() \
        == INSTANCE_DIR.resolve() else None
    if known is not None:
        metrics["known_optimum"] = known
    base = dict(problem=PROBLEM, method=method, objective_name=f"CBF objective ({data.sense})", sense=data.sense,
                solver=out.solver, scenario=scenario_dict(scenario), notes=notes)
    fields = dict(metrics=metrics, time_s=time.perf_counter() - start, solver_time_s=out.solver_time_s,
                  history=[dict(time_s=t, nodes=k, lower_bound=lb, upper_bound=ub) for t, k, lb, ub in out.history],
                  **out.certificate())
    if out.values is None:
        return finalize(base, status=out.status, termination=out.termination, **fields)
    x, X = model.assemble(out.values)
    checks = solution_checks(data, x, X, out.objective)
    if rank1 and out.status is Status.OPTIMAL and not verify.verify(checks).passed:
        notes.append("the relaxed optimum is not rank one: no certificate for the rank-one problem")
        return finalize(base, status=Status.ERROR, termination=out.termination, **fields)
    bound = out.lower_bound if data.sense == "min" else out.upper_bound
    return finalize(base, status=out.status, assessment=Assessment(out.objective, {}, checks), bound=bound,
                    termination=out.termination, tol=max(scenario.rel_gap, 1e-12),
                    solution={"x": x, "X": X, "integers": data.integers}, **fields)


# ================================================================================================ registration
def _recheck(scenario, rng, result):
    data = read_cbf(scenario.cbf_path)
    x = np.asarray(result.solution["x"], float)
    X = [np.asarray(m, float) for m in result.solution["X"]] if len(result.solution.get("X", [])) else []
    return objective_value(data, x, X), solution_checks(data, x, X), None


register(Problem(
    name=PROBLEM, recheck=_recheck,
    paper="generic mixed-integer SDPs from CBF files (CBLIB / SCIP-SDP instances), for the branch-and-bound",
    scenario_class=MisdpScenario,
    default_scenario="example_small_cbf",
    methods={"bnb": Method(solve_bnb, "exact branch-and-bound over SDP relaxations (certificate: bounds, gap, nodes)"),
             "oa": Method(solve_oa, "exact outer approximation: Pyomo/HiGHS MILP master + conic cuts (certificate: "
                                    "bounds, gap, MILP and conic solves)")},
    default_method="bnb",
    parameters={"time_limit_s": "wall-clock limit of the search", "node_limit": "maximum nodes solved"},
    load=load,
    listing=available_instances,
))
