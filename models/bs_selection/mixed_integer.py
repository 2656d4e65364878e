"""BS selection: the lifted mixed-integer SDP (13) (DPP templates) for branch-and-bound and its relaxation."""
from __future__ import annotations

import functools

import cvxpy as cp
import numpy as np

from ...algorithms import lifted
from .scenario import BSSelectionInstance
from .sdp import Choice, ScaledData, _sensing_constraints, _vec


# ================================================================================================ MI model (13)
#: Slack (units of P) on the big-M bounds tr(W-tilde_{s,k}) <= a_{s,k}: a node that fixes a_{s,k} = 0 would
#: otherwise force a PSD block to zero (no interior point; Clarabel then fails on such nodes). Relaxing a
#: constraint keeps every node value a valid lower bound; incumbents always come from the exact inner SDP (23).
BIGM_SLACK = 1e-7


@functools.lru_cache(maxsize=16)
def _mi_template(S: int, K: int, r: int, integer: bool, receiver: int | None, sensing_tx: tuple | None,
                 phase1: bool = False, powers: bool = False):
    """The lifted mixed-integer problem (13) for one shape, DPP (see :func:`mixed_integer_model`).

    ``integer``: boolean=True discrete variables (for branch-and-bound) or continuous ones in [0, 1] (relaxation).
    ``phase1``: minimize lambda with every BS power <= lambda P (always feasible; infeasible iff > 1).
    ``powers``: also variables ``beam_power`` (S, K) = tr W-tilde_{s,k} and ``sensing_power`` (S,) = tr R-tilde_s
    (units of P; zero for a BS that cannot transmit), so that a master problem can state (18) and C1 on them.
    """
    n2 = (2 * r) ** 2
    kind = dict(boolean=True) if integer else dict(nonneg=True)
    c = cp.Variable(S, name="receiver", **kind)                 # c_s = 1 - b_s (C5 becomes an exactly-one set)
    a = cp.Variable((S, K), name="association", **kind)
    senders = [s for s in range(S) if s != receiver]            # BSs that may transmit
    tx = [t for t in senders if sensing_tx is None or t in sensing_tx]
    Zw = {s: [lifted.variable(r, f"W{s}_{k}") for k in range(K)] for s in senders}
    Zr = {t: lifted.variable(r, f"R{t}") for t in tx}
    P = dict(comm=[cp.Parameter((K, n2), name=f"comm{s}") for s in range(S)],
             desired=[cp.Parameter((K, n2), name=f"desired{s}") for s in range(S)],
             fim={(s, t): cp.Parameter((16, 4), name=f"fim{s}_{t}") for s in range(S) for t in tx if t != s},
             moment=[cp.Parameter((4, n2), name=f"moment{s}") for s in range(S)],
             trace=[cp.Parameter(n2, name=f"trace{s}") for s in range(S)],
             noise=cp.Parameter(K, nonneg=True, name="noise"))
    tr_w = {s: [P["trace"][s] @ _vec(Zw[s][k]) for k in range(K)] for s in senders}
    tr_r = {t: P["trace"][t] @ _vec(Zr[t]) for t in tx}
    Zq = {s: sum(Zw[s]) + (Zr[s] if s in Zr else 0) for s in senders}              # Q_s, units of P
    b = 1 - c
    cons = [cp.sum(c) == 1, cp.sum(a, axis=0) == 1,                               # C5, C4
            a <= cp.reshape(b, (S, 1), order="F") @ np.ones((1, K))]              # C6
    if not integer:
        cons += [c <= 1, a <= 1]                                                  # C7b, C8b
    if receiver is not None:                                                      # c = e_receiver: no variables
        cons += [c == np.eye(S)[receiver], a[receiver] == 0]                      # for the receiver's beams
    lam = cp.Variable(name="lambda") if phase1 else 1.0
    for s in senders:
        cons.append(sum(tr_w[s]) + (tr_r[s] if s in tr_r else 0) <= lam)         # C1
        cons += [tr_w[s][k] <= a[s, k] + BIGM_SLACK for k in range(K)]            # big-M (18), trace form
        if s in tr_r and receiver is None:
            cons.append(tr_r[s] <= b[s] + BIGM_SLACK)                            # b_s R_s
    for k in range(K):                                                            # C3 (9), noise units
        desired = sum(P["desired"][s][k] @ _vec(Zw[s][k]) for s in senders)
        total = sum(P["comm"][s][k] @ _vec(Zq[s]) for s in senders)
        cons.append(desired >= total + P["noise"][k])
    g = cp.Variable((S, 4), name="moments")                                       # sensing moments of Q_t
    cons += [g[t] == P["moment"][t] @ _vec(Zq[t]) for t in tx]
    aux = []
    for s in (range(S) if receiver is None else [receiver]):                      # C2a-C2c per candidate receiver
        sens, T = _sensing_constraints([P["fim"][(s, t)] @ g[t] for t in tx if t != s],
                                       c[s] if receiver is None else 1.0)
        cons += sens
        aux.append(T)
    named = {}
    if powers:
        named = dict(beam_power=cp.Variable((S, K), name="beam_power"), sensing_power=cp.Variable(S, name="sensing_power"))
        cons += [named["beam_power"][s, k] == (tr_w[s][k] if s in tr_w else 0) for s in range(S) for k in range(K)]
        cons += [named["sensing_power"][s] == (tr_r[s] if s in tr_r else 0) for s in range(S)]
    objective = sum(sum(row) for row in tr_w.values()) + sum(tr_r.values())
    problem = cp.Problem(cp.Minimize(lam if phase1 else objective), cons)
    return problem, P, dict(receiver=c, association=a, W=Zw, R=Zr, aux=aux, lam=lam, **named)


