"""Aggregate a study's job table and draw its figure.

``summarize``: one row per (point, method) with the swept values, the number of draws, how many were solved
(status optimal/feasible and verified), infeasible and failed, the infeasibility rate, and for the objective and
every recorded scalar metric the mean over solved draws and the half-width of its 95% Student-t confidence
interval (``<name>_mean``, ``<name>_ci95``); with a ``reference`` method, the paired relative gap to it
(``gap_mean``, ``gap_ci95``, ``gap_min``, ``gap_max``, ``gap_draws``: draws where both were solved); a discrete
choice ``solution_<name>`` also gets ``<name>_counts`` ("2: 3, 4: 1": how many solved draws chose each value; its
mean is meaningful only for an ordinal choice such as a cluster size, not for an index such as the receiving BS).
Paired statistics: ``common_draws`` counts the draws of a point that every method of the study solved, and
``<name>_paired_mean`` / ``<name>_paired_ci95`` are taken over those draws only, so methods are compared on the same
instances (common random numbers) even where some fail on some draws.
``write_figure``: mean y versus x, one line per series, CI error bars; or an array-metric profile (e.g. a
beampattern), or a trade-off traced by a swept field. By default the paired means are drawn (``paired = false``
in ``[figure]``: each method's mean over its own solved draws, e.g. where a paper averages over feasible draws);
the caption says which, with the number of common draws.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .runner import confidence_halfwidth
from .spec import Study

SOLVED = ("optimal", "feasible")
#: Per series a marker and a line style, so that series that coincide stay visible (one drawn over the other).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _solved(table: pd.DataFrame) -> pd.Series:
    """Per job: a verified optimal/feasible solve."""
    return table["status"].isin(SOLVED) & (table["verified"].astype(str).str.lower() == "true")


def common_draws(table: pd.DataFrame) -> dict:
    """Per point the set of draws that every method run at that point solved (:func:`_solved`)."""
    ok = table[_solved(table)]
    out = {}
    for point, df in table.groupby("point", sort=False):
        methods = set(df["method"])
        solved = ok[ok["point"] == point].groupby("draw")["method"].agg(set)
        out[point] = {d for d, m in solved.items() if m >= methods}
    return out


def summarize(study: Study, table: pd.DataFrame) -> pd.DataFrame:
    keys = ["point", *study.sweep, "method"]
    gaps = reference_gaps(study, table) if study.reference is not None else None
    values = ["objective", *study.metrics, *sorted(c for c in table.columns if c.startswith("solution_"))]
    common = common_draws(table)
    rows = []
    for group, df in table.groupby(keys, sort=True, dropna=False):
        row = dict(zip(keys, group if isinstance(group, tuple) else (group,)))
        solved = df[_solved(df)]
        infeasible = int((df["status"] == "infeasible").sum())
        row.update(draws=len(df), solved=len(solved), infeasible=infeasible,
                   failed=len(df) - len(solved) - infeasible, infeasible_rate=infeasible / len(df))
        for name in values:
            x = _numeric(solved[name]).dropna().to_numpy() if name in solved else np.array([])
            row[f"{name}_mean"] = float(np.mean(x)) if len(x) else np.nan
            row[f"{name}_ci95"] = confidence_halfwidth(x)
            if name.startswith("solution_"):        # a discrete choice: how often each value was chosen
                values_, counts = np.unique(x, return_counts=True)
                row[f"{name}_counts"] = ", ".join(f"{v:g}: {c}" for v, c in zip(values_, counts))
        paired = solved[solved["draw"].isin(common.get(row["point"], set()))]
        row["common_draws"] = len(paired)
        for name in values:
            x = _numeric(paired[name]).dropna().to_numpy() if name in paired else np.array([])
            row[f"{name}_paired_mean"] = float(np.mean(x)) if len(x) else np.nan
            row[f"{name}_paired_ci95"] = confidence_halfwidth(x)
        row["time_s_mean"] = float(_numeric(df["time_s"]).mean())
        if study.reference is not None:
            g = gaps.loc[solved.index].dropna() if len(solved) else pd.Series(dtype=float)
            row.update(gap_mean=float(g.mean()) if len(g) else np.nan, gap_ci95=confidence_halfwidth(g.to_numpy()),
                       gap_min=float(g.min()) if len(g) else np.nan, gap_max=float(g.max()) if len(g) else np.nan,
                       gap_draws=len(g))
        rows.append(row)
    return pd.DataFrame(rows)


def reference_gaps(study: Study, table: pd.DataFrame) -> pd.Series:
    """Per job: its relative gap to the reference method on the same (point, draw), in the problem's sense
    ((objective - reference) / |reference| for a minimization, mirrored for a maximization; >= 0 means no better
    than the reference); NaN where either is not a verified solve. Pairs are exact: common random numbers give
    every method the same instance at a (point, draw)."""
    objective = _numeric(table["objective"]).where(_solved(table))
    ref = table["method"] == study.reference
    by_draw = dict(zip(zip(table.loc[ref, "point"], table.loc[ref, "draw"]), objective[ref]))
    ref_value = pd.Series([by_draw.get(k, np.nan) for k in zip(table["point"], table["draw"])], index=table.index)
    sign = np.where(table.get("sense", pd.Series("min", index=table.index)).astype(str) == "max", -1.0, 1.0)
    return sign * (objective - ref_value) / ref_value.abs().clip(lower=1e-12)


def _caption(study: Study, summary: pd.DataFrame, paired: bool) -> str:
    """What the means are over, with the number of common draws per point (min-max over the points)."""
    common = summary.groupby("point")["common_draws"].max()
    n = int(summary["draws"].max())
    span = f"{common.min()}" if common.min() == common.max() else f"{common.min()}-{common.max()}"
    if paired:
        return (f"means (95% CI) over the draws every method solved: {span} of {n} per point"
                + ("" if common.min() == n else "; each method's own solved and infeasible counts: summary.csv"))
    return f"means (95% CI) over each method's own solved draws (of {n}); draws every method solved: {span}"


def _label(series, values) -> str:
    return ", ".join(f"{s}={v}" if s != "method" else str(v) for s, v in zip(series, values))


def write_figure(study: Study, summary: pd.DataFrame, table: pd.DataFrame, path: Path) -> Path:
    """``kind = "sweep"`` (default): mean of ``y`` versus the swept field ``x`` with CI error bars, one line per value
    of the ``series`` columns; ``y`` may be a list (one panel each; ``"infeasible_rate"`` plots the share of
    infeasible draws). ``kind = "profile"``: an array metric ``y`` versus an array metric ``x`` of draw 0 of every
    (point, method) job, e.g. a beampattern (gain versus angle); ``index`` picks the row of a 2-D ``y`` (the BS).
    ``kind = "tradeoff"``: mean metric ``y`` versus mean metric ``x`` (both with CI bars), one point per value of the
    swept field ``along`` in its sweep order (e.g. RCRB versus achieved SINR traced by the weight rho); ``x`` and ``y``
    may be equal-length lists of metrics, drawn as pairs on one axes (e.g. designed and actual trade-offs)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_spec = study.figure
    x = fig_spec["x"]
    ys = fig_spec.get("y", "objective")
    ys = ys if isinstance(ys, list) else [ys]
    labels = fig_spec.get("ylabel", ys)
    labels = labels if isinstance(labels, list) else [labels]
    profile = fig_spec.get("kind", "sweep") == "profile"
    along = fig_spec.get("along") if fig_spec.get("kind") == "tradeoff" else None
    xs, pairs = (x if isinstance(x, list) else [x]), ys
    if along is not None and len(xs) > 1:       # a tradeoff with paired lists: every pair on one axes
        ys, x = ys[:1], xs[0]
    series = fig_spec.get("series") or ["method", *[k for k in study.sweep if k not in (x, along)]]
    paired = bool(fig_spec.get("paired", True)) and not profile

    def mean_of(name):                  # the gap to a reference is paired already: it has no _paired_ columns
        return f"{name}_paired_mean" if paired and f"{name}_paired_mean" in summary else f"{name}_mean"

    def ci_of(name):
        return f"{name}_paired_ci95" if paired and f"{name}_paired_ci95" in summary else f"{name}_ci95"
    ncols = min(len(ys), 2)
    nrows = -(-len(ys) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.4 * ncols, 4.6 * nrows), squeeze=False)
    for ax in axes.flat[len(ys):]:
        ax.set_visible(False)
    for ax, y, ylabel in zip(axes.flat, ys, labels):
        if profile:
            rows = table[(table["draw"] == 0) & table[y].notna()]
            for _, row in rows.iterrows():
                values = np.asarray(json.loads(row[y]), float)
                values = values[fig_spec.get("index", 0)] if values.ndim == 2 else values
                ax.plot(np.asarray(json.loads(row[x]), float).reshape(-1)[:len(values)], values, lw=1.2,
                        label=_label(series, [row[s] for s in series]))
        groups = [] if profile else (summary.groupby(series, sort=False) if series else [((), summary)])
        for k, (label, df) in enumerate(groups):
            label = label if isinstance(label, tuple) else (label,)
            style = dict(marker=MARKERS[k % len(MARKERS)], ls=LINESTYLES[k % len(LINESTYLES)], ms=5, capsize=3,
                         mfc="none" if k % 2 else None)
            mean, ci = ((df[y], None) if y == "infeasible_rate" else
                        (df[mean_of(y)], df[ci_of(y)].fillna(0.0)))
            if along is not None:
                order = {v: i for i, v in enumerate(study.sweep[along])}
                df = df.iloc[np.argsort([order.get(v, len(order)) for v in df[along]], kind="stable")]
                for xm, ym in zip(xs, [y] if len(xs) == 1 else pairs):   # pairs (x_i, y_i): lines on one axes
                    ax.errorbar(df[mean_of(xm)], df[mean_of(ym)],
                                xerr=df[ci_of(xm)].fillna(0.0), yerr=df[ci_of(ym)].fillna(0.0),
                                label=_label(series, label) + ("" if len(xs) == 1 else f" ({ym})"), **style)
                continue
            df = df.sort_values(x)
            ax.errorbar(df[x], mean, yerr=ci, label=_label(series, label), **style)
        if fig_spec.get("logx"):
            ax.set_xscale("log")
        if fig_spec.get("logy") and y != "infeasible_rate":
            ax.set_yscale("log")
        if y == "infeasible_rate":
            ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel(fig_spec.get("xlabel", x))
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(fig_spec.get("title", study.name), fontsize=11)
    if not profile:
        fig.text(0.5, 0.005, _caption(study, summary, paired), ha="center", va="bottom", fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
