"""BS selection: Algorithm 1 - penalty (16) + MM (17), alternating the blocks (22) (b) and (23) (W-tilde, R, J, a).

The blocks as the paper states them, with what it leaves open chosen here:
- both blocks share one constraint set, so every block solve keeps the joint point feasible and, at fixed mu, the
  surrogate (17) never increases. C2c (11)/(12) is the paper's: sum_s (1 - b_s) Schur(F^(s)) >= J (one J,
  tr J^-1 <= epsilon), split per (receiver s, transmitter t) pair into 4 x 4 LMIs as in :func:`_sensing_constraints`.
  As printed, F^(s) depends on Q_t = sum_k W-tilde_{t,k} + b_t R_t, so (1 - b_s) F^(s) is bilinear in b and block
  (22) is not convex; the closest convex form evaluates F^(s) with b_t = 1 for t != s, exact at every 0/1 point
  (a receiver's partners all transmit, C5);
- block (22) re-optimizes J with b (an auxiliary of C2a only): with J fixed at the previous block's tight value it
  has no interior and the interior-point solve fails at the previous iterate;
- (18)-(21): W_{s,k} appears nowhere else, so W = W-tilde and (18) is used in trace form tr W-tilde <= a P (tighter,
  exact at 0/1); R_s is kept unlifted (b_s R_s in C1 and C3) with tr R_s <= P (exact at 0/1);
- penalty continuation (not in the paper; ``ao_mu_growth = 1`` turns it off): mu starts at ``ao_mu_start`` x the
  starting power and grows by ``ao_mu_growth`` per iteration up to Table I's mu = 3e4 W. With Table I's mu from the
  first iteration the first block (23) already pushes a to the vertex its linearization points at, i.e. the AO
  rounds its start. The loop stops by the paper's rule (relative change of (17) <= epsilon) once a and b are 0/1.
  With continuation on, a block (22) that leaves a fractional b unchanged (it stalls: C6 with the fixed a and C2c at
  a Q made for the mixture of receivers hold it) rounds b to its largest 1 - b_s, and block (23) goes on from there;
  and the loop stops at the first 0/1 point (raising mu further only moves a 0/1 point along its linearization,
  measured: up to 3x the power for the same receiver). With mu fixed (growth 1) the paper's rule alone stops it;
- starts (``ao_starts``): ``relaxation`` (the continuous relaxation of (13), whose value is a bound), ``best-bound``
  (the receiver whose receiver-fixed relaxation is least, with its a: S more relaxations, and their least value is
  the reported bound, tighter than the joint one), ``nearest`` (receiver = the BS nearest the target, a uniform),
  ``random`` (b, a drawn from the run's rng).
  Each start's final choice (receiver = largest 1 - b_s, CU to largest a) is solved exactly by the inner SDP (23);
  the best verified one is returned.
"""
from __future__ import annotations

import functools

import cvxpy as cp
import numpy as np

from ...algorithms import backends, lifted, limits
from ...algorithms.ao import FunctionBlock
from ...algorithms.result import Result, Status, Termination
from .. import geometry
from .scenario import AO_STARTS, BSSelectionInstance
from .sdp import Choice, InnerProblem, ScaledData, _sensing_constraints, _vec
from .verification import make_result
from .mixed_integer import BIGM_SLACK, MixedIntegerModel
from .exact import time_now

#: A point is 0/1 when every a_{s,k} and b_s is within this of 0 or 1 (its rounding is then unambiguous; pushing
#: on to 1e-3 costs iterations at a mu large enough to make block (23) badly scaled, for the same choice).
BINARY_TOL = 1e-2
#: Receiver weights (1 - b_s) below this count as 0 in block (23)'s C2c (an LMI with a zero gain block has no
#: interior); a 0/1 b uses the receiver's own, smaller template instead.
WEIGHT_FLOOR = 1e-6
#: Gain-block ridge for a pair whose transmitter sends nothing (a zero block leaves block (22)'s LMI no interior;
#: with F_pa = 0 the ridge does not change its Schur complement, 0).
RIDGE = 1e-9
STARTS = AO_STARTS


