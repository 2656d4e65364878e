"""Detection paper (seed 003): Cheng, Fang, Xu, Ng, "Optimal Coordinated Transmit Beamforming for Networked ISAC".

L BSs (N_t transmit / N_r receive ULA antennas) each serve K single-antenna CUs with information beamformers
w_{l,i} and send a dedicated sensing signal with covariance R_l. A target at a sample location q of the targeted
area is detected jointly from the echoes: over all BS pairs (Scenario I, synchronized BSs) or over the direct links
only (Scenario II). The problems (P1)-(P4) maximize the minimum over the Q samples of the reflected power E (hence of
p_D) subject to per-CU SINR (Type-I receivers (3) suffer sensing interference, Type-II receivers (4) cancel it) and
per-BS power. Paper's numbering: (P1) = Scenario I, Type-I; (P2) = I, Type-II; (P3) = II, Type-I; (P4) = II, Type-II.

Array shapes used throughout (L BSs, K CUs per BS, N = N_t antennas, Q samples):
    h: (L, L, K, N) complex, h[l, m, k] the channel from BS l to CU k of cell m (received signal h^H w), sqrt(W)/sqrt(W)
    w: (L, K, N) complex beamformers (sqrt(W));  R: (L, N, N) complex Hermitian sensing covariances (W)
    steering: (Q, L, N) complex a_t,l(theta_l^(q));  beta: (Q, L, L) round-trip gains, beta[q, m, l] for l -> target -> m

Garbled or unstated in the extracted text, re-derived or chosen here (also stated in the scenario files):
- the CU path loss is written mu = kappa (d/d0)^nu; it is a loss, mu = kappa (d/d0)^(-nu);
- in (36a)/(37a) the channel should be the CU's own channel, w~_{l,i} = W_{l,i} h_{l,l,i} / sqrt(h_{l,l,i}^H W h_{l,l,i});
- the ZF null space of (44) has dimension N_t - LK + 1 (the text's "N_t - L^2 K + 1" is garbled);
- kappa, nu, the target reflection gain and the random-CU layout of Fig. 7 are not given: scenario parameters;
- the Q samples form a uniform sqrt(Q) x sqrt(Q) grid over the square area, edges included.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from scipy.special import ndtr, ndtri

from ..algorithms import lifted, verify
from ..algorithms.finalize import Assessment
from ..algorithms.sdr import constructive_rank_one, eigen_ratio, nearest_psd
from ..data.schema import MAX_ANTENNAS, require, spec, validate, watts
from ..errors import ScenarioError
from . import channels, geometry
from ..registry import Method, Problem, register
from .units import db_to_linear, dbm_to_watt, linear_to_db, watt_to_dbm

PROBLEM = "detection"
_S3 = 40.0 * np.sqrt(3.0)


# ================================================================================================ scenario
@dataclass(frozen=True)
class DetectionScenario:
    """Setup of Sec. V-B (Table-free: the paper states its values in the text)."""

    bs_positions_m: tuple[tuple[float, float], ...] = spec(
        ((80.0, 0.0), (-40.0, _S3), (-40.0, -_S3)), unit="m", help="BS positions (x, y); L = their number")
    users_per_bs: int = spec(1, low=1, help="K, CUs served by each BS")
    user_positions_m: tuple[tuple[float, float], ...] | None = spec(
        None, unit="m", optional=True, sized_by=("users_per_bs", "bs_positions_m"),
        help="L*K CU positions, cell by cell; omit to draw them at random (dropped when --set resizes L or K)")
    user_distance_m: tuple[float, ...] = spec(
        (20.0, 60.0), unit="m", low=0.0, low_open=True, length=2,
        help="random CUs: [min, max] distance from the home BS (uniform by area); with user_angle_deg: [d, d]")
    user_angle_deg: float | None = spec(
        None, unit="deg", optional=True,
        help="Fig. 6 layout: every CU at this angle from its BS's direction to the area centre, at user_distance_m[0]")
    channel_model: str = spec("rayleigh", choices=("rayleigh", "los"), help="BS-CU fading")
    tx_antennas: int = spec(32, low=1, high=MAX_ANTENNAS, help="N_t")
    rx_antennas: int = spec(32, low=1, high=MAX_ANTENNAS, help="N_r")
    antenna_spacing_wavelengths: float = spec(0.5, low=0.0, low_open=True, unit="wavelengths")
    comm_noise_dbm: float = spec(-84.0, unit="dBm", help="sigma_c^2")
    radar_noise_dbm: float = spec(-102.0, unit="dBm", help="sigma_d^2")
    max_power_dbm: float = spec(10 * math.log10(15.0) + 30, unit="dBm", help="P_max per BS (15 W)",
                                aliases=(watts("max_power_w"),))
    sinr_db: float = spec(25.0, low=-50.0, high=100.0, unit="dB", help="Gamma, every CU")
    false_alarm_prob: float = spec(1e-3, low=0.0, high=1.0, low_open=True, high_open=True, help="p_FA")
    area_center_m: tuple[float, ...] = spec((0.0, 0.0), unit="m", length=2)
    area_side_m: float = spec(2.0, low=0.0, unit="m", help="side of the square targeted area")
    area_samples: int = spec(9, low=1, help="Q sample locations (a perfect square)")
    scenario: str = spec("I", choices=("I", "II"), help="I: synchronized BSs (all links); II: direct links only")
    receiver: int = spec(1, choices=(1, 2), help="1: Type-I CUs (3); 2: Type-II CUs cancel sensing interference (4)")
    user_path_gain_db: float = spec(-30.0, high=0.0, unit="dB", help="kappa-hat, BS-CU path gain at 1 m",
                                    aliases=("user_path_loss_db",))
    user_path_loss_exponent: float = spec(3.0, low=0.0, unit="", help="nu")
    target_path_gain_db: float = spec(-50.0, high=0.0, unit="dB", help="kappa, per-hop BS-target gain at 1 m",
                                      aliases=("target_path_loss_db",))
    rcs: float = spec(1.0, low=0.0, low_open=True, help="zeta^2, target reflection gain (all links)")

    def __post_init__(self):
        validate(self)
        name = type(self).__name__
        bs = np.asarray(self.bs_positions_m, float)
        require(len(bs) >= 1, name, "bs_positions_m", self.bs_positions_m, "needs at least one BS")
        d = geometry.distance(bs[:, None], bs[None])
        require(np.all(d[~np.eye(len(bs), dtype=bool)] > 0), name, "bs_positions_m", self.bs_positions_m,
                "has coincident BSs: give every BS its own position")
        require(self.users_per_bs <= self.tx_antennas, name, "users_per_bs", self.users_per_bs,
                f"exceeds tx_antennas = {self.tx_antennas}: a BS cannot spatially serve more CUs than antennas")
        if self.user_positions_m is not None:
            require(len(self.user_positions_m) == len(bs) * self.users_per_bs, name, "user_positions_m",
                    self.user_positions_m, f"must list L*K = {len(bs) * self.users_per_bs} positions, cell by cell")
        require(self.user_distance_m[0] <= self.user_distance_m[1], name, "user_distance_m", self.user_distance_m,
                "must be [min, max] with min <= max")
        q = int(round(np.sqrt(self.area_samples)))
        require(q * q == self.area_samples, name, "area_samples", self.area_samples, "must be a perfect square (grid)")
        samples = geometry.square_grid(self.area_center_m, self.area_side_m, self.area_samples)
        require(bool(np.all(geometry.distance(bs[:, None], samples[None]) > 1e-6)), name, "bs_positions_m",
                self.bs_positions_m, "puts a BS on a target sample location")

    @property
    def num_bs(self) -> int:
        return len(self.bs_positions_m)

    @property
    def max_power_w(self) -> float:
        return float(dbm_to_watt(self.max_power_dbm))


# ================================================================================================ instance
@dataclass(frozen=True)
class DetectionInstance:
    """One realization: positions, channels and target geometry (shapes in the module docstring)."""

    scenario: DetectionScenario
    user_positions: np.ndarray        # (L, K, 2)
    h: np.ndarray                     # (L, L, K, N)
    samples: np.ndarray               # (Q, 2)
    theta: np.ndarray                 # (Q, L) target angle from each BS's broadside
    steering: np.ndarray              # (Q, L, N)
    beta: np.ndarray                  # (Q, L, L)

    @property
    def shape(self):
        s = self.scenario
        return s.num_bs, s.users_per_bs, s.tx_antennas, s.area_samples

    def sensing_weights(self, scenario: str | None = None) -> np.ndarray:
        """c[q, l] = sum_m zeta^2 beta[q, m, l] (Scenario I, (27)) or zeta^2 beta[q, l, l] (Scenario II, (28))."""
        sync = (scenario or self.scenario.scenario) == "I"
        b = self.beta.sum(axis=1) if sync else np.einsum("qll->ql", self.beta)
        return self.scenario.rcs * b

    def channels(self) -> dict:
        bs = np.asarray(self.scenario.bs_positions_m)
        return {"h": self.h, "h_index": "h[l, m, k]: BS l -> CU k of cell m; received signal h^H w",
                "user_positions_m": self.user_positions, "bs_positions_m": bs,
                "target_samples_m": self.samples, "target_angles_rad": self.theta, "target_steering": self.steering,
                "round_trip_gain": self.beta, "round_trip_index": "beta[q, m, l]: BS l -> sample q -> BS m",
                "sensing_weights": self.sensing_weights()}


def draw_instance(scenario: DetectionScenario, rng: np.random.Generator) -> DetectionInstance:
    """Place CUs (fixed, random annulus, or the Fig. 6 angle layout) and draw the BS-CU channels."""
    s = scenario
    bs = np.asarray(s.bs_positions_m, float)
    L, K, N = s.num_bs, s.users_per_bs, s.tx_antennas
    center = np.asarray(s.area_center_m, float)
    broadside = geometry.facing(bs, center)                        # arrays face the targeted area
    if s.user_positions_m is not None:
        users = np.asarray(s.user_positions_m, float).reshape(L, K, 2)
    elif s.user_angle_deg is not None:
        phi = broadside + np.deg2rad(s.user_angle_deg)
        offsets = s.user_distance_m[0] * np.stack([np.cos(phi), np.sin(phi)], axis=-1)
        users = np.repeat((bs + offsets)[:, None], K, axis=1)
    else:
        users = np.stack([channels.uniform_in_annulus(rng, bs[l], *s.user_distance_m, K) for l in range(L)])
    h = channels.cell_user_channels(rng, bs, users, broadside, s)   # (L, L, K, N): BS l -> CU k of cell m
    samples = geometry.square_grid(center, s.area_side_m, s.area_samples)
    theta = geometry.angle_from_broadside(bs[None], samples[:, None], broadside[None])     # (Q, L)
    steering = geometry.ula_steering(N, theta, s.antenna_spacing_wavelengths)
    dist = geometry.distance(bs[None], samples[:, None])                                    # (Q, L)
    beta = channels.round_trip_gain(dist[:, None, :], dist[:, :, None], s.target_path_gain_db)  # [q, m, l]
    return DetectionInstance(s, users, h, samples, theta, steering, beta)


# ================================================================================================ metrics
def sinr(h: np.ndarray, w: np.ndarray, R: np.ndarray, noise_w: float, receiver: int) -> np.ndarray:
    """SINR (L, K) of every CU: Type-I (3) counts sensing interference h^H R h, Type-II (4) cancels it."""
    return channels.coordinated_sinr(h, w, noise_w, R if receiver == 1 else None)


def beam_gain(steering: np.ndarray, w: np.ndarray, R: np.ndarray, information: bool = True) -> np.ndarray:
    """a_l^T (sum_i w w^H + R_l) a_l^*  for every sample and BS: (Q, L)."""
    g = np.real(np.einsum("qln,lnp,qlp->ql", steering, R, steering.conj()))
    if information:
        g = g + np.sum(np.abs(np.einsum("qln,lin->qli", steering, w)) ** 2, axis=-1)
    return g


def reflection_power(inst: DetectionInstance, w, R, scenario: str | None = None, information: bool = True):
    """Received reflection power E (Q,) in W: (27) Scenario I, (28) Scenario II; with ``information=False`` the
    dedicated-sensing-only powers (47)/(48)."""
    return inst.scenario.rx_antennas * np.sum(inst.sensing_weights(scenario) * beam_gain(inst.steering, w, R, information), axis=1)


def detection_probability(energy_w, noise_w: float, p_fa: float):
    """p_D = Q(Q^{-1}(p_FA) - sqrt(2 E / sigma_d^2)), eq. (26) / (29); Q(x) = 1 - Phi(x)."""
    return ndtr(np.sqrt(2.0 * np.asarray(energy_w, float) / noise_w) + ndtri(p_fa))


def bs_power(w: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Transmit power per BS (L,): sum_i ||w_{l,i}||^2 + tr(R_l), constraint (30c)."""
    return np.sum(np.abs(w) ** 2, axis=(1, 2)) + np.real(np.einsum("lnn->l", R))


