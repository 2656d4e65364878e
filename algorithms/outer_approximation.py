"""Outer approximation (OA) for mixed-integer conic programs: a Pyomo MILP master refined by conic certificates.

The second exact method for the mixed-integer SDPs, independent of :mod:`.branch_and_bound` (after Coey, Lubin and
Vielma, "Outer approximation with conic certificates for mixed-integer convex problems", Math. Prog. Comp. 2020,
and Pajarito.jl). The model is the same as branch-and-bound's: any DCP cvxpy problem whose discrete decisions are
``boolean``/``integer`` variables. It is compiled once to Clarabel's conic form (:func:`conic_form`)

    min c'x + d   s.t.   b - A x in K = {0} x R+ x SOC x ... x PSD x ...,   x_j integer (j in I),

and the master is a MILP over the same columns x (Pyomo; HiGHS through Pyomo's persistent interface, so cuts are
added without rebuilding; Gurobi when asked and licensed): the zero and nonnegative rows exactly, every SOC and PSD
block K_k replaced by linear cuts z'(b_k - A_k x) >= 0 with z in the dual cone K_k*. Such a cut holds for every
feasible x whatever the integers (s_k = b_k - A_k x in K_k and z in K_k* give z's_k >= 0), so the master is a
relaxation and its MILP bound a valid lower bound. Cuts:

initial
    PSD blocks: the diagonal (z = e_i e_i') and the 2x2 minors (z = (e_i +- e_j)(e_i +- e_j)'); SOC blocks:
    t >= |v_i| (z = (1, -+e_i)); and the dual of the continuous relaxation (its cuts alone imply c'x + d >= the
    relaxation's bound, so the first master is bounded).
subproblem
    at each new integer assignment of the master, the conic problem with the integers fixed (solved by Clarabel on
    the same data, :func:`~.backends.conic.solve_conic_data`): its optimal dual (feasible) or its Farkas ray
    (infeasible), per block, projected onto K_k*; a PSD block's dual is split into its rank-one eigen-terms (each
    one a cut: stronger than their sum). By conic duality these cuts force the master's objective at that
    assignment up to the subproblem's optimum (or exclude an infeasible assignment), so OA terminates.
separation
    at every master point, each PSD block's eigenvectors with a negative eigenvalue (z = u u') and each violated
    SOC's (1, -v/|v|).

The cut pool keeps every distinct cut (a cut equal to one in the pool after normalization is dropped). Each
iteration solves the master to ``rel_gap``/10, raises the lower bound to its MILP bound, and evaluates the
master's assignment once (a seen assignment only gets separation cuts). The run stops when the upper bound (the best
subproblem value) and the lower bound meet within ``rel_gap`` / ``abs_gap``, when the master is infeasible (no
assignment left: the incumbent is optimal, or the problem is infeasible), or at a limit.
The master stays a relaxation whatever a subproblem returned (a cut from any dual-cone element is valid), so its
bound proves optimality or infeasibility even after inaccurate subproblems; an inaccurate subproblem point within
:data:`ACCEPT_INACCURATE` of the conic rows is an incumbent. An unbounded continuous relaxation is decided by
:func:`~.unboundedness.prove_unbounded`.
Returned values: the best subproblem point mapped back to the variables of ``problem`` through cvxpy's own inversion
(:meth:`ConicForm.load`; a re-solve of that assignment only if cvxpy refuses it); bounds in the problem's own sense,
as :class:`BranchAndBoundOutcome`.
"""
from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from . import backends, limits
from .backends.certificate import psd_pack, psd_unpack
from .branch_and_bound import BOUND_MARGIN, BranchAndBoundOutcome, Relaxation, _emit, _finite
from .progress import Progress
from .result import Status, Termination

logger = logging.getLogger(__name__)

#: A master point violates a cone when its slack's smallest eigenvalue (PSD) or t - |v| (SOC) is below -this,
#: relative to 1 + the slack's largest entry.
SEPARATION_TOL = 1e-7
#: Eigen-terms of a PSD dual below this fraction of its largest eigenvalue give no cut.
DUAL_TERM_TOL = 1e-8
#: An inaccurate subproblem solve (Clarabel stalls on fixings without an interior point) still gives an incumbent when
#: its point violates the conic rows by at most this (relative, :meth:`ConicForm.violation`); every returned answer is
#: re-checked against the original constraints anyway.
ACCEPT_INACCURATE = 1e-7
#: Entries of a cut's eigenvector (or SOC direction) below this fraction of its largest entry are set to zero before
#: the cut is formed: z = u u' stays in the dual cone for any u, so the cut stays valid, and it gets sparser.
VECTOR_ZERO = 1e-7
#: Cut coefficients below this fraction of the row's largest one are dropped (HiGHS ignores |a| < 1e-9 anyway, with a
#: warning per cut): a change of at most 1e-9 |x_j| per dropped term, below the MILP's feasibility tolerance (1e-7).
ZERO_COEF = 1e-9


