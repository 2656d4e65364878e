"""Robust-precoding paper (seed 001): Babu, "Precoding for Multi-Cell ISAC: from Coordinated Beamforming to
Coordinated Multipoint and Bi-Static Sensing".

J cells, K single-antenna users per cell, BSs with N_tx transmit / N_rx receive half-wavelength ULAs, one target per
cell. Block-level precoding (BLP, (P1) CBF / (P2) CoMP, Algorithm 1) and symbol-level precoding (SLP, (P3) CBF /
(P4) CoMP) minimize the angle CRB of the targets and maximize the worst-case user SINR under spherical CSI errors.

Conventions (array shapes; J cells, K users per cell, N = N_tx, M = N_rx, L frame length):
    theta: (J, J) rad, theta[n, m] = angle at BS n of target m (AoD n -> m; theta[m, m] is also the AoA at BS m)
    v, vdot: (J, J, N) transmit steering v(theta[n, m]) and its derivative;  a, adot: (J, M) receive steering
    alpha: (J, J) complex, alpha[m, n] = amplitude of the path BS n -> target m -> BS m (ICR for n != m)
    h: (J, J, K, N) complex, h[n, m, k] = channel BS n -> user k of cell m; received signal h^H x (project convention,
       the paper writes h^T x)
    CBF precoders w: (J, K, N) (BS m, own user k); CoMP precoders w: (J K, J N) (user j = m K + k, stacked BSs)
    SLP signals x: (J, L, N) for CBF, (L, J N) for CoMP; data d: (J, K, L) unit-modulus M-PSK symbols
Powers are in units of P_t (P_t = 1), noise powers are 10^(-SNR/10); the comm noise is sigma_c^2, the radar sigma_R^2.

Re-derived (the extracted text of (5)-(16), (22)-(23), (49), (52)-(56) is damaged), each tested numerically in
tests/test_robust_precoding.py:
- Echo (5): Y_m = sum_n alpha[m, n] a_m v_nm^T X_n + Z_m, Z_m with i.i.d. CN(0, sigma_R^2) entries.
- FIM (6)-(7): for parameters xi = (theta_mm, Re alpha_mm, Im alpha_mm) and an echo whose L columns are Gaussian with
  mean columns D_i X and covariance C, F_ij = 2 Re tr(dmu_i^H C^-1 dmu_j) = 2 L Re tr(C^-1 E_j R E_i^H) with
  R = X X^H / L and dmu_i = E_i X. Like the paper's (7), only the mean term of the Slepian-Bangs formula is kept
  (C is treated as known). The entries are linear in R, which makes the Schur-complement constraints (19a) LMIs.
- Prop. 1 (CBF): E_theta = alpha_mm (adot v_mm^T + a vdot_mm^T), E_re = a v_mm^T, E_im = j a v_mm^T; the ICR of the
  other BSs is Gaussian interference: C = sigma_R^2 I + sum_{n != m} |alpha[m, n]|^2 (v_nm^T R_n v_nm^*) a a^H
  (11), i.e. it depends on the other BSs only through the power p_nm they radiate towards target m.
- Prop. 2 (CoMP): the ICR is bistatic signal: with X stacked over BSs, E_theta = [alpha[m, n] adot v_nm^T]_n +
  alpha_mm a [0 .. vdot_mm^T .. 0], E_re = a [0 .. v_mm^T .. 0], E_im = j E_re, C = sigma_R^2 I, and R is the joint
  covariance (cross-covariances between BSs included, since data are shared).
- Echo SNR: |alpha_mm|^2 L P_t / sigma_R^2 = echo_snr (Sec. VI: 1); |alpha[m, n]|^2 = icr_gain |alpha_mm|^2.
- Prop. 3: with h = h^ + e, ||e|| <= delta and any PSD W:
  max_e h^H W h <= h^^H W h^ + 2 delta ||W h^|| + delta^2 tr W  (23; equality for rank-one W),
  min_e h^H W h >= h^^H W h^ - 2 delta ||W h^||  (the extracted (22) "min = tr(Q W)" is not a lower bound: the nominal
  value exceeds the worst case). For rank-one W = w w^H the exact worst cases are (|h^^H w| -+ delta ||w||)^2
  (minimum clipped at 0); these are what the NumPy verification uses on the recovered beamformers.
  CoMP (39)-(40): the stacked error has ||e_k||^2 <= J delta^2, so delta -> sqrt(J) delta.
- SLP constructive interference (46)-(61): with y~ = h^H x d^* (rotated noiseless signal) and psi = pi / M, the
  symbol lies in the CI region with margin c iff |Im y~| <= (Re y~ - c) tan(psi). Robustly, the error moves y~
  inside a disc of radius delta ||x||, so the constraint becomes
  +-Im y^~ - Re y^~ tan(psi) + c tan(psi) + delta ||x|| / cos(psi) <= 0  (52)-(53), (60)-(61)
  (the paper's ||x_bar -+ x_tilde tan psi|| equals ||x|| / cos psi). The effective SINR of a symbol is
  (Re y~ - |Im y~| cot psi)_+^2 / (sigma_c^2 + ICI) with ICI = sum_{n != m} |h_n^H x_n|^2 for CBF (0 for CoMP).
- Algorithm 1: the (P1.B)/(P3.B) budget objective is the sum of the budgets normalized by their initial values; the
  budgets never increase from one iteration to the next; each BS's SINR constraint in (P1.B) uses the ICI budget its
  users receive from the other BSs (fixed in that step), and the CBF FIM uses C evaluated at the leakage budget
  P_leak (C grows with p_nm, so F shrinks: the resulting CRB is an upper bound on the true one). Stage B keeps stage
  A's CRB and SINR exactly, so its feasible set is stage A's optimal face and it is solved in closed form: the budgets
  become the levels stage A's solution uses (:meth:`Design.levels`, floored at BUDGET_FLOOR). Stage A's solution is then
  feasible for the next stage A, which makes the AO objective non-decreasing without slack (see
  :mod:`isacopt.algorithms.ao_precoding`); the SDP form (:meth:`Design.bind_b`) is kept as a test of the closed form.
- SDR recovery: the AO works on the relaxation (rank-free W, R_s >= x_s x_s^H); beamformers are recovered by the
  constructive rank-one map w = W h^ / sqrt(h^^H W h^) (SLP: x_s from the relaxation) and polished by successive
  convex approximation (SCA) in vector form: F(w) = sum G(w)^T G(w) is matrix-convex in w, so its linearization is a
  lower bound and every SCA iterate is feasible for the unrelaxed problem with a CRB no larger than its bound.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ..algorithms import backends, lifted, verify
from ..algorithms.ao_precoding import Step, alternate
from ..algorithms.result import Result, Status
from ..algorithms.sdr import eigen_ratio
from ..data.schema import require, spec, validate
from ..errors import ScenarioError
from . import channels, geometry
from .units import db_to_linear, linear_to_db

PROBLEM = "robust-precoding"
SCHEMES = ("cbf", "comp")
METHOD_HELP = {
    "blp-cbf": "block-level CBF (P1): Algorithm 1 alternating (P1.A)/(P1.B), ICR as interference (Prop. 1)",
    "blp-comp": "block-level CoMP (P2): Algorithm 1 alternating (P2.A)/(P2.B), ICR as bistatic signal (Prop. 2)",
    "slp-cbf": "symbol-level CBF (P3): M-PSK constructive interference over L symbols, (P3.A)/(P3.B) alternation",
    "slp-comp": "symbol-level CoMP (P4): M-PSK constructive interference over L symbols, one convex SDR",
}

#: Relative slack of the SDP form of (P1.B)/(P2.B)/(P3.B) (:meth:`Design.bind_b`, used for diagnostics only): with
#: the paper's exact constraint (CRB and SINR kept at stage A's optimum) its feasible set is the optimal face of stage
#: A (no interior); an interior of relative width RELAX gives a KKT system with condition ~1/RELAX^2, and Clarabel
#: fails (InsufficientProgress / AlmostSolved) for RELAX <= 1e-3 on CoMP instances (measured, seeds 3-4). Stage B of
#: the AO therefore solves the exact (RELAX = 0) problem in closed form (:meth:`Design.levels`).
RELAX = 1e-5
#: Budgets are never lowered below this fraction of their initial value (an interference 30 dB under the initial
#: budget, i.e. 20 dB under the noise, changes a SINR by 1 %); a budget of 0 would restrict the next stage A to a face
#: of the PSD cone, where Slater's condition fails.
BUDGET_FLOOR = 1e-3
#: Stage B sets a budget to the level it measures times (1 + LEVEL_MARGIN), so stage A's solution stays strictly
#: feasible for the next stage A despite solver residuals (~1e-10).
LEVEL_MARGIN = 1e-7
#: The SCA recovery stops when its objective improves by less than this (relative); every iterate is verified-feasible.
POLISH_TOL = 1e-3
#: Upper bound on the scaled CRB variable f (needed for rho = 0, where f is not in the objective). Written as
#: (1 / F_CAP) f <= 1: as f <= F_CAP the 1e6 entered b, and Clarabel, which measures its primal residual relative to
#: ||b||, reported 1e-10 for points whose power and leakage rows were violated by ~1e-3 (SCA polish, SLP-CBF seed 3).
F_CAP = 1e6
#: The stage-A (and normalization) solves first try Clarabel without its Ruiz equilibration (then the full ladder,
#: :func:`backends.conic_attempts`): those templates are scaled already (noise units, I_ref, D F D), and
#: re-equilibrating them made stage A of robust BLP-CBF (delta = 0.01) end AlmostSolved at 1e-10 on 23 of 40 BSs
#: (first attempt, 20 Sec. VI draws; 4 of 40 without it) and cost 1-3 more iterations everywhere (SLP-CBF: 27.4 vs
#: 24.5 on average). Only a first attempt: on one Fig. 8 draw (seed 7, draw 1, N = 6) every unequilibrated rung
#: failed where the equilibrated ladder solves. The SCA polish keeps equilibration: without it a polish ended
#: "optimal" with an ICI row violated by 1.4e-6 (Fig. 9 quick study, budgets 0 dB, seed 19).
CLARABEL = {"equilibrate_enable": False}
#: Angles of the beampattern metric (Fig. 4): -90 to 90 deg in 1-deg steps.
PATTERN_GRID = np.deg2rad(np.arange(-90.0, 90.5, 1.0))
METHODS = {"blp-cbf": ("blp", "cbf"), "blp-comp": ("blp", "comp"), "slp-cbf": ("slp", "cbf"),
           "slp-comp": ("slp", "comp")}


# ================================================================================================ scenario
@dataclass(frozen=True)
class RobustPrecodingScenario:
    """Setup of Sec. VI (numbers the extraction garbled are chosen and marked in the scenario files)."""

    cells: int = spec(2, low=1, help="J, cells (one BS and one target each)")
    users_per_cell: int = spec(3, low=1, help="K, single-antenna users per cell")
    tx_antennas: int = spec(6, low=1, help="N_tx")
    rx_antennas: int = spec(6, low=1, help="N_rx")
    carrier_ghz: float = spec(5.6, low=0.0, low_open=True, unit="GHz",
                              help="f_c (half-wavelength arrays: enters only through the spacing, recorded)")
    target_angles_deg: tuple[float, ...] = spec(
        (-50.0, 60.0, -60.0, 50.0), unit="deg", low=-90.0, high=90.0, low_open=True, high_open=True,
        help="J*J angles, row-major theta[n][m] = angle at BS n of target m")
    channel_model: str = spec("rayleigh", choices=("rayleigh", "los"),
                              help="user channels: Rayleigh fading, or line of sight at user_angles_deg (Fig. 4)")
    user_angles_deg: tuple[float, ...] | None = spec(
        None, unit="deg", low=-90.0, high=90.0, low_open=True, high_open=True, optional=True,
        help="los: J*J*K angles, row-major phi[m][n][k] = angle at BS m of user k of cell n")
    snr_comm_db: float = spec(40.0, low=-50.0, high=100.0, unit="dB", help="P_t / sigma_c^2")
    snr_radar_db: float = spec(40.0, low=-50.0, high=100.0, unit="dB", help="P_t / sigma_R^2")
    echo_snr_db: float = spec(0.0, low=-50.0, high=60.0, unit="dB", help="|alpha_mm|^2 L P_t / sigma_R^2")
    inter_cell_gain_db: float = spec(-4.7712125472, high=0.0, unit="dB",
                                     help="inter-cell comm channel and ICR power gain relative to intra-cell (1/3)")
    leak_power_fraction: float = spec(0.04, low=0.0, low_open=True, high=1.0,
                                      help="P_leak / P_t, power towards other cells' targets (CBF)")
    intra_budget_db: float = spec(10.0, low=-30.0, high=60.0, unit="dB", help="initial I_intra / sigma_c^2 (CBF)")
    inter_budget_db: float = spec(10.0, low=-30.0, high=60.0, unit="dB", help="initial I_inter / sigma_c^2 (CBF)")
    comp_budget_db: float = spec(10.0, low=-30.0, high=60.0, unit="dB", help="initial I_comp / sigma_c^2 (CoMP)")
    sinr_db: float = spec(10.0, low=-30.0, high=80.0, unit="dB", help="gamma_th, worst-case SINR threshold")
    rho: float = spec(1.0, low=0.0, high=1.0, help="weight of the sensing term (1: CRB only, 0: SINR only)")
    icr_covariance: str = spec("budget", choices=("budget", "precoders"),
                               help="C_m of (11) in the CBF FIM: 'budget' = every other BS at the leakage budget "
                                    "(valid for any precoders), 'precoders' = Algorithm 1 step 4, the other BSs' "
                                    "leakage in the previous round (isotropic full-power precoders before the first)")
    csi_error: float = spec(0.0, low=0.0, help="delta, radius of the spherical CSI error set (channel units)")
    frame_length: int = spec(16, low=1, help="L, symbols per frame (SLP variables; echo SNR definition)")
    psk_order: int = spec(4, low=2, help="M of M-PSK (a power of two)")
    max_iterations: int = spec(8, low=1, help="AO rounds (Algorithm 1)")
    ao_tolerance: float = spec(1e-3, low=0.0, help="AO stops when the objective improves by less (relative)")
    polish_iterations: int = spec(8, low=0, help="SCA rounds of the vector-form recovery")
    error_samples: int = spec(200, low=1, help="CSI error draws per user in the verification")
    test_csi_error: float | None = spec(None, low=0.0, optional=True,
                                        help="radius of extra sampled CSI errors for the tested_min_sinr_db metric "
                                             "(Fig. 6: a design for csi_error tested against this radius)")

    def __post_init__(self):
        validate(self)
        name = type(self).__name__
        J = self.cells
        require(len(self.target_angles_deg) == J * J, name, "target_angles_deg", self.target_angles_deg,
                f"must list J*J = {J * J} angles (row-major theta[n][m], in (-90, 90) deg)")
        require(self.psk_order & (self.psk_order - 1) == 0, name, "psk_order", self.psk_order,
                "must be a power of two (2, 4, 8, ...)")
        if self.channel_model == "los":
            n_angles = J * J * self.users_per_cell
            require(self.user_angles_deg is not None and len(self.user_angles_deg) == n_angles, name,
                    "user_angles_deg", self.user_angles_deg,
                    f"channel_model = 'los' needs J*J*K = {n_angles} angles (row-major phi[m][n][k], in (-90, 90) deg)")

    @property
    def theta(self) -> np.ndarray:
        return np.deg2rad(np.asarray(self.target_angles_deg, float).reshape(self.cells, self.cells))


# ================================================================================================ instance
@dataclass(frozen=True)
class Instance:
    """One realization (shapes in the module docstring)."""

    scenario: RobustPrecodingScenario
    h: np.ndarray          # (J, J, K, N)
    alpha: np.ndarray      # (J, J)
    symbols: np.ndarray    # (J, K, L)

    @functools.cached_property
    def v(self):
        return geometry.ula_steering(self.scenario.tx_antennas, self.scenario.theta)

    @functools.cached_property
    def vdot(self):
        return geometry.ula_steering_derivative(self.scenario.tx_antennas, self.scenario.theta)

    @functools.cached_property
    def a(self):
        return geometry.ula_steering(self.scenario.rx_antennas, np.diag(self.scenario.theta))

    @functools.cached_property
    def adot(self):
        return geometry.ula_steering_derivative(self.scenario.rx_antennas, np.diag(self.scenario.theta))

    @property
    def noise_c(self) -> float:
        return float(db_to_linear(-self.scenario.snr_comm_db))

    @property
    def noise_r(self) -> float:
        return float(db_to_linear(-self.scenario.snr_radar_db))

    @property
    def shape(self):
        s = self.scenario
        return s.cells, s.users_per_cell, s.tx_antennas, s.rx_antennas

    def h_stacked(self) -> np.ndarray:
        """CoMP channels (J K, J N): user j = m K + k, all BSs stacked."""
        J, K, N, _ = self.shape
        return np.transpose(self.h, (1, 2, 0, 3)).reshape(J * K, J * N)

    def channels(self) -> dict:
        return {"h": self.h, "h_index": "h[n, m, k]: BS n -> user k of cell m; received signal h^H x",
                "alpha": self.alpha, "alpha_index": "alpha[m, n]: BS n -> target m -> BS m",
                "target_angles_rad": self.scenario.theta, "symbols": self.symbols,
                "noise_comm": self.noise_c, "noise_radar": self.noise_r}


def draw_instance(scenario: RobustPrecodingScenario, rng: np.random.Generator) -> Instance:
    """Rayleigh (or LoS at ``user_angles_deg``) channels, unit gain intra-cell and inter_cell_gain across cells,
    random path phases, M-PSK data."""
    s = scenario
    J, K, N, L = s.cells, s.users_per_cell, s.tx_antennas, s.frame_length
    g = db_to_linear(s.inter_cell_gain_db)
    gain = np.where(np.eye(J, dtype=bool)[:, :, None], 1.0, g) * np.ones((J, J, K))
    if s.channel_model == "los":
        phi = np.deg2rad(np.asarray(s.user_angles_deg, float).reshape(J, J, K))
        h = channels.line_of_sight(gain, phi, N, rng=rng)
    else:
        h = channels.rayleigh(rng, gain, N)
    mag2 = db_to_linear(s.echo_snr_db) * db_to_linear(-s.snr_radar_db) / L          # |alpha_mm|^2 (P_t = 1)
    mag = np.sqrt(mag2 * np.where(np.eye(J, dtype=bool), 1.0, g))
    alpha = mag * np.exp(2j * np.pi * rng.random((J, J)))
    M = s.psk_order
    symbols = np.exp(1j * np.pi * (2 * rng.integers(0, M, (J, K, L)) + 1) / M)
    return Instance(s, h, alpha, symbols)


# ================================================================================================ sensing
def jacobians(inst: Instance, m: int, scheme: str) -> np.ndarray:
    """E (3, M, cols): d mu / d xi = E_i X for xi = (theta_mm, Re alpha_mm, Im alpha_mm); (12)-(13), (17)-(18).

    cols = N (CBF: BS m's signal X_m) or J N (CoMP: stacked X).
    """
    J, K, N, M = inst.shape
    a, ad, al = inst.a[m], inst.adot[m], inst.alpha[m]
    if scheme == "cbf":
        e_t = al[m] * (np.outer(ad, inst.v[m, m]) + np.outer(a, inst.vdot[m, m]))
        e_r = np.outer(a, inst.v[m, m])
    else:
        e_t = np.concatenate([al[n] * np.outer(ad, inst.v[n, m]) for n in range(J)], axis=1)
        e_t[:, m * N:(m + 1) * N] += al[m] * np.outer(a, inst.vdot[m, m])
        e_r = np.zeros((M, J * N), complex)
        e_r[:, m * N:(m + 1) * N] = np.outer(a, inst.v[m, m])
    return np.stack([e_t, e_r, 1j * e_r])


def radar_covariance(inst: Instance, m: int, scheme: str, leak=None) -> np.ndarray:
    """C (M, M): (11) for CBF with leak[n] = v_nm^T R_n v_nm^* the power BS n radiates towards target m; sigma_R^2 I
    for CoMP."""
    J, _, _, M = inst.shape
    C = inst.noise_r * np.eye(M, dtype=complex)
    if scheme == "cbf":
        for n in range(J):
            if n != m:
                C += abs(inst.alpha[m, n]) ** 2 * float(leak[n]) * np.outer(inst.a[m], inst.a[m].conj())
    return C


def fim_forms(E: np.ndarray, C: np.ndarray, L: int) -> np.ndarray:
    """M (3, 3, cols, cols) with F_ij = Re tr(M_ij R): M_ij = 2 L E_i^H C^-1 E_j."""
    CiE = np.linalg.solve(C, E.transpose(1, 0, 2).reshape(C.shape[0], -1)).reshape(C.shape[0], 3, -1)
    return 2 * L * np.einsum("acm,bmd->abcd", E.conj().transpose(0, 2, 1), CiE.transpose(1, 0, 2))


def fim(E: np.ndarray, C: np.ndarray, R: np.ndarray, L: int) -> np.ndarray:
    """The 3 x 3 FIM (6)-(7): F_ij = 2 L Re tr(C^-1 E_j R E_i^H); R (cols, cols) Hermitian PSD."""
    return np.real(np.einsum("abcd,dc->ab", fim_forms(E, C, L), R))


def crb_angle(F: np.ndarray) -> float:
    """CRB of the angle (rad^2): [F^-1]_11 (inf when F is singular)."""
    try:
        return float(np.linalg.inv(F)[0, 0]) if np.linalg.cond(F) < 1e14 else np.inf
    except np.linalg.LinAlgError:
        return np.inf


def fim_decoupling(F: np.ndarray) -> np.ndarray:
    """T (3, 3) unit lower triangular with (T^T F T)[0, 1] = (T^T F T)[0, 2] = 0 for this F (the amplitude
    re-parametrized as alpha + (a + j b) theta); [(T^T F' T)^-1]_11 = [F'^-1]_11 for every FIM F'."""
    T = np.eye(3)
    T[1, 0], T[2, 0] = -F[0, 1] / F[1, 1], -F[0, 2] / F[2, 2]
    return T


def echo_mean(inst: Instance, m: int, X: np.ndarray, scheme: str, theta_mm: float, alpha_mm: complex):
    """Mean of the echo (5) at BS m (M, L) as a function of the target parameters; X (J, N, L).

    CBF: alpha_mm A(theta) X_m (the ICR is zero-mean interference); CoMP: all paths, the ICR's AoD theta_nm fixed.
    """
    J, K, N, M = inst.shape
    s = inst.scenario
    a = geometry.ula_steering(M, theta_mm)
    vm = geometry.ula_steering(N, theta_mm)
    mu = alpha_mm * np.outer(a, vm) @ X[m]
    if scheme == "comp":
        mu = mu + sum(inst.alpha[m, n] * np.outer(a, inst.v[n, m]) @ X[n] for n in range(J) if n != m)
    return mu


def leakage(inst: Instance, R: np.ndarray) -> np.ndarray:
    """p[n, m] = v_nm^T R_n v_nm^*: power BS n radiates towards target m; R (J, N, N) per-BS covariances."""
    return np.real(np.einsum("nmi,nij,nmj->nm", inst.v, R, inst.v.conj()))


def per_bs_covariance(R_joint: np.ndarray, J: int) -> np.ndarray:
    """Diagonal blocks (J, N, N) of a joint (J N, J N) covariance."""
    N = R_joint.shape[0] // J
    return np.stack([R_joint[n * N:(n + 1) * N, n * N:(n + 1) * N] for n in range(J)])


def sensing_metrics(inst: Instance, scheme: str, R: np.ndarray) -> dict:
    """Actual FIM, CRB and RCRB (deg) of every target from the transmit covariances.

    R: (J, N, N) per-BS covariances (CBF) or (J N, J N) joint covariance (CoMP).
    """
    J = inst.shape[0]
    L = inst.scenario.frame_length
    per_bs = R if scheme == "cbf" else per_bs_covariance(R, J)
    p = leakage(inst, per_bs)
    F, crb = [], []
    for m in range(J):
        E = jacobians(inst, m, scheme)
        Rm = per_bs[m] if scheme == "cbf" else R
        F.append(fim(E, radar_covariance(inst, m, scheme, p[:, m]), Rm, L))
        crb.append(crb_angle(F[-1]))
    crb = np.array(crb)
    return {"fim": np.array(F), "crb_rad2": crb, "rcrb_deg": np.rad2deg(np.sqrt(crb)), "leakage": p}


# ================================================================================================ Prop. 3
def worst_interference_bound(h, W, delta):
    """(23): max over ||e|| <= delta of (h + e)^H W (h + e) <= h^H W h + 2 delta ||W h|| + delta^2 tr W; h (..., N),
    W (..., N, N)."""
    Wh = np.einsum("...ij,...j->...i", W, h)
    return (np.real(np.einsum("...i,...i->...", h.conj(), Wh)) + 2 * delta * np.linalg.norm(Wh, axis=-1)
            + delta ** 2 * np.real(np.einsum("...ii->...", W)))


def worst_signal_bound(h, W, delta):
    """Re-derived (22): min over ||e|| <= delta of (h + e)^H W (h + e) >= h^H W h - 2 delta ||W h|| (any PSD W)."""
    Wh = np.einsum("...ij,...j->...i", W, h)
    return np.real(np.einsum("...i,...i->...", h.conj(), Wh)) - 2 * delta * np.linalg.norm(Wh, axis=-1)


def worst_gain_rank_one(h, w, delta, sense: str):
    """Exact worst case of |(h + e)^H w|^2 over ||e|| <= delta: (|h^H w| + delta ||w||)^2 ('max') or
    (|h^H w| - delta ||w||)_+^2 ('min'); h, w (..., N)."""
    g = np.abs(np.einsum("...i,...i->...", h.conj(), w))
    n = np.linalg.norm(w, axis=-1)
    return (g + delta * n) ** 2 if sense == "max" else np.maximum(g - delta * n, 0.0) ** 2


def cbf_sinr(h, w, noise, e=None):
    """BLP-CBF SINR (20) (J, K) for channels h + e; h, e (J, J, K, N), w (J, K, N)."""
    hh = h if e is None else h + e
    g = np.abs(np.einsum("nmki,nli->mknl", hh.conj(), w)) ** 2            # user (m, k) <- BS n beam l
    J, K = w.shape[:2]
    own = np.stack([g[m, :, m, :] for m in range(J)])                      # (J, K, K)
    signal = np.einsum("mkk->mk", own)
    total = g.sum(axis=(2, 3))
    return signal / (total - signal + noise)


def cbf_sinr_bound(h, w, noise, delta):
    """Worst-case CBF SINR (J, K): exact rank-one worst cases per term, (21) with (22)-(23), (31)-(32)."""
    J, K, N = w.shape
    sig = np.zeros((J, K))
    den = np.full((J, K), noise)
    for m in range(J):
        for k in range(K):
            sig[m, k] = worst_gain_rank_one(h[m, m, k], w[m, k], delta, "min")
            for n in range(J):
                for l in range(K):
                    if (n, l) != (m, k):
                        den[m, k] += worst_gain_rank_one(h[n, m, k], w[n, l], delta, "max")
    return sig / den


def comp_sinr(hs, w, noise, e=None):
    """BLP-CoMP SINR (38c) (J K,) for stacked channels hs + e (J K, J N); w (J K, J N)."""
    hh = hs if e is None else hs + e
    g = np.abs(hh.conj() @ w.T) ** 2                                       # [user, beam]
    signal = np.diag(g)
    return signal / (g.sum(axis=1) - signal + noise)


def comp_sinr_bound(hs, w, noise, delta_stacked):
    """Worst-case CoMP SINR (J K,) with ||e_k|| <= sqrt(J) delta, (39)-(40)."""
    out = np.zeros(len(hs))
    for k in range(len(hs)):
        sig = worst_gain_rank_one(hs[k], w[k], delta_stacked, "min")
        den = noise + sum(worst_gain_rank_one(hs[k], w[l], delta_stacked, "max") for l in range(len(w)) if l != k)
        out[k] = sig / den
    return out


def ci_margin(y, psi):
    """Distance-like CI margin of rotated received symbols y~: Re y~ - |Im y~| cot(psi) (46)."""
    return np.real(y) - np.abs(np.imag(y)) / np.tan(psi)


def slp_cbf_sinr(h, x, d, noise, psi, e=None):
    """SLP-CBF effective SINR (J, K, L): margin_+^2 / (sigma^2 + ICI); x (J, L, N), d (J, K, L)."""
    hh = h if e is None else h + e
    r = np.einsum("nmki,nsi->mkns", hh.conj(), x)                         # user (m, k) <- BS n, symbol s
    J = x.shape[0]
    own = np.stack([r[m, :, m, :] for m in range(J)])                      # (J, K, L)
    ici = (np.abs(r) ** 2).sum(axis=2) - np.abs(own) ** 2
    return np.maximum(ci_margin(own * d.conj(), psi), 0.0) ** 2 / (noise + ici)


def slp_cbf_sinr_bound(h, x, d, noise, psi, delta):
    """Worst case over the error set of :func:`slp_cbf_sinr`: margin - delta ||x|| / sin(psi), ICI per-term max."""
    J, L, N = x.shape
    own = np.stack([np.einsum("ki,si->ks", h[m, m].conj(), x[m]) for m in range(J)])      # (J, K, L)
    xn = np.linalg.norm(x, axis=-1)                                                         # (J, L)
    margin = ci_margin(own * d.conj(), psi) - delta * xn[:, None, :] / np.sin(psi)
    ici = np.zeros_like(margin)
    for m in range(J):
        for n in range(J):
            if n != m:
                ici[m] += (np.abs(np.einsum("ki,si->ks", h[n, m].conj(), x[n])) + delta * xn[n][None]) ** 2
    return np.maximum(margin, 0.0) ** 2 / (noise + ici)


def slp_comp_sinr(hs, x, d, noise, psi, e=None):
    """SLP-CoMP effective SINR (J K, L): all interference is aligned, so margin_+^2 / sigma^2; x (L, J N), d (J K, L)."""
    hh = hs if e is None else hs + e
    return np.maximum(ci_margin((hh.conj() @ x.T) * d.conj(), psi), 0.0) ** 2 / noise


def slp_comp_sinr_bound(hs, x, d, noise, psi, delta_stacked):
    margin = ci_margin((hs.conj() @ x.T) * d.conj(), psi) - delta_stacked * np.linalg.norm(x, axis=-1)[None] / np.sin(psi)
    return np.maximum(margin, 0.0) ** 2 / noise


def sample_errors(rng, shape, radius, count):
    """``count`` errors (count, *shape) with i.i.d. direction, norm over the last axis uniform in [0.5, 1] * radius
    (half of them exactly on the sphere, where the worst case lies)."""
    e = channels.complex_gaussian(rng, (count, *shape))
    e /= np.linalg.norm(e, axis=-1, keepdims=True)
    scale = np.where(np.arange(count) % 2 == 0, 1.0, rng.uniform(0.5, 1.0, count))
    return e * (radius * scale).reshape(count, *([1] * len(shape)))


# ================================================================================================ lifted forms
def norm_map(basis: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Real maps T (n, 2c, (2r)^2) with T_j vec(Z) = [Re; Im] of W v_j for W = B Y B^H, Y the Hermitian matrix read
    back from Z (:func:`~isacopt.algorithms.lifted.to_hermitian`), B (c, r) any basis: W v_j = B Y g_j with
    g_j = B^H v_j, and [Re; Im](Y g) = embed(Y) [Re g; Im g] with embed(Y) = (Z + J^T Z J) / 2, J = [[0, -I], [I, 0]]."""
    r = basis.shape[1]
    g = basis.conj().T @ vectors                                             # (r, n)
    gh = np.concatenate([g.real, g.imag], axis=0)                            # (2r, n)
    Jm = np.block([[np.zeros((r, r)), -np.eye(r)], [np.eye(r), np.zeros((r, r))]])
    eye = np.eye(2 * r)
    B = _real_matrix(basis)
    out = [B @ (0.5 * (np.kron(x[None, :], eye) + Jm.T @ np.kron((Jm @ x)[None, :], eye))) for x in gh.T]
    return np.array(out)


def _span(vectors: list[np.ndarray], tol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis of the range of the column blocks in ``vectors`` (each (cols, n))."""
    A = np.concatenate(vectors, axis=1)
    u, s, _ = np.linalg.svd(A, full_matrices=False)
    return u[:, s > tol * s[0]]


def _lmi(entries, corner):
    """[F^-1]_11 <= corner for the FIM given by its 6 upper entries (tt, tr, ti, rr, ri, ii); ``corner`` a variable
    or ``("inverse", parameter)`` holding 1 / corner.

    Because E_im = j E_re, every FIM here has F_ri = 0 and F_ii = F_rr (also their SCA linearizations), so
    [F^-1]_11 = 1 / (F_tt - (F_tr^2 + F_ti^2) / F_rr) and the Schur-complement LMI (19a) is the SOC constraint
    F_tt - (F_tr^2 + F_ti^2) / F_rr >= 1 / corner. (The 4 x 4 LMI is sparse, and Clarabel's chordal decomposition of
    it stalled at a relative gap of ~1e-7 on these problems; the SOC form solves to 1e-10.)
    """
    u = cp.Variable(4)        # copies of (F_tt, F_tr, F_ti, F_rr): a parameter inside quad_over_lin is not DPP
    rhs = corner[1] if isinstance(corner, tuple) else cp.inv_pos(corner)
    return [u == cp.hstack([entries[0], entries[1], entries[2], entries[3]]),
            u[0] - cp.quad_over_lin(u[1:3], u[3]) >= rhs]


_UPPER = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


# ================================================================================================ BLP templates
def _blp_masks(scheme: str, J: int, K: int):
    """(MASK (nu, nv): var v interferes with user j; CAPSEL pattern (nu, nb); SIGSEL pattern (nv, nb)).

    CBF (BS m's subproblem, users ordered own-first): vars = own users' beams; own user k suffers intra-cell
    interference from its cell's other beams (budget I_intra, b[0]); other cells' users suffer ICI from every beam
    (budget I_inter / (J - 1), b[1]); b[2] is the leakage budget. CoMP: vars = all users' beams, b[0] = I_comp.
    """
    nu = J * K
    if scheme == "cbf":
        mask = np.ones((nu, K))
        mask[:K] -= np.eye(K)
        capsel = np.zeros((nu, 3))
        capsel[:K, 0] = 1.0
        capsel[K:, 1] = 1.0 / max(J - 1, 1)
        sigsel = np.zeros((K, 3))
        sigsel[:, 0] = 1.0
    else:
        mask = np.ones((nu, nu)) - np.eye(nu)
        capsel = np.ones((nu, 1))
        sigsel = np.ones((nu, 1))
    return mask, capsel, sigsel


def _diag_selector(r: int, count: int) -> np.ndarray:
    """Constant rows (count, (2r)^2): row j gives Y_jj = (Z[j, j] + Z[j + r, j + r]) / 2 of the read-back Y."""
    n = 2 * r
    S = np.zeros((count, n * n))
    for j in range(count):
        S[j, j + n * j] = S[j, (j + r) + n * (j + r)] = 0.5
    return S


def _embedded(z, r: int):
    """embed(Y) = (Z + J^T Z J) / 2 of the Hermitian Y read back from Z (an expression, linear in Z)."""
    Jm = np.block([[np.zeros((r, r)), -np.eye(r)], [np.eye(r), np.zeros((r, r))]])
    return 0.5 * (z + Jm.T @ z @ Jm)


@functools.lru_cache(maxsize=32)
def _blp_template(scheme: str, J: int, K: int, r: int, stage: str, robust: bool = True):
    """(P1.A)/(P1.B) (CBF, one BS) or (P2.A)/(P2.B) (CoMP) as a DPP cvxpy problem over the real lifting.

    The basis B (c, r) is dual to the nu = J K user channels (:meth:`Design._basis`): q_j^H B = sqrt(I_ref) e_j^T, so
    user j's form q_j^H W q_j is I_ref Y_jj (a constant selector) and W q_j = sqrt(I_ref) B Y e_j, whose norm is
    sqrt(I_ref) ||R_B Y e_j|| with R_B the Cholesky factor of B^H B (parameter ``chol``). Units: interference in
    I_ref, power in P_t, FIM entries D F D (corner: CRB times the theta scale), budgets relative to their initial
    values. Parameters are small (r x r factors, FIM/power/leakage rows), so the template compiles in seconds.
    ``robust=False`` (delta = 0) omits the CSI-error norm terms: kept with zero coefficients they are second-order
    cones whose optimum sits at the apex with a zero multiplier whenever the budget is slack (no strict
    complementarity), which stalled Clarabel's gap at ~1e-9 (``AlmostSolved``).
    """
    mask, capsel_pattern, sigsel_pattern = _blp_masks(scheme, J, K)
    nu, nv = mask.shape
    nt, npow, nleak = (1, 1, J - 1) if scheme == "cbf" else (J, J, 0)
    nb = capsel_pattern.shape[1]
    size = 4 * r * r
    z = [lifted.variable(r, f"W{v}") for v in range(nv)]
    Zs = lifted.stacked_vec(z)                                                  # (size, nv)
    sel = _diag_selector(r, nu)
    emb = [_embedded(zv, r) for zv in z]
    p = dict(power=cp.Parameter((npow, size), name="power"), fim=cp.Parameter((6 * nt, size), name="fim"),
             sig_scale=cp.Parameter(nv, nonneg=True, name="sig_scale"))
    forms = sel @ Zs                                                            # (nu, nv), units of I_ref
    if robust:
        p.update(chol=cp.Parameter((2 * r, 2 * r), name="chol"), d2=cp.Parameter((1, size), name="d2"),
                 sig_chol=[cp.Parameter((2 * r, 2 * r), name=f"sig_chol{v}") for v in range(nv)])
        norms = cp.vstack([cp.norm(p["chol"] @ emb[v][:, :nu], 2, axis=0) for v in range(nv)]).T
        d2 = np.ones((nu, 1)) @ (p["d2"] @ Zs)
        interference = cp.sum(cp.multiply(mask, forms + norms + d2), axis=1)
        signal = cp.hstack([p["sig_scale"][v] * forms[v, v] - cp.norm(p["sig_chol"][v] @ emb[v][:, v])
                            for v in range(nv)])
    else:
        interference = cp.sum(cp.multiply(mask, forms), axis=1)
        signal = cp.hstack([p["sig_scale"][v] * forms[v, v] for v in range(nv)])
    fim_entries = cp.sum(p["fim"] @ Zs, axis=1)
    cons = [cp.sum(p["power"] @ Zs, axis=1) <= 1.0]
    if nleak:
        p["leak"] = cp.Parameter((nleak, size), name="leak")
        leak = cp.sum(p["leak"] @ Zs, axis=1)
    if stage == "A":
        g, f = cp.Variable(name="g"), cp.Variable(name="f")
        p.update(cap=cp.Parameter(nu, nonneg=True, name="cap"), leak_cap=cp.Parameter(nonneg=True, name="leak_cap"),
                 wt=cp.Parameter(nonneg=True, name="wt"), wg=cp.Parameter(nonneg=True, name="wg"),
                 f_cap_inv=cp.Parameter(nonneg=True, name="f_cap_inv"))
        cons += [interference <= p["cap"], signal >= g, g >= 1.0, p["f_cap_inv"] * f <= 1.0]
        cons += [c for t in range(nt) for c in _lmi([fim_entries[6 * t + i] for i in range(6)], f)]
        if nleak:
            cons.append(leak <= p["leak_cap"])
        problem = cp.Problem(cp.Maximize(-p["wt"] * f + p["wg"] * g), cons)
        variables = dict(z=z, g=g, f=f)
    else:
        b = cp.Variable(nb, nonneg=True, name="b")
        p.update(capsel=cp.Parameter((nu, nb), nonneg=True, name="capsel"),
                 sigsel=cp.Parameter((nv, nb), nonneg=True, name="sigsel"),
                 sig_const=cp.Parameter(nv, nonneg=True, name="sig_const"),
                 f_star_inv=cp.Parameter(nt, nonneg=True, name="f_star_inv"),
                 b_old=cp.Parameter(nb, nonneg=True, name="b_old"), bw=cp.Parameter(nb, nonneg=True, name="bw"))
        cons += [interference <= p["capsel"] @ b, signal >= p["sigsel"] @ b + p["sig_const"], b <= p["b_old"]]
        cons += [c for t in range(nt) for c in _lmi([fim_entries[6 * t + i] for i in range(6)], ("inverse", p["f_star_inv"][t]))]
        if nleak:
            cons.append(leak <= b[2])
        problem = cp.Problem(cp.Minimize(p["bw"] @ b), cons)
        variables = dict(z=z, b=b)
    return problem, p, variables


# ================================================================================================ polish (SCA)
def _real_rows(q: np.ndarray):
    """Real rows (2, 2c) of [Re; Im] q^H w acting on x = [Re w; Im w]; q (c,) complex."""
    return np.array([np.concatenate([q.real, q.imag]), np.concatenate([-q.imag, q.real])])


def _real_matrix(A: np.ndarray) -> np.ndarray:
    """Real (2 rows, 2c) map of [Re; Im] (A w) acting on [Re w; Im w]; A (rows, c) complex."""
    return np.block([[A.real, -A.imag], [A.imag, A.real]])


@functools.lru_cache(maxsize=32)
def _polish_template(kind: str, scheme: str, J: int, K: int, c: int, L: int, robust: bool = True):
    """Convex inner problem of the SCA recovery in vector form (real x = [Re; Im]), DPP.

    kind 'blp': beams x_v (v = own users for CBF / all users for CoMP), the robust SINR with the phase of the own
    signal fixed real (exact rank-one worst case: Re q^H w - delta ||w|| >= sqrt(gamma denom)), interference sums
    sum_v (|q_j^H w_v| + delta ||w_v||)^2 <= cap_j. kind 'slp': symbol vectors x_s (s = 1..L) with the robust CI
    constraints (52)-(53)/(60)-(61) and, for CBF, the ICI amplitude caps (56). The FIM enters through its
    linearization F_lin = sum_v (G0_v^T G_v(x) + G_v(x)^T G0_v - G0_v^T G0_v) <= F(x) (matrix convexity).
    ``robust=False`` (delta = 0) omits the delta ||x|| cones (see :func:`_blp_template`).
    """
    nt = 1 if scheme == "cbf" else J
    npow = 1 if scheme == "cbf" else J
    nleak = J - 1 if scheme == "cbf" else 0
    n_own = K if scheme == "cbf" else J * K
    nv = n_own if kind == "blp" else L
    x = [cp.Variable(2 * c, name=f"x{v}") for v in range(nv)]
    tau, f = cp.Variable(name="tau"), cp.Variable(name="f")
    p = dict(lin=[cp.Parameter((6 * nt, 2 * c), name=f"lin{v}") for v in range(nv)],
             lin_const=cp.Parameter(6 * nt, name="lin_const"),
             power=[cp.Parameter((2 * c, 2 * c), name=f"pow{g}") for g in range(npow)],
             wt=cp.Parameter(nonneg=True, name="wt"),
             wg=cp.Parameter(nonneg=True, name="wg"), f_cap_inv=cp.Parameter(nonneg=True, name="f_cap_inv"))
    cons = [tau >= 1.0, p["f_cap_inv"] * f <= 1.0]
    fim_entries = sum(p["lin"][v] @ x[v] for v in range(nv)) - p["lin_const"]
    cons += [c for t in range(nt) for c in _lmi([fim_entries[6 * t + i] for i in range(6)], f)]
    # power and leakage as norms (sum_v ||P x_v||^2 <= cap  <=>  ||(P x_v)_v|| <= sqrt(cap)): the sum-of-squares form
    # is a rotated cone whose residual Clarabel could not bring below 1e-9 at the SCA optimum
    root = np.sqrt(1.0 if kind == "blp" else float(L))
    cons += [cp.norm(cp.hstack([p["power"][g] @ x[v] for v in range(nv)])) <= root for g in range(npow)]
    if nleak:
        p["leak"] = cp.Parameter((2 * nleak, 2 * c), name="leak")
        p["leak_amp"] = cp.Parameter(nonneg=True, name="leak_amp")           # sqrt(leakage budget)
        for i in range(nleak):
            cons.append(cp.norm(cp.hstack([p["leak"][2 * i:2 * i + 2] @ x[v] for v in range(nv)])) <= root * p["leak_amp"])
    mask = _blp_masks(scheme, J, K)[0]
    nu = J * K
    if kind == "blp":
        # every user row is divided by ||q_j|| (unit rows: with the raw rows, ~250 in noise units against beams of
        # ~0.01-0.5, Clarabel's primal residual rose above 1e-10 in its last iterations)
        p["users"] = cp.Parameter((2 * nu, 2 * c), name="users")                # rows of q_j^H / ||q_j||
        p["sig_c"] = cp.Parameter(nv, nonneg=True, name="sig_c")             # sqrt(gamma_th denom_v) / ||q_v||
        p["cap"] = cp.Parameter(nu, nonneg=True, name="cap")                 # sqrt of the caps / ||q_j||
        p["delta_u"] = cp.Parameter(nu, nonneg=True, name="delta_u")         # delta / ||q_j||
        U = p["users"]
        unorm = ((lambda j, v: p["delta_u"][j] * cp.norm(x[v])) if robust else (lambda j, v: 0.0))  # noqa: E731
        for v in range(nv):
            cons += [U[2 * v + 1] @ x[v] == 0,
                     U[2 * v] @ x[v] - unorm(v, v) >= p["sig_c"][v] * tau]
        for j in range(nu):
            terms = [cp.norm(U[2 * j:2 * j + 2] @ x[v]) + unorm(j, v) for v in range(nv) if mask[j, v]]
            cons.append(cp.norm(cp.hstack(terms)) <= p["cap"][j])
    else:
        # rows of the rotated own signals: ci[s] (2 n_own, 2c): [+Im - tan Re; -Im - tan Re] per own user, every
        # row pair divided by ||q_j|| as for BLP (with the raw rows, ~250 in noise units, the first attempt at 1e-10
        # ended AlmostSolved in most SCA rounds and the ladder ran three solves per round)
        p["ci"] = [cp.Parameter((2 * n_own, 2 * c), name=f"ci{s}") for s in range(L)]
        p["ci_c"] = cp.Parameter(2 * n_own, nonneg=True, name="ci_c")       # sqrt(gamma_th (1 + I^2)) tan psi / ||q_j||
        p["ci_delta"] = cp.Parameter(2 * n_own, nonneg=True, name="ci_delta")   # delta / (cos psi ||q_j||)
        for s in range(L):
            cons.append(p["ci"][s] @ x[s] + p["ci_c"] * tau
                        + (cp.multiply(p["ci_delta"], cp.norm(x[s])) if robust else 0.0) <= 0)
        if scheme == "cbf":
            p["ici"] = cp.Parameter((2 * (nu - K), 2 * c), name="ici")          # rows of q_j^H / ||q_j||
            p["ici_cap"] = cp.Parameter(nu - K, nonneg=True, name="ici_cap")     # amplitude cap / ||q_j||
            p["ici_delta"] = cp.Parameter(nu - K, nonneg=True, name="ici_delta")  # delta / ||q_j||
            for s in range(L):
                for j in range(nu - K):
                    cons.append(cp.norm(p["ici"][2 * j:2 * j + 2] @ x[s])
                                + (p["ici_delta"][j] * cp.norm(x[s]) if robust else 0.0) <= p["ici_cap"][j])
    problem = cp.Problem(cp.Maximize(-p["wt"] * f + p["wg"] * tau), cons)
    return problem, p, dict(x=x, tau=tau, f=f)


# ================================================================================================ SLP template
def _slp_selectors(r: int) -> tuple[np.ndarray, np.ndarray]:
    """Constant rows on vec(Z) (Z: 2(r+1) square, F order) of the lifted [[R, x], [x^H, 1]]: S (2r, size) gives
    [Re x; Im x] (read-back of the Hermitian matrix, :func:`lifted.to_hermitian`), corner (size,) its (r, r) entry."""
    n = 2 * (r + 1)
    S = np.zeros((2 * r, n * n))
    idx = lambda i, j: i + n * j                                               # noqa: E731  (F order)
    for i in range(r):
        S[i, idx(i, r)] += 0.5
        S[i, idx(i + r + 1, 2 * r + 1)] += 0.5                                # Re x_i = (Z[i, r] + Z[i', r']) / 2
        S[r + i, idx(i + r + 1, r)] += 0.5
        S[r + i, idx(i, 2 * r + 1)] -= 0.5                                    # Im x_i = (Z[i', r] - Z[i, r']) / 2
    corner = np.zeros(n * n)
    corner[idx(r, r)] = corner[idx(2 * r + 1, 2 * r + 1)] = 0.5
    return S, corner


@functools.lru_cache(maxsize=32)
def _slp_template(scheme: str, J: int, K: int, c: int, r: int, L: int, stage: str, robust: bool = True):
    """(P3.A)/(P3.B) (CBF, one BS) or (P4) (CoMP, stage 'A') as a DPP problem: per symbol s a real lifting Z_s of
    [[R_s, x_s], [x_s^H, 1]] >= 0 (48d)/(62c); the FIM and powers use R = (1/L) sum_s R_s; robust CI (52)-(53) or
    (60)-(61) on x_s; CBF: ICI amplitude caps (56) and the leakage (48b). ``robust=False`` (delta = 0) omits the
    delta ||x_s|| cones (see :func:`_blp_template`)."""
    nt, npow, nleak = (1, 1, J - 1) if scheme == "cbf" else (J, J, 0)
    n_own = K if scheme == "cbf" else J * K
    n_other = J * K - K if scheme == "cbf" else 0
    n = 2 * (r + 1)
    size = n * n
    S, corner = _slp_selectors(r)
    z = [cp.Variable((n, n), PSD=True, name=f"Z{s}") for s in range(L)]
    Zs = lifted.stacked_vec(z)
    y = [S @ cp.vec(zs, order="F") for zs in z]
    p = dict(power=cp.Parameter((npow, size), name="power"), fim=cp.Parameter((6 * nt, size), name="fim"),
             ci=[cp.Parameter((2 * n_own, 2 * r), name=f"ci{s}") for s in range(L)])
    if robust:
        p["ci_xmap"] = cp.Parameter((2 * c, 2 * r), name="ci_xmap")
        ci_norm = [cp.norm(p["ci_xmap"] @ ys) for ys in y]                      # delta ||x_s|| / cos(psi), x_s = B y_s
    else:
        ci_norm = [0.0] * L
    cons = [corner @ Zs == 1.0, cp.sum(p["power"] @ Zs, axis=1) / L <= 1.0]
    fim_entries = cp.sum(p["fim"] @ Zs, axis=1) / L
    if nleak:
        p["leak"] = cp.Parameter((nleak, size), name="leak")
        leak = cp.sum(p["leak"] @ Zs, axis=1) / L
    if n_other:
        p["ici"] = cp.Parameter((2 * n_other, 2 * r), name="ici")
        ici = [cp.hstack([cp.norm(p["ici"][2 * j:2 * j + 2] @ y[s]) for j in range(n_other)]) for s in range(L)]
        if robust:
            p["ici_xmap"] = cp.Parameter((2 * c, 2 * r), name="ici_xmap")        # delta B in real form
            ici = [ici[s] + cp.norm(p["ici_xmap"] @ y[s]) for s in range(L)]
    if stage == "A":
        tau, f = cp.Variable(name="tau"), cp.Variable(name="f")
        p.update(ci_c=cp.Parameter(nonneg=True, name="ci_c"), wt=cp.Parameter(nonneg=True, name="wt"),
                 wg=cp.Parameter(nonneg=True, name="wg"), f_cap_inv=cp.Parameter(nonneg=True, name="f_cap_inv"))
        cons += [tau >= 1.0, p["f_cap_inv"] * f <= 1.0]
        cons += [p["ci"][s] @ y[s] + p["ci_c"] * tau + ci_norm[s] <= 0 for s in range(L)]
        cons += [c for t in range(nt) for c in _lmi([fim_entries[6 * t + i] for i in range(6)], f)]
        if nleak:
            p["leak_cap"] = cp.Parameter(nonneg=True, name="leak_cap")
            cons.append(leak <= p["leak_cap"])
        if n_other:
            p["ici_cap"] = cp.Parameter(nonneg=True, name="ici_cap")
            cons += [ici[s] <= p["ici_cap"] for s in range(L)]
        problem = cp.Problem(cp.Maximize(-p["wt"] * f + p["wg"] * tau), cons)
        return problem, p, dict(z=z, y=y, tau=tau, f=f)
    b = cp.Variable(2, nonneg=True, name="b")                                   # [ICI amplitude, leakage] / initial
    p.update(ci_const=cp.Parameter(nonneg=True, name="ci_const"), f_star_inv=cp.Parameter(nt, nonneg=True, name="f_star_inv"),
             b_old=cp.Parameter(2, nonneg=True, name="b_old"), bw=cp.Parameter(2, nonneg=True, name="bw"),
             ici_unit=cp.Parameter(nonneg=True, name="ici_unit"))
    cons += [p["ci"][s] @ y[s] + p["ci_const"] + ci_norm[s] <= 0 for s in range(L)]
    cons += [c for t in range(nt) for c in _lmi([fim_entries[6 * t + i] for i in range(6)], ("inverse", p["f_star_inv"][t]))]
    cons += [leak <= b[1], b <= p["b_old"]]
    cons += [ici[s] <= p["ici_unit"] * b[0] for s in range(L)]
    return cp.Problem(cp.Minimize(p["bw"] @ b), cons), p, dict(z=z, y=y, b=b)


# ================================================================================================ design
@dataclass
class _Unit:
    """One optimization problem: BS m for CBF (users ordered own-first), all BSs jointly for CoMP."""

    targets: list[int]              # target (cell) indices whose FIM it constrains
    users: list[tuple[int, int]]    # (cell, user) in unit order; the first n_own are served by this unit
    n_own: int
    q: np.ndarray                   # (c, nu) channels in noise units (received q^H x / sigma_c)
    basis: np.ndarray               # (c, r) orthonormal
    E: list[np.ndarray]             # per target (3, M, c)
    power: list[np.ndarray]         # per power group (c, c) 0/1 diagonal selectors
    leak: np.ndarray                # (c, n_leak) conj(v_mn), n != m (CBF)
    bs: int | None                  # CBF: the BS index


class Design:
    """The robust precoder design of one instance for one method (``blp``/``slp`` x ``cbf``/``comp``).

    Normalizations: channels divided by sigma_c (so SINR forms are in noise units and the CSI radius is
    delta / sigma_c), powers in P_t, interference in units of I_ref (geometric mean of the squared user-channel norm and the budget), budgets relative to their
    initial values, the FIM decoupled (:meth:`_scale`) and scaled by D = diag(f_tt, f_aa, f_aa)^(-1/2) (its entries at the isotropic covariance,
    largest over targets for f_tt), the SINR variable relative to gamma_th (BLP) or sqrt(gamma_th) (SLP).
    """

    def __init__(self, inst: Instance, method: str, solver: str | None = None):
        self.inst, self.method, self.solver = inst, method, solver
        self.level, self.scheme = METHODS[method]
        s = inst.scenario
        J, K, N, M = inst.shape
        self.J, self.K, self.N, self.L = J, K, N, s.frame_length
        self.gamma_th = float(db_to_linear(s.sinr_db))
        self.psi = np.pi / s.psk_order
        self.delta_n = s.csi_error / np.sqrt(inst.noise_c) * (np.sqrt(J) if self.scheme == "comp" else 1.0)
        self.budget0 = {"intra": float(db_to_linear(s.intra_budget_db)), "inter": float(db_to_linear(s.inter_budget_db)),
                        "comp": float(db_to_linear(s.comp_budget_db)), "leak": s.leak_power_fraction}
        if self.level == "slp":   # SLP budgets bound ICI amplitudes (56): sqrt of the power budget
            self.budget0["inter"] = float(np.sqrt(self.budget0["inter"]))
        # interference unit I_ref: with the dual basis (columns sqrt(I_ref) q_j / ||q_j||^2 for near-orthogonal users)
        # the lifted entries that carry power are ~||q||^2 / I_ref and those bounded by a budget b are ~b / I_ref;
        # I_ref = sqrt(||q||^2 b) (median squared user-channel norm in noise units, largest budget) centres both
        # around one. Measured on stage A, seeds 3-6, Clarabel at 1e-10 (optimal / solves), delta = 0 and 0.01:
        # I_ref = b = 10 (before): 8/8 and ~2/8 (BLP-CBF); the geometric mean: see the README; the results are
        # invariant to the unit.
        power = np.sum(np.abs(inst.h) ** 2, axis=(0, -1) if self.scheme == "comp" else -1)
        budget = max(self.budget0["intra"], self.budget0["inter"], self.budget0["comp"])
        self.i_ref = float(np.sqrt(np.median(power) / inst.noise_c * budget))
        self.units = self._units()
        self._scale()
        self.nf = None
        self.solver_time = 0.0
        self.statuses: list[Status] = []

    # ------------------------------------------------------------------ geometry of the units
    def _units(self) -> list[_Unit]:
        inst, J, K, N = self.inst, self.J, self.K, self.N
        sc = np.sqrt(inst.noise_c)
        units = []
        if self.scheme == "cbf":
            for m in range(J):
                users = [(m, k) for k in range(K)] + [(n, k) for n in range(J) if n != m for k in range(K)]
                q = np.stack([inst.h[m, n, k] for n, k in users], axis=1) / sc
                E = [jacobians(inst, m, "cbf")]
                leak = np.stack([inst.v[m, n].conj() for n in range(J) if n != m], axis=1) if J > 1 else np.zeros((N, 0))
                basis = self._basis(q, np.concatenate([_span([e.conj().T for e in E[0]]), leak], axis=1))
                units.append(_Unit([m], users, K, q, basis, E, [np.eye(N)], leak, m))
        else:
            users = [(m, k) for m in range(J) for k in range(K)]
            q = inst.h_stacked().T / sc
            E = [jacobians(inst, m, "comp") for m in range(J)]
            spans = [_span([e.conj().T for e in Em]) for Em in E]
            basis = self._basis(q, np.concatenate(spans, axis=1))
            power = [np.diag(np.repeat(np.arange(J) == m, N).astype(float)) for m in range(J)]
            units.append(_Unit(list(range(J)), users, J * K, q, basis, E, power, np.zeros((J * N, 0)), None))
        return units

    def _basis(self, q: np.ndarray, rest: np.ndarray) -> np.ndarray:
        """Basis of the span of every form: columns dual to the user channels (q_j^H b_i = sqrt(I_ref) delta_ij, so
        user j's form is I_ref Y_jj: interference budgets become bounds on single entries of order one), then
        orthonormal directions orthogonal to the users (target and leakage directions). Falls back to an orthonormal
        basis when there are more users than dimensions or their channels are nearly parallel (as the detection
        module does)."""
        c, nu = q.shape
        if nu > c:
            raise ScenarioError(f"{self.method} needs every BS to control all J*K = {nu} users: J*K must not exceed "
                                f"the {c} antennas of a precoder (raise tx_antennas or lower users_per_cell)")
        basis = lifted.biorthogonal_basis(q, rest)
        if self.level == "slp":
            # SLP constrains x_s linearly, so the dual directions buy nothing; with them (norm ~ sqrt(I_ref) / ||q||,
            # ~0.03 at 40 dB) the lifted entries reach ~1e3 for unit power and Clarabel's objective crept by 1e-4
            # after its gap had reached 1e-9. An orthonormal basis of the same span keeps every entry <= 1.
            return np.linalg.qr(basis)[0]
        basis[:, :nu] *= np.sqrt(self.i_ref)
        return basis

    def _scale(self):
        """Per target FIM decoupling and scaling at the isotropic covariance (no ICR interference).

        Decoupling: the angle's nuisance amplitude is re-parametrized, alpha' = alpha + (a + j b) theta, i.e. the
        FIM is replaced by T^T F T with T = [[1, 0, 0], [a, 1, 0], [b, 0, 1]], a = -F_tr / F_rr, b = -F_ti / F_ii
        at the isotropic covariance. [F^-1]_11 (the CRB) is unchanged for every R (T is unit lower triangular), as
        are F_ri = 0 and F_ii = F_rr. Without it F_tt - (F_tr^2 + F_ti^2) / F_rr cancels ~90 % of F_tt (the array
        phase reference is its first element: F_tr ~ -0.9 F_tt), and the SCA polish ended AlmostSolved at 1e-10 in
        most rounds."""
        inst = self.inst
        self.f_tt, self.f_aa, self.T = {}, {}, {}
        for u in self.units:
            c = u.q.shape[0]
            R = np.eye(c) / self.N
            for t, m in enumerate(u.targets):
                F = fim(u.E[t], inst.noise_r * np.eye(inst.shape[3]), R, self.L)
                self.T[m] = T = fim_decoupling(F)
                self.f_aa[m] = F[1, 1]
                self.f_tt[m] = (T.T @ F @ T)[0, 0]
        for u in self.units:   # one theta scale per unit (CoMP shares the corner f across targets)
            top = max(self.f_tt[m] for m in u.targets)
            for m in u.targets:
                self.f_tt[m] = top

    def _dscale(self, m):
        return np.array([1 / np.sqrt(self.f_tt[m]), 1 / np.sqrt(self.f_aa[m]), 1 / np.sqrt(self.f_aa[m])])

    def _cov(self, m, leak):
        """C_m of (11) with leak[n] (or one value for every BS n) the power BS n radiates towards target m."""
        return radar_covariance(self.inst, m, self.scheme, np.broadcast_to(leak, (self.J,)))

    def icr_leak(self, state) -> np.ndarray:
        """leak[n] of (11) per BS n for the CBF FIM: the leakage budget (``icr_covariance = "budget"``, a bound valid
        for any precoders within it) or Algorithm 1 step 4 (``"precoders"``): BS n's leakage in the previous round
        (stage B's per-BS level), isotropic precoders at full power before the first round."""
        return np.full(self.J, state["leak"]) if state.get("icr") is None else state["icr"]

    def leak_cap(self, u: _Unit, state) -> float:
        """BS u.bs's leakage budget; with "precoders" also at most the leak the other BSs' C_m assume for it (so
        their CRB bounds stay certified)."""
        return state["leak"] if state.get("icr") is None else min(state["leak"], float(state["icr"][u.bs]))

    def fim_forms_scaled(self, u: _Unit, leak) -> list[np.ndarray]:
        """Per target the scaled forms D M D (3, 3, c, c) with C_m at leak (:meth:`icr_leak`, CBF)."""
        out = []
        for t, m in enumerate(u.targets):
            Mf = np.einsum("ki,lj,klab->ijab", self.T[m], self.T[m], fim_forms(u.E[t], self._cov(m, leak), self.L))
            d = self._dscale(m)
            out.append(Mf * (d[:, None] * d[None, :])[:, :, None, None])
        return out

    # ------------------------------------------------------------------ state
    def initial_state(self) -> dict:
        b = self.budget0
        icr = None
        if self.scheme == "cbf" and self.inst.scenario.icr_covariance == "precoders":
            iso = np.broadcast_to(np.eye(self.N) / self.N, (self.J, self.N, self.N))   # P_t I / N per BS
            icr = np.where(np.eye(self.J, dtype=bool), 0.0, leakage(self.inst, iso)).max(axis=1)
        return {"intra": np.full(self.J, b["intra"]), "inter": b["inter"], "comp": b["comp"], "leak": b["leak"],
                "icr": icr, "X": [None] * len(self.units), "g": np.ones(len(self.units)), "f": np.zeros(len(self.units))}

    def weights(self, u_index: int, rho: float | None = None):
        rho = self.inst.scenario.rho if rho is None else rho
        nf_r, nf_c = (1.0, 1.0) if self.nf is None else (self.nf[0][u_index], self.nf[1][u_index])
        return rho / nf_r, (1.0 - rho) / nf_c

    # ------------------------------------------------------------------ binding
    def _bind_common(self, problem_params, u: _Unit, state):
        """Parameters shared by stages A and B (forms, powers, FIM at the current leakage budget)."""
        p = problem_params
        U = u.basis
        lvl = self.level
        if lvl == "blp":
            if "chol" in p:
                p["chol"].value = (2 * self.delta_n / np.sqrt(self.i_ref)) * self._chol(U)
                p["d2"].value = (self.delta_n ** 2 / self.i_ref) * lifted.trace_row(U)[None]
            p["power"].value = np.stack([lifted.matrix_rows(U, g[None])[0] for g in u.power])
            rows = lambda Mx: lifted.matrix_rows(U, Mx)                            # noqa: E731
        else:
            c, r = U.shape
            ext = np.zeros((c + 1, r + 1), complex)
            ext[:c, :r], ext[c, r] = U, 1.0
            pad = lambda Mx: np.pad(Mx, ((0, 0), (0, 1), (0, 1)))                  # noqa: E731
            rows = lambda Mx: lifted.matrix_rows(ext, pad(Mx))                     # noqa: E731
            p["power"].value = np.stack([rows(g[None])[0] for g in u.power])
            g_own = U.conj().T @ u.q
            ci = []
            t = np.tan(self.psi)
            for s in range(self.L):
                blocks = []
                for j in range(u.n_own):
                    m, k = u.users[j]
                    rr = _real_rows(g_own[:, j] * self.inst.symbols[m, k, s])       # [Re y~; Im y~] rows
                    blocks.append(np.stack([rr[1] - t * rr[0], -rr[1] - t * rr[0]]))
                ci.append(np.concatenate(blocks))
            for s in range(self.L):
                p["ci"][s].value = ci[s]
            if "ci_xmap" in p:
                p["ci_xmap"].value = self.delta_n / np.cos(self.psi) * _real_matrix(U)
            if "ici" in p:
                p["ici"].value = np.concatenate([_real_rows(g_own[:, j]) for j in range(u.n_own, len(u.users))])
                if "ici_xmap" in p:
                    p["ici_xmap"].value = self.delta_n * _real_matrix(U)
        if "leak" in p:
            p["leak"].value = np.stack([rows(np.outer(l, l.conj())[None])[0] for l in u.leak.T]) / self.budget0["leak"]
        Ms = self.fim_forms_scaled(u, self.icr_leak(state))
        p["fim"].value = np.concatenate([np.stack([rows(Mt[i, j][None])[0] for i, j in _UPPER]) for Mt in Ms])

    def _template(self, stage):
        c, r = self.units[0].basis.shape
        robust = bool(self.delta_n > 0)
        if self.level == "blp":
            return _blp_template(self.scheme, self.J, self.K, r, stage, robust)
        return _slp_template(self.scheme, self.J, self.K, c, r, self.L, stage, robust)

    def bind_a(self, i: int, state, rho: float | None = None):
        u = self.units[i]
        problem, p, var = self._template("A")
        self._bind_common(p, u, state)
        wt, wg = self.weights(i, rho)
        p["wt"].value, p["wg"].value, p["f_cap_inv"].value = wt, wg, 1.0 / F_CAP
        if self.level == "blp":
            if self.scheme == "cbf":
                m = u.bs
                cap = np.r_[np.full(self.K, state["intra"][m]), np.full(len(u.users) - self.K, state["inter"] / max(self.J - 1, 1))]
                denom = state["intra"][m] + state["inter"] + 1.0
            else:
                cap = np.full(len(u.users), state["comp"])
                denom = state["comp"] + 1.0
            p["cap"].value = cap / self.i_ref
            scale = 1.0 / (self.gamma_th * denom)
            self._bind_signal(p, u, scale)
        else:
            amp2 = state["inter"] ** 2 if self.scheme == "cbf" else 0.0
            p["ci_c"].value = np.sqrt(self.gamma_th * (1.0 + amp2)) * np.tan(self.psi)
            if "ici_cap" in p:
                p["ici_cap"].value = state["inter"] / np.sqrt(max(self.J - 1, 1))
        if "leak_cap" in p:
            p["leak_cap"].value = self.leak_cap(u, state) / self.budget0["leak"]
        return problem, p, var

    @staticmethod
    def _chol(U):
        """Real form of the Cholesky factor R_B (B^H B = R_B^H R_B): ||B y|| = ||R_B y||."""
        return _real_matrix(np.linalg.cholesky(U.conj().T @ U).conj().T)

    def _bind_signal(self, p, u, scale):
        """Own-signal lower bound (re-derived (22)) times ``scale``: I_ref Y_vv - 2 delta sqrt(I_ref) ||R_B Y e_v||."""
        p["sig_scale"].value = np.full(u.n_own, scale * self.i_ref)
        if "sig_chol" not in p:
            return
        chol = self._chol(u.basis)
        for v in range(u.n_own):
            p["sig_chol"][v].value = scale * 2 * self.delta_n * np.sqrt(self.i_ref) * chol

    def b_old(self, i: int, state) -> np.ndarray:
        """Current budgets of unit i relative to their initial values (stage B may not exceed them)."""
        b0 = self.budget0
        if self.scheme == "comp":
            return np.array([state["comp"] / b0["comp"]])
        if self.level == "blp":
            return np.array([state["intra"][self.units[i].bs] / b0["intra"], state["inter"] / b0["inter"],
                             self.leak_cap(self.units[i], state) / b0["leak"]])
        return np.array([state["inter"] / b0["inter"], self.leak_cap(self.units[i], state) / b0["leak"]])

    def bind_b(self, i: int, state):
        u = self.units[i]
        problem, p, var = self._template("B")
        self._bind_common(p, u, state)
        b0 = self.budget0
        relax = 1.0 + RELAX     # the stage-A optimum lies on these boundaries; keep a strict interior
        g = state["g"][i] if self.inst.scenario.rho < 1 else 1.0
        gamma_star = self.gamma_th * (g if self.level == "blp" else g ** 2) / relax
        p["f_star_inv"].value = np.full(len(u.targets), 1.0 / (state["f"][i] * relax))
        if self.level == "blp":
            if self.scheme == "cbf":
                m = u.bs
                unit = np.array([b0["intra"], b0["inter"], 0.0]) / self.i_ref
                _, capsel, sigsel = _blp_masks("cbf", self.J, self.K)
                p["capsel"].value = capsel * unit
                p["sigsel"].value = sigsel * unit
                p["sig_const"].value = np.full(self.K, (state["inter"] + 1.0) / self.i_ref)
                p["b_old"].value = np.array([state["intra"][m] / b0["intra"], state["inter"] / b0["inter"],
                                             state["leak"] / b0["leak"]])
                p["bw"].value = np.ones(3)
            else:
                unit = np.array([b0["comp"]]) / self.i_ref
                _, capsel, sigsel = _blp_masks("comp", self.J, self.K)
                p["capsel"].value, p["sigsel"].value = capsel * unit, sigsel * unit
                p["sig_const"].value = np.full(len(u.users), 1.0 / self.i_ref)
                p["b_old"].value = np.array([state["comp"] / b0["comp"]])
                p["bw"].value = np.ones(1)
            self._bind_signal(p, u, 1.0 / (gamma_star * self.i_ref))
        else:
            p["ci_const"].value = np.sqrt(gamma_star * (1.0 + state["inter"] ** 2)) * np.tan(self.psi)
            p["ici_unit"].value = b0["inter"] / np.sqrt(max(self.J - 1, 1))
            p["b_old"].value = np.array([state["inter"] / b0["inter"], state["leak"] / b0["leak"]])
            p["bw"].value = np.ones(2)
        return problem, p, var

    # ------------------------------------------------------------------ read back
    def levels(self, i: int, X: np.ndarray) -> np.ndarray:
        """Budget levels (relative to their initial values, ordered as :meth:`b_old`) that unit i's relaxed solution X
        (:meth:`read`) actually uses: the worst-case (23) interference of every user group, the leakage (48b), for
        SLP the ICI amplitude (56). These are the smallest budgets under which X stays feasible, i.e. the solution of
        (P1.B)/(P2.B)/(P3.B) with the paper's constraint "keep stage A's CRB and SINR" (whose feasible set is stage
        A's optimal face; for a unique stage-A optimum, this point)."""
        u, b0, dn = self.units[i], self.budget0, self.delta_n
        nu = len(u.users)
        if self.level == "blp":
            mask = _blp_masks(self.scheme, self.J, self.K)[0]
            inter = np.zeros(nu)
            for v in range(u.n_own):
                worst = worst_interference_bound(u.q.T, np.broadcast_to(X[v], (nu,) + X[v].shape), dn)
                inter += mask[:, v] * worst
            R = X.sum(axis=0)
            if self.scheme == "comp":
                return np.array([inter.max() / b0["comp"]])
            leak = max((np.real(l.conj() @ R @ l) for l in u.leak.T), default=0.0)      # J = 1: no other cells
            return np.array([inter[:self.K].max() / b0["intra"],
                             inter[self.K:].max(initial=0.0) * max(self.J - 1, 1) / b0["inter"], leak / b0["leak"]])
        c = u.q.shape[0]
        x = X[:, :c, c]                                                          # (L, c)
        amp = np.abs(x.conj() @ u.q[:, u.n_own:]) + dn * np.linalg.norm(x, axis=1)[:, None]
        R = X[:, :c, :c].mean(axis=0)
        leak = max((np.real(l.conj() @ R @ l) for l in u.leak.T), default=0.0)
        return np.array([amp.max(initial=0.0) * np.sqrt(max(self.J - 1, 1)) / b0["inter"], leak / b0["leak"]])

    def read(self, i: int, var) -> np.ndarray:
        """Relaxed solution of unit i: BLP (n_own, c, c) beam covariances; SLP (L, c + 1, c + 1) lifted matrices."""
        U = self.units[i].basis
        if self.level == "blp":
            return np.stack([lifted.to_hermitian(z.value, U) for z in var["z"]])
        c, r = U.shape
        ext = np.zeros((c + 1, r + 1), complex)
        ext[:c, :r], ext[c, r] = U, 1.0
        return np.stack([lifted.to_hermitian(z.value, ext) for z in var["z"]])

    # ------------------------------------------------------------------ recovery: constructive rank one + SCA
    def initial_vectors(self, i: int, X: np.ndarray) -> np.ndarray:
        """Vectors (nv, c) from a relaxed solution: w_v = W_v q_v / sqrt(q_v^H W_v q_v) (BLP), x_s (SLP)."""
        u = self.units[i]
        c = u.q.shape[0]
        if self.level == "slp":
            return X[:, :c, c].copy()
        out = np.zeros((u.n_own, c), complex)
        for v in range(u.n_own):
            wq = X[v] @ u.q[:, v]
            power = np.real(np.vdot(u.q[:, v], wq))
            out[v] = wq / np.sqrt(power) if power > 0 else 0.0
        return out

    def fim_factors(self, u: _Unit, leak):
        """Per target the real maps A (3, 2M, 2c) with G(x)[:, i] = A_i x and F(x) = sum over vectors of G^T G
        (scaled FIM): A_i = sqrt(2 L w) D_i [C^-1/2 E_i] in real form, w = 1 (BLP) or 1/L (SLP)."""
        weight = 2.0 * self.L * (1.0 if self.level == "blp" else 1.0 / self.L)
        out = []
        for t, m in enumerate(u.targets):
            Wc = np.linalg.inv(np.linalg.cholesky(self._cov(m, leak)))
            d = self._dscale(m)
            A = np.einsum("ij,irc->jrc", self.T[m], np.stack([_real_matrix(Wc @ u.E[t][i]) for i in range(3)]))
            out.append(np.sqrt(weight) * d[:, None, None] * A)
        return out

    def polish(self, i: int, state: dict, x0: np.ndarray):
        """SCA in vector form from x0 (nv, c) with the budgets of ``state``. Returns (x, f bound, history, note)."""
        u = self.units[i]
        c = u.q.shape[0]
        problem, p, var = _polish_template(self.level, self.scheme, self.J, self.K, c, self.L, bool(self.delta_n > 0))
        wt, wg = self.weights(i)
        p["wt"].value, p["f_cap_inv"].value = wt, 1.0 / F_CAP
        for g_i, sel in enumerate(u.power):
            p["power"][g_i].value = _real_matrix(sel)
        if "leak" in p:
            p["leak"].value = np.concatenate([_real_rows(l) for l in u.leak.T])
            p["leak_amp"].value = np.sqrt(self.leak_cap(u, state))
        if self.level == "blp":
            qn = np.linalg.norm(u.q, axis=0)
            p["users"].value = np.concatenate([_real_rows(q / n) for q, n in zip(u.q.T, qn)])
            p["delta_u"].value = self.delta_n / qn
            if self.scheme == "cbf":
                m = u.bs
                denom = state["intra"][m] + state["inter"] + 1.0
                cap = np.r_[np.full(self.K, state["intra"][m]), np.full(len(u.users) - self.K, state["inter"] / max(self.J - 1, 1))]
            else:
                denom = state["comp"] + 1.0
                cap = np.full(len(u.users), state["comp"])
            p["sig_c"].value = np.sqrt(self.gamma_th * denom) / qn[:u.n_own]
            p["cap"].value = np.sqrt(cap) / qn
        else:
            t = np.tan(self.psi)
            amp = state["inter"] if self.scheme == "cbf" else 0.0
            qn = np.linalg.norm(u.q, axis=0)
            for s in range(self.L):
                blocks = []
                for j in range(u.n_own):
                    m, k = u.users[j]
                    rr = _real_rows(u.q[:, j] * self.inst.symbols[m, k, s] / qn[j])
                    blocks.append(np.stack([rr[1] - t * rr[0], -rr[1] - t * rr[0]]))
                p["ci"][s].value = np.concatenate(blocks)
            own = np.repeat(1.0 / qn[:u.n_own], 2)
            p["ci_c"].value = np.sqrt(self.gamma_th * (1.0 + amp ** 2)) * t * own
            p["ci_delta"].value = self.delta_n / np.cos(self.psi) * own
            if "ici" in p:
                p["ici"].value = np.concatenate([_real_rows(q / n) for q, n in zip(u.q[:, u.n_own:].T, qn[u.n_own:])])
                p["ici_cap"].value = amp / np.sqrt(max(self.J - 1, 1)) / qn[u.n_own:]
                p["ici_delta"].value = self.delta_n / qn[u.n_own:]
        factors = self.fim_factors(u, self.icr_leak(state))
        x = np.concatenate([x0.real, x0.imag], axis=1)                         # (nv, 2c)
        history, best, f_bound, note, tau0 = [], None, None, None, 1.0
        for it in range(self.inst.scenario.polish_iterations):
            const = []
            lin = [np.zeros((6 * len(u.targets), 2 * c)) for _ in range(len(x))]
            for t, A in enumerate(factors):
                G0 = [np.einsum("irc,c->ri", A, xv) for xv in x]                  # (2M, 3) per vector
                for row, (a_, b_) in enumerate(_UPPER):
                    for v, g0 in enumerate(G0):
                        lin[v][6 * t + row] = g0[:, a_] @ A[b_] + g0[:, b_] @ A[a_]
                    const.append(sum(g0[:, a_] @ g0[:, b_] for g0 in G0))
            for v in range(len(x)):
                p["lin"][v].value = lin[v]
            p["lin_const"].value = np.array(const)
            p["wg"].value = wg * (2 * tau0 if self.level == "blp" else 1.0)
            out = backends.solve_conic(problem, self.solver)
            self.solver_time += out.solve_time_s
            if out.status != Status.OPTIMAL:
                note = f"SCA round {it + 1} of unit {i}: {out.status.value}; kept the previous iterate"
                break
            x = np.stack([xv.value for xv in var["x"]])
            tau0, f_bound = float(var["tau"].value), float(var["f"].value)
            history.append(float(problem.value))
            if best is not None and abs(problem.value - best) <= POLISH_TOL * max(1.0, abs(best)):
                break
            best = problem.value
        xc = x[:, :c] + 1j * x[:, c:]
        return xc, f_bound, history, note

    # ------------------------------------------------------------------ stages for the AO driver
    def solve_units(self, binders, state) -> list:
        """Solve unit i's problem ``binders[i](i, state)`` for every unit (CBF: one per BS, independent given the
        budgets; their solver calls run in parallel threads, :func:`backends.solve_conic_batch`). Returns per unit
        (outcome, (relaxed solution X, g or tau, f)); X, g, f are None without a solution."""
        def job(i):
            holder = {}

            def bind():
                holder["problem"], _, holder["var"] = binders[i](i, state)
                return holder["problem"]

            def read():
                var = holder["var"]
                gv = var["g"] if "g" in var else var["tau"]
                if gv.value is None or var["f"].value is None:
                    return None, None, None
                return self.read(i, var), float(gv.value), float(var["f"].value)
            return bind, read
        results = backends.solve_conic_batch([job(i) for i in range(len(binders))], self.solver, clarabel=CLARABEL)
        for out, _ in results:
            self.solver_time += out.solve_time_s
            self.statuses.append(out.status)
        return results

    def rcrb_bound_deg(self, i, f):
        m = self.units[i].targets[0]
        return float(np.rad2deg(np.sqrt(max(f, 0.0) / self.f_tt[m])))

    def normalize(self):
        """NF_R, NF_C of (P1)-(P4): the stage-A optima for rho = 1 and rho = 0 at the initial budgets."""
        rho = self.inst.scenario.rho
        if rho in (0.0, 1.0):
            return
        state, n = self.initial_state(), len(self.units)
        radar = self.solve_units([functools.partial(self.bind_a, rho=1.0)] * n, state)
        comm = self.solve_units([functools.partial(self.bind_a, rho=0.0)] * n, state)
        nf_r = [f if out.status.has_solution else 1.0 for out, (_, _, f) in radar]
        nf_c = [g if out.status.has_solution else 1.0 for out, (_, g, _) in comm]
        self.nf = (np.array(nf_r), np.array(nf_c))


class _StageA:
    """(P1.A)/(P2.A)/(P3.A)/(P4): maximize the weighted objective for fixed budgets, unit by unit."""

    name = "A"

    def __init__(self, design: Design):
        self.d = design

    def solve(self, state):
        d, new = self.d, dict(state)
        new["X"], new["g"], new["f"] = list(state["X"]), state["g"].copy(), state["f"].copy()
        total, t0, status = 0.0, d.solver_time, Status.OPTIMAL
        for i, (out, (X, g, f)) in enumerate(d.solve_units([d.bind_a] * len(d.units), state)):
            status = status if out.status == Status.OPTIMAL else out.status
            if not out.status.has_solution:
                return Step(state, None, out.status, d.solver_time - t0, {"unit": i})
            new["X"][i], new["g"][i], new["f"][i] = X, g, f
            wt, wg = d.weights(i)
            total += -wt * new["f"][i] + wg * new["g"][i]
        gam = d.gamma_th * (new["g"] if d.level == "blp" else new["g"] ** 2)
        info = {"rcrb_bound_deg": [d.rcrb_bound_deg(i, f) for i, f in enumerate(new["f"])],
                "sinr_db": linear_to_db(gam).tolist()}
        return Step(new, total, status, d.solver_time - t0, info)


class _StageB:
    """(P1.B)/(P2.B)/(P3.B): minimize the normalized budgets keeping stage A's CRB and SINR exactly; budgets never
    grow and never fall below BUDGET_FLOOR. Solved in closed form (:meth:`Design.levels`): stage A's solution is
    feasible for the next stage A with these budgets, so the AO objective is non-decreasing without any slack.
    (The SDP form :meth:`Design.bind_b` with an interior of relative width RELAX is ill-conditioned, see RELAX.)"""

    name = "B"

    def __init__(self, design: Design):
        self.d = design

    def solve(self, state):
        d, new = self.d, dict(state)
        new["X"], new["intra"] = list(state["X"]), state["intra"].copy()
        b0, t0, total = d.budget0, d.solver_time, 0.0
        inter, leak, comp, status = [], [], [], Status.OPTIMAL
        for i, u in enumerate(d.units):
            level = d.levels(i, state["X"][i]) * (1.0 + LEVEL_MARGIN)
            b = np.minimum(np.maximum(level, BUDGET_FLOOR), d.b_old(i, state))
            total += float(b.sum())
            if d.scheme == "comp":
                comp.append(b[0] * b0["comp"])
            elif d.level == "blp":
                new["intra"][u.bs] = b[0] * b0["intra"]
                inter.append(b[1] * b0["inter"])
                leak.append(b[2] * b0["leak"])
            else:
                inter.append(b[0] * b0["inter"])
                leak.append(b[1] * b0["leak"])
        if comp:
            new["comp"] = max(comp)
        if inter:
            new["inter"], new["leak"] = max(inter), max(leak)
            if state.get("icr") is not None:            # Algorithm 1 step 4: C_m from these precoders' leakage
                new["icr"] = np.array(leak)
        info = {"intra_db": linear_to_db(new["intra"]).tolist(), "inter_db": float(linear_to_db(new["inter"])),
                "comp_db": float(linear_to_db(new["comp"])), "leak": float(new["leak"])}
        return Step(new, total, status, d.solver_time - t0, info)


# ================================================================================================ solve + verify
def solve(inst: Instance, method: str, solver: str | None = None) -> Result:
    """Run one method end to end: normalization, Algorithm 1 (or the single (P4) solve), rank-one recovery and SCA
    polish, NumPy verification of the unrelaxed constraints. Returns a :class:`Result`."""
    import time
    from ..data.loader import scenario_dict
    start = time.perf_counter()
    s = inst.scenario
    d = Design(inst, method, solver)
    base = dict(problem=PROBLEM, method=method, objective_name="largest root CRB of the target angles (deg)",
                sense="min", scenario=scenario_dict(s), channels=inst.channels())
    d.normalize()
    state = d.initial_state()
    if d.level == "slp" and d.scheme == "comp":        # (P4): no budgets, one convex problem
        a = _StageA(d).solve(state)
        ao = dict(state=a.state, status=a.status if a.objective is not None else a.status, iterations=1,
                  monotone=True, converged=True, notes=[],
                  history=[{"iteration": 1, "step": "A", "status": a.status.value, "objective": a.objective, **a.info}])
        ok = a.objective is not None
    else:
        out = alternate(_StageA(d), _StageB(d), state, max_iter=s.max_iterations, tol=s.ao_tolerance, slack=1e-7)
        ao = dict(state=out.state, status=out.status, iterations=out.iterations, monotone=out.monotone,
                  converged=out.converged, notes=out.notes, history=out.history)
        ok = out.objective is not None
    solver_name = backends.conic_chain(solver)[0]
    if not ok:
        return Result(status=ao["status"], solver=solver_name, time_s=time.perf_counter() - start,
                      solver_time_s=d.solver_time, history=ao["history"], notes=ao["notes"], **base)
    final = ao["state"]
    vectors, bounds, notes, polish_hist, eig = [], [], list(ao["notes"]), [], []
    for i in range(len(d.units)):
        x0 = d.initial_vectors(i, final["X"][i])
        if d.level == "blp":
            eig.append(max(eigen_ratio(w) for w in final["X"][i]))
        x, fb, hist, note = d.polish(i, final, x0)
        vectors.append(x)
        bounds.append(fb)
        polish_hist.append(hist)
        if note:
            notes.append(note)
    assessment = assess(d, final, vectors, bounds)
    report = verify.verify(assessment["checks"])
    if not report.passed:
        notes.append(f"verification failed: worst constraint '{report.worst}' violated by {report.max_violation:.2e}")
    statuses = d.statuses
    status = Status.OPTIMAL if all(x == Status.OPTIMAL for x in statuses) else Status.OPTIMAL_INACCURATE
    if any(b is None for b in bounds) and status is Status.OPTIMAL:   # no bound to certify: feasible, never an
        status = Status.FEASIBLE                                        # upgrade of an inaccurate solve
    ao_rcrb = [float(np.max(h["rcrb_bound_deg"])) for h in ao["history"]
               if h.get("step") == "A" and h.get("rcrb_bound_deg") is not None]
    metrics = dict(assessment["metrics"], ao_iterations=ao["iterations"], ao_monotone=ao["monotone"],
                   ao_rcrb_deg=ao_rcrb, ao_round=list(range(1, len(ao_rcrb) + 1)),            # Fig. 9
                   ao_converged=ao["converged"], polish_objective=polish_hist, sdr_max_eigen_ratio=max(eig) if eig else None,
                   relaxation_rcrb_deg=[d.rcrb_bound_deg(i, f) for i, f in enumerate(final["f"])],
                   reduced_dimension=d.units[0].basis.shape[1])
    return Result(status=status, objective=float(np.max(metrics["rcrb_deg"])), solution=assessment["solution"],
                  metrics=metrics, verified=report.passed, max_violation=report.max_violation,
                  violations=report.violations, solver=solver_name, time_s=time.perf_counter() - start,
                  solver_time_s=d.solver_time, history=ao["history"], notes=notes, **base)


def direct_stage_a(inst: Instance, method: str, m: int) -> tuple[cp.Problem, dict]:
    """Stage A of the first AO round ((P1.A) / (P3.A) at the initial budgets, rho = 1) for BS m, written as a
    competent user would: complex N x N Hermitian variables (BLP: W_k per own user; SLP: the lifted
    [[R_s, x_s], [x_s^H, 1]] per symbol), powers in P_t, every SINR / interference row divided by its channel's norm
    (squared for BLP) in noise units, the 3 x 3 FIM decoupled and Jacobi-scaled at the isotropic covariance (as
    :meth:`Design._scale`) and the Schur LMI [[F, e1], [e1^T, t]] >= 0 for t >= CRB (in those units). Rebuilt on every
    call. Solve with ``variables["settings"]`` (Clarabel's static regularization 1e-7): with the defaults the BLP
    problem ended ``NumericalError`` on 8 of 10 BSs here, and without the row and FIM scaling both methods failed
    (unbounded / NumericalError). Reference for ``benchmarks/bench_sdp.py`` and the tests (CBF methods): the root
    CRB in degrees is ``variables["rcrb_deg"]()`` and must match :meth:`Design.rcrb_bound_deg` of stage A."""
    level, scheme = METHODS[method]
    if scheme != "cbf":
        raise ValueError("direct_stage_a covers the CBF methods (one BS per problem)")
    s = inst.scenario
    J, K, N, _ = inst.shape
    L = s.frame_length
    q = inst.h / np.sqrt(inst.noise_c)                                       # (J, J, K, N) noise units
    delta = s.csi_error / np.sqrt(inst.noise_c)
    gamma = float(db_to_linear(s.sinr_db))
    intra, inter, leak_b = (float(db_to_linear(s.intra_budget_db)), float(db_to_linear(s.inter_budget_db)),
                            s.leak_power_fraction)
    others = [(n, k) for n in range(J) if n != m for k in range(K)]
    Mf = fim_forms(jacobians(inst, m, "cbf"), radar_covariance(inst, m, "cbf", np.full(J, leak_b)), L)
    iso = np.real(np.einsum("ijaa->ij", Mf)) / N                             # the FIM at the isotropic R = I / N
    T = fim_decoupling(iso)                                                  # T^T F T, CRB unchanged
    Mf, iso = np.einsum("ki,lj,klab->ijab", T, T, Mf), T.T @ iso @ T
    unit = float(iso[0, 0])
    d = 1.0 / np.sqrt(np.diag(iso))                                          # Jacobi scaling D F D, t = CRB * unit
    Mf = Mf * (d[:, None] * d[None, :])[:, :, None, None]
    t = cp.Variable()
    cons = []
    if level == "blp":
        W = [cp.Variable((N, N), hermitian=True) for _ in range(K)]
        R = sum(W)
        cons += [w >> 0 for w in W]

        def interference(h, v):                                              # in units of ||h||^2
            g = np.linalg.norm(h)
            Q = np.outer(h, h.conj()) / g ** 2
            val = cp.real(cp.trace(Q @ W[v]))
            if delta > 0:
                val = val + 2 * delta / g * cp.norm(W[v] @ (h / g)) + (delta / g) ** 2 * cp.real(cp.trace(W[v]))
            return val
        for k in range(K):
            h = q[m, m, k]
            g = np.linalg.norm(h)
            sig = cp.real(cp.trace(np.outer(h, h.conj()) / g ** 2 @ W[k]))
            sig = sig - (2 * delta / g * cp.norm(W[k] @ (h / g)) if delta > 0 else 0)
            cons += [sig >= gamma * (intra + inter + 1.0) / g ** 2,
                     sum(interference(h, v) for v in range(K) if v != k) <= intra / g ** 2]
        for n, k in others:
            g2 = np.linalg.norm(q[m, n, k]) ** 2
            cons.append(sum(interference(q[m, n, k], v) for v in range(K)) <= inter / max(J - 1, 1) / g2)
    else:
        amp = float(np.sqrt(inter))
        Z = [cp.Variable((N + 1, N + 1), hermitian=True) for _ in range(L)]
        x = [z[:N, N] for z in Z]
        R = sum(z[:N, :N] for z in Z) / L
        cons += [z >> 0 for z in Z] + [cp.real(z[N, N]) == 1 for z in Z]
        tan, psi = np.tan(np.pi / s.psk_order), np.pi / s.psk_order
        c_min = np.sqrt(gamma * (1.0 + amp ** 2))
        for sym in range(L):
            for k in range(K):                                               # in units of ||h||
                g = np.linalg.norm(q[m, m, k])
                y = (q[m, m, k].conj() / g @ x[sym]) * np.conj(inst.symbols[m, k, sym])
                rob = delta / g / np.cos(psi) * cp.norm(x[sym]) if delta > 0 else 0
                cons += [cp.imag(y) - (cp.real(y) - c_min / g) * tan + rob <= 0,
                         -cp.imag(y) - (cp.real(y) - c_min / g) * tan + rob <= 0]
            for n, k in others:
                g = np.linalg.norm(q[m, n, k])
                rob = delta / g * cp.norm(x[sym]) if delta > 0 else 0
                cons.append(cp.abs(q[m, n, k].conj() / g @ x[sym]) + rob <= amp / np.sqrt(max(J - 1, 1)) / g)
    cons.append(cp.real(cp.trace(R)) <= 1.0)
    for n in range(J):
        if n != m:
            v = inst.v[m, n].conj()
            cons.append(cp.real(v.conj() @ R @ v) <= leak_b)
    F = [[cp.real(cp.trace(Mf[i, j] @ R)) for j in range(3)] for i in range(3)]
    cons.append(cp.bmat([[F[0][0], F[0][1], F[0][2], 1.0], [F[1][0], F[1][1], F[1][2], 0.0],
                         [F[2][0], F[2][1], F[2][2], 0.0], [1.0, 0.0, 0.0, t]]) >> 0)
    problem = cp.Problem(cp.Minimize(t), cons)
    return problem, {"t": t, "rcrb_deg": lambda: float(np.rad2deg(np.sqrt(t.value / unit))),
                     "settings": {"static_regularization_constant": 1e-7}}


def assess(d: Design, state: dict, vectors: list[np.ndarray], bounds: list) -> dict:
    """Metrics and :class:`~isacopt.algorithms.verify.Check` list of recovered vectors, in plain NumPy."""
    inst, s = d.inst, d.inst.scenario
    J, K, N, L = d.J, d.K, d.N, d.L
    noise = inst.noise_c
    delta = s.csi_error
    rng = np.random.default_rng(20240601)
    n_err = s.error_samples
    checks, metrics = [], {}
    if d.scheme == "cbf":
        v = np.stack(vectors)                                                    # (J, K, N) or (J, L, N)
        errors = sample_errors(rng, (J, J, K, N), delta, n_err)
    else:
        v = vectors[0]                                                           # (J K, J N) or (L, J N)
        hs = inst.h_stacked()
        errors = sample_errors(rng, (J * K, J * N), np.sqrt(J) * delta, n_err)
    if d.level == "blp":
        if d.scheme == "cbf":
            R = np.einsum("mki,mkj->mij", v, v.conj())
            bound = cbf_sinr_bound(inst.h, v, noise, delta)
            nominal = cbf_sinr(inst.h, v, noise)
            sinr_at = lambda e: cbf_sinr(inst.h, v, noise, e)  # noqa: E731
            for m in range(J):
                for k in range(K):
                    h = inst.h[m, m, k]
                    intra = sum(worst_gain_rank_one(h, v[m, l], delta, "max") for l in range(K) if l != k) / noise
                    checks.append(verify.at_most(f"intra_interference_{m}{k}", intra, state["intra"][m]))
                    for n in range(J):
                        if n != m:
                            ici = sum(worst_gain_rank_one(inst.h[n, m, k], v[n, l], delta, "max") for l in range(K)) / noise
                            checks.append(verify.at_most(f"ici_{n}to{m}{k}", ici, state["inter"] / (J - 1)))
        else:
            R = v.T @ v.conj()
            bound = comp_sinr_bound(hs, v, noise, np.sqrt(J) * delta)
            nominal = comp_sinr(hs, v, noise)
            sinr_at = lambda e: comp_sinr(hs, v, noise, e)  # noqa: E731
            for k in range(J * K):
                itf = sum(worst_gain_rank_one(hs[k], v[l], np.sqrt(J) * delta, "max") for l in range(J * K) if l != k)
                checks.append(verify.at_most(f"interference_{k}", itf / noise, state["comp"]))
        solution = {"w": v}
    else:
        if d.scheme == "cbf":
            R = np.einsum("msi,msj->mij", v, v.conj()) / L
            bound = slp_cbf_sinr_bound(inst.h, v, inst.symbols, noise, d.psi, delta)
            nominal = slp_cbf_sinr(inst.h, v, inst.symbols, noise, d.psi)
            sinr_at = lambda e: slp_cbf_sinr(inst.h, v, inst.symbols, noise, d.psi, e)  # noqa: E731
            xn = np.linalg.norm(v, axis=-1)
            for m in range(J):
                for n in range(J):
                    if n != m:
                        amp = (np.abs(np.einsum("ki,si->ks", inst.h[n, m].conj(), v[n])) + delta * xn[n]) / np.sqrt(noise)
                        checks.append(verify.at_most(f"ici_amplitude_{n}to{m}", amp, state["inter"] / np.sqrt(J - 1)))
        else:
            R = v.T @ v.conj() / L
            d_users = inst.symbols.reshape(J * K, L)
            bound = slp_comp_sinr_bound(hs, v, d_users, noise, d.psi, np.sqrt(J) * delta)
            nominal = slp_comp_sinr(hs, v, d_users, noise, d.psi)
            sinr_at = lambda e: slp_comp_sinr(hs, v, d_users, noise, d.psi, e)  # noqa: E731
        solution = {"x": v, "symbols": inst.symbols}
    per_error = np.array([sinr_at(e) for e in errors])                  # (n_err, users...): errors in the design's set
    sampled = per_error.min(axis=0)                                      # worst draw per user: the bound holds
    if s.test_csi_error is not None:                                     # errors of another radius
        scale = 1.0 if d.scheme == "cbf" else np.sqrt(J)
        shape = (J, J, K, N) if d.scheme == "cbf" else (J * K, J * N)
        tested = np.array([sinr_at(e) for e in sample_errors(rng, shape, scale * s.test_csi_error, n_err)])
        metrics["tested_min_sinr_db"] = float(linear_to_db(tested.min()))
        metrics["tested_sinr_cdf_db"] = np.sort(linear_to_db(tested.reshape(n_err, -1).min(axis=1)))
    # Fig. 7: the minimum SINR over the users for each error draw, sorted (its empirical CDF is (1..n) / n)
    metrics["sampled_sinr_cdf_db"] = np.sort(linear_to_db(per_error.reshape(n_err, -1).min(axis=1)))
    metrics["cdf_level"] = np.arange(1, n_err + 1) / n_err
    sens = sensing_metrics(inst, d.scheme, R)
    per_bs = R if d.scheme == "cbf" else per_bs_covariance(R, J)
    power = np.real(np.einsum("nii->n", per_bs))
    checks += [verify.at_least("worst_case_sinr", bound, d.gamma_th),
               verify.at_least("sampled_sinr_vs_bound", sampled, bound, scale=np.maximum(bound, 1e-12)),
               verify.at_most("bs_power", power, 1.0)]
    if d.scheme == "cbf" and J > 1:
        off = sens["leakage"][~np.eye(J, dtype=bool)]
        checks.append(verify.at_most("leakage", off, state["leak"], scale=s.leak_power_fraction))
    claimed = np.array([bounds[i] / d.f_tt[m] if bounds[i] is not None else np.inf
                        for i, u in enumerate(d.units) for m in u.targets])
    checks.append(verify.at_most("crb_vs_claimed_bound", sens["crb_rad2"], claimed))
    metrics.update(rcrb_deg=sens["rcrb_deg"], rcrb_max_deg=float(np.max(sens["rcrb_deg"])), crb_rad2=sens["crb_rad2"],
                   worst_case_sinr_db=linear_to_db(np.min(bound.reshape(bound.shape[0], -1), axis=-1) if bound.ndim > 1 else bound),
                   min_worst_case_sinr_db=float(linear_to_db(bound.min())),
                   nominal_sinr_db=linear_to_db(nominal), sampled_min_sinr_db=float(linear_to_db(sampled.min())),
                   bs_power=power, leakage=sens["leakage"], beampattern_angle_deg=np.rad2deg(PATTERN_GRID),
                   beampattern_db=linear_to_db(np.maximum(geometry.transmit_pattern(per_bs, PATTERN_GRID), 1e-30)),
                   budgets={"intra_db": linear_to_db(state["intra"]), "inter": state["inter"],
                            "comp_db": float(linear_to_db(state["comp"])), "leak": state["leak"]},
                   weighted_objective=float(-s.rho * np.max(sens["crb_rad2"]) + (1 - s.rho) * bound.min()))
    if d.level == "blp":
        solution["R"] = R
    return {"metrics": metrics, "checks": checks, "solution": solution}
