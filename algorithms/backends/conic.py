"""The conic retry ladder: Clarabel, then tighter settings, then the next solver; every attempt a record."""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
import warnings
import weakref
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from ...errors import SolverError, UnknownNameError
from .. import limits
from ..result import Status
from .availability import CONIC_SOLVERS, DEFAULT_CONIC, require_usable, solver_info
from . import schur
from .certificate import problem_dual_bound

log = logging.getLogger("isacopt.algorithms.backends")

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
    "SCHUR": [("schur", dict(tol=schur.TOL))],
}


#: Per problem: (has the standard form of :mod:`.schur`, and SCHUR pays there), decided once: a DPP template keeps
#: its structure whatever the parameters.
_SCHUR_FORM: "weakref.WeakKeyDictionary[cp.Problem, tuple[bool, bool]]" = weakref.WeakKeyDictionary()


def schur_applies(problem: cp.Problem, cost: bool = True) -> bool:
    """True when :mod:`.schur` can solve ``problem`` (zero, nonnegative and PSD cones, at most ``schur.MAX_ROWS``
    rows of its standard form) and, with ``cost`` (the default path's rule), is the cheaper method by
    :func:`.schur.cost_model`; cached per problem."""
    if problem not in _SCHUR_FORM:
        try:
            data, _, _ = problem.get_problem_data("CLARABEL")
            _SCHUR_FORM[problem] = (schur.check(data, cost=False) is None, schur.check(data) is None)
        except BaseException as exc:              # noqa: B036 -- decided by the ladder's own attempts
            if not solver_crashed(exc):
                raise
            _SCHUR_FORM[problem] = (False, False)
    form, pays = _SCHUR_FORM[problem]
    return pays if cost else form

_CVXPY_STATUS = {
    cp.OPTIMAL: Status.OPTIMAL, cp.OPTIMAL_INACCURATE: Status.OPTIMAL_INACCURATE,
    cp.INFEASIBLE: Status.INFEASIBLE, cp.INFEASIBLE_INACCURATE: Status.INFEASIBLE_INACCURATE,
    cp.UNBOUNDED: Status.UNBOUNDED, cp.UNBOUNDED_INACCURATE: Status.UNBOUNDED_INACCURATE,
    cp.USER_LIMIT: Status.NO_SOLUTION,
}


@dataclass(frozen=True)
class Attempt:
    """One rung of the ladder: which solver with which settings, what it returned, at what cost.

    ``bound``: the rigorous dual bound of an attempt that stopped short (``dual_bound=True``), else None;
    ``tight``: that bound was within the ladder's tolerance of the primal value; ``error``: why the call failed
    (a cvxpy ``SolverError``, a Clarabel panic, ...). ``str()`` is the one-line label used in notes.
    """

    solver: str
    rung: str
    status: Status
    time_s: float = 0.0
    iterations: int | None = None
    bound: float | None = None
    tight: bool = False
    error: str | None = None

    def __str__(self) -> str:
        return f"{self.solver} ({self.rung}): {self.status.value}" + (" (tight dual bound)" if self.tight else "")

    def to_dict(self) -> dict:
        return {"solver": self.solver, "rung": self.rung, "status": self.status.value, "time_s": self.time_s,
                "iterations": self.iterations, "bound": self.bound, "tight": self.tight, "error": self.error}


#: The attempt lists of the :func:`recording` blocks now open in this process.
_RECORDERS: list[list[Attempt]] = []
_RECORDERS_LOCK = threading.Lock()


@contextlib.contextmanager
def recording():
    """``with recording() as attempts:`` - every ladder attempt made while the block runs (any thread of this
    process, any solve: node relaxations, AO blocks, batches), in order; :func:`summarize` tabulates them."""
    attempts: list[Attempt] = []
    with _RECORDERS_LOCK:
        _RECORDERS.append(attempts)
    try:
        yield attempts
    finally:
        with _RECORDERS_LOCK:
            _RECORDERS.remove(attempts)