# ============================================================================================== the conic form
@dataclass
class ConicForm:
    """min c'x + offset s.t. b - A x in K; columns ``int_cols`` integer within [lo, hi] (the problem's own
    objective is ``sign * (c'x + offset)``). ``blocks``: (kind "soc"/"psd", first row, rows, n) of the nonlinear
    cones, after ``linear`` = zero + nonneg rows."""

    c: np.ndarray
    offset: float
    A: sp.csr_matrix
    b: np.ndarray
    dims: Any
    int_cols: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    sign: float
    blocks: list[tuple[str, int, int, int]]
    unpack: Any = None            # (chain, inverse_data) of cvxpy's compilation, to map a column vector back
    columns: dict = field(default_factory=dict)     # cvxpy variable id -> its first column

    def column(self, relax: Relaxation, var: cp.Variable, index) -> int:
        """The column of entry ``index`` (C-order flat int or tuple) of ``var``: an integer variable of the problem
        or a plain continuous one (a variable with attributes is re-created by cvxpy and has no column of its own)."""
        if var.attributes.get("boolean") or var.attributes.get("integer"):
            return int(self.int_cols[relax.flat(var, index)])
        if var.id not in self.columns:
            raise ValueError(f"variable {var.name()} has no column of its own in the conic form (declare it without "
                             "attributes to link it to the master)")
        flat = int(np.ravel_multi_index(index, var.shape)) if isinstance(index, tuple) else int(index)
        fortran = np.arange(var.size).reshape(var.shape, order="F").ravel() if var.shape else np.zeros(1, int)
        return int(self.columns[var.id] + fortran[flat])

    def load(self, problem: cp.Problem, x: np.ndarray, z: np.ndarray) -> bool:
        """Set the variables of ``problem`` (the relaxation this form was compiled from) from columns ``x`` and row
        duals ``z`` through cvxpy's own inversion; False when cvxpy refuses them."""
        from types import SimpleNamespace
        chain, inverse = self.unpack
        for item in inverse:                      # cvxpy's Clarabel inversion reads the solve's options
            if hasattr(item, "solver_options") and item.solver_options is None:
                item.solver_options = {}
        raw = SimpleNamespace(status="Solved", x=x, z=z, s=self.b - self.A @ x, obj_val=float(self.c @ x),
                              solve_time=0.0, iterations=0)
        try:
            problem.unpack_results(raw, chain, inverse)
        except Exception as exc:                  # noqa: BLE001 -- any refusal: the caller re-solves instead
            logger.debug("unpacking the OA solution failed: %s", exc)
            return False
        return all(v.value is not None for v in problem.variables())

    @property
    def linear(self) -> int:
        return self.dims.zero + self.dims.nonneg

    def violation(self, x: np.ndarray, ray: bool = False) -> float:
        """Largest violation of b - A x in K at the column vector ``x`` (``ray``: of -A x in K, a recession
        direction): equality and inequality rows relative to 1 + |b_i| (1 + |A_i| |x| for a ray), each SOC/PSD block
        (t - |v|, smallest eigenvalue) relative to 1 + its largest slack entry."""
        s = -(self.A @ x) if ray else self.b - self.A @ x
        z, lin = self.dims.zero, self.linear
        size = abs(self.A) @ np.abs(x) if ray else np.abs(self.b)
        worst = max(np.max(np.abs(s[:z]) / (1 + size[:z]), initial=0.0),
                    np.max(-s[z:lin] / (1 + size[z:lin]), initial=0.0))
        for kind, r0, m, n in self.blocks:
            sk = s[r0:r0 + m]
            scale = 1.0 + float(np.max(np.abs(sk), initial=0.0))
            gap = sk[0] - np.linalg.norm(sk[1:]) if kind == "soc" else np.linalg.eigvalsh(psd_unpack(sk, n))[0]
            worst = max(worst, -float(gap) / scale)
        return float(worst)

    @functools.cached_property
    def _split(self) -> tuple[np.ndarray, sp.csc_matrix, sp.csc_matrix]:
        """(free columns, A over them, A over the integer columns): built once, every subproblem reuses them."""
        free = np.setdiff1d(np.arange(self.A.shape[1]), self.int_cols)
        A = self.A.tocsc()
        return free, A[:, free], A[:, self.int_cols]

    def full(self, ints: np.ndarray, x_free: np.ndarray) -> np.ndarray:
        """The column vector with the integer columns at ``ints`` and the others at ``x_free``."""
        x = np.zeros(self.A.shape[1])
        x[self._split[0]] = x_free
        x[self.int_cols] = ints
        return x

    def fixed(self, ints: np.ndarray | None):
        """Data of the subproblem with the integer columns fixed to ``ints`` (None: the continuous relaxation):
        (A over the free columns, b, c, free columns, objective constant)."""
        if ints is None:
            return self.A, self.b, self.c, np.arange(self.A.shape[1]), self.offset
        free, A_free, A_int = self._split
        b = self.b - A_int @ ints
        return A_free, b, self.c[free], free, self.offset + float(self.c[self.int_cols] @ ints)


