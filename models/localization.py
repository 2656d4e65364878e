"""Localization paper (seed 000): Xia, Xu, Xu, He, Yang, Ng, "Multi-Cell Coordinated Beamforming for Integrated
Communication and Multi-TMT Localization" (2025).

M BSs (N_t-antenna ULAs) serve K single-antenna CUs each with beamformers f_{m,k}; the same signals illuminate a
target whose echoes N single-antenna target monitoring terminals (TMTs) collect. The target position (x, y) is
estimated from the M N time-of-arrival (TOA) delays tau_{m,n} (9). Lemma 1 gives the CRLB in closed form (10)-(13):
C = tr((Lambda Z Lambda^T)^{-1}), Z = diag(J(tau_{m,n})) with J linear in the beam gain a^T(theta_m) R_m a^*(theta_m),
R_m = sum_k f_{m,k} f_{m,k}^H. Problem (18) minimizes C subject to per-BS power (4) and per-CU SINR (6); the SDR (21)
lifts F_{m,k} = f f^H and writes tr(FIM^{-1}) with the Schur-complement LMIs (21d); Theorem 1 says its optimum is
rank one when a^*(theta_m) is outside the span of BS m's CU channels (almost surely when N_t > M K).

Array shapes (M BSs, K CUs per BS, N = N_t antennas, T = number of TMTs):
    h: (M, M, K, N) complex, h[i, m, k] the channel from BS i to CU k of cell m (received signal h^H f), sqrt(W)/sqrt(W)
    f: (M, K, N) complex beamformers (sqrt(W));  F: (M, K, N, N) complex Hermitian lifted beamformers (W)
    steering: (M, N) complex a(theta_m);  delays: (M, T) s;  jacobian Lambda: (2, M T), columns (m, n) m-major
    kappa: (M, T) in s^-2 / W, so that J(tau_{m,n}) = kappa[m, n] * beam_gain[m]

Garbled, unstated or re-derived here (also stated in the scenario file and the README):
- (21b) is printed as "(21)" followed by "b)"; its content (per-BS trace <= P) is unambiguous;
- T_s is not given: the scenario field ``symbol_duration_ns`` defaults to 1/beta = 10 ns (Nyquist-rate symbols);
- the CU channel model is not given: Rayleigh fading (default) or LoS, path gain kappa (d/1 m)^-nu with free-space
  values at 24 GHz (kappa = (lambda / 4 pi)^2 = -60.05 dB, nu = 2);
- CU placement "at random in the 200 x 400 m^2 area": uniform in the area (centred on the target), each CU served by
  its nearest BS (each BS's cell is its Voronoi region), at least ``user_min_distance_m`` from every BS;
- array orientation: every ULA's broadside points at azimuth 180 deg, which puts the target at theta = +60 deg from
  BS 1 as in Fig. 4 (and at -60 deg from BS 2);
- the RCS zeta_{m,n} ~ N(0, 1) is drawn real, as stated; |epsilon_{m,n}|^2 = F_{m,n} zeta_{m,n}^2;
- benchmarks (Sec. IV-A, details not given): radar-only = (21) without the SINR constraints; ZF = beams nulling every
  other CU (needs N_t >= M K) with CRLB-optimal powers; beampattern approximation (Liu et al., TSP 2020) = least
  squares match of each BS's pattern a^T R_m a^* to alpha_m d_m(theta) on a 1-deg grid over [-90, 90] deg, with
  d_m(theta) = 1 within +-``pattern_width_deg``/2 of theta_m and 0 elsewhere, under the same SINR constraints and
  Liu et al.'s per-antenna power diag(R_m) = P/N_t (no dedicated radar signal exists in this system, so R_m is the
  sum of the information beams; the cross-correlation term of Liu et al. vanishes with one target per BS).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ..algorithms import lifted, verify
from ..algorithms.sdr import Assessment, constructive_rank_one, eigen_ratio, gaussian_candidates, principal_component
from ..data.schema import require, spec, validate
from ..errors import ScenarioError
from . import channels, geometry
from ..registry import Method, Problem, register
from .units import db_to_linear, dbm_to_watt, linear_to_db, watt_to_dbm

PROBLEM = "localization"
C_LIGHT = 299_792_458.0          # m/s
_S3 = 80.0 * np.sqrt(3.0)


# ================================================================================================ scenario
@dataclass(frozen=True)
class LocalizationScenario:
    """Table I and Sec. IV-A of the paper (values the paper leaves open are marked 'chosen' in the help)."""

    bs_positions_m: tuple[tuple[float, float], ...] = spec(((80.0, _S3), (80.0, -_S3)), unit="m",
                                                            help="BS positions (x, y); M = their number")
    bs_broadside_deg: tuple[float, ...] = spec((180.0, 180.0), unit="deg",
                                               help="azimuth each BS's ULA broadside points to (chosen: Fig. 4)")
    target_position_m: tuple[float, ...] = spec((0.0, 0.0), unit="m", length=2, help="(x, y) of the target")
    tmt_positions_m: tuple[tuple[float, float], ...] = spec(((30.0, 30.0), (30.0, -30.0), (-30.0, 30.0),
                                                             (-30.0, -30.0)), unit="m", help="TMT positions (x', y')")
    users_per_bs: int = spec(4, low=1, help="K, CUs per BS")
    user_positions_m: tuple[tuple[float, float], ...] | None = spec(
        None, unit="m", optional=True, help="M*K CU positions, cell by cell; omit to draw them at random")
    area_center_m: tuple[float, ...] = spec((0.0, 0.0), unit="m", length=2, help="centre of the deployment area")
    area_size_m: tuple[float, ...] = spec((200.0, 400.0), unit="m", low=0.0, low_open=True, length=2,
                                          help="(width along x, height along y) of the area random CUs are drawn in")
    user_min_distance_m: float = spec(10.0, low=0.0, unit="m", help="random CUs: minimum distance to every BS")
    channel_model: str = spec("rayleigh", choices=("rayleigh", "los"), help="BS-CU channel (chosen: Rayleigh)")
    user_path_loss_db: float = spec(-60.05, high=0.0, unit="dB",
                                    help="BS-CU path gain at 1 m (chosen: free space at 24 GHz)")
    user_path_loss_exponent: float = spec(2.0, low=0.0, help="BS-CU path-loss exponent (chosen: free space)")
    carrier_ghz: float = spec(24.0, low=0.0, low_open=True, unit="GHz", help="f_c")
    tx_antennas: int = spec(16, low=1, help="N_t")
    antenna_spacing_wavelengths: float = spec(0.5, low=0.0, low_open=True, unit="wavelengths")
    effective_bandwidth_mhz: float = spec(100.0, low=0.0, low_open=True, unit="MHz", help="beta")
    symbol_duration_ns: float = spec(10.0, low=0.0, low_open=True, unit="ns", help="T_s (chosen: 1/beta)")
    snapshots: int = spec(256, low=1, help="L, sensing snapshots")
    comm_noise_dbm: float = spec(-94.0, unit="dBm", help="sigma_n^2")
    sensing_noise_dbm_per_hz: float = spec(-174.0, unit="dBm/Hz", help="sigma_s^2 (PSD)")
    max_power_dbm: float = spec(30.0, unit="dBm", help="P, per BS")
    sinr_db: float = spec(20.0, low=-50.0, high=100.0, unit="dB", help="Gamma, every CU")
    rcs_model: str = spec("gaussian", choices=("gaussian", "fixed"),
                          help="gaussian: zeta ~ N(0, rcs_variance) per link; fixed: zeta^2 = rcs_variance")
    rcs_variance: float = spec(1.0, low=0.0, low_open=True, help="variance of zeta (or zeta^2 when fixed)")
    randomizations: int = spec(100, low=1, help="Gaussian randomization draws when the SDR is not rank one")
    pattern_width_deg: float = spec(10.0, low=0.0, low_open=True, high=180.0, unit="deg",
                                    help="beampattern benchmark: main-lobe width of the desired pattern")
    pattern_step_deg: float = spec(1.0, low=0.0, low_open=True, high=10.0, unit="deg",
                                   help="angle grid of the beampattern benchmark and of the beampattern metric")

    def __post_init__(self):
        validate(self)
        name = type(self).__name__
        bs = np.asarray(self.bs_positions_m, float)
        tmt = np.asarray(self.tmt_positions_m, float)
        target = np.asarray(self.target_position_m, float)
        require(len(bs) >= 1, name, "bs_positions_m", self.bs_positions_m, "needs at least one BS")
        require(len(tmt) >= 1, name, "tmt_positions_m", self.tmt_positions_m, "needs at least one TMT")
        require(len(self.bs_broadside_deg) == len(bs), name, "bs_broadside_deg", self.bs_broadside_deg,
                f"must give one azimuth per BS ({len(bs)})")
        d = geometry.distance(bs[:, None], bs[None])
        require(bool(np.all(d[~np.eye(len(bs), dtype=bool)] > 0)), name, "bs_positions_m", self.bs_positions_m,
                "has coincident BSs: give every BS its own position")
        require(bool(np.all(geometry.distance(bs, target) > 1e-6)), name, "bs_positions_m", self.bs_positions_m,
                f"puts a BS on the target at {tuple(target)}: the delay (9) is not differentiable there")
        require(bool(np.all(geometry.distance(tmt, target) > 1e-6)), name, "tmt_positions_m", self.tmt_positions_m,
                f"puts a TMT on the target at {tuple(target)}: the delay (9) is not differentiable there "
                "(and the path loss is infinite)")
        g = toa_jacobian(bs, tmt, target)
        require(np.linalg.matrix_rank(g @ g.T, tol=1e-12 * np.trace(g @ g.T)) == 2, name, "tmt_positions_m",
                self.tmt_positions_m, "and the BSs make the target position unidentifiable (every delay gradient "
                "is parallel, the Fisher information (12) is singular): move a TMT or BS off that line")
        if self.user_positions_m is not None:
            require(len(self.user_positions_m) == len(bs) * self.users_per_bs, name, "user_positions_m",
                    self.user_positions_m, f"must list M*K = {len(bs) * self.users_per_bs} positions, cell by cell")
            users = np.asarray(self.user_positions_m, float)
            require(bool(np.all(geometry.distance(bs[:, None], users[None]) > 1e-6)), name, "user_positions_m",
                    self.user_positions_m, "puts a CU on a BS")

    @property
    def num_bs(self) -> int:
        return len(self.bs_positions_m)

    @property
    def num_tmts(self) -> int:
        return len(self.tmt_positions_m)


# ================================================================================================ instance
@dataclass(frozen=True)
class LocalizationInstance:
    """One realization: CU positions and channels, target angles, RCS draws (shapes in the module docstring)."""

    scenario: LocalizationScenario
    user_positions: np.ndarray        # (M, K, 2)
    h: np.ndarray                     # (M, M, K, N)
    theta: np.ndarray                 # (M,) target angle from each BS's broadside, rad
    steering: np.ndarray              # (M, N) a(theta_m)
    rcs: np.ndarray                   # (M, T) zeta_{m,n}
    channel_gain: np.ndarray          # (M, T) |epsilon_{m,n}|^2
    delays: np.ndarray                # (M, T) tau_{m,n}, s
    jacobian: np.ndarray              # (2, M T) Lambda
    kappa: np.ndarray                 # (M, T) s^-2 / W

    @property
    def shape(self):
        s = self.scenario
        return s.num_bs, s.users_per_bs, s.tx_antennas, s.num_tmts

    def fisher_blocks(self) -> np.ndarray:
        """A_m (M, 2, 2) in m^-2 / W: Lambda Z Lambda^T = sum_m beam_gain_m A_m (eq. (10)-(13) regrouped per BS)."""
        M, _, _, T = self.shape
        g = self.jacobian.T.reshape(M, T, 2)
        return np.einsum("mt,mti,mtj->mij", self.kappa, g, g)

    def channels(self) -> dict:
        s = self.scenario
        return {"h": self.h, "h_index": "h[i, m, k]: BS i -> CU k of cell m; received signal h^H f",
                "user_positions_m": self.user_positions, "bs_positions_m": np.asarray(s.bs_positions_m),
                "tmt_positions_m": np.asarray(s.tmt_positions_m), "target_position_m": np.asarray(s.target_position_m),
                "target_angles_rad": self.theta, "target_steering": self.steering, "rcs": self.rcs,
                "channel_gain": self.channel_gain, "toa_delays_s": self.delays, "jacobian": self.jacobian,
                "fisher_weight": self.kappa,
                "fisher_weight_index": "J(tau_{m,n}) = fisher_weight[m, n] * a^T(theta_m) R_m a^*(theta_m)"}


def _place_users(s: LocalizationScenario, rng: np.random.Generator) -> np.ndarray:
    """Uniform in the area, each CU served by its nearest BS, until every BS has K CUs: (M, K, 2)."""
    bs = np.asarray(s.bs_positions_m, float)
    M, K = s.num_bs, s.users_per_bs
    lo = np.asarray(s.area_center_m) - 0.5 * np.asarray(s.area_size_m)
    cells = [[] for _ in range(M)]
    for _ in range(200):                                      # batches of draws, deterministic given rng
        points = lo + rng.random((64 * M * K, 2)) * np.asarray(s.area_size_m)
        d = geometry.distance(points[:, None], bs[None])
        for p, dist in zip(points, d):
            m = int(np.argmin(dist))
            if dist.min() >= s.user_min_distance_m and len(cells[m]) < K:
                cells[m].append(p)
        if all(len(c) == K for c in cells):
            return np.asarray(cells)
    raise ScenarioError(f"{type(s).__name__}: field 'area_size_m' = {s.area_size_m} leaves no room for {K} random "
                        f"CUs nearest to every BS at >= {s.user_min_distance_m} m: enlarge the area or give "
                        "user_positions_m")


def draw_instance(scenario: LocalizationScenario, rng: np.random.Generator) -> LocalizationInstance:
    """Place the CUs, draw the BS-CU channels and the RCS zeta_{m,n}, evaluate (9), (11) and the weights of (13)."""
    s = scenario
    bs = np.asarray(s.bs_positions_m, float)
    tmt = np.asarray(s.tmt_positions_m, float)
    target = np.asarray(s.target_position_m, float)
    M, K, N, T = s.num_bs, s.users_per_bs, s.tx_antennas, s.num_tmts
    broadside = np.deg2rad(np.asarray(s.bs_broadside_deg, float))
    users = (np.asarray(s.user_positions_m, float).reshape(M, K, 2) if s.user_positions_m is not None
             else _place_users(s, rng))
    d = geometry.distance(bs[:, None, None], users[None])               # (M, M, K): BS i -> CU k of cell m
    gain = channels.path_gain(d, s.user_path_loss_db, s.user_path_loss_exponent)
    if s.channel_model == "rayleigh":
        h = channels.rayleigh(rng, gain, N)
    else:
        theta_u = geometry.angle_from_broadside(bs[:, None, None], users[None], broadside[:, None, None])
        h = channels.line_of_sight(gain, theta_u, N, s.antenna_spacing_wavelengths, rng)
    theta = geometry.angle_from_broadside(bs, target[None], broadside)
    steering = geometry.ula_steering(N, theta, s.antenna_spacing_wavelengths)
    if s.rcs_model == "gaussian":
        rcs = np.sqrt(s.rcs_variance) * rng.standard_normal((M, T))
    else:
        rcs = np.full((M, T), np.sqrt(s.rcs_variance))
    eps2 = target_channel_gain(bs, tmt, target, s.carrier_ghz * 1e9) * rcs ** 2
    kappa = fisher_weight(eps2, s.snapshots, s.symbol_duration_ns * 1e-9, s.effective_bandwidth_mhz * 1e6,
                          dbm_to_watt(s.sensing_noise_dbm_per_hz))
    return LocalizationInstance(s, users, h, theta, steering, rcs, eps2, toa_delays(bs, tmt, target),
                                toa_jacobian(bs, tmt, target), kappa)


# ================================================================================================ metrics
def toa_delays(bs: np.ndarray, tmts: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Eq. (9): tau_{m,n} = (||p_m - p|| + ||p'_n - p||) / c, shape (M, T), seconds."""
    return (geometry.distance(bs, target)[:, None] + geometry.distance(tmts, target)[None, :]) / C_LIGHT