class MixedIntegerModel:
    """Problem (13) as a cvxpy problem with boolean variables, for :func:`~isacopt.algorithms.branch_and_bound.solve`.

    Lifted form: W-tilde_{s,k} = a_{s,k} W_{s,k} and R-tilde_s = b_s R_s are PSD variables (dimension-reduced real
    embeddings, :class:`ScaledData`); the products with a and b are linearized exactly for binary values by
    tr(W-tilde_{s,k}) <= a_{s,k} (big-M (18) in trace form, units of P; (19)-(21) hold with W = W-tilde) and
    tr(R-tilde_s) <= b_s. The binary b enters as the receiver indicator c = 1 - b (C5: sum c = 1, an exactly-one
    set). C2c (12) is imposed per candidate receiver s as the perspective
    [[Y_s, c_s I], [c_s I, J_s]] >= 0, tr Y_s <= c_s, [[F_pp^(s) - J_s, F_pa^(s)], [., F_aa^(s)]] >= 0:
    exact for c_s in {0, 1}; in the relaxation it demands CRLB^(s) <= epsilon / c_s. Objective: total power in P.
    ``groups`` are the exactly-one sets C4 (per CU) and C5 for branching.
    """

    def __init__(self, inst: BSSelectionInstance, *, integer: bool = True, receiver: int | None = None,
                 sensing_tx: tuple[int, ...] | None = None, data: ScaledData | None = None, phase1: bool = False,
                 powers: bool = False):
        self.inst, self.receiver, self.sensing_tx = inst, receiver, sensing_tx
        self.data = data or ScaledData(inst)
        d = self.data
        self.problem, self.params, self.vars = _mi_template(d.S, d.K, d.r, integer, receiver, sensing_tx, phase1,
                                                            powers)
        for s in range(d.S):
            self.params["comm"][s].value = d.comm[s]
            self.params["desired"][s].value = (1.0 + 1.0 / d.gamma) * d.comm[s]
            self.params["trace"][s].value = d.trace[s]
            self.params["moment"][s].value = d.moment_rows[s]
        self.params["noise"].value = d.noise
        for (s, t), par in self.params["fim"].items():
            par.value = d.fim_block[(s, t)]

    @property
    def groups(self):
        S, K = self.data.S, self.data.K
        c, a = self.vars["receiver"], self.vars["association"]
        return [[(c, s) for s in range(S)]] + [[(a, (s, k)) for s in range(S)] for k in range(K)]

    def choice_from(self, receiver_value, association_value, shares=None) -> Choice:
        """Round a relaxed point: receiver = largest c_s; each CU to the transmitting BS with the largest share of its
        desired signal (``shares`` (S, K)) or, without shares, the largest a_{s,k}."""
        rec = int(np.argmax(receiver_value)) if self.receiver is None else self.receiver
        score = np.asarray(shares if shares is not None else association_value, float).copy()
        score[rec] = -np.inf
        return Choice(rec, tuple(int(np.argmax(score[:, k])) for k in range(score.shape[1])))

    def desired_shares(self, values: dict) -> np.ndarray:
        """Desired-signal form of each W-tilde_{s,k} at CU k (S, K), noise units, from relaxed variable values."""
        d = self.data
        out = np.zeros((d.S, d.K))
        for s in self.vars["W"]:
            for k in range(d.K):
                z = values.get(self.vars["W"][s][k])
                if z is not None:
                    out[s, k] = d.comm[s][k] @ np.asarray(z).ravel(order="F") * d.tolerable[k]
        return out


def mixed_integer_model(inst, **kwargs) -> MixedIntegerModel:
    return MixedIntegerModel(inst, **kwargs)