def conic_form(problem: cp.Problem, relaxation: Relaxation | None = None, lo: np.ndarray | None = None,
               hi: np.ndarray | None = None) -> tuple[ConicForm, Relaxation]:
    """The Clarabel conic form of ``problem``'s continuous relaxation (integers bounded by their attributes, or by
    ``lo``/``hi``: a branch-and-bound node) and the :class:`Relaxation` it was built from (reused to re-solve the
    final assignment through cvxpy)."""
    relax = relaxation if relaxation is not None else Relaxation(problem)
    for iv in relax.int_vars:
        iv.bind(relax.lo0 if lo is None else lo, relax.hi0 if hi is None else hi)
    data, chain, inverse = relax.relaxed.get_problem_data("CLARABEL")
    dims = data["dims"]
    if dims.exp or dims.p3d or getattr(dims, "pnd", None):
        from ..errors import UnsupportedModelError
        raise UnsupportedModelError("outer approximation handles zero, nonnegative, second-order and PSD cones "
                                    "only; this model has exponential or power cones: use branch-and-bound "
                                    "(--method bnb)")
    _, offset, _, _ = data["param_prob"].apply_parameters()       # the objective's constant (A, b: cvxpy's sign)
    c, A, b = data["c"], data["A"], data["b"]
    cols = data["param_prob"].var_id_to_col
    int_cols = []
    for iv in relax.int_vars:
        fortran = np.arange(iv.size).reshape(iv.shape, order="F").ravel() if iv.shape else np.zeros(1, int)
        int_cols.append(cols[iv.relaxed.id] + fortran)     # C-order entry i of the variable -> its column
    blocks, row = [], dims.zero + dims.nonneg
    for n in dims.soc:
        blocks.append(("soc", row, n, n))
        row += n
    for n in dims.psd:
        m = n * (n + 1) // 2
        blocks.append(("psd", row, m, n))
        row += m
    form = ConicForm(np.asarray(c, float), float(offset), sp.csr_matrix(A), np.asarray(b, float), dims,
                     np.concatenate(int_cols).astype(int) if int_cols else np.zeros(0, int),
                     relax.lo0.copy(), relax.hi0.copy(), relax.sign, blocks, (chain, inverse), dict(cols))
    return form, relax


# ============================================================================================== cuts
@dataclass
class Cut:
    """a'x <= rhs over the conic columns, from z in a block's dual cone (``origin``: initial/relaxation/
    subproblem/infeasible/separation)."""

    coef: sp.csr_matrix
    rhs: float
    origin: str


