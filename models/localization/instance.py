"""Localization: the random instance and its metrics - SINR, BS power, the TOA Fisher information, the CRLB (10)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ScenarioError
from .. import channels, geometry
from ..units import dbm_to_watt
from .scenario import C_LIGHT, LocalizationScenario


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
    h = channels.cell_user_channels(rng, bs, users, broadside, s)   # (M, M, K, N): BS i -> CU k of cell m
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
