"""BS selection: outer approximation on (13) with the paper's discrete layer written in Pyomo.

:func:`discrete_layer` states the combinatorial structure of (8)/(13) as a Pyomo model that a user can read and
extend: the receiver indicator c_s = 1 - b_s (C5: exactly one receiver), the association a_{s,k} (C4: one serving BS
per CU, C6: only transmitters serve), the per-beam and sensing powers with the big-M coupling (18) in trace form
(tr W-tilde_{s,k} <= a_{s,k} P, (19)-(21) hold with W = W-tilde, see :mod:`.mixed_integer`) and the power budget C1.
:func:`run_oa` hands it to :func:`isacopt.algorithms.outer_approximation.solve` as the master's layer, linked to the
columns of the lifted MISDP (13); the conic constraints (C2 CRLB, C3 SINR, PSD-ness) enter the master as cuts.
"""
from __future__ import annotations

import numpy as np

from ...algorithms.result import Result, Status, Termination
from .exact import time_now
from .mixed_integer import BIGM_SLACK, MixedIntegerModel
from .scenario import BSSelectionInstance
from .sdp import InnerProblem, ScaledData
from .verification import make_result


def discrete_layer(S: int, K: int, slack: float = BIGM_SLACK):
    """The discrete layer of (13) as a Pyomo model (powers in units of P): variables ``c[s]`` (receiver indicator,
    1 - b_s), ``a[s, k]``, ``p[s, k]`` (tr W-tilde_{s,k}), ``q[s]`` (tr R-tilde_s); constraints C5, C4, C6, the big-M
    (18) ``p <= a + slack``, the sensing coupling ``q <= 1 - c + slack`` (b_s R_s) and C1 ``sum_k p + q <= 1``.
    ``slack``: the same relaxation of the big-M bounds as the conic model (:data:`.mixed_integer.BIGM_SLACK`)."""
    import pyomo.environ as pyo

    m = pyo.ConcreteModel(name="bs_selection_discrete_layer")
    m.S, m.K = pyo.RangeSet(0, S - 1), pyo.RangeSet(0, K - 1)
    m.c = pyo.Var(m.S, within=pyo.Binary, doc="receiving BS indicator c_s = 1 - b_s")
    m.a = pyo.Var(m.S, m.K, within=pyo.Binary, doc="association a_{s,k}")
    m.p = pyo.Var(m.S, m.K, within=pyo.NonNegativeReals, doc="beam power tr W-tilde_{s,k} / P")
    m.q = pyo.Var(m.S, within=pyo.NonNegativeReals, doc="sensing power tr R-tilde_s / P")
    m.C5 = pyo.Constraint(expr=sum(m.c[s] for s in m.S) == 1)
    m.C4 = pyo.Constraint(m.K, rule=lambda m, k: sum(m.a[s, k] for s in m.S) == 1)
    m.C6 = pyo.Constraint(m.S, m.K, rule=lambda m, s, k: m.a[s, k] <= 1 - m.c[s])
    m.big_m = pyo.Constraint(m.S, m.K, rule=lambda m, s, k: m.p[s, k] <= m.a[s, k] + slack)
    m.sensing = pyo.Constraint(m.S, rule=lambda m, s: m.q[s] <= 1 - m.c[s] + slack)
    m.C1 = pyo.Constraint(m.S, rule=lambda m, s: sum(m.p[s, k] for k in m.K) + m.q[s] <= 1)
    return m


def run_oa(inst: BSSelectionInstance, solver: str | None = None, *, rel_gap: float = 1e-5,
           time_limit_s: float | None = None, master_solver: str | None = None, method: str = "oa") -> Result:
    """Exact outer approximation on (13) (module docstring); the best choice's beams from the inner SDP (23).

    The OA's upper bound is the best fixed-choice value of (13) (big-M relaxed by ``BIGM_SLACK``), a lower bound on
    that choice's (23); the reported objective is (23) on the best choice, the lower bound OA's (valid for (8)). The
    result is ``optimal`` when they meet within ``rel_gap`` (1e-5, as branch-and-bound: the slack is worth a few 1e-6
    relative on small optima)."""
    from ...algorithms import outer_approximation

    start = time_now()
    data = ScaledData(inst)
    S, K = data.S, data.K
    model = MixedIntegerModel(inst, data=data, powers=True)
    v = model.vars
    layer_model = discrete_layer(S, K)
    links = [(layer_model.c[s], v["receiver"], s) for s in range(S)]
    links += [(layer_model.a[s, k], v["association"], (s, k)) for s in range(S) for k in range(K)]
    links += [(layer_model.p[s, k], v["beam_power"], (s, k)) for s in range(S) for k in range(K)]
    links += [(layer_model.q[s], v["sensing_power"], s) for s in range(S)]
    out = outer_approximation.solve(model.problem, solver=solver, master_solver=master_solver, rel_gap=rel_gap,
                                    time_limit_s=time_limit_s, layer=outer_approximation.MasterLayer(layer_model,
                                                                                                   links))
    notes = list(out.notes) + [f"outer approximation: {out.iterations} MILP masters, {out.sdp_solves} conic solves, "
                               f"cuts {out.cuts}"]
    P = data.P
    lower_w = out.lower_bound * P if out.lower_bound is not None and np.isfinite(out.lower_bound) else None
    extra = dict(sdp_solves=out.sdp_solves, solver_time_s=out.solver_time_s)
    if out.values is None:
        status = Status.INFEASIBLE if out.status == Status.INFEASIBLE else Status.NO_SOLUTION
        result = make_result(inst, method, None, status=status, termination=out.termination, notes=notes,
                             time_s=time_now() - start, lower_bound=lower_w if status != Status.INFEASIBLE else None,
                             **extra)
        return result.replace(metrics=dict(result.metrics, **out.counts()))
    choice = model.choice_from(out.values[v["receiver"]], out.values[v["association"]])
    inner = InnerProblem(inst, None, solver)
    inner._data = data
    sol = inner.solve(choice)
    extra["sdp_solves"] += inner.sdp_solves
    certified = out.status == Status.OPTIMAL and out.termination == Termination.CONVERGED
    met = sol.power_w is not None and lower_w is not None and sol.power_w - lower_w <= rel_gap * sol.power_w
    if certified and not met and sol.power_w is not None:
        notes.append(f"the inner SDP (23) on {choice.describe()} ({sol.power_w:.9g} W) exceeds OA's bound "
                     f"({lower_w} W) by more than rel_gap (the big-M slack, see run_bnb): not certified")
    result = make_result(inst, method, sol, proven=certified and met, bound_w=lower_w, termination=out.termination,
                         notes=notes, time_s=time_now() - start, tol=rel_gap, **extra)
    return result.replace(metrics=dict(result.metrics, **out.counts()))
