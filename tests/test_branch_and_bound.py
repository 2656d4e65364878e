"""Branch-and-bound for mixed-integer SDPs: against brute force over every integer assignment (each solved as an
SDP/LP by cvxpy, independently of the search), against HiGHS on pure MILPs, proven infeasibility, honest bounds
under limits and solver failures."""
import itertools
import math

import cvxpy as cp
import numpy as np
import pytest

from isacopt.algorithms import backends
from isacopt.algorithms import branch_and_bound as bnb
from isacopt.algorithms.result import Status


def brute_force(build, assignments):
    """Best objective over ``assignments`` (each: {variable: value}) of the problem with integers fixed; inf if none."""
    best, arg = math.inf, None
    for fixed in assignments:
        problem, sign = build(fixed)
        problem.solve(solver="CLARABEL")
        if problem.status == cp.OPTIMAL and sign * problem.value < best:
            best, arg = sign * problem.value, fixed
        else:
            assert problem.status in (cp.OPTIMAL, cp.INFEASIBLE), problem.status
    return best, arg


# ------------------------------------------------------------------ a knapsack-constrained MISDP family
def knapsack_misdp(seed, n=6, dim=3):
    """min c^T x + tr(X) s.t. X >= A0 - sum x_i A_i, X PSD, w^T x <= cap, x binary (n) or fixed.

    Buying matrix i (cost c_i, weight w_i) lowers the PSD floor of X; returns (build(fixed), x)."""
    rng = np.random.default_rng(seed)
    A = [(lambda M: M @ M.T / dim)(rng.standard_normal((dim, dim))) for _ in range(n)]
    A0 = 1.5 * sum(A) / 2
    c = rng.uniform(0.2, 1.2, n)
    w = rng.uniform(1, 3, n)
    cap = 0.45 * w.sum()

    def build(fixed=None):
        x = cp.Variable(n, boolean=True) if fixed is None else cp.Constant(fixed)
        X = cp.Variable((dim, dim), PSD=True)
        cons = [X >> A0 - sum(x[i] * A[i] for i in range(n)), w @ x <= cap]
        return cp.Problem(cp.Minimize(c @ x + cp.trace(X)), cons), 1.0
    return build, n


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_misdp_equals_brute_force(seed):
    build, n = knapsack_misdp(seed)
    problem, _ = build()
    out = bnb.solve(problem)
    truth, arg = brute_force(build, [np.array(a, float) for a in itertools.product([0, 1], repeat=n)])
    assert out.status == Status.OPTIMAL
    assert out.objective == pytest.approx(truth, rel=1e-6)
    assert out.lower_bound <= truth + 1e-7 * abs(truth) and out.upper_bound >= truth - 1e-7 * abs(truth)
    assert out.gap <= 1e-6
    x = problem.variables()[0] if problem.variables()[0].attributes["boolean"] else problem.variables()[1]
    assert np.array_equal(out.values[x], np.round(out.values[x]))        # integers exact after polishing
    assert out.nodes >= 1 and out.sdp_solves >= out.nodes
    lbs, ubs = [h[2] for h in out.history], [h[3] for h in out.history]
    assert all(b >= a - 1e-12 for a, b in zip(lbs, lbs[1:])), "lower bound must not decrease"
    assert all(b <= a + 1e-12 for a, b in zip(ubs, ubs[1:])), "upper bound must not increase"


def test_maximize_sense_and_bounds_order():
    build, n = knapsack_misdp(3)
    problem, _ = build()
    flipped = cp.Problem(cp.Maximize(-problem.objective.args[0]), problem.constraints)
    out = bnb.solve(flipped)
    truth, _ = brute_force(build, [np.array(a, float) for a in itertools.product([0, 1], repeat=n)])
    assert out.status == Status.OPTIMAL and out.sense == "max"
    assert out.objective == pytest.approx(-truth, rel=1e-6)
    assert out.lower_bound <= out.objective <= out.upper_bound + 1e-12