def zf_directions(h: np.ndarray) -> np.ndarray:
    """Unit ZF directions (L, K, N) of (44): h_{l,l,i} projected onto the null space of BS l's other CU channels."""
    L, _, K, N = h.shape
    if L * K > N:
        raise ScenarioError(f"zf needs tx_antennas >= L*K = {L * K} (have {N}): ZF nulls every other CU")
    out = np.zeros((L, K, N), complex)
    for l in range(L):
        all_h = h[l].reshape(L * K, N).T                                # (N, LK)
        for i in range(K):
            j = l * K + i
            others = np.delete(all_h, j, axis=1)
            proj = all_h[:, j] - others @ np.linalg.lstsq(others, all_h[:, j], rcond=None)[0]
            out[l, i] = proj / np.linalg.norm(proj)
    return out


def rank_one_solution(h: np.ndarray, W: np.ndarray, R: np.ndarray):
    """Prop. 1-2, eq. (36)/(37): rank-one beamformers from any SDR-feasible (W, R) with the same objective.

    W: (L, K, N, N), R: (L, N, N). w_{l,i} = W_{l,i} h_{l,l,i} / sqrt(h^H W h) keeps CU (l, i)'s desired power, the
    remainder W - w w^H (PSD) joins R_l, so sum_i W + R, the objective and Type-I interference are unchanged and
    Type-II interference can only shrink. Returns (w (L, K, N), R~ (L, N, N)).
    """
    L, K, N = W.shape[:3]
    w = np.zeros((L, K, N), complex)
    R = R.copy()
    for l in range(L):
        for i in range(K):
            w[l, i], rest = constructive_rank_one(W[l, i], h[l, l, i])
            R[l] = R[l] + rest
    return w, np.stack([nearest_psd(x) for x in R])


