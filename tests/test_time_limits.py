"""A time limit for every method (`--time-limit`, `registry.solve(time_limit_s=...)`), honoured within one
subproblem solve, and Ctrl-C returning the best answer so far; the termination field says what ended the run."""
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("method", ["bnb", "oa"])
def test_sigint_during_an_exact_search_returns_the_bounds_so_far(tmp_path, method):
    """A long search (the CBF truss 2x4_2scen_3bars, minutes): Ctrl-C after a few seconds returns within 5 s with the
    incumbent (verified) and bounds that still bracket the published optimum. Branch-and-bound puts the node being
    solved back on the heap; OA notes the signal itself, since HiGHS catches the KeyboardInterrupt inside its master
    solve and ends with a solve error (which would otherwise read as a solver failure)."""
    from isacopt.models import misdp
    out_file = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "solve", "misdp", "--scenario", "2x4_2scen_3bars",
                             "--method", method, "--out", str(out_file)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
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


def _progress_lines(stderr: str, prefix: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"INFO {prefix}")]


def test_a_long_enumeration_logs_progress_lines_when_stderr_is_not_a_terminal():
    """`solve ... 2>log`: a line after 5 s and per tenth or 30 s (choices done of 972, best so far, elapsed, time
    left) and a closing line; a short solve logs none."""
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "solve", "bs-selection", "--method", "enumeration",
                          "--seed", "3", "--time-limit", "8"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = _progress_lines(out.stderr, "enumeration: ")
    assert 2 <= len(lines) <= 4, out.stderr
    assert re.match(r"INFO enumeration: \d+/972 choices \(\d+ %; best [0-9.e+-]+\), \ds elapsed, ~.* left$", lines[0])
    done = [int(re.search(r": (\d+)/972", line).group(1)) for line in lines]
    assert done == sorted(done) and done[0] > 0, lines
    short = subprocess.run([sys.executable, str(ROOT / "run.py"), "solve", "bs-selection", "--method", "enumeration",
                            "--seed", "3", "--set", "num_users=2"], capture_output=True, text=True, cwd=ROOT,
                           timeout=120)
    assert short.returncode == 0 and "INFO" not in short.stderr, short.stderr


def test_a_long_outer_approximation_logs_masters_bounds_and_gap():
    """The CBF truss under OA and --time-limit 8: a progress line with masters, assignments, bounds and gap."""
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "solve", "misdp", "--scenario", "2x4_2scen_3bars",
                          "--method", "oa", "--time-limit", "8"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = _progress_lines(out.stderr, "outer approximation: ")
    assert 1 <= len(lines) <= 3, out.stderr
    assert re.match(r"INFO outer approximation: \d+ masters; \d+ assignments, bounds \[[0-9.e+-]+, (inf|[0-9.e+-]+)\], "
                    r"gap .*, \ds elapsed$", lines[0]), lines


def test_a_long_branch_and_bound_logs_nodes_bounds_and_gap():
    """The CBF truss (minutes) under --time-limit 8: a progress line with nodes, open nodes, both bounds, the gap and
    the elapsed time, then a closing line."""
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "solve", "misdp", "--scenario", "2x4_2scen_3bars",
                          "--method", "bnb", "--time-limit", "8"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = _progress_lines(out.stderr, "branch-and-bound: ")
    assert 2 <= len(lines) <= 3, out.stderr
    pattern = (r"INFO branch-and-bound: (\d+) nodes; \d+ open, bounds \[([0-9.e+-]+), ([0-9.e+-]+|inf)\], gap .*, "
               r"\ds elapsed$")
    for line in lines:
        match = re.match(pattern, line)
        assert match and float(match.group(2)) <= float(match.group(3)), line


def test_line_progress_without_a_total_waits_then_repeats(monkeypatch):
    """Solver loops: nothing before first_s, then one line, then one per every_s; quiet() (a study's jobs) shows
    nothing."""
    from isacopt.algorithms import progress
    clock = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    emitted = []
    lines = progress.LineProgress("bnb", None, 30.0, unit="nodes", first_s=5.0, emit=emitted.append)
    for t, n in [(1, 10), (4.9, 40), (5, 41), (6, 50), (34.9, 300), (35, 301), (36, 310)]:
        clock[0] = t
        if lines.due(n):
            lines.emit(n, "1 open")
    assert emitted == ["bnb: 41 nodes; 1 open, 5s elapsed", "bnb: 301 nodes; 1 open, 35s elapsed"]
    monkeypatch.setattr(progress, "is_terminal", lambda: False)
    with progress.quiet():
        assert progress.Progress("x", 10).lines is None


def test_sigint_during_the_bs_selection_root_relaxations_returns_a_result(tmp_path):
    """S = 6, K = 8: the six per-receiver root relaxations take ~40 s before the search. Ctrl-C right after the
    first one (its progress line is the signal) returns within 5 s, exit 0, termination `interrupted`, with the
    root bounds computed so far in the notes."""
    import threading
    out_file = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "solve", "bs-selection", "--method", "bnb",
                             "--seed", "3", "--set", "num_bs=6", "--set", "num_users=8", "--out", str(out_file)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "branch-and-bound roots: 1/6 receivers" in line:
                break
        assert seen and "roots: 1/6" in seen[-1], "".join(seen)
        t0 = time.time()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
    assert time.time() - t0 < 5, time.time() - t0
    assert proc.returncode == 0, "".join(seen) + err
    assert "stopped: interrupted" in out, out
    r = json.loads(out_file.read_text())
    assert r["termination"] == "interrupted" and r["status"] == "no_solution"
    assert "BS1 not solved" not in " ".join(r["notes"]) and "not solved" in " ".join(r["notes"])


