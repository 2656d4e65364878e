"""Study files: what a parameter study sweeps, how many random draws, which methods, which figure.

A study file (TOML, ``data/studies/NAME.toml``) has these keys::

    problem = "detection"                  # a problem of ``run.py list``
    scenario = "detection_k1"              # its base scenario (name or path)
    methods = ["sdr", "zf"]                # methods compared at every point
    draws = 10                             # random instances per point (common to all methods and points)
    seed = 2024                            # study seed
    metrics = ["p_detect_min"]             # scalar metrics recorded per job (besides status, objective, time)
    description = "..."                    # optional
    solver = "clarabel"                    # optional
    reference = "bnb"                      # optional: a method; summary.csv then holds each method's paired gap to
                                           #   it on the same draws (gap_mean, gap_ci95, gap_max, gap_draws)

    [fixed]                                # scenario overrides for every point (optional)
    receiver = 1
    [sweep]                                # swept scenario fields: lists of values
    mode = "cross"                         # "cross" (every combination, default) or "zip" (element-wise)
    sinr_db = [0.0, 20.0, 40.0]
    scenario = ["I", "II"]
    [quick]                                # --quick: replaces draws, methods and any swept list (optional)
    draws = 1
    sinr_db = [0.0, 40.0]
    [figure]                               # optional
    kind = "sweep"                         # "sweep" (default) or "profile" (array metric y vs array metric x,
    index = 0                              #   draw 0 of each job, row `index` of a 2-D y: e.g. a beampattern)
                                           # or "tradeoff" (mean metric y vs mean metric x over the draws, one
    along = "rho"                          #   point per value of the swept field `along`: a trade-off curve)
    x = "sinr_db"                          # a swept field
    y = "p_detect_min"                     # "objective", "infeasible_rate", a recorded metric or solution_<name>
                                           # (e.g. solution_L); a list draws one panel each
    series = ["method", "scenario"]        # columns that tell the lines apart (default: method + other sweeps)
    logx = false
    logy = false
    paired = true                          # means over the draws every method solved (false: each method's own)
    title = "..."
    xlabel = "..."
    ylabel = "..."

Every problem in a study is checked before any job runs: the problem, the methods, the scenario and every point's
overridden scenario are validated, so a typo fails in a second, not after an hour.

Randomness: draw ``d`` of a study uses ``SeedSequence(seed, spawn_key=(d,))`` for every point and method (common
random numbers: methods and sweep points are compared on the same channel realizations, as in the papers), so a
job's result depends only on (study file, point, draw, method) and any job re-runs alone bit-identically.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import math
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..data.loader import STUDY_DIR, check_keys, load_scenario, read_toml, resolve_path
from ..errors import ScenarioError

STUDY_KEYS = ("problem", "scenario", "methods", "draws", "seed", "metrics", "description", "solver", "fixed",
              "sweep", "quick", "figure", "reference", "claim")
BASE = ("key", "point", "draw", "method", "status", "objective", "verified", "max_violation", "time_s", "solver",
        "message", "nodes", "sdp_solves", "gap", "sense")
FIGURE_KEYS = ("kind", "index", "along", "x", "y", "series", "logx", "logy", "paired", "title", "xlabel", "ylabel")


@dataclasses.dataclass(frozen=True)
class Job:
    """One (point, draw, method) of a study; ``key`` names it in the output folder."""

    point: int
    draw: int
    method: str
    values: dict[str, Any]                  # the point's swept values

    @property
    def key(self) -> str:
        return f"p{self.point:04d}-d{self.draw:04d}-{self.method}"


@dataclasses.dataclass(frozen=True)
class Study:
    name: str
    problem: str
    scenario: str
    methods: tuple[str, ...]
    draws: int
    seed: int
    metrics: tuple[str, ...]
    fixed: dict[str, Any]
    sweep: dict[str, list]
    mode: str
    figure: dict[str, Any]
    solver: str | None = None
    description: str = ""
    reference: str | None = None
    claim: dict[str, Any] = dataclasses.field(default_factory=dict)   # the paper's claim as checks (claims.py)

    def points(self) -> list[dict[str, Any]]:
        """The swept values of every point, in a fixed order."""
        names = list(self.sweep)
        if not names:
            return [{}]
        if self.mode == "zip":
            return [dict(zip(names, combo)) for combo in zip(*self.sweep.values())]
        return [dict(zip(names, combo)) for combo in itertools.product(*self.sweep.values())]

    def jobs(self) -> list[Job]:
        return [Job(p, d, m, values) for p, values in enumerate(self.points()) for d in range(self.draws)
                for m in self.methods]

    def seed_of(self, draw: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(draw,))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Hash of everything that determines the jobs' results: not the name, description, figure or reference,
        nor the number of draws and the methods - a job's key names its (point, draw, method) and its seed depends on
        the draw alone, so a study that grows its draws or adds a method resumes with every job it already has."""
        data = {k: v for k, v in self.to_dict().items()
                if k not in ("name", "description", "figure", "reference", "claim", "draws", "methods")}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


