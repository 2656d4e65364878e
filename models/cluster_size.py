"""Cluster-size paper (seed 004): Meng, Masouros, "Networked ISAC Coordinated Beamforming and Cooperative BS Cluster
Optimization".

BSs form a PPP of density lambda_b (per km^2, distances in km). Each BS has M_t transmit / M_r receive antennas, serves
K users by zero-forcing and senses J targets with the same signals; the L (Q) nearest BSs of a user (of the sensing
BS) null their communication (sensing) interference, which costs KL + J(Q-1) - 1 spatial dimensions, so the desired
ZF gain of the typical user is Gamma(D, 1) with D = M_t - KL - J(Q-1) + 1 (D >= 2 is (16a)). Rates are in nats/s/Hz
(the Hamdi-lemma integrals below give E[ln(1 + SIR)]); ASEs in nats/s/Hz/km^2.

Analytic ASE (Sec. III), each by a fixed quadrature with stated accuracy, cached as tables per physics:
- communication rate R_c (Theorem 1, eq. (8)/(22)), MISR gain G_L, Y = G_L D / K;
- sensing rate R_s for Q = 1 (Proposition 2, eqs. (10)-(13)) and for Q >= 2 (Theorem 2, eqs. (14)/(24));
- ASEs T_c = lambda K R_c (3), T_s = lambda J R_s (6), T = rho T_c + (1 - rho) T_s (15).

Re-derived here because the extracted text is garbled (the Monte Carlo simulator :func:`simulate` settles each one;
see tests/test_cluster_size.py):
- F(z, alpha): Theorem 1 writes (e^{-z} - 1) + z^{2/a} Gamma(1 - 2/a, z), Appendix A e^{-z} + z^{2/a} Gamma(1-2/a, z).
  Integrating (21) by parts gives E[e^{-z I_C} | r] = exp(-pi lambda r^2 (e^{-z} - 1 + z^{2/a} gamma(1 - 2/a, z)))
  with the LOWER incomplete gamma, and averaging over f_r gives 1/F with F = e^{-z} + z^{2/a} gamma(1 - 2/a, z) > 0,
  i.e. Appendix A's form with lower-incomplete gamma (Theorem 1's form is F - 1 and would make (8) diverge).
- Prop. 2 and Theorem 2 swap alpha and beta relative to the SIR (5) (signal R^{-2 beta}, interference x^{-alpha}):
  with the paper's alpha = 4, beta = 2 the printed exponents 2/beta = 1 make Gamma(1 - 2/beta) infinite. Re-derived
  from (5): with s = z R^{2 beta} x_0^{-alpha},
  Q = 1:  L(z | R) = exp(-pi lambda R^2 [K B(1 - 2/a, K + 2/a) s^{2/a} - (2/pi) H_K(s)]), x_0 = R, s = z R^{2b - a},
          H_K(s) = int_0^2 arccos(t/2) (1 - (1 + s t^{-a})^{-K}) t dt   (the hole upper limit is 2, not "2/pi";
          (12) also drops the factor 2/pi of the hole term that (11) has);
  Q >= 2: L(z | R, r_Q) = exp(-pi lambda r_Q^2 Phi_K(s)), x_0 = r_Q,
          Phi_K(s) = (1 + s)^{-K} - 1 + K s^{2/a} B(s / (1 + s); 1 - 2/a, K + 2/a)   (eq. (24), incomplete beta),
  where r_Q, the distance from the sensing BS to the last BS of its cluster, is the (Q-1)-th neighbour distance of a
  PPP (pdf 2 (pi lambda)^n r^{2n-1} e^{-pi lambda r^2} / Gamma(n), n = Q - 1), independent of R (Theorem 2's
  approximation: the interference hole around the target is ignored, Appendix C). (14) prints T_s but is R_s.
- (19a) writes "T_s^ASE >= T_c^th": the threshold is the sensing-ASE threshold T_s^th.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special

from ..data.schema import require, spec, validate
from ..registry import Method, Problem, register

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

    tx_antennas: int = spec(20, low=2, help="M_t, transmit antennas per BS")
    rx_antennas: int = spec(10, low=1, help="M_r, receive antennas per BS")
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


# ================================================================================================ communication
def misr_gain(L, alpha: float):
    """G_L = Gamma(L + a/2) / (Gamma(L + 1) Gamma(1 + a/2)) (Appendix A), the MISR gain of nulling L - 1 BSs."""
    L = np.asarray(L, float)
    return np.exp(special.gammaln(L + alpha / 2) - special.gammaln(L + 1) - special.gammaln(1 + alpha / 2))


def comm_argument(K, L, J, Q, tx_antennas: int, alpha: float):
    """Y(K, L, J, Q) = G_L (M_t - J(Q-1) + 1 - KL) / K of Theorem 1 (elementwise)."""
    K, L, J, Q = (np.asarray(x, float) for x in (K, L, J, Q))
    return misr_gain(L, alpha) * (tx_antennas - J * (Q - 1) + 1 - K * L) / K


def interference_laplace(z, alpha: float):
    """F(z, a) = e^{-z} + z^{2/a} gamma(1 - 2/a, z) (lower incomplete gamma): E[e^{-z I_C}] = 1 / F (re-derived)."""
    a = 1.0 - 2.0 / alpha
    z = np.asarray(z, float)
    return np.exp(-z) + z ** (2.0 / alpha) * special.gammainc(a, z) * special.gamma(a)


def _inv_f_minus_asymptote(z, alpha: float):
    """1/F(z) - z^{-2/a} / Gamma(1 - 2/a), computed without cancellation at large z (O(e^{-z}/z) there)."""
    a = 1.0 - 2.0 / alpha
    ga = special.gamma(a)
    p = z ** (2.0 / alpha)
    f = interference_laplace(z, alpha)
    # p Gamma(a) - F = p Gamma(a) Q(a, z) - e^{-z}
    return (p * ga * special.gammaincc(a, z) - np.exp(-z)) / (f * p * ga)


@functools.lru_cache(maxsize=16)
def _comm_grid(alpha: float, step: float):
    lo = (np.log(1e-17) - 12.0) / (1.0 - 2.0 / alpha)    # remainder ~ Y z^{1-2/a}: < 1e-17 for Y < e^12
    zeta = np.arange(lo, np.log(60.0) + step, step)
    return zeta, step * _inv_f_minus_asymptote(np.exp(zeta), alpha)


def comm_rate(Y, alpha: float, step: float = STEP) -> np.ndarray:
    """R_c(Y) = int_0^inf (1 - e^{-zY}) / (z F(z, a)) dz, Theorem 1 (8) / (22); any shape of Y >= 0.

    Evaluated as (a/2) Y^{2/a} (the integral of the large-z asymptote 1/(z^{1+2/a} Gamma(1-2/a))) plus the remainder,
    whose integrand decays exponentially at both ends of zeta = ln z, by the trapezoid rule in zeta (error < 1e-10,
    see :data:`QUAD_RTOL`).
    """
    Y = np.asarray(Y, float)
    zeta, w = _comm_grid(float(alpha), float(step))
    z = np.exp(zeta)
    flat = Y.ravel()
    out = np.empty_like(flat)
    for start in range(0, flat.size, 2048):
        y = flat[start:start + 2048, None]
        out[start:start + 2048] = (alpha / 2) * y[:, 0] ** (2 / alpha) + (-np.expm1(-z * y)) @ w
    return out.reshape(Y.shape)


def comm_rate_quad(Y: float, alpha: float) -> float:
    """Reference R_c(Y) by adaptive scipy quadrature of (8) directly in z (independent of :func:`comm_rate`)."""
    f = lambda z: -math.expm1(-z * Y) / (z * float(interference_laplace(z, alpha)))
    pieces = [0.0, 1e-3 / max(Y, 1e-12), 1.0 / max(Y, 1e-12), 1.0, 10.0, 100.0, np.inf]
    pieces = sorted(set(pieces))
    total = 0.0
    for a, b in zip(pieces[:-1], pieces[1:]):
        total += integrate.quad(f, a, b, epsabs=1e-14, epsrel=1e-12, limit=400)[0]
    return total


# ================================================================================================ sensing
def _gain_term(zeta, K, C):
    """1 - (1 + C e^zeta)^{-K}: one minus the Laplace transform of the echo gain C Gamma(K, 1) at z = e^zeta."""
    return -np.expm1(-K * np.log1p(C * np.exp(zeta)))


@functools.lru_cache(maxsize=4)
def _hole_nodes(panels: int = 36, order: int = 12):
    """Nodes/weights of int_0^2 arccos(t/2) t (.) dt: t = 2 sin(tau), Gauss-Legendre on panels geometric towards 0."""
    x, w = np.polynomial.legendre.leggauss(order)
    edges = (np.pi / 2) * 2.0 ** -np.arange(panels + 1)[::-1]
    edges = np.concatenate([[0.0], edges])
    nodes, weights = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        tau = 0.5 * (b - a) * x + 0.5 * (a + b)
        nodes.append(tau)
        weights.append(0.5 * (b - a) * w)
    tau, wt = np.concatenate(nodes), np.concatenate(weights)
    t = 2.0 * np.sin(tau)
    # arccos(t/2) = pi/2 - tau, dt = 2 cos(tau) dtau
    return t, wt * (np.pi / 2 - tau) * t * 2.0 * np.cos(tau)


def hole_integral(s, K: int, alpha: float):
    """H_K(s) = int_0^2 arccos(t/2) (1 - (1 + s t^{-a})^{-K}) t dt, the interference-hole term of (11); s: any shape."""
    t, w = _hole_nodes()
    s = np.asarray(s, float)
    x = s[..., None] * t ** (-alpha)
    return (-np.expm1(-K * np.log1p(x))) @ w


def _beta_complete(K, alpha):
    return special.beta(1 - 2 / alpha, K + 2 / alpha)


def hole_exponent(s, K: int, alpha: float):
    """Psi_K(s) = K B(1-2/a, K+2/a) s^{2/a} - (2/pi) H_K(s) >= 0: L(z | R) = exp(-pi lambda R^2 Psi_K(z R^{2b-a}))."""
    s = np.asarray(s, float)
    return K * _beta_complete(K, alpha) * s ** (2 / alpha) - (2 / np.pi) * hole_integral(s, K, alpha)


def cluster_exponent(s, K: int, alpha: float):
    """Phi_K(s) = (1+s)^{-K} - 1 + K s^{2/a} B(s/(1+s); 1-2/a, K+2/a): L(z | R, r_Q) = exp(-pi lambda r_Q^2 Phi_K)."""
    s = np.asarray(s, float)
    a, b = 1 - 2 / alpha, K + 2 / alpha
    x = s / (1 + s)
    return np.expm1(-K * np.log1p(s)) + K * s ** (2 / alpha) * special.betainc(a, b, x) * special.beta(a, b)


def _sigma_range(K, alpha, beta, C, n=1):
    hi = 15.0 * alpha / n + 10.0
    lo = min(np.log(1e-17 / (K * C)), -40.0 * max(beta - alpha / 2, 1.0)) - 5.0
    return lo, hi


def sensing_rate_q1(K: int, alpha: float, beta: float, density: float, C: float, step: float = STEP) -> float:
    """R_s for Q = 1, Proposition 2 (10)-(13) re-derived: int dz/z (1 - (1+Cz)^{-K}) E_R[L(z | R)].

    With u = pi lambda R^2 ~ Exp(1), s = z (u / (pi lambda))^{b - a/2} and sigma = ln s:
    R_s = int dsigma int dnu  g(sigma - g' nu + c) u e^{-u (1 + Psi_K(e^sigma))}, nu = ln u, g' = b - a/2; for
    2b = a (the paper's alpha = 4, beta = 2) the nu-integral is 1 / (1 + Psi_K). Trapezoid rules in sigma and nu.
    """
    gam = beta - alpha / 2
    c = gam * np.log(np.pi * density)
    lo, hi = _sigma_range(K, alpha, beta, C)
    hi = max(hi, 40.0)
    sigma = np.arange(lo, hi + step, step)
    psi = hole_exponent(np.exp(sigma), K, alpha)
    if gam == 0.0:
        return float(step * np.sum(_gain_term(sigma, K, C) / (1.0 + psi)))
    nu = np.arange(-60.0, 4.5, step)
    u = np.exp(nu)
    g = _gain_term(sigma[:, None] - gam * nu[None, :] + c, K, C)
    inner = g * u * np.exp(-u * (1.0 + psi[:, None]))
    return float(step * step * inner.sum())


def sensing_rates_cluster(K: int, q_max: int, alpha: float, beta: float, density: float, C: float,
                          step: float = STEP) -> np.ndarray:
    """R_s for Q = 2..q_max, Theorem 2 (14)/(24) re-derived: shape (q_max - 1,).

    With u = pi lambda R^2 ~ Exp(1), w = pi lambda r_Q^2 ~ Gamma(Q-1, 1) and sigma = ln s,
    s = z (u/pi lambda)^b (w/pi lambda)^{-a/2}:  R_s = int dsigma int domega G(sigma + a/2 omega) f_{Q-1}(omega)
    exp(-w Phi_K(e^sigma)), omega = ln w, f_n the density of ln w, G(x) = E_u[g(x - b ln u - c)]. The omega grid has
    step 2 h / a so that sigma + a/2 omega falls on one lattice of step h: Phi_K is needed on the sigma grid only.
    """
    if q_max < 2:
        return np.zeros(0)
    c = (alpha / 2 - beta) * np.log(np.pi * density)
    lo, hi = _sigma_range(K, alpha, beta, C)
    sigma = np.arange(lo, hi + step, step)
    h_w = 2 * step / alpha
    omega = np.arange(-(2 / alpha) * hi - 6, np.log(q_max + 40.0 + 12 * np.sqrt(q_max)), h_w)
    x = sigma[0] + (alpha / 2) * omega[0] + step * np.arange(sigma.size + omega.size - 1)
    nu = np.arange(-60.0, 4.5, step)
    u = np.exp(nu)
    pu = step * u * np.exp(-u)
    G = np.empty_like(x)
    for start in range(0, x.size, 512):
        G[start:start + 512] = _gain_term(x[start:start + 512, None] - beta * nu[None, :] - c, K, C) @ pu
    phi = cluster_exponent(np.exp(sigma), K, alpha)
    w = np.exp(omega)
    n = np.arange(1, q_max)
    logf = n[None, :] * omega[:, None] - w[:, None] - special.gammaln(n)[None, :]
    F = h_w * np.exp(logf)                                                  # (n_omega, q_max - 1)
    idx = np.arange(sigma.size)[:, None] + np.arange(omega.size)[None, :]
    A = np.exp(-np.outer(phi, w)) * G[idx]                                   # (n_sigma, n_omega)
    return step * A.sum(axis=0) @ F


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


# ================================================================================================ ASE tables
@dataclass(frozen=True)
class AseTables:
    """Precomputed analytic rates for every tuple a scenario's integer programs can reach (nats/s/Hz).

    rc: (M_t, M_t, M_t + 2) with rc[K, L, D] = R_c(G_L D / K) for K L <= M_t - 1 and 0 <= D <= M_t + 1 - K L (NaN
    elsewhere; index 0 of K, L unused); rs: (M_t, M_t) with rs[K, Q] = R_s (Prop. 2 for Q = 1, Theorem 2 for Q >= 2)
    for K + Q <= M_t (NaN elsewhere).
    """

    tx_antennas: int
    alpha: float
    beta: float
    density: float
    sensing_gain: float
    rc: np.ndarray
    rs: np.ndarray
    build_time_s: float
    source: str = "computed"                          # or "disk cache" (:func:`cache_dir`)

    def comm_rate(self, K, L, J, Q):
        M = self.tx_antennas
        K, L, J, Q = (np.asarray(v, int) for v in (K, L, J, Q))
        return self.rc[K, L, M + 1 - K * L - J * (Q - 1)]

    def sensing_rate(self, K, Q):
        return self.rs[np.asarray(K, int), np.asarray(Q, int)]

    def comm_ase(self, J, K, Q, L):
        """T_c = lambda K R_c, eq. (3)/(8)."""
        return self.density * np.asarray(K) * self.comm_rate(K, L, J, Q)

    def sensing_ase(self, J, K, Q, L=None):
        """T_s = lambda J R_s, eq. (6)."""
        return self.density * np.asarray(J) * self.sensing_rate(K, Q)


def build_tables(scenario: ClusterSizeScenario) -> AseTables:
    """The analytic rate tables of a scenario (cached on the physics: M_t, alpha, beta, lambda_b, xi Delta T kappa M_r)."""
    s = scenario
    return _tables(s.tx_antennas, s.path_loss_exponent, s.sensing_path_loss_exponent, s.bs_density_per_km2,
                   s.sensing_gain)


def cache_dir():
    """Where rate tables persist between processes: ``$ISACOPT_CACHE`` (empty: no disk cache) or
    ``~/.cache/isacopt``."""
    import os
    from pathlib import Path
    path = os.environ.get("ISACOPT_CACHE", str(Path.home() / ".cache" / "isacopt"))
    return Path(path) if path else None


def _table_file(M, alpha, beta, density, C):
    """The cache file of one physics; the key includes a hash of this module's source, so any change to the rate
    code invalidates every stored table."""
    import hashlib
    folder = cache_dir()
    if folder is None:
        return None
    code = hashlib.sha256(open(__file__, "rb").read()).hexdigest()[:12]
    key = hashlib.sha256(repr((M, float(alpha), float(beta), float(density), float(C), code)).encode()).hexdigest()
    return folder / f"cluster_size_tables_{key[:20]}.npz"


@functools.lru_cache(maxsize=16)
def _tables(M: int, alpha: float, beta: float, density: float, C: float) -> AseTables:
    """Tables of one physics: from memory, else from the disk cache (:func:`cache_dir`), else computed (and stored;
    an unwritable cache is skipped)."""
    import os
    import time
    start = time.perf_counter()
    path = _table_file(M, alpha, beta, density, C)
    if path is not None and path.exists():
        try:
            with np.load(path) as f:
                rc, rs = f["rc"], f["rs"]
            if rc.shape == (M, M, M + 2) and rs.shape == (M, M):
                for a in (rc, rs):
                    a.setflags(write=False)
                return AseTables(M, alpha, beta, density, C, rc, rs, time.perf_counter() - start, "disk cache")
        except (OSError, ValueError, KeyError):
            pass                                        # unreadable or partial file: recompute below
    tables = _compute_tables(M, alpha, beta, density, C, start)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, rc=tables.rc, rs=tables.rs)
            os.replace(tmp, path)                       # atomic: concurrent workers never see half a file
        except OSError:
            pass
    return tables


def _compute_tables(M, alpha, beta, density, C, start) -> AseTables:
    import time
    rc = np.full((M, M, M + 2), np.nan)
    K, L = np.meshgrid(np.arange(1, M), np.arange(1, M), indexing="ij")
    ok = K * L <= M - 1
    K, L = K[ok], L[ok]
    D = np.arange(M + 2)
    Kb, Lb, Db = np.broadcast_arrays(K[:, None], L[:, None], D[None, :])
    valid = Db <= M + 1 - Kb * Lb
    Y = misr_gain(Lb[valid], alpha) * Db[valid] / Kb[valid]
    rc[Kb[valid], Lb[valid], Db[valid]] = comm_rate(Y, alpha)
    rs = np.full((M, M), np.nan)
    for k in range(1, M):
        q_max = M - k
        rs[k, 1] = sensing_rate_q1(k, alpha, beta, density, C)
        rs[k, 2:q_max + 1] = sensing_rates_cluster(k, q_max, alpha, beta, density, C)
    for a in (rc, rs):
        a.setflags(write=False)
    return AseTables(M, alpha, beta, density, C, rc, rs, time.perf_counter() - start)


# ================================================================================================ integer programs
@dataclass(frozen=True)
class ClusterChoice:
    """What a method returns before assessment: status, the tuple (or None) and method-specific extras.
    ``proven``: an ``optimal`` status proves the tuple optimal (false for ``evaluate``, which optimizes nothing)."""

    status: object
    tuple: tuple[int, int, int, int] | None          # (J, K, Q, L)
    solver: str | None = None
    claimed: float | None = None                     # the method's own objective value (MILP: the solver's)
    bound: float | None = None
    gap: float | None = None
    evaluations: int = 0                             # objective evaluations (exhaustive, search)
    notes: tuple[str, ...] = ()
    termination: object = None                       # Termination of the integer solve (MILP)


def feasible_tuples(tx_antennas: int, max_targets: int):
    """Every (J, K, Q, L) with K L + J (Q-1) + 1 <= M_t, 1 <= J <= J_max, K, Q, L >= 1 (16a)-(16b): four (n,) arrays."""
    M = tx_antennas
    K, L = np.meshgrid(np.arange(1, M), np.arange(1, M), indexing="ij")
    ok = K * L <= M - 1
    K, L = K[ok], L[ok]
    order = np.argsort(K * L, kind="stable")
    K, L, kl = K[order], L[order], (K * L)[order]
    parts = []
    for j in range(1, max_targets + 1):
        for q in range(1, (M - 2) // j + 2):
            n = np.searchsorted(kl, M - 1 - j * (q - 1), side="right")
            if n:
                parts.append((np.full(n, j), K[:n], np.full(n, q), L[:n]))
    return tuple(np.concatenate(a) for a in zip(*parts))


def objective_values(tables: AseTables, scenario: ClusterSizeScenario, J, K, Q, L):
    """(objective, feasible mask): T^ASE (15) for (P1); T_c with the (19a), L >= L^th, Q >= Q^th mask for (P2)."""
    s = scenario
    tc, ts = tables.comm_ase(J, K, Q, L), tables.sensing_ase(J, K, Q)
    if s.program == "P1":
        return s.rho * tc + (1 - s.rho) * ts, np.ones(np.shape(tc), bool)
    ok = ((tables.comm_rate(K, L, J, Q) >= s.comm_rate_min_nats) & (tables.sensing_rate(K, Q) >= s.sensing_rate_min_nats)
          & (ts >= s.sensing_ase_min) & (np.asarray(L) >= s.comm_cluster_min) & (np.asarray(Q) >= s.sensing_cluster_min))
    return tc, ok


def solve_exhaustive(tables: AseTables, scenario: ClusterSizeScenario) -> ClusterChoice:
    """Evaluate every feasible tuple (vectorized) and return the best; (P2) with no admissible tuple: infeasible."""
    from ..algorithms.result import Status
    J, K, Q, L = feasible_tuples(scenario.tx_antennas, scenario.max_targets)
    value, ok = objective_values(tables, scenario, J, K, Q, L)
    if not ok.any():
        return ClusterChoice(Status.INFEASIBLE, None, "enumeration", evaluations=J.size)
    value = np.where(ok, value, -np.inf)
    i = int(np.argmax(value))
    return ClusterChoice(Status.OPTIMAL, (int(J[i]), int(K[i]), int(Q[i]), int(L[i])), "enumeration", float(value[i]),
                  evaluations=J.size)


def best_comm_cluster(K, P: int, tx_antennas: int, alpha: float, l_min: int = 1):
    """L maximizing Y(K, L) for fixed K and P = J(Q-1), with L >= l_min: (K,) int array (0 where none fits).

    Y(L+1) / Y(L) = (L + a/2)(M' - K(L+1)) / ((L+1)(M' - KL)), M' = M_t - P + 1, is decreasing in L, so Y is unimodal
    and Y(L+1) <= Y(L) iff L >= (1 - 2/a) M' / K - 1; the maximizer is the smallest such L (clipped to the feasible
    range). For alpha = 4 this is the vertex of Appendix B's quadratic y(L), L = (M' - K) / (2K) rounded.
    """
    K = np.asarray(K, int)
    m_prime = tx_antennas - P + 1
    l_hi = (tx_antennas - 1 - P) // K
    guess = np.ceil((1 - 2 / alpha) * m_prime / K - 1 - 1e-9).astype(int)
    best = np.zeros_like(K)
    best_y = np.full(K.shape, -np.inf)
    for delta in (-1, 0, 1):                           # guard the rounding of the closed form
        cand = np.clip(guess + delta, l_min, np.maximum(l_hi, l_min))
        y = misr_gain(cand, alpha) * (m_prime - K * cand) / K
        y = np.where(cand <= l_hi, y, -np.inf)
        better = y > best_y
        best = np.where(better, cand, best)
        best_y = np.where(better, y, best_y)
    return np.where(np.isfinite(best_y), best, 0)


def _comm_max_prop3(tables: AseTables, P: int, alpha: float, l_min: int = 1):
    """max over (K, L) of T_c at fixed P = J(Q-1), by Propositions 1 and 3.

    For each L (only L = 1 when alpha = 4 and l_min = 1: Proposition 1), T_c(K) = lambda K R_c(G_L M'/K - G_L L) is
    the perspective of a concave function, hence concave in K (Proposition 3): bisection on the sign of
    T_c(K+1) - T_c(K). Returns (value, K, L, evaluations).
    """
    M = tables.tx_antennas
    Ls = [1] if (alpha == 4.0 and l_min <= 1) else range(l_min, M)
    best, evals = (-np.inf, 0, 0), 0

    def tc(k, l):
        return float(tables.density * k * tables.rc[k, l, M + 1 - k * l - P])

    for l in Ls:
        k_hi = (M - 1 - P) // l
        if k_hi < 1:
            break
        lo, hi = 1, k_hi                                # find the first k with T(k+1) <= T(k)
        while lo < hi:
            mid = (lo + hi) // 2
            evals += 2
            if tc(mid + 1, l) > tc(mid, l):
                lo = mid + 1
            else:
                hi = mid
        value = tc(lo, l)
        evals += 1
        if value > best[0]:
            best = (value, lo, l)
    return (*best, evals)


def solve_search(tables: AseTables, scenario: ClusterSizeScenario) -> ClusterChoice:
    """The paper's structure, exact: (J, Q) pairs in order of a bound, pruned; K scanned, L in closed form.

    - T_c depends on (J, Q) only through P = J(Q-1) and decreases in P (Theorem 1); its maximum over (K, L) at fixed P,
      C*(P), comes from Propositions 1 and 3 (:func:`_comm_max_prop3`).
    - For fixed (J, Q, K), only T_c depends on L, through Y, maximized by :func:`best_comm_cluster` (Prop. 1's
      quadratic for alpha = 4); R_c is increasing in Y, so (P2)'s R_c threshold is met by some L iff by that one.
    - A pair (J, Q) is skipped when rho C*(P) + (1 - rho) lambda J max_K R_s(K, Q) (or C*(P) for (P2)) cannot beat
      the incumbent; for rho = 1 the incumbent C*(0) prunes every P > 0.
    """
    from ..algorithms.result import Status
    s, M, lam = scenario, tables.tx_antennas, tables.density
    p2 = s.program == "P2"
    rho = 1.0 if p2 else s.rho
    l_min = s.comm_cluster_min if p2 else 1
    q_min = s.sensing_cluster_min if p2 else 1
    pairs = [(j, q) for j in range(1, s.max_targets + 1) for q in range(max(q_min, 1), (M - 2) // j + 2)]
    if not pairs:
        return ClusterChoice(Status.INFEASIBLE, None, "search")
    cmax, evals = {}, 0
    for P in sorted({j * (q - 1) for j, q in pairs}):
        value, *_, e = _comm_max_prop3(tables, P, s.path_loss_exponent, l_min)
        cmax[P], evals = value, evals + e
    bounds = []
    for j, q in pairs:
        k_hi = M - 1 - j * (q - 1)
        smax = lam * j * np.nanmax(tables.rs[1:k_hi + 1, q]) if k_hi >= 1 else -np.inf
        bounds.append(rho * cmax[j * (q - 1)] + (1 - rho) * smax)
    best, best_tuple = -np.inf, None
    for i in np.argsort(bounds)[::-1]:
        j, q = pairs[i]
        if not bounds[i] > best:
            break
        P = j * (q - 1)
        K = np.arange(1, M - P)                        # K L + P + 1 <= M_t with L >= 1
        L = best_comm_cluster(K, P, M, s.path_loss_exponent, l_min)
        keep = L > 0
        K, L = K[keep], L[keep]
        if K.size == 0:
            continue
        Jv, Qv = np.full(K.size, j), np.full(K.size, q)
        value, ok = objective_values(tables, s, Jv, K, Qv, L)
        evals += K.size
        if not ok.any():
            continue
        value = np.where(ok, value, -np.inf)
        t = int(np.argmax(value))
        if value[t] > best:
            best, best_tuple = float(value[t]), (j, int(K[t]), q, int(L[t]))
    if best_tuple is None:
        return ClusterChoice(Status.INFEASIBLE, None, "search", evaluations=evals)
    return ClusterChoice(Status.OPTIMAL, best_tuple, "search", best, evaluations=evals)


def best_comm_tables(tables: AseTables, scenario: ClusterSizeScenario) -> dict:
    """{(K, P): (T_c, L)}: for every K and P = J(Q-1) that fit (16a) with some admissible L, the best communication
    cluster L (by the table, no closed form) and its T_c = lambda K R_c(G_L D / K), D = M_t + 1 - KL - P.

    L enters (P1)/(P2) only through T_c and through K L in (16a), so projecting it out this way is exact for any
    alpha; (P2) keeps only L >= L^th with R_c >= R^th (19a).
    """
    s, M, lam = scenario, tables.tx_antennas, tables.density
    p2 = s.program == "P2"
    l_min = s.comm_cluster_min if p2 else 1
    best = {}
    for P in range(M - 1):
        for K in range(1, M - P):
            Ls = np.arange(l_min, (M - 1 - P) // K + 1)
            if Ls.size == 0:
                break                                   # larger K fits no L either
            rc = tables.rc[K, Ls, M + 1 - K * Ls - P]
            if p2:
                rc = np.where(rc >= s.comm_rate_min_nats, rc, -np.inf)
            i = int(np.argmax(rc))
            if np.isfinite(rc[i]):
                best[K, P] = (lam * K * float(rc[i]), int(Ls[i]))
    return best


def build_milp(tables: AseTables, scenario: ClusterSizeScenario):
    """(P1)/(P2) as a Pyomo MILP over the precomputed rates (solved by ``backends.solve_integer``).

    Binaries: r[J, Q] (the sensing choice, exactly one), v[K, P] (users per cell and the nulling load
    P = J(Q-1), carrying the best T_c of :func:`best_comm_tables`), z[K, Q] (the pair that sets R_s(K, Q)).
    Linking rows make the three choices consistent: for every P, sum_K v[K, P] = sum_{J(Q-1) = P} r[J, Q]; for every
    K, sum_P v[K, P] = sum_Q z[K, Q]; for every Q, sum_K z[K, Q] = sum_J r[J, Q]. The sensing ASE lambda J R_s(K, Q)
    uses t[K, Q] = J z[K, Q], exact for binary z: t <= J_cap z, sum t = J = sum J r[J, Q], with
    J_cap = min(J_max, (M_t - 1 - K) / (Q - 1)) (a consequence of (16a) with L >= 1). (16a) itself holds because
    v[K, P] exists only where some L fits. (P2): T_s >= T_s^th is linear, Q >= Q^th and R_s >= R_s^th remove z and r
    entries, L >= L^th and R_c >= R_c^th are inside :func:`best_comm_tables`. Returns None when one of the three
    choices has no admissible value (the program is then infeasible).

    An earlier formulation kept L in the model (x[K, L] binaries, T_c by the chords of its concave table in D:
    ~10,000 rows at M_t = 64) and took 1.4-3.7 s there, mostly Pyomo's transfer to HiGHS and the LP; this one has
    ~2,000 rows and answers in ~0.3-0.5 s (benchmarks/bench_cluster.py).
    """
    from collections import defaultdict

    import pyomo.environ as pyo

    s, M, lam = scenario, tables.tx_antennas, tables.density
    p2 = s.program == "P2"
    rho = 1.0 if p2 else s.rho
    q_min = max(s.sensing_cluster_min if p2 else 1, 1)
    best = best_comm_tables(tables, s)
    KP = list(best)
    JQ = [(j, q) for j in range(1, s.max_targets + 1) for q in range(q_min, (M - 2) // j + 2)]
    KQ = [(k, q) for k in range(1, M) for q in range(q_min, M - k + 1)
          if not (p2 and tables.rs[k, q] < s.sensing_rate_min_nats)]
    if not (KP and JQ and KQ):
        return None                                      # some choice has no admissible value: infeasible
    j_cap = {(k, q): min(s.max_targets, (M - 1 - k) // (q - 1)) if q > 1 else s.max_targets for k, q in KQ}
    m = pyo.ConcreteModel(name="cluster-size")
    m.v = pyo.Var(KP, domain=pyo.Binary)
    m.r = pyo.Var(JQ, domain=pyo.Binary)
    m.z = pyo.Var(KQ, domain=pyo.Binary)
    m.t = pyo.Var(KQ, bounds=lambda _, k, q: (0, j_cap[k, q]))
    v_by_p, v_by_k, r_by_p, r_by_q, z_by_k, z_by_q = (defaultdict(list) for _ in range(6))
    for k, p in KP:
        v_by_p[p].append(m.v[k, p])
        v_by_k[k].append(m.v[k, p])
    for j, q in JQ:
        r_by_p[j * (q - 1)].append(m.r[j, q])
        r_by_q[q].append(m.r[j, q])
    for k, q in KQ:
        z_by_k[k].append(m.z[k, q])
        z_by_q[q].append(m.z[k, q])
    m.one_sensing = pyo.Constraint(expr=sum(m.r.values()) == 1)
    m.same_p = pyo.Constraint(sorted(set(v_by_p) | set(r_by_p)), rule=lambda m, p: sum(v_by_p[p]) == sum(r_by_p[p]))
    m.same_k = pyo.Constraint(sorted(set(v_by_k) | set(z_by_k)), rule=lambda m, k: sum(v_by_k[k]) == sum(z_by_k[k]))
    m.same_q = pyo.Constraint(sorted(set(z_by_q) | set(r_by_q)), rule=lambda m, q: sum(z_by_q[q]) == sum(r_by_q[q]))
    m.t_link = pyo.Constraint(KQ, rule=lambda m, k, q: m.t[k, q] <= j_cap[k, q] * m.z[k, q])
    m.t_sum = pyo.Constraint(expr=sum(m.t.values()) == sum(j * m.r[j, q] for j, q in JQ))
    sensing = lam * sum(float(tables.rs[k, q]) * m.t[k, q] for k, q in KQ)
    comm = sum(best[i][0] * m.v[i] for i in KP)
    if p2:
        m.ts_min = pyo.Constraint(expr=sensing >= s.sensing_ase_min)
    m.obj = pyo.Objective(expr=comm if p2 else rho * comm + (1 - rho) * sensing, sense=pyo.maximize)
    m._best = best
    return m


def read_milp(m) -> tuple[int, int, int, int]:
    """(J, K, Q, L) from a solved :func:`build_milp` model (binaries rounded; the three choices must agree)."""
    import pyomo.environ as pyo

    pick = lambda var: max(var, key=lambda i: pyo.value(var[i]))
    (j, q), (k, p), (k2, q2) = pick(m.r), pick(m.v), pick(m.z)
    if (k, q) != (k2, q2) or p != j * (q - 1):
        raise ArithmeticError(f"MILP incumbent is inconsistent: r -> (J, Q) = ({j}, {q}), v -> (K, P) = ({k}, {p}), "
                              f"z -> (K, Q) = ({k2}, {q2})")
    return int(j), int(k), int(q), m._best[k, p][1]


def solve_milp(tables: AseTables, scenario: ClusterSizeScenario, solver: str | None = None) -> ClusterChoice:
    """Build the MILP and solve it through ``algorithms.backends.solve_integer`` (HiGHS default, Gurobi if licensed)."""
    import time

    from ..algorithms import backends
    start = time.perf_counter()
    m = build_milp(tables, scenario)
    build = time.perf_counter() - start
    if m is None:
        from ..algorithms.result import Status
        return ClusterChoice(Status.INFEASIBLE, None, "model", notes=("MILP: no admissible (J, Q), (K, P) or (K, Q) choice "
                                                                "remains after the (P2) thresholds (proven before any "
                                                                "solve)",))
    # HiGHS 1.16's presolve takes 2-220 s on this model where the solve without it takes 0.05-0.7 s (measured at
    # M_t = 20-64 by benchmarks/bench_cluster.py); also when HiGHS stands in for a size-limited Gurobi
    out = backends.solve_integer(m, solver, options={"HIGHS": {"presolve": "off"}})
    notes = (f"MILP: {len(m.v) + len(m.r) + len(m.z)} binaries, built in {build:.2f} s, solved in {out.solve_time_s:.2f} s",
             *out.notes)
    if not out.status.has_solution:
        return ClusterChoice(out.status, None, out.solver, notes=notes, termination=out.termination)
    return ClusterChoice(out.status, read_milp(m), out.solver, out.objective, out.bound, out.gap, notes=notes,
                         termination=out.termination)


# ================================================================================================ result
METHODS = {
    "exhaustive": "every feasible (J, K, Q, L) evaluated from the ASE tables (ground truth)",
    "milp": "Pyomo MILP over the ASE tables (L projected out, linked (J, Q), (K, P), (K, Q) choices), HiGHS or Gurobi",
    "search": "the paper's structure: Prop. 1 (L closed form), Prop. 3 (bisection in K), bound-pruned (J, Q)",
    "evaluate": "no optimization: the ASEs at the fixed tuple (targets, users, sensing_cluster, comm_cluster), with "
                "the Monte Carlo check when monte_carlo_trials > 0 (Figs. 2-4)",
}


def solve_fixed(tables: AseTables, scenario: ClusterSizeScenario) -> ClusterChoice:
    """The scenario's fixed tuple: FEASIBLE when it meets (16a)/(16b) (and (19) for P2), else INFEASIBLE."""
    from ..algorithms.result import Status
    s = scenario
    J, K, Q, L = s.targets, s.users, s.sensing_cluster, s.comm_cluster
    fits = K * L + J * (Q - 1) + 1 <= s.tx_antennas and J <= s.max_targets
    value, ok = objective_values(tables, s, [J], [K], [Q], [L]) if fits else (None, [False])
    if not (fits and bool(np.asarray(ok).ravel()[0])):
        return ClusterChoice(Status.INFEASIBLE, None, "evaluation", evaluations=1,
                      notes=(f"(J, K, Q, L) = ({J}, {K}, {Q}, {L}) violates KL + J(Q-1) + 1 <= M_t = {s.tx_antennas}, "
                             "J <= J_max or the (P2) thresholds",))
    return ClusterChoice(Status.FEASIBLE, (J, K, Q, L), "evaluation", float(np.asarray(value).ravel()[0]), evaluations=1)


def recompute_rates(scenario: ClusterSizeScenario, J: int, K: int, Q: int, L: int) -> tuple[float, float]:
    """(R_c, R_s) at one tuple without the tables: R_c by adaptive scipy quadrature of (8) (an independent route),
    R_s by Prop. 2 / Theorem 2 evaluated afresh for this (K, Q)."""
    s = scenario
    a, b, lam, C = s.path_loss_exponent, s.sensing_path_loss_exponent, s.bs_density_per_km2, s.sensing_gain
    Y = float(comm_argument(K, L, J, Q, s.tx_antennas, a))
    rc = comm_rate_quad(Y, a) if Y > 0 else 0.0
    rs = sensing_rate_q1(K, a, b, lam, C) if Q == 1 else float(sensing_rates_cluster(K, Q, a, b, lam, C)[-1])
    return rc, rs


def assess(scenario: ClusterSizeScenario, choice: ClusterChoice, tables: AseTables):
    """Objective, metrics and NumPy re-checks of a returned tuple: integrality and bounds (16b)/(19c), (16a)/(19b),
    (P2)'s thresholds (19a) with the recomputed rates, and the objective against the recomputed analytic ASE."""
    from ..algorithms import verify
    s = scenario
    J, K, Q, L = choice.tuple
    v = np.array([J, K, Q, L], float)
    rc, rs = recompute_rates(s, J, K, Q, L)
    lam = s.bs_density_per_km2
    tc, ts = lam * K * rc, lam * J * rs
    objective = tc if s.program == "P2" else s.rho * tc + (1 - s.rho) * ts
    table_value = float(objective_values(tables, s, [J], [K], [Q], [L])[0][0])
    checks = [verify.close("integer_tuple", v, np.round(v), scale=1.0),
              verify.at_least("lower_bounds_16b", v, 1.0),
              verify.at_most("max_targets_16b", J, s.max_targets),
              verify.at_most("dof_16a", K * L + J * (Q - 1) + 1, s.tx_antennas),
              verify.close("objective_vs_recomputed_ase", table_value, objective, scale=max(abs(objective), 1e-12))]
    if choice.claimed is not None:
        checks.append(verify.close("objective_vs_method", choice.claimed, objective, scale=max(abs(objective), 1e-12)))
    if s.program == "P2":
        checks += [verify.at_least("comm_rate_19a", rc, s.comm_rate_min_nats, scale=max(s.comm_rate_min_nats, 1.0)),
                   verify.at_least("sensing_rate_19a", rs, s.sensing_rate_min_nats,
                                   scale=max(s.sensing_rate_min_nats, 1.0)),
                   verify.at_least("sensing_ase_19a", ts, s.sensing_ase_min, scale=max(s.sensing_ase_min, 1.0)),
                   verify.at_least("comm_cluster_min", L, s.comm_cluster_min),
                   verify.at_least("sensing_cluster_min", Q, s.sensing_cluster_min)]
    metrics = {"comm_rate_nats": rc, "sensing_rate_nats": rs, "comm_ase": tc, "sensing_ase": ts,
               "weighted_ase": s.rho * tc + (1 - s.rho) * ts, "misr_gain": float(misr_gain(L, s.path_loss_exponent)),
               "zf_dof": s.tx_antennas - K * L - J * (Q - 1) + 1, "ase_unit": "nats/s/Hz/km^2"}
    return objective, metrics, checks


def solve(scenario: ClusterSizeScenario, method: str, rng: np.random.Generator | None = None,
          solver: str | None = None):
    """Run one method on (P1) or (P2) and return a verified :class:`~isacopt.algorithms.result.Result`.

    This is the registry's ``Method.run`` (one call per scenario, method and seed): ``rng`` only drives the optional
    Monte Carlo check of the returned tuple (``monte_carlo_trials`` > 0), reported under ``metrics['monte_carlo']``.
    """
    import time

    from ..algorithms.finalize import finalize
    from ..algorithms.result import Termination
    from ..data.loader import scenario_dict
    s = scenario
    start = time.perf_counter()
    cached = _tables.cache_info().currsize
    tables = build_tables(s)
    fresh = _tables.cache_info().currsize > cached
    t0 = time.perf_counter()
    if method == "exhaustive":
        choice = solve_exhaustive(tables, s)
    elif method == "search":
        choice = solve_search(tables, s)
    elif method == "milp":
        choice = solve_milp(tables, s, solver)
    elif method == "evaluate":
        choice = solve_fixed(tables, s)
    else:
        raise ValueError(f"unknown method {method!r}")
    method_time = time.perf_counter() - t0
    name = "T_c^ASE (19), nats/s/Hz/km^2" if s.program == "P2" else "T^ASE (15), nats/s/Hz/km^2"
    notes = list(choice.notes)
    if choice.evaluations:
        notes.append(f"{choice.evaluations} objective evaluations")
    if fresh:
        how = "built" if tables.source == "computed" else f"read from the {tables.source}"
        notes.append(f"ASE tables {how} in {tables.build_time_s:.2f} s (cached for this physics)")
    base = dict(problem=PROBLEM, method=method, objective_name=name, sense="max", solver=choice.solver,
                scenario=scenario_dict(s), notes=notes)
    timing = {"method_time_s": method_time, "table_time_s": tables.build_time_s if fresh else 0.0}
    termination = choice.termination or Termination.CONVERGED
    if choice.tuple is None:
        return finalize(base, status=choice.status, termination=termination, metrics=timing,
                        time_s=time.perf_counter() - start, solver_time_s=method_time, upper_bound=choice.bound)
    objective, metrics, checks = assess(s, choice, tables)
    metrics.update(timing)
    J, K, Q, L = choice.tuple
    if s.monte_carlo_trials > 0 and rng is not None:
        metrics["monte_carlo"] = simulate(s, J, K, Q, L, rng).as_dict()
        metrics.update({f"mc_{k}": v for k, v in metrics["monte_carlo"].items() if k != "trials"})
    bounds = {}
    if method == "milp":            # the solver's incumbent and bound, as it reported them
        bounds = dict(lower_bound=choice.claimed, upper_bound=choice.bound, gap=choice.gap)
    return finalize(base, status=choice.status, objective=objective, checks=checks, proven=method != "evaluate",
                    termination=termination, solution={"J": J, "K": K, "Q": Q, "L": L}, metrics=metrics,
                    time_s=time.perf_counter() - start, solver_time_s=method_time, **bounds)


# ================================================================================================ registration
register(Problem(
    name=PROBLEM,
    paper="Meng, Masouros, 'Networked ISAC Coordinated Beamforming and Cooperative BS Cluster Optimization' "
          "(seed 004)",
    scenario_class=ClusterSizeScenario,
    default_scenario="cluster_size",
    methods={m: Method(lambda sc, rng, solver=None, m=m: solve(sc, m, rng, solver), text, "integer",
                       proves=m != "evaluate") for m, text in METHODS.items()},
    default_method="search",
    summary_metrics=("comm_ase", "sensing_ase", "weighted_ase", "comm_rate_nats", "sensing_rate_nats"),
    parameters={"tx_antennas": "M_t", "rho": "weight of the communication ASE in (P1)",
                "program": "P1 (weighted ASE (16)) or P2 (comm ASE with thresholds (19))"},
))
