"""BS-selection paper (seed 002): Xu, Xu, Xie, Song, "Joint BS Selection, User Association, and Beamforming Design
for Network ISAC".

S BSs (N-antenna ULAs facing the centre of the service disc) and K single-antenna CUs. One BS is the receiving BS
(b_s = 0, C5); the others transmit information beams w_{s,k} to the CUs they serve (a_{s,k} = 1, C4, C6) and a
sensing signal with covariance R_s. The receiving BS s locates the target from the bistatic echoes (6); the CRLB of
the position p is (7) with the FIM blocks of Prop. 1 / Appendix (26)-(39). Problem (8) minimizes the total transmit
power subject to per-BS power C1, CRLB <= epsilon C2 and SINR >= Gamma C3.

Array shapes (S BSs, K CUs, N antennas, m = 2S the FIM size (2 position + 2(S-1) gain parameters)):
    h: (S, K, N) complex, h[s, k] the channel BS s -> CU k (received signal h^H w), sqrt(W)
    w: (S, K, N) complex beamformers (sqrt(W)), zero where a[s, k] = 0;  R: (S, N, N) complex Hermitian (W)
    b: (S,) 0/1 (0 = receiving BS);  a: (S, K) 0/1;  alpha: (S, S) complex, alpha[s, s'] for s' -> target -> s
    Q: (S, N, N) transmit covariances Q_s = sum_k a_{s,k} w w^H + b_s R_s   (2)

Garbled or unstated in the extracted text, re-derived or chosen here (also stated in the scenario files):
- (34)-(39): re-derived from (28) and (32) with X X^H = L Q (independent transmitters, cross terms between
  different transmitters dropped as in (34)); the D columns of (35) pair Re(alpha) with [1] and Im(alpha) with [j];
- the delay term X-dot = -tau-dot X of (30) is kept as written (tau in seconds). It lies in the span of the
  derivatives w.r.t. the gains alpha_{s,s'}, so it cancels in the Schur complement (7): the CRLB does not depend on
  it (tested);
- the CU and target reference path losses and the RCS are not given: scenario parameters (marked "chosen");
- C2c (12) multiplies FIM blocks by (1 - b_s); for a mixed-integer model it is linearized per candidate receiver by
  a perspective, exact for binary b (see :func:`mixed_integer_model`);
- (18)-(21): the auxiliary W_{s,k} appears nowhere else, so (19)-(20) hold with W = W-tilde; (18) is implied by
  the valid bound tr(W-tilde_{s,k}) <= a_{s,k} P (C1 gives it), which the model uses instead (tighter).
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ..algorithms import backends, lifted, verify
from ..algorithms.result import Result, Status
from ..algorithms.sdr import constructive_rank_one, eigen_ratio, nearest_psd
from ..data.schema import require, spec, validate
from . import channels, geometry
from .units import db_to_linear, dbm_to_watt, linear_to_db, watt_to_dbm

PROBLEM = "bs-selection"
SPEED_OF_LIGHT = 299_792_458.0


# ================================================================================================ scenario
@dataclass(frozen=True)
class BSSelectionScenario:
    """Table I and Sec. IV of the paper (S = 4 BSs on a 100 m ring, service disc of radius 150 m)."""

    num_bs: int = spec(4, low=2, high=12, help="S, number of BSs")
    num_users: int = spec(5, low=1, high=16, help="K, number of CUs")
    bs_positions_m: tuple[tuple[float, float], ...] | None = spec(
        None, unit="m", optional=True,
        help="BS positions (x, y), num_bs of them; omit for num_bs BSs evenly on a ring, the first at (0, r)")
    bs_ring_radius_m: float = spec(100.0, low=0.0, low_open=True, unit="m", help="ring radius when positions omitted")
    area_radius_m: float = spec(150.0, low=0.0, low_open=True, unit="m", help="service disc radius (centre 0, 0)")
    user_positions_m: tuple[tuple[float, float], ...] | None = spec(
        None, unit="m", optional=True, help="K CU positions; omit to draw them uniformly in the disc")
    target_position_m: tuple[float, ...] | None = spec(
        None, unit="m", optional=True, length=2, help="target position; omit to draw it uniformly in the disc")
    min_distance_m: float = spec(5.0, low=0.0, unit="m", help="random CUs / target keep this distance from every BS")
    antennas: int = spec(8, low=1, high=64, help="N, ULA antennas per BS")
    antenna_spacing_wavelengths: float = spec(0.5, low=0.0, low_open=True, unit="wavelengths")
    samples: int = spec(1024, low=1, help="L, radar samples")
    comm_noise_dbm: float = spec(-85.0, unit="dBm", help="sigma_c^2, every CU")
    radar_noise_dbm: float = spec(-65.0, unit="dBm", help="sigma_r^2, receiving BS")
    max_power_dbm: float = spec(45.0, unit="dBm", help="P, per-BS power budget (C1)")
    sinr_db: float = spec(8.0, low=-30.0, high=60.0, unit="dB", help="Gamma_k, every CU (C3)")
    crlb_max_m2: float = spec(1.0, low=0.0, low_open=True, unit="m^2", help="epsilon, CRLB threshold (C2)")
    user_path_loss_db: float = spec(-40.0, high=0.0, unit="dB", help="chosen: BS-CU path loss at 1 m")
    user_path_loss_exponent: float = spec(3.0, low=0.0, help="BS-CU path-loss exponent (Rayleigh fading)")
    target_path_loss_db: float = spec(-20.0, high=0.0, unit="dB", help="chosen: per-hop BS-target loss at 1 m")
    target_path_loss_exponent: float = spec(2.0, low=0.0, help="per-hop BS-target path-loss exponent (LoS)")
    rcs: float = spec(1.0, low=0.0, low_open=True, help="chosen: target reflection gain |RCS| on every link")
    penalty_mu: float = spec(3e4, low=0.0, low_open=True, unit="W", help="AO penalty factor mu (16), Table I")
    ao_tolerance: float = spec(1e-3, low=0.0, low_open=True, help="AO stopping tolerance (Algorithm 1, step 6)")
    ao_max_iterations: int = spec(30, low=1, help="AO iteration limit")

    def __post_init__(self):
        validate(self)
        name = type(self).__name__
        if self.bs_positions_m is not None:
            require(len(self.bs_positions_m) == self.num_bs, name, "bs_positions_m", self.bs_positions_m,
                    f"must list num_bs = {self.num_bs} positions (or omit it for a ring)")
        bs = self.bs
        d = geometry.distance(bs[:, None], bs[None])
        require(bool(np.all(d[~np.eye(len(bs), dtype=bool)] > 0)), name, "bs_positions_m", self.bs_positions_m,
                "has coincident BSs: give every BS its own position")
        if self.user_positions_m is not None:
            require(len(self.user_positions_m) == self.num_users, name, "user_positions_m", self.user_positions_m,
                    f"must list num_users = {self.num_users} positions (or omit it to draw them)")
            du = geometry.distance(bs[:, None], np.asarray(self.user_positions_m, float)[None])
            require(bool(np.all(du > 1e-6)), name, "user_positions_m", self.user_positions_m, "puts a CU on a BS")
        if self.target_position_m is not None:
            dt = geometry.distance(bs, np.asarray(self.target_position_m, float))
            require(bool(np.all(dt > 1e-6)), name, "target_position_m", self.target_position_m, "puts the target on a BS")
        require(self.min_distance_m < self.area_radius_m, name, "min_distance_m", self.min_distance_m,
                f"must be below area_radius_m = {self.area_radius_m}")

    @property
    def bs(self) -> np.ndarray:
        """BS positions (S, 2) in m."""
        if self.bs_positions_m is not None:
            return np.asarray(self.bs_positions_m, float)
        phi = np.pi / 2 - 2 * np.pi * np.arange(self.num_bs) / self.num_bs         # (0, r), (r, 0), ... clockwise
        return self.bs_ring_radius_m * np.stack([np.cos(phi), np.sin(phi)], axis=-1)

    @property
    def max_power_w(self) -> float:
        return float(dbm_to_watt(self.max_power_dbm))


# ================================================================================================ instance
@dataclass(frozen=True)
class BSSelectionInstance:
    """One realization (shapes in the module docstring)."""

    scenario: BSSelectionScenario
    users: np.ndarray            # (K, 2)
    target: np.ndarray           # (2,)
    h: np.ndarray                # (S, K, N)
    alpha: np.ndarray            # (S, S) complex, alpha[s, s'] for s' -> target -> s (diagonal unused)

    @property
    def shape(self):
        s = self.scenario
        return s.num_bs, s.num_users, s.antennas

    @functools.cached_property
    def geometry(self) -> dict:
        """Target angles, steering vectors (S, N), their position derivatives (S, 2, N) and delay gradients."""
        s = self.scenario
        bs, N, d = s.bs, s.antennas, s.antenna_spacing_wavelengths
        broadside = geometry.facing(bs, np.zeros(2))
        theta = geometry.angle_from_broadside(bs, self.target[None], broadside)            # (S,)
        a = geometry.ula_steering(N, theta, d)                                              # (S, N)
        da = geometry.ula_steering_derivative(N, theta, d)                                  # (S, N)
        grad = geometry.angle_gradient(bs, self.target[None])                               # (S, 2)
        dist = geometry.distance(bs, self.target[None])
        unit = geometry.distance_gradient(bs, self.target[None])                            # (S, 2)
        return dict(theta=theta, a=a, da=grad[:, :, None] * da[:, None, :], dist=dist,
                    tau=(dist[:, None] + dist[None]) / SPEED_OF_LIGHT,                      # (S, S) seconds
                    dtau=(unit[:, None] + unit[None]) / SPEED_OF_LIGHT)                     # (S, S, 2) s/m

    def channels(self) -> dict:
        return {"h": self.h, "h_index": "h[s, k]: BS s -> CU k; received signal h^H w",
                "bs_positions_m": self.scenario.bs, "user_positions_m": self.users, "target_position_m": self.target,
                "alpha": self.alpha, "alpha_index": "alpha[s, s']: BS s' -> target -> BS s",
                "target_angles_rad": self.geometry["theta"]}


def _uniform_in_disc(rng, radius, count, avoid, min_distance):
    out = np.zeros((count, 2))
    for i in range(count):
        while True:
            p = channels.uniform_in_annulus(rng, np.zeros(2), 0.0, radius, 1)[0]
            if np.all(geometry.distance(avoid, p) > min_distance):
                out[i] = p
                break
    return out


def draw_instance(scenario: BSSelectionScenario, rng: np.random.Generator) -> BSSelectionInstance:
    """CUs and target (fixed or uniform in the disc), Rayleigh BS-CU channels (exponent 3), LoS target gains with
    |alpha_{s,s'}|^2 = rcs g(d_s) g(d_s') (per-hop exponent 2) and uniform random phases."""
    s = scenario
    bs = s.bs
    S, K, N = s.num_bs, s.num_users, s.antennas
    if s.user_positions_m is not None:
        users = np.asarray(s.user_positions_m, float)
    else:
        users = _uniform_in_disc(rng, s.area_radius_m, K, bs, s.min_distance_m)
    if s.target_position_m is not None:
        target = np.asarray(s.target_position_m, float)
    else:
        target = _uniform_in_disc(rng, s.area_radius_m, 1, bs, s.min_distance_m)[0]
    gain = channels.path_gain(geometry.distance(bs[:, None], users[None]), s.user_path_loss_db,
                              s.user_path_loss_exponent)
    h = channels.rayleigh(rng, gain, N)
    g = channels.path_gain(geometry.distance(bs, target), s.target_path_loss_db, s.target_path_loss_exponent)
    alpha = np.sqrt(s.rcs * g[:, None] * g[None]) * np.exp(2j * np.pi * rng.random((S, S)))
    return BSSelectionInstance(s, users, target, h, alpha)


# ================================================================================================ metrics
def transmit_covariances(w: np.ndarray, R: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Q_s = sum_k a_{s,k} w_{s,k} w_{s,k}^H + b_s R_s, eq. (2): (S, N, N)."""
    return np.einsum("sk,skn,skp->snp", a, w, w.conj()) + b[:, None, None] * R


