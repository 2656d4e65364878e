"""Robust precoding: sensing (FIM (6)-(7), CRB, echoes, leakage) and the worst-case SINR bounds of Prop. 3."""
from __future__ import annotations

import numpy as np

from .. import channels, geometry
from .scenario import Instance


# ================================================================================================ sensing
def jacobians(inst: Instance, m: int, scheme: str) -> np.ndarray:
    """E (3, M, cols): d mu / d xi = E_i X for xi = (theta_mm, Re alpha_mm, Im alpha_mm); (12)-(13), (17)-(18).

    cols = N (CBF: BS m's signal X_m) or J N (CoMP: stacked X).
    """
    J, K, N, M = inst.shape
    a, ad, al = inst.a[m], inst.adot[m], inst.alpha[m]
    if scheme == "cbf":
        e_t = al[m] * (np.outer(ad, inst.v[m, m]) + np.outer(a, inst.vdot[m, m]))
        e_r = np.outer(a, inst.v[m, m])
    else:
        e_t = np.concatenate([al[n] * np.outer(ad, inst.v[n, m]) for n in range(J)], axis=1)
        e_t[:, m * N:(m + 1) * N] += al[m] * np.outer(a, inst.vdot[m, m])
        e_r = np.zeros((M, J * N), complex)
        e_r[:, m * N:(m + 1) * N] = np.outer(a, inst.v[m, m])
    return np.stack([e_t, e_r, 1j * e_r])


def radar_covariance(inst: Instance, m: int, scheme: str, leak=None) -> np.ndarray:
    """C (M, M): (11) for CBF with leak[n] = v_nm^T R_n v_nm^* the power BS n radiates towards target m; sigma_R^2 I
    for CoMP."""
    J, _, _, M = inst.shape
    C = inst.noise_r * np.eye(M, dtype=complex)
    if scheme == "cbf":
        for n in range(J):
            if n != m:
                C += abs(inst.alpha[m, n]) ** 2 * float(leak[n]) * np.outer(inst.a[m], inst.a[m].conj())
    return C


def fim_forms(E: np.ndarray, C: np.ndarray, L: int) -> np.ndarray:
    """M (3, 3, cols, cols) with F_ij = Re tr(M_ij R): M_ij = 2 L E_i^H C^-1 E_j."""
    CiE = np.linalg.solve(C, E.transpose(1, 0, 2).reshape(C.shape[0], -1)).reshape(C.shape[0], 3, -1)
    return 2 * L * np.einsum("acm,bmd->abcd", E.conj().transpose(0, 2, 1), CiE.transpose(1, 0, 2))


def fim(E: np.ndarray, C: np.ndarray, R: np.ndarray, L: int) -> np.ndarray:
    """The 3 x 3 FIM (6)-(7): F_ij = 2 L Re tr(C^-1 E_j R E_i^H); R (cols, cols) Hermitian PSD."""
    return np.real(np.einsum("abcd,dc->ab", fim_forms(E, C, L), R))


def crb_angle(F: np.ndarray) -> float:
    """CRB of the angle (rad^2): [F^-1]_11 (inf when F is singular)."""
    try:
        return float(np.linalg.inv(F)[0, 0]) if np.linalg.cond(F) < 1e14 else np.inf
    except np.linalg.LinAlgError:
        return np.inf


def fim_decoupling(F: np.ndarray) -> np.ndarray:
    """T (3, 3) unit lower triangular with (T^T F T)[0, 1] = (T^T F T)[0, 2] = 0 for this F (the amplitude
    re-parametrized as alpha + (a + j b) theta); [(T^T F' T)^-1]_11 = [F'^-1]_11 for every FIM F'."""
    T = np.eye(3)
    T[1, 0], T[2, 0] = -F[0, 1] / F[1, 1], -F[0, 2] / F[2, 2]
    return T


def echo_mean(inst: Instance, m: int, X: np.ndarray, scheme: str, theta_mm: float, alpha_mm: complex):
    """Mean of the echo (5) at BS m (M, L) as a function of the target parameters; X (J, N, L).

    CBF: alpha_mm A(theta) X_m (the ICR is zero-mean interference); CoMP: all paths, the ICR's AoD theta_nm fixed.
    """
    J, K, N, M = inst.shape
    a = geometry.ula_steering(M, theta_mm)
    vm = geometry.ula_steering(N, theta_mm)
    mu = alpha_mm * np.outer(a, vm) @ X[m]
    if scheme == "comp":
        mu = mu + sum(inst.alpha[m, n] * np.outer(a, inst.v[n, m]) @ X[n] for n in range(J) if n != m)
    return mu


