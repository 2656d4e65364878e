"""The one place where solvers are called.

Conic programs (cvxpy problems): Clarabel by default, MOSEK when licensed, SCS. Integer programs (Pyomo models):
HiGHS by default, Gurobi when licensed (pip's gurobipy carries a size-limited licence). This module

- reports availability (installed, licensed, size-limited) without ever failing on a missing optional solver;
- maps every raw status onto :class:`~isacopt.algorithms.result.Status` (``optimal_inaccurate`` stays inaccurate);
- retries an inaccurate or failed conic solve with tighter settings, then with the next solver, and says so;
- falls back from a size-limited Gurobi to HiGHS when a model is too large for the licence, and says so.
"""
from __future__ import annotations

import contextlib
import enum
import functools
import io
import logging
import os
import time
import warnings
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from ..errors import SolverError, SolverUnavailable, UnknownNameError
from .result import Status

log = logging.getLogger(__name__)

CONIC_SOLVERS = ("CLARABEL", "MOSEK", "SCS")      # preference order
INTEGER_SOLVERS = ("HIGHS", "GUROBI")
DEFAULT_CONIC = "CLARABEL"
DEFAULT_INTEGER = "HIGHS"


class Availability(str, enum.Enum):
    FREE = "installed (no licence needed)"
    LICENSED = "installed, licensed"
    SIZE_LIMITED = "installed, size-limited licence"
    UNLICENSED = "installed, no valid licence"
    NOT_INSTALLED = "not installed"

    @property
    def usable(self) -> bool:
        return self in (Availability.FREE, Availability.LICENSED, Availability.SIZE_LIMITED)


@dataclass(frozen=True)
class SolverInfo:
    name: str
    kind: str              # "conic" or "integer"
    availability: Availability
    version: str = ""
    note: str = ""

    @property
    def usable(self) -> bool:
        return self.availability.usable


# --------------------------------------------------------------------------------------------- availability
def _mosek_info() -> SolverInfo:
    try:
        import mosek
    except ImportError:
        return SolverInfo("MOSEK", "conic", Availability.NOT_INSTALLED, note="pip install 'isacopt[mosek]'")
    version = ".".join(map(str, mosek.Env.getversion()))
    try:
        with mosek.Env() as env:
            env.checkoutlicense(mosek.feature.pts)
    except mosek.Error as exc:
        return SolverInfo("MOSEK", "conic", Availability.UNLICENSED, version,
                          f"skipped: {str(exc).split(':')[0].strip() or 'no licence'} (set MOSEKLM_LICENSE_FILE)")
    return SolverInfo("MOSEK", "conic", Availability.LICENSED, version)


def _pyomo_info(name: str, pyomo_name: str) -> SolverInfo:
    import pyomo.environ  # noqa: F401  (registers the solver plugins)
    from pyomo.contrib.solver.common.factory import SolverFactory

    solver = SolverFactory(pyomo_name)
    with contextlib.redirect_stdout(io.StringIO()):  # gurobipy prints a licence banner
        avail = solver.available()
    kind = avail.name if hasattr(avail, "name") else str(avail)
    mapping = {"FullLicense": Availability.LICENSED if name == "GUROBI" else Availability.FREE,
               "LimitedLicense": Availability.SIZE_LIMITED, "BadLicense": Availability.UNLICENSED,
               "NotFound": Availability.NOT_INSTALLED}
    availability = mapping.get(kind, Availability.NOT_INSTALLED)
    version = ""
    if availability.usable:
        with contextlib.redirect_stdout(io.StringIO()):
            version = ".".join(map(str, solver.version()))
    note = {"SIZE_LIMITED": "models above 2000 variables/constraints fall back to HiGHS",
            "NOT_INSTALLED": "pip install 'isacopt[gurobi]'" if name == "GUROBI" else ""}.get(availability.name, "")
    return SolverInfo(name, "integer", availability, version, note)


@functools.cache
def solver_info(name: str) -> SolverInfo:
    """Availability of one solver (cached for the process)."""
    name = canonical_name(name)
    if name == "MOSEK":
        return _mosek_info()
    if name in ("CLARABEL", "SCS"):
        installed = name in cp.installed_solvers()
        version = ""
        if installed:
            module = __import__(name.lower())
            version = getattr(module, "__version__", "")
        return SolverInfo(name, "conic", Availability.FREE if installed else Availability.NOT_INSTALLED, version)
    return _pyomo_info(name, {"HIGHS": "highs", "GUROBI": "gurobi_direct"}[name])


