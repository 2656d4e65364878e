import itertools

import cvxpy as cp
import numpy as np
import pyomo.environ as pyo
import pytest

from conftest import solver_params
from instances import conic
from isacopt.algorithms import backends
from isacopt.algorithms.result import Status
from isacopt.errors import SolverUnavailable, UnknownNameError

# relative accuracy each solver is held to on the instance library (SCS is first-order)
ACCURACY = {"CLARABEL": 1e-7, "MOSEK": 1e-7, "SCS": 1e-4, "SCHUR": 1e-7}


@pytest.mark.parametrize("solver", solver_params(backends.CONIC_SOLVERS))
@pytest.mark.parametrize("name", sorted(conic.FEASIBLE))
def test_conic_instances_known_optimum(solver, name):
    problem, value, duals = conic.FEASIBLE[name]()
    outcome = backends.solve_conic(problem, solver, fallback=False)
    # SCHUR hands problems without its standard form (SOC, LMIs) to Clarabel's ladder without trying
    answered = solver if solver != "SCHUR" or backends.conic.schur_applies(problem, cost=False) else "CLARABEL"
    assert outcome.status is Status.OPTIMAL and outcome.solver == answered, outcome.attempts
    tol = ACCURACY[solver]
    assert problem.value == pytest.approx(value, rel=tol, abs=tol)
    for c in problem.constraints:           # primal feasibility, re-evaluated by cvxpy from the variable values
        assert np.max(c.violation()) <= 10 * tol
    for index, dual in duals.items():
        assert float(problem.constraints[index].dual_value) == pytest.approx(dual, rel=10 * tol, abs=10 * tol)


@pytest.mark.parametrize("solver", solver_params(backends.CONIC_SOLVERS))
def test_conic_infeasible_is_reported(solver):
    problem, _, _ = conic.infeasible_lp()
    assert backends.solve_conic(problem, solver, fallback=False).status is Status.INFEASIBLE


def test_inaccurate_solve_is_retried_and_reported(monkeypatch):
    """A first attempt that cannot converge (2 iterations) must not be reported as optimal: retry, and say so."""
    attempts = dict(backends.CONIC_ATTEMPTS)
    attempts["CLARABEL"] = [("starved", dict(max_iter=2))] + attempts["CLARABEL"]
    monkeypatch.setattr(backends.conic, "CONIC_ATTEMPTS", attempts)
    problem, value, _ = conic.lovasz_theta_c5()
    outcome = backends.solve_conic(problem, "clarabel")
    assert outcome.status is Status.OPTIMAL
    assert str(outcome.attempts[0]).startswith("CLARABEL (starved)") and "optimal" not in str(outcome.attempts[0]).split(": ")[1][:7]
    assert len(outcome.attempts) >= 2 and outcome.notes
    assert problem.value == pytest.approx(value, rel=1e-7)


def test_only_inaccurate_attempts_stay_inaccurate(monkeypatch):
    monkeypatch.setattr(backends.conic, "CONIC_ATTEMPTS", {**backends.CONIC_ATTEMPTS,
                                                     "CLARABEL": [("starved", dict(max_iter=2))]})
    problem, _, _ = conic.lovasz_theta_c5()
    outcome = backends.solve_conic(problem, "clarabel", fallback=False)
    assert outcome.status is not Status.OPTIMAL


UNREACHABLE = dict(tol_feas=1e-16, tol_gap_abs=1e-16, tol_gap_rel=1e-16, max_iter=60)   # ends AlmostSolved


def _raw_solve(problem, settings):
    data, chain, inverse = problem.get_problem_data("CLARABEL", solver_opts=settings)
    raw = chain.solve_via_data(problem, data, False, False, settings)
    problem.unpack_results(raw, chain, inverse)
    return data, raw


