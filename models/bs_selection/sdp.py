"""BS selection: the scaled problem data and the inner SDP (23) for a fixed (receiver, association) choice."""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ...algorithms import backends, lifted
from ...algorithms.result import Status
from ...algorithms.sdr import constructive_rank_one, eigen_ratio, nearest_psd
from .. import geometry
from ..units import db_to_linear, dbm_to_watt, linear_to_db
from .scenario import BSSelectionInstance
from .metrics import _g_tilde


# ================================================================================================ scaled data
class ScaledData:
    """Every quantity the conic models need, in solver units, for one instance.

    Powers in units of P (so C1 reads <= 1); CU forms in noise units (channels times sqrt(P / sigma_c^2));
    FIM entries times epsilon (so C2a reads tr(J^-1) <= 1) with the rows and columns of gain alpha_{s,t} scaled by
    t_{s,t} = |alpha_{s,t}| sqrt(l_{s,t}) (a congruence: PSD-ness and the Schur complement are unchanged), l the
    ratio ||G-tilde||^2 / ||G||^2, so the position and gain blocks are of the same order.
    Each BS t has a basis U_t (N, r) of span{h_{t,1..K}, a(theta_t), a'(theta_t)}, r = min(N, K + 2): a covariance
    of BS t enters the model only through forms with these vectors and its trace (C1), so the optimum lies in the
    span (exact reduction, :mod:`~isacopt.algorithms.lifted`). U_t is biorthogonal (:meth:`_basis`): a CU-dual
    column per CU scaled to the interference that CU tolerates, so CUs with 60 dB SNR that must be nulled to the
    noise floor give order-one entries, as in the detection model.
    """

    def __init__(self, inst: BSSelectionInstance):
        self.inst = inst
        sc = inst.scenario
        S, K, N = inst.shape
        self.S, self.K, self.N, self.m = S, K, N, 2 * S
        self.P = sc.max_power_w
        self.noise_c = float(dbm_to_watt(sc.comm_noise_dbm))
        self.gamma = float(db_to_linear(sc.sinr_db))
        geo = inst.geometry
        dadtheta = geometry.ula_steering_derivative(N, geo["theta"], sc.antenna_spacing_wavelengths)
        hn = inst.h * np.sqrt(self.P / self.noise_c)                                   # (S, K, N)
        self.snr = np.sum(np.abs(hn) ** 2, axis=-1)                                    # (S, K) full-power SNR
        #: interference CU k can tolerate and still reach Gamma at full power from its best BS (noise units)
        self.tolerable = np.maximum(1.0, self.snr.max(axis=0) / self.gamma)
        self.basis = [self._basis(hn[t].T, np.stack([geo["a"][t], dadtheta[t]], axis=1)) for t in range(S)]
        self.r = self.basis[0].shape[1]
        # CU forms of BS t, row j divided by tolerable_j (C3 of CU j in units of its tolerable interference; the
        # noise term becomes 1 / tolerable_j): Clarabel's equilibration stops at 1e4, below the 1e5 range of SNRs
        self.comm = [lifted.form_rows(self.basis[t], hn[t].T) / self.tolerable[:, None] for t in range(S)]
        self.noise = 1.0 / self.tolerable                                               # (K,)
        self.trace = [lifted.trace_row(self.basis[t]) for t in range(S)]                 # (n2,) per BS
        self.fim_scale = sc.crlb_max_m2 * self.P * 2.0 * sc.samples / float(dbm_to_watt(sc.radar_noise_dbm))
        # sensing moments of a covariance X of BS t: [v1^H X v1, Re v1^H X v2, Im v1^H X v2, v2^H X v2], v1, v2 the
        # unit-norm a(theta_t), a'(theta_t): every FIM entry due to Q_t is linear in them (G = a_r a_t^H, (32))
        self.sens_vectors = []
        for t in range(S):
            v1 = geo["a"][t] / np.linalg.norm(geo["a"][t])
            nd = np.linalg.norm(dadtheta[t])
            v2 = dadtheta[t] / nd if nd > 0 else np.zeros(N)
            self.sens_vectors.append(np.stack([v1, v2], axis=1))
        self.moment_rows = [lifted.matrix_rows(self.basis[t], self._moment_matrices(t)) for t in range(S)]
        self.fim = {(s, t): self._fim_map(s, t) for s in range(S) for t in range(S) if s != t}
        self.fim_block = {key: self._block(key, M) for key, M in self.fim.items()}

    def _basis(self, comm: np.ndarray, sens: np.ndarray) -> np.ndarray:
        """Basis (N, r) of BS t: columns dual to the K CU channels (column j has form 1 on CU j, 0 on the others),
        scaled to the smaller of CU j's tolerable interference and unit power (so Y_jj <= 1 is implied both by C3
        and by C1), then orthonormal sensing directions (units of P); an orthonormal basis of the same span when
        K > N or the CU channels are nearly parallel (:func:`~isacopt.algorithms.lifted.scaled_basis`)."""
        return lifted.scaled_basis(comm, sens, np.sqrt(self.tolerable), cap_at_unit_power=True)

    def _moment_matrices(self, t: int) -> np.ndarray:
        """(4, N, N): M_i with Re tr(M_i X) = the i-th sensing moment of X."""
        v1, v2 = self.sens_vectors[t].T
        return np.stack([np.outer(v1, v1.conj()), np.outer(v2, v1.conj()), -1j * np.outer(v2, v1.conj()),
                         np.outer(v2, v2.conj())])

    @staticmethod
    def moments(X: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Sensing moments (4,) of a Hermitian X (N, N) for V = [v1, v2] (N, 2)."""
        g = V.conj().T @ X @ V
        return np.array([g[0, 0].real, g[0, 1].real, g[0, 1].imag, g[1, 1].real])

    def _fim_map(self, s: int, t: int) -> np.ndarray:
        """(m*m, 4): vec (F order) of the scaled FIM (29) of receiver s due to Q_t, as a linear map of Q_t's
        sensing moments. Entries Re tr(M Q) with M = V C V^H (V = [v1, v2]) equal
        Re C11 m1 + Re(C12 + C21) m2 + Im(C12 - C21) m3 + Re C22 m4."""
        S, m = self.S, self.m
        G, Gt = _g_tilde(self.inst, s, t)
        al = self.inst.alpha[s, t]
        ell = (np.linalg.norm(Gt[0]) ** 2 + np.linalg.norm(Gt[1]) ** 2) / (2 * np.linalg.norm(G) ** 2)
        tau = abs(al) * np.sqrt(ell)              # congruence factor of the gain rows/columns
        c = self.fim_scale
        j = [u for u in range(S) if u != s].index(t)
        entries = {}
        for i in range(2):
            for k in range(2):
                entries[(i, k)] = c * abs(al) ** 2 * Gt[i].conj().T @ Gt[k]                   # (34)
            D = c * tau * al.conj() * Gt[i].conj().T @ G                                       # (35)-(37), scaled
            entries[(i, 2 + j)] = D
            entries[(i, 2 + S - 1 + j)] = 1j * D
        E = c * tau ** 2 * G.conj().T @ G                                                      # (38)-(39), scaled
        entries[(2 + j, 2 + j)] = entries[(2 + S - 1 + j, 2 + S - 1 + j)] = E
        Vp = np.linalg.pinv(self.sens_vectors[t])
        out = np.zeros((m, m, 4))
        for (i, k), M in entries.items():
            C = Vp @ M @ Vp.conj().T
            row = np.array([C[0, 0].real, (C[0, 1] + C[1, 0]).real, (C[0, 1] - C[1, 0]).imag, C[1, 1].real])
            out[i, k] = out[k, i] = row
        return out.reshape(m * m, 4, order="F")

    def _block(self, key, M) -> np.ndarray:
        """(16, 4): the 4 x 4 block of transmitter t (rows/columns p1, p2, Re alpha_t, Im alpha_t), F-order vec."""
        s, t = key
        j = [u for u in range(self.S) if u != s].index(t)
        idx = [0, 1, 2 + j, 2 + self.S - 1 + j]
        full = M.reshape(self.m, self.m, 4, order="F")
        return full[np.ix_(idx, idx)].reshape(16, 4, order="F")

    def fim_matrix(self, s: int, Q: np.ndarray) -> np.ndarray:
        """Scaled FIM (m, m) of receiver s from covariances Q (S, N, N) in units of P (for tests)."""
        total = sum(self._fim_map(s, t) @ self.moments(Q[t], self.sens_vectors[t]) for t in range(self.S) if t != s)
        return total.reshape(self.m, self.m, order="F")


def _sensing_constraints(blocks, c):
    """C2a-C2c (10), (12) for one receiver in perspective form with indicator c.

    F_aa is block diagonal over the transmitters t, so Schur(F) >= J (12) holds iff J = sum_t J_t with
    [[F_pp,t - J_t, F_pa,t], [F_pa,t^T, F_aa,t]] >= 0 for every t (4 x 4 LMIs; ``blocks``: their (16,) F-order
    vecs, in units of 1/epsilon). J/c lies in {J >= 0 : tr(J^-1) <= 1}: for a 2 x 2 J, tr(J^-1) <= 1 <=>
    (j11 - 1)(j22 - 1) >= 1 + j12^2 with j11, j22 >= 1, whose perspective is the second-order cone
    ||(2c, 2 j12, j11 - j22)|| <= j11 + j22 - 2c. For c = 1 this is C2a-C2c; for c = 0 it only asks J >= 0, which
    J_t = 0 satisfies (vacuous). Returns (constraints, J)."""
    E = np.zeros((2, 4))
    E[0, 0] = E[1, 1] = 1.0
    parts = [cp.Variable((2, 2), symmetric=True) for _ in blocks]
    J = sum(parts)
    cons = [cp.SOC(J[0, 0] + J[1, 1] - 2 * c, cp.hstack([2 * c, 2 * J[0, 1], J[0, 0] - J[1, 1]]))]
    cons += [cp.reshape(blk, (4, 4), order="F") - E.T @ Jt @ E >> 0 for blk, Jt in zip(blocks, parts)]
    return cons, J


def _vec(z):
    return cp.vec(z, order="F")


# ================================================================================================ inner SDP (23)
@functools.lru_cache(maxsize=32)
def _inner_template(S: int, K: int, r: int, slots: int, phase1: bool = False):
    """Rank-relaxed (23) for fixed (b, a) as a DPP problem, one per shape (compiled once, re-solved).

    Variables (v runs over the K information covariances W_k at their serving BS, then ``slots`` sensing
    covariances R_j): Z_v (2r x 2r real embedding), its trace t_v (units of P) and sensing moments g_v (4,), and
    the CRLB auxiliaries. Parameters per v: ``comm[v]`` (K, (2r)^2) CU form rows of its BS, ``trace[v]``,
    ``moment[v]`` (4, (2r)^2), ``fim[v]`` (m*m, 4) (its BS's FIM map for the receiver; zero for echoes not used),
    ``desired[k]`` = (1 + 1/Gamma) x CU k's own row; ``incidence`` (S, K + slots) for C1.
    ``phase1``: minimize lambda with every BS power <= lambda P instead (always feasible when the SINR and CRLB
    targets are reachable with some power; the choice is infeasible iff lambda* > 1).
    """
    n2, nv = (2 * r) ** 2, K + slots
    Z = [lifted.variable(r, f"W{k}") for k in range(K)] + [lifted.variable(r, f"R{j}") for j in range(slots)]
    t = cp.Variable(nv, name="trace")
    g = cp.Variable((nv, 4), name="moments")
    P = dict(comm=[cp.Parameter((K, n2), name=f"comm{v}") for v in range(nv)],
             trace=[cp.Parameter(n2, name=f"trace{v}") for v in range(nv)],
             moment=[cp.Parameter((4, n2), name=f"moment{v}") for v in range(nv)],
             block=[cp.Parameter((16, 4), name=f"block{j}") for j in range(S - 1)],
             owner=cp.Parameter((S - 1, nv), nonneg=True, name="owner"),
             desired=[cp.Parameter(n2, name=f"desired{k}") for k in range(K)],
             noise=cp.Parameter(K, nonneg=True, name="noise"),
             incidence=cp.Parameter((S, nv), nonneg=True, name="incidence"))
    cons = []
    for v in range(nv):
        cons += [t[v] == P["trace"][v] @ _vec(Z[v]), g[v] == P["moment"][v] @ _vec(Z[v])]
    interference = sum(P["comm"][v] @ _vec(Z[v]) for v in range(nv))
    desired = cp.hstack([P["desired"][k] @ _vec(Z[k]) for k in range(K)])
    h = cp.Variable((S - 1, 4), name="tx_moments")         # moments of Q_t for the S - 1 transmitters
    cons.append(h == P["owner"] @ g)
    sens, T = _sensing_constraints([P["block"][j] @ h[j] for j in range(S - 1)], 1.0)
    lam = cp.Variable(name="lambda") if phase1 else 1.0
    cons += [desired >= interference + P["noise"],  # C3 (9), units of tolerable interference
             P["incidence"] @ t <= lam] + sens     # C1, units of P; C2a-C2c
    problem = cp.Problem(cp.Minimize(lam if phase1 else cp.sum(t)), cons)
    return problem, P, dict(W=Z[:K], R=Z[K:], trace=t, T=T, lam=lam)


#: Largest relative SINR deficit :func:`polish_sinr` treats as a solver residual.
POLISH_LIMIT = 1e-4


def polish_sinr(h, w, R, a, b, noise_w: float, gamma: float, rounds: int = 50):
    """Lift the CUs that a conic solve's residual left a hair below Gamma (C3).

    The inner SDP meets C3 to the solver's accuracy on the scaled rows (a relative 1e-6 on the SINR of a CU whose
    interference budget is large). Each round scales the beam of every CU below Gamma (1 + 1e-9) by its missing
    SINR factor (the standard power-control fixed point: raising one beam raises the others' interference, which
    the next round corrects; from deficits of 1e-6 it settles in a few rounds). Larger beams only add to every Q_s,
    so the FIM grows and C2 stays met. A deficit above ``POLISH_LIMIT`` is not a residual: nothing is changed and
    the verification reports it. Returns (w, power added in W)."""
    from .metrics import sinr
    target = gamma * (1.0 + 1e-9)
    if np.min(sinr(h, w, R, a, b, noise_w)) < gamma * (1.0 - POLISH_LIMIT):
        return w, 0.0
    w = w.copy()
    before = float(np.sum(np.abs(w) ** 2))
    for _ in range(rounds):
        now = sinr(h, w, R, a, b, noise_w)
        if np.all(now >= target):
            break
        w *= np.sqrt(np.maximum(target / np.maximum(now, 1e-300), 1.0))[None, :, None]
    return w, float(np.sum(np.abs(w) ** 2)) - before


def polish_crlb(inst: BSSelectionInstance, w, R, a, b, receiver: int, P: float):
    """Meet C2 when a conic solve's residual left the receiver's CRLB a hair above epsilon (measured: 1.45e-5
    relative on a Scheme 2 choice, Figs. 3-4 study, 8 dB, draw 1; the Schur-complement LMIs amplify a 1e-9 residual
    where the FIM is ill-conditioned). Every beam and sensing covariance is scaled by one factor alpha >= 1: the FIM
    is linear in the transmit covariances Q_s (7), so the CRLB falls by 1/alpha; every SINR (5) rises (signal and
    interference scale together, the noise does not); C1 holds while the fullest BS stays within P. A deficit above
    ``POLISH_LIMIT``, no power headroom, or a CRLB that does not fall as computed: nothing is changed (verification
    reports it). Returns (w, R, power added in W)."""
    from .metrics import bs_power, crlb, transmit_covariances
    target = inst.scenario.crlb_max_m2
    value = crlb(inst, receiver, transmit_covariances(w, R, a, b))
    if not target < value <= target * (1.0 + POLISH_LIMIT):
        return w, R, 0.0
    alpha = value / target * (1.0 + 1e-9)
    power = bs_power(w, R, a, b)
    if np.max(power) * alpha > P:
        return w, R, 0.0
    w2, R2 = w * np.sqrt(alpha), R * alpha
    if not crlb(inst, receiver, transmit_covariances(w2, R2, a, b)) <= target:
        return w, R, 0.0
    return w2, R2, float(np.sum(bs_power(w2, R2, a, b)) - np.sum(power))


@dataclass(frozen=True)
class Choice:
    """A discrete decision: the receiving BS and the serving BS of each CU (K,)."""

    receiver: int
    serving: tuple[int, ...]

    def arrays(self, S: int) -> tuple[np.ndarray, np.ndarray]:
        """(b (S,), a (S, K)) 0/1 arrays of (8)."""
        b = np.ones(S)
        b[self.receiver] = 0.0
        a = np.zeros((S, len(self.serving)))
        a[list(self.serving), np.arange(len(self.serving))] = 1.0
        return b, a

    def describe(self) -> str:
        return f"receiver BS{self.receiver + 1}, CUs served by " + ",".join(f"BS{s + 1}" for s in self.serving)


def all_choices(S: int, K: int, receivers=None, transmitters=None) -> list[Choice]:
    """Every (receiving BS, association) pair: S (S-1)^K of them (optionally restricted)."""
    out = []
    for s in (range(S) if receivers is None else receivers):
        tx = [t for t in range(S) if t != s and (transmitters is None or t in transmitters)]
        out += [Choice(s, assoc) for assoc in itertools.product(tx, repeat=K)]
    return out


@dataclass
class InnerSolution:
    """Outcome of (23) for one choice: status, total power (W), recovered solution and solver info."""

    choice: Choice
    status: Status
    power_w: float | None = None
    solution: dict | None = None
    solver: str | None = None
    solve_time_s: float = 0.0
    notes: list | None = None
    eigen_ratio: float | None = None


class InnerProblem:
    """The inner SDP (23) of one instance: ``solve(choice)`` -> :class:`InnerSolution` (picklable; the cvxpy
    template is built once per shape and per process).

    ``sensing_tx``: BSs whose echoes count for sensing and that may send a sensing signal (None: every
    transmitter, the paper's model; Scheme 3 uses only BS1).
    """

    def __init__(self, inst: BSSelectionInstance, sensing_tx: tuple[int, ...] | None = None, solver: str | None = None):
        self.inst, self.sensing_tx, self.solver = inst, sensing_tx, solver
        self._data = None
        self.sdp_solves = 0

    @property
    def data(self) -> ScaledData:
        if self._data is None:
            self._data = ScaledData(self.inst)
        return self._data

    def __getstate__(self):
        return {"inst": self.inst, "sensing_tx": self.sensing_tx, "solver": self.solver}

    def __setstate__(self, state):
        self.__init__(state["inst"], state["sensing_tx"], state["solver"])

    def slots(self, receiver: int) -> list[int]:
        return [t for t in range(self.inst.shape[0])
                if t != receiver and (self.sensing_tx is None or t in self.sensing_tx)]

    def precheck(self, choice: Choice) -> str | None:
        """Certificate: SINR_k <= SNR_k of its serving BS at full power."""
        d = self.data
        for k, s in enumerate(choice.serving):
            if d.gamma > d.snr[s, k] * (1 + 1e-9):
                return (f"CU {k + 1} needs SINR {linear_to_db(d.gamma):.1f} dB but reaches at most "
                        f"{linear_to_db(d.snr[s, k]):.1f} dB from BS{s + 1} (its SNR at full power)")
        return None

    def bind(self, choice: Choice, phase1: bool = False):
        d = self.data
        S, K = d.S, d.K
        slots = self.slots(choice.receiver)
        problem, P, V = _inner_template(S, K, d.r, len(slots), phase1)
        owners = list(choice.serving) + slots
        incidence = np.zeros((S, len(owners)))
        for v, t in enumerate(owners):
            P["comm"][v].value = d.comm[t]
            P["trace"][v].value = d.trace[t]
            P["moment"][v].value = d.moment_rows[t]
            incidence[t, v] = 1.0
        others = [t for t in range(S) if t != choice.receiver]
        owner = np.zeros((S - 1, len(owners)))
        for j, t in enumerate(others):
            used = self.sensing_tx is None or t in self.sensing_tx
            P["block"][j].value = d.fim_block[(choice.receiver, t)] if used else np.zeros((16, 4))
            owner[j] = [float(u == t) for u in owners]
        P["owner"].value = owner
        for k, t in enumerate(choice.serving):
            P["desired"][k].value = (1.0 + 1.0 / d.gamma) * d.comm[t][k]
        P["incidence"].value = incidence
        P["noise"].value = d.noise
        return problem, V, slots

    def solve(self, choice: Choice) -> InnerSolution:
        if choice.receiver in choice.serving:
            raise ValueError(f"{choice.describe()}: the receiving BS cannot serve CUs (C6)")
        reason = self.precheck(choice)
        if reason is not None:
            return InnerSolution(choice, Status.INFEASIBLE, notes=[reason])
        problem, V, slots = self.bind(choice)
        outcome = backends.solve_conic(problem, self.solver, fallback=False)
        self.sdp_solves += 1
        out = InnerSolution(choice, outcome.status, solver=outcome.solver, solve_time_s=outcome.solve_time_s,
                            notes=outcome.notes)
        if outcome.status not in (Status.OPTIMAL, Status.INFEASIBLE):
            self._phase1(choice, out)
        if out.status.has_solution:
            out.solution, out.power_w, out.eigen_ratio = self.recover(choice, V, slots)
        return out

    #: Phase 1 declares a choice infeasible when the least power scaling lambda* exceeds 1 by this much.
    PHASE1_MARGIN = 1e-6

    def _phase1(self, choice: Choice, out: InnerSolution) -> None:
        """A nearly infeasible choice (interior-point methods cannot certify it: the certificate is huge) is
        decided by the well-posed phase-1 problem min lambda s.t. power_s <= lambda P: lambda* > 1 proves
        infeasibility (the phase-1 optimum is the certificate)."""
        problem, V, _ = self.bind(choice, phase1=True)
        outcome = backends.solve_conic(problem, self.solver)
        self.sdp_solves += 1
        if outcome.status == Status.OPTIMAL and V["lam"].value > 1.0 + self.PHASE1_MARGIN:
            out.status = Status.INFEASIBLE
            out.notes = [f"phase 1: the SINR and CRLB targets need {float(V['lam'].value):.6g} x P at some BS"]
        else:
            lam = V["lam"].value if outcome.status == Status.OPTIMAL else None
            out.notes = list(out.notes or []) + [f"phase 1: {outcome.status.value}, lambda* = {lam}"]
        self.bind(choice)                      # leave the main template bound to this choice

    def recover(self, choice: Choice, V, slots):
        """Beamformers from the SDP: X = P U Y U^H, then the rank-one construction w = W h / sqrt(h^H W h) with the
        remainder W - w w^H (PSD) moved to R of the same (transmitting) BS. This keeps every CU's desired signal,
        every interference term (the remainder is orthogonal in form to the CU's own channel), every Q_s (hence
        the FIM) and every BS power: the rank-one solution is feasible with the SDP's objective (cf. Theorem 1)."""
        d, inst = self.data, self.inst
        S, K, N = inst.shape
        w = np.zeros((S, K, N), complex)
        R = np.zeros((S, N, N), complex)
        for j, t in enumerate(slots):
            R[t] = lifted.to_hermitian(V["R"][j].value, d.basis[t]) * d.P
        ratio = 0.0
        for k, s in enumerate(choice.serving):
            W = lifted.to_hermitian(V["W"][k].value, d.basis[s]) * d.P
            ratio = max(ratio, eigen_ratio(W))
            w[s, k], rest = constructive_rank_one(W, inst.h[s, k])
            R[s] = R[s] + rest
        R = np.stack([nearest_psd(x) for x in R])
        claimed = float(d.P * np.sum(V["trace"].value))
        b, a = choice.arrays(S)
        w, added = polish_sinr(inst.h, w, R, a, b, d.noise_c, d.gamma)
        w, R, lifted_power = polish_crlb(inst, w, R, a, b, choice.receiver, d.P)
        claimed += added + lifted_power
        return dict(w=w, R=R, b=b, a=a, receiver=choice.receiver, serving=np.array(choice.serving)), claimed, ratio