def _noted(attempt: Attempt) -> Attempt:
    """``attempt``, also appended to every open :func:`recording`."""
    note_attempts([attempt])
    return attempt


def note_attempts(made: list[Attempt]) -> None:
    """Append attempts made elsewhere (a worker process's) to every open :func:`recording`."""
    if _RECORDERS and made:
        with _RECORDERS_LOCK:
            for attempts in _RECORDERS:
                attempts.extend(made)


def summarize(attempts: list[Attempt]) -> list[dict]:
    """One row per (solver, rung, status): count, solver time and iterations summed, in order of first use
    (``Result.solver_calls``: how a many-solve method's answers came about; a failed call names its first error)."""
    rows: dict[tuple, dict] = {}
    for a in attempts:
        row = rows.setdefault((a.solver, a.rung, a.status.value), {
            "solver": a.solver, "rung": a.rung, "status": a.status.value, "count": 0, "time_s": 0.0,
            "iterations": 0, "error": a.error})
        row["count"] += 1
        row["time_s"] += a.time_s
        row["iterations"] += a.iterations or 0
    return list(rows.values())


def solver_crashed(exc: BaseException) -> bool:
    """True for an exception that means "this solver call failed" (the ladder moves on): any ``Exception`` and a
    Rust ``PanicException`` (pyo3 derives it from ``BaseException``; Clarabel raises it, e.g. ``SVD error`` inside
    its PSD cone). KeyboardInterrupt, SystemExit and GeneratorExit are never swallowed."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        return False
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


@dataclass
class ConicOutcome:
    status: Status
    solver: str
    solve_time_s: float          # time inside the solver(s), summed over attempts
    wall_time_s: float           # including cvxpy's parameter application and canonicalization
    attempts: list[Attempt] = field(default_factory=list)
    #: With ``solve_conic(..., dual_bound=True)``, for a Clarabel solve that stopped short of its tolerances
    #: (``optimal_inaccurate``): a bound on the optimum in the problem's own sense (lower for Minimize, upper for
    #: Maximize) from the solver's dual iterate, see :func:`safe_dual_bound`. None otherwise.
    dual_bound: float | None = None

    @property
    def notes(self) -> list[str]:
        """A note for the result when more than one attempt was needed."""
        return [f"solver attempts: {'; '.join(map(str, self.attempts))}"] if len(self.attempts) > 1 else []


def conic_chain(requested: str | None) -> list[str]:
    """Solvers to try, in order: the requested one (or the default) first, then the other usable ones."""
    first = require_usable(requested, "conic") if requested else DEFAULT_CONIC
    rest = [s for s in CONIC_SOLVERS if s not in (first, "SCHUR") and solver_info(s).usable]
    if first == "SCHUR":
        rest = [DEFAULT_CONIC] + [s for s in rest if s != DEFAULT_CONIC]
    return [first, *rest]



def _solve_once(problem: cp.Problem, name: str, settings: dict, dual_bound: bool):
    """One solver call via cvxpy's documented get_problem_data / solve_via_data / unpack_results path (the raw
    solver answer is kept); returns (status, dual bound in the problem's sense or None). ``SCHUR`` reads Clarabel's
    conic data (the same compiled chain) and answers in Clarabel's format (:mod:`.schur`)."""
    data, chain, inverse = problem.get_problem_data("CLARABEL" if name == "SCHUR" else name, solver_opts=settings)
    with warnings.catch_warnings():  # inaccuracy is handled by the caller: retried, then reported
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        if name == "SCHUR":
            raw = schur.solve_data(data, **settings)
        else:
            raw = chain.solve_via_data(problem, data, False, False, settings)
        problem.unpack_results(raw, chain, inverse)
    status = _CVXPY_STATUS.get(problem.status, Status.ERROR)
    bound = None
    if dual_bound and name == "CLARABEL" and status == Status.OPTIMAL_INACCURATE:
        bound = problem_dual_bound(problem, data, raw)
    return status, bound



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
                resume: tuple[list[str], float] | None = None, clarabel: dict | None = None,
                deadline: float | None = None) -> ConicOutcome:
    """Solve a cvxpy problem; retry inaccurate or failed solves (tighter settings, then the next solver).

    Returns the first accurate outcome (optimal, infeasible or unbounded); when every attempt is inaccurate, the
    last outcome with its inaccurate status. Raises :class:`SolverError` only when no attempt produced a status.
    ``dual_bound``: for callers that need a valid bound more than an accurate point (branch-and-bound nodes), a
    Clarabel attempt that stops short of its tolerances yields :func:`safe_dual_bound` (``outcome.dual_bound``;
    status stays ``optimal_inaccurate``); the ladder stops there when the bound is within ``bound_tol`` (default
    ``TIGHT_BOUND``, relative) of the primal value, and when no attempt is accurate the best bound found (with its
    point) is returned without trying the fallback solvers (SCS gives no rigorous bound and costs 10-50 s on the
    node relaxations that need this).
    ``resume``: (attempt records, solver time) of a first attempt already made elsewhere (:func:`solve_conic_batch`);
    the ladder starts at the second attempt.
    ``clarabel``: settings for one extra first Clarabel attempt (:func:`conic_attempts`).
    ``deadline``: a ``time.monotonic()`` instant (default: the run's, :mod:`..limits`); every attempt gets the remaining time as the solver's own time
    limit (Clarabel ``time_limit``, SCS ``time_limit_secs``), and no attempt starts after it (the outcome is then
    ``no_solution`` unless an earlier attempt answered), so a caller's time limit holds within one solve.
    """
    bound_tol = TIGHT_BOUND if bound_tol is None else bound_tol
    deadline = limits.deadline() if deadline is None else min(deadline, limits.deadline() or deadline)
    chain = conic_chain(solver)
    if chain[0] == "SCHUR":                     # SCHUR: one attempt where it applies, then Clarabel's full ladder
        chain = (["SCHUR"] if schur_applies(problem, cost=False) else []) + [c for c in chain[1:]]
    elif solver is None and not resume and schur_applies(problem):
        chain = ["SCHUR", *chain]
    if not fallback:
        chain = chain[:2] if chain[0] == "SCHUR" else chain[:1]
    attempts, solver_time, start = list(resume[0]) if resume else [], resume[1] if resume else 0.0, time.perf_counter()
    last: ConicOutcome | None = None
    best_bound: tuple[float, dict] | None = None
    for position, name in enumerate(chain):
        if position > 0 and best_bound is not None:
            break
        ladder = conic_attempts(name, clarabel)
        primary = position == 0 or (position == 1 and chain[0] == "SCHUR")
        attempts_here = ladder if primary else ladder[:1]
        if primary and resume:
            attempts_here = attempts_here[1:]
        for kind, settings in attempts_here:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    attempts.append(_noted(Attempt(name, kind, Status.NO_SOLUTION, error="deadline reached")))
                    out = last if last is not None else ConicOutcome(Status.NO_SOLUTION, name, solver_time,
                                                                     time.perf_counter() - start)
                    return ConicOutcome(out.status, out.solver, solver_time, time.perf_counter() - start,
                                        list(attempts), out.dual_bound)
                limit = _time_limit(name, remaining)
                if "mosek_params" in limit:
                    limit["mosek_params"] = {**settings.get("mosek_params", {}), **limit["mosek_params"]}
                settings = dict(settings, **limit)
            bound, error, t0 = None, None, time.perf_counter()
            try:
                status, bound = _solve_once(problem, name, settings, dual_bound)
            except BaseException as exc:          # noqa: B036 -- a Clarabel panic is a BaseException
                if not solver_crashed(exc):
                    raise
                status, error = Status.ERROR, f"{type(exc).__name__}: {exc}"
                log.debug("%s (%s) failed: %s", name, kind, error)
            stats = problem.solver_stats if error is None else None
            elapsed = (stats.solve_time or 0.0) if stats is not None and stats.solve_time is not None \
                else time.perf_counter() - t0
            solver_time += elapsed
            tight = bound is not None and _bound_is_tight(problem, bound, bound_tol)
            if bound is not None and (best_bound is None or _better(problem, bound, best_bound[0])):
                best_bound = (bound, _snapshot(problem))
            attempts.append(_noted(Attempt(name, kind, status, elapsed, getattr(stats, "num_iters", None), bound,
                                           tight, error)))
            last = ConicOutcome(status, name, solver_time, time.perf_counter() - start, list(attempts), bound)
            if status in (Status.OPTIMAL, Status.INFEASIBLE, Status.UNBOUNDED) or tight:
                return last
            log.info("%s (%s) returned %s; retrying", name, kind, status.value)   # the notes list the attempts
    if last is None:
        raise SolverError("no conic solver could be run")
    if best_bound is not None:                      # no accurate answer: the best dual bound and its point
        _restore(problem, best_bound[1])
        last = ConicOutcome(Status.OPTIMAL_INACCURATE, last.solver, solver_time, time.perf_counter() - start,
                            list(attempts), best_bound[0])
    return last