def leakage(inst: Instance, R: np.ndarray) -> np.ndarray:
    """p[n, m] = v_nm^T R_n v_nm^*: power BS n radiates towards target m; R (J, N, N) per-BS covariances."""
    return np.real(np.einsum("nmi,nij,nmj->nm", inst.v, R, inst.v.conj()))


def per_bs_covariance(R_joint: np.ndarray, J: int) -> np.ndarray:
    """Diagonal blocks (J, N, N) of a joint (J N, J N) covariance."""
    N = R_joint.shape[0] // J
    return np.stack([R_joint[n * N:(n + 1) * N, n * N:(n + 1) * N] for n in range(J)])


def sensing_metrics(inst: Instance, scheme: str, R: np.ndarray) -> dict:
    """Actual FIM, CRB and RCRB (deg) of every target from the transmit covariances.

    R: (J, N, N) per-BS covariances (CBF) or (J N, J N) joint covariance (CoMP).
    """
    J = inst.shape[0]
    L = inst.scenario.frame_length
    per_bs = R if scheme == "cbf" else per_bs_covariance(R, J)
    p = leakage(inst, per_bs)
    F, crb = [], []
    for m in range(J):
        E = jacobians(inst, m, scheme)
        Rm = per_bs[m] if scheme == "cbf" else R
        F.append(fim(E, radar_covariance(inst, m, scheme, p[:, m]), Rm, L))
        crb.append(crb_angle(F[-1]))
    crb = np.array(crb)
    return {"fim": np.array(F), "crb_rad2": crb, "rcrb_deg": np.rad2deg(np.sqrt(crb)), "leakage": p}


# ================================================================================================ Prop. 3
def worst_interference_bound(h, W, delta):
    """(23): max over ||e|| <= delta of (h + e)^H W (h + e) <= h^H W h + 2 delta ||W h|| + delta^2 tr W; h (..., N),
    W (..., N, N)."""
    Wh = np.einsum("...ij,...j->...i", W, h)
    return (np.real(np.einsum("...i,...i->...", h.conj(), Wh)) + 2 * delta * np.linalg.norm(Wh, axis=-1)
            + delta ** 2 * np.real(np.einsum("...ii->...", W)))


def worst_signal_bound(h, W, delta):
    """Re-derived (22): min over ||e|| <= delta of (h + e)^H W (h + e) >= h^H W h - 2 delta ||W h|| (any PSD W)."""
    Wh = np.einsum("...ij,...j->...i", W, h)
    return np.real(np.einsum("...i,...i->...", h.conj(), Wh)) - 2 * delta * np.linalg.norm(Wh, axis=-1)


def worst_gain_rank_one(h, w, delta, sense: str):
    """Exact worst case of |(h + e)^H w|^2 over ||e|| <= delta: (|h^H w| + delta ||w||)^2 ('max') or
    (|h^H w| - delta ||w||)_+^2 ('min'); h, w (..., N)."""
    g = np.abs(np.einsum("...i,...i->...", h.conj(), w))
    n = np.linalg.norm(w, axis=-1)
    return (g + delta * n) ** 2 if sense == "max" else np.maximum(g - delta * n, 0.0) ** 2


def cbf_sinr(h, w, noise, e=None):
    """BLP-CBF SINR (20) (J, K) for channels h + e; h, e (J, J, K, N), w (J, K, N)."""
    hh = h if e is None else h + e
    g = np.abs(np.einsum("nmki,nli->mknl", hh.conj(), w)) ** 2            # user (m, k) <- BS n beam l
    J, K = w.shape[:2]
    own = np.stack([g[m, :, m, :] for m in range(J)])                      # (J, K, K)
    signal = np.einsum("mkk->mk", own)
    total = g.sum(axis=(2, 3))
    return signal / (total - signal + noise)


def cbf_sinr_bound(h, w, noise, delta):
    """Worst-case CBF SINR (J, K): exact rank-one worst cases per term, (21) with (22)-(23), (31)-(32)."""
    J, K, N = w.shape
    sig = np.zeros((J, K))
    den = np.full((J, K), noise)
    for m in range(J):
        for k in range(K):
            sig[m, k] = worst_gain_rank_one(h[m, m, k], w[m, k], delta, "min")
            for n in range(J):
                for l in range(K):
                    if (n, l) != (m, k):
                        den[m, k] += worst_gain_rank_one(h[n, m, k], w[n, l], delta, "max")
    return sig / den


