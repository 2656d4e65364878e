"""CBF reader + branch-and-bound on public mixed-integer SDP instances with known optima (data/misdp/), the
independent NumPy re-check of CBF solutions, the CLI/registry route and malformed files."""
import json
import math

import numpy as np
import pytest

from isacopt import registry
from isacopt.algorithms import branch_and_bound as bnb
from isacopt.algorithms.result import Result, Status
from isacopt.errors import ScenarioError
from isacopt.models import misdp

OPTIMA = misdp.known_optima()
SMALL = ["example_small_cbf", "example_cbf_dual", "example_cbf_mix", "example_cbf_primal", "example_multaggr",
         "example_multaggr2", "example_multaggr3", "example_diagzeroimpl"]
LARGE = ["2x4_2scen_3bars", "2x7_3bars", "2g_4_164_k3_5_6"]


def solve(name, **limits):
    scenario = misdp.MisdpScenario(cbf_path=str(misdp.INSTANCE_DIR / f"{name}.cbf"), **limits)
    return misdp.solve_bnb(scenario)


def write(tmp_path, text, name="t.cbf"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------ reader semantics on hand-made files
def test_reader_structure_of_a_shipped_file():
    data = misdp.read_cbf(misdp.INSTANCE_DIR / "example_small_cbf.cbf")
    assert (data.version, data.sense, data.n, data.m) == (1, "min", 3, 8)
    assert list(data.integers) == [0, 1, 2] and data.psdcon_dims == [2, 2]
    assert np.allclose(data.obj_c, [1, -2, -1])
    assert np.allclose(data.int_lower, -10) and np.allclose(data.int_upper, 10)      # from single-variable rows
    G1 = data.h[1].toarray().reshape(2, 2, 3)                    # G_1 = x0 [[0,1],[1,0]] + x2 [[1,0],[0,0]] + D
    assert np.allclose(G1[:, :, 0], [[0, 1], [1, 0]]) and np.allclose(G1[:, :, 2], [[1, 0], [0, 0]])
    assert np.allclose(data.d[1], [[0, 0], [0, 2.1]])
    model = misdp.build_problem(data)
    assert model.parts["integer"][1] is not None and model.parts["binary"][1] is None


def test_offdiagonal_entries_count_twice_and_cones(tmp_path):
    """min <F, X> + x0 with F_10 = -1 (so -2 X_10), tr X = 1, X PSD: -1 at X = [[.5,.5],[.5,.5]];
    (x0, 3, 4) in Q forces x0 >= 5; QR (x3..x6): 2 x3 x4 >= x5^2 + x6^2 with x4 = x5 = 2 forces x3 >= 1."""
    text = """VER
3

OBJSENSE
MIN

PSDVAR
1
2

VAR
7 2
Q 3
QR 4

CON
5 1
L= 5

OBJFCOORD
1
0 1 0 -1.0

OBJACOORD
2
0 1.0
3 1.0

FCOORD
2
0 0 0 0 1.0
0 0 1 1 1.0

ACOORD
4
1 1 1.0
2 2 1.0
3 4 1.0
4 5 1.0

BCOORD
5
0 -1.0
1 -3.0
2 -4.0
3 -2.0
4 -2.0
"""
    data = misdp.read_cbf(write(tmp_path, text))
    model = misdp.build_problem(data)
    model.problem.solve(solver="CLARABEL")
    assert model.problem.value == pytest.approx(-1 + 5 + 1, abs=1e-6)
    x, X = model.assemble({v: v.value for _, v in model.parts.values() if v is not None} | {model.X[0]: model.X[0].value})
    assert misdp.check_solution(data, x, X, model.problem.value).passed
    assert misdp.objective_value(data, x, X) == pytest.approx(5.0, abs=1e-6)


@pytest.mark.parametrize("text, match", [
    ("OBJSENSE\nMIN\n", "missing VER"),
    ("VER\n4\n", "version 4"),
    ("VER\n3\n\nVAR\n2 1\nEXP 2\n", "cone 'EXP'"),
    ("VER\n3\n\nVAR\n2 1\nF 3\n", "sum to 3, expected 2"),
    ("VER\n3\n\nVAR\n1 1\nF 1\n\nOBJACOORD\n1\n4 1.0\n", "index 4 out of range"),
    ("VER\n3\n\nPOWCONES\n1 1\n1\n-1.0\n", "parameters must be > 0"),
    ("VER\n3\n\nVAR\n3 1\n@0:POW 3\n", "parameter set 0, but POWCONES declares 0"),
    ("VER\n3\n\nCHANGE\n", "keyword 'CHANGE'"),
    ("VER\n3\n\nVAR\n1 1\nF 1\n\nACOORD\n1\n0 x 1.0\n", "ACOORD \\(line 10\\): expected integers, got '0 x'"),
])
def test_malformed_files_are_one_line_errors(tmp_path, text, match):
    with pytest.raises(ScenarioError, match=match) as err:
        misdp.read_cbf(write(tmp_path, text))
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ known optima
@pytest.mark.parametrize("name", SMALL)
def test_small_instances_reach_known_optimum(name):
    result = solve(name)
    assert result.status == Status.OPTIMAL, result.notes
    assert result.objective == pytest.approx(OPTIMA[name], rel=1e-4, abs=1e-6)
    assert result.lower_bound <= OPTIMA[name] + 1e-6 * max(1, abs(OPTIMA[name]))
    assert result.verified and result.max_violation <= 1e-6
    assert result.gap <= 1e-6 and result.nodes >= 1 and result.sdp_solves >= result.nodes


@pytest.mark.slow
def test_truss_2x3_reaches_known_optimum():
    result = solve("2x3_3bars", time_limit_s=600)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(OPTIMA["2x3_3bars"], rel=1e-4)
    assert result.verified


def test_truss_2x3_with_node_limit_brackets_the_optimum():
    """A limited run must bracket the published optimum: lower bound <= optimum <= incumbent."""
    result = solve("2x3_3bars", node_limit=60)
    opt = OPTIMA["2x3_3bars"]
    assert result.nodes == 60 and result.lower_bound <= opt * (1 + 1e-6)
    if result.status == Status.FEASIBLE:
        assert result.upper_bound >= opt * (1 - 1e-6) and result.verified and result.gap > 0
    else:
        assert result.status == Status.NO_SOLUTION and result.upper_bound is None


@pytest.mark.slow
@pytest.mark.parametrize("name", LARGE)
def test_large_instances_report_an_honest_gap(name):
    result = solve(name, time_limit_s=120)
    opt = OPTIMA[name]
    assert result.lower_bound <= opt + 1e-6 * abs(opt)
    if result.objective is not None:
        assert result.verified and result.objective >= opt - 1e-6 * abs(opt)
        if result.status != Status.OPTIMAL:
            assert result.gap == pytest.approx((result.upper_bound - result.lower_bound) / abs(result.objective))
    else:
        assert result.status == Status.NO_SOLUTION and result.gap is None


# ------------------------------------------------------------------ independent re-check
def test_check_solution_rejects_corrupted_solutions():
    data = misdp.read_cbf(misdp.INSTANCE_DIR / "example_small_cbf.cbf")
    result = solve("example_small_cbf")
    x, X = np.asarray(result.solution["x"], float), []
    assert misdp.check_solution(data, x, X, result.objective).passed
    assert not misdp.check_solution(data, x + np.array([0.5, 0, 0]), X).passed           # not integral
    assert not misdp.check_solution(data, x, X, result.objective - 1.0).passed            # wrong objective
    bad = x.copy()
    bad[0] = 11.0                                                                          # x0 <= 10 row
    assert not misdp.check_solution(data, bad, X).passed
    data_psd = misdp.read_cbf(misdp.INSTANCE_DIR / "example_cbf_primal.cbf")
    r = solve("example_cbf_primal")
    xp, Xp = np.asarray(r.solution["x"], float), [np.asarray(M, float) for M in r.solution["X"]]
    assert misdp.check_solution(data_psd, xp, Xp, r.objective).passed
    assert not misdp.check_solution(data_psd, xp, [Xp[0] - 0.5 * np.eye(3)]).passed    # not PSD


# ------------------------------------------------------------------ CLI / registry / JSON
def test_registry_route_and_json_roundtrip(tmp_path):
    result = registry.solve("misdp", "example_multaggr", "bnb", overrides=["node_limit=50"])
    assert result.status == Status.OPTIMAL and result.scenario_name == "example_multaggr"
    assert result.metrics["known_optimum"] == OPTIMA["example_multaggr"]
    data = json.loads(json.dumps(result.to_dict()))
    for key in ("nodes", "sdp_solves", "lower_bound", "upper_bound", "gap"):
        assert key in data
    back = Result.from_dict(data)
    assert back.objective == result.objective and back.nodes == result.nodes
    path = tmp_path / "x.cbf"
    path.write_text((misdp.INSTANCE_DIR / "example_multaggr.cbf").read_text())
    other = registry.solve("misdp", str(path))
    assert other.objective == pytest.approx(result.objective) and "known_optimum" not in other.metrics


@pytest.mark.parametrize("scenario, overrides, match", [
    ("missing.cbf", [], "does not exist"),
    ("no_such_instance", [], "neither a .cbf file nor a shipped instance"),
    ("example_multaggr", ["time_limit_s=0"], "time_limit_s"),
    ("example_multaggr", ["node_limt=3"], "did you mean 'node_limit'"),
    ("example_multaggr", ["group_branching=best"], "group_branching"),
])
def test_bad_scenarios_name_the_field(scenario, overrides, match):
    with pytest.raises(ScenarioError, match=match):
        registry.solve("misdp", scenario, "bnb", overrides=overrides)


def test_relaxation_is_dpp_and_reused():
    model = misdp.build_problem(misdp.read_cbf(misdp.INSTANCE_DIR / "example_small_cbf.cbf"))
    relaxation = bnb.Relaxation(model.problem)
    assert relaxation.dpp
    first = bnb.solve(model.problem, relaxation=relaxation)
    again = bnb.solve(model.problem, relaxation=relaxation)
    assert first.objective == pytest.approx(again.objective) == pytest.approx(-8.0)
    assert math.isfinite(first.lower_bound)


SHIPPED = misdp.INSTANCE_DIR / "example_small_cbf.cbf"


def _edited(tmp_path, old: str, new: str, name="bad.cbf"):
    text = SHIPPED.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old, new, match", [
    ("OBJACOORD\n3\n0 1.000000", "OBJBCOORD\nnan\n\nOBJACOORD\n3\n0 1.000000", r"OBJBCOORD \(line \d+\): 'nan' is not a finite"),
    ("OBJACOORD\n3\n0 1.000000", "OBJBCOORD\ninf\n\nOBJACOORD\n3\n0 1.000000", r"OBJBCOORD \(line \d+\): 'inf' is not a finite"),
    ("BCOORD\n8\n0 -1.000000\n1 8.000000", "BCOORD\n8\n0 -1.000000\n1 inf", r"BCOORD \(line \d+\): 'inf' is not a finite"),
    ("ACOORD\n12\n0 0 1.000000", "ACOORD\n12\n0 0 NaN", r"ACOORD \(line \d+\): 'NaN' is not a finite"),
    ("DCOORD\n1\n1 1 1 2.100000", "DCOORD\n1\n1 -1 1 2.100000", r"DCOORD \(line \d+\): -1 must be >= 0"),
    ("DCOORD\n1\n1 1 1 2.100000", "DCOORD\n1\n1 0 1 2.100000", r"DCOORD entry \(0, 1\) is not in the lower triangle"),
    ("DCOORD\n1\n1 1 1 2.100000", "DCOORD\n1\n7 1 1 2.100000", r"DCOORD PSD constraint index 7 out of range 0..1"),
    ("VAR\n3 1\nF 3", "VAR\n3 1\nF -3", r"VAR \(line \d+\): -3 must be >= 1"),
    ("PSDCON\n2\n2\n2", "PSDCON\n2\n0\n2", r"PSDCON \(line \d+\): 0 must be >= 1"),
    ("INT\n3\n0", "INT\n30000000000000000000000\n0", r"INT \(line \d+\): 30000000000000000000000 exceeds"),
    ("PSDCON\n2\n2\n2", "PSDCON\n2\n200000\n2", r"need ~\d+ GiB of dense data"),
])
def test_malformed_numbers_and_indices_name_keyword_and_line(tmp_path, cli, old, new, match):
    """Every malformed number or index of the shipped instance is a one-line error naming the keyword and the line
    (they used to give wrong answers: 'infeasible, verified' for OBJBCOORD nan, a wrapped negative index)."""
    path = _edited(tmp_path, old, new)
    with pytest.raises(ScenarioError, match=match):
        misdp.read_cbf(path)
    out = cli("solve", "misdp", "--scenario", path)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_non_utf8_cbf_is_a_user_error(tmp_path, cli):
    path = tmp_path / "latin.cbf"
    path.write_bytes(SHIPPED.read_bytes().replace(b"VER", b"# caf\xe9\nVER", 1))
    out = cli("solve", "misdp", "--scenario", path)
    assert out.returncode == 2 and "is not UTF-8 text" in out.stderr


