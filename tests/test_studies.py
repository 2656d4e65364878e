"""Study engine: validation before any job, per-job reproducibility, kill + resume, local pool == Dask."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from isacopt.errors import IsacoptError
from isacopt.studies.runner import run_job, run_study
from isacopt.studies.spec import load_study

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = ["time_s", "time_s_mean"]          # wall-clock columns: everything else must match exactly

SMALL = """
problem = "detection"
scenario = "detection_k1"
methods = ["sdr", "zf"]
draws = {draws}
seed = 11
metrics = ["p_detect_min", "bs_power_w"]
[fixed]
tx_antennas = 6
rx_antennas = 6
[sweep]
sinr_db = [0.0, 20.0, 45.0, 75.0]
[figure]
x = "sinr_db"
y = ["p_detect_min", "infeasible_rate"]
"""


def study_file(tmp_path, text=None, draws=2, name="small"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text if text is not None else SMALL.format(draws=draws))
    return path


def stable(df):
    return df.drop(columns=[c for c in VOLATILE if c in df.columns]).reset_index(drop=True)


def script(*args, **kw):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=ROOT,
                          **kw)


def test_grid_jobs_and_seeds(tmp_path):
    study = load_study(study_file(tmp_path))
    assert len(study.points()) == 4 and len(study.jobs()) == 4 * 2 * 2
    assert len({j.key for j in study.jobs()}) == len(study.jobs())
    # common random numbers: the seed depends on the draw only, never on the point or the method
    assert study.seed_of(1).generate_state(4).tolist() == study.seed_of(1).generate_state(4).tolist()
    assert study.seed_of(0).generate_state(4).tolist() != study.seed_of(1).generate_state(4).tolist()
    zipped = load_study(study_file(tmp_path, SMALL.format(draws=1).replace(
        "sinr_db = [0.0, 20.0, 45.0, 75.0]", 'mode = "zip"\nsinr_db = [0.0, 20.0]\nmax_power_dbm = [30.0, 33.0]')))
    assert zipped.points() == [{"sinr_db": 0.0, "max_power_dbm": 30.0}, {"sinr_db": 20.0, "max_power_dbm": 33.0}]


def test_study_records_statuses_and_aggregates(tmp_path):
    """45 dB is within reach of the CUs (SNR ~53 dB with 6 antennas) but the 75 dB point is infeasible: infeasible rows are
    recorded and counted, never abort the study; the objective decreases with Gamma (Fig. 3's trend)."""
    study = load_study(study_file(tmp_path))
    table = run_study(study, tmp_path / "out", progress=False)
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert (tmp_path / "out" / "figure.png").stat().st_size > 10_000
    assert len(table) == 16 and set(table[table["sinr_db"] == 75.0]["status"]) == {"infeasible"}
    solved = table[table["sinr_db"] < 70]
    assert set(solved["status"]) == {"optimal"} and solved["verified"].all()
    sdr = summary[summary["method"] == "sdr"].sort_values("sinr_db")
    assert sdr["infeasible_rate"].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert sdr["objective_mean"].iloc[0] >= sdr["objective_mean"].iloc[2] - 1e-9
    both = summary.pivot(index="sinr_db", columns="method", values="objective_mean").dropna()
    assert (both["sdr"] >= both["zf"] - 1e-7).all()                      # proposed >= ZF at every point


def test_a_job_rerun_alone_reproduces_its_row(tmp_path):
    study = load_study(study_file(tmp_path))
    table = run_study(study, tmp_path / "out", progress=False)
    job = study.jobs()[7]
    row = run_job(study, job)
    saved = table[table["key"] == job.key].iloc[0]
    for name in ("status", "objective", "p_detect_min", "bs_power_w", "verified", "max_violation"):
        assert row[name] == saved[name] or (isinstance(row[name], str) and json.loads(row[name]) ==
                                            json.loads(saved[name])), name


def test_killed_study_resumes_to_the_same_table(tmp_path):
    path = study_file(tmp_path, draws=3)
    whole = stable(run_study(load_study(path), tmp_path / "whole", progress=False))
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "study", str(path), "--out", str(out),
                             "--workers", "1"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "jobs").glob("*.json"))) < 5:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(list((out / "jobs").glob("*.json")))
    assert 5 <= partial < 24 and not (out / "jobs.csv").exists()
    before = {p: p.stat().st_mtime_ns for p in (out / "jobs").glob("*.json")}
    again = script("study", str(path), "--out", str(out))
    assert again.returncode == 2 and "--resume" in again.stderr          # never silently mixes two runs
    done = script("study", str(path), "--out", str(out), "--resume", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert f"small: resuming, {partial} job(s) reused, {24 - partial} to run" in done.stderr
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())    # finished jobs were not re-run
    pd.testing.assert_frame_equal(stable(pd.read_csv(out / "jobs.csv")), stable(pd.read_csv(tmp_path / "whole" /
                                                                                             "jobs.csv")))
    pd.testing.assert_frame_equal(stable(pd.read_csv(out / "summary.csv")),
                                  stable(pd.read_csv(tmp_path / "whole" / "summary.csv")))
    assert len(whole) == 24