def comp_sinr(hs, w, noise, e=None):
    """BLP-CoMP SINR (38c) (J K,) for stacked channels hs + e (J K, J N); w (J K, J N)."""
    hh = hs if e is None else hs + e
    g = np.abs(hh.conj() @ w.T) ** 2                                       # [user, beam]
    signal = np.diag(g)
    return signal / (g.sum(axis=1) - signal + noise)


def comp_sinr_bound(hs, w, noise, delta_stacked):
    """Worst-case CoMP SINR (J K,) with ||e_k|| <= sqrt(J) delta, (39)-(40)."""
    out = np.zeros(len(hs))
    for k in range(len(hs)):
        sig = worst_gain_rank_one(hs[k], w[k], delta_stacked, "min")
        den = noise + sum(worst_gain_rank_one(hs[k], w[l], delta_stacked, "max") for l in range(len(w)) if l != k)
        out[k] = sig / den
    return out


def ci_margin(y, psi):
    """Distance-like CI margin of rotated received symbols y~: Re y~ - |Im y~| cot(psi) (46)."""
    return np.real(y) - np.abs(np.imag(y)) / np.tan(psi)


def slp_cbf_sinr(h, x, d, noise, psi, e=None):
    """SLP-CBF effective SINR (J, K, L): margin_+^2 / (sigma^2 + ICI); x (J, L, N), d (J, K, L)."""
    hh = h if e is None else h + e
    r = np.einsum("nmki,nsi->mkns", hh.conj(), x)                         # user (m, k) <- BS n, symbol s
    J = x.shape[0]
    own = np.stack([r[m, :, m, :] for m in range(J)])                      # (J, K, L)
    ici = (np.abs(r) ** 2).sum(axis=2) - np.abs(own) ** 2
    return np.maximum(ci_margin(own * d.conj(), psi), 0.0) ** 2 / (noise + ici)


def slp_cbf_sinr_bound(h, x, d, noise, psi, delta):
    """Worst case over the error set of :func:`slp_cbf_sinr`: margin - delta ||x|| / sin(psi), ICI per-term max."""
    J, L, N = x.shape
    own = np.stack([np.einsum("ki,si->ks", h[m, m].conj(), x[m]) for m in range(J)])      # (J, K, L)
    xn = np.linalg.norm(x, axis=-1)                                                         # (J, L)
    margin = ci_margin(own * d.conj(), psi) - delta * xn[:, None, :] / np.sin(psi)
    ici = np.zeros_like(margin)
    for m in range(J):
        for n in range(J):
            if n != m:
                ici[m] += (np.abs(np.einsum("ki,si->ks", h[n, m].conj(), x[n])) + delta * xn[n][None]) ** 2
    return np.maximum(margin, 0.0) ** 2 / (noise + ici)


def slp_comp_sinr(hs, x, d, noise, psi, e=None):
    """SLP-CoMP effective SINR (J K, L): all interference is aligned, so margin_+^2 / sigma^2; x (L, J N), d (J K, L)."""
    hh = hs if e is None else hs + e
    return np.maximum(ci_margin((hh.conj() @ x.T) * d.conj(), psi), 0.0) ** 2 / noise


def slp_comp_sinr_bound(hs, x, d, noise, psi, delta_stacked):
    margin = ci_margin((hs.conj() @ x.T) * d.conj(), psi) - delta_stacked * np.linalg.norm(x, axis=-1)[None] / np.sin(psi)
    return np.maximum(margin, 0.0) ** 2 / noise


def sample_errors(rng, shape, radius, count):
    """``count`` errors (count, *shape) with i.i.d. direction, norm over the last axis uniform in [0.5, 1] * radius
    (half of them exactly on the sphere, where the worst case lies)."""
    e = channels.complex_gaussian(rng, (count, *shape))
    e /= np.linalg.norm(e, axis=-1, keepdims=True)
    scale = np.where(np.arange(count) % 2 == 0, 1.0, rng.uniform(0.5, 1.0, count))
    return e * (radius * scale).reshape(count, *([1] * len(shape)))
