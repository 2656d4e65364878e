"""Exact branch-and-bound for mixed-integer SDPs (MISDPs) written as a cvxpy problem.

The model is any DCP cvxpy problem (``Minimize`` or ``Maximize``) whose discrete decisions are variables declared
``boolean=True`` or ``integer=True`` (integer bounds from the ``bounds=``/``nonneg=``/``nonpos=`` attributes, or
none). Everything else (PSD, SOC, linear constraints, continuous variables, the caller's own parameters) is passed
through unchanged. The solver never knows which paper a model comes from.

Plug-ins and choices (after SCIP-SDP, each one explicit):

Relaxation
    Built ONCE: every integer variable ``x`` is replaced by a continuous copy with per-entry bounds
    ``lo <= x <= hi`` held in ``cp.Parameter`` s (entries whose bound is infinite use a 0/1 mask parameter,
    ``mask * x >= value`` with value -1 when off, so no big-M constant spoils the solver's scaling). Nodes only
    re-bind the parameters (DPP: cvxpy compiles once) and call :func:`backends.solve_conic` (Clarabel at tight
    settings, its retry ladder, then SCS).
Node selection
    Best bound first (ties: deepest, then oldest). Interior-point SDP solves cannot be warm-started, so
    depth-first plunging buys nothing per solve, while best-first minimizes the number of nodes whose bound is
    below the optimum. Children are stored with the parent's bound and solved when selected ("lazy"), so a child
    is discarded without a solve when the incumbent improves meanwhile.
Branching
    Exactly-one groups (``groups``: sets of binaries with sum == 1, e.g. "each user is associated with one BS")
    are branched as SOS1/GUB dichotomies: the members still free are split (in the caller's order) at the point
    where the relaxed mass is closest to 1/2, and one child forbids the first part, the other the second part.
    Each child excludes the relaxed solution and the tree depth is logarithmic in the group size. With
    ``group_branching="fix_one"`` the largest member is fixed to 1 in one child and to 0 in the other. Integer
    variables outside groups are branched on the most fractional entry (``x <= floor(v)`` / ``x >= ceil(v)``).
    The group or variable with the largest fractionality score (the smaller side's mass) is chosen.
Pruning
    A node is closed when its relaxation is infeasible (a solver infeasibility certificate, accurate status only),
    when its bound is within the target gap of the incumbent, or when its relaxed solution is integral (then the
    relaxation's optimum is the node's optimum).
Tolerances (the conic solver is an interior-point method, so every relaxed optimum is approximate)
    * a node bound is the relaxation's value minus ``BOUND_MARGIN`` (1e-8 relative, 1e-6 when the solve fell
      back to SCS, whose stopping tolerance is 1e-7): Clarabel stops at 1e-10..1e-8 relative duality gap, so the
      margin keeps every bound below the true relaxation optimum;
    * integrality: an entry within ``INT_TOL`` = 1e-6 of an integer counts as integral (relaxations solve to
      ~1e-9, so a value 1e-6 off is genuinely fractional);
    * pruning closes nodes whose bound is >= incumbent - max(abs_gap, rel_gap |incumbent|) and remembers the
      smallest such bound, so the reported lower bound is min(open bounds, closed bounds, incumbent): the gap is
      honest even though nodes were pruned with a tolerance.
Inaccurate solves
    A node relaxation that Clarabel cannot solve to its tight tolerances (``AlmostSolved``: typically primal
    residuals stalled at ~1e-8 on nodes that fix many binaries, whose feasible set has little interior) is not
    retried beyond the first attempt whose safe dual bound (:func:`backends.safe_dual_bound`: the dual objective
    minus the dual residual times a bound on |x|) is within rel_gap / 10 of its value; without such an attempt the
    best bound of Clarabel's ladder is used (no SCS fallback). The approximate point is used for branching only,
    never as an incumbent. Measured on BS-selection instances: such nodes cost the whole retry ladder plus an SCS
    fallback before (10-60 s each; S = 4, K = 5, seed 9: 255 s in all, now 9 s with the same optimum).
Failures
    A node whose solve fails (error or inaccurate status after the backend's retries) keeps its parent's bound and
    is branched on the first unresolved group/variable using the parent's relaxed point; a fully fixed failed
    node is a leaf that is counted in ``unresolved`` and keeps its parent's bound in the lower bound.
Heuristics (upper bounds)
    With an ``incumbent`` callback, it is called with the relaxed solution of every solved node that is not pruned
    (``values``: ``{original variable: relaxed value}``) and returns ``(objective, payload)`` of a feasible point
    (e.g. rounding + the inner SDP) or None. Without a callback, built-in rounding: each group's largest free
    member and every other integer rounded to the nearest value within the node's bounds, all integers fixed and
    the same relaxation re-solved (once per distinct assignment). An integral node relaxation is an incumbent by
    itself once re-solved with its integers fixed exactly ("polish", only when it would improve the incumbent),
    so returned integers are exact, the continuous values are consistent with them and the upper bound is the
    value of that point.

Bounds are reported in the problem's own sense: the optimum lies in [``lower_bound``, ``upper_bound``] (for a
minimization the lower bound is the proven bound and the upper bound the incumbent; mirrored for maximization).
``gap = (upper_bound - lower_bound) / max(|objective|, 1e-10)``; status OPTIMAL iff gap <= ``rel_gap`` or the
absolute gap <= ``abs_gap``.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import cvxpy as cp
import numpy as np

from . import backends, limits
from .progress import Progress
from .result import Status, Termination

logger = logging.getLogger(__name__)

#: Relative safety margin subtracted from every relaxation value before it is used as a bound (see module doc).
BOUND_MARGIN = {"CLARABEL": 1e-8, "MOSEK": 1e-8, "SCHUR": 1e-8, "SCS": 1e-6}   # SCHUR stops at <= 1e-8 too
#: Distance from an integer below which a relaxed value counts as integral.
INT_TOL = 1e-6
#: A group's relaxed sum must be 1 within this tolerance (the caller promises the constraint sum == 1).
GROUP_TOL = 1e-5

Incumbent = Callable[[dict], "tuple[float, Any] | None"]


@dataclass
class BranchAndBoundOutcome:
    """Certificate and incumbent of one branch-and-bound run (bounds in the problem's own sense).

    ``values``: {original cp.Variable: ndarray of its shape} of the incumbent when it came from the relaxation or
    the built-in rounding (integers exact), else None (a callback incumbent carries its solution in ``payload``).
    ``history``: (time_s, nodes, lower_bound, upper_bound) whenever a bound moved. ``unresolved``: nodes whose
    relaxation failed even after the backend's retries (their parent's bound stays in the lower bound).
    """

    status: Status
    termination: Termination
    objective: float | None
    values: dict | None
    payload: Any
    lower_bound: float
    upper_bound: float
    gap: float
    nodes: int
    sdp_solves: int
    history: list[tuple[float, int, float, float]] = field(default_factory=list)
    unresolved: int = 0
    incumbent_calls: int = 0
    sense: str = "min"
    solver: str | None = None
    time_s: float = 0.0
    solver_time_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def certificate(self) -> dict[str, Any]:
        """The fields a :class:`~isacopt.algorithms.result.Result` carries for branch-and-bound."""
        return dict(nodes=self.nodes, sdp_solves=self.sdp_solves, lower_bound=_finite(self.lower_bound),
                    upper_bound=_finite(self.upper_bound), gap=_finite(self.gap))


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


# ============================================================================================== the relaxation
class _IntVar:
    """One integer/boolean variable: its continuous copy and bound parameters (global flat slice [start, stop))."""

    def __init__(self, var: cp.Variable, start: int):
        self.var, self.start, self.size, self.shape = var, start, int(var.size), var.shape
        self.stop = start + self.size
        attrs = var.attributes
        if attrs.get("boolean"):
            lo, hi = np.zeros(self.size), np.ones(self.size)
        else:
            lo, hi = np.full(self.size, -np.inf), np.full(self.size, np.inf)
            if attrs.get("nonneg") or attrs.get("pos"):
                lo[:] = 0.0
            if attrs.get("nonpos") or attrs.get("neg"):
                hi[:] = 0.0
            if attrs.get("bounds") is not None:
                blo, bhi = var.bounds
                lo = np.maximum(lo, np.broadcast_to(np.asarray(_dense(blo), float), self.shape).ravel())
                hi = np.minimum(hi, np.broadcast_to(np.asarray(_dense(bhi), float), self.shape).ravel())
            lo, hi = np.ceil(lo - INT_TOL), np.floor(hi + INT_TOL)
        others = [k for k, v in attrs.items() if v and k not in ("boolean", "integer", "nonneg", "nonpos", "pos",
                                                                     "neg", "bounds")]
        if others:
            raise ValueError(f"integer variable {var.name()} has unsupported attributes {others}")
        self.lo0, self.hi0 = lo, hi
        shape = self.shape
        self.masked = not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)))
        self.lo_p, self.hi_p = cp.Parameter(shape), cp.Parameter(shape)
        self.relaxed = cp.Variable(shape, name=f"{var.name()}_relaxed")
        if self.masked:
            self.lo_on, self.hi_on = cp.Parameter(shape, nonneg=True), cp.Parameter(shape, nonneg=True)
            self.constraints = [cp.multiply(self.lo_on, self.relaxed) >= self.lo_p,
                                cp.multiply(self.hi_on, self.relaxed) <= self.hi_p]
        else:
            self.constraints = [self.relaxed >= self.lo_p, self.relaxed <= self.hi_p]

    def bind(self, lo: np.ndarray, hi: np.ndarray) -> None:
        lo, hi = lo[self.start:self.stop], hi[self.start:self.stop]
        if self.masked:
            lon, hin = np.isfinite(lo), np.isfinite(hi)
            self.lo_on.value = lon.astype(float).reshape(self.shape)
            self.hi_on.value = hin.astype(float).reshape(self.shape)
            self.lo_p.value = np.where(lon, lo, -1.0).reshape(self.shape)
            self.hi_p.value = np.where(hin, hi, 1.0).reshape(self.shape)
        else:
            self.lo_p.value = lo.reshape(self.shape)
            self.hi_p.value = hi.reshape(self.shape)

    def value(self) -> np.ndarray:
        return np.asarray(self.relaxed.value, float).ravel()


def _dense(b):
    return b.toarray() if hasattr(b, "toarray") else b


class Relaxation:
    """The continuous relaxation of a mixed-integer cvxpy problem with parametric integer bounds (built once)."""

    def __init__(self, problem: cp.Problem):
        self.problem = problem
        self.sign = 1.0 if isinstance(problem.objective, cp.Minimize) else -1.0
        self.int_vars: list[_IntVar] = []
        start = 0
        for var in problem.variables():
            if var.attributes.get("boolean") or var.attributes.get("integer"):
                iv = _IntVar(var, start)
                self.int_vars.append(iv)
                start = iv.stop
        self.n = start
        self.cont_vars = [v for v in problem.variables()
                          if not (v.attributes.get("boolean") or v.attributes.get("integer"))]
        mapping = {id(iv.var): iv.relaxed for iv in self.int_vars}
        objective = problem.objective.tree_copy(mapping)
        constraints = [c.tree_copy(mapping) for c in problem.constraints]
        for iv in self.int_vars:
            constraints += iv.constraints
        self.relaxed = cp.Problem(objective, constraints)
        self.dpp = self.relaxed.is_dcp(dpp=True)
        self.lo0 = np.concatenate([iv.lo0 for iv in self.int_vars]) if self.int_vars else np.zeros(0)
        self.hi0 = np.concatenate([iv.hi0 for iv in self.int_vars]) if self.int_vars else np.zeros(0)
        self._index = {id(iv.var): iv for iv in self.int_vars}

    def flat(self, var: cp.Variable, index) -> int:
        """Global position of entry ``index`` (C-order flat int, or a tuple) of integer variable ``var``."""
        iv = self._index.get(id(var))
        if iv is None:
            raise ValueError(f"group member {var.name()} is not a boolean/integer variable of the problem")
        if isinstance(index, tuple):
            index = int(np.ravel_multi_index(index, iv.shape)) if iv.shape else 0
        index = int(index)
        if not 0 <= index < iv.size:
            raise ValueError(f"group index {index} out of range for {var.name()} of size {iv.size}")
        return iv.start + index

    def solve(self, lo: np.ndarray, hi: np.ndarray, solver: str | None, fallback: bool = False,
              bound_tol: float | None = None, deadline: float | None = None):
        """Solve with integer bounds [lo, hi]; (outcome, internal minimization value or None, int values, values).

        An inaccurate Clarabel solve with a dual bound (:func:`backends.safe_dual_bound`) returns that bound as the
        value and the approximate relaxed point for branching."""
        for iv in self.int_vars:
            iv.bind(lo, hi)
        outcome = backends.solve_conic(self.relaxed, solver, fallback=fallback, dual_bound=True, bound_tol=bound_tol,
                                       deadline=deadline)
        if outcome.status == Status.OPTIMAL:
            value = self.sign * float(self.relaxed.value)
        elif outcome.dual_bound is not None and all(iv.relaxed.value is not None for iv in self.int_vars):
            value = self.sign * outcome.dual_bound
        else:
            return outcome, None, None, None
        ints = np.concatenate([iv.value() for iv in self.int_vars]) if self.int_vars else np.zeros(0)
        values = {iv.var: np.asarray(iv.relaxed.value, float).copy() for iv in self.int_vars}
        for v in self.cont_vars:
            values[v] = None if v.value is None else np.array(v.value, copy=True)
        return outcome, value, ints, values

    def with_ints(self, values: dict, ints: np.ndarray) -> dict:
        """``values`` with the integer variables replaced by the (exact) vector ``ints``."""
        out = dict(values)
        for iv in self.int_vars:
            out[iv.var] = ints[iv.start:iv.stop].reshape(iv.shape).copy()
        return out


# ============================================================================================== the search
@dataclass(order=True)
class _Node:
    bound: float                                   # internal (minimization) bound, from the parent until solved
    neg_depth: int
    order: int
    lo: np.ndarray = field(compare=False)
    hi: np.ndarray = field(compare=False)
    parent_ints: np.ndarray | None = field(compare=False, default=None)
    depth: int = field(compare=False, default=0)


def _emit(log, message: str) -> None:
    if log is None:
        logger.debug(message)
    elif isinstance(log, logging.Logger):
        log.info(message)
    else:
        log(message)


class _QuietRetries(logging.Filter):
    """Drops the backend's per-solve "retrying" warnings during a search (counted in the outcome's notes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "retrying" not in record.getMessage()


