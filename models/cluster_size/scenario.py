"""Cluster size: the scenario (Sec. V) and the quadrature settings."""
from __future__ import annotations

from dataclasses import dataclass

from ...data.schema import MAX_ANTENNAS, require, spec, validate


PROBLEM = "cluster-size"
CI_Z = 1.959963984540054          # two-sided 95 % normal quantile for Monte Carlo confidence intervals

#: Quadrature step of every trapezoid rule below (in log variables). The integrands are analytic in a strip around
#: the real axis and decay exponentially at both ends, so the rule converges geometrically; at this step the tables
#: agree with adaptive scipy quadrature (and with the same rule at half the step) to better than QUAD_RTOL.
STEP = 0.1
QUAD_RTOL = 1e-8


# ================================================================================================ scenario
@dataclass(frozen=True)
class ClusterSizeScenario:
    """Section V setup; (P1) (16) or (P2) (19). Thresholds only matter for (P2)."""

    tx_antennas: int = spec(20, low=2, high=MAX_ANTENNAS, help="M_t, transmit antennas per BS")
    rx_antennas: int = spec(10, low=1, high=MAX_ANTENNAS, help="M_r, receive antennas per BS")
    rcs: float = spec(0.1, low=0.0, low_open=True, help="xi, radar cross-section of the target")
    mismatch_loss: float = spec(1.0, low=0.0, high=1.0, low_open=True, help="kappa, receive-filter mismatch loss")
    matched_filter_gain: float = spec(1.0, low=0.0, low_open=True, help="Delta T, matched-filter gain")
    bs_density_per_km2: float = spec(1.0, unit="1/km^2", low=0.0, low_open=True, help="lambda_b, BS density")
    max_targets: int = spec(10, low=1, help="J_max")
    path_loss_exponent: float = spec(4.0, low=2.0, low_open=True, high=12.0,
                                     help="alpha (> 2: otherwise the PPP interference is infinite)")
    sensing_path_loss_exponent: float = spec(2.0, low=2.0, high=12.0, help="beta, target-BS path loss (>= 2)")
    program: str = spec("P1", choices=("P1", "P2"), help="P1: max weighted ASE (16); P2: max comm ASE s.t. (19a)")
    rho: float = spec(0.5, low=0.0, high=1.0, help="weight of the communication ASE in (15) (P1)")
    comm_rate_min_nats: float = spec(0.0, low=0.0, unit="nats/s/Hz", help="R_c^th (P2)")
    sensing_rate_min_nats: float = spec(0.0, low=0.0, unit="nats/s/Hz", help="R_s^th (P2)")
    sensing_ase_min: float = spec(0.0, low=0.0, unit="nats/s/Hz/km^2", help="T_s^th (P2)")
    comm_cluster_min: int = spec(1, low=1, help="L^th, minimum communication cluster size (P2)")
    sensing_cluster_min: int = spec(1, low=1, help="Q^th, minimum sensing cluster size (P2)")
    monte_carlo_trials: int = spec(0, low=0, help="Monte Carlo check of the returned tuple (0: skip)")
    monte_carlo_bs: int = spec(400, low=20, help="nearest BSs simulated per trial; farther ones by their mean")
    targets: int = spec(1, low=1, help="J at a fixed tuple (method evaluate; Figs. 2-4)")
    users: int = spec(1, low=1, help="K at a fixed tuple (method evaluate)")
    sensing_cluster: int = spec(1, low=1, help="Q at a fixed tuple (method evaluate)")
    comm_cluster: int = spec(1, low=1, help="L at a fixed tuple (method evaluate)")

    def __post_init__(self):
        validate(self)
        require(self.tx_antennas <= 512, type(self).__name__, "tx_antennas", self.tx_antennas,
                "is too large for the ASE tables: must be <= 512")

    @property
    def sensing_gain(self) -> float:
        """xi Delta T kappa M_r, the echo SIR scale of (5)."""
        return self.rcs * self.matched_filter_gain * self.mismatch_loss * self.rx_antennas
