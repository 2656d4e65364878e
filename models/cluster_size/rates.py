"""Cluster size: the communication rate (8) and the sensing rates (Prop. 2, Theorem 2) by stochastic geometry."""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import integrate, special

from .scenario import STEP


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