# ================================================================================================ SDR models
@functools.lru_cache(maxsize=32)
def _template(L: int, K: int, Q: int, r: int, receiver: int, information: str, echo: str):
    """The relaxation of (P1)-(P4) for one shape, as a DPP cvxpy problem (compiled once, re-solved per instance).

    Every lifted PSD variable (R_l, and W_{l,i} for the SDR) has its own Parameters, set by
    :meth:`DetectionModel.bind`: ``rows[name]`` maps its vec(Z) to the LK CU forms (noise units) and the Q sensing
    forms (units of f_ref), ``trace[name]`` to its share of the BS power (units of P_max), and for W_{l,i}
    ``desired[name]`` to (1 + 1/Gamma) times CU (l, i)'s own form. ZF replaces the W variables by powers p (units of
    P_max) along fixed directions whose forms are ``zf_gains[l]`` and ``zf_desired``.
    """
    n, size = L * K + Q, 4 * r * r
    rows, trace, desired_rows, forms, vecs = {}, {}, {}, {}, {}

    def lifted_var(name):
        z = lifted.variable(r, name)
        rows[name] = cp.Parameter((n, size), name=f"rows_{name}")
        trace[name] = cp.Parameter(size, name=f"trace_{name}")
        vecs[name] = cp.vec(z, order="F")
        forms[name] = rows[name] @ vecs[name]
        return z

    z_r = [lifted_var(f"R{l}") for l in range(L)]
    variables = dict(R=z_r, omega=cp.Variable(name="omega"))
    power = [trace[f"R{l}"] @ vecs[f"R{l}"] for l in range(L)]
    params = dict(rows=rows, trace=trace)
    if information == "sdr":
        variables["W"] = [[lifted_var(f"W{l}_{i}") for i in range(K)] for l in range(L)]
        names = [f"W{l}_{i}" for l in range(L) for i in range(K)]
        desired_rows.update({name: cp.Parameter(size, name=f"desired_{name}") for name in names})
        info_forms = [forms[name] for name in names]                                     # (n,) each
        desired = cp.hstack([desired_rows[name] @ vecs[name] for name in names])
        power = [power[l] + sum(trace[f"W{l}_{i}"] @ vecs[f"W{l}_{i}"] for i in range(K)) for l in range(L)]
        params["desired"] = desired_rows
    else:  # fixed ZF directions, powers p[l, i]
        params["zf_gains"] = [cp.Parameter((n, K), nonneg=True, name=f"zf_gains{l}") for l in range(L)]
        params["zf_desired"] = cp.Parameter((L, K), nonneg=True, name="zf_desired")
        p = variables["p"] = cp.Variable((L, K), nonneg=True, name="p")
        info_forms = [params["zf_gains"][l] @ p[l] for l in range(L)]                     # summed over i
        desired = cp.vec(cp.multiply(params["zf_desired"], p), order="C")
        power = [power[l] + cp.sum(p[l]) for l in range(L)]
    comm = slice(0, L * K)
    total = sum(f[comm] for f in info_forms)
    if receiver == 1:
        total = total + sum(forms[f"R{l}"][comm] for l in range(L))
    sensing = sum(forms[f"R{l}"][L * K:] for l in range(L))
    if echo == "all":
        sensing = sensing + sum(f[L * K:] for f in info_forms)
    constraints = [desired >= total + 1.0,         # (33c) / (34b), in noise units
                   cp.hstack(power) <= 1.0,        # (33d), in units of P_max
                   sensing >= variables["omega"]]  # (33b), in units of f_ref
    return cp.Problem(cp.Maximize(variables["omega"]), constraints), params, variables