def test_set_cbf_path_renames_the_instance(cli, tmp_path):
    out = cli("solve", "misdp", "--set", "cbf_path=example_cbf_mix", "--out", tmp_path / "r.json")
    assert out.returncode == 0 and "scenario example_cbf_mix" in out.stdout
    assert json.loads((tmp_path / "r.json").read_text())["scenario_name"] == "example_cbf_mix"


def test_time_limit_holds_within_one_node_solve():
    """Every node solve gets the search's remaining time as the solver's own limit: 2x7_3bars with a 1 s limit
    used to stop after 9.9 s (the limit was checked between nodes only); measured 1.1 s now."""
    from isacopt import registry
    from isacopt.algorithms.result import Termination
    r = registry.solve("misdp", "2x7_3bars", overrides=["time_limit_s=1"])
    assert r.termination is Termination.TIME_LIMIT and r.status in (Status.NO_SOLUTION, Status.FEASIBLE)
    assert r.time_s < 4.0, r.time_s                  # setup + at most one node solve past the limit
    assert r.lower_bound is not None and r.lower_bound <= misdp.known_optima()["2x7_3bars"] + 1e-6


def test_an_unbounded_relaxation_stops_the_search_at_once(tmp_path):
    """A free integer with no constraints (min x) used to branch forever with growing memory; the search stops at
    the first node whose relaxation the solver proves unbounded and proves the integer problem unbounded (an
    integral recession direction plus a feasible point)."""
    path = tmp_path / "unbounded.cbf"
    path.write_text("VER\n3\n\nOBJSENSE\nMIN\n\nVAR\n1 1\nF 1\n\nINT\n1\n0\n\nOBJACOORD\n1\n0 1.0\n")
    r = misdp.solve_bnb(misdp.MisdpScenario(cbf_path=str(path)))
    assert r.status is Status.UNBOUNDED and r.nodes == 1 and r.objective is None
    assert any("relaxation is unbounded" in n for n in r.notes)
    assert any(n.startswith("unbounded: an integer-feasible point") for n in r.notes)


