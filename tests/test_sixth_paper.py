"""The "sixth paper" check: a toy problem defined in tests/toy/ (its own scenario class and folder, one relaxation
method) runs through the CLI and the study engine without any project file naming it."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOY = Path(__file__).resolve().parent / "toy"


def run(*args):
    env = dict(os.environ, ISACOPT_PROBLEMS="toy_paper", PYTHONPATH=os.pathsep.join([str(TOY), os.environ.get(
        "PYTHONPATH", "")]))
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_toy_problem_runs_through_the_cli(tmp_path):
    listing = run("list")
    assert listing.returncode == 0 and "toy: a test's toy problem" in listing.stdout and "toy_default" in listing.stdout
    out = run("solve", "toy", "--set", "gamma=2.5", "--seed", "4", "--out", tmp_path / "toy.json")
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "toy.json").read_text())
    h = np.asarray(data["channels"]["h"])
    assert data["status"] == "optimal" and data["verified"] is True and data["termination"] == "converged"
    assert data["objective"] == pytest.approx(2.5 / (h @ h), rel=1e-7)          # the closed-form optimum
    bad = run("solve", "toy", "--set", "gamma=-1")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: field 'gamma' = -1 is out of range: must be > 0"]


def test_a_missing_plugin_module_is_one_line():
    env = dict(os.environ, ISACOPT_PROBLEMS="no_such_toy_module")
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "list"], capture_output=True, text=True, env=env)
    assert out.returncode == 2 and "ISACOPT_PROBLEMS names 'no_such_toy_module'" in out.stderr
    assert "Traceback" not in out.stderr