def sinr(h, w, R, a, b, noise_w: float) -> np.ndarray:
    """SINR (K,) of every CU, eq. (5)."""
    g = np.abs(np.einsum("sjn,skn->sjk", h.conj(), w)) ** 2 * a[:, None, :]   # [s, j, k]: |h_{s,j}^H w_{s,k}|^2
    desired = np.einsum("sjj->j", g)
    interference = g.sum(axis=(0, 2)) - desired
    interference += np.real(np.einsum("s,sjn,snp,sjp->j", b, h.conj(), R, h))
    return desired / (interference + noise_w)


def bs_power(w, R, a, b) -> np.ndarray:
    """Per-BS transmit power (S,), C1."""
    return np.einsum("sk,skn->s", a, np.abs(w) ** 2) + b * np.real(np.einsum("snn->s", R))


def _g_tilde(inst: BSSelectionInstance, s: int, t: int, delay: float = 1.0):
    """G_{s,t} = a_r a_t^H (N, N) and G-tilde^{(i)} = G-dot^{(i)} - tau-dot^{(i)} G, i = 1, 2: (2, N, N); (32)."""
    geo = inst.geometry
    ar, at, dar, dat = geo["a"][s], geo["a"][t], geo["da"][s], geo["da"][t]
    G = np.outer(ar, at.conj())
    Gd = np.einsum("in,p->inp", dar, at.conj()) + np.einsum("n,ip->inp", ar, dat.conj())
    return G, Gd - delay * geo["dtau"][s, t][:, None, None] * G[None]