@pytest.mark.parametrize("name", sorted(conic.FEASIBLE))
def test_dual_bound_of_an_inaccurate_solve_is_valid(name):
    """Weak duality with the residual term: the bound from an AlmostSolved iterate is on the right side of the known
    optimum (below for Minimize, above for Maximize) and close to it."""
    problem, value, _ = conic.FEASIBLE[name]()
    data, raw = _raw_solve(problem, UNREACHABLE)
    bound = backends.problem_dual_bound(problem, data, raw)
    assert bound is not None
    if isinstance(problem.objective, cp.Maximize):
        assert bound >= value - 1e-12
    else:
        assert bound <= value + 1e-12
    assert bound == pytest.approx(value, rel=1e-3)


@pytest.mark.parametrize("name", sorted(conic.FEASIBLE))
def test_dual_bound_stays_valid_for_perturbed_dual_points(name):
    """Any dual point gives a valid bound after the projection onto K* (this fails if the cone layout or the PSD
    scaling used by the projection is wrong): heavily perturbed iterates never cross the optimum."""
    import types
    problem, value, _ = conic.FEASIBLE[name]()
    data, raw = _raw_solve(problem, dict(backends.conic._TOL))
    sign = -1.0 if isinstance(problem.objective, cp.Maximize) else 1.0
    offset = sign * problem.value - raw.obj_val
    rng = np.random.default_rng(7)
    z0 = np.asarray(raw.z)
    for _ in range(50):
        z = z0 * rng.uniform(0.3, 1.7, z0.size) + 0.3 * rng.standard_normal(z0.size)
        fake = types.SimpleNamespace(x=raw.x, z=z)
        bound = backends.safe_dual_bound(data, fake)
        assert bound is None or bound + offset <= sign * value + 1e-9


def test_psd_triangle_convention_matches_the_solver():
    """The PSD block of Clarabel's dual vector, unpacked by psd_unpack, is the dual matrix cvxpy reports for X >> 0
    (this pins the triangle order and the sqrt 2 scaling the projection relies on); pack inverts unpack; the
    projection leaves a dual point in the cone unchanged and moves an outside point into it."""
    rng = np.random.default_rng(3)
    B = rng.standard_normal((4, 4))
    M = B + B.T
    X = cp.Variable((4, 4), symmetric=True)
    con = X >> 0
    problem = cp.Problem(cp.Minimize(cp.trace(M @ X)), [con, cp.trace(X) == 1])
    data, raw = _raw_solve(problem, dict(backends.conic._TOL))
    dims = data["dims"]
    assert dims.psd == [4] and not dims.soc
    start = dims.zero + dims.nonneg
    S = backends.psd_unpack(np.asarray(raw.z)[start:start + 10], 4)
    assert np.allclose(S, con.dual_value, atol=1e-8) and np.allclose(S, M - np.linalg.eigvalsh(M)[0] * np.eye(4),
                                                                      atol=1e-7)
    v = rng.standard_normal(10)
    assert np.allclose(backends.psd_pack(backends.psd_unpack(v, 4)), v)
    z = np.asarray(raw.z, float)
    assert np.allclose(backends.certificate._project_dual_cone(z, dims), z, atol=1e-12)
    outside = z.copy()
    outside[start:start + 10] = backends.psd_pack(-np.eye(4) + 0.1 * M)
    projected = backends.certificate._project_dual_cone(outside, dims)[start:start + 10]
    w_out, w_in = np.linalg.eigvalsh(-np.eye(4) + 0.1 * M), np.linalg.eigvalsh(backends.psd_unpack(projected, 4))
    assert w_out.min() < 0 and w_in.min() >= -1e-12
    assert np.allclose(np.sort(w_in), np.sort(np.maximum(w_out, 0.0)), atol=1e-12)      # the nearest PSD matrix


