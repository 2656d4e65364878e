"""Every registered problem x method on a small instance, through the CLI: the status is legal for the kind of
method, every solution is verified, the JSON round-trips, the CLI exits 0. A problem without an entry in SMALL
fails the test (a new paper cannot land uncovered); a new method of a covered problem is run automatically."""
import json

import pytest

from isacopt import registry
from isacopt.algorithms.result import GAP_TOLERANCE, Result, Status

#: Per problem: CLI arguments that make a small, fast instance (shipped scenario + overrides).
SMALL = {
    "detection": ["--set", "tx_antennas=8", "--set", "rx_antennas=8"],
    "localization": ["--set", "tx_antennas=8", "--set", "users_per_bs=2"],
    "misdp": ["--scenario", "example_small_cbf"],
    "cluster-size": ["--set", "tx_antennas=12"],
    "robust-precoding": ["--set", "users_per_bs=2", "--set", "tx_antennas=4", "--set", "rx_antennas=4",
                         "--set", "frame_length=4", "--set", "max_iterations=2", "--set", "polish_iterations=2",
                         "--set", "error_samples=20"],
    "bs-selection": ["--set", "num_bs=3", "--set", "num_users=2", "--set", "tx_antennas=4"],
}
#: What a solve may return: a solution (optimal or feasible), or a proof that none exists.
LEGAL = {Status.OPTIMAL, Status.FEASIBLE, Status.INFEASIBLE}


def test_every_registered_problem_has_a_small_instance():
    assert set(registry.PROBLEMS) <= set(SMALL), f"add a small instance for {set(registry.PROBLEMS) - set(SMALL)}"


CASES = [(p, m) for p in registry.PROBLEMS for m in registry.PROBLEMS[p].methods]


@pytest.mark.parametrize("problem, method", CASES, ids=[f"{p}/{m}" for p, m in CASES])
def test_method_conforms(cli, tmp_path, problem, method):
    out_file = tmp_path / "result.json"
    out = cli("solve", problem, "--method", method, *SMALL.get(problem, []), "--out", out_file)
    assert out.returncode == 0, out.stderr
    data = json.loads(out_file.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    r = Result.from_dict(data)
    assert r.problem == problem and r.method == method
    assert r.status in LEGAL, (r.status, r.notes)
    assert Result.from_dict(json.loads(json.dumps(r.to_dict()))).to_dict() == r.to_dict()
    if r.status.has_solution:
        assert r.verified is True and r.objective is not None, r.notes
    if r.status is Status.OPTIMAL and not registry.PROBLEMS[problem].methods[method].proves:
        assert r.gap is not None and r.gap <= GAP_TOLERANCE, (r.gap, r.notes)   # a heuristic met a valid bound
    if r.status.has_solution and registry.PROBLEMS[problem].recheck is not None:     # `run.py verify` agrees
        check = cli("verify", out_file)
        assert check.returncode == 0 and "holds" in check.stdout, (check.stdout, check.stderr)
    if registry.PROBLEMS[problem].methods[method].solver_kind == "conic":
        # every conic attempt of the run, tabulated; a recorded solve count cannot exceed the attempts made
        assert r.solver_calls and all(c["count"] >= 1 and c["time_s"] >= 0 for c in r.solver_calls), r.solver_calls
        assert (r.sdp_solves or 0) <= sum(c["count"] for c in r.solver_calls), (r.sdp_solves, r.solver_calls)
    if r.gap is not None and r.status.has_solution:                 # the bounds bracket the objective
        slack = 1e-9 * max(1.0, abs(r.objective))
        assert r.lower_bound <= r.objective + slack and r.objective <= r.upper_bound + slack


def test_paper_models_implement_the_algorithm_protocols(tmp_path):
    """Each paper's model is one of the three kinds in algorithms/protocols.py (structural checks), and the SDR
    driver refuses anything else with a clear error."""
    import numpy as np

    from isacopt.algorithms.protocols import AlternatingHeuristic, MixedIntegerConicModel, RelaxationModel
    from isacopt.algorithms.sdr import solve_relaxation
    from isacopt.data.loader import load_scenario
    from isacopt.models import bs_selection as bs, detection as d, localization as lz

    rng = np.random.default_rng(0)
    det, _ = load_scenario(d.DetectionScenario, "detection", None, "detection_k1")
    loc, _ = load_scenario(lz.LocalizationScenario, "localization", None, "localization_table1")
    assert isinstance(d.DetectionModel(d.draw_instance(det, rng), "sdr"), RelaxationModel)
    assert isinstance(lz.LocalizationModel(lz.draw_instance(loc, rng), "sdr", rng), RelaxationModel)
    sel, _ = load_scenario(bs.BSSelectionScenario, "bs-selection", None, "bs_selection", values=dict(
        num_bs=3, num_users=2, tx_antennas=4))
    inst = bs.draw_instance(sel, rng)
    assert isinstance(bs.MixedIntegerModel(inst), MixedIntegerConicModel)
    assert isinstance(bs.PenaltyAO(inst), AlternatingHeuristic)
    with pytest.raises(TypeError, match="is not a RelaxationModel"):
        solve_relaxation(object())


def _tampered(path, tmp_path, edit):
    data = json.loads(path.read_text())
    edit(data)
    out = tmp_path / "edited.json"
    out.write_text(json.dumps(data))
    return out


def test_run_py_verify_fails_a_hand_edited_result(cli, tmp_path):
    """The original passes; an edited objective, beams scaled x10, an edited channel or scenario field fail (exit 3)."""
    import numpy as np

    from isacopt import verify as verify_stored
    original = tmp_path / "r.json"
    assert cli("solve", "detection", *SMALL["detection"], "--out", original).returncode == 0
    assert cli("verify", original).returncode == 0 and verify_stored(original).passed

    def scale_beams(d):
        d["solution"]["w"] = {k: (10 * np.asarray(v)).tolist() for k, v in d["solution"]["w"].items()}

    def edit_channel(d):
        d["channels"]["h"]["re"][0][0][0][0] += 0.5 * abs(d["channels"]["h"]["re"][0][0][0][0]) + 1e-6

    edits = {"objective": lambda d: d.update(objective=d["objective"] * 1.01), "beams": scale_beams,
             "channel": edit_channel, "scenario": lambda d: d["scenario"].update(max_power_dbm=d["scenario"]["max_power_dbm"] - 3)}
    for name, edit in edits.items():
        out = cli("verify", _tampered(original, tmp_path, edit))
        assert out.returncode == 3 and "FAILS" in out.stdout, (name, out.stdout, out.stderr)
    assert cli("verify", tmp_path / "missing.json").returncode == 2
    (tmp_path / "junk.json").write_text("{not json")
    assert cli("verify", tmp_path / "junk.json").returncode == 2