def fim(inst: BSSelectionInstance, s: int, Q: np.ndarray, delay: float = 1.0) -> np.ndarray:
    """FIM F^{(s)} (2S, 2S) of xi = [p; Re alpha_s; Im alpha_s] for receiving BS s, eqs. (29), (33)-(39).

    Q: (S, N, N) transmit covariances in W (Q_s of the receiving BS is ignored). ``delay`` scales tau-dot (1 = as
    written in the paper; the CRLB does not depend on it).
    """
    S = inst.shape[0]
    sc = inst.scenario
    c = 2.0 * sc.samples / dbm_to_watt(sc.radar_noise_dbm)
    others = [t for t in range(S) if t != s]
    F = np.zeros((2 * S, 2 * S))
    for j, t in enumerate(others):
        G, Gt = _g_tilde(inst, s, t, delay)
        al = inst.alpha[s, t]
        GQ = G @ Q[t]
        F[:2, :2] += c * abs(al) ** 2 * np.real(np.einsum("jab,bc,iac->ij", Gt, Q[t], Gt.conj()))          # (34)
        D = al.conj() * np.einsum("ab,iab->i", GQ, Gt.conj())                                                 # (36)-(37)
        F[:2, 2 + j] = c * np.real(D)                                                                         # (35)
        F[:2, 2 + (S - 1) + j] = c * np.real(1j * D)
        E = np.real(np.trace(GQ @ G.conj().T))                                                                # (39)
        F[2 + j, 2 + j] = F[2 + S - 1 + j, 2 + S - 1 + j] = c * E                                            # (38)
    F[2:, :2] = F[:2, 2:].T
    return F


