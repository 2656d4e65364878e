"""The one AO driver (algorithms/ao.py) in both of its modes, on toy blocks with known answers, and the SCA loop."""
import cvxpy as cp
import numpy as np
import pytest

from isacopt.algorithms import sca
from isacopt.algorithms.ao import FunctionBlock, Step, alternate
from isacopt.algorithms.result import Status, Termination


def _coordinate_blocks(fail_at=None):
    """Block-coordinate descent on f(x, y) = (x - 1)^2 + (y - 2)^2 + x y: each block is the exact minimizer
    of f in one coordinate, so f never increases and the rounds converge to the unique minimizer."""
    calls = {"n": 0}

    def block_x(s):
        calls["n"] += 1
        if fail_at is not None and calls["n"] == fail_at:
            return s, Status.ERROR
        return dict(s, x=1 - s["y"] / 2), Status.OPTIMAL

    def block_y(s):
        return dict(s, y=2 - s["x"] / 2), Status.OPTIMAL
    return [FunctionBlock("x", block_x), FunctionBlock("y", block_y)]


def _merit(s):
    value = (s["x"] - 1) ** 2 + (s["y"] - 2) ** 2 + s["x"] * s["y"]
    return value, {"x": s["x"], "y": s["y"]}


def test_merit_mode_converges_monotonically_to_the_minimizer():
    out = alternate({"x": 5.0, "y": -3.0}, _coordinate_blocks(), merit=_merit, tol=1e-12, max_iter=200)
    assert out.converged and out.monotone and out.status is Status.OPTIMAL
    # the stationary point: 2(x - 1) + y = 0, 2(y - 2) + x = 0 -> x = 0, y = 2
    assert out.state["x"] == pytest.approx(0.0, abs=1e-5) and out.state["y"] == pytest.approx(2.0, abs=1e-5)
    merits = [h["merit"] for h in out.history]
    assert merits[0] > merits[-1] and np.all(np.diff(merits) <= 1e-12)
    assert len(out.history) == out.iterations + 1 and out.solves == 2 * out.iterations


def test_a_failed_block_keeps_the_last_full_round():
    """The x block fails in round 3: the kept state is round 2's (whose merit the history records last), not the
    half-updated one; termination solver_failure, the failing status reported."""
    out = alternate({"x": 5.0, "y": -3.0}, _coordinate_blocks(fail_at=3), merit=_merit, tol=0.0, max_iter=10)
    assert out.termination is Termination.SOLVER_FAILURE and out.status is not Status.OPTIMAL
    assert out.iterations == 2 and out.history[-1]["iteration"] == 2
    assert _merit(out.state)[0] == out.objective == out.history[-1]["merit"]
    assert "keeping round 2" in out.notes[-1]


def test_iteration_limit_and_unchecked_monotonicity():
    out = alternate({"x": 5.0, "y": -3.0}, _coordinate_blocks(), merit=_merit, tol=0.0, max_iter=3, slack=None)
    assert out.termination is Termination.ITERATION_LIMIT and out.iterations == 3 and out.monotone is None


class _Judged:
    """Judged mode: block 'a' reports -(b - 1)^2 for the budget b, block 'b' moves b halfway to 1."""

    def __init__(self, name, worsen_at=None):
        self.name, self.worsen_at, self.calls = name, worsen_at, 0

    def solve(self, b):
        self.calls += 1
        if self.name == "a":
            return Step(b, -(b - 1.0) ** 2, Status.OPTIMAL)
        if self.calls == self.worsen_at:
            return Step(b + 10.0, None, Status.OPTIMAL)
        return Step((b + 1.0) / 2, None, Status.OPTIMAL)


def test_judged_mode_stops_after_the_first_block_and_flags_a_worsening():
    out = alternate(3.0, [_Judged("a"), _Judged("b")], sense="max", floor=1.0, tol=1e-9, max_iter=100)
    assert out.converged and out.monotone and out.objective == pytest.approx(0.0, abs=1e-8)
    steps = [h["step"] for h in out.history]
    assert steps[-1] == "a" and steps.count("a") == steps.count("b") + 1       # settled after a: b is not run
    bad = alternate(3.0, [_Judged("a"), _Judged("b", worsen_at=2)], sense="max", floor=1.0, tol=1e-9, max_iter=100)
    assert bad.monotone is False and any("got worse at round 3" in n for n in bad.notes)


def test_a_non_judged_block_that_is_not_optimal_ends_the_rounds():
    class Inaccurate(_Judged):
        def solve(self, b):
            return Step(b, None, Status.OPTIMAL_INACCURATE)
    out = alternate(3.0, [_Judged("a"), Inaccurate("b")], sense="max", floor=1.0, tol=1e-9, max_iter=10)
    assert out.termination is Termination.SOLVER_FAILURE and out.iterations == 1 and out.objective == -4.0


def test_sca_on_a_concave_constraint_is_feasible_and_monotone():
    """min (x - 2)^2 + (y - 2)^2 s.t. x^2 + y^2 >= 1 (outside the unit disc, nonconvex) from (3, 0.1): the
    linearized constraint 2 x0 x + 2 y0 y - (x0^2 + y0^2) >= 1 is an inner approximation, so every iterate is
    feasible and the objective never increases; the optimum (2, 2) is interior, reached in a few rounds."""
    x, y = cp.Variable(), cp.Variable()
    p0 = cp.Parameter(2)
    c0 = cp.Parameter()
    problem = cp.Problem(cp.Minimize(cp.square(x - 2) + cp.square(y - 2)), [2 * p0 @ cp.hstack([x, y]) - c0 >= 1])

    def surrogate(point):
        p0.value, c0.value = np.asarray(point, float), float(np.dot(point, point))
        return problem
    out = sca.successive_convex_approximation((3.0, 0.1), surrogate, lambda: (float(x.value), float(y.value)),
                                              max_iter=20, tol=1e-9)
    assert out.note is None and np.all(np.diff(out.history) <= 1e-9)
    assert np.hypot(*out.point) >= 1 - 1e-7 and out.point == pytest.approx((2.0, 2.0), abs=1e-5)