def _time_limit(name: str, seconds: float) -> dict:
    """A solver's own wall-clock limit setting."""
    return {"CLARABEL": {"time_limit": max(seconds, 1e-3)}, "SCS": {"time_limit_secs": max(seconds, 1e-3)},
            "SCHUR": {"time_limit": max(seconds, 1e-3)},
            "MOSEK": {"mosek_params": {"MSK_DPAR_OPTIMIZER_MAX_TIME": max(seconds, 1e-3)}}}.get(name, {})


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
    with one worker (:func:`conic_workers`), when the first solver is not Clarabel, or when SCHUR goes first on the
    default path (:func:`schur_applies`). ``clarabel``: as for
    :func:`solve_conic`.
    """
    chain = conic_chain(solver)
    workers = conic_workers(len(jobs)) if workers is None else max(1, min(workers, len(jobs)))
    def one_by_one():
        return [(solve_conic(bind(), solver, clarabel=clarabel), read()) for bind, read in jobs]
    if workers == 1 or chain[0] != "CLARABEL":
        return one_by_one()
    kind, settings = conic_attempts("CLARABEL", clarabel)[0]
    start = time.perf_counter()
    prepared = []
    for bind, _ in jobs:
        problem = bind()
        if not prepared and solver is None and schur_applies(problem):   # SCHUR first: the plain ladder per job
            return one_by_one()
        data, solving_chain, inverse = problem.get_problem_data("CLARABEL", solver_opts=settings)
        prepared.append((problem, data, solving_chain, inverse))

    def run(item):
        _, data, solving_chain, _ = item
        try:
            return solving_chain.solver.solve_via_data(data, False, False, dict(settings), None)
        except BaseException as exc:              # noqa: B036 -- a Clarabel panic is a BaseException
            if not solver_crashed(exc):
                raise
            log.debug("CLARABEL (%s) failed in a batch: %s: %s", kind, type(exc).__name__, exc)
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
        first = _noted(Attempt("CLARABEL", kind, status, solve_time, getattr(stats, "num_iters", None),
                               error=None if raw is not None else "the solver call failed"))
        if status in (Status.OPTIMAL, Status.INFEASIBLE, Status.UNBOUNDED):
            outcome = ConicOutcome(status, "CLARABEL", solve_time, prep_share + time.perf_counter() - t0, [first])
        else:
            log.info("CLARABEL (%s) returned %s; retrying", kind, status.value)
            outcome = solve_conic(problem, solver, resume=([first], solve_time), clarabel=clarabel)
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


@dataclass
class RawAnswer:
    """Clarabel's answer to conic data min q'x s.t. b - Ax in K: its status (accurate ones only count as
    optimal/infeasible), primal x, dual z (for an infeasible problem: the Farkas certificate) and objective q'x."""

    status: Status
    x: np.ndarray | None
    z: np.ndarray | None
    objective: float | None
    attempts: list[Attempt] = field(default_factory=list)
    solve_time_s: float = 0.0


