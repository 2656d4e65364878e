"""Cluster size: a seeded Monte Carlo check of the analytic rates at one tuple."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scenario import CI_Z, ClusterSizeScenario


# ================================================================================================ Monte Carlo
@dataclass(frozen=True)
class MonteCarlo:
    """Monte Carlo estimates with 95 % confidence half-widths (``*_ci``); rates in nats/s/Hz, ASEs per km^2."""

    trials: int
    comm_rate: float
    comm_rate_ci: float
    sensing_rate: float
    sensing_rate_ci: float
    comm_ase: float
    comm_ase_ci: float
    sensing_ase: float
    sensing_ase_ci: float

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _nearest_bs(rng, n, N, density):
    """Squared distances (n, N) of the N nearest PPP points to the origin (sorted) and their angles (n, N)."""
    d2 = np.cumsum(rng.exponential(size=(n, N)), axis=1) / (np.pi * density)
    return d2, rng.uniform(0.0, 2 * np.pi, size=(n, N))


def simulate_comm(rng, trials, K, L, D, alpha, density, nearest=400, fading=True, chunk=4000):
    """Samples (trials,) of ln(1 + SIR_c), eq. (2): typical user at the origin served by the nearest BS.

    ZF with the L-1 next BSs nulling towards the user: desired gain Gamma(D, 1)/K (D = M_t - KL - J(Q-1) + 1),
    interferers i > L with gains Gamma(K, 1)/K (K unit-norm beams of power 1/K, Rayleigh fading). BSs beyond the
    ``nearest`` simulated ones contribute their mean interference 2 pi lambda d_N^{2-a} / (a - 2). ``fading=False``
    replaces every gain by its mean: the model in which Theorem 1's integral (20)-(22) is exact for L = 1.
    """
    out = np.empty(trials)
    for start in range(0, trials, chunk):
        n = min(chunk, trials - start)
        d2 = np.cumsum(rng.exponential(size=(n, nearest)), axis=1) / (np.pi * density)
        p = d2 ** (-alpha / 2)
        if fading:
            signal = rng.gamma(D, 1.0, size=n) / K
            gains = rng.gamma(K, 1.0, size=(n, nearest - L)) / K
        else:
            signal, gains = np.full(n, D / K), 1.0
        tail = 2 * np.pi * density / (alpha - 2) * d2[:, -1] ** (1 - alpha / 2)
        interference = np.sum(gains * p[:, L:], axis=1) + tail
        out[start:start + n] = np.log1p(signal * p[:, 0] / interference)
    return out


def simulate_sensing(rng, trials, K, Q, alpha, beta, density, C, nearest=400, chunk=4000, hole=True):
    """Samples (trials,) of ln(1 + SIR_s), eq. (5): typical target at the origin sensed by its nearest BS.

    Echo gain Gamma(K, 1) over R^{2 beta}; BS-to-BS interference Gamma(K, 1) ||d_q - d_1||^{-alpha} from every BS
    except the Q-1 nearest to the sensing BS (its cluster), including the exact interference hole of the PPP; BSs
    beyond the ``nearest`` simulated ones contribute their mean K 2 pi lambda d_N^{2-a} / (a - 2).
    ``hole=False`` simulates Theorem 2's model instead: the other BSs seen from the sensing BS form a PPP
    independent of R (no interference hole), in which (14)/(24) is exact.
    """
    out = np.empty(trials)
    for start in range(0, trials, chunk):
        n = min(chunk, trials - start)
        d2, phi = _nearest_bs(rng, n, nearest, density)
        if hole:
            d = np.sqrt(d2)
            x, y = d * np.cos(phi), d * np.sin(phi)
            x2 = (x[:, 1:] - x[:, :1]) ** 2 + (y[:, 1:] - y[:, :1]) ** 2       # to the sensing BS, (n, N-1)
        else:
            x2 = np.cumsum(rng.exponential(size=(n, nearest - 1)), axis=1) / (np.pi * density)
        if Q > 1:
            x2 = np.partition(x2, Q - 2, axis=1)[:, Q - 1:]
        far = d2[:, -1] if hole else x2[:, -1]
        gains = rng.gamma(K, 1.0, size=x2.shape)
        tail = K * 2 * np.pi * density / (alpha - 2) * far ** (1 - alpha / 2)           # mean gain K
        interference = np.sum(gains * x2 ** (-alpha / 2), axis=1) + tail
        echo = C * rng.gamma(K, 1.0, size=n) * d2[:, 0] ** (-beta)
        out[start:start + n] = np.log1p(echo / interference)
    return out


def _mean_ci(samples):
    return float(np.mean(samples)), float(CI_Z * np.std(samples, ddof=1) / np.sqrt(samples.size))


def simulate(scenario: ClusterSizeScenario, J: int, K: int, Q: int, L: int, rng: np.random.Generator,
             trials: int | None = None, fading: bool = True) -> MonteCarlo:
    """Monte Carlo R_c, R_s and the ASEs (3), (6) at one tuple, reproducible from ``rng``."""
    s = scenario
    trials = int(trials or s.monte_carlo_trials or 10_000)
    D = s.tx_antennas - K * L - J * (Q - 1) + 1
    rc = simulate_comm(rng, trials, K, L, D, s.path_loss_exponent, s.bs_density_per_km2, s.monte_carlo_bs, fading)
    rs = simulate_sensing(rng, trials, K, Q, s.path_loss_exponent, s.sensing_path_loss_exponent,
                          s.bs_density_per_km2, s.sensing_gain, s.monte_carlo_bs)
    (mc, hc), (ms, hs) = _mean_ci(rc), _mean_ci(rs)
    lam = s.bs_density_per_km2
    return MonteCarlo(trials, mc, hc, ms, hs, lam * K * mc, lam * K * hc, lam * J * ms, lam * J * hs)