def solver_table() -> list[SolverInfo]:
    """Every solver the project knows, conic then integer, in preference order."""
    return [solver_info(n) for n in CONIC_SOLVERS + INTEGER_SOLVERS]


def canonical_name(name: str) -> str:
    upper = str(name).strip().upper()
    if upper not in CONIC_SOLVERS + INTEGER_SOLVERS:
        raise UnknownNameError(f"unknown solver '{name}' (known: {', '.join(s.lower() for s in CONIC_SOLVERS + INTEGER_SOLVERS)})")
    return upper


def require_usable(name: str, kind: str) -> str:
    """Canonical name of a requested solver after checking it is of the right kind and usable here."""
    name = canonical_name(name)
    info = solver_info(name)
    if info.kind != kind:
        others = CONIC_SOLVERS if kind == "conic" else INTEGER_SOLVERS
        raise UnknownNameError(f"solver '{name.lower()}' solves {info.kind} programs; this method needs a {kind} "
                               f"solver ({', '.join(s.lower() for s in others)})")
    if not info.usable:
        raise SolverUnavailable(f"solver '{name.lower()}' is {info.availability.value}"
                                + (f": {info.note}" if info.note else ""))
    return name


# --------------------------------------------------------------------------------------------- conic programs
#: Attempts per solver, in order: (label, settings). Clarabel first asks for 1e-10 (its default is 1e-8): the ISAC
#: relaxations pair users whose SNR is ~60 dB with SINR targets of 15-25 dB, so 1e-8 residuals leave SINR violations
#: of ~1e-6 relative, at the edge of verification; 1e-10 costs one or two interior-point iterations and leaves ~1e-8.
#: An instance that cannot reach 1e-10 (Clarabel reports AlmostSolved) is retried with iterative refinement, then
#: at 1e-9, then at the default 1e-8 (measured on the detection SDRs up to 3 dB below the users' SNR, see README).
#: A fallback solver (one not requested) gets only its first attempt, so a fallback cannot run for many minutes.
#: SCS 3.3 needs ~40,000 iterations at eps 1e-7 on the detection sensing-only SDR (K = 1), hence 60,000.
#: "damped" (interior-point steps cut to 90 % of the boundary) and "regularized" (a 100x / 10x larger static KKT
#: regularization) rescue branch-and-bound node relaxations of the BS-selection MISDP where Clarabel's line search
#: stops (step 0) at residuals of ~1e-7 (nodes fixing association binaries to zero); no single setting rescues all
#: of them (measured on S = 4, K = 5, seed 9 and S = 5, K = 8, seed 0), each costs one more solve of ~0.2 s there.
#: Clarabel's linear solver is pinned to QDLDL: Clarabel 0.11 made the multithreaded supernodal "faer" solver the
#: default, and with it the detection SDRs stall at residuals of ~1e-6 (AlmostSolved on every attempt, measured on
#: tests/test_detection.py's N_t = 8 instances) where QDLDL reaches 1e-10 in 20 iterations.
_LDL = dict(direct_solve_method="qdldl")
_TOL = dict(_LDL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
CONIC_ATTEMPTS: dict[str, list[tuple[str, dict]]] = {
    "CLARABEL": [("precise", _TOL),
                 ("refined", dict(_TOL, max_iter=500, iterative_refinement_max_iter=50,
                                  iterative_refinement_reltol=1e-15, iterative_refinement_abstol=1e-15)),
                 ("damped", dict(_TOL, max_step_fraction=0.9)),
                 ("1e-9", dict(_LDL, tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9)),
                 ("regularized", dict(_TOL, static_regularization_constant=1e-6)),
                 ("regularized 1e-8", dict(_LDL, tol_gap_abs=1e-8, tol_gap_rel=1e-8, tol_feas=1e-8,
                                           static_regularization_constant=1e-7)),
                 ("standard", dict(_LDL))],
    "SCS": [("standard", dict(eps_abs=1e-7, eps_rel=1e-7, max_iters=60_000)),
            ("tight", dict(eps_abs=1e-8, eps_rel=1e-8, max_iters=100_000, acceleration_lookback=20))],
    "MOSEK": [("standard", dict()), ("tight", dict(mosek_params={"MSK_DPAR_INTPNT_CO_TOL_REL_GAP": 1e-10}))],
}

_CVXPY_STATUS = {
    cp.OPTIMAL: Status.OPTIMAL, cp.OPTIMAL_INACCURATE: Status.OPTIMAL_INACCURATE,
    cp.INFEASIBLE: Status.INFEASIBLE, cp.INFEASIBLE_INACCURATE: Status.INFEASIBLE_INACCURATE,
    cp.UNBOUNDED: Status.UNBOUNDED, cp.UNBOUNDED_INACCURATE: Status.UNBOUNDED_INACCURATE,
    cp.USER_LIMIT: Status.LIMIT,
}


@dataclass
class ConicOutcome:
    status: Status
    solver: str
    solve_time_s: float          # time inside the solver(s), summed over attempts
    wall_time_s: float           # including cvxpy's parameter application and canonicalization
    attempts: list[str] = field(default_factory=list)
    #: With ``solve_conic(..., dual_bound=True)``, for a Clarabel solve that stopped short of its tolerances
    #: (``optimal_inaccurate``): a bound on the optimum in the problem's own sense (lower for Minimize, upper for
    #: Maximize) from the solver's dual iterate, see :func:`safe_dual_bound`. None otherwise.
    dual_bound: float | None = None

    @property
    def notes(self) -> list[str]:
        """A note for the result when more than one attempt was needed."""
        return [f"solver attempts: {'; '.join(self.attempts)}"] if len(self.attempts) > 1 else []


def conic_chain(requested: str | None) -> list[str]:
    """Solvers to try, in order: the requested one (or the default) first, then the other usable ones."""
    first = require_usable(requested, "conic") if requested else DEFAULT_CONIC
    rest = [s for s in CONIC_SOLVERS if s != first and solver_info(s).usable]
    return [first, *rest]


#: Safety factor on the magnitude of the primal optimum in :func:`safe_dual_bound`.
PRIMAL_SCALE_FACTOR = 10.0


def _project_dual_cone(z: np.ndarray, dims) -> np.ndarray | None:
    """Project Clarabel's dual iterate onto K* (self-dual cones: zero -> free, nonnegative, SOC, PSD in Clarabel's
    scaled upper-triangle form); None when the cone list holds cones this routine does not handle."""
    if dims.exp or dims.p3d or getattr(dims, "pnd", None):
        return None
    z = z.copy()
    i = dims.zero
    z[i:i + dims.nonneg] = np.maximum(z[i:i + dims.nonneg], 0.0)
    i += dims.nonneg
    for n in dims.soc:
        t, v = z[i], z[i + 1:i + n]
        nv = np.linalg.norm(v)
        if nv > t:                                   # outside the cone: project
            a = max((t + nv) / 2.0, 0.0)
            z[i], z[i + 1:i + n] = a, (a / nv) * v if nv > 0 else v
        i += n
    for n in dims.psd:
        m = n * (n + 1) // 2
        w, U = np.linalg.eigh(psd_unpack(z[i:i + m], n))
        if w.min() < 0:
            z[i:i + m] = psd_pack((U * np.maximum(w, 0.0)) @ U.T)
        i += m
    return z


def _triangle(n: int):
    rows, cols = np.triu_indices(n)
    order = np.lexsort((rows, cols))                 # column-major upper triangle
    rows, cols = rows[order], cols[order]
    return rows, cols, np.where(rows == cols, 1.0, np.sqrt(2.0))


def psd_unpack(v: np.ndarray, n: int) -> np.ndarray:
    """Symmetric (n, n) matrix of a vector in Clarabel's PSDTriangle form (upper triangle by columns, off-diagonal
    entries scaled by sqrt 2)."""
    rows, cols, scale = _triangle(n)
    M = np.zeros((n, n))
    M[rows, cols] = v / scale
    return M + np.triu(M, 1).T


def psd_pack(M: np.ndarray) -> np.ndarray:
    """Inverse of :func:`psd_unpack`."""
    rows, cols, scale = _triangle(M.shape[0])
    return M[rows, cols] * scale


def safe_dual_bound(data: dict, raw) -> float | None:
    """A bound on the conic program min q'x s.t. b - Ax in K from Clarabel's dual iterate (Jansson-style).

    z is projected onto K*; with r = q + A'z and s = b - Ax in K, every feasible x has
    q'x = r'x - z'Ax = -b'z + z's + r'x >= -b'z + r'x (z's >= 0), so q'x >= -b'z - ||r||_1 X whenever all
    |x_i| <= X. X is not known for a generic problem: we take X = PRIMAL_SCALE_FACTOR * max(1, ||x_hat||_inf) from
    the solver's approximate point, the one assumption of this bound. Measured on BS-selection node relaxations:
    where Clarabel stalls late (||r||_1 ~ 1e-11) the term is ~1e-9 relative; where it stalls early (||r||_1 ~ 4e-5)
    the bound is weak and :func:`solve_conic` moves on to the next attempt.
    Returns None for problems with a quadratic objective or cones not handled by :func:`_project_dual_cone`.
    """
    if data.get("P") is not None and getattr(data["P"], "nnz", 0):
        return None
    z = None if raw.z is None else _project_dual_cone(np.asarray(raw.z, float), data["dims"])
    if z is None or raw.x is None:
        return None
    A, b, q = data["A"], np.asarray(data["b"], float), np.asarray(data["c"], float)
    r = q + A.T @ z
    X = PRIMAL_SCALE_FACTOR * max(1.0, float(np.max(np.abs(raw.x))) if len(raw.x) else 1.0)
    bound = float(-b @ z - np.sum(np.abs(r)) * X)
    return bound if np.isfinite(bound) else None


def _solve_once(problem: cp.Problem, name: str, settings: dict, dual_bound: bool):
    """One solver call via cvxpy's documented get_problem_data / solve_via_data / unpack_results path (the raw
    solver answer is kept); returns (status, dual bound in the problem's sense or None)."""
    data, chain, inverse = problem.get_problem_data(name, solver_opts=settings)
    with warnings.catch_warnings():  # inaccuracy is handled by the caller: retried, then reported
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        raw = chain.solve_via_data(problem, data, False, False, settings)
        problem.unpack_results(raw, chain, inverse)
    status = _CVXPY_STATUS.get(problem.status, Status.ERROR)
    bound = None
    if dual_bound and name == "CLARABEL" and status == Status.OPTIMAL_INACCURATE:
        bound = problem_dual_bound(problem, data, raw)
    return status, bound


def problem_dual_bound(problem: cp.Problem, data: dict, raw) -> float | None:
    """:func:`safe_dual_bound` in the problem's own sense (lower bound for Minimize, upper for Maximize), for a
    Clarabel answer ``raw`` to ``problem.get_problem_data("CLARABEL")`` that has been unpacked into ``problem``."""
    if problem.value is None or raw.obj_val is None or not np.isfinite(raw.obj_val):
        return None
    maximize = isinstance(problem.objective, cp.Maximize)
    offset = (-problem.value if maximize else problem.value) - raw.obj_val     # constant of the min form
    conic = safe_dual_bound(data, raw)
    if conic is None:
        return None
    return -(conic + offset) if maximize else conic + offset


def conic_attempts(name: str, clarabel: dict | None = None) -> list[tuple[str, dict]]:
    """The ladder of ``name``; with ``clarabel`` settings, Clarabel's ladder starts with one extra attempt, the first
    one's settings updated with them ("tuned"), and then runs in full: a model that is scaled already switches off
    Clarabel's equilibration this way (``{"equilibrate_enable": False}``) and loses no robustness where that hurts."""
    ladder = CONIC_ATTEMPTS[name]
    if name == "CLARABEL" and clarabel:
        ladder = [("tuned", dict(ladder[0][1], **clarabel))] + ladder
    return ladder


def solve_conic(problem: cp.Problem, solver: str | None = None, *, fallback: bool = True,
                dual_bound: bool = False, bound_tol: float | None = None,
                resume: tuple[list[str], float] | None = None, clarabel: dict | None = None) -> ConicOutcome:
    """Solve a cvxpy problem; retry inaccurate or failed solves (tighter settings, then the next solver).

    Returns the first accurate outcome (optimal, infeasible or unbounded); when every attempt is inaccurate, the
    last outcome with its inaccurate status. Raises :class:`SolverError` only when no attempt produced a status.
    ``dual_bound``: for callers that need a valid bound more than an accurate point (branch-and-bound nodes), a
    Clarabel attempt that stops short of its tolerances yields :func:`safe_dual_bound` (``outcome.dual_bound``;
    status stays ``optimal_inaccurate``); the ladder stops there when the bound is within ``bound_tol`` (default
    ``TIGHT_BOUND``, relative) of the primal value, and when no attempt is accurate the best bound found (with its
    point) is returned without trying the fallback solvers (SCS gives no rigorous bound and costs 10-50 s on the
    node relaxations that need this).
    ``resume``: (attempt labels, solver time) of a first attempt already made elsewhere (:func:`solve_conic_batch`);
    the ladder starts at the second attempt.
    ``clarabel``: settings for one extra first Clarabel attempt (:func:`conic_attempts`).
    """
    bound_tol = TIGHT_BOUND if bound_tol is None else bound_tol
    chain = conic_chain(solver)
    if not fallback:
        chain = chain[:1]
    attempts, solver_time, start = list(resume[0]) if resume else [], resume[1] if resume else 0.0, time.perf_counter()
    last: ConicOutcome | None = None
    best_bound: tuple[float, dict] | None = None
    for position, name in enumerate(chain):
        if position > 0 and best_bound is not None:
            break
        ladder = conic_attempts(name, clarabel)
        attempts_here = ladder if position == 0 else ladder[:1]
        if position == 0 and resume:
            attempts_here = attempts_here[1:]
        for kind, settings in attempts_here:
            label = f"{name} ({kind})"
            bound = None
            try:
                status, bound = _solve_once(problem, name, settings, dual_bound)
            except cp.error.SolverError as exc:
                status = Status.ERROR
                log.debug("%s failed: %s", label, exc)
            stats = problem.solver_stats
            solver_time += (stats.solve_time or 0.0) if stats is not None else 0.0
            tight = bound is not None and _bound_is_tight(problem, bound, bound_tol)
            if bound is not None and (best_bound is None or _better(problem, bound, best_bound[0])):
                best_bound = (bound, _snapshot(problem))
            attempts.append(f"{label}: {status.value}" + (" (tight dual bound)" if tight else ""))
            last = ConicOutcome(status, name, solver_time, time.perf_counter() - start, list(attempts), bound)
            if status in (Status.OPTIMAL, Status.INFEASIBLE, Status.UNBOUNDED) or tight:
                return last
            log.info("%s returned %s; retrying", label, status.value)   # routine: the notes list the attempts
    if last is None:
        raise SolverError("no conic solver could be run")
    if best_bound is not None:                      # no accurate answer: the best dual bound and its point
        _restore(problem, best_bound[1])
        last = ConicOutcome(Status.OPTIMAL_INACCURATE, last.solver, solver_time, time.perf_counter() - start,
                            list(attempts), best_bound[0])
    return last


def conic_workers(jobs: int) -> int:
    """Threads for :func:`solve_conic_batch`: ``$ISACOPT_THREADS`` if set (1 = sequential), else the CPU count,
    never more than there are jobs."""
    raw = os.environ.get("ISACOPT_THREADS", "").strip()
    try:
        wanted = int(raw) if raw else (os.cpu_count() or 1)
    except ValueError:
        raise UnknownNameError(f"ISACOPT_THREADS must be a positive integer (got '{raw}'); unset it to use every "
                               f"CPU") from None
    if wanted < 1:
        raise UnknownNameError(f"ISACOPT_THREADS must be a positive integer (got {wanted}); unset it to use every CPU")
    return max(1, min(wanted, jobs))


@functools.cache
def _thread_pool(workers: int):
    """One long-lived pool per size (starting threads costs ~1 ms each, a BLP stage-A solve ~20 ms)."""
    from concurrent.futures import ThreadPoolExecutor
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="isacopt-conic")


