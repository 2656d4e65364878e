"""Cluster size: one method end to end, the NumPy re-check of its tuple, the registration."""
from __future__ import annotations

import numpy as np

from ...registry import Method, Problem, register
from .scenario import ClusterSizeScenario, PROBLEM
from .rates import comm_argument, comm_rate_quad, misr_gain, sensing_rate_q1, sensing_rates_cluster
from .monte_carlo import simulate
from .tables import AseTables, _tables, build_tables
from .programs import ClusterChoice, objective_values, solve_exhaustive, solve_milp, solve_search


# ================================================================================================ result
METHODS = {
    "enumeration": "every feasible (J, K, Q, L) evaluated from the ASE tables (ground truth)",
    "milp": "Pyomo MILP over the ASE tables (L projected out, linked (J, Q), (K, P), (K, Q) choices), HiGHS or Gurobi",
    "search": "the paper's structure: Prop. 1 (L closed form), Prop. 3 (bisection in K), bound-pruned (J, Q)",
    "evaluate": "no optimization: the ASEs at the fixed tuple (targets, users, sensing_cluster, comm_cluster), with "
                "the Monte Carlo check when monte_carlo_trials > 0 (Figs. 2-4)",
}


def solve_fixed(tables: AseTables, scenario: ClusterSizeScenario) -> ClusterChoice:
    """The scenario's fixed tuple: FEASIBLE when it meets (16a)/(16b) (and (19) for P2), else INFEASIBLE."""
    from ...algorithms.result import Status
    s = scenario
    J, K, Q, L = s.targets, s.users, s.sensing_cluster, s.comm_cluster
    fits = K * L + J * (Q - 1) + 1 <= s.tx_antennas and J <= s.max_targets
    value, ok = objective_values(tables, s, [J], [K], [Q], [L]) if fits else (None, [False])
    if not (fits and bool(np.asarray(ok).ravel()[0])):
        return ClusterChoice(Status.INFEASIBLE, None, "evaluation", evaluations=1,
                      notes=(f"(J, K, Q, L) = ({J}, {K}, {Q}, {L}) violates KL + J(Q-1) + 1 <= M_t = {s.tx_antennas}, "
                             "J <= J_max or the (P2) thresholds",))
    return ClusterChoice(Status.FEASIBLE, (J, K, Q, L), "evaluation", float(np.asarray(value).ravel()[0]), evaluations=1)


def recompute_rates(scenario: ClusterSizeScenario, J: int, K: int, Q: int, L: int) -> tuple[float, float]:
    """(R_c, R_s) at one tuple without the tables: R_c by adaptive scipy quadrature of (8) (an independent route),
    R_s by Prop. 2 / Theorem 2 evaluated afresh for this (K, Q)."""
    s = scenario
    a, b, lam, C = s.path_loss_exponent, s.sensing_path_loss_exponent, s.bs_density_per_km2, s.sensing_gain
    Y = float(comm_argument(K, L, J, Q, s.tx_antennas, a))
    rc = comm_rate_quad(Y, a) if Y > 0 else 0.0
    rs = sensing_rate_q1(K, a, b, lam, C) if Q == 1 else float(sensing_rates_cluster(K, Q, a, b, lam, C)[-1])
    return rc, rs


def assess(scenario: ClusterSizeScenario, choice: ClusterChoice, tables: AseTables):
    """Objective, metrics and NumPy re-checks of a returned tuple: integrality and bounds (16b)/(19c), (16a)/(19b),
    (P2)'s thresholds (19a) with the recomputed rates, and the objective against the recomputed analytic ASE: an
    :class:`~isacopt.algorithms.finalize.Assessment`."""
    from ...algorithms import verify
    from ...algorithms.finalize import Assessment
    s = scenario
    J, K, Q, L = choice.tuple
    v = np.array([J, K, Q, L], float)
    rc, rs = recompute_rates(s, J, K, Q, L)
    lam = s.bs_density_per_km2
    tc, ts = lam * K * rc, lam * J * rs
    objective = tc if s.program == "P2" else s.rho * tc + (1 - s.rho) * ts
    table_value = float(objective_values(tables, s, [J], [K], [Q], [L])[0][0])
    checks = [verify.close("integer_tuple", v, np.round(v), scale=1.0),
              verify.at_least("lower_bounds_16b", v, 1.0),
              verify.at_most("max_targets_16b", J, s.max_targets),
              verify.at_most("dof_16a", K * L + J * (Q - 1) + 1, s.tx_antennas),
              verify.close("objective_vs_recomputed_ase", table_value, objective, scale=max(abs(objective), 1e-12))]
    if choice.claimed is not None:
        checks.append(verify.close("objective_vs_method", choice.claimed, objective, scale=max(abs(objective), 1e-12)))
    if s.program == "P2":
        checks += [verify.at_least("comm_rate_19a", rc, s.comm_rate_min_nats, scale=max(s.comm_rate_min_nats, 1.0)),
                   verify.at_least("sensing_rate_19a", rs, s.sensing_rate_min_nats,
                                   scale=max(s.sensing_rate_min_nats, 1.0)),
                   verify.at_least("sensing_ase_19a", ts, s.sensing_ase_min, scale=max(s.sensing_ase_min, 1.0)),
                   verify.at_least("comm_cluster_min", L, s.comm_cluster_min),
                   verify.at_least("sensing_cluster_min", Q, s.sensing_cluster_min)]
    metrics = {"comm_rate_nats": rc, "sensing_rate_nats": rs, "comm_ase": tc, "sensing_ase": ts,
               "weighted_ase": s.rho * tc + (1 - s.rho) * ts, "misr_gain": float(misr_gain(L, s.path_loss_exponent)),
               "zf_dof": s.tx_antennas - K * L - J * (Q - 1) + 1, "ase_unit": "nats/s/Hz/km^2"}
    return Assessment(objective, metrics, checks)


