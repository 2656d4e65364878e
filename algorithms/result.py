"""One result type for every method of every problem, and its JSON form.

``Result.to_dict()`` is JSON-serializable: complex arrays become ``{"re": [...], "im": [...]}``, real arrays nested
lists. ``Result.from_dict`` reverses it (arrays come back as NumPy arrays).
"""
from __future__ import annotations

import dataclasses
import enum
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class Status(str, enum.Enum):
    """What came back (a solution status). Why the run stopped is :class:`Termination`, kept apart (as Pyomo's
    ``SolutionStatus`` and ``TerminationCondition``). ``*_INACCURATE`` is never promoted; :func:`finalize` owns the
    rules that set these."""

    OPTIMAL = "optimal"                      # proven optimal within the stated tolerance, verified
    FEASIBLE = "feasible"                    # a verified solution without an optimality proof (heuristic, gap > tol)
    INFEASIBLE = "infeasible"                # proven infeasible
    UNBOUNDED = "unbounded"
    OPTIMAL_INACCURATE = "optimal_inaccurate"    # the solver stopped short of its tolerances, or failed verification
    FEASIBLE_INACCURATE = "feasible_inaccurate"  # a heuristic's point that fails verification
    INFEASIBLE_INACCURATE = "infeasible_inaccurate"
    UNBOUNDED_INACCURATE = "unbounded_inaccurate"
    NO_SOLUTION = "no_solution"              # stopped (a limit, an infeasible rounded choice) without a solution
    ERROR = "error"                          # every solver attempt failed

    @classmethod
    def _missing_(cls, value):
        return cls.NO_SOLUTION if value == "limit" else None     # result files written before the split

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE, Status.OPTIMAL_INACCURATE, Status.FEASIBLE_INACCURATE)

    @property
    def inaccurate(self) -> bool:
        return self.value.endswith("_inaccurate")


class Termination(str, enum.Enum):
    """Why a run stopped, apart from what it returned (:class:`Status`)."""

    CONVERGED = "converged"                  # the method ran to its own end (a solver's answer, AO's stopping test)
    TIME_LIMIT = "time_limit"
    NODE_LIMIT = "node_limit"
    ITERATION_LIMIT = "iteration_limit"
    INFEASIBLE_CHOICE = "infeasible_choice"  # a heuristic's discrete choice (e.g. AO's rounding) admits no solution
    SOLVER_FAILURE = "solver_failure"        # a subproblem's solver failed on every attempt
    INTERRUPTED = "interrupted"              # Ctrl-C / SIGTERM


#: Relative gap within which a method with a valid bound may call its point optimal (:func:`finalize`).
GAP_TOLERANCE = 1e-6


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """|objective - bound| / max(|objective|, 1e-10); None without both; inf for an infinite bound."""
    if objective is None or bound is None:
        return None
    if not math.isfinite(bound) or not math.isfinite(objective):
        return math.inf
    return abs(objective - bound) / max(abs(objective), 1e-10)


def encode(value: Any) -> Any:
    """NumPy-aware JSON encoding: complex -> {"re", "im"}, arrays -> lists, enums -> values, NaN/inf -> None."""
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            return {"re": encode(value.real.tolist()), "im": encode(value.imag.tolist())}
        return encode(value.tolist())
    if isinstance(value, (complex, np.complexfloating)):
        return {"re": encode(float(value.real)), "im": encode(float(value.imag))}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def decode(value: Any) -> Any:
    """Inverse of :func:`encode` for arrays: {"re", "im"} -> complex ndarray, numeric lists -> float ndarray."""
    if isinstance(value, dict):
        if set(value) == {"re", "im"}:
            return np.asarray(value["re"], float) + 1j * np.asarray(value["im"], float)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, (int, float, list)) for v in value):
        try:
            return np.asarray(value, float)
        except ValueError:
            return [decode(v) for v in value]
    return value


@dataclass(frozen=True)
class Result:
    """Outcome of one method on one instance (see DESIGN.md, "Results").

    ``objective`` is in the paper's units (``objective_name`` says what it is, ``sense`` whether it is maximized);
    ``solution`` holds the decision variables (beamformers ``w``: (L, K, N) complex, covariances ``R``: (L, N, N)
    complex, discrete choices); ``metrics`` hold paper-unit figures of merit; ``verified`` / ``max_violation`` /
    ``violations`` come from :mod:`isacopt.algorithms.verify`. Branch-and-bound fills ``nodes``, ``sdp_solves``,
    ``lower_bound``, ``upper_bound``, ``gap``; AO fills ``history``. ``termination`` says why the run stopped;
    ``attempts`` holds the conic solver attempts (:class:`~.backends.conic.Attempt` records as dicts) when the
    method made a single conic solve; ``solver_calls`` tabulates every attempt of the run, any method (one row per
    solver, rung and status: count, time, iterations; :func:`~.backends.conic.summarize`).
    """

    problem: str
    method: str
    status: Status
    termination: Termination = Termination.CONVERGED
    objective: float | None = None
    objective_name: str = ""
    sense: str = "min"
    solution: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    verified: bool | None = None
    max_violation: float | None = None
    violations: dict[str, float] = field(default_factory=dict)
    solver: str | None = None
    time_s: float = 0.0
    solver_time_s: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    nodes: int | None = None
    sdp_solves: int | None = None
    lower_bound: float | None = None
    upper_bound: float | None = None
    gap: float | None = None
    seed: int | None = None
    scenario: dict[str, Any] = field(default_factory=dict)
    scenario_name: str | None = None
    channels: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    solver_calls: list[dict[str, Any]] = field(default_factory=list)

    def replace(self, **changes) -> "Result":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("nodes", "sdp_solves", "lower_bound", "upper_bound", "gap") and value is None:
                continue
            out[f.name] = encode(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Result":
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["status"] = Status(kwargs["status"])
        kwargs["termination"] = Termination(kwargs.get("termination", "converged"))
        for key in ("solution", "channels", "metrics"):
            if key in kwargs:
                kwargs[key] = decode(kwargs[key])
        return cls(**kwargs)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Result":
        return cls.from_dict(json.loads(Path(path).read_text()))