# ------------------------------------------------------------------ exactly-one groups (association)
def association_misdp(seed, users=4, cells=3, dim=3, capacity=2):
    """Each user picks one cell (a[k] one-hot); cell s pays tr(X_s) with X_s >= sum_k a[k, s] Q_k, at most
    ``capacity`` users per cell, plus a per-pair cost. Returns (build(fixed), a)."""
    rng = np.random.default_rng(seed)
    Q = [[(lambda v: np.outer(v, v))(rng.standard_normal(dim)) for _ in range(cells)] for _ in range(users)]
    cost = rng.uniform(0, 1, (users, cells))
    mix = [(lambda M: M @ M.T / dim)(rng.standard_normal((dim, dim))) for _ in range(cells)]

    def build(fixed=None):
        a = cp.Variable((users, cells), boolean=True) if fixed is None else cp.Constant(fixed)
        X = [cp.Variable((dim, dim), symmetric=True) for _ in range(cells)]
        cons = [cp.sum(a, axis=1) == 1, cp.sum(a, axis=0) <= capacity]
        for s in range(cells):
            cons.append(X[s] >> sum(a[k, s] * Q[k][s] for k in range(users)) + 0.1 * mix[s])
        obj = sum(cp.trace(Xs) for Xs in X) + cp.sum(cp.multiply(cost, a))
        return cp.Problem(cp.Minimize(obj), cons), 1.0
    return build, users, cells


def one_hot_assignments(users, cells):
    for choice in itertools.product(range(cells), repeat=users):
        a = np.zeros((users, cells))
        a[np.arange(users), choice] = 1.0
        yield a


@pytest.mark.parametrize("rule", ["sos1", "fix_one"])
@pytest.mark.parametrize("seed", [0, 1])
def test_groups_equal_brute_force(seed, rule):
    build, users, cells = association_misdp(seed)
    problem, _ = build()
    a = next(v for v in problem.variables() if v.attributes["boolean"])
    groups = [[(a, (k, s)) for s in range(cells)] for k in range(users)]
    out = bnb.solve(problem, groups=groups, group_branching=rule)
    truth, arg = brute_force(build, one_hot_assignments(users, cells))
    assert out.status == Status.OPTIMAL
    assert out.objective == pytest.approx(truth, rel=1e-6)
    chosen = out.values[a]
    assert np.allclose(chosen.sum(axis=1), 1) and set(np.unique(chosen)) <= {0.0, 1.0}
    refit, _ = build(chosen)                          # the returned choice achieves the optimum
    refit.solve(solver="CLARABEL")
    assert refit.value == pytest.approx(truth, rel=1e-6)


def test_group_must_be_implied_by_the_constraints():
    x = cp.Variable(3, boolean=True)
    y = cp.Variable()
    problem = cp.Problem(cp.Minimize(y - cp.sum(x)), [cp.sum(x) <= 1.5, y >= 0])
    with pytest.raises(ValueError, match="sum"):
        bnb.solve(problem, groups=[[(x, i) for i in range(3)]])
    with pytest.raises(ValueError, match="boolean/integer"):
        bnb.solve(problem, groups=[[(y, 0)]])


# ------------------------------------------------------------------ general integers
def test_bounded_integers_equal_brute_force():
    rng = np.random.default_rng(5)
    B = [(lambda M: M + M.T)(rng.standard_normal((3, 3))) for _ in range(3)]
    c = rng.standard_normal(3)

    def build(fixed=None):
        z = cp.Variable(3, integer=True, bounds=[-2, 3]) if fixed is None else cp.Constant(fixed)
        t = cp.Variable()
        cons = [t * np.eye(3) >> sum(z[i] * B[i] for i in range(3)), cp.sum(z) >= 1]
        return cp.Problem(cp.Minimize(t + c @ z), cons), 1.0
    problem, _ = build()
    out = bnb.solve(problem)
    truth, _ = brute_force(build, [np.array(v, float) for v in itertools.product(range(-2, 4), repeat=3)])
    assert out.status == Status.OPTIMAL
    assert out.objective == pytest.approx(truth, rel=1e-6, abs=1e-7)


def test_unbounded_integer_is_branched_with_masks():
    """min (z - 2.6)^2-like SOC objective over an integer without declared bounds: optimum at z = 3."""
    z = cp.Variable(integer=True)
    t = cp.Variable()
    problem = cp.Problem(cp.Minimize(t), [cp.abs(z - 2.6) <= t, z >= -100])
    out = bnb.solve(problem)
    assert out.status == Status.OPTIMAL
    assert out.values[z] == 3.0 and out.objective == pytest.approx(0.4, abs=1e-7)


