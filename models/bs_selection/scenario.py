"""BS selection: the scenario (Table I, Sec. IV) and the random instance."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ...data.schema import require, spec, validate
from .. import channels, geometry
from ..units import dbm_to_watt


PROBLEM = "bs-selection"
#: Algorithm 1's starting points (:mod:`.ao`).
AO_STARTS = ("relaxation", "best-bound", "nearest", "random")
SPEED_OF_LIGHT = 299_792_458.0


# ================================================================================================ scenario
@dataclass(frozen=True)
class BSSelectionScenario:
    """Table I and Sec. IV of the paper (S = 4 BSs on a 100 m ring, service disc of radius 150 m)."""

    num_bs: int = spec(4, low=2, high=12, help="S, number of BSs")
    num_users: int = spec(5, low=1, high=16, help="K, number of CUs")
    bs_positions_m: tuple[tuple[float, float], ...] | None = spec(
        None, unit="m", optional=True, sized_by=("num_bs",),
        help="BS positions (x, y), num_bs of them; omit for num_bs BSs evenly on a ring, the first at (0, r)")
    bs_ring_radius_m: float = spec(100.0, low=0.0, low_open=True, unit="m", help="ring radius when positions omitted")
    area_radius_m: float = spec(150.0, low=0.0, low_open=True, unit="m", help="service disc radius (centre 0, 0)")
    user_positions_m: tuple[tuple[float, float], ...] | None = spec(
        None, unit="m", optional=True, sized_by=("num_users",),
        help="K CU positions; omit to draw them uniformly in the disc (dropped when --set changes num_users)")
    target_position_m: tuple[float, ...] | None = spec(
        None, unit="m", optional=True, length=2, help="target position; omit to draw it uniformly in the disc")
    min_distance_m: float = spec(5.0, low=0.0, unit="m", help="random CUs / target keep this distance from every BS")
    tx_antennas: int = spec(8, low=1, high=64, help="N, ULA antennas per BS (transmit and receive)",
                            aliases=("antennas",))
    antenna_spacing_wavelengths: float = spec(0.5, low=0.0, low_open=True, unit="wavelengths")
    samples: int = spec(1024, low=1, help="L, radar samples")
    comm_noise_dbm: float = spec(-85.0, unit="dBm", help="sigma_c^2, every CU")
    radar_noise_dbm: float = spec(-65.0, unit="dBm", help="sigma_r^2, receiving BS")
    max_power_dbm: float = spec(45.0, unit="dBm", help="P, per-BS power budget (C1)")
    sinr_db: float = spec(8.0, low=-30.0, high=60.0, unit="dB", help="Gamma_k, every CU (C3)")
    crlb_max_m2: float = spec(1.0, low=0.0, low_open=True, unit="m^2", help="epsilon, CRLB threshold (C2)")
    user_path_gain_db: float = spec(-40.0, high=0.0, unit="dB", help="chosen: BS-CU path gain at 1 m",
                                    aliases=("user_path_loss_db",))
    user_path_loss_exponent: float = spec(3.0, low=0.0, help="BS-CU path-loss exponent (Rayleigh fading)")
    target_path_gain_db: float = spec(-20.0, high=0.0, unit="dB", help="chosen: per-hop BS-target gain at 1 m",
                                      aliases=("target_path_loss_db",))
    target_path_loss_exponent: float = spec(2.0, low=0.0, help="per-hop BS-target path-loss exponent (LoS)")
    rcs: float = spec(1.0, low=0.0, low_open=True, help="chosen: target reflection gain |RCS| on every link")
    penalty_mu: float = spec(3e4, low=0.0, low_open=True, unit="W",
                             help="AO penalty factor mu (16), Table I (the continuation's last value)")
    ao_tolerance: float = spec(1e-3, low=0.0, low_open=True, help="AO stopping tolerance (Algorithm 1, step 6)")
    ao_max_iterations: int = spec(30, low=1, help="AO iteration limit")
    ao_mu_start: float = spec(0.1, low=0.0, low_open=True,
                              help="chosen: first AO penalty factor, as a multiple of the relaxation's power")
    oa_master: str = spec("highs", choices=("highs", "gurobi"),
                          help="MILP master of --method oa (gurobi: when licensed; a size-limited licence hands a "
                               "master that outgrows it to HiGHS)")
    ao_mu_growth: float = spec(10.0, low=1.0, help="chosen: AO penalty growth per iteration (1 = fixed mu)")
    ao_starts: tuple[str, ...] = spec(("relaxation", "best-bound"),
                                      help="AO starts, any of relaxation, best-bound, nearest, random (best kept)")

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
        require(len(self.ao_starts) > 0 and all(x in AO_STARTS for x in self.ao_starts), name, "ao_starts",
                self.ao_starts, f"must list one or more of {', '.join(AO_STARTS)}")

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
        return s.num_bs, s.num_users, s.tx_antennas

    @functools.cached_property
    def geometry(self) -> dict:
        """Target angles, steering vectors (S, N), their position derivatives (S, 2, N) and delay gradients."""
        s = self.scenario
        bs, N, d = s.bs, s.tx_antennas, s.antenna_spacing_wavelengths
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
    S, K, N = s.num_bs, s.num_users, s.tx_antennas
    if s.user_positions_m is not None:
        users = np.asarray(s.user_positions_m, float)
    else:
        users = _uniform_in_disc(rng, s.area_radius_m, K, bs, s.min_distance_m)
    if s.target_position_m is not None:
        target = np.asarray(s.target_position_m, float)
    else:
        target = _uniform_in_disc(rng, s.area_radius_m, 1, bs, s.min_distance_m)[0]
    gain = channels.path_gain(geometry.distance(bs[:, None], users[None]), s.user_path_gain_db,
                              s.user_path_loss_exponent)
    h = channels.rayleigh(rng, gain, N)
    g = channels.path_gain(geometry.distance(bs, target), s.target_path_gain_db, s.target_path_loss_exponent)
    alpha = np.sqrt(s.rcs * g[:, None] * g[None]) * np.exp(2j * np.pi * rng.random((S, S)))
    return BSSelectionInstance(s, users, target, h, alpha)
