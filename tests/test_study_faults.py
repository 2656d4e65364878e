"""Fault injection on the study engine (issue: nothing lost, nothing wrong): a worker killed with -9, corrupted /
empty / foreign / mismatched job files, a changed configuration without study.json, SIGINT with two workers."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from isacopt.studies.runner import run_study
from isacopt.studies.spec import load_study
from test_studies import ROOT, SMALL, stable, study_file


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (Linux /proc)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with open(task / "children") as fh:
            for child in map(int, fh.read().split()):
                out += [child, *children(child)]
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:          # a zombie is dead
        return fh.read().split(") ")[-1][0] != "Z"


def start(path, out, workers=2):
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), "study", str(path), "--out", str(out), "--workers",
                             str(workers)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_jobs(out, count, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline and len(list((out / "jobs").glob("*.json"))) < count:
        time.sleep(0.05)


def test_a_worker_killed_mid_study_loses_nothing(tmp_path):
    """kill -9 of one worker (as an out-of-memory kill would): the lost jobs are re-run with a new pool in the same
    run, the study exits 0, and the table equals an uninterrupted run's."""
    path = study_file(tmp_path, draws=3)
    whole = stable(run_study(load_study(path), tmp_path / "whole", progress=False))
    out = tmp_path / "killed"
    proc = start(path, out)
    wait_for_jobs(out, 4)
    workers = [c for c in children(proc.pid) if "resource_tracker" not in open(f"/proc/{c}/cmdline").read()]
    assert workers, "no worker process found"
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "retrying them with a new pool" in err
    table = pd.read_csv(out / "jobs.csv")
    assert len(table) == 24 and "error" not in set(table["status"])
    pd.testing.assert_frame_equal(stable(table), stable(pd.read_csv(tmp_path / "whole" / "jobs.csv")))
    assert len(whole) == 24


def test_bad_job_files_are_recomputed_on_resume(tmp_path, caplog):
    path = study_file(tmp_path, draws=1)
    study = load_study(path)
    reference = stable(run_study(study, tmp_path / "ref", progress=False))
    out = tmp_path / "out"
    run_study(study, out, progress=False)
    jobs = sorted((out / "jobs").glob("*.json"))
    jobs[0].write_text("")                                           # empty
    jobs[1].write_text('{"key": "truncat')                           # truncated
    jobs[2].write_text("{}")                                         # an empty object
    jobs[3].write_text(jobs[4].read_text())                          # another job's content
    worker = json.loads(jobs[5].read_text())
    jobs[5].write_text(json.dumps({**worker, "status": "error", "infrastructure": True, "objective": None}))
    foreign = {**json.loads(jobs[6].read_text()), "key": "p0099-d0000-sdr"}      # no job of this study
    (out / "jobs" / "p0099-d0000-sdr.json").write_text(json.dumps(foreign))
    bad_nan = json.loads(jobs[6].read_text())
    jobs[6].write_text(json.dumps(bad_nan).replace('"objective": ', '"objective": NaN, "x": ', 1))  # not JSON
    with caplog.at_level("WARNING"):
        table = run_study(study, out, resume=True, progress=False)
    assert "recomputing 7 job file(s)" in caplog.text
    for reason in ("unreadable", "its key differs", "not a job of this study", "its worker failed"):
        assert reason in caplog.text
    pd.testing.assert_frame_equal(stable(table), reference)          # no phantom row, every job recomputed right


def test_a_changed_study_without_study_json_reuses_nothing(tmp_path):
    path = study_file(tmp_path, draws=1)
    out = tmp_path / "out"
    run_study(load_study(path), out, progress=False)
    (out / "study.json").unlink()
    other = study_file(tmp_path, SMALL.format(draws=1).replace("seed = 11", "seed = 12"), name="other")
    table = stable(run_study(load_study(other), out, progress=False))
    fresh = stable(run_study(load_study(other), tmp_path / "fresh", progress=False))
    pd.testing.assert_frame_equal(table, fresh)                      # the seed-11 rows were not adopted


def test_job_files_are_strict_json(tmp_path):
    out = tmp_path / "out"
    run_study(load_study(study_file(tmp_path, draws=1)), out, progress=False)
    for path in (out / "jobs").glob("*.json"):
        json.loads(path.read_text(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(f"{path}: {c}")))


