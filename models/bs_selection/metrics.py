"""BS selection: SINR (3), BS power, the FIM and CRLB (5)-(7) of a bistatic echo, computed with NumPy."""
from __future__ import annotations

import numpy as np

from .. import geometry
from ..units import dbm_to_watt
from .scenario import BSSelectionInstance, SPEED_OF_LIGHT


# ================================================================================================ metrics
def transmit_covariances(w: np.ndarray, R: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Q_s = sum_k a_{s,k} w_{s,k} w_{s,k}^H + b_s R_s, eq. (2): (S, N, N)."""
    return np.einsum("sk,skn,skp->snp", a, w, w.conj()) + b[:, None, None] * R


def sinr(h, w, R, a, b, noise_w: float) -> np.ndarray:
    """SINR (K,) of every CU, eq. (5)."""
    g = np.abs(np.einsum("sjn,skn->sjk", h.conj(), w)) ** 2 * a[:, None, :]   # [s, j, k]: |h_{s,j}^H w_{s,k}|^2
    desired = np.einsum("sjj->j", g)
    interference = g.sum(axis=(0, 2)) - desired
    interference += np.real(np.einsum("s,sjn,snp,sjp->j", b, h.conj(), R, h))
    return desired / (interference + noise_w)


def bs_power(w, R, a, b) -> np.ndarray:
    """Per-BS transmit power (S,), C1."""
    return np.einsum("sk,skn->s", a, np.abs(w) ** 2) + b * np.real(np.einsum("snn->s", R))


def _g_tilde(inst: BSSelectionInstance, s: int, t: int, delay: float = 1.0):
    """G_{s,t} = a_r a_t^H (N, N) and G-tilde^{(i)} = G-dot^{(i)} - tau-dot^{(i)} G, i = 1, 2: (2, N, N); (32)."""
    geo = inst.geometry
    ar, at, dar, dat = geo["a"][s], geo["a"][t], geo["da"][s], geo["da"][t]
    G = np.outer(ar, at.conj())
    Gd = np.einsum("in,p->inp", dar, at.conj()) + np.einsum("n,ip->inp", ar, dat.conj())
    return G, Gd - delay * geo["dtau"][s, t][:, None, None] * G[None]


def fim(inst: BSSelectionInstance, s: int, Q: np.ndarray, delay: float = 1.0) -> np.ndarray:
    """FIM F^{(s)} (2S, 2S) of xi = [p; Re alpha_s; Im alpha_s] for receiving BS s, eqs. (29), (33)-(39).

    Q: (S, N, N) transmit covariances in W (Q_s of the receiving BS is ignored). ``delay`` scales tau-dot (1 = as
    written in the paper; the CRLB does not depend on it).
    """
    S = inst.shape[0]
    sc = inst.scenario
    c = 2.0 * sc.samples / dbm_to_watt(sc.radar_noise_dbm)
    others = [t for t in range(S) if t != s]
    F = np.zeros((2 * S, 2 * S))
    for j, t in enumerate(others):
        G, Gt = _g_tilde(inst, s, t, delay)
        al = inst.alpha[s, t]
        GQ = G @ Q[t]
        F[:2, :2] += c * abs(al) ** 2 * np.real(np.einsum("jab,bc,iac->ij", Gt, Q[t], Gt.conj()))          # (34)
        D = al.conj() * np.einsum("ab,iab->i", GQ, Gt.conj())                                                 # (36)-(37)
        F[:2, 2 + j] = c * np.real(D)                                                                         # (35)
        F[:2, 2 + (S - 1) + j] = c * np.real(1j * D)
        E = np.real(np.trace(GQ @ G.conj().T))                                                                # (39)
        F[2 + j, 2 + j] = F[2 + S - 1 + j, 2 + S - 1 + j] = c * E                                            # (38)
    F[2:, :2] = F[:2, 2:].T
    return F


def crlb(inst: BSSelectionInstance, s: int, Q: np.ndarray, delay: float = 1.0) -> float:
    """CRLB^{(s)}(p) (7) in m^2: tr of the inverse Schur complement (pseudo-inverse of F_aa: a transmitter that
    sends nothing towards the target has an unidentifiable gain and contributes nothing); inf if singular."""
    F = fim(inst, s, Q, delay)
    schur = F[:2, :2] - F[:2, 2:] @ np.linalg.pinv(F[2:, 2:], rcond=1e-12, hermitian=True) @ F[2:, :2]
    eig = np.linalg.eigvalsh(0.5 * (schur + schur.T))
    return float(np.sum(1.0 / eig)) if eig[0] > 0 else float("inf")


def echo_mean(inst: BSSelectionInstance, s: int, p: np.ndarray, alpha: np.ndarray, X: np.ndarray,
              delay: float = 1.0) -> np.ndarray:
    """u-tilde_s of (27) as a function of the target position p (2,) and the gains alpha (S,) of the S - 1 links:
    sum_{s'} alpha_{s'} vec(a(theta_r,s(p)) a(theta_t,s'(p))^H X_{s'} e^{-delay tau_{s,s'}(p)}), X: (S, N, L).

    The factor e^{-tau} realizes X-dot = -tau-dot X of (30) literally. Used to check :func:`fim` by differentiation.
    """
    sc = inst.scenario
    bs = sc.bs
    broadside = geometry.facing(bs, np.zeros(2))
    theta = geometry.angle_from_broadside(bs, p[None], broadside)
    a = geometry.ula_steering(sc.tx_antennas, theta, sc.antenna_spacing_wavelengths)
    dist = geometry.distance(bs, p[None])
    out = 0.0
    for t in range(len(bs)):
        if t == s:
            continue
        tau = (dist[s] + dist[t]) / SPEED_OF_LIGHT
        out = out + alpha[t] * np.outer(a[s], a[t].conj()) @ X[t] * np.exp(-delay * tau)
    return out.ravel(order="F")