def solve(scenario: ClusterSizeScenario, method: str, rng: np.random.Generator | None = None,
          solver: str | None = None):
    """Run one method on (P1) or (P2) and return a verified :class:`~isacopt.algorithms.result.Result`.

    This is the registry's ``Method.run`` (one call per scenario, method and seed): ``rng`` only drives the optional
    Monte Carlo check of the returned tuple (``monte_carlo_trials`` > 0), reported under ``metrics['monte_carlo']``.
    """
    import time

    from ...algorithms.finalize import finalize
    from ...algorithms.result import Termination
    from ...data.loader import scenario_dict
    s = scenario
    start = time.perf_counter()
    cached = _tables.cache_info().currsize
    tables = build_tables(s)
    fresh = _tables.cache_info().currsize > cached
    t0 = time.perf_counter()
    if method == "enumeration":
        choice = solve_exhaustive(tables, s)
    elif method == "search":
        choice = solve_search(tables, s)
    elif method == "milp":
        choice = solve_milp(tables, s, solver)
    elif method == "evaluate":
        choice = solve_fixed(tables, s)
    else:
        raise ValueError(f"unknown method {method!r}")
    method_time = time.perf_counter() - t0
    name = "T_c^ASE (19), nats/s/Hz/km^2" if s.program == "P2" else "T^ASE (15), nats/s/Hz/km^2"
    notes = list(choice.notes)
    if choice.evaluations:
        notes.append(f"{choice.evaluations} objective evaluations")
    if fresh:
        how = "built" if tables.source == "computed" else f"read from the {tables.source}"
        notes.append(f"ASE tables {how} in {tables.build_time_s:.2f} s (cached for this physics)")
    base = dict(problem=PROBLEM, method=method, objective_name=name, sense="max", solver=choice.solver,
                scenario=scenario_dict(s), notes=notes)
    timing = {"method_time_s": method_time, "table_time_s": tables.build_time_s if fresh else 0.0}
    termination = choice.termination or Termination.CONVERGED
    if choice.tuple is None:
        return finalize(base, status=choice.status, termination=termination, metrics=timing,
                        time_s=time.perf_counter() - start, solver_time_s=method_time, upper_bound=choice.bound)
    assessment = assess(s, choice, tables)
    metrics = dict(timing)
    J, K, Q, L = choice.tuple
    if s.monte_carlo_trials > 0 and rng is not None:
        metrics["monte_carlo"] = simulate(s, J, K, Q, L, rng).as_dict()
        metrics.update({f"mc_{k}": v for k, v in metrics["monte_carlo"].items() if k != "trials"})
    bounds = {}
    if method == "milp":            # the solver's incumbent and bound, as it reported them
        bounds = dict(lower_bound=choice.claimed, upper_bound=choice.bound, gap=choice.gap)
    return finalize(base, status=choice.status, assessment=assessment, proven=method != "evaluate",
                    termination=termination, solution={"J": J, "K": K, "Q": Q, "L": L}, metrics=metrics,
                    time_s=time.perf_counter() - start, solver_time_s=method_time, **bounds)


# ================================================================================================ registration
def _recheck(scenario, rng, result):
    tup = tuple(int(round(float(np.asarray(result.solution[k]).ravel()[0]))) for k in "JKQL")
    a = assess(scenario, ClusterChoice(None, tup), build_tables(scenario))
    return a.objective, a.checks, None


register(Problem(
    name=PROBLEM, recheck=_recheck,
    paper="Meng, Masouros, 'Networked ISAC Coordinated Beamforming and Cooperative BS Cluster Optimization' "
          "(seed 004)",
    scenario_class=ClusterSizeScenario,
    default_scenario="cluster_size",
    methods={m: Method(lambda sc, rng, solver=None, m=m: solve(sc, m, rng, solver), text, "integer",
                       proves=m != "evaluate") for m, text in METHODS.items()},
    default_method="search",
    summary_metrics=("comm_ase", "sensing_ase", "weighted_ase", "comm_rate_nats", "sensing_rate_nats"),
    parameters={"tx_antennas": "M_t", "rho": "weight of the communication ASE in (P1)",
                "program": "P1 (weighted ASE (16)) or P2 (comm ASE with thresholds (19))"},
))
