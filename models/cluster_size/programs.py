"""Cluster size: the integer programs (P1)/(P2) - exhaustive, the paper-structured search, the Pyomo MILP."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scenario import ClusterSizeScenario
from .rates import misr_gain
from .tables import AseTables


# ================================================================================================ integer programs
@dataclass(frozen=True)
class ClusterChoice:
    """What a method returns before assessment: status, the tuple (or None) and method-specific extras.
    ``proven``: an ``optimal`` status proves the tuple optimal (false for ``evaluate``, which optimizes nothing)."""

    status: object
    tuple: tuple[int, int, int, int] | None          # (J, K, Q, L)
    solver: str | None = None
    claimed: float | None = None                     # the method's own objective value (MILP: the solver's)
    bound: float | None = None
    gap: float | None = None
    evaluations: int = 0                             # objective evaluations (exhaustive, search)
    notes: tuple[str, ...] = ()
    termination: object = None                       # Termination of the integer solve (MILP)


def feasible_tuples(tx_antennas: int, max_targets: int):
    """Every (J, K, Q, L) with K L + J (Q-1) + 1 <= M_t, 1 <= J <= J_max, K, Q, L >= 1 (16a)-(16b): four (n,) arrays."""
    M = tx_antennas
    K, L = np.meshgrid(np.arange(1, M), np.arange(1, M), indexing="ij")
    ok = K * L <= M - 1
    K, L = K[ok], L[ok]
    order = np.argsort(K * L, kind="stable")
    K, L, kl = K[order], L[order], (K * L)[order]
    parts = []
    for j in range(1, max_targets + 1):
        for q in range(1, (M - 2) // j + 2):
            n = np.searchsorted(kl, M - 1 - j * (q - 1), side="right")
            if n:
                parts.append((np.full(n, j), K[:n], np.full(n, q), L[:n]))
    return tuple(np.concatenate(a) for a in zip(*parts))


def objective_values(tables: AseTables, scenario: ClusterSizeScenario, J, K, Q, L):
    """(objective, feasible mask): T^ASE (15) for (P1); T_c with the (19a), L >= L^th, Q >= Q^th mask for (P2)."""
    s = scenario
    tc, ts = tables.comm_ase(J, K, Q, L), tables.sensing_ase(J, K, Q)
    if s.program == "P1":
        return s.rho * tc + (1 - s.rho) * ts, np.ones(np.shape(tc), bool)
    ok = ((tables.comm_rate(K, L, J, Q) >= s.comm_rate_min_nats) & (tables.sensing_rate(K, Q) >= s.sensing_rate_min_nats)
          & (ts >= s.sensing_ase_min) & (np.asarray(L) >= s.comm_cluster_min) & (np.asarray(Q) >= s.sensing_cluster_min))
    return tc, ok


def solve_exhaustive(tables: AseTables, scenario: ClusterSizeScenario) -> ClusterChoice:
    """Evaluate every feasible tuple (vectorized) and return the best; (P2) with no admissible tuple: infeasible."""
    from ...algorithms.result import Status
    J, K, Q, L = feasible_tuples(scenario.tx_antennas, scenario.max_targets)
    value, ok = objective_values(tables, scenario, J, K, Q, L)
    if not ok.any():
        return ClusterChoice(Status.INFEASIBLE, None, "enumeration", evaluations=J.size)
    value = np.where(ok, value, -np.inf)
    i = int(np.argmax(value))
    return ClusterChoice(Status.OPTIMAL, (int(J[i]), int(K[i]), int(Q[i]), int(L[i])), "enumeration", float(value[i]),
                  evaluations=J.size)


def best_comm_cluster(K, P: int, tx_antennas: int, alpha: float, l_min: int = 1):
    """L maximizing Y(K, L) for fixed K and P = J(Q-1), with L >= l_min: (K,) int array (0 where none fits).

    Y(L+1) / Y(L) = (L + a/2)(M' - K(L+1)) / ((L+1)(M' - KL)), M' = M_t - P + 1, is decreasing in L, so Y is unimodal
    and Y(L+1) <= Y(L) iff L >= (1 - 2/a) M' / K - 1; the maximizer is the smallest such L (clipped to the feasible
    range). For alpha = 4 this is the vertex of Appendix B's quadratic y(L), L = (M' - K) / (2K) rounded.
    """
    K = np.asarray(K, int)
    m_prime = tx_antennas - P + 1
    l_hi = (tx_antennas - 1 - P) // K
    guess = np.ceil((1 - 2 / alpha) * m_prime / K - 1 - 1e-9).astype(int)
    best = np.zeros_like(K)
    best_y = np.full(K.shape, -np.inf)
    for delta in (-1, 0, 1):                           # guard the rounding of the closed form
        cand = np.clip(guess + delta, l_min, np.maximum(l_hi, l_min))
        y = misr_gain(cand, alpha) * (m_prime - K * cand) / K
        y = np.where(cand <= l_hi, y, -np.inf)
        better = y > best_y
        best = np.where(better, cand, best)
        best_y = np.where(better, y, best_y)
    return np.where(np.isfinite(best_y), best, 0)


def _comm_max_prop3(tables: AseTables, P: int, alpha: float, l_min: int = 1):
    """max over (K, L) of T_c at fixed P = J(Q-1), by Propositions 1 and 3.

    For each L (only L = 1 when alpha = 4 and l_min = 1: Proposition 1), T_c(K) = lambda K R_c(G_L M'/K - G_L L) is
    the perspective of a concave function, hence concave in K (Proposition 3): bisection on the sign of
    T_c(K+1) - T_c(K). Returns (value, K, L, evaluations).
    """
    M = tables.tx_antennas
    Ls = [1] if (alpha == 4.0 and l_min <= 1) else range(l_min, M)
    best, evals = (-np.inf, 0, 0), 0

    def tc(k, l):
        return float(tables.density * k * tables.rc[k, l, M + 1 - k * l - P])

    for l in Ls:
        k_hi = (M - 1 - P) // l
        if k_hi < 1:
            break
        lo, hi = 1, k_hi                                # find the first k with T(k+1) <= T(k)
        while lo < hi:
            mid = (lo + hi) // 2
            evals += 2
            if tc(mid + 1, l) > tc(mid, l):
                lo = mid + 1
            else:
                hi = mid
        value = tc(lo, l)
        evals += 1
        if value > best[0]:
            best = (value, lo, l)
    return (*best, evals)


def solve_search(tables: AseTables, scenario: ClusterSizeScenario) -> ClusterChoice:
    """The paper's structure, exact: (J, Q) pairs in order of a bound, pruned; K scanned, L in closed form.

    - T_c depends on (J, Q) only through P = J(Q-1) and decreases in P (Theorem 1); its maximum over (K, L) at fixed P,
      C*(P), comes from Propositions 1 and 3 (:func:`_comm_max_prop3`).
    - For fixed (J, Q, K), only T_c depends on L, through Y, maximized by :func:`best_comm_cluster` (Prop. 1's
      quadratic for alpha = 4); R_c is increasing in Y, so (P2)'s R_c threshold is met by some L iff by that one.
    - A pair (J, Q) is skipped when rho C*(P) + (1 - rho) lambda J max_K R_s(K, Q) (or C*(P) for (P2)) cannot beat
      the incumbent; for rho = 1 the incumbent C*(0) prunes every P > 0.
    """
    from ...algorithms.result import Status
    s, M, lam = scenario, tables.tx_antennas, tables.density
    p2 = s.program == "P2"
    rho = 1.0 if p2 else s.rho
    l_min = s.comm_cluster_min if p2 else 1
    q_min = s.sensing_cluster_min if p2 else 1
    pairs = [(j, q) for j in range(1, s.max_targets + 1) for q in range(max(q_min, 1), (M - 2) // j + 2)]
    if not pairs:
        return ClusterChoice(Status.INFEASIBLE, None, "search")
    cmax, evals = {}, 0
    for P in sorted({j * (q - 1) for j, q in pairs}):
        value, *_, e = _comm_max_prop3(tables, P, s.path_loss_exponent, l_min)
        cmax[P], evals = value, evals + e
    bounds = []
    for j, q in pairs:
        k_hi = M - 1 - j * (q - 1)
        smax = lam * j * np.nanmax(tables.rs[1:k_hi + 1, q]) if k_hi >= 1 else -np.inf
        bounds.append(rho * cmax[j * (q - 1)] + (1 - rho) * smax)
    best, best_tuple = -np.inf, None
    for i in np.argsort(bounds)[::-1]:
        j, q = pairs[i]
        if not bounds[i] > best:
            break
        P = j * (q - 1)
        K = np.arange(1, M - P)                        # K L + P + 1 <= M_t with L >= 1
        L = best_comm_cluster(K, P, M, s.path_loss_exponent, l_min)
        keep = L > 0
        K, L = K[keep], L[keep]
        if K.size == 0:
            continue
        Jv, Qv = np.full(K.size, j), np.full(K.size, q)
        value, ok = objective_values(tables, s, Jv, K, Qv, L)
        evals += K.size
        if not ok.any():
            continue
        value = np.where(ok, value, -np.inf)
        t = int(np.argmax(value))
        if value[t] > best:
            best, best_tuple = float(value[t]), (j, int(K[t]), q, int(L[t]))
    if best_tuple is None:
        return ClusterChoice(Status.INFEASIBLE, None, "search", evaluations=evals)
    return ClusterChoice(Status.OPTIMAL, best_tuple, "search", best, evaluations=evals)


def best_comm_tables(tables: AseTables, scenario: ClusterSizeScenario) -> dict:
    """{(K, P): (T_c, L)}: for every K and P = J(Q-1) that fit (16a) with some admissible L, the best communication
    cluster L (by the table, no closed form) and its T_c = lambda K R_c(G_L D / K), D = M_t + 1 - KL - P.

    L enters (P1)/(P2) only through T_c and through K L in (16a), so projecting it out this way is exact for any
    alpha; (P2) keeps only L >= L^th with R_c >= R^th (19a).
    """
    s, M, lam = scenario, tables.tx_antennas, tables.density
    p2 = s.program == "P2"
    l_min = s.comm_cluster_min if p2 else 1
    best = {}
    for P in range(M - 1):
        for K in range(1, M - P):
            Ls = np.arange(l_min, (M - 1 - P) // K + 1)
            if Ls.size == 0:
                break                                   # larger K fits no L either
            rc = tables.rc[K, Ls, M + 1 - K * Ls - P]
            if p2:
                rc = np.where(rc >= s.comm_rate_min_nats, rc, -np.inf)
            i = int(np.argmax(rc))
            if np.isfinite(rc[i]):
                best[K, P] = (lam * K * float(rc[i]), int(Ls[i]))
    return best


def build_milp(tables: AseTables, scenario: ClusterSizeScenario):
    """(P1)/(P2) as a Pyomo MILP over the precomputed rates (solved by ``backends.solve_integer``).

    Binaries: r[J, Q] (the sensing choice, exactly one), v[K, P] (users per cell and the nulling load
    P = J(Q-1), carrying the best T_c of :func:`best_comm_tables`), z[K, Q] (the pair that sets R_s(K, Q)).
    Linking rows make the three choices consistent: for every P, sum_K v[K, P] = sum_{J(Q-1) = P} r[J, Q]; for every
    K, sum_P v[K, P] = sum_Q z[K, Q]; for every Q, sum_K z[K, Q] = sum_J r[J, Q]. The sensing ASE lambda J R_s(K, Q)
    uses t[K, Q] = J z[K, Q], exact for binary z: t <= J_cap z, sum t = J = sum J r[J, Q], with
    J_cap = min(J_max, (M_t - 1 - K) / (Q - 1)) (a consequence of (16a) with L >= 1). (16a) itself holds because
    v[K, P] exists only where some L fits. (P2): T_s >= T_s^th is linear, Q >= Q^th and R_s >= R_s^th remove z and r
    entries, L >= L^th and R_c >= R_c^th are inside :func:`best_comm_tables`. Returns None when one of the three
    choices has no admissible value (the program is then infeasible).

    An earlier formulation kept L in the model (x[K, L] binaries, T_c by the chords of its concave table in D:
    ~10,000 rows at M_t = 64) and took 1.4-3.7 s there, mostly Pyomo's transfer to HiGHS and the LP; this one has
    ~2,000 rows and answers in ~0.3-0.5 s (benchmarks/bench_cluster.py).
    """
    from collections import defaultdict

    import pyomo.environ as pyo

    s, M, lam = scenario, tables.tx_antennas, tables.density
    p2 = s.program == "P2"
    rho = 1.0 if p2 else s.rho
    q_min = max(s.sensing_cluster_min if p2 else 1, 1)
    best = best_comm_tables(tables, s)
    KP = list(best)
    JQ = [(j, q) for j in range(1, s.max_targets + 1) for q in range(q_min, (M - 2) // j + 2)]
    KQ = [(k, q) for k in range(1, M) for q in range(q_min, M - k + 1)
          if not (p2 and tables.rs[k, q] < s.sensing_rate_min_nats)]
    if not (KP and JQ and KQ):
        return None                                      # some choice has no admissible value: infeasible
    j_cap = {(k, q): min(s.max_targets, (M - 1 - k) // (q - 1)) if q > 1 else s.max_targets for k, q in KQ}
    m = pyo.ConcreteModel(name="cluster-size")
    m.v = pyo.Var(KP, domain=pyo.Binary)
    m.r = pyo.Var(JQ, domain=pyo.Binary)
    m.z = pyo.Var(KQ, domain=pyo.Binary)
    m.t = pyo.Var(KQ, bounds=lambda _, k, q: (0, j_cap[k, q]))
    v_by_p, v_by_k, r_by_p, r_by_q, z_by_k, z_by_q = (defaultdict(list) for _ in range(6))
    for k, p in KP:
        v_by_p[p].append(m.v[k, p])
        v_by_k[k].append(m.v[k, p])
    for j, q in JQ:
        r_by_p[j * (q - 1)].append(m.r[j, q])
        r_by_q[q].append(m.r[j, q])
    for k, q in KQ:
        z_by_k[k].append(m.z[k, q])
        z_by_q[q].append(m.z[k, q])
    m.one_sensing = pyo.Constraint(expr=sum(m.r.values()) == 1)
    m.same_p = pyo.Constraint(sorted(set(v_by_p) | set(r_by_p)), rule=lambda m, p: sum(v_by_p[p]) == sum(r_by_p[p]))
    m.same_k = pyo.Constraint(sorted(set(v_by_k) | set(z_by_k)), rule=lambda m, k: sum(v_by_k[k]) == sum(z_by_k[k]))
    m.same_q = pyo.Constraint(sorted(set(z_by_q) | set(r_by_q)), rule=lambda m, q: sum(z_by_q[q]) == sum(r_by_q[q]))
    m.t_link = pyo.Constraint(KQ, rule=lambda m, k, q: m.t[k, q] <= j_cap[k, q] * m.z[k, q])
    m.t_sum = pyo.Constraint(expr=sum(m.t.values()) == sum(j * m.r[j, q] for j, q in JQ))
    sensing = lam * sum(float(tables.rs[k, q]) * m.t[k, q] for k, q in KQ)
    comm = sum(best[i][0] * m.v[i] for i in KP)
    if p2:
        m.ts_min = pyo.Constraint(expr=sensing >= s.sensing_ase_min)
    m.obj = pyo.Objective(expr=comm if p2 else rho * comm + (1 - rho) * sensing, sense=pyo.maximize)
    m._best = best
    return m


def read_milp(m) -> tuple[int, int, int, int]:
    """(J, K, Q, L) from a solved :func:`build_milp` model (binaries rounded; the three choices must agree)."""
    import pyomo.environ as pyo

    pick = lambda var: max(var, key=lambda i: pyo.value(var[i]))
    (j, q), (k, p), (k2, q2) = pick(m.r), pick(m.v), pick(m.z)
    if (k, q) != (k2, q2) or p != j * (q - 1):
        raise ArithmeticError(f"MILP incumbent is inconsistent: r -> (J, Q) = ({j}, {q}), v -> (K, P) = ({k}, {p}), "
                              f"z -> (K, Q) = ({k2}, {q2})")
    return int(j), int(k), int(q), m._best[k, p][1]


def solve_milp(tables: AseTables, scenario: ClusterSizeScenario, solver: str | None = None) -> ClusterChoice:
    """Build the MILP and solve it through ``algorithms.backends.solve_integer`` (HiGHS default, Gurobi if licensed)."""
    import time

    from ...algorithms import backends
    start = time.perf_counter()
    m = build_milp(tables, scenario)
    build = time.perf_counter() - start
    if m is None:
        from ...algorithms.result import Status
        return ClusterChoice(Status.INFEASIBLE, None, "model", notes=("MILP: no admissible (J, Q), (K, P) or (K, Q) choice "
                                                                "remains after the (P2) thresholds (proven before any "
                                                                "solve)",))
    # HiGHS 1.16's presolve takes 2-220 s on this model where the solve without it takes 0.05-0.7 s (measured at
    # M_t = 20-64 by benchmarks/bench_cluster.py); also when HiGHS stands in for a size-limited Gurobi
    out = backends.solve_integer(m, solver, options={"HIGHS": {"presolve": "off"}})
    notes = (f"MILP: {len(m.v) + len(m.r) + len(m.z)} binaries, built in {build:.2f} s, solved in {out.solve_time_s:.2f} s",
             *out.notes)
    if not out.status.has_solution:
        return ClusterChoice(out.status, None, out.solver, notes=notes, termination=out.termination)
    return ClusterChoice(out.status, read_milp(m), out.solver, out.objective, out.bound, out.gap, notes=notes,
                         termination=out.termination)