def crlb(inst: BSSelectionInstance, s: int, Q: np.ndarray, delay: float = 1.0) -> float:
    """CRLB^{(s)}(p) (7) in m^2: tr of the inverse Schur complement (pseudo-inverse of F_aa: a transmitter that
    sends nothing towards the target has an unidentifiable gain and contributes nothing); inf if singular."""
    F = fim(inst, s, Q, delay)
    schur = F[:2, :2] - F[:2, 2:] @ np.linalg.pinv(F[2:, 2:], rcond=1e-12, hermitian=True) @ F[2:, :2]
    eig = np.linalg.eigvalsh(0.5 * (schur + schur.T))
    return float(np.sum(1.0 / eig)) if eig[0] > 0 else float("inf")


def echo_mean(inst: BSSelectionInstance, s: int, p: np.ndarray, alpha: np.ndarray, X: np.ndarray,
              delay: float = 1.0) -> np.ndarray:
    """u-tilde_s of (27) as a function of the target position p (2,) and the gains alpha (S,) of the S - 1 links:
    sum_{s'} alpha_{s'} vec(a(theta_r,s(p)) a(theta_t,s'(p))^H X_{s'} e^{-delay tau_{s,s'}(p)}), X: (S, N, L).

    The factor e^{-tau} realizes X-dot = -tau-dot X of (30) literally. Used to check :func:`fim` by differentiation.
    """
    sc = inst.scenario
    bs = sc.bs
    broadside = geometry.facing(bs, np.zeros(2))
    theta = geometry.angle_from_broadside(bs, p[None], broadside)
    a = geometry.ula_steering(sc.antennas, theta, sc.antenna_spacing_wavelengths)
    dist = geometry.distance(bs, p[None])
    out = 0.0
    for t in range(len(bs)):
        if t == s:
            continue
        tau = (dist[s] + dist[t]) / SPEED_OF_LIGHT
        out = out + alpha[t] * np.outer(a[s], a[t].conj()) @ X[t] * np.exp(-delay * tau)
    return out.ravel(order="F")