class CutPool:
    """Every distinct cut generated (normalized to a largest coefficient of 1; duplicates dropped)."""

    def __init__(self, form: ConicForm):
        self.form = form
        self.blocks = [(kind, form.A[r0:r0 + m], form.b[r0:r0 + m], n) for kind, r0, m, n in form.blocks]
        self.cuts: list[Cut] = []
        self._seen: set = set()
        self.counts: dict[str, int] = {}

    def cut(self, block: int, z: np.ndarray, origin: str) -> Cut | None:
        """The cut z'(b_k - A_k x) >= 0 of block ``block``, or None (zero or already pooled)."""
        _, Ak, bk, _ = self.blocks[block]
        row = sp.csr_matrix(z @ Ak)
        scale = float(np.max(np.abs(row.data))) if row.nnz else 0.0
        if scale == 0.0:
            return None
        row.data /= scale
        row.data[np.abs(row.data) < ZERO_COEF] = 0.0
        row.eliminate_zeros()
        rhs = float(z @ bk) / scale
        key = (tuple(row.indices), tuple(np.round(row.data, 12)), round(rhs, 12))
        if key in self._seen:
            return None
        self._seen.add(key)
        cut = Cut(row, rhs, origin)
        self.cuts.append(cut)
        self.counts[origin] = self.counts.get(origin, 0) + 1
        return cut

    # -- generators (each returns the new cuts)
    def initial(self, minors: bool = True) -> list[Cut]:
        """PSD blocks: the diagonal and (``minors``) the 2x2 minors; SOC blocks: t >= |v_i|."""
        out = []
        for k, (kind, _, _, n) in enumerate(self.blocks):
            if kind == "psd":
                eye = np.eye(n)
                terms = [np.outer(eye[i], eye[i]) for i in range(n)]
                for i in range(n if minors else 0):
                    for j in range(i + 1, n):
                        for sgn in (1.0, -1.0):
                            u = eye[i] + sgn * eye[j]
                            terms.append(0.5 * np.outer(u, u))
                zs = [psd_pack(T) for T in terms]
            else:
                zs = []
                for i in range(1, n):
                    for sgn in (1.0, -1.0):
                        z = np.zeros(n)
                        z[0], z[i] = 1.0, sgn
                        zs.append(z)
            out += [c for z in zs if (c := self.cut(k, z, "initial")) is not None]
        return out

    def from_dual(self, z: np.ndarray, origin: str) -> list[Cut]:
        """Cuts from a dual vector over all rows (a subproblem's dual or Farkas ray), block by block."""
        out = []
        for k, (kind, r0, m, n) in enumerate(self.form.blocks):
            zk = z[r0:r0 + m]
            if not np.any(zk):
                continue
            if kind == "psd":
                w, U = np.linalg.eigh(psd_unpack(zk, n))
                top = float(w.max(initial=0.0))
                for lam, u in zip(w, U.T):
                    if top > 0 and lam > DUAL_TERM_TOL * top:
                        c = self.cut(k, lam * psd_pack(_outer(u)), origin)
                        out += [c] if c is not None else []
            else:
                t, v = zk[0], zk[1:]
                nv = float(np.linalg.norm(v))
                if max(t, nv) <= 0:
                    continue
                t = max(t, nv)                     # into the (self-dual) cone
                c = self.cut(k, np.concatenate([[t], _sparse(v)]), origin)
                out += [c] if c is not None else []
        return out

    def separate(self, x: np.ndarray, tol: float = SEPARATION_TOL) -> list[Cut]:
        """Cuts that the master point ``x`` violates by more than ``tol`` (relative): eigenvectors of negative
        eigenvalues; violated SOCs."""
        out = []
        for k, (kind, Ak, bk, n) in enumerate(self.blocks):
            s = bk - Ak @ x
            scale = 1.0 + float(np.max(np.abs(s), initial=0.0))
            if kind == "psd":
                w, U = np.linalg.eigh(psd_unpack(s, n))
                for lam, u in zip(w, U.T):
                    if lam < -tol * scale:
                        c = self.cut(k, psd_pack(_outer(u)), "separation")
                        out += [c] if c is not None else []
            else:
                nv = float(np.linalg.norm(s[1:]))
                if s[0] - nv < -tol * scale and nv > 0:
                    c = self.cut(k, np.concatenate([[1.0], -_sparse(s[1:] / nv)]), "separation")
                    out += [c] if c is not None else []
        return out


def _short(key: tuple) -> str:
    return str(tuple(int(v) for v in key[:12])) + ("..." if len(key) > 12 else "")


def _sparse(u: np.ndarray) -> np.ndarray:
    """``u`` with entries below :data:`VECTOR_ZERO` of its largest set to zero (its norm does not grow)."""
    out = np.array(u, float)
    out[np.abs(out) < VECTOR_ZERO * float(np.max(np.abs(out), initial=0.0))] = 0.0
    return out


def _outer(u: np.ndarray) -> np.ndarray:
    """u u' of the sparsified ``u`` (PSD for any u: a valid dual-cone element)."""
    v = _sparse(u)
    return np.outer(v, v)


# ============================================================================================== the master
@dataclass
class MasterLayer:
    """A user's Pyomo model that the master builds on: its variables are identified with columns of the cvxpy
    problem through ``links`` [(pyomo variable data, cvxpy variable, C-order flat index or tuple)], so its own
    constraints (e.g. the BS-selection discrete layer) hold in the master. Its constraints must be valid for the
    problem (implied by its constraints): the master stays a relaxation only then."""

    model: Any
    links: list[tuple[Any, cp.Variable, int]] = field(default_factory=list)