def test_changed_study_file_is_not_resumed_into_old_results(tmp_path):
    path = study_file(tmp_path, draws=1)
    run_study(load_study(path), tmp_path / "out", progress=False)
    path.write_text(SMALL.format(draws=1).replace("seed = 11", "seed = 12"))
    with pytest.raises(IsacoptError, match="holds a different study"):
        run_study(load_study(path), tmp_path / "out", resume=True, progress=False)


def test_local_pool_and_dask_cluster_give_identical_tables(tmp_path):
    distributed = pytest.importorskip("distributed")
    path = study_file(tmp_path, draws=1)
    local = run_study(load_study(path), tmp_path / "local", workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        remote = run_study(load_study(path), tmp_path / "dask", scheduler=lc.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(stable(local), stable(remote))
    pd.testing.assert_frame_equal(stable(pd.read_csv(tmp_path / "local" / "summary.csv")),
                                  stable(pd.read_csv(tmp_path / "dask" / "summary.csv")))


def test_a_failed_dask_start_leaves_a_folder_a_plain_rerun_accepts(tmp_path):
    """Nothing listens at the scheduler address: a one-line error (exit 2), and the output folder is not created,
    so the same command without --scheduler (and without --resume) runs."""
    pytest.importorskip("distributed")
    path, out = study_file(tmp_path, draws=1), tmp_path / "out"
    failed = script("study", str(path), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9", timeout=120)
    assert failed.returncode == 2 and "cannot reach the dask scheduler" in failed.stderr, failed.stderr
    assert not out.exists()
    rerun = script("study", str(path), "--out", str(out), timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert len(pd.read_csv(out / "jobs.csv")) == 8


@pytest.mark.parametrize("edit, expected", [
    (("methods = [\"sdr\", \"zf\"]", "methods = [\"sdr\", \"mrt\"]"), "unknown method 'mrt'"),
    (("sinr_db = [0.0, 20.0, 45.0, 75.0]", "sinr_db = []"), "sinr_db is an empty grid"),
    (("sinr_db = [0.0, 20.0, 45.0, 75.0]", "sinr_dbb = [0.0]"), "unknown field 'sinr_dbb'"),
    (("sinr_db = [0.0, 20.0, 45.0, 75.0]", "sinr_db = [0.0]\nfalse_alarm_prob = [0.1, 2.0]"),
     "false_alarm_prob' = 2.0 is out of range"),
    (("draws = 1", "draws = 0"), "draws = 0 must be an integer >= 1"),
    (("\"bs_power_w\"]", "\"sinr_db\"]"), "metric 'sinr_db' has the name of a scenario field"),
    (("problem = \"detection\"", "problem = \"detecton\""), "unknown problem 'detecton'"),
    (("[figure]", "[figure]\nz = 1"), "unknown key 'z' in [figure]"),
    (("[figure]", "[figure]\nkind = \"bar\""), "kind = 'bar' is not allowed"),
    (("[figure]", "[figure]\nkind = \"profile\""), "a profile's x = 'sinr_db' must be one of metrics"),
    (("[figure]", "[figure]\nkind = \"tradeoff\""), "a tradeoff needs along = a swept field (sinr_db)"),
    (("[figure]", "[figure]\nkind = \"tradeoff\"\nalong = \"sinr_db\""),
     "a tradeoff's x and y must be metrics (p_detect_min, bs_power_w); 'sinr_db' is not"),
    (("x = \"sinr_db\"",
      "kind = \"tradeoff\"\nalong = \"sinr_db\"\nx = [\"bs_power_w\", \"bs_power_w\", \"p_detect_min\"]"),
     "a tradeoff's x and y lists must pair up (3 x, 2 y)"),
    (("y = [\"p_detect_min\", \"infeasible_rate\"]", "y = \"rate\""), "y = 'rate' must be 'objective', 'infeasible_rate', one of metrics"),
    (("seed = 11", "sed = 11"), "unknown key 'sed' in the study file; did you mean 'seed'?"),
])
def test_malformed_study_fails_before_any_job(tmp_path, cli, edit, expected):
    path = study_file(tmp_path, SMALL.format(draws=1).replace(*edit))
    out = cli("study", str(path), "--out", str(tmp_path / "out"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and expected in out.stderr, out.stderr
    assert not (tmp_path / "out").exists()                              # failed before any job ran


def test_unknown_study_name_and_broken_toml(tmp_path, cli):
    out = cli("study", "detection_fig33")
    assert out.returncode == 2 and "unknown study 'detection_fig33'; did you mean 'detection_fig3'?" in out.stderr
    out = cli("study", str(study_file(tmp_path, "problem = = 1")))
    assert out.returncode == 2 and "is not valid TOML" in out.stderr


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "data" / "studies").glob("*.toml")))
def test_shipped_studies_validate(name):
    """Every shipped study (full and --quick) passes validation: problem, methods, every point's scenario."""
    for quick in (False, True):
        study = load_study(name, quick=quick)
        assert study.jobs()


def test_reference_gaps_are_paired_per_draw(tmp_path):
    """With reference = "sdr" (the global optimum of this maximization) every ZF gap is >= 0, equals the per-draw
    (sdr - zf) / sdr recomputed from jobs.csv, and the reference's own gap is 0; a reference outside the methods is a
    one-line error before any job."""
    text = SMALL.format(draws=2).replace('seed = 11', 'seed = 11\nreference = "sdr"').replace(
        "sinr_db = [0.0, 20.0, 45.0, 75.0]", "sinr_db = [0.0, 20.0]").replace(
        'y = ["p_detect_min", "infeasible_rate"]', 'y = ["p_detect_min", "gap"]')
    study = load_study(study_file(tmp_path, text, name="gaps"))
    table = run_study(study, tmp_path / "out", workers=1, progress=False)
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert (tmp_path / "out" / "figure.png").exists()
    for (point, method), row in summary.set_index(["point", "method"]).iterrows():
        if method == "sdr":
            assert row["gap_mean"] == 0.0 and row["gap_max"] == 0.0
            continue
        jobs = table[table["point"] == point].pivot(index="draw", columns="method", values="objective")
        expected = (jobs["sdr"] - jobs["zf"]) / jobs["sdr"].abs()
        assert row["gap_draws"] == 2 and row["gap_mean"] == pytest.approx(expected.mean(), rel=1e-12)
        assert row["gap_max"] >= 0.0
    with pytest.raises(IsacoptError, match="reference = 'ao' must be one of the methods"):
        load_study(study_file(tmp_path, text.replace('reference = "sdr"', 'reference = "ao"'), name="bad"))


def test_tradeoff_figure_traces_the_swept_field_in_sweep_order(tmp_path, monkeypatch):
    """kind = "tradeoff": one line per method through (mean x, mean y) of every point, in the order of `along`'s
    sweep (not sorted by x), the values of summary.csv."""
    import matplotlib.pyplot as plt
    text = SMALL.format(draws=1).replace("sinr_db = [0.0, 20.0, 45.0, 75.0]", "sinr_db = [20.0, 0.0, 10.0]").replace(
        'x = "sinr_db"\ny = ["p_detect_min", "infeasible_rate"]',
        'kind = "tradeoff"\nalong = "sinr_db"\nx = "p_detect_min"\ny = "reduced_dimension"').replace(
        '"bs_power_w"]', '"reduced_dimension"]')
    study = load_study(study_file(tmp_path, text, name="tradeoff"))
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    run_study(study, tmp_path / "out", workers=1, progress=False)
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    lines = {bars.get_label(): bars.lines[0] for bars in figures[-1].axes[0].containers}     # errorbar: data line
    assert set(lines) == {"sdr", "zf"}
    for method, line in lines.items():
        df = summary[summary["method"] == method].set_index("sinr_db").loc[[20.0, 0.0, 10.0]]
        assert line.get_xdata().tolist() == pytest.approx(df["p_detect_min_mean"].tolist())
        assert line.get_ydata().tolist() == pytest.approx(df["reduced_dimension_mean"].tolist())
        assert len(set(line.get_xdata())) == 3


def test_progress_lines_when_stderr_is_a_log_file(tmp_path):
    """`run.py study ... > log 2>&1` (no terminal): progress still shows, as lines with counts by status; a run whose
    stderr is a file ends with the 100 % line."""
    path = study_file(tmp_path, draws=2)
    out = script("study", str(path), "--out", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("small: ")]
    assert lines and lines[-1].startswith("small: 16/16 jobs (100 %;") and "infeasible" in lines[-1], out.stderr
    assert len(lines) <= 11


def test_line_progress_reports_every_tenth_and_the_time_left():
    import io
    from isacopt.studies.runner import LineProgress
    stream = io.StringIO()
    bar = LineProgress("s", 30, every_s=1e9, stream=stream)
    for k in range(30):
        bar.update("optimal" if k % 3 else "infeasible")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and lines[0].startswith("s: 3/30 jobs (10 %; 1 infeasible, 2 optimal)")
    assert "left" in lines[0] and "left" not in lines[-1] and lines[-1].startswith("s: 30/30 jobs (100 %")


def test_discrete_choices_are_summarized_as_counts(tmp_path):
    """A categorical solution column (the receiving BS) gets how often each value was chosen among the verified
    solves; unverified or unsolved draws do not count."""
    from isacopt.studies.report import summarize
    study = load_study(study_file(tmp_path, draws=4))
    rows = [dict(point=0, sinr_db=0.0, method="sdr", draw=k, status=s, verified=v, objective=1.0, p_detect_min=0.5,
                 bs_power_w=None, time_s=0.1, solution_receiver=r)
            for k, (s, v, r) in enumerate([("optimal", True, 2), ("optimal", True, 2), ("optimal", True, 4),
                                           ("optimal", False, 1)])]
    summary = summarize(study, pd.DataFrame(rows))
    assert summary.loc[0, "solution_receiver_counts"] == "2: 2, 4: 1" and summary.loc[0, "solved"] == 3


def test_paired_statistics_compare_methods_on_common_draws(tmp_path, monkeypatch):
    """zf fails on draw 1 (infeasible) and sdr's draw 1 is its best: the per-method mean of sdr uses all three
    draws, the paired mean only draws 0 and 2, which both solved; common_draws says 2. The figure draws the paired
    means by default (the caption says so), each series with its own marker and line style, and an infeasibility
    axis from 0 to 1."""
    import matplotlib.pyplot as plt
    from isacopt.studies.report import summarize, write_figure
    study = load_study(study_file(tmp_path, draws=3))
    jobs = [("sdr", 0, "optimal", 1.0), ("sdr", 1, "optimal", 7.0), ("sdr", 2, "optimal", 3.0),
            ("zf", 0, "optimal", 0.5), ("zf", 1, "infeasible", None), ("zf", 2, "optimal", 1.5)]
    table = pd.DataFrame([dict(point=0, sinr_db=0.0, method=m, draw=d, status=st, verified=st == "optimal",
                               objective=v, p_detect_min=v, bs_power_w=None, time_s=0.1) for m, d, st, v in jobs])
    summary = summarize(study, table).set_index("method")
    assert summary.loc["sdr", "objective_mean"] == pytest.approx(11 / 3)
    assert summary.loc["sdr", "objective_paired_mean"] == pytest.approx(2.0)
    assert summary.loc["zf", "objective_paired_mean"] == pytest.approx(1.0) == summary.loc["zf", "objective_mean"]
    assert (summary["common_draws"] == 2).all() and summary.loc["zf", "infeasible"] == 1
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    write_figure(study, summary.reset_index(), table, tmp_path / "f.png")
    fig = figures[-1]
    ax, rate = fig.axes[0], fig.axes[1]
    heights = {c.get_label(): c.lines[0].get_ydata().tolist() for c in ax.containers}
    assert heights == {"sdr": [2.0], "zf": [1.0]}
    markers = {c.lines[0].get_marker() for c in ax.containers}
    styles = {c.lines[0].get_linestyle() for c in ax.containers}
    assert len(markers) == 2 and len(styles) == 2
    assert rate.get_ylim() == pytest.approx((-0.03, 1.03))
    assert "every method solved: 2 of 3" in " ".join(t.get_text() for t in fig.texts)


def test_claims_give_a_computed_verdict_and_the_gallery_page(tmp_path):
    """[claim] checks are evaluated on the summary: p_D of the SDR falls with Gamma and ZF is never above the SDR
    (both hold: the SDR is the optimum of the same problem), while "ZF above SDR" fails and says where; the gallery
    page and verdict table carry the claim, the verdict and the figure; a malformed check is a one-line error."""
    from isacopt.studies.claims import verdict
    from isacopt.studies.gallery import build_gallery
    claim = """
[claim]
paper = "p_D falls with Gamma; ZF never above the SDR"
[[claim.check]]
kind = "decreasing"
y = "objective"
method = "sdr"
[[claim.check]]
kind = "below"
y = "objective"
a = "zf"
b = "sdr"
"""
    path = study_file(tmp_path, SMALL.format(draws=1) + claim, name="claimed")
    page = build_gallery(studies=[path], out=tmp_path / "gallery")
    text = page.read_text()
    assert "**Verdict:** reproduced" in text and "p_D falls with Gamma" in text and "claimed/figure.png" in text
    assert "| `claimed` | p_D falls with Gamma; ZF never above the SDR | reproduced |" in (
        tmp_path / "gallery" / "verdicts.md").read_text()
    study = load_study(path)
    summary = pd.read_csv(tmp_path / "gallery" / "claimed" / "summary.csv")
    wrong = dict(study.claim, check=[dict(kind="above", y="objective", a="zf", b="sdr")])
    text, results = verdict(study, wrong, summary)
    assert text.startswith("deviates: objective: zf >= sdr at every point fails (at point") and not results[0].passed
    zf = summary[summary["method"] == "zf"]
    assert (zf["solved"] < zf["draws"]).any()                    # ZF cannot meet the highest SINR target
    solved = verdict(study, dict(study.claim, check=[dict(kind="solved", method="zf")]), summary)[1][0]
    assert solved.passed is False and "draws solved at point" in solved.detail
    bad = study_file(tmp_path, SMALL.format(draws=1) + claim.replace('kind = "below"', 'kind = "under"'), name="bad")
    with pytest.raises(IsacoptError, match="kind = .under. must be one of"):
        load_study(bad)


def test_tables_are_also_written_as_parquet(tmp_path):
    """jobs.parquet / summary.parquet hold the same numbers as the CSV files, with typed columns."""
    pytest.importorskip("pyarrow")
    run_study(load_study(study_file(tmp_path, draws=1)), tmp_path / "out", progress=False)
    for name in ("jobs", "summary"):
        csv = pd.read_csv(tmp_path / "out" / f"{name}.csv")
        parquet = pd.read_parquet(tmp_path / "out" / f"{name}.parquet")
        assert list(parquet.columns) == list(csv.columns) and len(parquet) == len(csv)
        for column in csv.select_dtypes("number").columns:
            pd.testing.assert_series_equal(parquet[column].astype(float), csv[column].astype(float),
                                           check_names=False, rtol=1e-12)
    assert pd.read_parquet(tmp_path / "out" / "jobs.parquet")["status"].isin(["optimal", "infeasible"]).all()


def test_resume_after_growing_draws_or_methods_reuses_every_job(tmp_path):
    """1 draw of sdr, then 2 draws of sdr and zf with --resume: the 4 old jobs are reused (their files untouched),
    12 are computed, and the table equals a fresh run of the grown study."""
    small = study_file(tmp_path, SMALL.format(draws=1).replace('methods = ["sdr", "zf"]', 'methods = ["sdr"]'),
                       name="small")
    run_study(load_study(small), tmp_path / "out", progress=False)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "jobs").glob("*.json")}
    assert len(before) == 4
    grown = study_file(tmp_path, SMALL.format(draws=2), name="small")
    out = script("study", str(grown), "--out", str(tmp_path / "out"), "--resume")
    assert out.returncode == 0 and "small: resuming, 4 job(s) reused, 12 to run" in out.stderr, out.stderr
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    run_study(load_study(grown), tmp_path / "fresh", progress=False)
    pd.testing.assert_frame_equal(stable(pd.read_csv(tmp_path / "out" / "jobs.csv")),
                                  stable(pd.read_csv(tmp_path / "fresh" / "jobs.csv")))


def test_top_level_study_api_runs_a_study_file(tmp_path):
    import isacopt
    table = isacopt.study(str(study_file(tmp_path, draws=1)), out=str(tmp_path / "api"))
    assert len(table) == 8 and (tmp_path / "api" / "summary.csv").exists()
    run_study(load_study(study_file(tmp_path, draws=1)), tmp_path / "direct", progress=False)
    pd.testing.assert_frame_equal(stable(pd.read_csv(tmp_path / "api" / "jobs.csv")),
                                  stable(pd.read_csv(tmp_path / "direct" / "jobs.csv")))