VARIANTS = {  # method name -> (information beamforming, echo used for detection)
    "sdr": ("sdr", "all"),
    "zf": ("zf", "all"),
    "sensing-only": ("sdr", "sensing_only"),
}


class DetectionModel:
    """(P1)-(P4) of one instance for one method, in the form :func:`~isacopt.algorithms.sdr.solve_relaxation` takes.

    ``method``: ``sdr`` (the paper's SDR with the rank-one construction of Prop. 1-2), ``zf`` (ZF information
    beamforming (44) with optimized powers and sensing covariance), ``sensing-only`` (detection from the dedicated
    sensing echoes only, (45)-(48)). Scenario I/II and the receiver type come from the scenario.

    Scaling. Every PSD variable of BS l is X = P_max B Y B^H with B a biorthogonal basis of BS l's subspace
    (:func:`~isacopt.algorithms.lifted.biorthogonal_basis`): one column per CU, dual to the CU channels (so the form
    of CU j is the single entry Y_jj), then orthonormal steering directions orthogonal to every CU. Each CU column is
    scaled to the range its form can take: where the form is interference (other CUs of a W; every CU of R for
    Type-I receivers) the unit is the interference CU j can tolerate, max(1, SNR_j / Gamma_j) noise units (SNR_j at
    full power from its own BS; more makes its SINR target unreachable), so every feasible Y_jj <= 1; where it is
    signal (a W's own CU) or unconstrained (R, Type-II) the column has unit norm (P_max).
    SINR rows are in noise units, power rows in P_max, sensing forms in f_ref = N_t P_max max_q sum_l c[q, l] (the
    largest reflection any beam could give), so every variable is of order one at the optimum. Measured: this keeps
    Clarabel's residuals meaningful up to SINR targets within 5 dB of the CUs' SNR (README, "Numerics").
    """

    problem_name = PROBLEM
    objective_name = "min detection probability over the targeted area"
    sense = "max"
    bounded = True            # per-BS power bounds every variable: "unbounded" can only be a numerical failure

    def __init__(self, inst: DetectionInstance, method: str = "sdr"):
        self.inst, self.method = inst, method
        self.information, self.echo = VARIANTS[method]
        s = inst.scenario
        L, K, N, Q = inst.shape
        P = s.max_power_w
        self.noise_c = dbm_to_watt(s.comm_noise_dbm)
        self.gamma = db_to_linear(s.sinr_db)
        c = inst.sensing_weights()
        self.f_ref = N * P * np.max(c.sum(axis=1))
        # form vectors per unit (P_max) of a variable: CU channels in noise units, steering vectors in units of f_ref
        self.comm = [inst.h[l].reshape(L * K, N).T * np.sqrt(P / self.noise_c) for l in range(L)]
        self.sens = [inst.steering[:, l].conj().T * np.sqrt(c[:, l] * P / self.f_ref) for l in range(L)]
        self.vectors = [np.concatenate([self.comm[l], self.sens[l]], axis=1) for l in range(L)]
        # interference CU (m, k) can tolerate and still reach Gamma at full power: SNR / Gamma - 1 (noise units)
        self.snr = np.array([np.sum(np.abs(self.comm[m][:, m * K + k]) ** 2) for m in range(L) for k in range(K)])
        self.tolerable = np.maximum(1.0, self.snr / self.gamma)
        self.basis = {name: self._basis(l, i) for name, l, i in self._lifted()}
        self.r = next(iter(self.basis.values())).shape[1]
        self.problem, self.params, self.vars = _template(L, K, Q, self.r, s.receiver, self.information, self.echo)
        self.zf = zf_directions(inst.h) if self.information == "zf" else None
        self.relaxation_eigen_ratio = None      # max lambda_2 / lambda_1 over the SDR's W (set by recover)

    def _lifted(self):
        """(name, BS, own CU or None) of every lifted PSD variable."""
        L, K = self.inst.shape[:2]
        out = [(f"R{l}", l, None) for l in range(L)]
        if self.information == "sdr":
            out += [(f"W{l}_{i}", l, i) for l in range(L) for i in range(K)]
        return out

    def _basis(self, l: int, own: int | None) -> np.ndarray:
        """BS l's basis for one variable, CU columns scaled as described in the class docstring."""
        L, K, N, _ = self.inst.shape
        comm, sens = self.comm[l], self.sens[l]
        signal = [l * K + own] if own is not None else (range(L * K) if self.inst.scenario.receiver == 2 else [])
        return lifted.scaled_basis(comm, sens, np.sqrt(self.tolerable), unit_columns=signal)

    def precheck(self) -> str | None:
        """Infeasibility certificate: SINR_j <= |h^H w|^2 / sigma^2 <= ||h||^2 P_max / sigma^2 = SNR_j for every CU."""
        K = self.inst.shape[1]
        worst = int(np.argmin(self.snr))
        if self.gamma > self.snr[worst]:
            return (f"infeasible: CU {worst % K} of BS {worst // K} needs SINR {linear_to_db(self.gamma):.1f} dB but "
                    f"reaches at most {linear_to_db(self.snr[worst]):.1f} dB (its SNR at full power, no interference)")
        return None

    def bind(self) -> None:
        L, K = self.inst.shape[:2]
        for name, l, own in self._lifted():
            rows = lifted.form_rows(self.basis[name], self.vectors[l])
            self.params["rows"][name].value = rows
            self.params["trace"][name].value = lifted.trace_row(self.basis[name])
            if own is not None:
                self.params["desired"][name].value = (1.0 + 1.0 / self.gamma) * rows[l * K + own]
        if self.information == "zf":
            gains = [np.abs(self.vectors[l].conj().T @ self.zf[l].T) ** 2 for l in range(L)]
            for l in range(L):
                self.params["zf_gains"][l].value = gains[l]
            self.params["zf_desired"].value = (1.0 + 1.0 / self.gamma) * np.stack(
                [np.diag(gains[l][l * K:(l + 1) * K]) for l in range(L)])

    def recover(self):
        """(solution, claimed min reflection power in W). SDR: the rank-one construction (36)/(37)."""
        s, (L, K, N, Q) = self.inst.scenario, self.inst.shape
        P = s.max_power_w
        X = {name: lifted.to_hermitian(z.value, self.basis[name]) * P
             for name, z in [(f"R{l}", self.vars["R"][l]) for l in range(L)]
             + [(f"W{l}_{i}", zw) for l, row in enumerate(self.vars.get("W", [])) for i, zw in enumerate(row)]}
        R = np.stack([X[f"R{l}"] for l in range(L)])
        if self.information == "sdr":
            W = np.array([[X[f"W{l}_{i}"] for i in range(K)] for l in range(L)])
            self.relaxation_eigen_ratio = max(eigen_ratio(x) for row in W for x in row)
            w, R = rank_one_solution(self.inst.h, W, R)
        else:
            w = np.sqrt(np.maximum(self.vars["p"].value, 0.0) * P)[..., None] * self.zf
            R = np.stack([nearest_psd(x) for x in R])
        claimed = s.rx_antennas * self.vars["omega"].value * self.f_ref
        return {"w": w, "R": R}, float(claimed)

    def assess(self, solution, claimed: float) -> Assessment:
        s, inst = self.inst.scenario, self.inst
        w, R = solution["w"], solution["R"]
        noise_d = dbm_to_watt(s.radar_noise_dbm)
        gamma = sinr(inst.h, w, R, self.noise_c, s.receiver)
        power = bs_power(w, R)
        energy = reflection_power(inst, w, R, information=self.echo == "all")
        p_d = detection_probability(energy, noise_d, s.false_alarm_prob)
        checks = [verify.at_least("sinr", gamma, db_to_linear(s.sinr_db)),
                  verify.at_most("bs_power", power, s.max_power_w),
                  verify.psd("sensing_covariance_psd", R),
                  verify.close("min_reflection_power_vs_solver", energy.min(), claimed, scale=max(claimed, 1e-300))]
        metrics = {"p_detect_min": float(p_d.min()), "p_detect": p_d,
                   "reflection_power_dbm": watt_to_dbm(energy), "sinr_db": linear_to_db(gamma),
                   "bs_power_w": power, "sensing_power_w": np.real(np.einsum("lnn->l", R)),
                   "sensing_rank": np.array([np.sum(np.linalg.eigvalsh(x) > 1e-9 * max(np.trace(x).real, 1e-30))
                                             for x in R]),
                   "sdr_max_eigen_ratio": self.relaxation_eigen_ratio,
                   "scenario": s.scenario, "receiver_type": s.receiver, "reduced_dimension": self.r}
        return Assessment(float(p_d.min()), metrics, checks)

    def describe(self):
        from ..data.loader import scenario_dict
        return scenario_dict(self.inst.scenario), self.inst.channels()