# ================================================================================================ block (23)
@functools.lru_cache(maxsize=32)
def _w_template(S: int, K: int, r: int, receiver: int | None, sensing_tx: tuple | None):
    """Rank-relaxed (23) for fixed b, DPP. ``receiver``: b = 1 - e_receiver (0/1; only its beams and pairs);
    None: fractional b (every BS may serve and receive). Parameters: ``comm_b[t]``/``trace_b[t]`` = b_t x the
    CU-form/trace rows of BS t (b_t R_t in C3 and C1), ``b`` (S,) for C6, ``fim[(s, t)]`` = (1 - b_s) x the FIM
    block map of pair (s, t), ``lin_a`` (S, K) = mu (1 - 2 a^(t)) in units of P."""
    n2 = (2 * r) ** 2
    senders = [s for s in range(S) if s != receiver]
    tx = [t for t in senders if sensing_tx is None or t in sensing_tx]
    pairs = [(s, t) for s in (range(S) if receiver is None else [receiver]) for t in tx if t != s]
    Zw = {s: [lifted.variable(r, f"W{s}_{k}") for k in range(K)] for s in senders}
    Zr = {t: lifted.variable(r, f"R{t}") for t in tx}
    a = cp.Variable((S, K), nonneg=True, name="association")
    P = dict(comm=[cp.Parameter((K, n2), name=f"comm{s}") for s in range(S)],
             desired=[cp.Parameter((K, n2), name=f"desired{s}") for s in range(S)],
             trace=[cp.Parameter(n2, name=f"trace{s}") for s in range(S)],
             moment=[cp.Parameter((4, n2), name=f"moment{s}") for s in range(S)],
             comm_b=[cp.Parameter((K, n2), name=f"comm_b{s}") for s in range(S)],
             trace_b=[cp.Parameter(n2, name=f"trace_b{s}") for s in range(S)],
             b=cp.Parameter(S, nonneg=True, name="b"), noise=cp.Parameter(K, nonneg=True, name="noise"),
             fim={pair: cp.Parameter((16, 4), name=f"fim{pair[0]}_{pair[1]}") for pair in pairs},
             lin_a=cp.Parameter((S, K), name="lin_a"))
    tr_w = {s: [P["trace"][s] @ _vec(Zw[s][k]) for k in range(K)] for s in senders}
    cons = [cp.sum(a, axis=0) == 1, a <= 1, a <= cp.reshape(P["b"], (S, 1), order="F") @ np.ones((1, K))]  # C4,7,6
    if receiver is not None:
        cons.append(a[receiver] == 0)
    for s in senders:
        sensing = P["trace_b"][s] @ _vec(Zr[s]) if s in Zr else 0
        cons += [sum(tr_w[s]) + sensing <= 1]                                                      # C1
        cons += [tr_w[s][k] <= a[s, k] + BIGM_SLACK for k in range(K)]                             # (18)
    cons += [P["trace"][t] @ _vec(Zr[t]) <= 1 for t in tx]
    for k in range(K):                                                                             # C3-bar (9)
        desired = sum(P["desired"][s][k] @ _vec(Zw[s][k]) for s in senders)
        total = sum(P["comm"][s][k] @ _vec(sum(Zw[s])) for s in senders)
        total = total + sum(P["comm_b"][t][k] @ _vec(Zr[t]) for t in tx)
        cons.append(desired >= total + P["noise"][k])
    g = cp.Variable((S, 4), name="moments")                                  # sensing moments of Q_t (b_t = 1)
    cons += [g[t] == P["moment"][t] @ _vec(sum(Zw[t]) + Zr[t]) for t in tx]
    sens, J = _sensing_constraints([P["fim"][(s, t)] @ g[t] for s, t in pairs], 1.0)               # C2a-C2c-bar
    cons += sens
    power = sum(sum(row) for row in tr_w.values()) + sum(P["trace_b"][t] @ _vec(Zr[t]) for t in tx)
    problem = cp.Problem(cp.Minimize(power + cp.sum(cp.multiply(P["lin_a"], a))), cons)
    return problem, P, dict(association=a, W=Zw, R=Zr, J=J)


