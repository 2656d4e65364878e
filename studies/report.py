"""Aggregate a study's job table and draw its figure.

``summarize``: one row per (point, method) with the swept values, the number of draws, how many were solved
(status optimal/feasible and verified), infeasible and failed, the infeasibility rate, and for the objective and
every recorded scalar metric the mean over solved draws and the half-width of its 95% Student-t confidence
interval (``<name>_mean``, ``<name>_ci95``). ``write_figure``: mean y versus x, one line per series, CI error bars.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .runner import confidence_halfwidth
from .spec import Study

SOLVED = ("optimal", "feasible")


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def summarize(study: Study, table: pd.DataFrame) -> pd.DataFrame:
    keys = ["point", *study.sweep, "method"]
    values = ["objective", *study.metrics]
    rows = []
    for group, df in table.groupby(keys, sort=True, dropna=False):
        row = dict(zip(keys, group if isinstance(group, tuple) else (group,)))
        verified = df["verified"].astype(str).str.lower() == "true"
        solved = df[df["status"].isin(SOLVED) & verified]
        infeasible = int((df["status"] == "infeasible").sum())
        row.update(draws=len(df), solved=len(solved), infeasible=infeasible,
                   failed=len(df) - len(solved) - infeasible, infeasible_rate=infeasible / len(df))
        for name in values:
            x = _numeric(solved[name]).dropna().to_numpy() if name in solved else np.array([])
            row[f"{name}_mean"] = float(np.mean(x)) if len(x) else np.nan
            row[f"{name}_ci95"] = confidence_halfwidth(x)
        row["time_s_mean"] = float(_numeric(df["time_s"]).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def write_figure(study: Study, summary: pd.DataFrame, path: Path) -> Path:
    """Mean of ``figure.y`` versus ``figure.x``; one line per value of the ``series`` columns."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_spec = study.figure
    x, y = fig_spec["x"], fig_spec.get("y", "objective")
    series = fig_spec.get("series") or ["method", *[k for k in study.sweep if k != x]]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    groups = summary.groupby(series, sort=False) if series else [((), summary)]
    for label, df in groups:
        label = label if isinstance(label, tuple) else (label,)
        df = df.sort_values(x)
        ax.errorbar(df[x], df[f"{y}_mean"], yerr=df[f"{y}_ci95"].fillna(0.0), marker="o", ms=4, capsize=3,
                    label=", ".join(f"{s}={v}" if s != "method" else str(v) for s, v in zip(series, label)))
    if fig_spec.get("logx"):
        ax.set_xscale("log")
    if fig_spec.get("logy"):
        ax.set_yscale("log")
    ax.set_xlabel(fig_spec.get("xlabel", x))
    ax.set_ylabel(fig_spec.get("ylabel", y))
    ax.set_title(fig_spec.get("title", study.name), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