def direct_problem(inst: DetectionInstance, method: str = "sdr") -> tuple[cp.Problem, dict]:
    """The SDR written the obvious way: complex Hermitian N x N variables, channels divided by the noise standard
    deviation, powers in units of P_max, the objective divided by its largest possible value.

    Reference formulation for tests (exactness of the reduced model) and for ``benchmarks/bench_sdp.py``; rebuilt
    on every call, as a user transcribing (SDR1.1)-(SDR4.1) into cvxpy would write it. Returns (problem, variables);
    the minimum reflection power in W is ``N_r * variables["omega"].value / variables["scale"]``.
    """
    s = inst.scenario
    L, K, N, Q = inst.shape
    info, echo = VARIANTS[method]
    if info != "sdr":
        raise ValueError("direct_problem covers the SDR variants")
    P = s.max_power_w
    hn = inst.h * np.sqrt(P / dbm_to_watt(s.comm_noise_dbm))        # noise units per unit of P_max
    c = inst.sensing_weights()
    W = [[cp.Variable((N, N), hermitian=True) for _ in range(K)] for _ in range(L)]
    R = [cp.Variable((N, N), hermitian=True) for _ in range(L)]
    omega = cp.Variable()
    cons = [x >> 0 for row in W for x in row] + [x >> 0 for x in R]
    for m in range(L):
        for k in range(K):
            terms = []
            for l in range(L):
                H = np.outer(hn[l, m, k], hn[l, m, k].conj())
                terms += [cp.real(cp.trace(H @ W[l][i])) for i in range(K)]
                if s.receiver == 1:
                    terms.append(cp.real(cp.trace(H @ R[l])))
            Hd = np.outer(hn[m, m, k], hn[m, m, k].conj())
            cons.append(cp.sum(cp.hstack(terms)) + 1 <= (1 + 1 / db_to_linear(s.sinr_db)) * cp.real(cp.trace(Hd @ W[m][k])))
    for l in range(L):
        cons.append(cp.real(sum(cp.trace(x) for x in W[l]) + cp.trace(R[l])) <= 1)
    scale = 1.0 / (N * np.max(c.sum(axis=1)))                      # objective of order one
    for q in range(Q):
        f = 0
        for l in range(L):
            A = np.outer(inst.steering[q, l].conj(), inst.steering[q, l])
            X = R[l] + (sum(W[l]) if echo == "all" else 0)
            f = f + c[q, l] * scale * cp.real(cp.trace(A @ X))
        cons.append(f >= omega)
    problem = cp.Problem(cp.Maximize(omega), cons)
    return problem, {"W": W, "R": R, "omega": omega, "scale": scale / P}