# ================================================================================================ block (22)
@functools.lru_cache(maxsize=16)
def _b_template(S: int, K: int):
    """(22) in c = 1 - b for fixed W-tilde, R, a: C1, C2c-bar, C3-bar, C5, C6, C8 are linear in c. Parameters:
    ``tr_w``/``tr_r`` (S,) and ``cap`` (S,) for C1, ``r_form`` (S, K) the CU forms of R_t and ``slack`` (K,) the
    C3 margin without them, ``a_max`` (S,) for C6, ``blocks[(s, t)]`` (16,) the FIM blocks at the fixed Q_t, ``lin``
    (S,) the objective's coefficients of c (sum_s b_s tr R_s + mu (1 - 2 b^(t)) b in c, constants dropped)."""
    c = cp.Variable(S, nonneg=True, name="receiver")
    P = dict(tr_w=cp.Parameter(S, nonneg=True), tr_r=cp.Parameter(S, nonneg=True), cap=cp.Parameter(S),
             r_form=cp.Parameter((S, K), nonneg=True), slack=cp.Parameter(K), a_max=cp.Parameter(S),
             blocks={(s, t): cp.Parameter(16) for s in range(S) for t in range(S) if s != t},
             lin=cp.Parameter(S))
    b = 1 - c
    cons = [cp.sum(c) == 1, c <= 1, b >= P["a_max"],                                          # C5, C8, C6
            P["tr_w"] + cp.multiply(b, P["tr_r"]) <= P["cap"],                                 # C1
            P["r_form"].T @ b <= P["slack"]]                                                   # C3-bar
    sens, _ = _sensing_constraints([P["blocks"][(s, t)] * c[s] for (s, t) in P["blocks"]], 1.0)  # C2c-bar
    return cp.Problem(cp.Minimize(P["lin"] @ c), cons + sens), P, c