EXP_CBF = """VER
3

OBJSENSE
MIN

VAR
3 1
EXP 3

INT
1
2

CON
3 2
L= 1
L+ 2

OBJACOORD
2
0 1.0
2 -2.0

ACOORD
3
0 1 1.0
1 2 1.0
2 2 -1.0

BCOORD
3
0 -1.0
1 3.0
2 3.0
"""


def test_exponential_cone_in_cbf_reaches_brute_force(tmp_path):
    """(t, y, z) in EXP (t >= y exp(z / y)), y = 1, z integer in [-3, 3], min t - 2 z: e - 2 at z = 1."""
    r = misdp.solve_bnb(misdp.MisdpScenario(cbf_path=str(write(tmp_path, EXP_CBF))))
    assert r.status is Status.OPTIMAL and r.verified
    assert r.objective == pytest.approx(min(math.exp(z) - 2 * z for z in range(-3, 4)), rel=1e-7)
    x = np.asarray(r.solution["x"], float)
    assert x[2] == 1.0 and x[0] == pytest.approx(math.e, rel=1e-7)
    data = misdp.read_cbf(write(tmp_path, EXP_CBF))
    assert not misdp.check_solution(data, np.array([math.e - 0.01, 1.0, 1.0]), []).passed   # below the cone
    assert misdp.check_solution(data, np.array([math.e + 0.01, 1.0, 1.0]), []).passed