def solve_conic_batch(jobs: list, solver: str | None = None, *, workers: int | None = None,
                      clarabel: dict | None = None) -> list:
    """Solve independent problems that may share one DPP template; the solver calls run in parallel threads.

    ``jobs``: ``(bind, read)`` pairs; ``bind()`` sets the template's parameters and returns the problem, ``read()``
    extracts what the caller needs after a solve (the job's parameters are bound again before its results are
    unpacked, so ``problem.value`` is its own). Returns ``[(ConicOutcome, read()), ...]`` in
    job order, the same answers as calling :func:`solve_conic` job by job: parameters are bound and cvxpy's problem
    data built one job at a time (the template is compiled once), only Clarabel's first attempt runs
    in threads (Clarabel releases the GIL while it solves); results are unpacked in order, and a job whose first
    attempt is not accurate continues on the :func:`solve_conic` ladder (re-bound, sequentially). Runs sequentially
    with one worker (:func:`conic_workers`) or when the first solver is not Clarabel. ``clarabel``: as for
    :func:`solve_conic`.
    """
    chain = conic_chain(solver)
    workers = conic_workers(len(jobs)) if workers is None else max(1, min(workers, len(jobs)))
    if workers == 1 or chain[0] != "CLARABEL":
        return [(solve_conic(bind(), solver, clarabel=clarabel), read()) for bind, read in jobs]
    kind, settings = conic_attempts("CLARABEL", clarabel)[0]
    start = time.perf_counter()
    prepared = []
    for bind, _ in jobs:
        problem = bind()
        data, solving_chain, inverse = problem.get_problem_data("CLARABEL", solver_opts=settings)
        prepared.append((problem, data, solving_chain, inverse))

    def run(item):
        _, data, solving_chain, _ = item
        try:
            return solving_chain.solver.solve_via_data(data, False, False, dict(settings), None)
        except cp.error.SolverError as exc:
            log.debug("CLARABEL (%s) failed in a batch: %s", kind, exc)
            return None

    raws = list(_thread_pool(workers).map(run, prepared))
    prep_share = (time.perf_counter() - start) / len(jobs)
    out = []
    for (bind, read), (_, data, solving_chain, inverse), raw in zip(jobs, prepared, raws):
        t0 = time.perf_counter()
        problem = bind()                    # problem.value is the objective at the bound parameters
        status = Status.ERROR
        if raw is not None:
            try:                            # a failed solve (e.g. NumericalError) raises here, as in _solve_once
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                    problem.unpack_results(raw, solving_chain, inverse)
                status = _CVXPY_STATUS.get(problem.status, Status.ERROR)
            except cp.error.SolverError as exc:
                log.debug("CLARABEL (%s) failed in a batch: %s", kind, exc)
                raw = None
        stats = problem.solver_stats if raw is not None else None
        solve_time = (stats.solve_time or 0.0) if stats is not None else 0.0
        label = f"CLARABEL ({kind}): {status.value}"
        if status in (Status.OPTIMAL, Status.INFEASIBLE, Status.UNBOUNDED):
            outcome = ConicOutcome(status, "CLARABEL", solve_time, prep_share + time.perf_counter() - t0, [label])
        else:
            log.info("CLARABEL (%s) returned %s; retrying", kind, status.value)
            outcome = solve_conic(problem, solver, resume=([label], solve_time), clarabel=clarabel)
        out.append((outcome, read()))
    return out