# ================================================================================================ scaled data
#: Largest condition number of a BS's unit-norm CU channel matrix for which the dual basis is used.
DUAL_CONDITION_LIMIT = 1e4


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
        K > N or the CU channels are nearly parallel (condition number > DUAL_CONDITION_LIMIT)."""
        N, K = comm.shape
        directions = comm / np.linalg.norm(comm, axis=0)
        if K > N or np.linalg.cond(directions) > DUAL_CONDITION_LIMIT:
            return lifted.subspace_basis(np.concatenate([comm, sens], axis=1))
        basis = lifted.biorthogonal_basis(comm, sens)
        norms = np.linalg.norm(basis[:, :K], axis=0)
        basis[:, :K] *= np.minimum(np.sqrt(self.tolerable), 1.0 / norms)
        return basis

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
    m = 2 * S
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
        return dict(w=w, R=R, b=b, a=a, receiver=choice.receiver, serving=np.array(choice.serving)), claimed, ratio


# ================================================================================================ verification
OBJECTIVE_NAME = "total transmit power (W)"


def assess(inst: BSSelectionInstance, solution: dict, claimed_w: float | None = None):
    """(objective W, metrics, checks) of a solution against the unrelaxed (8): C1-C8 recomputed with NumPy."""
    sc = inst.scenario
    S, K, N = inst.shape
    w, R, b, a = solution["w"], solution["R"], np.asarray(solution["b"], float), np.asarray(solution["a"], float)
    P, noise = sc.max_power_w, float(dbm_to_watt(sc.comm_noise_dbm))
    gamma = sinr(inst.h, w, R, a, b, noise)
    power = bs_power(w, R, a, b)
    Q = transmit_covariances(w, R, a, b)
    bounds = [crlb(inst, s, Q) if b[s] < 0.5 else 0.0 for s in range(S)]
    value = float(np.sum((1 - b) * np.asarray(bounds)))                                 # C2's left side
    total = float(power.sum())
    binary = np.concatenate([a.ravel(), b])
    checks = [verify.at_most("C1_bs_power", power, P),
              verify.at_most("C2_crlb", value, sc.crlb_max_m2),
              verify.at_least("C3_sinr", gamma, db_to_linear(sc.sinr_db)),
              verify.close("C4_one_bs_per_cu", a.sum(axis=0), 1.0),
              verify.close("C5_one_receiver", np.sum(1 - b), 1.0),
              verify.at_least("C6_only_transmitters_serve", b[:, None] - a, 0.0, scale=1.0),
              verify.close("C7_C8_binary", np.minimum(binary, 1 - binary), 0.0, scale=1.0),
              verify.psd("sensing_covariance_psd", R)]
    if claimed_w is not None:
        checks.append(verify.close("objective_vs_solver", total, claimed_w, scale=max(claimed_w, 1e-30)))
    receiver = int(np.argmin(b))
    metrics = {"total_power_w": total, "total_power_dbm": float(watt_to_dbm(total)), "bs_power_w": power,
               "sensing_power_w": b * np.real(np.einsum("snn->s", R)), "sinr_db": linear_to_db(gamma),
               "crlb_m2": value, "receiver_bs": receiver + 1,
               "serving_bs": (np.argmax(a, axis=0) + 1).astype(int),
               "choice": Choice(receiver, tuple(int(x) for x in np.argmax(a, axis=0))).describe()}
    return total, metrics, checks


def make_result(inst: BSSelectionInstance, method: str, inner: InnerSolution | None, *, status: Status | None = None,
                notes=(), time_s: float = 0.0, **extra) -> Result:
    """One :class:`Result` from an inner-SDP solution (or a status without a solution), verified against (8)."""
    from ..data.loader import scenario_dict
    base = dict(problem=PROBLEM, method=method, objective_name=OBJECTIVE_NAME, sense="min",
                scenario=scenario_dict(inst.scenario), channels=inst.channels(), time_s=time_s)
    notes = list(notes)
    if inner is None or inner.solution is None:
        if inner is not None:
            notes += list(inner.notes or [])
        st = status or (inner.status if inner is not None else Status.ERROR)
        return Result(status=st, notes=notes, solver=inner.solver if inner else None, **base, **extra)
    total, metrics, checks = assess(inst, inner.solution, inner.power_w)
    metrics["sdr_max_eigen_ratio"] = inner.eigen_ratio
    report = verify.verify(checks)
    notes += list(inner.notes or [])
    if not report.passed:
        notes.append(f"verification failed: worst constraint '{report.worst}' violated by {report.max_violation:.2e}")
    return Result(status=status or inner.status, objective=total, solution=inner.solution, metrics=metrics,
                  verified=report.passed, max_violation=report.max_violation, violations=report.violations,
                  solver=inner.solver, notes=notes, **base, **extra)


# ================================================================================================ MI model (13)
#: Slack (units of P) on the big-M bounds tr(W-tilde_{s,k}) <= a_{s,k}: a node that fixes a_{s,k} = 0 would
#: otherwise force a PSD block to zero (no interior point; Clarabel then fails on such nodes). Relaxing a
#: constraint keeps every node value a valid lower bound; incumbents always come from the exact inner SDP (23).
BIGM_SLACK = 1e-7


@functools.lru_cache(maxsize=16)
def _mi_template(S: int, K: int, r: int, integer: bool, receiver: int | None, sensing_tx: tuple | None,
                 penalty: bool, phase1: bool = False):
    """The lifted mixed-integer problem (13) for one shape, DPP (see :func:`mixed_integer_model`).

    ``integer``: boolean=True discrete variables (for branch-and-bound) or continuous ones in [0, 1] (relaxation).
    ``penalty``: add the MM-linearized penalty (17) with Parameters ``lin_a`` (S, K), ``lin_c`` (S,) (coefficients
    of a and of the receiver indicator c = 1 - b, in units of P) and fix c to the Parameter ``c_fixed`` (AO block
    (23)). ``phase1``: minimize lambda with every BS power <= lambda P (always feasible; infeasible iff > 1).
    """
    m = 2 * S
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
    objective = sum(sum(row) for row in tr_w.values()) + sum(tr_r.values())
    if penalty:
        P["lin_a"] = cp.Parameter((S, K), name="lin_a")
        P["lin_c"] = cp.Parameter(S, name="lin_c")
        P["c_fixed"] = cp.Parameter(S, nonneg=True, name="c_fixed")
        objective = objective + cp.sum(cp.multiply(P["lin_a"], a)) + P["lin_c"] @ c
        cons.append(c == P["c_fixed"])
    problem = cp.Problem(cp.Minimize(lam if phase1 else objective), cons)
    return problem, P, dict(receiver=c, association=a, W=Zw, R=Zr, aux=aux, lam=lam)


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
                 sensing_tx: tuple[int, ...] | None = None, penalty: bool = False, data: ScaledData | None = None,
                 phase1: bool = False):
        self.inst, self.receiver, self.sensing_tx = inst, receiver, sensing_tx
        self.data = data or ScaledData(inst)
        d = self.data
        self.problem, self.params, self.vars = _mi_template(d.S, d.K, d.r, integer, receiver, sensing_tx, penalty,
                                                            phase1)
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
        S = self.data.S
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


# ================================================================================================ methods
class InnerEvaluator:
    """Picklable ``choice -> Evaluation`` for :func:`~isacopt.algorithms.enumeration.enumerate_choices`: the inner
    SDP (23) with objective in W and the :class:`InnerSolution` as payload."""

    def __init__(self, inst: BSSelectionInstance, sensing_tx=None, solver: str | None = None):
        self.inner = InnerProblem(inst, sensing_tx, solver)

    def __call__(self, choice: Choice):
        from ..algorithms.enumeration import Evaluation
        before = self.inner.sdp_solves
        sol = self.inner.solve(choice)
        return Evaluation(sol.status, sol.power_w, sol, self.inner.sdp_solves - before)


def run_enumeration(inst: BSSelectionInstance, solver: str | None = None, *, workers: int | None = None,
                    receivers=None, transmitters=None, sensing_tx=None, method: str = "enumeration") -> Result:
    """Ground truth: the inner SDP for every (receiving BS, association), S (S-1)^K of them, in a process pool."""
    from ..algorithms.enumeration import enumerate_choices
    start = time_now()
    S, K, _ = inst.shape
    choices = all_choices(S, K, receivers, transmitters)
    out = enumerate_choices(choices, InnerEvaluator(inst, sensing_tx, solver), workers=workers)
    notes = [f"{out.evaluations} choices evaluated on {out.workers} process(es)"]
    if out.failed:
        notes.append(f"{len(out.failed)} inner SDPs unresolved (e.g. {out.failed[0][0].describe()}: "
                     f"{out.failed[0][1].value}): no optimality claim")
    extra = dict(sdp_solves=out.sdp_solves)
    if out.status == Status.OPTIMAL:
        ties = out.ties(1e-6)
        if len(ties) > 1:
            notes.append(f"{len(ties)} choices within 1e-6 of the optimum")
        status = Status.OPTIMAL if not out.failed else Status.FEASIBLE
        return make_result(inst, method, out.payload, status=status, notes=notes, time_s=time_now() - start, **extra)
    return make_result(inst, method, None, status=out.status, notes=notes, time_s=time_now() - start, **extra)


class _Rounding:
    """Incumbent callback for branch-and-bound: round a relaxed node (receiver = largest c_s, each CU to the
    transmitting BS carrying the largest share of its desired signal) and solve the inner SDP (cached by choice)."""

    def __init__(self, model: MixedIntegerModel, inner: InnerProblem):
        self.model, self.inner, self.cache = model, inner, {}

    def __call__(self, values: dict):
        m = self.model
        choice = m.choice_from(values[m.vars["receiver"]], values[m.vars["association"]], m.desired_shares(values))
        if choice not in self.cache:
            self.cache[choice] = self.inner.solve(choice)
        sol = self.cache[choice]
        if sol.status != Status.OPTIMAL or sol.power_w is None:
            return None
        return sol.power_w / m.data.P, sol


def run_bnb(inst: BSSelectionInstance, solver: str | None = None, *, receivers=None, sensing_tx=None,
            time_limit_s: float | None = None, node_limit: int | None = None, rel_gap: float = 1e-5,
            method: str = "bnb") -> Result:
    """Exact branch-and-bound on (13) with :func:`~isacopt.algorithms.branch_and_bound.solve`.

    Branching priority: the receiving-BS set C5 first. The generic solver picks the most fractional set, which
    is usually an association set (a fractional receiver leaves the CRLB constraint weak: CRLB^(s) <= eps / c_s),
    so this driver makes the C5 branch itself: it solves the relaxation of (13) with the receiver fixed for every
    candidate s (S SDPs), visits the receivers in order of these bounds, skips those whose bound is not below the
    incumbent (within ``rel_gap``) or whose relaxation is infeasible, and runs branch-and-bound over the
    association sets C4 for the others (incumbents by rounding + the inner SDP (23)). The certificate combines the
    per-receiver bounds: lower bound = min over receivers of (skipped: its root bound; searched: its final lower
    bound). ``sdp_solves`` counts every conic solve: receiver roots, node relaxations and inner SDPs.
    ``rel_gap`` 1e-5: node bounds carry the BIGM_SLACK relaxation (1e-7 P per beam), which on instances with a
    small optimum (0.1 W = 3e-3 P) is worth a few 1e-6 relative.
    """
    from ..algorithms import branch_and_bound
    start = time_now()
    S = inst.shape[0]
    data = ScaledData(inst)
    inner = InnerProblem(inst, sensing_tx, solver)
    inner._data = data
    receivers = list(range(S)) if receivers is None else list(receivers)
    roots, sdp, nodes, notes = {}, 0, 0, []
    models = {}
    for s in receivers:
        model = MixedIntegerModel(inst, receiver=s, sensing_tx=sensing_tx, data=data)
        relax = branch_and_bound.Relaxation(model.problem)
        outcome, value, _, values = relax.solve(relax.lo0, relax.hi0, solver)
        sdp += 1
        models[s] = (model, relax)
        if outcome.status == Status.INFEASIBLE:
            roots[s] = np.inf
        elif value is None:                             # nearly infeasible? decide by phase 1 (well posed)
            p1 = MixedIntegerModel(inst, integer=False, receiver=s, sensing_tx=sensing_tx, data=data, phase1=True)
            o1 = backends.solve_conic(p1.problem, solver)
            sdp += 1
            lam = p1.vars["lam"].value if o1.status == Status.OPTIMAL else None
            if lam is not None and lam > 1 + InnerProblem.PHASE1_MARGIN:
                roots[s] = np.inf
                notes.append(f"receiver BS{s + 1}: relaxation infeasible by phase 1 (needs {lam:.6g} x P)")
            else:
                roots[s] = -np.inf                      # unresolved: must be searched
                notes.append(f"root relaxation of receiver BS{s + 1}: {outcome.status.value}; phase 1 {lam}")
        else:
            roots[s] = value
    best = dict(value=np.inf, sol=None)
    lower = {}
    status_bad = False
    for s in sorted(receivers, key=lambda u: roots[u]):
        cutoff = best["value"] - rel_gap * abs(best["value"]) if np.isfinite(best["value"]) else np.inf
        if roots[s] >= cutoff:
            lower[s] = roots[s]
            continue
        model, relax = models[s]
        rounding = _Rounding(model, inner)
        remaining = None if time_limit_s is None else max(time_limit_s - (time_now() - start), 1e-3)
        out = branch_and_bound.solve(model.problem, groups=model.groups[1:], incumbent=rounding, solver=solver,
                                     time_limit_s=remaining, node_limit=node_limit, rel_gap=rel_gap,
                                     relaxation=relax)
        sdp += out.sdp_solves
        nodes += out.nodes
        notes += [f"receiver BS{s + 1}: {n}" for n in out.notes]
        lower[s] = out.lower_bound if out.status != Status.INFEASIBLE else np.inf
        if out.status not in (Status.OPTIMAL, Status.INFEASIBLE):
            status_bad = True
        if out.status.has_solution and out.upper_bound < best["value"]:
            sol = out.payload
            if sol is None:
                v = out.values
                sol = inner.solve(model.choice_from(v[model.vars["receiver"]], v[model.vars["association"]]))
            best.update(value=out.upper_bound, sol=sol)
    P = data.P
    sdp += inner.sdp_solves
    ub = best["value"]
    lb = min([ub] + list(lower.values()))
    gap = (ub - lb) / max(abs(ub), 1e-10) if np.isfinite(ub) else None
    if np.isfinite(ub):
        status = Status.OPTIMAL if gap <= rel_gap and not status_bad else Status.FEASIBLE
    else:
        status = Status.INFEASIBLE if not status_bad and all(np.isinf(v) and v > 0 for v in lower.values()) \
            else Status.LIMIT
    notes.append(f"receiver root bounds (W): " + ", ".join(
        f"BS{s + 1} {'infeasible' if roots[s] == np.inf else f'{roots[s] * P:.6g}'}" for s in receivers))
    notes.append(f"{sdp} SDP solves: {len(receivers)} receiver roots, {sdp - len(receivers) - inner.sdp_solves} "
                 f"node relaxations, {inner.sdp_solves} inner SDPs (rounding)")
    cert = dict(nodes=nodes + len(receivers), sdp_solves=sdp, lower_bound=_finite_w(lb, P),
                upper_bound=_finite_w(ub, P), gap=gap)
    return make_result(inst, method, best["sol"], status=status, notes=notes, time_s=time_now() - start, **cert)


def _finite_w(x, P):
    return float(x) * P if x is not None and np.isfinite(x) else None


def time_now() -> float:
    import time
    return time.perf_counter()


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
    from ..algorithms import ao
    start = time_now()
    sc = inst.scenario
    algo = PenaltyAO(inst, mu_w, solver)
    state, status = algo.start()
    if state is None:
        notes = [f"continuous relaxation of (13): {status.value}"]
        st = Status.INFEASIBLE if status == Status.INFEASIBLE else status
        return make_result(inst, method, None, status=st, notes=notes, time_s=time_now() - start, sdp_solves=1)
    out = ao.alternate(state, [algo.step_b, algo.step_w], algo.objective,
                       tol=sc.ao_tolerance if tol is None else tol,
                       max_iter=sc.ao_max_iterations if max_iter is None else max_iter)
    model = algo.w_model
    choice = model.choice_from(out.state["c"], out.state["a"])
    inner = InnerProblem(inst, None, solver)
    inner._data = algo.data
    sol = inner.solve(choice)
    notes = out.notes + [f"AO: {out.iterations} iterations ({out.status.value}), rounded to {choice.describe()}"]
    history = [{k: v for k, v in h.items()} for h in out.history]
    st = Status.FEASIBLE if sol.status == Status.OPTIMAL else (Status.LIMIT if sol.status == Status.INFEASIBLE
                                                                else sol.status)
    if sol.status == Status.INFEASIBLE:
        notes.append("the AO's rounded choice is infeasible (no feasible point found; not a proof)")
    result = make_result(inst, method, sol if sol.status == Status.OPTIMAL else None, status=st, notes=notes,
                         time_s=time_now() - start, sdp_solves=1 + out.sdp_solves + inner.sdp_solves)
    return result.replace(history=history)


# ================================================================================================ registry glue
def _method(name: str):
    def run(scenario: BSSelectionScenario, rng: np.random.Generator, solver: str | None = None) -> Result:
        from ..algorithms import baselines
        inst = draw_instance(scenario, rng)
        if name == "bnb":
            return run_bnb(inst, solver)
        if name == "enumeration":
            return run_enumeration(inst, solver)
        if name == "ao":
            return run_ao(inst, solver)
        if name == "scheme2":
            return baselines.scheme2(inst, rng, solver)
        return getattr(baselines, name)(inst, solver)
    return run


METHOD_HELP = {
    "bnb": "exact branch-and-bound on the lifted MISDP (13) (certificate: nodes, SDP solves, bounds, gap)",
    "enumeration": "ground truth: the inner SDP (23) for all S (S-1)^K (receiver, association) choices",
    "ao": "the paper's Algorithm 1 (penalty (16) + MM (17), alternating (22)/(23)), then the rounded choice",
    "scheme1": "baseline: receiver = BS nearest the target, association and beamforming optimized",
    "scheme2": "baseline: random receiver and association, beamforming optimized",
    "scheme3": "baseline: fixed bistatic pair BS1 -> BS2, association and beamforming optimized",
}
METHODS = {name: (_method(name), text) for name, text in METHOD_HELP.items()}
