import json

import numpy as np
import pytest

from isacopt.algorithms import verify
from isacopt.algorithms.result import Result, Status


def test_checks_measure_relative_violation():
    assert verify.at_least("sinr", [10.0, 9.0], 10.0).violation() == pytest.approx(0.1)
    assert verify.at_most("power", [1.0, 0.5], 1.0).violation() == pytest.approx(0.0)
    assert verify.close("obj", 2.0, 2.0 + 2e-7).violation() == pytest.approx(1e-7)
    assert verify.at_most("zero bound", 1e-3, 0.0).violation() == pytest.approx(1e-3)


def test_psd_check_flags_indefinite_and_non_hermitian():
    good = np.diag([1.0, 0.0]).astype(complex)
    assert verify.psd("R", good).violation() <= 1e-15
    assert verify.psd("R", np.diag([1.0, -0.1])).violation() == pytest.approx(0.1)
    skew = np.array([[1.0, 0.1j], [0.1j, 1.0]])                # not Hermitian
    assert verify.psd("R", skew).violation() > 0.05


def test_verify_verdict():
    report = verify.verify([verify.at_least("sinr", 10.0 - 1e-9, 10.0), verify.at_most("p", 1.0 + 1e-3, 1.0)])
    assert not report.passed and report.worst == "p" and report.max_violation == pytest.approx(1e-3)
    assert verify.verify([verify.at_least("sinr", 10.0, 10.0)]).passed


def test_result_json_round_trip(tmp_path):
    w = np.array([[1 + 2j, 3 - 1j]])
    r = Result(problem="p", method="m", status=Status.OPTIMAL, objective=0.5, solution={"w": w},
               metrics={"x": np.array([1.0, 2.0]), "nan": float("nan")}, nodes=3)
    data = json.loads(json.dumps(r.to_dict()))
    assert data["solution"]["w"] == {"re": [[1.0, 3.0]], "im": [[2.0, -1.0]]}
    assert data["status"] == "optimal" and data["nodes"] == 3 and "gap" not in data
    assert data["metrics"]["nan"] is None
    back = Result.load(r.save(tmp_path / "r.json"))
    assert back.status is Status.OPTIMAL and np.array_equal(back.solution["w"], w)
    assert Status.OPTIMAL_INACCURATE.inaccurate and not Status.OPTIMAL.inaccurate


@pytest.mark.parametrize("position", [0, 1, 2])
def test_nan_or_infinite_values_fail_wherever_they_stand(position):
    """A NaN compares False with everything: a NaN violation used to pass unless it was the first check."""
    for bad in (float("nan"), float("inf"), -float("inf")):
        checks = [verify.at_most("a", 0.5, 1.0), verify.at_least("b", 2.0, 1.0)]
        checks.insert(position, verify.close("bad", [1.0, bad], 1.0))
        report = verify.verify(checks)
        assert not report.passed and report.worst == "bad" and report.max_violation == float("inf")
    assert not verify.verify([verify.at_most("nan bound", 0.5, float("nan"))]).passed


def test_infinite_bounds_mean_no_bound_on_their_side(recwarn):
    """x <= +inf holds, x <= -inf / x >= +inf / x == inf fail (a claimed bound of inf: none was claimed; measured:
    inf - inf used to give NaN, a RuntimeWarning and a verdict that hung on NaN comparisons)."""
    inf = float("inf")
    assert verify.at_most("crb", [1.0, 2.0], [inf, 4.0]).violation() == pytest.approx(-0.5)
    assert verify.at_least("sinr", 1.0, -inf).violation() == -inf
    for check in (verify.at_most("a", 1.0, -inf), verify.at_least("b", 1.0, inf), verify.close("c", 1.0, inf)):
        assert check.violation() == inf and not verify.verify([check]).passed
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


BASE = dict(problem="p", method="m", objective_name="power", sense="min")
OK = [verify.at_most("p", 1.0, 1.0)]
BROKEN = [verify.at_most("p", 1.1, 1.0)]


def test_finalize_status_rules():
    from isacopt.algorithms.finalize import Assessment, finalize
    from isacopt.algorithms.result import Termination
    ok, broken = Assessment(2.0, {}, OK), Assessment(2.0, {}, BROKEN)
    # an exact method's optimal verified point is optimal; a heuristic's is feasible with its gap ...
    assert finalize(BASE, status=Status.OPTIMAL, assessment=ok).status is Status.OPTIMAL
    h = finalize(BASE, status=Status.OPTIMAL, assessment=ok, proven=False, bound=1.5)
    assert h.status is Status.FEASIBLE and h.gap == pytest.approx(0.25) and (h.lower_bound, h.upper_bound) == (1.5, 2.0)
    assert finalize(BASE, status=Status.OPTIMAL, assessment=ok, proven=False).status is Status.FEASIBLE
    # the assessment's own proven/bound count unless the caller overrides them
    own = finalize(BASE, status=Status.OPTIMAL, assessment=Assessment(2.0, {"m": 1}, OK, proven=False, bound=1.0))
    assert own.status is Status.FEASIBLE and own.lower_bound == 1.0 and own.metrics == {"m": 1}
    # ... and optimal only at a valid bound within the tolerance
    tight = finalize(BASE, status=Status.OPTIMAL, assessment=ok, proven=False, bound=2.0 * (1 - 1e-9))
    assert tight.status is Status.OPTIMAL and tight.gap < 1e-8
    # a bound past the objective (beyond the tolerance) is not a bound: not used, said so
    wrong = finalize(BASE, status=Status.OPTIMAL, assessment=ok, proven=False, bound=2.5)
    assert wrong.status is Status.FEASIBLE and wrong.gap is None and "wrong side" in wrong.notes[-1]
    mx = finalize(dict(BASE, sense="max"), status=Status.OPTIMAL, assessment=ok, proven=False, bound=3.0)
    assert mx.status is Status.FEASIBLE and (mx.lower_bound, mx.upper_bound) == (2.0, 3.0)
    # never upgrade an inaccurate solve; never call an unverified point optimal or feasible
    assert finalize(BASE, status=Status.OPTIMAL_INACCURATE, assessment=ok,
                    bound=2.0).status is Status.OPTIMAL_INACCURATE
    bad = finalize(BASE, status=Status.OPTIMAL, assessment=broken)
    assert bad.status is Status.OPTIMAL_INACCURATE and bad.verified is False and "'p'" in bad.notes[-1]
    assert finalize(BASE, status=Status.OPTIMAL, assessment=broken,
                    proven=False).status is Status.FEASIBLE_INACCURATE
    # no solution: the solver's status and why it stopped, kept apart
    lim = finalize(BASE, status=Status.NO_SOLUTION, termination=Termination.TIME_LIMIT)
    assert lim.status is Status.NO_SOLUTION and lim.termination is Termination.TIME_LIMIT and lim.objective is None
    # a solve that claims a point without an assessment is an error, never a silent success
    claim = finalize(BASE, status=Status.OPTIMAL)
    assert claim.status is Status.ERROR and claim.termination is Termination.SOLVER_FAILURE


def test_old_result_files_load():
    old = {"problem": "p", "method": "m", "status": "limit"}     # written before termination existed
    r = Result.from_dict(old)
    assert r.status is Status.NO_SOLUTION and r.termination.value == "converged"