# ------------------------------------------------------------------ pure MILP against HiGHS
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_milp_agrees_with_highs(seed):
    import pyomo.environ as pyo

    rng = np.random.default_rng(100 + seed)
    n, m, k = 8, 5, 3
    A, G = rng.uniform(0, 1, (m, n)), rng.uniform(0, 1, (m, k))
    b = A.sum(axis=1) * 0.4 + 0.5
    c, d = -rng.uniform(0.5, 1.5, n), -rng.uniform(0.1, 0.5, k)
    x, y = cp.Variable(n, boolean=True), cp.Variable(k, nonneg=True)
    problem = cp.Problem(cp.Minimize(c @ x + d @ y), [A @ x + G @ y <= b, y <= 1])
    out = bnb.solve(problem)

    model = pyo.ConcreteModel()
    model.x = pyo.Var(range(n), domain=pyo.Binary)
    model.y = pyo.Var(range(k), bounds=(0, 1))
    model.obj = pyo.Objective(expr=sum(c[j] * model.x[j] for j in range(n)) + sum(d[j] * model.y[j] for j in range(k)))
    model.rows = pyo.ConstraintList()
    for i in range(m):
        model.rows.add(sum(A[i, j] * model.x[j] for j in range(n)) + sum(G[i, j] * model.y[j] for j in range(k)) <= b[i])
    highs = backends.solve_integer(model)
    assert highs.status == Status.OPTIMAL and out.status == Status.OPTIMAL
    assert out.objective == pytest.approx(highs.objective, rel=1e-6)


# ------------------------------------------------------------------ infeasibility
def test_integer_infeasible_but_relaxation_feasible():
    """[[x0, 0.6], [0.6, x1]] PSD needs x0 x1 >= 0.36, so x0 = x1 = 1, contradicting x0 + x1 <= 1.5."""
    x = cp.Variable(2, boolean=True)
    M = cp.bmat([[x[0], 0.6], [0.6, x[1]]])
    problem = cp.Problem(cp.Minimize(cp.sum(x)), [M >> 0, cp.sum(x) <= 1.5])
    relaxation = bnb.Relaxation(problem)
    outcome, value, _, _ = relaxation.solve(relaxation.lo0, relaxation.hi0, None)
    assert outcome.status == Status.OPTIMAL                     # the root is feasible: a real search is needed
    out = bnb.solve(problem)
    assert out.status == Status.INFEASIBLE and out.objective is None and out.nodes >= 2
    assert math.isinf(out.lower_bound) and out.lower_bound > 0


def test_root_infeasible():
    x = cp.Variable(3, boolean=True)
    out = bnb.solve(cp.Problem(cp.Minimize(cp.sum(x)), [cp.sum(x) >= 4]))
    assert out.status == Status.INFEASIBLE and out.nodes == 1


# ------------------------------------------------------------------ callback, limits, failures
def test_incumbent_callback_supplies_payload():
    build, users, cells = association_misdp(2)
    problem, _ = build()
    a = next(v for v in problem.variables() if v.attributes["boolean"])
    calls = []

    def rounding(values):
        calls.append(1)
        choice = np.argmax(values[a], axis=1)
        fixed = np.zeros((users, cells))
        fixed[np.arange(users), choice] = 1.0
        inner, _ = build(fixed)
        inner.solve(solver="CLARABEL")
        return (inner.value, {"association": choice}) if inner.status == cp.OPTIMAL else None

    out = bnb.solve(problem, groups=[[(a, (k, s)) for s in range(cells)] for k in range(users)],
                    incumbent=rounding)
    truth, arg = brute_force(build, one_hot_assignments(users, cells))
    assert out.status == Status.OPTIMAL and out.objective == pytest.approx(truth, rel=1e-6)
    assert out.values is None and out.incumbent_calls == len(calls) > 0
    refit, _ = build(np.eye(cells)[out.payload["association"]])
    refit.solve(solver="CLARABEL")
    assert refit.value == pytest.approx(truth, rel=1e-6)


