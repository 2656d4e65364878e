"""A study's published claim, as checks on its summary: the verdict of a figure is computed, never written by hand.

A study file may carry a ``[claim]`` table::

    [claim]
    paper = "p_D falls with Gamma; SDR above ZF"          # the paper's claim, in words
    deviation = "..."                                     # optional: why a check is known to fail (the evidence)
    [[claim.check]]
    kind = "decreasing"          # along x (the figure's x unless given), for every line of `method`
    y = "objective"              # "objective", "infeasible_rate", a metric or solution_<name>
    method = "sdr"
    [[claim.check]]
    kind = "below"               # a <= b at every point both solved ("above": a >= b; "equal": within tol)
                                 # ("solved": `method` solved every draw at every point: the paper plots it there)
    y = "objective"
    a = "zf"
    b = "sdr"

A trend (increasing/decreasing) is taken on the method's own means (over its solved draws); a comparison between
methods on the paired means (over the draws every method of the point solved, :mod:`.report`), at the points where
there are such draws.
``where = {scenario = "I"}`` restricts a check to the rows with those swept values; ``tol`` (relative, default 1e-6)
is the slack of every comparison. :func:`verdict` is "reproduced" when every check holds, else "deviates: <the first
failing check>" followed by the study's ``deviation`` text.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .spec import Study

KINDS = ("increasing", "decreasing", "below", "above", "equal", "solved")
CHECK_KEYS = ("kind", "y", "x", "method", "a", "b", "where", "tol")


@dataclass(frozen=True)
class CheckResult:
    text: str
    passed: bool | None                  # None: not evaluated on this grid (a method of the check was not run)
    detail: str = ""


def validate(origin: str, study: Study, claim: dict) -> None:
    """One-line errors for a malformed ``[claim]`` (raised as ValueError; the loader turns them into study errors)."""
    unknown = [k for k in claim if k not in ("paper", "deviation", "check")]
    if unknown:
        raise ValueError(f"[claim] unknown key {unknown[0]!r} (keys: paper, deviation, check)")
    if not isinstance(claim.get("paper", ""), str) or not claim.get("paper"):
        raise ValueError("[claim] needs paper = \"the paper's claim in words\"")
    for check in claim.get("check", []):
        bad = [k for k in check if k not in CHECK_KEYS]
        if bad:
            raise ValueError(f"[[claim.check]] unknown key {bad[0]!r} (keys: {', '.join(CHECK_KEYS)})")
        if check.get("kind") not in KINDS:
            raise ValueError(f"[[claim.check]] kind = {check.get('kind')!r} must be one of {', '.join(KINDS)}")
        methods = _methods(check)
        if not all(isinstance(m, str) for m in methods):
            raise ValueError(f"[[claim.check]] {check['kind']} needs "
                             + ("method = ..." if check["kind"] in KINDS[:2] else "a = ... and b = ..."))
        if check["kind"] != "solved" and not isinstance(check.get("y"), str):
            raise ValueError(f"[[claim.check]] {check['kind']} needs y = \"objective\" or a metric")
        x = check.get("x", study.figure.get("x"))
        if check["kind"] in KINDS[:2] and x not in study.sweep:
            raise ValueError(f"[[claim.check]] {check['kind']}: x = {x!r} must be a swept field")
        for key in check.get("where", {}):
            if key not in study.sweep:
                raise ValueError(f"[[claim.check]] where: {key!r} is not a swept field")


def _methods(check: dict) -> list:
    single = check.get("kind") in ("increasing", "decreasing", "solved")
    return [check.get("method")] if single else [check.get("a"), check.get("b")]


def _column(summary: pd.DataFrame, y: str, paired: bool) -> str:
    if y == "infeasible_rate":
        return y
    return f"{y}_paired_mean" if paired and f"{y}_paired_mean" in summary else f"{y}_mean"


def describe(check: dict, study: Study) -> str:
    where = "".join(f", {k} = {v}" for k, v in check.get("where", {}).items())
    if check["kind"] == "solved":
        return f"{check['method']} solved on every draw at every point{where}"
    if check["kind"] in KINDS[:2]:
        return f"{check['y']} of {check['method']} {check['kind']} in {check.get('x', study.figure.get('x'))}{where}"
    relation = {"below": "<=", "above": ">=", "equal": "=="}[check["kind"]]
    return f"{check['y']}: {check['a']} {relation} {check['b']} at every point{where}"


def evaluate(study: Study, summary: pd.DataFrame, check: dict) -> CheckResult:
    """One check on the summary (module docstring)."""
    rows = summary
    for key, value in check.get("where", {}).items():
        rows = rows[rows[key] == value]
    text = describe(check, study)
    missing = [m for m in _methods(check) if m not in study.methods]
    if missing:
        return CheckResult(text, None, f"{missing[0]} not run on this grid")
    if check["kind"] == "solved":
        mine = rows[rows["method"] == check["method"]]
        short = mine[mine["solved"] < mine["draws"]]
        if len(short):
            first = short.iloc[0]
            return CheckResult(text, False, f"{int(first['solved'])} of {int(first['draws'])} draws solved at point "
                                            f"{int(first['point'])} ({int(first['infeasible'])} infeasible)")
        return CheckResult(text, True)
    column = _column(summary, check["y"], paired=check["kind"] not in KINDS[:2])
    tol = float(check.get("tol", 1e-6))
    if column not in summary:
        return CheckResult(text, False, f"no column {column} in summary.csv")
    if check["kind"] in KINDS[:2]:
        x = check.get("x", study.figure.get("x"))
        others = [k for k in study.sweep if k != x and k not in check.get("where", {})]
        sign = 1.0 if check["kind"] == "increasing" else -1.0
        mine = rows[rows["method"] == check["method"]]
        for key, line in (mine.groupby(others, sort=False) if others else [((), mine)]):
            v = line.sort_values(x)[column].dropna().to_numpy()
            steps = sign * np.diff(v)
            where = f" at {dict(zip(others, key if isinstance(key, tuple) else (key,)))}" if others else ""
            if len(v) < 2:
                return CheckResult(text, False, f"fewer than two solved points{where}")
            if np.any(steps < -tol * np.maximum(np.abs(v[:-1]), 1e-12)):
                return CheckResult(text, False, f"not {check['kind']}{where}: {np.round(v, 6).tolist()}")
        return CheckResult(text, True)
    keys = ["point"]
    a = rows[rows["method"] == check["a"]].set_index(keys)[column]
    b = rows[rows["method"] == check["b"]].set_index(keys)[column]
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1).dropna()
    if both.empty:
        return CheckResult(text, False, "no point where both were solved")
    slack = tol * np.maximum(np.abs(both["b"]), 1e-12)
    ok = {"below": both["a"] <= both["b"] + slack, "above": both["a"] >= both["b"] - slack,
          "equal": (both["a"] - both["b"]).abs() <= slack}[check["kind"]]
    if not ok.all():
        bad = both[~ok].iloc[0]
        return CheckResult(text, False, f"at point {both[~ok].index[0]}: {bad['a']:.6g} vs {bad['b']:.6g}")
    return CheckResult(text, True)


def verdict(study: Study, claim: dict, summary: pd.DataFrame) -> tuple[str, list[CheckResult]]:
    """("reproduced" | "deviates: ..." | "no checks", the check results) of a study's claim on its summary."""
    results = [evaluate(study, summary, check) for check in claim.get("check", [])]
    run = [r for r in results if r.passed is not None]
    if not run:
        return "no checks stated" if not results else "no check runs on this grid", results
    failed = [r for r in run if not r.passed]
    skipped = len(results) - len(run)
    if not failed:
        return "reproduced" + (f" ({skipped} check(s) need the full grid)" if skipped else ""), results
    why = f"deviates: {failed[0].text} fails ({failed[0].detail})"
    return why + (f"; {claim['deviation']}" if claim.get("deviation") else ""), results
