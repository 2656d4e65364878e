import itertools

import cvxpy as cp
import numpy as np
import pyomo.environ as pyo
import pytest

from conftest import solver_params
from instances import conic
from isacopt.algorithms import backends
from isacopt.algorithms.result import Status
from isacopt.errors import SolverUnavailable, UnknownNameError

# relative accuracy each solver is held to on the instance library (SCS is first-order)
ACCURACY = {"CLARABEL": 1e-7, "MOSEK": 1e-7, "SCS": 1e-4}


@pytest.mark.parametrize("solver", solver_params(backends.CONIC_SOLVERS))
@pytest.mark.parametrize("name", sorted(conic.FEASIBLE))
def test_conic_instances_known_optimum(solver, name):
    problem, value, duals = conic.FEASIBLE[name]()
    outcome = backends.solve_conic(problem, solver, fallback=False)
    assert outcome.status is Status.OPTIMAL and outcome.solver == solver
    tol = ACCURACY[solver]
    assert problem.value == pytest.approx(value, rel=tol, abs=tol)
    for c in problem.constraints:           # primal feasibility, re-evaluated by cvxpy from the variable values
        assert np.max(c.violation()) <= 10 * tol
    for index, dual in duals.items():
        assert float(problem.constraints[index].dual_value) == pytest.approx(dual, rel=10 * tol, abs=10 * tol)


@pytest.mark.parametrize("solver", solver_params(backends.CONIC_SOLVERS))
def test_conic_infeasible_is_reported(solver):
    problem, _, _ = conic.infeasible_lp()
    assert backends.solve_conic(problem, solver, fallback=False).status is Status.INFEASIBLE


def test_inaccurate_solve_is_retried_and_reported(monkeypatch):
    """A first attempt that cannot converge (2 iterations) must not be reported as optimal: retry, and say so."""
    attempts = dict(backends.CONIC_ATTEMPTS)
    attempts["CLARABEL"] = [("starved", dict(max_iter=2))] + attempts["CLARABEL"]
    monkeypatch.setattr(backends, "CONIC_ATTEMPTS", attempts)
    problem, value, _ = conic.lovasz_theta_c5()
    outcome = backends.solve_conic(problem)
    assert outcome.status is Status.OPTIMAL
    assert outcome.attempts[0].startswith("CLARABEL (starved)") and "optimal" not in outcome.attempts[0].split(": ")[1][:7]
    assert len(outcome.attempts) >= 2 and outcome.notes
    assert problem.value == pytest.approx(value, rel=1e-7)


def test_only_inaccurate_attempts_stay_inaccurate(monkeypatch):
    monkeypatch.setattr(backends, "CONIC_ATTEMPTS", {**backends.CONIC_ATTEMPTS,
                                                     "CLARABEL": [("starved", dict(max_iter=2))]})
    problem, _, _ = conic.lovasz_theta_c5()
    outcome = backends.solve_conic(problem, "clarabel", fallback=False)
    assert outcome.status is not Status.OPTIMAL


def test_solver_names_and_availability():
    table = {i.name: i for i in backends.solver_table()}
    assert set(table) == set(backends.CONIC_SOLVERS + backends.INTEGER_SOLVERS)
    assert table["CLARABEL"].usable and table["HIGHS"].usable       # the licence-free default path
    with pytest.raises(UnknownNameError, match="unknown solver 'cplex'"):
        backends.require_usable("cplex", "conic")
    with pytest.raises(UnknownNameError, match="integer"):
        backends.require_usable("clarabel", "integer")
    for info in table.values():
        if not info.usable:
            with pytest.raises(SolverUnavailable):
                backends.require_usable(info.name, info.kind)


def _knapsack(weights, values, capacity):
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(len(weights)), domain=pyo.Binary)
    m.obj = pyo.Objective(expr=sum(v * m.x[i] for i, v in enumerate(values)), sense=pyo.maximize)
    m.cap = pyo.Constraint(expr=sum(w * m.x[i] for i, w in enumerate(weights)) <= capacity)
    return m


@pytest.mark.parametrize("solver", solver_params(backends.INTEGER_SOLVERS))
def test_integer_knapsack_matches_enumeration(solver, rng):
    weights, values = rng.integers(1, 20, 12), rng.integers(1, 30, 12)
    capacity = int(weights.sum() // 3)
    best = max(sum(v for v, b in zip(values, bits) if b) for bits in itertools.product((0, 1), repeat=12)
               if sum(w for w, b in zip(weights, bits) if b) <= capacity)
    m = _knapsack(weights, values, capacity)
    out = backends.solve_integer(m, solver)
    assert out.status is Status.OPTIMAL and out.solver == solver
    assert out.objective == pytest.approx(best) and out.gap <= 1e-9
    chosen = [i for i in range(12) if pyo.value(m.x[i]) > 0.5]       # the loaded incumbent is feasible and optimal
    assert sum(weights[chosen]) <= capacity and sum(values[chosen]) == best


@pytest.mark.parametrize("solver", solver_params(backends.INTEGER_SOLVERS))
def test_integer_infeasible(solver):
    m = _knapsack([3, 4], [1, 1], 10)
    m.need = pyo.Constraint(expr=m.x[0] + m.x[1] >= 3)
    assert backends.solve_integer(m, solver).status is Status.INFEASIBLE


@pytest.mark.skipif(backends.solver_info("GUROBI").availability is not backends.Availability.SIZE_LIMITED,
                    reason="needs the size-limited Gurobi licence of pip's gurobipy")
def test_size_limited_gurobi_falls_back_to_highs():
    n = 2500                                                          # beyond the 2000-variable limit
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(n), domain=pyo.Binary)
    m.obj = pyo.Objective(expr=sum(m.x[i] for i in range(n)), sense=pyo.maximize)
    m.c = pyo.Constraint(range(n // 2), rule=lambda m, i: m.x[2 * i] + m.x[2 * i + 1] <= 1)
    out = backends.solve_integer(m, "gurobi")
    assert out.status is Status.OPTIMAL and out.solver == "HIGHS" and out.objective == pytest.approx(n // 2)
    assert any("size-limited" in note for note in out.notes)
