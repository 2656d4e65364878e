"""Localization: the scenario (Table I)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...data.schema import MAX_ANTENNAS, require, spec, validate
from .. import geometry


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
        None, unit="m", optional=True, sized_by=("users_per_bs", "bs_positions_m"),
        help="M*K CU positions, cell by cell; omit to draw them at random (dropped when --set resizes M or K)")
    area_center_m: tuple[float, ...] = spec((0.0, 0.0), unit="m", length=2, help="centre of the deployment area")
    area_size_m: tuple[float, ...] = spec((200.0, 400.0), unit="m", low=0.0, low_open=True, length=2,
                                          help="(width along x, height along y) of the area random CUs are drawn in")
    user_min_distance_m: float = spec(10.0, low=0.0, unit="m", help="random CUs: minimum distance to every BS")
    channel_model: str = spec("rayleigh", choices=("rayleigh", "los"), help="BS-CU channel (chosen: Rayleigh)")
    user_path_gain_db: float = spec(-60.05, high=0.0, unit="dB", aliases=("user_path_loss_db",),
                                    help="BS-CU path gain at 1 m (chosen: free space at 24 GHz)")
    user_path_loss_exponent: float = spec(2.0, low=0.0, help="BS-CU path-loss exponent (chosen: free space)")
    carrier_ghz: float = spec(24.0, low=0.0, low_open=True, unit="GHz", help="f_c")
    tx_antennas: int = spec(16, low=1, high=MAX_ANTENNAS, help="N_t")
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
        from .instance import toa_jacobian       # the instance module imports this one
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