# ================================================================================================ Algorithm 1
class PenaltyAO:
    """Algorithm 1 from one start. State: ``c`` = 1 - b (S,), ``a`` (S, K), lifted ``W`` {(s, k): Z}, ``R`` {t: Z}
    (unlifted R_t, units of P). ``mu`` (units of P) grows by ``growth`` per iteration up to ``mu_max``."""

    def __init__(self, inst: BSSelectionInstance, solver: str | None = None, *, data: ScaledData | None = None,
                 receiver: int | None = None, sensing_tx: tuple | None = None, mu_max_w: float | None = None,
                 growth: float | None = None):
        sc = inst.scenario
        self.inst, self.solver, self.receiver, self.sensing_tx = inst, solver, receiver, sensing_tx
        self.data = data or ScaledData(inst)
        self.mu_max = (sc.penalty_mu if mu_max_w is None else mu_max_w) / self.data.P
        self.growth = sc.ao_mu_growth if growth is None else growth
        self.mu = self.mu_max
        self.anchor = None
        self.b_problem, self.b_params, self.b_var = _b_template(self.data.S, self.data.K)
        self.b_moves = 0
        self.visited: list[Choice] = []          # the rounded choice of every iterate (for the exact inner SDPs)

    # ------------------------------------------------------------------ starts
    def start(self, c: np.ndarray | None = None, a: np.ndarray | None = None, mu: float | None = None):
        """The start (c, a) (default: uniform) and the first mu (units of P; default Table I's); block (23) makes
        it a feasible point."""
        S, K = self.data.S, self.data.K
        c = np.full(S, 1.0 / S) if c is None else c
        a = np.full((S, K), 1.0 / S) if a is None else a
        self.mu = self.mu_max if mu is None else min(mu, self.mu_max)
        self.anchor = dict(c=np.asarray(c, float), a=np.asarray(a, float))
        state, status = self.step_w(dict(self.anchor))
        if status == Status.OPTIMAL:
            self.anchor = dict(c=state["c"], a=state["a"])
        return state, status

    # ------------------------------------------------------------------ merit and record
    def power(self, state) -> float:
        d = self.data
        total = sum(d.trace[s] @ z.ravel(order="F") for (s, _), z in state["W"].items())
        total += sum((1 - state["c"][t]) * d.trace[t] @ z.ravel(order="F") for t, z in state["R"].items())
        return float(total)

    def objective(self, state):
        """The surrogate (17) at ``state``, linearized at the iteration's anchor (with its constants, footnote 2),
        and the history record (paper units)."""
        a, b = state["a"], 1 - state["c"]
        a0, b0 = self.anchor["a"], 1 - self.anchor["c"]
        f = self.power(state)
        surrogate = f + self.mu * (np.sum((1 - 2 * a0) * a + a0 ** 2) + np.sum((1 - 2 * b0) * b + b0 ** 2))
        penalty = self.mu * (np.sum(a - a ** 2) + np.sum(b - b ** 2))
        P = self.data.P
        choice = round_choice(self.data, state, self.receiver)
        if choice not in self.visited:
            self.visited.append(choice)
        return surrogate, dict(power_w=f * P, penalty_w=penalty * P, surrogate_w=surrogate * P,
                               mu_w=self.mu * P, b=b.copy(), a=a.copy(), fractionality=fractionality(state),
                               b_block=state.get("b_block", ""),
                               choice=choice.describe())

    def advance(self, _iteration: int) -> None:
        """After an iteration: the next linearization point, and mu grows (continuation)."""
        self.anchor = None
        self.mu = min(self.mu * self.growth, self.mu_max)

    def settled(self, state) -> bool:
        return fractionality(state) <= BINARY_TOL

    def blocks(self):
        """Blocks (22) for b (unless the receiver is fixed) and (23) for W, for :func:`~...algorithms.ao.alternate`."""
        steps = [("W", self.step_w)] if self.receiver is not None else [("b", self.step_b), ("W", self.step_w)]
        return [FunctionBlock(name, self._anchored(step)) for name, step in steps]

    def _anchored(self, step):
        def run(state):
            if self.anchor is None:
                self.anchor = dict(c=state["c"], a=state["a"])
            return step(state)
        return run

    # ------------------------------------------------------------------ the blocks
    def _moments(self, state):
        d = self.data
        q = {t: sum((z for (s, _), z in state["W"].items() if s == t), np.zeros((2 * d.r, 2 * d.r)))
             for t in range(d.S)}
        for t, z in state["R"].items():
            q[t] = q[t] + z
        return {t: d.moment_rows[t] @ q[t].ravel(order="F") for t in range(d.S)}

    def _allowed_tx(self, t: int) -> bool:
        return self.sensing_tx is None or t in self.sensing_tx

    def step_b(self, state):
        """(22): c = 1 - b for fixed W-tilde, R, a (the anchor's b linearizes the penalty). A failed solve (e.g. the
        solver's residual makes the previous point look infeasible) keeps b: the block is then a no-op, counted."""
        if self.receiver is not None:                     # a scheme with its receiver fixed: b is not a variable
            return state, Status.OPTIMAL
        d, P = self.data, self.b_params
        S, K = d.S, d.K
        vec = lambda z: z.ravel(order="F")
        tr_w = np.zeros(S)
        interference = np.zeros(K)
        desired = np.zeros(K)
        for (s, k), z in state["W"].items():
            tr_w[s] += d.trace[s] @ vec(z)
            interference += d.comm[s] @ vec(z)
            desired[k] += (1 + 1 / d.gamma) * d.comm[s][k] @ vec(z)
        tr_r, r_form = np.zeros(S), np.zeros((S, K))
        for t, z in state["R"].items():
            tr_r[t] = max(d.trace[t] @ vec(z), 0.0)
            r_form[t] = np.maximum(d.comm[t] @ vec(z), 0.0)
        b0 = 1 - state["c"]
        slack = desired - interference - d.noise
        tr_w = np.maximum(tr_w, 0.0)
        P["tr_w"].value, P["tr_r"].value, P["r_form"].value = tr_w, tr_r, r_form
        P["cap"].value = np.maximum(1.0, tr_w + b0 * tr_r)              # the previous point stays feasible
        P["slack"].value = np.maximum(slack, r_form.T @ b0)
        P["a_max"].value = np.minimum(state["a"].max(axis=1), 1.0)
        moments = self._moments(state)
        ridge = np.zeros((4, 4))
        ridge[2, 2] = ridge[3, 3] = RIDGE
        for (s, t), par in P["blocks"].items():
            block = d.fim_block[(s, t)] @ moments[t] if self._allowed_tx(t) else np.zeros(16)
            par.value = block if np.max(np.abs(block)) > RIDGE else ridge.ravel(order="F")
        b_anchor = 1 - self.anchor["c"]
        P["lin"].value = -(tr_r + self.mu * (1 - 2 * b_anchor))
        outcome = backends.solve_conic(self.b_problem, self.solver)
        c, label = state["c"], outcome.status.value
        if outcome.status == Status.OPTIMAL:
            c = np.clip(self.b_var.value, 0, 1)
            c = c / c.sum()
        moved = np.max(np.abs(c - state["c"])) > 1e-6
        self.b_moves += int(moved)
        if not moved and self.growth > 1 and np.max(np.minimum(c, 1 - c)) > BINARY_TOL:
            # stalled at a fractional b (C6 with the fixed a, and C2c at Q made for the mixture of receivers, hold
            # it): with continuation on, b is rounded to its largest 1 - b_s and block (23) goes on from there
            return dict(state, c=np.eye(S)[int(np.argmax(c))], b_block=f"{label}, stalled: rounded"), Status.OPTIMAL
        return dict(state, c=c, b_block=label), Status.OPTIMAL

    def step_w(self, state):
        """(23) rank-relaxed for fixed b (the anchor's a linearizes the penalty)."""
        d = self.data
        S = d.S
        c = np.asarray(state["c"], float)
        receiver = self.receiver
        if receiver is None and c.max() >= 1 - 1e-9:
            receiver = int(np.argmax(c))                   # b is 0/1: the receiver's (smaller) template
        problem, P, V = _w_template(S, d.K, d.r, receiver, self.sensing_tx)
        b = 1 - c if receiver is None else 1 - np.eye(S)[receiver]
        weight = np.where(1 - b < WEIGHT_FLOOR, WEIGHT_FLOOR, 1 - b)
        for s in range(S):
            P["comm"][s].value = d.comm[s]
            P["desired"][s].value = (1.0 + 1.0 / d.gamma) * d.comm[s]
            P["trace"][s].value = d.trace[s]
            P["moment"][s].value = d.moment_rows[s]
            P["comm_b"][s].value = b[s] * d.comm[s]
            P["trace_b"][s].value = b[s] * d.trace[s]
        P["b"].value, P["noise"].value = b, d.noise
        for (s, t), par in P["fim"].items():
            par.value = weight[s] * d.fim_block[(s, t)]
        P["lin_a"].value = self.mu * (1 - 2 * self.anchor["a"])
        outcome = backends.solve_conic(problem, self.solver)
        if outcome.status != Status.OPTIMAL:
            return state, outcome.status
        W = {(s, k): z.value.copy() for s, row in V["W"].items() for k, z in enumerate(row)}
        R = {t: z.value.copy() for t, z in V["R"].items()}
        return dict(state, c=1 - b, a=np.clip(V["association"].value, 0, 1), W=W, R=R), Status.OPTIMAL


