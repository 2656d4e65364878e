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