def test_sigint_with_two_workers_stops_fast_and_keeps_finished_jobs(tmp_path):
    path = study_file(tmp_path, SMALL.format(draws=10))              # 80 jobs: far from done when interrupted
    out = tmp_path / "out"
    proc = start(path, out)
    wait_for_jobs(out, 3)
    family = children(proc.pid)
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    elapsed = time.time() - t0
    assert elapsed < 5, f"took {elapsed:.1f} s to stop"
    time.sleep(1.0)
    assert not [p for p in family if alive(p)], "processes left behind"
    saved = list((out / "jobs").glob("*.json"))
    assert 3 <= len(saved) < 80
    for p in saved:                                                   # every kept job file is complete and valid
        assert json.loads(p.read_text())["key"] == p.stem
    resumed = subprocess.run([sys.executable, str(ROOT / "run.py"), "study", str(path), "--out", str(out),
                              "--resume", "--workers", "2"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0 and len(pd.read_csv(out / "jobs.csv")) == 80


SLOW_SHUTDOWN = """
import sys, time
from isacopt.studies import runner
from isacopt.cli import main
real = runner._stop_pool

def slow(pool):                    # workers that take long to die: the shutdown after the first Ctrl-C lasts 30 s
    real(pool)
    print("shutting down", file=sys.stderr, flush=True)
    time.sleep(30)
runner._stop_pool = slow
sys.exit(main(sys.argv[1:]))
"""


def test_a_second_sigint_during_the_shutdown_exits_at_once(tmp_path):
    """The first Ctrl-C starts the shutdown (here made to last 30 s); a second one ends the study at once, non-zero,
    every job file already written complete and valid, no process left behind."""
    path = study_file(tmp_path, SMALL.format(draws=10))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SHUTDOWN, "study", str(path), "--out", str(out), "--workers",
                             "2"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_jobs(out, 3)
    family = children(proc.pid)
    proc.send_signal(signal.SIGINT)
    for line in proc.stderr:
        if "shutting down" in line:
            break
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    elapsed = time.time() - t0
    assert elapsed < 2.0, f"took {elapsed:.1f} s after the second Ctrl-C"
    assert proc.returncode not in (0, None), err
    time.sleep(1.0)
    assert not [p for p in family if alive(p)], "processes left behind"
    saved = list((out / "jobs").glob("*.json"))
    assert 3 <= len(saved) < 80
    for p in saved:
        assert json.loads(p.read_text())["key"] == p.stem


def test_a_job_a_ctrl_c_cut_short_stops_the_study_and_is_not_kept(tmp_path, monkeypatch):
    """One worker (jobs in process): a method that returns its best so far on Ctrl-C (AO, enumeration, bnb) must not
    turn the interrupt into a finished job - the study stops and the job is recomputed on resume."""
    import pytest
    from isacopt import registry
    from isacopt.algorithms.result import Termination
    real, calls = registry.solve, []

    def solve(*args, **kwargs):
        calls.append(1)
        result = real(*args, **kwargs)
        return result.replace(termination=Termination.INTERRUPTED) if len(calls) == 3 else result
    monkeypatch.setattr(registry, "solve", solve)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_study(load_study(study_file(tmp_path, draws=1)), out, progress=False)
    assert len(list((out / "jobs").glob("*.json"))) == 2


def test_sigterm_of_the_study_leaves_no_workers(tmp_path):
    path = study_file(tmp_path, SMALL.format(draws=10))
    out = tmp_path / "out"
    proc = start(path, out)
    wait_for_jobs(out, 2)
    family = children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    time.sleep(1.0)
    assert not [p for p in family if alive(p)]


def test_a_method_listed_twice_is_refused(tmp_path):
    from isacopt.errors import ScenarioError
    import pytest
    path = study_file(tmp_path, SMALL.format(draws=1).replace('methods = ["sdr", "zf"]', 'methods = ["sdr", "sdr"]'))
    with pytest.raises(ScenarioError, match="methods lists 'sdr' more than once"):
        load_study(path)


def test_a_misspelled_metric_is_named_at_the_end(tmp_path, caplog):
    text = SMALL.format(draws=1).replace('metrics = ["p_detect_min", "bs_power_w"]',
                                         'metrics = ["p_detect_min", "bs_powr_w"]').split("[figure]")[0]
    with caplog.at_level("WARNING"):
        run_study(load_study(study_file(tmp_path, text)), tmp_path / "out", progress=False)
    assert "metric 'bs_powr_w' is in none of the" in caplog.text and "p_detect_min" not in caplog.text


def test_sizes_and_folders_are_user_errors(tmp_path, cli):
    """A 23-digit or absurd size, a huge study, a read-only output folder: one line, exit 2, nothing allocated."""
    for args, text in ((("--set", "tx_antennas=10000000000000000000000"), "tx_antennas"),
                       (("--set", "tx_antennas=1000000"), "is out of range: must be >= 1 and <= 1024"),
                       (("--set", "area_samples=10000000000000000000000"), "larger than any count")):
        out = cli("solve", "detection", *args)
        assert out.returncode == 2 and text in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    huge = study_file(tmp_path, SMALL.format(draws=100000000), name="huge")
    out = cli("study", huge, "--out", tmp_path / "h")
    assert out.returncode == 2 and "jobs exceeds" in out.stderr
    blocked = tmp_path / "a_file"                 # an output path under a regular file cannot be created (also
    blocked.write_text("")                        # as root, who ignores read-only permissions)
    out = cli("study", study_file(tmp_path, draws=1), "--out", blocked / "out")
    assert out.returncode == 2 and "cannot write the study" in out.stderr, out.stderr
    out = cli("solve", "detection", "--set", "tx_antennas=6", "--set", "rx_antennas=6", "--out", blocked / "r.json")
    assert out.returncode == 2 and "cannot write the result" in out.stderr, out.stderr