def fractionality(state) -> float:
    """Largest distance of an a_{s,k} or b_s from {0, 1}."""
    x = np.concatenate([np.ravel(state["a"]), np.ravel(state["c"])])
    return float(np.max(np.minimum(x, 1 - x)))


def desired_shares(data: ScaledData, state) -> np.ndarray:
    """(S, K): the desired signal each BS's W-tilde_{s,k} delivers to CU k (noise units)."""
    out = np.zeros((data.S, data.K))
    for (s, k), z in state.get("W", {}).items():
        out[s, k] = max(data.comm[s][k] @ z.ravel(order="F") * data.tolerable[k], 0.0)
    return out


def round_choice(data: ScaledData, state, receiver: int | None = None) -> Choice:
    """Receiver = largest c_s (1 - b_s); each CU to the transmitting BS that delivers most of its desired signal
    (the beams' own association; the largest a_{s,k} when there are no beams). The big-M (18) ties a to the beams
    only through tr W-tilde_{s,k} <= a_{s,k} P, and a beam is ~1e-3 P here, so a BS can carry a CU's beam at
    a_{s,k} ~ 1e-3: a alone rounds to the wrong BS."""
    rec = int(np.argmax(state["c"])) if receiver is None else receiver
    shares = desired_shares(data, state)
    score = np.where(shares.sum(axis=0, keepdims=True) > 0, shares, np.array(state["a"], float))
    score[rec] = -np.inf
    return Choice(rec, tuple(int(np.argmax(score[:, k])) for k in range(score.shape[1])))