POW_CBF = """VER
3

OBJSENSE
MIN

POWCONES
1 2
2
1.0
2.0

POW*CONES
1 2
2
1.0
2.0

VAR
6 2
@0:POW 3
@0:POW* 3

INT
2
0
3

CON
2 1
L- 2

OBJACOORD
2
2 -1.0
5 -1.0

ACOORD
4
0 0 1.0
0 1 1.0
1 3 1.0
1 4 1.0

BCOORD
2
0 -4.0
1 -3.0
"""


def test_power_cones_in_cbf_reach_brute_force(tmp_path):
    """max x2 + x5: x0^(1/3) x1^(2/3) >= |x2| (POW, alpha (1, 2)), x0 + x1 <= 4, x0 integer (best x0 = 1:
    3^(2/3), the continuous optimum is at 4/3); (3 x3)^(1/3) (1.5 x4)^(2/3) >= |x5| (POW*, its dual), x3 + x4 <= 3,
    x3 integer (best x3 = 1: 3). Then a 5-dimensional POW with three parameters and a norm of two entries."""
    r = misdp.solve_bnb(misdp.MisdpScenario(cbf_path=str(write(tmp_path, POW_CBF))))
    assert r.status is Status.OPTIMAL and r.verified, r.notes
    brute = max(x0 ** (1 / 3) * (4 - x0) ** (2 / 3) for x0 in range(5)) + 3.0
    assert r.objective == pytest.approx(-brute, rel=1e-7)
    x = np.asarray(r.solution["x"], float)
    assert (x[0], x[3]) == (1.0, 1.0)
    data = misdp.read_cbf(write(tmp_path, POW_CBF))
    assert not misdp.check_solution(data, np.array([1.0, 3.0, 3 ** (2 / 3) + 0.01, 1.0, 2.0, 2.99]), []).passed
    assert misdp.check_solution(data, np.array([1.0, 3.0, 3 ** (2 / 3) - 0.01, 1.0, 2.0, 2.99]), []).passed
    nd = (POW_CBF.replace("POWCONES\n1 2\n2\n1.0\n2.0", "POWCONES\n1 3\n3\n1.0\n1.0\n1.0")
          .replace("VAR\n6 2\n@0:POW 3\n@0:POW* 3", "VAR\n6 2\n@0:POW 5\nL+ 1")
          .replace("INT\n2\n0\n3", "INT\n1\n0")
          .replace("OBJACOORD\n2\n2 -1.0\n5 -1.0", "OBJACOORD\n2\n3 -1.0\n4 -1.0")
          .replace("ACOORD\n4\n0 0 1.0\n0 1 1.0\n1 3 1.0\n1 4 1.0", "ACOORD\n4\n0 0 1.0\n0 1 1.0\n0 2 1.0\n1 5 1.0")
          .replace("BCOORD\n2\n0 -4.0\n1 -3.0", "BCOORD\n2\n0 -3.5\n1 -3.0"))
    r = misdp.solve_bnb(misdp.MisdpScenario(cbf_path=str(write(tmp_path, nd, "nd.cbf"))))
    # (x0 x1 x2)^(1/3) >= ||(x3, x4)||, x0 + x1 + x2 <= 3.5, x0 integer: max x3 + x4 = sqrt(2) max_x0 g(x0)
    g = max((x0 * ((3.5 - x0) / 2) ** 2) ** (1 / 3) for x0 in range(4))
    assert r.status is Status.OPTIMAL and r.verified and r.objective == pytest.approx(-np.sqrt(2) * g, rel=1e-6)