def test_solve_conic_keeps_the_dual_bound_instead_of_retrying(monkeypatch):
    monkeypatch.setattr(backends.conic, "CONIC_ATTEMPTS", {**backends.CONIC_ATTEMPTS,
                                                     "CLARABEL": [("unreachable", UNREACHABLE), ("precise", backends.conic._TOL)]})
    problem, value, _ = conic.lovasz_theta_c5()
    outcome = backends.solve_conic(problem, "clarabel", dual_bound=True)
    assert outcome.status is Status.OPTIMAL_INACCURATE and len(outcome.attempts) == 1
    assert outcome.dual_bound >= value - 1e-12 and "tight dual bound" in str(outcome.attempts[0])
    plain = backends.solve_conic(problem, "clarabel")                   # without it: the ladder goes on
    assert plain.status is Status.OPTIMAL and plain.dual_bound is None and len(plain.attempts) == 2


@pytest.mark.parametrize("name", ["socp", "lovasz_theta_c5"])
def test_without_an_accurate_attempt_the_best_dual_bound_and_its_point_are_returned(monkeypatch, name):
    """Two attempts that both stop short: the better bound is kept with its own point (also for a PSD variable,
    whose approximate value need not be exactly PSD)."""
    starved = [("short", dict(max_iter=60, tol_feas=1e-16, tol_gap_abs=1e-16, tol_gap_rel=1e-16,
                              reduced_tol_gap_abs=1e-1, reduced_tol_gap_rel=1e-1, reduced_tol_feas=1e-1)),
               ("shorter", dict(max_iter=3, tol_feas=1e-16, tol_gap_abs=1e-16, tol_gap_rel=1e-16,
                                reduced_tol_gap_abs=10.0, reduced_tol_gap_rel=10.0, reduced_tol_feas=10.0,
                                reduced_tol_ktratio=10.0))]
    monkeypatch.setattr(backends.conic, "TIGHT_BOUND", 0.0)                       # never tight: run both
    problem, value, _ = conic.FEASIBLE[name]()
    alone = []
    for rung in starved:                                                   # each attempt's bound on its own
        monkeypatch.setattr(backends.conic, "CONIC_ATTEMPTS", {**backends.CONIC_ATTEMPTS, "CLARABEL": [rung]})
        alone.append(backends.solve_conic(problem, "clarabel", fallback=False, dual_bound=True).dual_bound)
    monkeypatch.setattr(backends.conic, "CONIC_ATTEMPTS", {**backends.CONIC_ATTEMPTS, "CLARABEL": starved})
    outcome = backends.solve_conic(problem, "clarabel", fallback=False, dual_bound=True)
    assert outcome.status is Status.OPTIMAL_INACCURATE and len(outcome.attempts) == 2
    maximize = isinstance(problem.objective, cp.Maximize)
    known = [b for b in alone if b is not None]
    assert known and outcome.dual_bound == (min(known) if maximize else max(known))          # the better one
    assert outcome.dual_bound is not None and (outcome.dual_bound >= value - 1e-12 if maximize
                                               else outcome.dual_bound <= value + 1e-12)
    assert all(v.value is not None for v in problem.variables())


def test_solver_names_and_availability():
    table = {i.name: i for i in backends.solver_table()}
    assert set(table) == set(backends.CONIC_SOLVERS + backends.INTEGER_SOLVERS)
    assert table["CLARABEL"].usable and table["HIGHS"].usable       # the licence-free default path
    with pytest.raises(UnknownNameError, match="unknown solver 'cplex'"):
        backends.require_usable("cplex", "conic")
    with pytest.raises(UnknownNameError, match="integer"):
        backends.require_usable("clarabel", "integer")
    for info in table.values():
        if not info.usable:
            with pytest.raises(SolverUnavailable):
                backends.require_usable(info.name, info.kind)


def _knapsack(weights, values, capacity):
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(len(weights)), domain=pyo.Binary)
    m.obj = pyo.Objective(expr=sum(v * m.x[i] for i, v in enumerate(values)), sense=pyo.maximize)
    m.cap = pyo.Constraint(expr=sum(w * m.x[i] for i, w in enumerate(weights)) <= capacity)
    return m


