"""Robust precoding: the scenario (Sec. VI), the method names, the random instance."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ...data.schema import MAX_ANTENNAS, require, spec, validate
from .. import channels, geometry
from ..units import db_to_linear



PROBLEM = "robust-precoding"
SCHEMES = ("cbf", "comp")
METHOD_HELP = {
    "blp-cbf": "block-level CBF (P1): Algorithm 1 alternating (P1.A)/(P1.B), ICR as interference (Prop. 1)",
    "blp-comp": "block-level CoMP (P2): Algorithm 1 alternating (P2.A)/(P2.B), ICR as bistatic signal (Prop. 2)",
    "slp-cbf": "symbol-level CBF (P3): M-PSK constructive interference over L symbols, (P3.A)/(P3.B) alternation",
    "slp-comp": "symbol-level CoMP (P4): M-PSK constructive interference over L symbols, one convex SDR",
    "blp-cbf-single-cell": "Fig. 3 benchmark: every BS solves (P1.1.A) as if alone (no inter-cell links, no ICR), "
                           "the precoders evaluated in the multi-cell network",
}
#: Fig. 3's method: single-cell designs, judged in the network (not a Design of its own)
SINGLE_CELL = "blp-cbf-single-cell"
PATTERN_GRID = np.deg2rad(np.arange(-90.0, 90.5, 1.0))
METHODS = {"blp-cbf": ("blp", "cbf"), "blp-comp": ("blp", "comp"), "slp-cbf": ("slp", "cbf"),
           "slp-comp": ("slp", "comp")}



# ================================================================================================ scenario
@dataclass(frozen=True)
class RobustPrecodingScenario:
    """Setup of Sec. VI (numbers the extraction garbled are chosen and marked in the scenario files)."""

    cells: int = spec(2, low=1, help="J, cells (one BS and one target each)")
    users_per_bs: int = spec(3, low=1, help="K, single-antenna users per cell (its one BS)",
                             aliases=("users_per_cell",))
    tx_antennas: int = spec(6, low=1, high=MAX_ANTENNAS, help="N_tx")
    rx_antennas: int = spec(6, low=1, high=MAX_ANTENNAS, help="N_rx")
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
    icr_covariance: str = spec("precoders", choices=("budget", "precoders"),
                               help="C_m of (11) in the CBF FIM: 'precoders' = Algorithm 1 step 4 (the paper's), the "
                                    "other BSs' leakage in the previous round (isotropic full-power precoders before "
                                    "the first); 'budget' = every other BS at the leakage budget (valid for any "
                                    "precoders within it)")
    stage_b: str = spec("sdp", choices=("sdp", "closed-form"),
                        help="stage B of Algorithm 1: 'sdp' = (P1.B)/(P2.B)/(P3.B) solved (the paper's); "
                             "'closed-form' = the budgets stage A's precoders use (no solve; equal to the SDP only "
                             "when no other precoders reach stage A's CRB and SINR with lower budgets)")
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
            n_angles = J * J * self.users_per_bs
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
        return s.cells, s.users_per_bs, s.tx_antennas, s.rx_antennas

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
    J, K, N, L = s.cells, s.users_per_bs, s.tx_antennas, s.frame_length
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
