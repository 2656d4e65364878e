"""The exact methods as a cvxpy solver (``problem.solve(solver=MISDP)``): a user's own mixed-integer conic model,
with PSD, SOC, exponential cones and a maximization, equals enumeration over its integers for both algorithms."""
import warnings

import cvxpy as cp
import numpy as np
import pytest

from isacopt.algorithms import backends
from isacopt.algorithms.misdp_solver import MISDP
from isacopt.algorithms.result import Status


def beam_model(a):
    """Pick one of three beams (a) for a 2 x 2 PSD covariance; cost tr X + beam price + 1."""
    beams, price = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]), np.array([0.5, 0.1, 0.3])
    X = cp.Variable((2, 2), PSD=True)
    return cp.Problem(cp.Minimize(cp.trace(X) + price @ a + 1.0),
                      [cp.sum(a) == 1] + [beams[k] @ X @ beams[k] >= a[k] for k in range(3)])


def enumerate_optimum(build, choices):
    best = np.inf
    for values in choices:
        p = build(*values)
        outcome = backends.solve_conic(p)
        if outcome.status == Status.OPTIMAL:
            best = min(best, p.value) if p.objective.NAME == "minimize" else min(best, -p.value)
    return best


@pytest.mark.parametrize("algorithm", ["bnb", "oa"])
def test_users_misdp_through_problem_solve_equals_enumeration(algorithm):
    a = cp.Variable(3, boolean=True)
    problem = beam_model(a)
    value = problem.solve(solver=MISDP, algorithm=algorithm)
    best = enumerate_optimum(lambda *z: beam_model(np.array(z, float)), [np.eye(3)[k] for k in range(3)])
    assert problem.status == "optimal" and value == pytest.approx(best, rel=1e-7) and best == pytest.approx(2.1)
    assert a.value == pytest.approx(np.round(a.value)) and a.value.sum() == pytest.approx(1)
    stats = problem.solver_stats.extra_stats
    assert stats["algorithm"] == algorithm and stats["lower_bound"] <= value + 1e-7 <= stats["upper_bound"] + 2e-7


@pytest.mark.parametrize("algorithm", ["bnb"])
def test_exponential_cone_and_bounded_integers(algorithm):
    """min sum_i (exp(x_i) - 2 x_i) over integers in [-3, 3]: 3 (e - 2) at x = 1 (brute force)."""
    x, t = cp.Variable(3, integer=True), cp.Variable(3)
    problem = cp.Problem(cp.Minimize(cp.sum(t) - 2 * cp.sum(x)), [cp.exp(x) <= t, x >= -3, x <= 3])
    value = problem.solve(solver=MISDP, algorithm=algorithm)
    assert problem.status == "optimal"
    assert value == pytest.approx(3 * min(np.exp(k) - 2 * k for k in range(-3, 4)), rel=1e-6)
    assert x.value == pytest.approx(np.ones(3))


def test_maximization_with_soc_and_general_integer():
    """max y + 0.5 k s.t. ||(y, k)|| <= 2.5, y continuous, k integer in [0, 3]: enumeration over k."""
    y, k = cp.Variable(), cp.Variable(integer=True)
    problem = cp.Problem(cp.Maximize(y + 0.5 * k), [cp.SOC(cp.Constant(2.5), cp.hstack([y, k])), k >= 0, k <= 3])
    value = problem.solve(solver=MISDP)
    best = max(np.sqrt(2.5 ** 2 - kk ** 2) + 0.5 * kk for kk in range(0, 3))
    assert problem.status == "optimal" and value == pytest.approx(best, rel=1e-6)


def test_limits_and_bad_settings():
    a = cp.Variable(3, boolean=True)
    with pytest.raises(TypeError, match="unrecognized setting"):
        beam_model(a).solve(solver=MISDP, tolerance=1e-3)
    with pytest.raises(ValueError, match="algorithm must be"):
        beam_model(a).solve(solver=MISDP, algorithm="cutting-planes")
    problem = beam_model(a)
    with warnings.catch_warnings():                          # cvxpy warns on user_limit ("may be inaccurate")
        warnings.simplefilter("ignore", UserWarning)
        problem.solve(solver=MISDP, node_limit=1)           # one node: a point may come back, but no proof
    assert problem.status in ("optimal", "user_limit")
    if problem.status == "user_limit":
        assert problem.solver_stats.extra_stats["termination"] == "node_limit"


@pytest.mark.parametrize("n", [1, 2, 5, 164])
def test_psd_triangle_map_matches_the_backends_unpacking(n):
    """The sparse map of a PSD block's triangle to the full matrix equals psd_unpack (the pinned convention), with
    2 entries per off-diagonal and 1 per diagonal element (n = 164: the k-partitioning block, built in O(n^2))."""
    from isacopt.algorithms.backends.certificate import psd_unpack
    from isacopt.algorithms.misdp_solver import _triangle_to_full
    v = np.random.default_rng(n).standard_normal(n * (n + 1) // 2)
    T = _triangle_to_full(n)
    assert T.nnz == n * n
    assert np.allclose(T @ v, psd_unpack(v, n).ravel(order="F"))
