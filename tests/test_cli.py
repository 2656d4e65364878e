"""The CLI as a user meets it: every verb runs, and every user mistake is one line on stderr, exit code 2."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_list_and_solvers():
    out = run("list")
    assert out.returncode == 0
    assert "detection" in out.stdout and "--method sdr" in out.stdout and "detection_k1" in out.stdout
    out = run("list", "-v")
    assert "max_power_dbm" in out.stdout and "(dBm)" in out.stdout and "old name max_power_w in W" in out.stdout
    # the default scenario's resolved values, the class default beside them where they differ
    out = run("list", "--scenario", "robust_precoding")
    assert out.returncode == 0 and out.stdout.startswith("robust-precoding:") and "detection:" not in out.stdout
    assert "    sinr_db = 0 (10)  [" in out.stdout and "    rho = 1  [" in out.stdout
    out = run("list", "--scenario", "robust_precodin")
    assert out.returncode == 2 and "no shipped scenario" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = run("solvers")
    assert out.returncode == 0 and "clarabel" in out.stdout and "highs" in out.stdout and "[default]" in out.stdout


def _bad_scenario(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("args, expected", [
    (("solve", "detectoin"), "unknown problem 'detectoin'"),
    (("solve", "detection", "--method", "mrt"), "unknown method 'mrt'"),
    (("solve", "detection", "--solver", "cplex"), "unknown solver 'cplex'"),
    (("solve", "detection", "--solver", "highs"), "needs a conic solver"),
    (("solve", "detection", "--set", "max_power_w=-3"), "max_power_w' = -3 is out of range: must be > 0 (W)"),
    (("solve", "detection", "--set", "max_power_dbm=lots"), "max_power_dbm' = 'lots' is not a number"),
    (("solve", "detection", "--set", "false_alarm_prob=1.5"), "false_alarm_prob' = 1.5 is out of range"),
    (("solve", "detection", "--set", "false_alarm_prob=0"), "false_alarm_prob' = 0 is out of range"),
    (("solve", "detection", "--set", "users_per_bs=40"), "users_per_bs' = 40 exceeds tx_antennas = 32"),
    (("solve", "detection", "--set", "max_pwr_dbm=3"), "unknown field 'max_pwr_dbm' for DetectionScenario; did you mean 'max_power_dbm'?"),
    (("solve", "detection", "--set", "scenario=III"), "scenario' = 'III' is not allowed: expected one of 'I', 'II'"),
    (("solve", "detection", "--set", "receiver=3"), "receiver' = 3 is not allowed"),
    (("solve", "detection", "--set", "max_power_dbm"), "not of the form KEY=VALUE"),
    (("solve", "detection", "--scenario", "no_such_setup"), "unknown scenario 'no_such_setup'"),
    (("solve", "detection", "--scenario", "missing/file.toml"), "scenario file 'missing/file.toml' does not exist"),
    (("solve", "detection", "--set", "bs_positions_m=[[0,0],[0,0],[5,5]]"), "coincident BSs"),
    (("solve", "detection", "--scenario", "detection_k3", "--method", "zf", "--set", "users_per_bs=11"), "zf needs tx_antennas >= L*K = 33"),
])
def test_user_mistakes_get_one_line(cli, args, expected):
    out = cli(*args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert expected in lines[0]


def test_malformed_scenario_files(tmp_path, cli):
    typo = _bad_scenario(tmp_path, 'problem = "detection"\nmax_powr_dbm = 30.0\n')
    out = cli("solve", "detection", "--scenario", typo)
    assert out.returncode == 2 and "unknown field 'max_powr_dbm'" in out.stderr and "max_power_dbm" in out.stderr
    broken = _bad_scenario(tmp_path, 'problem = "detection"\nmax_power_dbm = = 3\n')
    out = cli("solve", "detection", "--scenario", broken)
    assert out.returncode == 2 and "is not valid TOML" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    other = _bad_scenario(tmp_path, 'problem = "cluster-size"\n')
    out = cli("solve", "detection", "--scenario", other)
    assert out.returncode == 2 and "is for problem 'cluster-size'" in out.stderr


def test_solve_writes_self_contained_json(tmp_path):
    """Re-verify the JSON result with plain NumPy from its own fields, without the project's code."""
    path = tmp_path / "r.json"
    out = run("solve", "detection", "--seed", "3", "--set", "receiver=1", "--out", str(path))
    assert out.returncode == 0, out.stderr
    assert "verified   yes" in out.stdout
    data = json.loads(path.read_text())
    for key in ("problem", "method", "solver", "status", "objective", "verified", "max_violation", "time_s", "seed",
                "scenario", "channels", "metrics", "solution"):
        assert key in data
    assert data["status"] == "optimal" and data["seed"] == 3 and data["verified"] is True

    def c(x):
        return np.asarray(x["re"]) + 1j * np.asarray(x["im"])
    sc, ch, sol = data["scenario"], data["channels"], data["solution"]
    h, w, R = c(ch["h"]), c(sol["w"]), c(sol["R"])                 # h[l, m, k, :], w[l, i, :], R[l]
    L, K = w.shape[:2]
    noise = 10 ** ((sc["comm_noise_dbm"] - 30) / 10)
    for m in range(L):
        for k in range(K):
            gains = [[abs(np.vdot(h[l, m, k], w[l, i])) ** 2 for i in range(K)] for l in range(L)]
            sens = sum(np.real(np.vdot(h[l, m, k], R[l] @ h[l, m, k])) for l in range(L))
            sinr = gains[m][k] / (np.sum(gains) - gains[m][k] + sens + noise)      # Type-I receiver, eq. (3)
            assert 10 * np.log10(sinr) >= sc["sinr_db"] - 1e-5
    power = np.sum(np.abs(w) ** 2, axis=(1, 2)) + np.real(np.trace(R, axis1=1, axis2=2))
    assert np.all(power <= 10 ** ((sc["max_power_dbm"] - 30) / 10) * (1 + 1e-6))
    a, weights = c(ch["target_steering"]), np.asarray(ch["sensing_weights"])       # (Q, L, N), (Q, L)
    X = np.einsum("lin,lip->lnp", w, w.conj()) + R
    energy = sc["rx_antennas"] * np.einsum("ql,ql->q", weights, np.real(np.einsum("qln,lnp,qlp->ql", a, X, a.conj())))
    from scipy.stats import norm
    p_d = norm.sf(norm.isf(sc["false_alarm_prob"]) - np.sqrt(2 * energy / 10 ** ((sc["radar_noise_dbm"] - 30) / 10)))
    assert data["objective"] == pytest.approx(p_d.min(), rel=1e-6)