# ================================================================================================ registration
def _run(method: str):
    def run(scenario, rng, solver=None):
        from ..algorithms.sdr import solve_relaxation
        return solve_relaxation(DetectionModel(draw_instance(scenario, rng), method), solver)
    return run


METHOD_HELP = {"sdr": "the paper's SDR (SDR1.1)-(SDR4.1) with the rank-one construction of Prop. 1-2 (optimal)",
               "zf": "benchmark: ZF information beams (44), optimized powers and sensing covariance",
               "sensing-only": "benchmark: detection from the dedicated sensing echoes only (45)-(48)"}

def _recheck(scenario, rng, result):
    inst = draw_instance(scenario, rng)
    a = DetectionModel(inst, result.method).assess(result.solution, claimed=np.nan)
    return a.objective, a.checks, inst.channels()


register(Problem(
    name=PROBLEM, recheck=_recheck,
    paper="Cheng, Fang, Xu, Ng, 'Optimal Coordinated Transmit Beamforming for Networked ISAC' (seed 003)",
    scenario_class=DetectionScenario,
    default_scenario="detection_k1",
    methods={m: Method(_run(m), METHOD_HELP[m]) for m in VARIANTS},      # each a tight SDR: optimal is a proof
    default_method="sdr",
    summary_metrics=("p_detect_min", "sinr_db", "bs_power_w", "sensing_power_w"),
    parameters={"scenario": "I (synchronized BSs, (P1)/(P2)) or II (direct links only, (P3)/(P4))",
                "receiver": "1 (Type-I CUs, (P1)/(P3)) or 2 (Type-II CUs, (P2)/(P4))"},
))