def solve(problem: cp.Problem, *, groups: Sequence[Sequence[tuple[cp.Variable, Any]]] = (),
          incumbent: Incumbent | None = None, solver: str | None = None, time_limit_s: float | None = None,
          node_limit: int | None = None, rel_gap: float = 1e-6, log=None, abs_gap: float = 1e-9,
          group_branching: str = "sos1", heuristic: bool = True, dive_every: int = 100, dive_budget: int = 50,
          solver_fallback: bool = True, relaxation: Relaxation | None = None,
          progress: str = "branch-and-bound") -> BranchAndBoundOutcome:
    """Solve a mixed-integer cvxpy problem to ``rel_gap`` by SDP-based branch-and-bound (see module docstring).

    ``groups``: exactly-one sets, each a list of (boolean variable, index) pairs, index a C-order flat int or a
    tuple (``np.ravel_multi_index``); the problem's constraints must imply sum == 1 (checked at every node).
    ``incumbent(values) -> (objective, payload) | None`` produces feasible points from a relaxed node solution;
    ``values`` maps every variable of ``problem`` to its relaxed value; ``objective`` is in the problem's sense.
    ``log``: None (module logger, debug), a ``logging.Logger`` or a callable taking one line.
    ``heuristic``: built-in rounding (every node, each distinct assignment once) and fractional diving (at the
    root and every ``dive_every`` nodes, at most ``dive_budget`` solves) when no callback is given.
    ``solver_fallback``: let the backend fall back to the next solver (SCS) when Clarabel's ladder fails.
    ``relaxation``: a prebuilt :class:`Relaxation` of ``problem`` (reuse across calls).
    Limits: ``time_limit_s`` (wall clock), ``node_limit`` (nodes solved).
    ``progress``: the name of the progress bar / log lines (:class:`~.progress.Progress`: nodes, open nodes,
    bounds, gap, elapsed).
    """
    quiet = _QuietRetries()
    backends.log.addFilter(quiet)
    try:
        return _search(problem, groups=groups, incumbent=incumbent, solver=solver, time_limit_s=time_limit_s,
                       node_limit=node_limit, rel_gap=rel_gap, log=log, abs_gap=abs_gap,
                       group_branching=group_branching, heuristic=heuristic, dive_every=dive_every,
                       dive_budget=dive_budget, solver_fallback=solver_fallback, relaxation=relaxation,
                       progress=progress)
    finally:
        backends.log.removeFilter(quiet)