class Master:
    """The MILP master as a Pyomo model (block ``oa`` on the layer's model, or on a new model): columns x, the
    linear rows of the conic form, the cuts; solved by a persistent solver."""

    def __init__(self, form: ConicForm, relax: Relaxation, solver: str | None = None,
                 layer: MasterLayer | None = None):
        import pyomo.environ as pyo

        self.pyo, self.form = pyo, form
        self.name = backends.require_usable(solver, "integer") if solver else backends.DEFAULT_INTEGER
        model = layer.model if layer is not None else pyo.ConcreteModel()
        model.oa = pyo.Block()
        blk = model.oa
        n = form.A.shape[1]
        blk.x = pyo.Var(range(n), domain=pyo.Reals)
        x = blk.x
        for j, lo, hi in zip(form.int_cols, form.lo, form.hi):
            x[int(j)].domain = pyo.Integers
            x[int(j)].setlb(None if not math.isfinite(lo) else float(lo))
            x[int(j)].setub(None if not math.isfinite(hi) else float(hi))
        self.x = [x[j] for j in range(n)]
        lin = form.A[:form.linear]
        blk.rows = pyo.ConstraintList()
        for i in range(form.linear):
            expr = self._expr(lin.indices[lin.indptr[i]:lin.indptr[i + 1]], lin.data[lin.indptr[i]:lin.indptr[i + 1]])
            if expr is None:
                continue
            blk.rows.add(expr == float(form.b[i]) if i < form.dims.zero else expr <= float(form.b[i]))
        if layer is not None:
            blk.links = pyo.ConstraintList()
            for var, cvx_var, index in layer.links:
                blk.links.add(var == x[form.column(relax, cvx_var, index)])
        blk.cuts = pyo.ConstraintList()
        nz = np.flatnonzero(form.c)
        blk.objective = pyo.Objective(expr=self._expr(nz, form.c[nz]) if nz.size else 0.0, sense=pyo.minimize)
        self.model = model
        self.notes: list[str] = []
        self.sigint = limits.SigintWatch()           # the run's watch (solve() sets it): a Ctrl-C HiGHS swallowed
        self._connect(self.name)
        self.solves, self.solve_time_s = 0, 0.0

    def _connect(self, name: str) -> None:
        """A persistent solver ``name`` on the master model (it is loaded on the first solve)."""
        from pyomo.contrib.solver.common.factory import SolverFactory

        self.name = name
        self.opt = SolverFactory({"HIGHS": "highs", "GUROBI": "gurobi_persistent"}[name])
        updates = self.opt.config.auto_updates          # cuts are added explicitly (:meth:`add`): no re-scans
        for key in ("check_for_new_or_removed_constraints", "update_constraints", "check_for_new_or_removed_vars",
                    "update_vars", "update_named_expressions", "check_for_new_objective", "update_objective",
                    "check_for_new_or_removed_params", "update_parameters"):
            if key in updates:
                setattr(updates, key, False)
        self._started = False

    def _expr(self, cols, coefs):
        from pyomo.core.expr.numeric_expr import LinearExpression
        if len(cols) == 0:
            return None
        return LinearExpression(constant=0.0, linear_coefs=[float(a) for a in coefs],
                                linear_vars=[self.x[int(j)] for j in cols])

    def add(self, cuts: Sequence[Cut]) -> None:
        cons = [self.model.oa.cuts.add(self._expr(c.coef.indices, c.coef.data) <= c.rhs) for c in cuts
                if c.coef.nnz]
        if self._started and cons:
            self.opt.add_constraints(cons)

    def solve(self, rel_gap: float, time_limit: float | None):
        """(status, x or None, objective or None, bound or None) of one MILP solve."""
        from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition as TC

        kwargs = dict(load_solutions=False, raise_exception_on_nonoptimal_result=False, rel_gap=rel_gap,
                      abs_gap=0.0)
        if time_limit is not None:
            kwargs["time_limit"] = max(float(time_limit), 1e-2)
        t0 = time.perf_counter()
        try:
            res = self.opt.solve(self.model, **kwargs)
        except Exception as exc:                    # gurobipy refuses a master beyond its size-limited licence
            if self.name != "GUROBI" or "size-limited" not in str(exc).lower():
                raise
            self.notes.append(f"Gurobi's size-limited licence refused the master at solve {self.solves + 1} "
                              f"({len(self.x)} columns, {len(self.model.oa.cuts)} cuts); HiGHS solves it from there")
            self._connect("HIGHS")
            res = self.opt.solve(self.model, **kwargs)
        self._started = True
        self.solves += 1
        self.solve_time_s += time.perf_counter() - t0
        tc, sol = res.termination_condition, res.solution_status
        if tc == TC.interrupted or self.sigint.seen:    # a Ctrl-C the solver caught (HiGHS: a solve error)
            raise KeyboardInterrupt
        has = sol in (SolutionStatus.optimal, SolutionStatus.feasible)
        x = None
        if has:
            values = res.solution_loader.get_vars(self.x)
            x = np.array([values[v] for v in self.x], float)
        bound = res.objective_bound
        bound = float(bound) if bound is not None and math.isfinite(bound) else None
        if tc == TC.convergenceCriteriaSatisfied and has:
            status = Status.OPTIMAL
        elif tc in (TC.provenInfeasible, TC.infeasibleOrUnbounded):
            status = Status.INFEASIBLE
        elif tc == TC.unbounded:
            status = Status.UNBOUNDED
        elif tc in (TC.maxTimeLimit, TC.iterationLimit, TC.interrupted):
            status = Status.FEASIBLE if has else Status.NO_SOLUTION
        else:
            status = Status.ERROR
        return status, x, res.incumbent_objective if has else None, bound


