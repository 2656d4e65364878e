"""BS selection: Algorithm 1 - penalty (16) + MM (17), alternating the blocks (22) and (23), then rounding."""
from __future__ import annotations

import functools

import cvxpy as cp
import numpy as np

from ...algorithms import backends
from ...algorithms.result import Result, Status, Termination
from .scenario import BSSelectionInstance
from .sdp import InnerProblem, ScaledData, _sensing_constraints
from .verification import make_result
from .mixed_integer import BIGM_SLACK, MixedIntegerModel
from .exact import time_now


# ================================================================================================ AO (Algorithm 1)
@functools.lru_cache(maxsize=16)
def _b_template(S: int, K: int):
    """Block (22): the receiver indicator c = 1 - b with W-tilde, R-tilde (hence Q and the FIM) fixed. Parameters:
    ``a`` (S, K), ``trace_r`` (S,) (tr R-tilde_s, units of P), ``blocks[(s, t)]`` (16,) FIM blocks of the fixed
    Q_t, ``lin_c`` (S,) the linearized penalty (17) in c."""
    c = cp.Variable(S, nonneg=True, name="receiver")
    P = dict(a=cp.Parameter((S, K), nonneg=True, name="a"), trace_r=cp.Parameter(S, nonneg=True, name="trace_r"),
             blocks={(s, t): cp.Parameter(16, name=f"blk{s}_{t}") for s in range(S) for t in range(S) if s != t},
             lin_c=cp.Parameter(S, name="lin_c"))
    cons = [cp.sum(c) == 1, c <= 1, P["a"] <= (1 - cp.reshape(c, (S, 1), order="F")) @ np.ones((1, K)),
            P["trace_r"] <= 1 - c + BIGM_SLACK]
    for s in range(S):
        sens, _ = _sensing_constraints([P["blocks"][(s, t)] for t in range(S) if t != s], c[s])
        cons += sens
    return cp.Problem(cp.Minimize(P["lin_c"] @ c), cons), P, c


class PenaltyAO:
    """Algorithm 1 on the lifted model: penalty (16) on a and b, MM (17), blocks (22) (b) and (23) (W-tilde,
    R-tilde, J, a). Starts from the continuous relaxation of (13). mu in W (Table I: 3e4), converted to units of P.
    """

    def __init__(self, inst: BSSelectionInstance, mu_w: float | None = None, solver: str | None = None):
        sc = inst.scenario
        self.inst, self.solver = inst, solver
        self.data = ScaledData(inst)
        self.mu = (sc.penalty_mu if mu_w is None else mu_w) / self.data.P
        self.w_model = MixedIntegerModel(inst, integer=False, penalty=True, data=self.data)
        self.relax = MixedIntegerModel(inst, integer=False, data=self.data)
        self.b_problem, self.b_params, self.b_var = _b_template(self.data.S, self.data.K)
        self.relaxation_w: float | None = None

    def _read(self, model) -> dict:
        v = model.vars
        d = self.data
        return dict(c=np.clip(v["receiver"].value, 0, 1), a=np.clip(v["association"].value, 0, 1),
                    W={(s, k): v["W"][s][k].value.copy() for s in v["W"] for k in range(d.K)},
                    R={t: v["R"][t].value.copy() for t in v["R"]})

    def start(self):
        outcome = backends.solve_conic(self.relax.problem, self.solver)
        if outcome.status != Status.OPTIMAL:
            return None, outcome.status
        self.relaxation_w = float(self.relax.problem.value) * self.data.P     # a lower bound on (8), in W
        return self._read(self.relax), Status.OPTIMAL

    def f(self, state) -> float:
        d = self.data
        total = sum(d.trace[s] @ z.ravel(order="F") for (s, _), z in state["W"].items())
        total += sum(d.trace[t] @ z.ravel(order="F") for t, z in state["R"].items())
        return float(total)

    def objective(self, state):
        """Penalized objective (16) in units of P and the record for the history (paper units)."""
        a, b = state["a"], 1 - state["c"]
        f = self.f(state)
        pen = self.mu * (np.sum(a - a ** 2) + np.sum(b - b ** 2))
        return f + pen, dict(power_w=f * self.data.P, penalty_w=pen * self.data.P,
                             penalized_w=(f + pen) * self.data.P, b=b.copy(), a=a.copy())

    def blocks(self):
        """The blocks of Algorithm 1 in order: (22) (b), then (23) (W-tilde, R-tilde, J, a)."""
        return [self.step_b, self.step_w]

    def step_b(self, state):
        """(22): update b (as c = 1 - b), linearized penalty at b^(t)."""
        d, P = self.data, self.b_params
        moments = {t: d.moment_rows[t] @ (sum(z for (s, _), z in state["W"].items() if s == t)
                                          + state["R"].get(t, 0)).ravel(order="F") for t in range(d.S)}
        for (s, t), par in P["blocks"].items():
            par.value = d.fim_block[(s, t)] @ moments[t]
        P["a"].value = state["a"]
        P["trace_r"].value = np.array([max(d.trace[t] @ state["R"][t].ravel(order="F"), 0.0) if t in state["R"]
                                       else 0.0 for t in range(d.S)])
        b_t = 1 - state["c"]
        P["lin_c"].value = -self.mu * (1 - 2 * b_t)             # mu (1 - 2 b^t) b with b = 1 - c
        outcome = backends.solve_conic(self.b_problem, self.solver)
        if outcome.status != Status.OPTIMAL:
            return state, outcome.status
        return dict(state, c=np.clip(self.b_var.value, 0, 1)), Status.OPTIMAL

    def step_w(self, state):
        """(23) rank-relaxed: update W-tilde, R-tilde, J and a for fixed b, linearized penalty at a^(t)."""
        P = self.w_model.params
        P["c_fixed"].value = state["c"]
        P["lin_a"].value = self.mu * (1 - 2 * state["a"])
        P["lin_c"].value = np.zeros(self.data.S)
        outcome = backends.solve_conic(self.w_model.problem, self.solver)
        if outcome.status != Status.OPTIMAL:
            return state, outcome.status
        return self._read(self.w_model) | dict(c=state["c"]), Status.OPTIMAL


