"""Published trends, checked on the shipped studies' --quick grids (slow: each runs a few dozen solves).

Per figure the paper's claim, as an assertion over the aggregated table (means over draws of verified solves).
"""
import pandas as pd
import pytest

from isacopt.studies.runner import run_study
from isacopt.studies.spec import load_study

pytestmark = pytest.mark.slow
TOL = 1e-7


def summary(tmp_path, name):
    study = load_study(name, quick=True)
    table = run_study(study, tmp_path / name, workers=2, progress=False)
    assert set(table["status"]) == {"optimal"} and table["verified"].all()
    return pd.read_csv(tmp_path / name / "summary.csv")


def by(df, x, **where):
    for k, v in where.items():
        df = df[df[k] == v]
    return df.sort_values(x)["objective_mean"].to_numpy()


def proposed_beats_benchmarks(s, x):
    for keys, df in s.groupby([c for c in ("scenario", "receiver", x) if c in s]):
        v = df.set_index("method")["objective_mean"]
        assert v["sdr"] >= v["zf"] - TOL and v["sdr"] >= v["sensing-only"] - TOL, keys


@pytest.mark.parametrize("name, x, direction", [("detection_fig3", "sinr_db", -1), ("detection_fig8", "sinr_db", -1),
                                                ("detection_fig4", "false_alarm_prob", +1),
                                                ("detection_fig9", "false_alarm_prob", +1),
                                                ("detection_fig5", "max_power_w", +1),
                                                ("detection_fig10", "max_power_w", +1)])
def test_detection_trends(tmp_path, name, x, direction):
    """Figs. 3/8: p_D falls as Gamma grows; Figs. 4/9: p_D rises with p_FA; Figs. 5/10: p_D rises with P_max; in
    all, the proposed SDR is at least as good as ZF and sensing-only, and Scenario I beats Scenario II."""
    s = summary(tmp_path, name)
    proposed_beats_benchmarks(s, x)
    for (method, scen, rec), df in s.groupby(["method", "scenario", "receiver"]):
        values = by(df, x)
        assert all(direction * (b - a) >= -TOL for a, b in zip(values, values[1:])), (method, scen, rec, values)
    if set(s["scenario"]) == {"I", "II"}:
        pivot = s.pivot_table(index=["method", "receiver", x], columns="scenario", values="objective_mean")
        assert (pivot["I"] >= pivot["II"] - TOL).all()


def test_detection_fig6_type2_never_below_type1(tmp_path):
    """Fig. 6: Type-II receivers (sensing interference cancelled) are never worse than Type-I at any CU angle."""
    s = summary(tmp_path, "detection_fig6")
    pivot = s.pivot_table(index=["scenario", "user_angle_deg"], columns="receiver", values="objective_mean")
    assert (pivot[2] >= pivot[1] - TOL).all()