def _interrupt(args: list[str], *, after_line: str | None = None, after_s: float = 0.0, timeout: float = 120):
    """Start `run.py ARGS`, send SIGINT after the first stderr line containing ``after_line`` (else after
    ``after_s``); returns (seconds from SIGINT to exit, returncode, stdout, stderr)."""
    import threading
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        seen = []
        if after_line is None:
            time.sleep(after_s)
        else:
            for line in proc.stderr:
                seen.append(line)
                if after_line in line:
                    break
            assert seen and after_line in seen[-1], "".join(seen)
        t0 = time.time()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        return time.time() - t0, proc.returncode, out, "".join(seen) + err
    finally:
        watchdog.cancel()


def test_sigint_during_bs_selection_ao_returns_a_result(tmp_path):
    """S = 5, K = 8 (about 80 s): Ctrl-C a few seconds in returns within 5 s, exit 0, termination `interrupted` in
    the summary and the JSON, and a reported solution is verified."""
    out_file = tmp_path / "r.json"
    elapsed, code, out, err = _interrupt(["solve", "bs-selection", "--method", "ao", "--seed", "3", "--set", "num_bs=5",
                                          "--set", "num_users=8", "--out", str(out_file)], after_s=8.0)
    assert elapsed < 5, elapsed
    assert code == 0, err
    assert "stopped: interrupted" in out, out
    r = json.loads(out_file.read_text())
    assert r["termination"] == "interrupted" and r["status"] in ("feasible", "optimal", "no_solution"), out
    if r["status"] != "no_solution":
        assert r["verified"] is True and r["lower_bound"] <= r["objective"] * (1 + 1e-9)


def test_an_interrupted_bs_selection_ao_keeps_the_best_inner_sdp_so_far(monkeypatch):
    """Ctrl-C in the second start's rounds: the first start's verified choice comes back with the relaxation bound,
    termination interrupted; Ctrl-C in the first start's rounds: no_solution, interrupted."""
    from isacopt.algorithms import ao
    real, calls = ao.alternate, []

    def interrupted_at(n):
        def alternate(*args, **kwargs):
            calls.append(1)
            if len(calls) == n:
                raise KeyboardInterrupt
            return real(*args, **kwargs)
        return alternate
    monkeypatch.setattr(ao, "alternate", interrupted_at(2))
    full = registry.solve("bs-selection", method="ao", seed=3, overrides=["ao_starts=[\"relaxation\",\"nearest\"]"])
    assert full.termination is Termination.INTERRUPTED, full.notes
    assert full.status in (Status.FEASIBLE, Status.OPTIMAL) and full.verified, full.notes
    assert len(full.metrics["ao_starts"]) == 1 and full.lower_bound <= full.objective * (1 + 1e-9)
    assert any("interrupted (Ctrl-C) after 1 complete start" in n for n in full.notes)
    calls.clear()
    monkeypatch.setattr(ao, "alternate", interrupted_at(1))
    none = registry.solve("bs-selection", method="ao", seed=3, overrides=["ao_starts=[\"relaxation\",\"nearest\"]"])
    assert none.status is Status.NO_SOLUTION and none.termination is Termination.INTERRUPTED, none.notes


def test_sigint_during_robust_precoding_ao_returns_the_last_round(tmp_path):
    """N_tx = 16, K = 4, tolerance 0 (40 rounds, over 3 min): Ctrl-C after the first progress line returns within
    5 s, exit 0, with the last completed round's design recovered and verified, termination `interrupted`."""
    out_file = tmp_path / "r.json"
    elapsed, code, out, err = _interrupt(["solve", "robust-precoding", "--method", "blp-cbf", "--set",
                                          "tx_antennas=16", "--set", "users_per_bs=4", "--set", "ao_tolerance=0",
                                          "--set", "max_iterations=40", "--out", str(out_file)], after_line="INFO AO:")
    assert elapsed < 5, elapsed
    assert code == 0, err
    assert "stopped: interrupted" in out, out
    r = json.loads(out_file.read_text())
    assert r["termination"] == "interrupted" and r["status"] in ("feasible", "optimal"), out
    assert r["verified"] is True and 1 <= r["metrics"]["ao_iterations"] < 40
    assert r["lower_bound"] <= r["objective"] * (1 + 1e-9)
    assert any("AO interrupted (Ctrl-C) in round" in n for n in r["notes"]), r["notes"]


def test_the_precoding_ao_driver_keeps_the_last_completed_round_on_ctrl_c():
    from isacopt.algorithms.ao import Step, alternate

    class First:
        name = "A"

        def __init__(self, stop_in):
            self.stop_in, self.calls = stop_in, 0

        def solve(self, state):
            self.calls += 1
            if self.calls == self.stop_in:
                raise KeyboardInterrupt
            return Step(state + 1, float(state + 1), Status.OPTIMAL)

    class Second:
        name = "B"

        def solve(self, state):
            return Step(state, None, Status.OPTIMAL)

    out = alternate(0, [First(3), Second()], sense="max", max_iter=10, tol=0.0)
    assert out.interrupted and out.status is Status.OPTIMAL and (out.state, out.objective) == (2, 2.0), out
    assert not out.converged and "keeping the state of round 2" in out.notes[-1]
    out = alternate(0, [First(1), Second()], sense="max", max_iter=10)
    assert out.interrupted and out.status is Status.NO_SOLUTION and out.objective is None, out