def toa_jacobian(bs: np.ndarray, tmts: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Eq. (11): Lambda = [d tau^T / dx; d tau^T / dy], shape (2, M T) in s/m, columns (m, n) m-major."""
    u_bs = geometry.distance_gradient(bs, target)                     # (M, 2) unit vectors BS -> target
    u_tmt = geometry.distance_gradient(tmts, target)                  # (T, 2)
    return ((u_bs[:, None, :] + u_tmt[None, :, :]) / C_LIGHT).reshape(-1, 2).T


def target_channel_gain(bs, tmts, target, carrier_hz: float) -> np.ndarray:
    """Sec. IV-A: F_{m,n} = c^2 / (f_c^2 (4 pi)^3 d_m^2 d'_n^2), shape (M, T) (multiply by zeta^2 for |eps|^2)."""
    d_bs = geometry.distance(bs, target)
    d_tmt = geometry.distance(tmts, target)
    return C_LIGHT ** 2 / (carrier_hz ** 2 * (4 * np.pi) ** 3) / (d_bs[:, None] ** 2 * d_tmt[None, :] ** 2)


def fisher_weight(eps2, snapshots: int, symbol_s: float, bandwidth_hz: float, noise_psd_w_per_hz: float):
    """Eq. (13) without the beam gain: 8 pi^2 L T_s beta^2 |eps|^2 / sigma_s^2 (s^-2 per W of beam gain)."""
    return 8 * np.pi ** 2 * snapshots * symbol_s * bandwidth_hz ** 2 * np.asarray(eps2) / noise_psd_w_per_hz


def beam_gain(steering: np.ndarray, f: np.ndarray) -> np.ndarray:
    """a^T(theta_m) (sum_k f_{m,k} f_{m,k}^H) a^*(theta_m) = sum_k |a^T f|^2 for every BS: (M,) W."""
    return np.sum(np.abs(np.einsum("mn,mkn->mk", steering, f)) ** 2, axis=1)


def delay_fisher(inst: LocalizationInstance, f: np.ndarray) -> np.ndarray:
    """Diagonal of Z, eq. (12)-(13): J(tau_{m,n}, tau_{m,n}), shape (M T,) m-major, s^-2."""
    return (inst.kappa * beam_gain(inst.steering, f)[:, None]).ravel()


def position_fisher(inst: LocalizationInstance, f: np.ndarray) -> np.ndarray:
    """Lambda Z Lambda^T (2, 2) in m^-2, the Fisher information of (x, y) (proof of Lemma 1)."""
    return (inst.jacobian * delay_fisher(inst, f)) @ inst.jacobian.T


def crlb_of_fisher(fim: np.ndarray) -> float:
    """tr(FIM^{-1}) of a 2 x 2 Fisher information (m^2); inf when it is singular."""
    det = fim[0, 0] * fim[1, 1] - fim[0, 1] * fim[1, 0]
    return float((fim[0, 0] + fim[1, 1]) / det) if det > 1e-300 * max(np.trace(fim) ** 2, 1e-300) else np.inf


def crlb(inst: LocalizationInstance, f: np.ndarray) -> float:
    """Eq. (10): C_{x,y} = tr((Lambda Z Lambda^T)^{-1}), m^2."""
    return crlb_of_fisher(position_fisher(inst, f))


def sinr(h: np.ndarray, f: np.ndarray, noise_w: float) -> np.ndarray:
    """Eq. (6): SINR (M, K) of every CU; h (M, M, K, N), f (M, K, N)."""
    return channels.coordinated_sinr(h, f, noise_w)


def bs_power(f: np.ndarray) -> np.ndarray:
    """Eq. (4): sum_k ||f_{m,k}||^2 per BS, shape (M,) W."""
    return np.sum(np.abs(f) ** 2, axis=(1, 2))


def pattern_angles(step_deg: float) -> np.ndarray:
    """Angle grid (G,) rad over [-90, 90] deg with the given step (both ends included when the step divides 180)."""
    return np.deg2rad(np.arange(-90.0, 90.0 + 1e-9, step_deg))


def beampattern(f: np.ndarray, angles: np.ndarray, spacing: float = 0.5) -> np.ndarray:
    """Transmit beampattern a^T(theta) R_m a^*(theta) of every BS on an angle grid: (M, G) W."""
    return geometry.transmit_pattern(np.einsum("mki,mkj->mij", f, f.conj()), angles, spacing)


def desired_pattern(theta: np.ndarray, angles: np.ndarray, width_deg: float) -> np.ndarray:
    """Beampattern benchmark's desired pattern d_m (M, G): 1 within +-width/2 of theta_m, 0 elsewhere."""
    return (np.abs(angles[None, :] - theta[:, None]) <= np.deg2rad(width_deg) / 2 + 1e-12).astype(float)


def pattern_error(pattern: np.ndarray, desired: np.ndarray) -> float:
    """(1/G) sum_m min_{alpha_m >= 0} ||alpha_m d_m - p_m||^2 for patterns p (M, G) in the same units as alpha d."""
    alpha = np.maximum(np.sum(desired * pattern, axis=1) / np.maximum(np.sum(desired ** 2, axis=1), 1e-300), 0.0)
    return float(np.sum((alpha[:, None] * desired - pattern) ** 2) / pattern.shape[1])


def lag_matrices(num_antennas: int) -> np.ndarray:
    """(2N - 1, N, N) complex M_l with Re tr(M_l X) = [c_0, Re c_1..c_{N-1}, Im c_1..c_{N-1}] for Hermitian X, where
    c_l = sum_{p - q = l} X_{p,q}. A ULA pattern is a^T(theta) X a^*(theta) = c_0 + 2 sum_l Re(c_l e^{j w l}),
    w = 2 pi d sin(theta): every pattern sample is a fixed combination of these 2N - 1 numbers (exact)."""
    n = num_antennas
    out = np.zeros((2 * n - 1, n, n), complex)
    out[0] = np.eye(n)
    for l in range(1, n):
        shift = np.eye(n, k=l)                      # (q, q + l) -> tr(shift X) = sum_q X_{q+l, q} = c_l
        out[l] = shift
        out[n - 1 + l] = -1j * shift                # Re tr(-j S X) = Im tr(S X)
    return out


def lag_to_pattern(num_antennas: int, angles: np.ndarray, spacing: float = 0.5) -> np.ndarray:
    """Phi (G, 2N - 1): pattern samples a^T(theta_g) X a^*(theta_g) = Phi @ lags(X), lags as in :func:`lag_matrices`."""
    n = num_antennas
    w = 2 * np.pi * spacing * np.sin(angles)[:, None] * np.arange(1, n)[None, :]
    return np.concatenate([np.ones((len(angles), 1)), 2 * np.cos(w), -2 * np.sin(w)], axis=1)


def _diagonal_units(n: int) -> np.ndarray:
    """(N, N, N): E_nn with Re tr(E_nn X) = X_nn (per-antenna power)."""
    out = np.zeros((n, n, n), complex)
    out[np.arange(n), np.arange(n), np.arange(n)] = 1.0
    return out


def pattern_fit(desired: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Triangular factors (M, 2N, 2N) R_m with ||R_m [alpha; t]||^2 = (1/G) ||alpha d_m - phi t||^2 (QR of
    [d_m, -phi] / sqrt(G)); desired (M, G), phi (G, 2N - 1)."""
    G = phi.shape[0]
    return np.stack([np.linalg.qr(np.concatenate([d[:, None], -phi], axis=1) / np.sqrt(G), mode="r") for d in desired])


def zf_directions(h: np.ndarray) -> np.ndarray:
    """Unit ZF directions (M, K, N): h_{m,m,k} projected off the span of BS m's channels to every other CU."""
    M, _, K, N = h.shape
    if M * K > N:
        raise ScenarioError(f"zf needs tx_antennas >= M*K = {M * K} (have {N}): ZF nulls every other CU")
    out = np.zeros((M, K, N), complex)
    for m in range(M):
        all_h = h[m].reshape(M * K, N).T                                # (N, MK): BS m -> every CU
        for k in range(K):
            j = m * K + k
            others = np.delete(all_h, j, axis=1)
            proj = all_h[:, j] - others @ np.linalg.lstsq(others, all_h[:, j], rcond=None)[0]
            out[m, k] = proj / np.linalg.norm(proj)
    return out


def balance_powers(h: np.ndarray, directions: np.ndarray, noise_w: float, gamma: float, p_max: float):
    """Powers for fixed beam directions (M, K, N): every SINR exactly Gamma at least power, then all powers scaled
    up by the largest common factor the per-BS budget allows (a common scale t >= 1 only raises every SINR,
    t q D / (t q I + sigma^2)). Returns beamformers (M, K, N) or None when the directions cannot reach Gamma."""
    M, K, N = directions.shape
    norms = np.linalg.norm(directions, axis=-1)
    if np.any(norms == 0):
        return None
    v = directions / norms[..., None]
    g = (np.abs(np.einsum("imkn,ijn->mkij", h.conj(), v)) ** 2 / noise_w).reshape(M * K, M * K)
    desired = np.diag(g).copy()
    system = np.diag(desired) - gamma * (g - np.diag(desired))
    try:
        q = np.linalg.solve(system, np.full(M * K, gamma))
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(q)) or np.any(q <= 0):
        return None
    q = q.reshape(M, K)
    t = p_max / q.sum(axis=1).max()
    if t < 1.0:
        return None
    return np.sqrt(t * q)[..., None] * v


# ================================================================================================ SDR models
METHODS = ("sdr", "radar-only", "zf", "beampattern")
METHOD_HELP = {
    "sdr": "the paper's SDR (21) (Schur-complement LMIs); rank one by Theorem 1, else Gaussian randomization",
    "radar-only": "benchmark: (21) without the SINR constraints (a lower bound on every method's CRLB)",
    "zf": "benchmark: zero-forcing beams (null every other CU, N_t >= M K) with CRLB-optimal powers",
    "beampattern": "benchmark: Liu et al. (TSP 2020) beampattern matching under the same SINR/power constraints",
}


def _fim_lmis(weights: cp.Parameter, gains: cp.Expression, mu: cp.Variable) -> list:
    """(21d): [[FIM, e_i], [e_i^T, mu_i]] >= 0 for i = 1, 2 with FIM = sum_m gains_m A_m, ``weights`` (3, M) holding
    the entries (1,1), (1,2), (2,2) of every A_m. Together they give mu_1 + mu_2 >= tr(FIM^{-1}).

    ``gains`` (M,) may itself be Parameter-dependent; a copy in a variable keeps the product with ``weights`` DPP."""
    g = cp.Variable(gains.shape, name="beam_gains")
    f11, f12, f22 = weights[0] @ g, weights[1] @ g, weights[2] @ g
    return [g == gains,
            cp.bmat([[f11, f12, 1.0], [f12, f22, 0.0], [1.0, 0.0, mu[0]]]) >> 0,
            cp.bmat([[f11, f12, 0.0], [f12, f22, 1.0], [0.0, 1.0, mu[1]]]) >> 0]


@functools.lru_cache(maxsize=32)
def _lifted_template(M: int, K: int, r: int, n_forms: int, with_sinr: bool, objective: str, lags: int = 0):
    """The SDR (21) (``objective='crlb'``) or the beampattern relaxation (``'pattern'``) for one shape, DPP.

    Every F_{m,k} is a real (2r x 2r) PSD variable Z with Parameters set by :meth:`LocalizationModel.bind`:
    ``rows[m][k]`` maps vec(Z) to the M K CU forms h^H F h (noise units, when ``with_sinr``) followed by the sensing
    rows: the target gain a^T F a^* for 'crlb' (units of N_t P); for 'pattern' the ``lags`` = 2 N_t - 1 real lag
    sums of F (see :func:`lag_matrices`, units of N_t P) and then its N_t diagonal entries (units of P), whose sum over
    k is held at 1/N_t (Liu et al.'s per-antenna power diag(R_m) = P/N_t 1, without which the fit degenerates to
    the least power that meets the SINR targets); ``trace`` maps vec(Z) to its share of the BS power
    (units of P), ``desired`` to (1 + 1/Gamma) times its own CU's form. For 'crlb', ``weights`` (3, M) holds the
    scaled A_m of :meth:`LocalizationInstance.fisher_blocks`; for 'pattern', ``fit[m]`` (2 N_t, 2 N_t) is the
    triangular factor of [d_m, -Phi] / sqrt(G) (:func:`pattern_fit`), so ||fit_m [alpha_m; t_m]||^2 is BS m's
    pattern error (1/G) ||alpha_m d_m - Phi t_m||^2 exactly, whatever the grid size G.
    """
    size = 4 * r * r
    z = [[lifted.variable(r, f"F{m}_{k}") for k in range(K)] for m in range(M)]
    vec = [[cp.vec(z[m][k], order="F") for k in range(K)] for m in range(M)]
    rows = [[cp.Parameter((n_forms, size), name=f"rows{m}_{k}") for k in range(K)] for m in range(M)]
    trace = [[cp.Parameter(size, name=f"trace{m}_{k}") for k in range(K)] for m in range(M)]
    forms = [[rows[m][k] @ vec[m][k] for k in range(K)] for m in range(M)]
    params = dict(rows=rows, trace=trace)
    variables = dict(Z=z)
    comm = M * K if with_sinr else 0
    cons = [cp.hstack([sum(trace[m][k] @ vec[m][k] for k in range(K)) for m in range(M)]) <= 1.0]   # (21b)
    if with_sinr:                                                                                    # (21c)
        desired = [[cp.Parameter(size, name=f"desired{m}_{k}") for k in range(K)] for m in range(M)]
        params["desired"] = desired
        total = sum(forms[m][k][:comm] for m in range(M) for k in range(K))
        own = cp.hstack([desired[m][k] @ vec[m][k] for m in range(M) for k in range(K)])
        cons.append(own >= total + 1.0)
    if objective == "crlb":
        weights = params["weights"] = cp.Parameter((3, M), name="weights")
        gains = cp.hstack([sum(forms[m][k][comm] for k in range(K)) for m in range(M)])            # (M,) / (N_t P)
        mu = variables["mu"] = cp.Variable(2, name="mu")
        cons += _fim_lmis(weights, gains, mu)
        problem = cp.Problem(cp.Minimize(cp.sum(mu)), cons)                                         # (21a)
    else:
        fit = params["fit"] = [cp.Parameter((lags + 1, lags + 1), name=f"fit{m}") for m in range(M)]
        alpha = variables["alpha"] = cp.Variable(M, nonneg=True, name="alpha")
        t = variables["lags"] = cp.Variable((M, lags), name="lags")
        n_ant = (lags + 1) // 2
        cons += [t[m] == sum(forms[m][k][comm:comm + lags] for k in range(K)) for m in range(M)]
        cons += [sum(forms[m][k][comm + lags:] for k in range(K)) == 1.0 / n_ant for m in range(M)]  # Liu et al.
        problem = cp.Problem(cp.Minimize(sum(cp.sum_squares(fit[m] @ cp.hstack([alpha[m:m + 1], t[m]]))
                                             for m in range(M))), cons)
    return problem, params, variables


@functools.lru_cache(maxsize=32)
def _power_template(M: int, K: int):
    """CRLB-optimal powers p (units of P) along fixed directions (the ZF benchmark), DPP: ``gains`` (MK, MK) the
    noise-normalized |h_{i,m,k}^H v_{i,j}|^2 P / sigma^2, ``desired`` (MK,) (1 + 1/Gamma) times the own-CU gain,
    ``sensing`` (M, K) |a^T v|^2 / N_t, ``weights`` as in :func:`_lifted_template`."""
    p = cp.Variable((M, K), nonneg=True, name="p")
    gains = cp.Parameter((M * K, M * K), nonneg=True, name="gains")
    desired = cp.Parameter(M * K, nonneg=True, name="desired")
    sensing = cp.Parameter((M, K), nonneg=True, name="sensing")
    weights = cp.Parameter((3, M), name="weights")
    mu = cp.Variable(2, name="mu")
    pv = cp.vec(p, order="C")
    cons = [cp.multiply(desired, pv) >= gains @ pv + 1.0, cp.sum(p, axis=1) <= 1.0]
    cons += _fim_lmis(weights, cp.sum(cp.multiply(sensing, p), axis=1), mu)
    problem = cp.Problem(cp.Minimize(cp.sum(mu)), cons)
    return problem, dict(gains=gains, desired=desired, sensing=sensing, weights=weights), dict(p=p, mu=mu)


#: lambda_2 / lambda_1 below which a relaxed F_{m,k} counts as rank one (its rank-one part is then used).
RANK_ONE_RATIO = 1e-6


class LocalizationModel:
    """Problem (18) of one instance for one method, in the form :func:`~isacopt.algorithms.sdr.solve_relaxation`
    takes.

    ``method``: ``sdr`` (the SDR (21), rank-one extraction when rank one (Theorem 1), Gaussian randomization
    otherwise), ``radar-only`` ((21) without (21c)), ``zf`` (ZF directions, CRLB-optimal powers), ``beampattern``
    (Liu et al.'s pattern matching under (21b)-(21c)). Every method reports the CRLB (10) of its beams.

    Scaling. Powers are in units of P, CU forms in noise units, the target gain in units of N_t P (so each BS's gain
    is in [0, 1]), and the Fisher blocks are A~_m = N_t P c_0 A_m with c_0 = tr((sum_m N_t P A_m)^{-1}) the CRLB of
    every BS beaming its full power at the target (the radar-only optimum): then mu_1 + mu_2 >= 1 and CRLB =
    c_0 (mu_1 + mu_2) with mu of order one. Each F_{m,k} = P B Y B^H with B the detection model's biorthogonal basis of
    BS m's subspace (exact dimension reduction, r = min(N_t, M K + 1) for the SDR): one column per CU dual to its
    channel, scaled to the interference that CU tolerates (own CU: unit norm), then the target direction (or the
    pattern directions) orthogonal to every CU. Radar-only needs only the target direction (r = 1).
    """

    problem_name = PROBLEM
    objective_name = "CRLB of the target position tr((Lambda Z Lambda^T)^-1) (m^2)"
    sense = "min"
    bounded = True            # CRLB >= 0 and per-BS power: "unbounded" can only be a numerical failure

    def __init__(self, inst: LocalizationInstance, method: str = "sdr", rng: np.random.Generator | None = None):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        self.inst, self.method = inst, method
        self.rng = rng if rng is not None else np.random.default_rng(0)
        s = inst.scenario
        M, K, N, _ = inst.shape
        self.P = float(dbm_to_watt(s.max_power_dbm))
        self.noise = float(dbm_to_watt(s.comm_noise_dbm))
        self.gamma = float(db_to_linear(s.sinr_db))
        blocks = inst.fisher_blocks() * N * self.P                          # A_m at full-power beam gain
        self.crlb_ref = crlb_of_fisher(blocks.sum(axis=0))                  # c_0, m^2
        self.weights = (blocks * self.crlb_ref)[:, [0, 0, 1], [0, 1, 1]].T  # (3, M)
        self.comm = [inst.h[m].reshape(M * K, N).T * np.sqrt(self.P / self.noise) for m in range(M)]
        self.snr = np.array([np.sum(np.abs(self.comm[m][:, m * K + k]) ** 2) for m in range(M) for k in range(K)])
        self.tolerable = np.maximum(1.0, self.snr / self.gamma)
        self.angles = pattern_angles(s.pattern_step_deg)
        self.desired = desired_pattern(inst.theta, self.angles, s.pattern_width_deg)
        self.relaxation_eigen_ratio = None
        self.randomizations = 0
        self.bound = None
        self.zf = None
        if method == "zf":
            self.zf = zf_directions(inst.h)
            self.problem, self.params, self.vars = _power_template(M, K)
            return
        if method == "radar-only":
            self.sens = [inst.steering[m].conj()[:, None] / np.sqrt(N) for m in range(M)]
            self.basis = [self.sens[m] for m in range(M)]                       # ||a||^2 = N: unit norm
            self.problem, self.params, self.vars = _lifted_template(M, K, 1, 1, False, "crlb")
            self.r = 1
            return
        if method == "sdr":
            self.sens = [inst.steering[m].conj()[:, None] / np.sqrt(N) for m in range(M)]
        else:           # pattern samples span C^N: no reduction (r = N); the basis only rescales the CU columns
            a = geometry.ula_steering(N, self.angles, s.antenna_spacing_wavelengths)
            self.sens = [a.conj().T / np.sqrt(N) for _ in range(M)]           # (N, G)
        self.basis = [[self._basis(m, k) for k in range(K)] for m in range(M)]
        self.r = self.basis[0][0].shape[1]
        if method == "sdr":
            self.problem, self.params, self.vars = _lifted_template(M, K, self.r, M * K + 1, True, "crlb")
        else:
            self.problem, self.params, self.vars = _lifted_template(M, K, self.r, M * K + 3 * N - 1, True,
                                                                    "pattern", 2 * N - 1)

    def _basis(self, m: int, own: int) -> np.ndarray:
        """BS m's basis for F_{m,own}, CU columns scaled as described in the class docstring."""
        M, K, N, _ = self.inst.shape
        comm, sens = self.comm[m], self.sens[m]
        return lifted.scaled_basis(comm, sens, np.sqrt(self.tolerable), unit_columns=[m * K + own])

    # ---------------------------------------------------------------------------------------- driver hooks
    def precheck(self) -> str | None:
        """Infeasibility certificates: SINR_{m,k} <= ||h_{m,m,k}||^2 P / sigma_n^2 (the CU's SNR); for ZF the exact
        condition sum_k Gamma sigma^2 / |h^H v_{m,k}|^2 <= P of interference-free beams."""
        if self.method == "radar-only":
            return None
        K = self.inst.shape[1]
        worst = int(np.argmin(self.snr))
        if self.gamma > self.snr[worst]:
            return (f"infeasible: CU {worst % K} of BS {worst // K} needs SINR {linear_to_db(self.gamma):.1f} dB but "
                    f"reaches at most {linear_to_db(self.snr[worst]):.1f} dB (its SNR at full power, no interference)")
        if self.method == "zf":
            need = (self.gamma / np.diag(self._zf_gains())).reshape(self.inst.shape[:2]).sum(axis=1)  # units of P
            if need.max() > 1.0:
                m = int(np.argmax(need))
                return (f"infeasible: ZF beams of BS {m} need {watt_to_dbm(need[m] * self.P):.2f} dBm to give every "
                        f"CU {linear_to_db(self.gamma):.1f} dB, the budget is {watt_to_dbm(self.P):.2f} dBm")
        return None

    def _zf_gains(self) -> np.ndarray:
        """(MK, MK) |h_{i,m,k}^H v_{i,j}|^2 P / sigma^2 for the ZF directions, rows CU (m, k), columns beam (i, j)."""
        M, K = self.inst.shape[:2]
        return (np.abs(np.einsum("imkn,ijn->mkij", self.inst.h.conj(), self.zf)) ** 2
                * self.P / self.noise).reshape(M * K, M * K)

    def bind(self) -> None:
        M, K, N, _ = self.inst.shape
        if self.method == "zf":
            gains = self._zf_gains()
            self.params["gains"].value = gains
            self.params["desired"].value = (1.0 + 1.0 / self.gamma) * np.diag(gains)
            self.params["sensing"].value = np.abs(np.einsum("mn,mkn->mk", self.inst.steering, self.zf)) ** 2 / N
            self.params["weights"].value = self.weights
            return
        for m in range(M):
            for k in range(K):
                if self.method == "radar-only":
                    rows = lifted.form_rows(self.basis[m], self.sens[m])
                elif self.method == "sdr":
                    rows = lifted.form_rows(self.basis[m][k], np.concatenate([self.comm[m], self.sens[m]], axis=1))
                else:           # CU forms, the lag sums of F / (N_t P), the diagonal of F / P
                    rows = np.concatenate([lifted.form_rows(self.basis[m][k], self.comm[m]),
                                           lifted.matrix_rows(self.basis[m][k], lag_matrices(N)) / N,
                                           lifted.matrix_rows(self.basis[m][k], _diagonal_units(N))])
                self.params["rows"][m][k].value = rows
                basis = self.basis[m] if self.method == "radar-only" else self.basis[m][k]
                self.params["trace"][m][k].value = lifted.trace_row(basis)
                if "desired" in self.params:
                    self.params["desired"][m][k].value = (1.0 + 1.0 / self.gamma) * rows[m * K + k]
        if self.method == "beampattern":
            phi = lag_to_pattern(N, self.angles, self.inst.scenario.antenna_spacing_wavelengths)
            for m, fit in enumerate(pattern_fit(self.desired, phi)):
                self.params["fit"][m].value = fit
        else:
            self.params["weights"].value = self.weights

    def lifted_solution(self) -> np.ndarray:
        """The relaxed F (M, K, N, N) in W, read back from the solved template."""
        M, K = self.inst.shape[:2]
        basis = (lambda m, k: self.basis[m]) if self.method == "radar-only" else (lambda m, k: self.basis[m][k])
        return np.array([[lifted.to_hermitian(self.vars["Z"][m][k].value, basis(m, k)) * self.P for k in range(K)]
                         for m in range(M)])

    def score(self, f: np.ndarray) -> float:
        """The method's own objective at beams f: CRLB (m^2), or the pattern error in units of (N_t P)^2."""
        if self.method == "beampattern":
            N = self.inst.shape[2]
            p = beampattern(f, self.angles, self.inst.scenario.antenna_spacing_wavelengths) / (N * self.P)
            return pattern_error(p, self.desired)
        return crlb(self.inst, f)

    def recover(self):
        """(solution, claimed objective): :meth:`_extract` when every F is rank one, else Gaussian randomization.

        ``claimed`` is the solver's optimum in the units of :meth:`score` (the relaxation's bound); ``assess``
        requires the beams to attain it when the relaxation is rank one, and never to beat it otherwise.
        """
        if self.method == "zf":
            f = np.sqrt(np.maximum(self.vars["p"].value, 0.0) * self.P)[..., None] * self.zf
            return {"f": f}, float(self.crlb_ref * np.sum(self.vars["mu"].value))
        claimed = (float(self.problem.value) if self.method == "beampattern"
                   else float(self.crlb_ref * np.sum(self.vars["mu"].value)))
        self.bound = claimed
        F = self.lifted_solution()
        M, K, N, _ = F.shape
        self.relaxation_eigen_ratio = max(eigen_ratio(x) for row in F for x in row)
        if self.relaxation_eigen_ratio <= RANK_ONE_RATIO:
            return {"f": self._extract(F), "F": F}, claimed
        f = np.array([[principal_component(x) for x in row] for row in F])
        return {"f": self._randomize(F, f), "F": F}, claimed

    def _extract(self, F: np.ndarray) -> np.ndarray:
        """Rank-one beams of a (numerically) rank-one relaxed F (M, K, N, N): f = F h / sqrt(h^H F h) with h the
        CU's own channel (the principal component for radar-only). For rank-one F both are the same vector; for a
        solver's nearly rank-one F this choice keeps the CU's desired power exactly while interference and power can
        only drop (F - f f^H is PSD), so every SINR of the relaxation is kept (the principal component can lose up to
        lambda_2 / lambda_1 of it)."""
        M, K = F.shape[:2]
        if self.method == "radar-only":
            return np.array([[principal_component(x) for x in row] for row in F])
        return np.array([[constructive_rank_one(F[m, k], self.inst.h[m, m, k])[0] for k in range(K)]
                         for m in range(M)])

    def _randomize(self, F: np.ndarray, principal: np.ndarray) -> np.ndarray:
        """Gaussian randomization [15]: candidate directions xi_{m,k} ~ CN(0, F_{m,k}) (plus the principal components
        and the constructive directions F h / sqrt(h^H F h)), each made feasible for (18) by :func:`balance_powers`
        (radar-only: scaled to the power budget); the best by :meth:`score` wins. The beampattern benchmark's
        per-antenna equality is not restored (its relaxation is seldom rank one: there is no dedicated radar signal
        to absorb the remainder as in Liu et al.)."""
        M, K, N, _ = F.shape
        T = self.inst.scenario.randomizations
        draws = np.stack([np.stack([gaussian_candidates(self.rng, F[m, k], T) for k in range(K)], axis=1)
                          for m in range(M)], axis=1)                     # (T, M, K, N)
        constructive = np.array([[constructive_rank_one(F[m, k], self.inst.h[m, m, k])[0] for k in range(K)]
                                 for m in range(M)])
        best, best_score = None, np.inf
        for cand in [principal, constructive, *draws]:
            if self.method == "radar-only":
                f = cand * np.sqrt(self.P / np.maximum(bs_power(cand), 1e-300))[:, None, None]
            else:
                f = balance_powers(self.inst.h, cand, self.noise, self.gamma, self.P)
            if f is None:
                continue
            value = self.score(f)
            if value < best_score:
                best, best_score = f, value
        self.randomizations = T
        if best is None:       # no candidate reached Gamma: fall back to the constructive beams (feasible, unscaled)
            best = constructive
        return best

    def assess(self, solution, claimed: float) -> Assessment:
        inst, s = self.inst, self.inst.scenario
        M, K, N, T = inst.shape
        f = solution["f"]
        gamma = sinr(inst.h, f, self.noise)
        power = bs_power(f)
        fim = position_fisher(inst, f)
        value = crlb_of_fisher(fim)
        own = self.score(f)
        checks = [verify.at_most("bs_power", power, self.P)]
        if self.method != "radar-only":
            checks.append(verify.at_least("sinr", gamma, self.gamma))
        randomized = self.randomizations > 0
        if self.method == "beampattern" and not randomized:     # Liu et al.'s per-antenna power (benchmark only)
            checks.append(verify.close("per_antenna_power", np.real(np.einsum("mkn,mkn->mn", f, f.conj())),
                                       self.P / N, scale=self.P / N))
        if randomized and self.method != "beampattern":   # the relaxation bounds what the beams can reach
            checks.append(verify.at_least("objective_vs_relaxation_bound", own, claimed, scale=abs(claimed)))
        elif randomized:    # randomized beams keep (18)'s constraints, not the per-antenna equality: no bound
            pass
        else:
            checks.append(verify.close("objective_vs_solver", own, claimed, scale=abs(claimed)))
        pattern = beampattern(f, self.angles, s.antenna_spacing_wavelengths)
        inverse = np.linalg.inv(fim) if np.isfinite(value) else np.full((2, 2), np.inf)
        metrics = {"crlb_m2": value, "rmse_bound_m": float(np.sqrt(value)),
                   "crlb_xy_m2": np.diag(inverse), "crlb_radar_only_m2": self.crlb_ref,
                   "sinr_db": linear_to_db(gamma), "bs_power_w": power, "bs_power_dbm": watt_to_dbm(power),
                   "toa_delay_ns": inst.delays * 1e9, "delay_fisher": delay_fisher(inst, f), "position_fisher": fim,
                   "target_beam_gain_w": beam_gain(inst.steering, f), "target_angle_deg": np.rad2deg(inst.theta),
                   "beampattern_angle_deg": np.rad2deg(self.angles),
                   "beampattern_gain": pattern / self.P, "beampattern_db": linear_to_db(pattern / self.P),
                   "beampattern_note": "gain a^T(theta) R_m a^*(theta) / P per BS (isotropic = 1, max N_t); "
                                       "angles from each BS's broadside",
                   "sdr_max_eigen_ratio": self.relaxation_eigen_ratio, "randomizations": self.randomizations}
        notes = []
        if self.method == "beampattern":
            metrics["pattern_error"] = own
            metrics["desired_pattern"] = self.desired
        if self.method != "zf":
            metrics["reduced_dimension"] = self.r
        metrics["relaxation_bound"] = claimed          # the solver's optimum, in the units of the method's objective
        if randomized:
            metrics["relaxation_gap"] = (own - claimed) / abs(claimed)
            notes.append(f"relaxation not rank one (lambda2/lambda1 = {self.relaxation_eigen_ratio:.1e}): best of "
                         f"{self.randomizations} Gaussian randomizations, {own:.6g} vs relaxation bound {claimed:.6g}"
                         + (" (beams meet the SINR and power constraints (18b)-(18c); the per-antenna equality of "
                            "the pattern fit is not kept, so the bound does not apply)"
                            if self.method == "beampattern" else ""))
        # randomized beams carry no proof; the relaxation bounds the CRLB (not the pattern error: no bound there)
        bound = claimed if randomized and self.method != "beampattern" else None
        return Assessment(value, metrics, checks, notes, proven=not randomized, bound=bound)

    def describe(self):
        from ..data.loader import scenario_dict
        return scenario_dict(self.inst.scenario), self.inst.channels()


def direct_problem(inst: LocalizationInstance, method: str = "sdr") -> tuple[cp.Problem, dict]:
    """The SDR (21) written the obvious way: complex Hermitian N_t x N_t variables F_{m,k}, channels divided by the
    noise standard deviation, powers in units of P, the Fisher blocks scaled as in :class:`LocalizationModel`.

    Reference formulation for tests and ``benchmarks/bench_sdp.py``; rebuilt on every call. ``method``
    'sdr' or 'radar-only' (no (21c)). Returns (problem, variables); the CRLB in m^2 is
    ``variables["crlb_ref"] * problem.value`` and F in W is ``variables["F"][m][k].value * P``.
    """
    if method not in ("sdr", "radar-only"):
        raise ValueError("direct_problem covers the SDR and its radar-only variant")
    s = inst.scenario
    M, K, N, _ = inst.shape
    P, noise, gamma = dbm_to_watt(s.max_power_dbm), dbm_to_watt(s.comm_noise_dbm), db_to_linear(s.sinr_db)
    hn = inst.h * np.sqrt(P / noise)
    blocks = inst.fisher_blocks() * N * P
    c0 = crlb_of_fisher(blocks.sum(axis=0))
    A = blocks * c0
    F = [[cp.Variable((N, N), hermitian=True) for _ in range(K)] for _ in range(M)]
    cons = [x >> 0 for row in F for x in row]
    cons += [cp.real(sum(cp.trace(x) for x in F[m])) <= 1 for m in range(M)]                     # (21b)
    if method == "sdr":
        for m in range(M):                                                                         # (21c)
            for k in range(K):
                terms = [cp.real(hn[i, m, k].conj() @ F[i][j] @ hn[i, m, k])
                         for i in range(M) for j in range(K) if (i, j) != (m, k)]
                own = cp.real(hn[m, m, k].conj() @ F[m][k] @ hn[m, m, k])
                cons.append(gamma * (sum(terms) + 1) <= own)
    a = inst.steering
    fim = sum(cp.real(sum(a[m] @ F[m][k] @ a[m].conj() for k in range(K))) / N * A[m] for m in range(M))
    mu = cp.Variable(2)
    e = np.eye(2)
    for i in range(2):                                                                             # (21d)
        cons.append(cp.bmat([[fim, e[:, i:i + 1]], [e[i:i + 1, :], cp.reshape(mu[i], (1, 1), order="F")]]) >> 0)
    problem = cp.Problem(cp.Minimize(mu[0] + mu[1]), cons)
    return problem, {"F": F, "mu": mu, "crlb_ref": c0, "power_w": P}


# ================================================================================================ registration
def _run(method: str):
    def run(scenario, rng, solver=None):
        from ..algorithms.sdr import solve_relaxation
        return solve_relaxation(LocalizationModel(draw_instance(scenario, rng), method, rng), solver)
    return run


register(Problem(
    name=PROBLEM,
    paper="Xia, Xu, Xu, He, Yang, Ng, 'Multi-Cell Coordinated Beamforming for Integrated Communication and "
          "Multi-TMT Localization' (seed 000)",
    scenario_class=LocalizationScenario,
    default_scenario="localization_table1",
    # optimal only when the relaxation is rank one (Theorem 1: a proof); after Gaussian randomization the result is
    # feasible with its gap to the relaxation bound (sdr.Assessment.proven)
    methods={m: Method(_run(m), text) for m, text in METHOD_HELP.items()},
    default_method="sdr",
    summary_metrics=("crlb_m2", "rmse_bound_m", "sinr_db", "bs_power_dbm", "sdr_max_eigen_ratio", "randomizations"),
    parameters={"sinr_db": "Gamma, the SINR target of every CU (Fig. 2)", "max_power_dbm": "P per BS (Fig. 3)"},
))