def test_cli_edges():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.startswith("isacopt ")
    out = run("solve", "detection", "--seed", "-1")
    assert out.returncode == 2 and out.stderr.strip() == "error: --seed -1 must be a non-negative integer"
    out = run("solve", "detection", "--debug", "--set", "max_pwr_dbm=3")        # --debug after the verb
    assert out.returncode == 2 and "did you mean 'max_power_dbm'" in out.stderr


def test_help_imports_no_solver_stack():
    """`--help` and `--version` must not import cvxpy, NumPy or the papers (they took 1.3-3.5 s)."""
    code = ("import sys, contextlib, io; from isacopt import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: cli.main(['--help'])\n"
            "    except SystemExit: pass\n"
            "print(sorted(m for m in ('cvxpy', 'numpy', 'isacopt.registry', 'pyomo') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_resizing_a_default_scenario_redraws_its_sized_fields():
    """`--set users_per_bs=2` on detection_k1 (which lists 3 CU positions): the file's positions are dropped with a
    one-line warning and drawn at random for L*K = 6 CUs; positions the user sets are never dropped (a wrong count
    stays a one-line error); the same for bs-selection's fixed Fig. 2 layout when num_bs changes."""
    out = run("solve", "detection", "--set", "users_per_bs=2")
    assert out.returncode == 0 and "verified   yes" in out.stdout, out.stderr
    assert "scenario field 'user_positions_m' from the file dropped (drawn afresh): --set users_per_bs" in out.stderr
    out = run("solve", "detection", "--set", "users_per_bs=2", "--set", "user_positions_m=[[40,0],[0,40]]")
    assert out.returncode == 2 and "must list L*K = 6 positions" in out.stderr
    from isacopt.data.loader import load_scenario
    from isacopt.models import bs_selection as bs
    sc, _ = load_scenario(bs.BSSelectionScenario, "bs-selection", "bs_selection_fig2", "bs_selection",
                          ["num_bs=5"])
    assert sc.num_bs == 5 and sc.bs_positions_m is None
    same, _ = load_scenario(bs.BSSelectionScenario, "bs-selection", "bs_selection_fig2", "bs_selection",
                            values={"num_bs": 4})
    assert same.bs_positions_m is not None                              # an unchanged size keeps the file's layout