#: Largest number of jobs of one study (each is a checkpoint file; beyond it the grid is a typo).
MAX_JOBS = 10 ** 6


def _fail(origin: str, message: str) -> ScenarioError:
    return ScenarioError(f"study {origin}: {message}")


def _check_known(origin: str, keys, allowed, where: str) -> None:
    for key in keys:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            raise _fail(origin, f"unknown key '{key}' in {where}" + (f"; did you mean '{hint[0]}'?" if hint else "")
                        + f" (keys: {', '.join(allowed)})")


def _sweep(origin: str, table: dict[str, Any], where: str) -> dict[str, list]:
    out = {}
    for key, values in table.items():
        if not isinstance(values, list):
            raise _fail(origin, f"[{where}] {key} = {values!r} must be a list of values")
        if not values:
            raise _fail(origin, f"[{where}] {key} is an empty grid; give at least one value")
        out[key] = values
    return out


def load_study(source: str | Path, quick: bool = False) -> Study:
    """Read, validate and (with ``quick``) reduce a study file; every point's scenario is validated here."""
    from ..registry import problem as lookup_problem   # registry imports the models; keep this module light

    path = resolve_path(source, STUDY_DIR, "study")
    origin = f"'{path.stem}'"
    raw = read_toml(path, "study")
    _check_known(origin, raw, STUDY_KEYS, "the study file")
    for key in ("problem", "methods"):
        if key not in raw:
            raise _fail(origin, f"missing key '{key}'")
    spec = lookup_problem(raw["problem"])
    methods = raw["methods"]
    if isinstance(methods, str) or not isinstance(methods, list) or not methods:
        raise _fail(origin, f"methods = {methods!r} must be a non-empty list of method names")
    for m in methods:
        spec.method(m)                                                  # unknown method -> UnknownNameError
    twice = sorted({m for m in methods if methods.count(m) > 1})
    if twice:
        raise _fail(origin, f"methods lists {', '.join(repr(m) for m in twice)} more than once; list each once")
    sweep = dict(raw.get("sweep", {}))
    mode = sweep.pop("mode", "cross")
    if mode not in ("cross", "zip"):
        raise _fail(origin, f"[sweep] mode = {mode!r} is not allowed: expected 'cross' or 'zip'")
    sweep = _sweep(origin, sweep, "sweep")
    draws, seed = raw.get("draws", 1), raw.get("seed", 0)
    quick_table = dict(raw.get("quick", {}))
    if quick:
        draws = quick_table.pop("draws", draws)
        methods = quick_table.pop("methods", methods)
        for m in methods:
            spec.method(m)
        reduced = _sweep(origin, quick_table, "quick")
        _check_known(origin, reduced, list(sweep), "[quick] (only swept fields can be reduced)")
        sweep.update(reduced)
    if not isinstance(draws, int) or isinstance(draws, bool) or draws < 1:
        raise _fail(origin, f"draws = {draws!r} must be an integer >= 1")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise _fail(origin, f"seed = {seed!r} must be a non-negative integer")
    points = math.prod(len(v) for v in sweep.values()) if mode == "cross" else max(map(len, sweep.values()), default=1)
    if points * draws * len(methods) > MAX_JOBS:
        raise _fail(origin, f"{points} points x {draws} draws x {len(methods)} methods = "
                            f"{points * draws * len(methods):.3g} jobs exceeds {MAX_JOBS:.0e}; split the study")
    if mode == "zip" and len({len(v) for v in sweep.values()}) > 1:
        raise _fail(origin, "[sweep] mode = 'zip' needs lists of equal length "
                            f"({', '.join(f'{k}: {len(v)}' for k, v in sweep.items())})")
    fixed = dict(raw.get("fixed", {}))
    check_keys(spec.scenario_class, sweep, f"study {origin} [sweep]")
    check_keys(spec.scenario_class, fixed, f"study {origin} [fixed]")
    overlap = set(fixed) & set(sweep)
    if overlap:
        raise _fail(origin, f"{', '.join(sorted(overlap))} both fixed and swept; keep one")
    metrics = raw.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise _fail(origin, f"metrics = {metrics!r} must be a list of metric names")
    clash = [m for m in metrics if m in [f.name for f in dataclasses.fields(spec.scenario_class)] + list(BASE)]
    if clash:
        raise _fail(origin, f"metric '{clash[0]}' has the name of a scenario field or table column; its value is "
                            "in each job's JSON result (run.py solve --out), not in the study table")
    reference = raw.get("reference")
    if reference is not None and reference not in methods:
        raise _fail(origin, f"reference = {reference!r} must be one of the methods compared ({', '.join(methods)})")
    figure = dict(raw.get("figure", {}))
    _check_known(origin, figure, FIGURE_KEYS, "[figure]")
    study = Study(name=path.stem + ("-quick" if quick else ""), problem=spec.name,
                  scenario=str(raw.get("scenario", spec.default_scenario)), methods=tuple(methods), draws=draws,
                  seed=seed, metrics=tuple(metrics), fixed=fixed, sweep=sweep, mode=mode, figure=figure,
                  solver=raw.get("solver"), description=raw.get("description", ""), reference=reference,
                  claim=dict(raw.get("claim", {})))
    _check_figure(origin, study)
    if study.claim:
        from .claims import validate
        try:
            validate(origin, study, study.claim)
        except ValueError as exc:
            raise _fail(origin, str(exc)) from None
    for values in study.points():                                      # every point's scenario must validate
        load_scenario(spec.scenario_class, spec.name, study.scenario, spec.default_scenario,
                      values={**fixed, **values})
    if study.solver is not None:
        from ..algorithms import backends
        backends.require_usable(study.solver, spec.method(methods[0])[1].solver_kind)
    return study