@pytest.mark.parametrize("solver", solver_params(backends.INTEGER_SOLVERS))
def test_integer_knapsack_matches_enumeration(solver, rng):
    weights, values = rng.integers(1, 20, 12), rng.integers(1, 30, 12)
    capacity = int(weights.sum() // 3)
    best = max(sum(v for v, b in zip(values, bits) if b) for bits in itertools.product((0, 1), repeat=12)
               if sum(w for w, b in zip(weights, bits) if b) <= capacity)
    m = _knapsack(weights, values, capacity)
    out = backends.solve_integer(m, solver)
    assert out.status is Status.OPTIMAL and out.solver == solver
    assert out.objective == pytest.approx(best) and out.gap <= 1e-9
    chosen = [i for i in range(12) if pyo.value(m.x[i]) > 0.5]       # the loaded incumbent is feasible and optimal
    assert sum(weights[chosen]) <= capacity and sum(values[chosen]) == best


@pytest.mark.parametrize("solver", solver_params(backends.INTEGER_SOLVERS))
def test_integer_infeasible(solver):
    m = _knapsack([3, 4], [1, 1], 10)
    m.need = pyo.Constraint(expr=m.x[0] + m.x[1] >= 3)
    assert backends.solve_integer(m, solver).status is Status.INFEASIBLE


@pytest.mark.skipif(backends.solver_info("GUROBI").availability is not backends.Availability.SIZE_LIMITED,
                    reason="needs the size-limited Gurobi licence of pip's gurobipy")
def test_size_limited_gurobi_falls_back_to_highs():
    n = 2500                                                          # beyond the 2000-variable limit
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(n), domain=pyo.Binary)
    m.obj = pyo.Objective(expr=sum(m.x[i] for i in range(n)), sense=pyo.maximize)
    m.c = pyo.Constraint(range(n // 2), rule=lambda m, i: m.x[2 * i] + m.x[2 * i + 1] <= 1)
    out = backends.solve_integer(m, "gurobi")
    assert out.status is Status.OPTIMAL and out.solver == "HIGHS" and out.objective == pytest.approx(n // 2)
    assert any("size-limited" in note for note in out.notes)


def test_restoring_an_approximate_psd_point_is_allowed():
    """The bench crash this guards against: an interior-point iterate of a PSD variable with an eigenvalue of
    -1e-4 (seen on a stalled node) must be restorable as the point that goes with a dual bound."""
    X = cp.Variable((2, 2), PSD=True)
    problem = cp.Problem(cp.Minimize(cp.trace(X)), [X >> 0])
    almost = np.array([[1.0, 0.0], [0.0, -1e-4]])
    with pytest.raises(ValueError):
        X.value = almost
    backends.conic._restore(problem, {X: almost})
    assert np.array_equal(X.value, almost)


def _shared_template():
    """One DPP template (a parametrized SDP) bound to several right-hand sides: the shape solve_conic_batch serves."""
    X = cp.Variable((3, 3), PSD=True)
    C = cp.Parameter((3, 3), symmetric=True)
    cap = cp.Parameter(nonneg=True)
    problem = cp.Problem(cp.Minimize(cp.trace(C @ X)), [cp.trace(X) == cap, X[0, 1] >= 0.1])
    return problem, C, cap, X


def _batch_jobs(problem, C, cap, X, rng, count=4):
    jobs = []
    for _ in range(count):
        G = rng.standard_normal((3, 3))
        Cv, capv = G + G.T, float(rng.uniform(1.0, 3.0))

        def bind(Cv=Cv, capv=capv):
            C.value, cap.value = Cv, capv
            return problem

        jobs.append((bind, lambda: (np.array(X.value), problem.value)))
    return jobs


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_batch_matches_one_by_one_solves(workers, rng):
    """Threads change nothing: each job's point and value equal a plain solve_conic of the same binding."""
    template = _shared_template()
    jobs = _batch_jobs(*template, rng)
    batch = backends.solve_conic_batch(jobs, "CLARABEL", workers=workers)
    problem, X = template[0], template[3]
    for (bind, _), (outcome, (x, value)) in zip(jobs, batch):
        reference = backends.solve_conic(bind(), "CLARABEL")
        assert outcome.status is reference.status is Status.OPTIMAL
        assert value == pytest.approx(problem.value, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(x, X.value, rtol=0, atol=1e-12)
        assert np.linalg.eigvalsh(x).min() >= -1e-9 and x[0, 1] >= 0.1 - 1e-9   # feasibility, checked in NumPy


def test_batch_continues_an_inaccurate_first_attempt_on_the_ladder(monkeypatch, rng):
    attempts = dict(backends.CONIC_ATTEMPTS)
    attempts["CLARABEL"] = [("starved", dict(max_iter=2))] + attempts["CLARABEL"]
    monkeypatch.setattr(backends.conic, "CONIC_ATTEMPTS", attempts)
    template = _shared_template()
    jobs = _batch_jobs(*template, rng, count=2)
    for (bind, _), (outcome, (x, value)) in zip(jobs, backends.solve_conic_batch(jobs, "CLARABEL", workers=2)):
        assert outcome.status is Status.OPTIMAL
        assert str(outcome.attempts[0]).startswith("CLARABEL (starved)") and len(outcome.attempts) >= 2
        monkeypatch.setattr(backends.conic, "CONIC_ATTEMPTS", {**attempts, "CLARABEL": attempts["CLARABEL"][1:]})
        reference = backends.solve_conic(bind(), "CLARABEL")
        monkeypatch.setattr(backends.conic, "CONIC_ATTEMPTS", attempts)
        assert reference.status is Status.OPTIMAL and value == pytest.approx(template[0].value, rel=1e-9)


def test_batch_continues_when_a_first_attempt_fails_in_unpacking(monkeypatch, rng):
    """A first attempt whose unpacking raises (cvxpy does so for a failure status, e.g. Clarabel's NumericalError)
    is an ERROR on the ladder, not a crash of the batch: that job goes on to the second rung and still gets its
    own optimum, the other jobs are untouched."""
    template = _shared_template()
    jobs = _batch_jobs(*template, rng, count=3)
    original, calls = cp.Problem.unpack_results, []

    def unpack_failing_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:                                            # the second job's batch unpacking
            raise cp.error.SolverError("Solver 'CLARABEL' failed")
        return original(self, *args, **kwargs)
    monkeypatch.setattr(cp.Problem, "unpack_results", unpack_failing_once)
    batch = backends.solve_conic_batch(jobs, "CLARABEL", workers=2)
    monkeypatch.setattr(cp.Problem, "unpack_results", original)
    for j, ((bind, _), (outcome, (x, value))) in enumerate(zip(jobs, batch)):
        assert outcome.status is Status.OPTIMAL
        assert str(outcome.attempts[0]) == ("CLARABEL (precise): error" if j == 1 else "CLARABEL (precise): optimal")
        assert len(outcome.attempts) == (2 if j == 1 else 1)
        reference = backends.solve_conic(bind(), "CLARABEL")
        assert value == pytest.approx(template[0].value, rel=1e-9)
        np.testing.assert_allclose(x, template[3].value, atol=1e-7)


@pytest.mark.parametrize("workers", [1, 2])
def test_tuned_first_attempt_then_the_full_ladder(workers, rng):
    """``clarabel=`` settings add one first attempt ("tuned"); when it falls short (here starved of iterations) the
    standard ladder runs from its first rung, so tuning can only add robustness."""
    assert [k for k, _ in backends.conic_attempts("CLARABEL", {"max_iter": 2})] == \
        ["tuned"] + [k for k, _ in backends.CONIC_ATTEMPTS["CLARABEL"]]
    assert backends.conic_attempts("SCS", {"max_iter": 2}) == backends.CONIC_ATTEMPTS["SCS"]
    template = _shared_template()
    jobs = _batch_jobs(*template, rng, count=2)
    for (bind, _), (outcome, (x, value)) in zip(jobs, backends.solve_conic_batch(jobs, "CLARABEL", workers=workers,
                                                                                clarabel={"max_iter": 2})):
        assert outcome.status is Status.OPTIMAL and str(outcome.attempts[0]).startswith("CLARABEL (tuned): ")
        assert str(outcome.attempts[0]) != "CLARABEL (tuned): optimal" and str(outcome.attempts[1]).startswith("CLARABEL (precise)")
        reference = backends.solve_conic(bind(), "CLARABEL")
        assert list(map(str, reference.attempts)) == ["CLARABEL (precise): optimal"] and value == pytest.approx(template[0].value, rel=1e-9)


@pytest.mark.parametrize("raw, message", [("0", "positive integer"), ("two", "positive integer")])
def test_thread_count_from_the_environment(monkeypatch, raw, message):
    monkeypatch.setenv("ISACOPT_THREADS", raw)
    with pytest.raises(UnknownNameError, match=message):
        backends.conic_workers(4)
    monkeypatch.setenv("ISACOPT_THREADS", "8")
    assert backends.conic_workers(3) == 3
    monkeypatch.setenv("ISACOPT_THREADS", "1")
    assert backends.conic_workers(3) == 1


class PanicException(BaseException):
    """Stands for pyo3's ``pyo3_runtime.PanicException``: a Rust panic surfaces in Python as a BaseException."""


def _panic_first_calls(monkeypatch, count: int, exc: type[BaseException] = PanicException):
    """Make the first ``count`` Clarabel calls raise ``exc`` (as Clarabel's PSD cone does on ``SVD error: SVD(1)``)."""
    from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import CLARABEL
    original, calls = CLARABEL.solve_via_data, []

    def panicking(self, *args, **kwargs):
        calls.append(1)
        if len(calls) <= count:
            raise exc("SVD error: SVD(1)")
        return original(self, *args, **kwargs)
    monkeypatch.setattr(CLARABEL, "solve_via_data", panicking)
    return calls


def test_a_solver_panic_is_a_failed_attempt_and_the_ladder_goes_on(monkeypatch):
    """A Clarabel panic escapes ``except Exception``; the ladder must record it as an ERROR attempt (with the panic's
    message) and the next rung must answer with the true optimum."""
    problem, value, _ = conic.FEASIBLE[sorted(conic.FEASIBLE)[0]]()
    _panic_first_calls(monkeypatch, 1)
    outcome = backends.solve_conic(problem, "clarabel")
    assert outcome.status is Status.OPTIMAL and problem.value == pytest.approx(value, rel=1e-7, abs=1e-7)
    first, last = outcome.attempts[0], outcome.attempts[-1]
    assert first.status is Status.ERROR and "PanicException: SVD error" in first.error and first.rung == "precise"
    assert len(outcome.attempts) >= 2 and last.status is Status.OPTIMAL and last.error is None
    assert outcome.notes[0].startswith("solver attempts: CLARABEL (precise): error; CLARABEL (refined): ")


def test_a_panic_in_a_batch_thread_is_a_failed_first_attempt(monkeypatch, rng):
    template = _shared_template()
    jobs = _batch_jobs(*template, rng, count=3)
    _panic_first_calls(monkeypatch, 1)
    batch = backends.solve_conic_batch(jobs, "CLARABEL", workers=2)
    errors = [o for o, _ in batch if o.attempts[0].status is Status.ERROR]
    assert len(errors) == 1 and all(o.status is Status.OPTIMAL for o, _ in batch)


def test_keyboard_interrupt_is_never_swallowed_by_the_ladder(monkeypatch):
    problem, _, _ = conic.FEASIBLE[sorted(conic.FEASIBLE)[0]]()
    _panic_first_calls(monkeypatch, 1, KeyboardInterrupt)
    with pytest.raises(KeyboardInterrupt):
        backends.solve_conic(problem, "clarabel")


def test_a_passed_deadline_starts_no_attempt():
    import time
    problem, _, _ = conic.FEASIBLE[sorted(conic.FEASIBLE)[0]]()
    outcome = backends.solve_conic(problem, deadline=time.perf_counter() - 1.0)
    assert outcome.status is Status.NO_SOLUTION and len(outcome.attempts) == 1
    assert outcome.attempts[0].error == "deadline reached"
