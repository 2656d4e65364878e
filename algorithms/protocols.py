"""The kinds of models the algorithms accept (DESIGN.md, "Algorithms are typed by what they consume").

A paper implements one of these; it does not invent a fourth way. They are ``typing.Protocol``s: structural, checked
by ``isinstance`` at the boundary of :func:`~.sdr.solve_relaxation` and in ``tests/test_conformance.py``.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import cvxpy as cp

from .finalize import Assessment


@runtime_checkable
class RelaxationModel(Protocol):
    """A convex relaxation with recovery and assessment, for :func:`~.sdr.solve_relaxation`.

    ``bind()`` loads the instance into the (DPP) template's Parameters; ``recover()`` -> (solution, claimed)
    reads the optimum and applies the rank-one recovery; ``assess(solution, claimed)`` ->
    :class:`~.finalize.Assessment` recomputes objective, metrics and checks with NumPy against the unrelaxed problem;
    ``precheck()`` -> None or the reason a simple certificate proves the instance infeasible; ``describe()`` ->
    (scenario dict, channels dict) for the self-contained result.
    """

    problem: cp.Problem
    problem_name: str
    method: str
    objective_name: str
    sense: str

    def bind(self) -> None: ...

    def recover(self) -> tuple[dict[str, Any], float]: ...

    def assess(self, solution: dict[str, Any], claimed: float) -> Assessment: ...

    def precheck(self) -> str | None: ...

    def describe(self) -> tuple[dict[str, Any], dict[str, Any]]: ...


@runtime_checkable
class MixedIntegerConicModel(Protocol):
    """A mixed-integer conic model for :func:`~.branch_and_bound.solve`: a cvxpy problem with boolean/integer
    variables, its exactly-one groups (lists of (variable, index)), and optionally an incumbent callback
    ``values -> (objective, payload) | None`` that turns a relaxed node into a feasible point."""

    problem: cp.Problem
    groups: Sequence[Sequence[tuple[cp.Variable, Any]]]


@runtime_checkable
class AlternatingHeuristic(Protocol):
    """An alternating (block-coordinate) heuristic for :func:`~.ao.alternate`: ``start()`` -> (state, Status),
    ``blocks()`` the :class:`~.ao.Block` objects (``name``, ``solve(state) -> Step``), ``objective(state)`` ->
    (merit, history record)."""

    def start(self) -> tuple[Any, Any]: ...

    def blocks(self) -> Sequence[Any]: ...

    def objective(self, state: Any) -> tuple[float, dict]: ...