def _check_figure(origin: str, study: Study) -> None:
    fig = study.figure
    if not fig:
        return
    columns = ["method", *study.sweep]
    kind = fig.get("kind", "sweep")
    if kind not in ("sweep", "profile", "tradeoff"):
        raise _fail(origin, f"[figure] kind = {kind!r} is not allowed: expected 'sweep', 'profile' or 'tradeoff'")
    if kind == "tradeoff" and fig.get("along") not in study.sweep:
        given = f"along = {fig['along']!r} must be" if "along" in fig else "needs along ="
        raise _fail(origin, f"[figure] a tradeoff {given} a swept field ({', '.join(study.sweep) or 'none swept'})")
    if kind == "tradeoff":
        xs, ys = ([v] if not isinstance(v, list) else v for v in (fig.get("x"), fig.get("y")))
        if len(xs) > 1 and len(xs) != len(ys):
            raise _fail(origin, f"[figure] a tradeoff's x and y lists must pair up ({len(xs)} x, {len(ys)} y)")
        bad = [v for v in xs + ys if v not in study.metrics]
        if bad:
            raise _fail(origin, f"[figure] a tradeoff's x and y must be metrics ({', '.join(study.metrics)}); "
                                f"{bad[0]!r} is not")
    if kind == "profile":
        for key in ("x", "y"):
            if fig.get(key) not in study.metrics:
                raise _fail(origin, f"[figure] a profile's {key} = {fig.get(key)!r} must be one of metrics "
                                    f"({', '.join(study.metrics)})")
    if kind in ("profile", "tradeoff"):
        bad = [s for s in fig.get("series", ["method"]) if s not in columns]
        if bad:
            raise _fail(origin, f"[figure] series entry {bad[0]!r} is not 'method' or a swept field")
        return
    x = fig.get("x")
    if x not in study.sweep:
        raise _fail(origin, f"[figure] x = {x!r} must be a swept field ({', '.join(study.sweep) or 'none swept'})")
    ys = fig.get("y", "objective")
    for y in ys if isinstance(ys, list) else [ys]:
        if y == "gap" and study.reference is not None:
            continue
        if y not in ("objective", "infeasible_rate") and y not in study.metrics and not str(y).startswith("solution_"):
            raise _fail(origin, f"[figure] y = {y!r} must be 'objective', 'infeasible_rate', one of metrics "
                                f"({', '.join(study.metrics)}), solution_<name> (a scalar discrete choice) or, "
                                "with a reference method, 'gap'")
    for s in fig.get("series", []):
        if s not in columns:
            raise _fail(origin, f"[figure] series entry {s!r} is not 'method' or a swept field")