def _search(problem: cp.Problem, *, groups: Sequence[Sequence[tuple[cp.Variable, Any]]] = (),
          incumbent: Incumbent | None = None, solver: str | None = None, time_limit_s: float | None = None,
          node_limit: int | None = None, rel_gap: float = 1e-6, log=None, abs_gap: float = 1e-9,
          group_branching: str = "sos1", heuristic: bool = True, dive_every: int = 100, dive_budget: int = 50,
          solver_fallback: bool = True, relaxation: Relaxation | None = None,
          progress: str = "branch-and-bound") -> BranchAndBoundOutcome:
    """The search behind :func:`solve` (same arguments)."""
    start = time.perf_counter()
    if group_branching not in ("sos1", "fix_one"):
        raise ValueError(f"group_branching must be 'sos1' or 'fix_one', not {group_branching!r}")
    relax = relaxation if relaxation is not None else Relaxation(problem)
    sense = "min" if relax.sign > 0 else "max"
    notes: list[str] = []
    if not relax.dpp:
        notes.append("relaxation is not DPP: cvxpy recompiles it at every node")
    group_idx = [[relax.flat(v, i) for v, i in g] for g in groups]
    in_group = np.zeros(relax.n, bool)
    for g in group_idx:
        if len(set(g)) != len(g):
            raise ValueError("a group lists the same entry twice")
        if np.any(in_group[g]):
            raise ValueError("groups must be disjoint")
        if np.any(relax.lo0[g] < 0) or np.any(relax.hi0[g] > 1):
            raise ValueError("group members must be binary (boolean, or integer with bounds [0, 1])")
        in_group[g] = True
    singles = np.flatnonzero(~in_group)

    stats = dict(nodes=0, sdp=0, solver_time=0.0, unresolved=0, calls=0, retried=0, solvers=set(), dual_bounds=0)
    best: dict[str, Any] = dict(value=math.inf, values=None, payload=None)
    closed_min = math.inf              # smallest bound among closed (pruned-by-bound or integral) leaves
    history: list[tuple[float, int, float, float]] = []
    seen_roundings: set[bytes] = set()
    counter = itertools.count()

    if time_limit_s is None and limits.deadline() is not None:       # the run's limit (registry.solve)
        time_limit_s = limits.remaining()
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s

    def run(lo, hi):                     # every node solve stops at the search's deadline (its own time limit)
        outcome, value, ints, values = relax.solve(lo, hi, solver, solver_fallback, bound_tol=0.1 * rel_gap,
                                                   deadline=deadline)
        stats["sdp"] += 1
        stats["dual_bounds"] += outcome.dual_bound is not None and outcome.status != Status.OPTIMAL
        stats["solver_time"] += outcome.solve_time_s
        stats["solvers"].add(outcome.solver)
        if len(outcome.attempts) > 1:
            stats["retried"] += 1
            logger.debug("node solve needed %s", "; ".join(map(str, outcome.attempts)))
        return outcome, value, ints, values

    def tol(ub: float) -> float:
        return max(abs_gap, rel_gap * abs(ub)) if math.isfinite(ub) else 0.0

    def offer(value: float, values, payload, polish=None) -> None:
        """A candidate incumbent; ``polish`` (exact integers of an integral relaxation): re-solve them fixed first."""
        if value >= best["value"]:
            return
        if polish is not None:
            outcome, fixed_value, _, fixed_values = run(polish, polish)
            if fixed_value is None or outcome.status != Status.OPTIMAL:      # a dual bound is no incumbent
                notes.append(f"an integral relaxation re-solved with fixed integers returned {outcome.status.value}")
                return
            value, values = fixed_value, relax.with_ints(fixed_values, polish)
            if value >= best["value"]:
                return
        best.update(value=value, values=values, payload=payload)
        _emit(log, f"incumbent {relax.sign * value:.10g} after {stats['nodes']} nodes")

    def round_node(ints, lo, hi) -> np.ndarray:
        r = np.clip(np.round(ints), lo, hi)
        for g in group_idx:
            free = [i for i in g if hi[i] > 0.5]
            if free:
                r[g] = 0.0
                r[max(free, key=lambda i: ints[i])] = 1.0
        return r

    def try_rounding(ints, values, lo, hi) -> None:
        r = round_node(ints, lo, hi)
        key = r.tobytes()
        if key in seen_roundings:
            return
        seen_roundings.add(key)
        outcome, value, _, vals = run(r, r)
        if value is not None and outcome.status == Status.OPTIMAL:
            offer(value, relax.with_ints(vals, r), None)

    def dive(lo, hi, ints, values, value) -> None:
        """Fractional diving: fix the most fractional object to its nearer side (else the other), re-solve, repeat."""
        lo, hi, budget = lo.copy(), hi.copy(), dive_budget
        while budget > 0:
            choice = choose(ints, lo, hi)
            if choice is None:
                r = np.round(ints)
                offer(value, None, None, r)
                return
            if choice[0] == "group":
                g = group_idx[choice[1]]
                free = [i for i in g if hi[i] > 0.5]
                j = max(free, key=lambda i: ints[i])
                up_lo, up_hi = lo.copy(), hi.copy()
                up_lo[j] = 1.0
                up_hi[[i for i in free if i != j]] = 0.0
                down_lo, down_hi = lo.copy(), hi.copy()
                down_hi[j] = 0.0
                options = [(up_lo, up_hi), (down_lo, down_hi)]
            else:
                i = choice[1]
                down_lo, down_hi, up_lo, up_hi = lo.copy(), hi.copy(), lo.copy(), hi.copy()
                down_hi[i], up_lo[i] = math.floor(ints[i]), math.ceil(ints[i])
                options = [(down_lo, down_hi), (up_lo, up_hi)]
                if ints[i] - math.floor(ints[i]) >= 0.5:
                    options.reverse()
            for lo2, hi2 in options:
                budget -= 1
                _, value2, ints2, values2 = run(lo2, hi2)
                if value2 is not None and value2 < best["value"] - tol(best["value"]):
                    lo, hi, ints, values, value = lo2, hi2, ints2, values2, value2
                    break
                if budget <= 0:
                    return
            else:
                return

    def check_groups(ints) -> None:
        for g in group_idx:
            if abs(ints[g].sum() - 1.0) > GROUP_TOL:
                raise ValueError(f"a group's relaxed sum is {ints[g].sum():.6g}, not 1: the problem's constraints "
                                 f"must imply sum == 1 for every group")

    def choose(ints, lo, hi):
        """Best branching object: ('group', idx, split) | ('var', i) | None when integral."""
        best_score, choice = INT_TOL, None
        for gi, g in enumerate(group_idx):
            free = [i for i in g if hi[i] > 0.5]
            mass = np.clip(ints[free], 0.0, None)
            if np.count_nonzero(mass > INT_TOL) < 2:
                continue
            if group_branching == "fix_one":
                j = int(np.argmax(mass))
                score = min(mass[j], 1.0 - mass[j])
                split = [free[j]]
            else:
                cum = np.cumsum(mass)
                total = cum[-1]
                cands = [r for r in range(1, len(free)) if cum[r - 1] > INT_TOL and total - cum[r - 1] > INT_TOL]
                r = min(cands, key=lambda r: abs(cum[r - 1] - 0.5 * total))
                score = min(cum[r - 1], total - cum[r - 1])
                split = free[:r]
            if score > best_score:
                best_score, choice = score, ("group", gi, split)
        if singles.size:
            v = ints[singles]
            frac = np.abs(v - np.round(v))
            k = int(np.argmax(frac))
            if frac[k] > best_score:
                choice = ("var", int(singles[k]))
        return choice

    def first_unresolved(lo, hi):
        for gi, g in enumerate(group_idx):
            free = [i for i in g if hi[i] > 0.5]
            if len(free) > 1:
                return ("group", gi, free[:len(free) // 2])
        for i in singles:
            if lo[i] < hi[i]:
                return ("var", int(i))
        return None

    def children(node: _Node, choice, ints, bound) -> list[_Node]:
        kids = []
        if choice[0] == "group":
            g = group_idx[choice[1]]
            free = [i for i in g if node.hi[i] > 0.5]
            part = set(choice[2])
            if group_branching == "fix_one" and ints is not None:
                j = choice[2][0]
                lo1, hi1 = node.lo.copy(), node.hi.copy()
                lo1[j] = 1.0
                hi1[[i for i in free if i != j]] = 0.0
                lo2, hi2 = node.lo.copy(), node.hi.copy()
                hi2[j] = 0.0
                pairs = [(lo1, hi1), (lo2, hi2)]
            else:
                hi1, hi2 = node.hi.copy(), node.hi.copy()
                hi1[[i for i in free if i not in part]] = 0.0
                hi2[list(part)] = 0.0
                pairs = [(node.lo.copy(), hi1), (node.lo.copy(), hi2)]
        else:
            i = choice[1]
            if ints is not None:
                v = ints[i]
                down, up = math.floor(v), math.ceil(v)
                if up == down:
                    up = down + 1
            else:  # failed node: split the range (or around 0 when unbounded)
                lo_i, hi_i = node.lo[i], node.hi[i]
                mid = 0.0 if not (math.isfinite(lo_i) and math.isfinite(hi_i)) else 0.5 * (lo_i + hi_i)
                mid = min(max(mid, lo_i), hi_i - 1) if math.isfinite(hi_i) else max(mid, lo_i)
                down, up = math.floor(mid), math.floor(mid) + 1
            hi1 = node.hi.copy(); hi1[i] = down
            lo2 = node.lo.copy(); lo2[i] = up
            pairs = [(node.lo.copy(), hi1), (lo2, node.hi.copy())]
        for lo_c, hi_c in pairs:
            if np.all(lo_c <= hi_c):
                kids.append(_Node(bound, -(node.depth + 1), next(counter), lo_c, hi_c, ints, node.depth + 1))
        return kids

    heap: list[_Node] = [_Node(-math.inf, 0, next(counter), relax.lo0.copy(), relax.hi0.copy())]

    def lower() -> float:
        lb = min(closed_min, heap[0].bound if heap else math.inf)
        return min(lb, best["value"])

    def record() -> None:
        lb, ub = lower(), best["value"]
        entry = (time.perf_counter() - start, stats["nodes"], *_sense_bounds(relax.sign, lb, ub))
        if not history or history[-1][2:] != entry[2:]:
            history.append(entry)

    def gap_closed() -> bool:
        ub = best["value"]
        if not math.isfinite(ub):
            return False
        lb = lower()
        return ub - lb <= abs_gap or (ub - lb) / max(abs(ub), 1e-10) <= rel_gap

    def status_line() -> str:
        lb_int, ub_int = lower(), best["value"]
        lb, ub = _sense_bounds(relax.sign, lb_int, ub_int)
        gap = (ub_int - lb_int) / max(abs(ub_int), 1e-10) if math.isfinite(ub_int) and math.isfinite(lb_int) else None
        return f"{len(heap)} open, bounds [{lb:.8g}, {ub:.8g}], gap " + ("-" if gap is None else f"{100 * gap:.3g} %")

    stop_reason, termination, unbounded = None, Termination.CONVERGED, False
    current = None                  # the node being processed: back on the heap if Ctrl-C interrupts it
    bar = Progress(progress, unit="nodes")
    try:
        while heap:
            bar.update(stats["nodes"], status_line)
            if gap_closed():
                break
            if time_limit_s is not None and time.perf_counter() - start >= time_limit_s:
                stop_reason, termination = f"time limit {time_limit_s:g} s", Termination.TIME_LIMIT
                break
            if node_limit is not None and stats["nodes"] >= node_limit:
                stop_reason, termination = f"node limit {node_limit}", Termination.NODE_LIMIT
                break
            node = current = heapq.heappop(heap)
            if node.bound >= best["value"] - tol(best["value"]):     # pruned by the parent's bound, no solve
                closed_min = min(closed_min, node.bound)
                continue
            stats["nodes"] += 1
            outcome, value, ints, values = run(node.lo, node.hi)
            if outcome.status == Status.INFEASIBLE:
                record()
                continue
            if outcome.status == Status.UNBOUNDED:       # branching cannot bound a recession direction: stop, say so
                unbounded = True
                notes.append(f"node {stats['nodes']}: the relaxation is unbounded (proven by the solver): deciding "
                             "the integer problem from its recession direction (prove_unbounded)")
                break
            if value is None:                                        # failure: parent's bound, branch blindly
                choice = first_unresolved(node.lo, node.hi)
                _emit(log, f"node {stats['nodes']} failed ({outcome.status.value}); keeping parent bound "
                           f"{node.bound:.6g}")
                if choice is None:
                    stats["unresolved"] += 1
                    closed_min = min(closed_min, node.bound)
                else:
                    for kid in children(node, choice, None, node.bound):
                        heapq.heappush(heap, kid)
                record()
                continue
            margin = BOUND_MARGIN.get(outcome.solver, 1e-6) * max(1.0, abs(value))
            bound = max(value - margin, node.bound)
            check_groups(ints)
            if bound >= best["value"] - tol(best["value"]):
                closed_min = min(closed_min, bound)
                record()
                continue
            choice = choose(ints, node.lo, node.hi)
            if incumbent is not None:
                stats["calls"] += 1
                found = incumbent(values)
                if found is not None:
                    obj, payload = found
                    offer(relax.sign * float(obj), None, payload)
            if choice is None:                                       # integral: the node is solved
                snapped = np.round(ints)
                if incumbent is None:
                    offer(value, None, None, snapped)
                closed_min = min(closed_min, bound)
                record()
                continue
            if incumbent is None and heuristic:
                try_rounding(ints, values, node.lo, node.hi)
                if dive_every and (stats["nodes"] - 1) % dive_every == 0:
                    dive(node.lo, node.hi, ints, values, value)
            if bound >= best["value"] - tol(best["value"]):
                closed_min = min(closed_min, bound)
            else:
                for kid in children(node, choice, ints, bound):
                    heapq.heappush(heap, kid)
            record()
            if stats["nodes"] % 50 == 0:
                lb, ub = _sense_bounds(relax.sign, lower(), best["value"])
                _emit(log, f"{stats['nodes']} nodes, {len(heap)} open, bounds [{lb:.8g}, {ub:.8g}]")

    except KeyboardInterrupt:       # stop with what is known: the incumbent and a valid bound
        if current is not None:
            heapq.heappush(heap, current)
        stop_reason, termination = "interrupt (Ctrl-C)", Termination.INTERRUPTED

    bar.finish(stats["nodes"], status_line)
    record()
    lb_int, ub_int = lower(), best["value"]
    lb, ub = _sense_bounds(relax.sign, lb_int, ub_int)
    has = math.isfinite(ub_int)
    gap = (ub_int - lb_int) / max(abs(ub_int), 1e-10) if has else math.inf
    closed = has and (ub_int - lb_int <= abs_gap or gap <= rel_gap)
    if unbounded:
        from .unboundedness import UNBOUNDED_SEARCH_S, prove_unbounded
        remaining = UNBOUNDED_SEARCH_S if deadline is None else max(deadline - time.monotonic(), 1.0)
        status, why = prove_unbounded(problem, relax, current.lo, current.hi, remaining)
        notes.append(why)
        if status is Status.INFEASIBLE:
            lb, ub, gap = _sense_bounds(relax.sign, math.inf, math.inf) + (0.0,)
        else:
            status = status or Status.UNBOUNDED_INACCURATE
            lb, gap = (-math.inf if relax.sign > 0 else lb), math.inf
            if relax.sign < 0:
                ub = math.inf
    elif closed:
        status = Status.OPTIMAL
    elif has:
        status = Status.FEASIBLE
    elif not heap and stop_reason is None and stats["unresolved"] == 0 and not math.isfinite(closed_min):
        status = Status.INFEASIBLE
    elif stop_reason is not None:
        status = Status.NO_SOLUTION
    else:
        status, termination = Status.ERROR, Termination.SOLVER_FAILURE
    if stop_reason:
        notes.append(f"stopped by the {stop_reason}")
    if stats["retried"]:
        notes.append(f"{stats['retried']} of {stats['sdp']} SDP solves needed the backend's retries")
    if stats["dual_bounds"]:
        notes.append(f"{stats['dual_bounds']} node bounds from the dual iterate of an inaccurate solve "
                     "(backends.safe_dual_bound)")
    if stats["unresolved"]:
        notes.append(f"{stats['unresolved']} node relaxations failed; their parent bounds are kept")
    _emit(log, f"branch-and-bound {status.value}: {stats['nodes']} nodes, {stats['sdp']} SDP solves, "
               f"bounds [{lb:.10g}, {ub:.10g}]")
    return BranchAndBoundOutcome(
        status=status, termination=termination, objective=relax.sign * ub_int if has else None, values=best["values"],
        payload=best["payload"], lower_bound=lb, upper_bound=ub, gap=gap, nodes=stats["nodes"],
        sdp_solves=stats["sdp"], history=history, unresolved=stats["unresolved"], incumbent_calls=stats["calls"],
        sense=sense, solver="+".join(sorted(stats["solvers"])) or None, time_s=time.perf_counter() - start,
        solver_time_s=stats["solver_time"], notes=notes)


def _sense_bounds(sign: float, lb: float, ub: float) -> tuple[float, float]:
    """Internal minimization bounds -> (lower, upper) bounds on the optimum in the problem's sense."""
    return (lb, ub) if sign > 0 else (-ub, -lb)