# ============================================================================================== the loop
@dataclass
class OAOutcome(BranchAndBoundOutcome):
    """:class:`BranchAndBoundOutcome` plus OA's counts (``nodes`` holds the iterations)."""

    iterations: int = 0
    milp_solves: int = 0
    cuts: dict = field(default_factory=dict)
    master_time_s: float = 0.0
    pool: CutPool | None = None
    point: np.ndarray | None = None          # the best assignment's full column vector (the conic form's x)

    def certificate(self) -> dict[str, Any]:
        return dict(sdp_solves=self.sdp_solves, lower_bound=_finite(self.lower_bound),
                    upper_bound=_finite(self.upper_bound), gap=_finite(self.gap))

    def counts(self) -> dict[str, Any]:
        """The OA fields for a result's metrics: iterations, MILP and conic solves, cuts by origin."""
        return dict(oa_iterations=self.iterations, milp_solves=self.milp_solves, conic_solves=self.sdp_solves,
                    cuts=dict(self.cuts), master_time_s=self.master_time_s)


def solve(problem: cp.Problem, *, solver: str | None = None, master_solver: str | None = None,
          time_limit_s: float | None = None, iteration_limit: int | None = 1000, rel_gap: float = 1e-6,
          abs_gap: float = 1e-9, layer: MasterLayer | None = None, log=None,
          relaxation: Relaxation | None = None, progress: str = "outer approximation") -> OAOutcome:
    """Solve a mixed-integer cvxpy problem to ``rel_gap`` by outer approximation (see the module docstring).

    ``solver``: the conic solver of the subproblems (Clarabel; others are not supported here); ``master_solver``:
    HIGHS (default) or GUROBI. ``layer``: a :class:`MasterLayer` the master is built on. Limits: ``time_limit_s``
    (wall clock; each MILP and conic solve gets the remaining time), ``iteration_limit`` (master solves).
    ``progress``: the name of the progress bar / log lines (:class:`~.progress.Progress`: masters, bounds, gap).
    """
    if solver not in (None, "CLARABEL", "clarabel"):
        from ..errors import UnsupportedModelError
        raise UnsupportedModelError(f"outer approximation solves its subproblems with Clarabel (got solver "
                                    f"'{solver}'): drop --solver, or use branch-and-bound for another conic solver")
    start = time.perf_counter()
    with limits.time_limit(time_limit_s):
        deadline = limits.deadline()
        form, relax = conic_form(problem, relaxation)
        pool = CutPool(form)
        master = Master(form, relax, master_solver, layer)
        state = _State(form, relax, pool, master, rel_gap, abs_gap, log, start)
        state.bar = Progress(progress, unit="masters")
        try:
            with limits.sigint_watch() as sigint:
                master.sigint = sigint
                termination = state.run(iteration_limit, deadline)
        except KeyboardInterrupt:
            termination = Termination.INTERRUPTED
            state.say("interrupted: returning the incumbent and the bounds proven so far")
        state.bar.finish(state.iterations, state.status_line)
    return state.outcome(termination, time.perf_counter() - start)