RANK1_CBF = """VER
3

OBJSENSE
MIN

VAR
2 1
F 2

INT
1
0

PSDCON
1
2

HCOORD
2
0 0 0 0 1.0
0 1 1 1 1.0

DCOORD
1
0 1 0 1.0

PSDCONRANK1
1
0

OBJACOORD
2
0 1.0
1 1.0
"""


def test_a_rank_one_psd_constraint_is_verified_never_assumed(tmp_path):
    """PSDCONRANK1: min x0 + x1 s.t. [[x0, 1], [1, x1]] PSD and rank one, x0 integer: the relaxed optimum (1, 1)
    has x0 x1 = 1, rank one, so it is optimal for the rank-one problem. diag(x0, x1) with x >= 1 instead: the
    relaxed optimum is the identity (rank two) - an error, not an optimum."""
    r = misdp.solve_bnb(misdp.MisdpScenario(cbf_path=str(write(tmp_path, RANK1_CBF))))
    assert r.status is Status.OPTIMAL and r.verified and r.objective == pytest.approx(2.0, abs=1e-6), r.notes
    assert any("PSDCONRANK1 [0]" in n for n in r.notes)
    diag = (RANK1_CBF.replace("DCOORD\n1\n0 1 0 1.0\n", "")
            .replace("INT\n1\n0\n", "INT\n1\n0\n\nCON\n2 1\nL+ 2\n\nACOORD\n2\n0 0 1.0\n1 1 1.0\n\n"
                     "BCOORD\n2\n0 -1.0\n1 -1.0\n"))
    bad = misdp.solve_bnb(misdp.MisdpScenario(cbf_path=str(write(tmp_path, diag, "diag.cbf"))))
    assert bad.status is Status.ERROR and any("not rank one" in n for n in bad.notes), (bad.status, bad.notes)


def test_exponential_cone_dimension_and_oa_refusal(tmp_path, cli):
    bad = write(tmp_path, EXP_CBF.replace("VAR\n3 1\nEXP 3", "VAR\n3 2\nEXP 2\nF 1"), "bad.cbf")
    with pytest.raises(misdp.CBFError, match="EXP.*dimension 2, expected 3"):
        misdp.read_cbf(bad)
    out = cli("solve", "misdp", "--scenario", str(write(tmp_path, EXP_CBF)), "--method", "oa")
    assert out.returncode == 2 and "use branch-and-bound" in out.stderr and "Traceback" not in out.stderr