def clarabel_cones(dims):
    """Clarabel's cone list for cvxpy ``ConeDims`` (zero, nonnegative, SOC, PSD only)."""
    import clarabel
    if dims.exp or dims.p3d or getattr(dims, "pnd", None):
        raise ValueError("only zero, nonnegative, second-order and PSD cones are supported")
    cones = ([clarabel.ZeroConeT(dims.zero)] if dims.zero else []) + \
        ([clarabel.NonnegativeConeT(dims.nonneg)] if dims.nonneg else [])
    cones += [clarabel.SecondOrderConeT(n) for n in dims.soc]
    return cones + [clarabel.PSDTriangleConeT(n) for n in dims.psd]


_CLARABEL_STATUS = {"Solved": Status.OPTIMAL, "PrimalInfeasible": Status.INFEASIBLE,
                    "DualInfeasible": Status.UNBOUNDED, "AlmostSolved": Status.OPTIMAL_INACCURATE,
                    "AlmostPrimalInfeasible": Status.INFEASIBLE_INACCURATE,
                    "AlmostDualInfeasible": Status.UNBOUNDED_INACCURATE, "MaxTime": Status.NO_SOLUTION}


def solve_conic_data(A, b: np.ndarray, q: np.ndarray, dims, *, deadline: float | None = None) -> RawAnswer:
    """Clarabel on raw conic data (min q'x s.t. b - Ax in K), with Clarabel's rungs of :data:`CONIC_ATTEMPTS` until
    one answers accurately (optimal or infeasible); for callers that need the duals in the data's row order (the
    outer approximation's cuts). The last answer is returned when no rung is accurate."""
    import clarabel
    import scipy.sparse as sp

    deadline = limits.deadline() if deadline is None else deadline
    A = sp.csc_matrix(A)
    P = sp.csc_matrix((A.shape[1], A.shape[1]))
    cones = clarabel_cones(dims)
    out = RawAnswer(Status.ERROR, None, None, None)
    for kind, options in CONIC_ATTEMPTS["CLARABEL"]:
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        for key, value in options.items():
            setattr(settings, key, value)
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                out.attempts.append(_noted(Attempt("CLARABEL", kind, Status.NO_SOLUTION, error="deadline reached")))
                out.status = Status.NO_SOLUTION if out.x is None else out.status
                return out
            settings.time_limit = max(remaining, 1e-3)
        t0 = time.perf_counter()
        try:
            sol = clarabel.DefaultSolver(P, np.asarray(q, float), A, np.asarray(b, float), cones, settings).solve()
        except BaseException as exc:              # noqa: B036 -- a Clarabel panic is a BaseException
            if not solver_crashed(exc):
                raise
            out.attempts.append(_noted(Attempt("CLARABEL", kind, Status.ERROR, time.perf_counter() - t0,
                                               error=f"{type(exc).__name__}: {exc}")))
            continue
        status = _CLARABEL_STATUS.get(str(sol.status).split(".")[-1], Status.ERROR)
        elapsed = float(sol.solve_time)
        out.solve_time_s += elapsed
        out.attempts.append(_noted(Attempt("CLARABEL", kind, status, elapsed, int(sol.iterations))))
        out.status, out.x, out.z = status, np.asarray(sol.x, float), np.asarray(sol.z, float)
        out.objective = float(np.asarray(q, float) @ out.x)
        if status in (Status.OPTIMAL, Status.INFEASIBLE, Status.UNBOUNDED, Status.NO_SOLUTION):
            return out
    return out
