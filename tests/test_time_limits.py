"""A time limit for every method (`--time-limit`, `registry.solve(time_limit_s=...)`), honoured within one
subproblem solve, and Ctrl-C returning the best answer so far; the termination field says what ended the run."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from isacopt import registry
from isacopt.algorithms.result import Status, Termination

ROOT = Path(__file__).resolve().parents[1]


def test_enumeration_with_a_time_limit_returns_its_best_so_far(tmp_path):
    """S = 4, K = 5 (972 inner SDPs, minutes): --time-limit 5 returns within 15 s, says the limit ended it, and the
    best choice found so far is verified and feasible (no optimality claim)."""
    t0 = time.time()
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "solve", "bs-selection", "--method", "enumeration",
                          "--seed", "3", "--time-limit", "5", "--out", str(tmp_path / "r.json")], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    elapsed = time.time() - t0
    assert out.returncode == 0, out.stderr
    assert elapsed < 15, elapsed
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["termination"] == "time_limit" and r["status"] in ("feasible", "no_solution")
    if r["status"] == "feasible":
        assert r["verified"] is True and "not evaluated (time limit)" in " ".join(r["notes"])


def test_branch_and_bound_and_ao_take_the_run_limit():
    for method in ("bnb", "ao"):
        r = registry.solve("bs-selection", method=method, seed=3, time_limit_s=0.5)
        assert r.termination in (Termination.TIME_LIMIT, Termination.CONVERGED), (method, r.termination)
        assert r.status in (Status.OPTIMAL, Status.FEASIBLE, Status.NO_SOLUTION, Status.FEASIBLE_INACCURATE)
        if r.termination is Termination.TIME_LIMIT:
            assert r.status is not Status.OPTIMAL or method == "bnb"


def test_sigint_during_enumeration_returns_the_best_so_far():
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "solve", "bs-selection", "--method",
                             "enumeration", "--seed", "3"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(6.0)                                     # past the imports and the first inner SDPs
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert time.time() - t0 < 5, time.time() - t0
    assert proc.returncode == 0, err
    assert "stopped: interrupted" in out and ("status     feasible" in out or "status     no_solution" in out), out


def test_sigint_during_branch_and_bound_returns_the_best_so_far_with_a_valid_bound(tmp_path):
    """A long search (the CBF truss 2x4_2scen_3bars, minutes): Ctrl-C after a few seconds returns within 5 s with the
    incumbent (verified) and bounds that still bracket the published optimum; the node being solved goes back on
    the heap, so the lower bound stays valid."""
    from isacopt.models import misdp
    out_file = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "solve", "misdp", "--scenario", "2x4_2scen_3bars",
                             "--out", str(out_file)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(6.0)
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert time.time() - t0 < 5, time.time() - t0
    assert proc.returncode == 0, err
    r = json.loads(out_file.read_text())
    assert r["termination"] == "interrupted" and r["status"] in ("feasible", "no_solution"), out
    optimum = misdp.known_optima()["2x4_2scen_3bars"]
    assert r["lower_bound"] <= optimum * (1 + 1e-6)
    if r["status"] == "feasible":
        assert r["verified"] is True and r["upper_bound"] >= optimum * (1 - 1e-6)