def run_ao(inst: BSSelectionInstance, solver: str | None = None, *, mu_w: float | None = None,
           tol: float | None = None, max_iter: int | None = None, method: str = "ao") -> Result:
    """The paper's Algorithm 1 (:func:`~isacopt.algorithms.ao.alternate`), then the rounded choice (receiver = the
    smallest b_s, each CU to its largest a_{s,k}) solved exactly by the inner SDP (23) and verified."""
    from ...algorithms import ao as ao_driver
    start = time_now()
    sc = inst.scenario
    algo = PenaltyAO(inst, mu_w, solver)
    state, status = algo.start()
    if state is None:
        notes = [f"continuous relaxation of (13): {status.value}"]
        st = Status.INFEASIBLE if status == Status.INFEASIBLE else status
        return make_result(inst, method, None, status=st, notes=notes, time_s=time_now() - start, sdp_solves=1)
    out = ao_driver.alternate(state, algo.blocks(), algo.objective,
                       tol=sc.ao_tolerance if tol is None else tol,
                       max_iter=sc.ao_max_iterations if max_iter is None else max_iter)
    model = algo.w_model
    choice = model.choice_from(out.state["c"], out.state["a"])
    inner = InnerProblem(inst, None, solver)
    inner._data = algo.data
    sol = inner.solve(choice)
    notes = out.notes + [f"AO: {out.iterations} iterations ({out.status.value}), rounded to {choice.describe()}"]
    history = [{k: v for k, v in h.items()} for h in out.history]
    termination = out.termination
    if sol.status == Status.INFEASIBLE:
        notes.append("the AO's rounded choice is infeasible (no feasible point found; not a proof)")
        termination = Termination.INFEASIBLE_CHOICE
    st = Status.NO_SOLUTION if sol.status == Status.INFEASIBLE else sol.status
    result = make_result(inst, method, sol if sol.status == Status.OPTIMAL else None, status=st, notes=notes,
                         proven=False, bound_w=algo.relaxation_w, termination=termination,
                         time_s=time_now() - start, sdp_solves=1 + out.sdp_solves + inner.sdp_solves)
    return result.replace(history=history)