#: A dual bound within this relative distance of the primal value ends the ladder (``dual_bound=True``).
TIGHT_BOUND = 1e-7


def _bound_is_tight(problem: cp.Problem, bound: float, tol: float) -> bool:
    value = problem.value
    return value is not None and abs(value - bound) <= tol * max(1e-10, abs(value))


def _better(problem: cp.Problem, a: float, b: float) -> bool:
    return a < b if isinstance(problem.objective, cp.Maximize) else a > b


def _snapshot(problem: cp.Problem) -> dict:
    return {v: None if v.value is None else np.array(v.value, copy=True) for v in problem.variables()}


def _restore(problem: cp.Problem, values: dict) -> None:
    """Put a snapshot back without cvxpy's attribute checks: an approximate point of a PSD variable may have
    eigenvalues of -1e-9, which ``Variable.value = ...`` would refuse."""
    for v, x in values.items():
        v.save_value(x)


# --------------------------------------------------------------------------------------------- integer programs
@dataclass
class IntegerOutcome:
    status: Status
    solver: str
    objective: float | None      # incumbent objective
    bound: float | None          # best proven bound
    gap: float | None            # relative gap |objective - bound| / max(|objective|, 1e-10)
    solve_time_s: float
    notes: list[str] = field(default_factory=list)


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
    elif tc in (TC.maxTimeLimit, TC.iterationLimit, TC.objectiveLimit, TC.interrupted):
        status = Status.FEASIBLE if has_solution else Status.LIMIT
    else:
        status = Status.ERROR
    return IntegerOutcome(status, name, obj, bound, gap, time.perf_counter() - start, notes)