# ================================================================================================ driver
def _starts(inst: BSSelectionInstance, names, rng, relaxation, receiver, sensing_tx, best_bound=None):
    """(name, c, a) per start; ``relaxation`` is the relaxed (c, a) or None; ``best_bound`` the (c, a) of the
    receiver-fixed relaxation with the least bound, or None."""
    S, K, _ = inst.shape
    nearest = int(np.argmin(geometry.distance(inst.scenario.bs, inst.target[None])))
    out = []
    for name in names:
        if name == "relaxation" and relaxation is not None:
            c, a = relaxation
        elif name == "best-bound" and best_bound is not None:
            c, a = best_bound
        elif name == "nearest" or (name == "relaxation" and receiver is not None):
            c = np.eye(S)[nearest if receiver is None else receiver]
            a = np.ones((S, K))
        elif name == "random":
            c = rng.dirichlet(np.ones(S)) if receiver is None else np.eye(S)[receiver]
            a = rng.dirichlet(np.ones(S), size=K).T
        else:
            continue
        a = np.where(np.asarray(c)[:, None] >= 1 - 1e-9, 0.0, a)           # C6: the receiver serves nobody
        out.append((name, np.asarray(c, float), a / a.sum(axis=0, keepdims=True)))
    return out


def run_ao(inst: BSSelectionInstance, solver: str | None = None, *, mu_w: float | None = None,
           tol: float | None = None, max_iter: int | None = None, starts=None, growth: float | None = None,
           rng: np.random.Generator | None = None, receiver: int | None = None, sensing_tx: tuple | None = None,
           method: str = "ao", restriction: str | None = None) -> Result:
    """Algorithm 1 from each start (module docstring), each final choice solved exactly by the inner SDP (23);
    the best verified one is returned as ``feasible`` with the continuous relaxation's bound (``proven=False``).
    ``receiver``/``sensing_tx``: a scheme's restriction (b fixed; only the association is searched), said in the
    notes as ``restriction``; then the bound is that of the restricted relaxation. History per start in
    ``history`` (one record per iteration, tagged with the start). A Ctrl-C returns the best inner-SDP solution
    found so far (``no_solution`` if none), with termination ``interrupted``."""
    from ...algorithms import ao as ao_driver
    start_time = time_now()
    sc = inst.scenario
    rng = rng if rng is not None else np.random.default_rng(0)
    data = ScaledData(inst)
    names = tuple(sc.ao_starts if starts is None else starts)
    unknown = [n for n in names if n not in STARTS]
    if unknown:
        raise ValueError(f"ao_starts: unknown start {unknown[0]!r}; use any of {', '.join(STARTS)}")
    sdp, notes, history, runs = 0, [], [], []
    bound, best, termination, tried, inner = None, None, Termination.CONVERGED, {}, None
    with limits.interruptible() as stop:      # Ctrl-C: the best inner-SDP solution found so far, if any
        relax = MixedIntegerModel(inst, integer=False, receiver=receiver, sensing_tx=sensing_tx, data=data)
        outcome = backends.solve_conic(relax.problem, solver)
        sdp += 1
        relaxed, scale = None, 1.0
        if outcome.status == Status.INFEASIBLE:
            notes.append("continuous relaxation of (13): infeasible")
            return make_result(inst, method, None, status=Status.INFEASIBLE, notes=notes, sdp_solves=sdp,
                               time_s=time_now() - start_time)
        value = relax.problem.value
        if value is not None and np.isfinite(value) and relax.vars["receiver"].value is not None:
            # an inaccurate relaxation still gives a start and the power scale of mu, but no bound
            relaxed = (np.clip(relax.vars["receiver"].value, 0, 1), np.clip(relax.vars["association"].value, 0, 1))
            scale = max(float(value), 1e-9)
            if outcome.status == Status.OPTIMAL:
                bound = float(value) * data.P
        if outcome.status != Status.OPTIMAL:
            notes.append(f"continuous relaxation of (13): {outcome.status.value} (no bound"
                         + ("; its point is still a start)" if relaxed is not None else ")"))
        best_bound = None
        if "best-bound" in names and receiver is None:
            # the relaxation of (13) with each receiver fixed (S solves); the least is a valid bound, tighter than the
            # joint relaxation (which mixes receivers), and its receiver a start
            fixed = []
            for s in range(data.S):
                model = MixedIntegerModel(inst, integer=False, receiver=s, sensing_tx=sensing_tx, data=data)
                out_s = backends.solve_conic(model.problem, solver)
                sdp += 1
                if out_s.status == Status.OPTIMAL:
                    fixed.append((float(model.problem.value), s, np.clip(model.vars["association"].value, 0, 1)))
                elif out_s.status != Status.INFEASIBLE:
                    fixed.append((-np.inf, s, None))             # unresolved: no bound from the receivers
            if fixed and all(v > -np.inf for v, _, _ in fixed):
                value, s, a = min(fixed, key=lambda x: x[0])
                best_bound = (np.eye(data.S)[s], a)
                bound = max(bound or 0.0, value * data.P) if outcome.status == Status.OPTIMAL else value * data.P
                scale = scale if relaxed is not None else max(value, 1e-9)
                listed = sorted(fixed, key=lambda x: x[1])
                notes.append("receiver-fixed relaxations (W): "
                             + ", ".join(f"BS{t + 1} {v * data.P:.6g}" for v, t, _ in listed))
            elif not fixed:
                notes.append("every receiver-fixed relaxation is infeasible")
                return make_result(inst, method, None, status=Status.INFEASIBLE, notes=notes, sdp_solves=sdp,
                                   time_s=time_now() - start_time)
        mu_start = sc.ao_mu_start * scale
        inner = InnerProblem(inst, sensing_tx, solver)
        inner._data = data
        for name, c0, a0 in _starts(inst, names, rng, relaxed, receiver, sensing_tx, best_bound):
            if limits.expired():
                termination = Termination.TIME_LIMIT
                notes.append(f"time limit reached before start {name!r}")
                break
            algo = PenaltyAO(inst, solver, data=data, receiver=receiver, sensing_tx=sensing_tx, mu_max_w=mu_w,
                             growth=growth)
            state, status = algo.start(c0, a0, mu_start)
            sdp += 1
            if status != Status.OPTIMAL:
                notes.append(f"start {name!r}: block (23) at the start returned {status.value}; start dropped")
                continue
            out = ao_driver.alternate(state, algo.blocks(), merit=algo.objective, advance=algo.advance,
                                      settled=algo.settled, stop_when_settled=algo.growth > 1,
                                      slack=None if algo.growth > 1 else 1e-6,
                                      tol=sc.ao_tolerance if tol is None else tol,
                                      max_iter=sc.ao_max_iterations if max_iter is None else max_iter)
            sdp += out.solves
            if out.interrupted:               # the run's Ctrl-C: end every start (the handler below)
                raise KeyboardInterrupt
            frac = fractionality(out.state)
            choice = round_choice(data, out.state, receiver)
            # the exact inner SDP on the final rounded choice, and on every other choice the path rounded to
            path = {x for x in algo.visited if x != choice}
            for other in [choice] + [x for x in algo.visited if x != choice]:
                if other not in tried:
                    tried[other] = inner.solve(other)
            sol = min((tried[x] for x in [choice, *path] if tried[x].status == Status.OPTIMAL),
                      key=lambda x: x.power_w, default=tried[choice])
            history += [dict(h, start=name) for h in out.history]
            binary = frac <= BINARY_TOL
            ended = "at a 0/1 point" if binary else f"NOT at a 0/1 point (max distance {frac:.3g})"
            notes.append(f"start {name!r}: {out.iterations} iterations ({out.termination.value}), b moved in "
                         f"{algo.b_moves}, ended {ended}"
                         f", {choice.describe()}: inner SDP {tried[choice].status.value}"
                         + (f"; best choice on its path {sol.choice.describe()}" if sol.choice != choice else "")
                         + (f", {sol.power_w:.6g} W" if sol.power_w is not None else ""))
            notes += [f"start {name!r}: {n}" for n in out.notes]
            runs.append(dict(start=name, iterations=out.iterations, binary=binary, fractionality=frac,
                             b_moves=algo.b_moves, choice=sol.choice.describe(), power_w=sol.power_w,
                             termination=out.termination.value))
            if out.termination is Termination.TIME_LIMIT:
                termination = Termination.TIME_LIMIT
            if sol.status == Status.OPTIMAL and (best is None or sol.power_w < best.power_w):
                best = sol
    if stop.happened:
        termination = Termination.INTERRUPTED
        best = min((x for x in tried.values() if x.status == Status.OPTIMAL), key=lambda x: x.power_w, default=None)
        notes.append(f"interrupted (Ctrl-C) after {len(runs)} complete start(s) and {len(tried)} inner SDP(s)")
    sdp += inner.sdp_solves if inner is not None else 0
    if restriction is not None:
        notes.insert(0, f"{restriction}: association by Algorithm 1 (heuristic), beamforming by the inner SDP")
    if best is None:
        if runs:
            termination = Termination.INFEASIBLE_CHOICE if termination is Termination.CONVERGED else termination
            notes.append("no start's choice is feasible (no feasible point found; not a proof)")
        result = make_result(inst, method, None, status=Status.NO_SOLUTION, notes=notes, termination=termination,
                             bound_w=None, time_s=time_now() - start_time, sdp_solves=sdp)
    else:
        result = make_result(inst, method, best, proven=False, bound_w=bound if restriction is None else None,
                             termination=termination, notes=notes, time_s=time_now() - start_time,
                             sdp_solves=sdp)
    metrics = dict(result.metrics or {}, ao_starts=runs)
    if restriction is not None and bound is not None:
        metrics["restricted_lower_bound_w"] = bound
    return result.replace(history=history, metrics=metrics)