class _State:
    """The OA loop's state: bounds, incumbent, evaluated assignments, counts."""

    def __init__(self, form, relax, pool, master, rel_gap, abs_gap, log, start):
        self.form, self.relax, self.pool, self.master = form, relax, pool, master
        self.rel_gap, self.abs_gap, self.log, self.start = rel_gap, abs_gap, log, start
        self.lb, self.ub, self.best, self.best_point = -math.inf, math.inf, None, None
        self.seen: dict[tuple, float] = {}         # assignment -> internal value (inf: infeasible; nan: unresolved)
        self.conic, self.iterations, self.solver_time = 0, 0, 0.0
        self.history: list[tuple[float, int, float, float]] = []
        self.notes: list[str] = []
        self.infeasible_root = False
        self.unbounded: Status | None = None        # the relaxation was unbounded: prove_unbounded's decision

    def say(self, message: str) -> None:
        _emit(self.log, message)

    def status_line(self) -> str:
        lower, upper = self.sign_value(self.lb), self.sign_value(self.ub)
        if self.form.sign < 0:
            lower, upper = upper, lower
        gap = (self.ub - self.lb) / max(abs(self.ub), 1e-10) if math.isfinite(self.ub - self.lb) else None
        return (f"{len(self.seen)} assignments, bounds [{lower:.8g}, {upper:.8g}], gap "
                + ("-" if gap is None else f"{100 * gap:.3g} %"))

    def converged(self) -> bool:
        if not math.isfinite(self.ub):
            return False
        return self.ub - self.lb <= max(self.abs_gap, self.rel_gap * abs(self.ub))

    def record(self) -> None:
        self.history.append((time.perf_counter() - self.start, self.iterations, self.lb, self.ub))

    def conic_solve(self, ints):
        A, b, c, free, const = self.form.fixed(ints)
        ans = backends.conic.solve_conic_data(A, b, c, self.form.dims)
        self.conic += 1
        self.solver_time += ans.solve_time_s
        return ans, const

    def evaluate(self, ints: np.ndarray) -> list[Cut]:
        """Solve the subproblem at an integer assignment; update the incumbent; its cuts."""
        ans, const = self.conic_solve(ints)
        key = tuple(np.round(ints).astype(int))
        if ans.status == Status.OPTIMAL_INACCURATE and ans.x is not None:   # degenerate fixings (no interior)
            residual = self.form.violation(self.form.full(ints, ans.x))
            if residual <= ACCEPT_INACCURATE:
                self.notes.append(f"subproblem at assignment {_short(key)}: inaccurate solve accepted (its point "
                                  f"violates the conic rows by {residual:.1e} <= {ACCEPT_INACCURATE:g})")
                ans.status = Status.OPTIMAL
        if ans.status == Status.OPTIMAL:
            value = ans.objective + const
            self.seen[key] = value
            if value < self.ub:
                self.ub, self.best = value, ints.copy()
                self.best_point = self.form.full(ints, ans.x), ans.z
                self.record()
            return self.pool.from_dual(ans.z, "subproblem")
        if ans.status in (Status.INFEASIBLE, Status.INFEASIBLE_INACCURATE):
            self.seen[key] = math.inf
            return self.pool.from_dual(ans.z, "infeasible") if ans.z is not None else []
        self.seen[key] = math.nan
        self.notes.append(f"subproblem at assignment {_short(key)}: {ans.status.value}")
        return self.pool.from_dual(ans.z, "subproblem") if ans.z is not None and ans.status.has_solution else []

    def run(self, iteration_limit, deadline) -> Termination:
        form, pool, master = self.form, self.pool, self.master
        ans, const = self.conic_solve(None)                       # the continuous relaxation
        if ans.status == Status.INFEASIBLE:
            self.infeasible_root, self.lb = True, math.inf
            self.say("continuous relaxation infeasible (Farkas certificate): the problem is infeasible")
            return Termination.CONVERGED
        if ans.status == Status.UNBOUNDED:                       # decided from the recession direction
            remaining = None if deadline is None else max(deadline - time.monotonic(), 1.0)
            from .unboundedness import prove_unbounded
            status, why = prove_unbounded(self.relax.problem, self.relax, self.relax.lo0, self.relax.hi0, remaining)
            self.unbounded = status or Status.UNBOUNDED_INACCURATE
            self.notes += ["the continuous relaxation is unbounded (proven by the solver)", why]
            return Termination.CONVERGED
        if ans.status == Status.OPTIMAL:
            self.lb = ans.objective + const - BOUND_MARGIN["CLARABEL"] * max(1.0, abs(ans.objective + const))
            self.record()
            master.add(pool.from_dual(ans.z, "relaxation"))
            xi = ans.x[form.int_cols]
            if np.all(np.abs(xi - np.round(xi)) <= 1e-6):
                master.add(self.evaluate(np.round(xi)))
        else:
            self.notes.append(f"continuous relaxation: {ans.status.value} (no relaxation cuts)")
        master.add(pool.initial())
        while True:
            if self.converged():
                return Termination.CONVERGED
            if iteration_limit is not None and self.iterations >= iteration_limit:
                return Termination.ITERATION_LIMIT
            if deadline is not None and time.monotonic() >= deadline:
                return Termination.TIME_LIMIT
            remaining = None if deadline is None else deadline - time.monotonic()
            t_master = master.solve_time_s
            status, x, obj, bound = master.solve(self.rel_gap / 10, remaining)
            t_master = master.solve_time_s - t_master
            self.iterations += 1
            if status == Status.INFEASIBLE:
                self.lb = self.ub if math.isfinite(self.ub) else math.inf
                self.record()
                return Termination.CONVERGED
            if status == Status.UNBOUNDED:
                self.notes.append("the master MILP is unbounded (no bound from the relaxation): stopped")
                return Termination.SOLVER_FAILURE
            if bound is not None and status in (Status.OPTIMAL, Status.FEASIBLE):
                margin = BOUND_MARGIN["CLARABEL"] * max(1.0, abs(bound))
                if bound - margin > self.lb:
                    self.lb = min(bound - margin, self.ub) if math.isfinite(self.ub) else bound - margin
                    self.record()
            if x is None:
                return Termination.TIME_LIMIT if status == Status.NO_SOLUTION else Termination.SOLVER_FAILURE
            ints = np.round(x[form.int_cols])
            cuts = []
            if tuple(ints.astype(int)) not in self.seen:
                cuts += self.evaluate(ints)
            cuts += pool.separate(x)
            self.bar.update(self.iterations, self.status_line)
            self.say(f"OA iteration {self.iterations}: lower {self.sign_value(self.lb):.9g}, upper "
                     f"{self.sign_value(self.ub):.9g}, {len(cuts)} new cuts, {len(self.seen)} assignments, "
                     f"master {t_master:.2f} s")
            if self.converged():
                return Termination.CONVERGED
            if not cuts:
                self.notes.append("no new cut separates the master's point (what it violates is within the MILP's "
                                  "feasibility tolerance, or its cut is pooled already; typical of an optimal "
                                  "assignment whose subproblem has no interior point): stopped with the gap open")
                return Termination.SOLVER_FAILURE
            master.add(cuts)

    def sign_value(self, internal: float) -> float:
        return self.form.sign * (internal + 0.0)

    def outcome(self, termination: Termination, elapsed: float) -> OAOutcome:
        sign = self.form.sign
        values, objective, status = None, None, Status.NO_SOLUTION
        if self.best is not None and self.form.load(self.relax.relaxed, *self.best_point):
            values = {v: np.array(v.value, copy=True) for v in self.relax.cont_vars}
            values = self.relax.with_ints(values, self.best)
            objective = sign * self.ub
        elif self.best is not None:                  # cvxpy refused the point: re-solve the assignment through it
            outcome, value, _, vals = self.relax.solve(self.best, self.best, None, fallback=True)
            self.conic += 1
            if value is not None and outcome.status == Status.OPTIMAL:
                values = self.relax.with_ints(vals, self.best)
                objective = sign * value
            else:
                self.notes.append(f"re-solving the best assignment through cvxpy: {outcome.status.value}")
        lb, ub = self.lb, self.ub
        unresolved = sum(1 for v in self.seen.values() if isinstance(v, float) and math.isnan(v))
        # The master is a relaxation whatever the subproblems returned (a cut from any z in the dual cone is valid,
        # accurate or not), so its bound proves optimality or infeasibility even with unresolved subproblems.
        if self.unbounded is not None and self.unbounded is not Status.INFEASIBLE:
            status, lb = self.unbounded, -math.inf
        elif self.infeasible_root or self.unbounded is Status.INFEASIBLE or (
                not math.isfinite(ub) and lb == math.inf):
            status, lb = Status.INFEASIBLE, math.inf
        elif objective is not None:
            status = Status.OPTIMAL if ub - lb <= max(self.abs_gap, self.rel_gap * abs(ub)) \
                else Status.FEASIBLE
        lower, upper = (lb, ub) if sign > 0 else (-ub, -lb)
        gap = (ub - lb) / max(abs(ub), 1e-10) if math.isfinite(ub) and math.isfinite(lb) else math.inf
        if status == Status.INFEASIBLE:
            gap = 0.0
        return OAOutcome(status=status, termination=termination, objective=objective, values=values, payload=None,
                         lower_bound=lower, upper_bound=upper, gap=gap, nodes=self.iterations, sdp_solves=self.conic,
                         history=[(t, k, sign * a if sign > 0 else -b, sign * b if sign > 0 else -a)
                                  for t, k, a, b in self.history],
                         unresolved=unresolved, sense="min" if sign > 0 else "max",
                         solver=f"{self.master.name}+CLARABEL",
                         time_s=elapsed, solver_time_s=self.solver_time + self.master.solve_time_s,
                         notes=self.notes + self.master.notes, iterations=self.iterations,
                         milp_solves=self.master.solves,
                         cuts=dict(self.pool.counts), master_time_s=self.master.solve_time_s, pool=self.pool,
                         point=None if self.best_point is None else self.best_point[0])