def test_node_limit_reports_honest_gap():
    build, n = knapsack_misdp(1, n=10)
    problem, _ = build()
    full = bnb.solve(problem)                   # the exact search itself is checked against brute force above
    truth = full.objective
    assert full.status == Status.OPTIMAL and full.nodes > 2
    out = bnb.solve(problem, node_limit=2)                       # with the rounding/diving heuristics
    assert out.nodes == 2 and out.status == Status.FEASIBLE and any("node limit" in n for n in out.notes)
    assert out.lower_bound <= truth * (1 + 1e-7) <= out.upper_bound * (1 + 2e-7)
    assert out.gap == pytest.approx((out.upper_bound - out.lower_bound) / out.upper_bound) and out.gap > 1e-3
    bare = bnb.solve(problem, node_limit=2, heuristic=False)       # no incumbent at all: LIMIT, infinite gap
    assert bare.status == Status.NO_SOLUTION and bare.objective is None and math.isinf(bare.gap)
    assert bare.lower_bound <= truth * (1 + 1e-7)


def test_solver_failures_keep_the_parent_bound(monkeypatch):
    """Every third relaxation 'fails': the search must still end at the true optimum or admit a gap."""
    build, n = knapsack_misdp(0)
    problem, _ = build()
    truth, _ = brute_force(build, [np.array(a, float) for a in itertools.product([0, 1], repeat=n)])
    real, count = backends.solve_conic, [0]

    def flaky(prob, solver=None, **kwargs):
        count[0] += 1
        if count[0] % 3 == 2:
            return backends.ConicOutcome(Status.ERROR, "CLARABEL", 0.0, 0.0, ["CLARABEL (test): error"])
        return real(prob, solver, **kwargs)

    monkeypatch.setattr(backends, "solve_conic", flaky)
    out = bnb.solve(problem, heuristic=False)
    assert out.lower_bound <= truth * (1 + 1e-7)
    assert out.status in (Status.OPTIMAL, Status.FEASIBLE)
    if out.status == Status.OPTIMAL:
        assert out.objective == pytest.approx(truth, rel=1e-6)
    else:
        assert out.unresolved > 0 and out.upper_bound >= truth * (1 - 1e-7)


def test_time_limit_stops_search():
    build, n = knapsack_misdp(4, n=10)
    problem, _ = build()
    out = bnb.solve(problem, time_limit_s=1e-3)
    assert out.status in (Status.NO_SOLUTION, Status.FEASIBLE) and out.nodes <= 1
    assert any("time limit" in note for note in out.notes)


# ---------------------------------------------------------------------------------------------- unbounded relaxations
def _unbounded_psd():
    """min -x - y s.t. [[x, y], [y, 1]] PSD (y^2 <= x), x >= 0 integer: unbounded along x (integral direction)."""
    x, y, X = cp.Variable(integer=True), cp.Variable(), cp.Variable((2, 2), PSD=True)
    return cp.Problem(cp.Minimize(-y - x), [X[0, 0] == x, X[0, 1] == y, X[1, 1] == 1, x >= 0])


def _infeasible_integers():
    """2 x == 1 has no integer solution; the relaxation is unbounded in y."""
    x, y = cp.Variable(integer=True), cp.Variable()
    return cp.Problem(cp.Minimize(-y), [2 * x == 1, y >= 0])


def _irrational_direction():
    """x2 == sqrt(2) x1 has only the integer point 0 (optimum 0), while the relaxation is unbounded."""
    x = cp.Variable(2, integer=True)
    return cp.Problem(cp.Minimize(-x[0]), [x[1] == np.sqrt(2) * x[0], x[0] >= 0])


@pytest.mark.parametrize("build, expected", [(_unbounded_psd, Status.UNBOUNDED),
                                             (_infeasible_integers, Status.INFEASIBLE),
                                             (_irrational_direction, Status.UNBOUNDED_INACCURATE)])
def test_unbounded_relaxation_is_decided_from_its_recession_direction(build, expected):
    """Unbounded only with a proof (an integral recession direction, checked against the cones, and a feasible
    integer point); infeasible when the feasibility search proves it; otherwise no claim (unbounded_inaccurate)."""
    from isacopt.algorithms import outer_approximation
    for method in (bnb.solve, outer_approximation.solve):       # both exact methods decide it the same way
        out = method(build(), time_limit_s=30)
        assert out.status is expected, (method, out.notes)
        assert out.objective is None and any("relaxation is unbounded" in n for n in out.notes)
