"""Robust precoding: the lifted DPP templates - BLP stage A/B, SLP stage A/B, and the SCA polish."""
from __future__ import annotations

import functools

import cvxpy as cp
import numpy as np

from ...algorithms import lifted



# ================================================================================================ lifted forms
def norm_map(basis: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Real maps T (n, 2c, (2r)^2) with T_j vec(Z) = [Re; Im] of W v_j for W = B Y B^H, Y the Hermitian matrix read
    back from Z (:func:`~isacopt.algorithms.lifted.to_hermitian`), B (c, r) any basis: W v_j = B Y g_j with
    g_j = B^H v_j, and [Re; Im](Y g) = embed(Y) [Re g; Im g] with embed(Y) = (Z + J^T Z J) / 2, J = [[0, -I], [I, 0]]."""
    r = basis.shape[1]
    g = basis.conj().T @ vectors                                             # (r, n)
    gh = np.concatenate([g.real, g.imag], axis=0)                            # (2r, n)
    Jm = np.block([[np.zeros((r, r)), -np.eye(r)], [np.eye(r), np.zeros((r, r))]])
    eye = np.eye(2 * r)
    B = _real_matrix(basis)
    out = [B @ (0.5 * (np.kron(x[None, :], eye) + Jm.T @ np.kron((Jm @ x)[None, :], eye))) for x in gh.T]
    return np.array(out)


def _span(vectors: list[np.ndarray], tol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis of the range of the column blocks in ``vectors`` (each (cols, n))."""
    A = np.concatenate(vectors, axis=1)
    u, s, _ = np.linalg.svd(A, full_matrices=False)
    return u[:, s > tol * s[0]]


def _lmi(entries, corner):
    """[F^-1]_11 <= corner for the FIM given by its 6 upper entries (tt, tr, ti, rr, ri, ii); ``corner`` a variable
    or ``("inverse", parameter)`` holding 1 / corner.

    Because E_im = j E_re, every FIM here has F_ri = 0 and F_ii = F_rr (also their SCA linearizations), so
    [F^-1]_11 = 1 / (F_tt - (F_tr^2 + F_ti^2) / F_rr) and the Schur-complement LMI (19a) is the SOC constraint
    F_tt - (F_tr^2 + F_ti^2) / F_rr >= 1 / corner. (The 4 x 4 LMI is sparse, and Clarabel's chordal decomposition of
    it stalled at a relative gap of ~1e-7 on these problems; the SOC form solves to 1e-10.)
    """
    u = cp.Variable(4)        # copies of (F_tt, F_tr, F_ti, F_rr): a parameter inside quad_over_lin is not DPP
    rhs = corner[1] if isinstance(corner, tuple) else cp.inv_pos(corner)
    return [u == cp.hstack([entries[0], entries[1], entries[2], entries[3]]),
            u[0] - cp.quad_over_lin(u[1:3], u[3]) >= rhs]


_UPPER = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


# ================================================================================================ BLP templates
def _blp_masks(scheme: str, J: int, K: int):
    """(MASK (nu, nv): var v interferes with user j; CAPSEL pattern (nu, nb); SIGSEL pattern (nv, nb)).

    CBF (BS m's subproblem, users ordered own-first): vars = own users' beams; own user k suffers intra-cell
    interference from its cell's other beams (budget I_intra, b[0]); other cells' users suffer ICI from every beam
    (budget I_inter / (J - 1), b[1]); b[2] is the leakage budget. CoMP: vars = all users' beams, b[0] = I_comp.
    """
    nu = J * K
    if scheme == "cbf":
        mask = np.ones((nu, K))
        mask[:K] -= np.eye(K)
        capsel = np.zeros((nu, 3))
        capsel[:K, 0] = 1.0
        capsel[K:, 1] = 1.0 / max(J - 1, 1)
        sigsel = np.zeros((K, 3))
        sigsel[:, 0] = 1.0
    else:
        mask = np.ones((nu, nu)) - np.eye(nu)
        capsel = np.ones((nu, 1))
        sigsel = np.ones((nu, 1))
    return mask, capsel, sigsel


def _diag_selector(r: int, count: int) -> np.ndarray:
    """Constant rows (count, (2r)^2): row j gives Y_jj = (Z[j, j] + Z[j + r, j + r]) / 2 of the read-back Y."""
    n = 2 * r
    S = np.zeros((count, n * n))
    for j in range(count):
        S[j, j + n * j] = S[j, (j + r) + n * (j + r)] = 0.5
    return S


def _embedded(z, r: int):
    """embed(Y) = (Z + J^T Z J) / 2 of the Hermitian Y read back from Z (an expression, linear in Z)."""
    Jm = np.block([[np.zeros((r, r)), -np.eye(r)], [np.eye(r), np.zeros((r, r))]])
    return 0.5 * (z + Jm.T @ z @ Jm)


@functools.lru_cache(maxsize=32)
def _blp_template(scheme: str, J: int, K: int, r: int, stage: str, robust: bool = True):
    """(P1.A)/(P1.B) (CBF, one BS) or (P2.A)/(P2.B) (CoMP) as a DPP cvxpy problem over the real lifting.

    The basis B (c, r) is dual to the nu = J K user channels (:meth:`Design._basis`): q_j^H B = sqrt(I_ref) e_j^T, so
    user j's form q_j^H W q_j is I_ref Y_jj (a constant selector) and W q_j = sqrt(I_ref) B Y e_j, whose norm is
    sqrt(I_ref) ||R_B Y e_j|| with R_B the Cholesky factor of B^H B (parameter ``chol``). Units: interference in
    I_ref, power in P_t, FIM entries D F D (corner: CRB times the theta scale), budgets relative to their initial
    values. Parameters are small (r x r factors, FIM/power/leakage rows), so the template compiles in seconds.
    ``robust=False`` (delta = 0) omits the CSI-error norm terms: kept with zero coefficients they are second-order
    cones whose optimum sits at the apex with a zero multiplier whenever the budget is slack (no strict
    complementarity), which stalled Clarabel's gap at ~1e-9 (``AlmostSolved``).
    """
    mask, capsel_pattern, sigsel_pattern = _blp_masks(scheme, J, K)
    nu, nv = mask.shape
    nt, npow, nleak = (1, 1, J - 1) if scheme == "cbf" else (J, J, 0)
    nb = capsel_pattern.shape[1]
    size = 4 * r * r
    z = [lifted.variable(r, f"W{v}") for v in range(nv)]
    Zs = lifted.stacked_vec(z)                                                  # (size, nv)
    sel = _diag_selector(r, nu)
    emb = [_embedded(zv, r) for zv in z]
    p = dict(power=cp.Parameter((npow, size), name="power"), fim=cp.Parameter((6 * nt, size), name="fim"),
             sig_scale=cp.Parameter(nv, nonneg=True, name="sig_scale"))
    forms = sel @ Zs                                                            # (nu, nv), units of I_ref
    if robust:
        p.update(chol=cp.Parameter((2 * r, 2 * r), name="chol"), d2=cp.Parameter((1, size), name="d2"),
                 sig_chol=[cp.Parameter((2 * r, 2 * r), name=f"sig_chol{v}") for v in range(nv)])
        norms = cp.vstack([cp.norm(p["chol"] @ emb[v][:, :nu], 2, axis=0) for v in range(nv)]).T
        d2 = np.ones((nu, 1)) @ (p["d2"] @ Zs)
        interference = cp.sum(cp.multiply(mask, forms + norms + d2), axis=1)
        signal = cp.hstack([p["sig_scale"][v] * forms[v, v] - cp.norm(p["sig_chol"][v] @ emb[v][:, v])
                            for v in range(nv)])
    else:
        interference = cp.sum(cp.multiply(mask, forms), axis=1)
        signal = cp.hstack([p["sig_scale"][v] * forms[v, v] for v in range(nv)])
    fim_entries = cp.sum(p["fim"] @ Zs, axis=1)
    cons = [cp.sum(p["power"] @ Zs, axis=1) <= 1.0]
    if nleak:
        p["leak"] = cp.Parameter((nleak, size), name="leak")
        leak = cp.sum(p["leak"] @ Zs, axis=1)
    if stage == "A":
        g, f = cp.Variable(name="g"), cp.Variable(name="f")
        p.update(cap=cp.Parameter(nu, nonneg=True, name="cap"), leak_cap=cp.Parameter(nonneg=True, name="leak_cap"),
                 wt=cp.Parameter(nonneg=True, name="wt"), wg=cp.Parameter(nonneg=True, name="wg"),
                 f_cap_inv=cp.Parameter(nonneg=True, name="f_cap_inv"))
        cons += [interference <= p["cap"], signal >= g, g >= 1.0, p["f_cap_inv"] * f <= 1.0]
        cons += [c for t in range(nt) for c in _lmi([fim_entries[6 * t + i] for i in range(6)], f)]
        if nleak:
            cons.append(leak <= p["leak_cap"])
        problem = cp.Problem(cp.Maximize(-p["wt"] * f + p["wg"] * g), cons)
        variables = dict(z=z, g=g, f=f)
    else:
        b = cp.Variable(nb, nonneg=True, name="b")
        p.update(capsel=cp.Parameter((nu, nb), nonneg=True, name="capsel"),
                 sigsel=cp.Parameter((nv, nb), nonneg=True, name="sigsel"),
                 sig_const=cp.Parameter(nv, nonneg=True, name="sig_const"),
                 f_star_inv=cp.Parameter(nt, nonneg=True, name="f_star_inv"),
                 b_old=cp.Parameter(nb, nonneg=True, name="b_old"), bw=cp.Parameter(nb, nonneg=True, name="bw"))
        cons += [interference <= p["capsel"] @ b, signal >= p["sigsel"] @ b + p["sig_const"], b <= p["b_old"]]
        cons += [c for t in range(nt) for c in _lmi([fim_entries[6 * t + i] for i in range(6)], ("inverse", p["f_star_inv"][t]))]
        if nleak:
            cons.append(leak <= b[2])
        problem = cp.Problem(cp.Minimize(p["bw"] @ b), cons)
        variables = dict(z=z, b=b)
    return problem, p, variables


# ================================================================================================ polish (SCA)
def _real_rows(q: np.ndarray):
    """Real rows (2, 2c) of [Re; Im] q^H w acting on x = [Re w; Im w]; q (c,) complex."""
    return np.array([np.concatenate([q.real, q.imag]), np.concatenate([-q.imag, q.real])])


def _real_matrix(A: np.ndarray) -> np.ndarray:
    """Real (2 rows, 2c) map of [Re; Im] (A w) acting on [Re w; Im w]; A (rows, c) complex."""
    return np.block([[A.real, -A.imag], [A.imag, A.real]])


@functools.lru_cache(maxsize=32)
def _polish_template(kind: str, scheme: str, J: int, K: int, c: int, L: int, robust: bool = True):
    """Convex inner problem of the SCA recovery in vector form (real x = [Re; Im]), DPP.

    kind 'blp': beams x_v (v = own users for CBF / all users for CoMP), the robust SINR with the phase of the own
    signal fixed real (exact rank-one worst case: Re q^H w - delta ||w|| >= sqrt(gamma denom)), interference sums
    sum_v (|q_j^H w_v| + delta ||w_v||)^2 <= cap_j. kind 'slp': symbol vectors x_s (s = 1..L) with the robust CI
    constraints (52)-(53)/(60)-(61) and, for CBF, the ICI amplitude caps (56). The FIM enters through its
    linearization F_lin = sum_v (G0_v^T G_v(x) + G_v(x)^T G0_v - G0_v^T G0_v) <= F(x) (matrix convexity).
    ``robust=False`` (delta = 0) omits the delta ||x|| cones (see :func:`_blp_template`).
    """
    nt = 1 if scheme == "cbf" else J
    npow = 1 if scheme == "cbf" else J
    nleak = J - 1 if scheme == "cbf" else 0
    n_own = K if scheme == "cbf" else J * K
    nv = n_own if kind == "blp" else L
    x = [cp.Variable(2 * c, name=f"x{v}") for v in range(nv)]
    tau, f = cp.Variable(name="tau"), cp.Variable(name="f")
    p = dict(lin=[cp.Parameter((6 * nt, 2 * c), name=f"lin{v}") for v in range(nv)],
             lin_const=cp.Parameter(6 * nt, name="lin_const"),
             power=[cp.Parameter((2 * c, 2 * c), name=f"pow{g}") for g in range(npow)],
             wt=cp.Parameter(nonneg=True, name="wt"),
             wg=cp.Parameter(nonneg=True, name="wg"), f_cap_inv=cp.Parameter(nonneg=True, name="f_cap_inv"))
    cons = [tau >= 1.0, p["f_cap_inv"] * f <= 1.0]
    fim_entries = sum(p["lin"][v] @ x[v] for v in range(nv)) - p["lin_const"]
    cons += [c for t in range(nt) for c in _lmi([fim_entries[6 * t + i] for i in range(6)], f)]
    # power and leakage as norms (sum_v ||P x_v||^2 <= cap  <=>  ||(P x_v)_v|| <= sqrt(cap)): the sum-of-squares form
    # is a rotated cone whose residual Clarabel could not bring below 1e-9 at the SCA optimum
    root = np.sqrt(1.0 if kind == "blp" else float(L))
    cons += [cp.norm(cp.hstack([p["power"][g] @ x[v] for v in range(nv)])) <= root for g in range(npow)]
    if nleak:
        p["leak"] = cp.Parameter((2 * nleak, 2 * c), name="leak")
        p["leak_amp"] = cp.Parameter(nonneg=True, name="leak_amp")           # sqrt(leakage budget)
        for i in range(nleak):
            cons.append(cp.norm(cp.hstack([p["leak"][2 * i:2 * i + 2] @ x[v] for v in range(nv)])) <= root * p["leak_amp"])
    mask = _blp_masks(scheme, J, K)[0]
    nu = J * K
    if kind == "blp":
        # every user row is divided by ||q_j|| (unit rows: with the raw rows, ~250 in noise units against beams of
        # ~0.01-0.5, Clarabel's primal residual rose above 1e-10 in its last iterations)
        p["users"] = cp.Parameter((2 * nu, 2 * c), name="users")                # rows of q_j^H / ||q_j||
        p["sig_c"] = cp.Parameter(nv, nonneg=True, name="sig_c")             # sqrt(gamma_th denom_v) / ||q_v||
        p["delta_u"] = cp.Parameter(nu, nonneg=True, name="delta_u")         # delta / ||q_j||
        # interference rows divided by their amplitude cap sqrt(cap_j) (every row bounded by 1): the caps are ~1e-3 of
        # the unit rows, and an answer within Clarabel's residual test relative to ||x|| left them violated by 1-3 %
        p["itf"] = cp.Parameter((2 * nu, 2 * c), name="itf")                  # rows of q_j^H / sqrt(cap_j)
        p["itf_delta"] = cp.Parameter(nu, nonneg=True, name="itf_delta")     # delta / sqrt(cap_j)
        U, V = p["users"], p["itf"]
        unorm = ((lambda j, v: p["delta_u"][j] * cp.norm(x[v])) if robust else (lambda j, v: 0.0))  # noqa: E731
        inorm = ((lambda j, v: p["itf_delta"][j] * cp.norm(x[v])) if robust else (lambda j, v: 0.0))  # noqa: E731
        for v in range(nv):
            cons += [U[2 * v + 1] @ x[v] == 0,
                     U[2 * v] @ x[v] - unorm(v, v) >= p["sig_c"][v] * tau]
        for j in range(nu):
            terms = [cp.norm(V[2 * j:2 * j + 2] @ x[v]) + inorm(j, v) for v in range(nv) if mask[j, v]]
            cons.append(cp.norm(cp.hstack(terms)) <= 1.0)
    else:
        # rows of the rotated own signals: ci[s] (2 n_own, 2c): [+Im - tan Re; -Im - tan Re] per own user, every
        # row pair divided by ||q_j|| as for BLP (with the raw rows, ~250 in noise units, the first attempt at 1e-10
        # ended AlmostSolved in most SCA rounds and the ladder ran three solves per round)
        p["ci"] = [cp.Parameter((2 * n_own, 2 * c), name=f"ci{s}") for s in range(L)]
        p["ci_c"] = cp.Parameter(2 * n_own, nonneg=True, name="ci_c")       # sqrt(gamma_th (1 + I^2)) tan psi / ||q_j||
        p["ci_delta"] = cp.Parameter(2 * n_own, nonneg=True, name="ci_delta")   # delta / (cos psi ||q_j||)
        for s in range(L):
            cons.append(p["ci"][s] @ x[s] + p["ci_c"] * tau
                        + (cp.multiply(p["ci_delta"], cp.norm(x[s])) if robust else 0.0) <= 0)
        if scheme == "cbf":
            p["ici"] = cp.Parameter((2 * (nu - K), 2 * c), name="ici")          # rows of q_j^H / ||q_j||
            p["ici_cap"] = cp.Parameter(nu - K, nonneg=True, name="ici_cap")     # amplitude cap / ||q_j||
            p["ici_delta"] = cp.Parameter(nu - K, nonneg=True, name="ici_delta")  # delta / ||q_j||
            for s in range(L):
                for j in range(nu - K):
                    cons.append(cp.norm(p["ici"][2 * j:2 * j + 2] @ x[s])
                                + (p["ici_delta"][j] * cp.norm(x[s]) if robust else 0.0) <= p["ici_cap"][j])
    problem = cp.Problem(cp.Maximize(-p["wt"] * f + p["wg"] * tau), cons)
    return problem, p, dict(x=x, tau=tau, f=f)


# ================================================================================================ SLP template
def _slp_selectors(r: int) -> tuple[np.ndarray, np.ndarray]:
    """Constant rows on vec(Z) (Z: 2(r+1) square, F order) of the lifted [[R, x], [x^H, 1]]: S (2r, size) gives
    [Re x; Im x] (read-back of the Hermitian matrix, :func:`lifted.to_hermitian`), corner (size,) its (r, r) entry."""
    n = 2 * (r + 1)
    S = np.zeros((2 * r, n * n))
    idx = lambda i, j: i + n * j                                               # noqa: E731  (F order)
    for i in range(r):
        S[i, idx(i, r)] += 0.5
        S[i, idx(i + r + 1, 2 * r + 1)] += 0.5                                # Re x_i = (Z[i, r] + Z[i', r']) / 2
        S[r + i, idx(i + r + 1, r)] += 0.5
        S[r + i, idx(i, 2 * r + 1)] -= 0.5                                    # Im x_i = (Z[i', r] - Z[i, r']) / 2
    corner = np.zeros(n * n)
    corner[idx(r, r)] = corner[idx(2 * r + 1, 2 * r + 1)] = 0.5
    return S, corner


@functools.lru_cache(maxsize=32)
def _slp_template(scheme: str, J: int, K: int, c: int, r: int, L: int, stage: str, robust: bool = True):
    """(P3.A)/(P3.B) (CBF, one BS) or (P4) (CoMP, stage 'A') as a DPP problem: per symbol s a real lifting Z_s of
    [[R_s, x_s], [x_s^H, 1]] >= 0 (48d)/(62c); the FIM and powers use R = (1/L) sum_s R_s; robust CI (52)-(53) or
    (60)-(61) on x_s; CBF: ICI amplitude caps (56) and the leakage (48b). ``robust=False`` (delta = 0) omits the
    delta ||x_s|| cones (see :func:`_blp_template`)."""
    nt, npow, nleak = (1, 1, J - 1) if scheme == "cbf" else (J, J, 0)
    n_own = K if scheme == "cbf" else J * K
    n_other = J * K - K if scheme == "cbf" else 0
    n = 2 * (r + 1)
    size = n * n
    S, corner = _slp_selectors(r)
    z = [cp.Variable((n, n), PSD=True, name=f"Z{s}") for s in range(L)]
    Zs = lifted.stacked_vec(z)
    y = [S @ cp.vec(zs, order="F") for zs in z]
    p = dict(power=cp.Parameter((npow, size), name="power"), fim=cp.Parameter((6 * nt, size), name="fim"),
             ci=[cp.Parameter((2 * n_own, 2 * r), name=f"ci{s}") for s in range(L)])
    if robust:
        p["ci_xmap"] = cp.Parameter((2 * c, 2 * r), name="ci_xmap")
        ci_norm = [cp.norm(p["ci_xmap"] @ ys) for ys in y]                      # delta ||x_s|| / cos(psi), x_s = B y_s
    else:
        ci_norm = [0.0] * L
    cons = [corner @ Zs == 1.0, cp.sum(p["power"] @ Zs, axis=1) / L <= 1.0]
    fim_entries = cp.sum(p["fim"] @ Zs, axis=1) / L
    if nleak:
        p["leak"] = cp.Parameter((nleak, size), name="leak")
        leak = cp.sum(p["leak"] @ Zs, axis=1) / L
    if n_other:
        p["ici"] = cp.Parameter((2 * n_other, 2 * r), name="ici")
        ici = [cp.hstack([cp.norm(p["ici"][2 * j:2 * j + 2] @ y[s]) for j in range(n_other)]) for s in range(L)]
        if robust:
            p["ici_xmap"] = cp.Parameter((2 * c, 2 * r), name="ici_xmap")        # delta B in real form
            ici = [ici[s] + cp.norm(p["ici_xmap"] @ y[s]) for s in range(L)]
    if stage == "A":
        tau, f = cp.Variable(name="tau"), cp.Variable(name="f")
        p.update(ci_c=cp.Parameter(nonneg=True, name="ci_c"), wt=cp.Parameter(nonneg=True, name="wt"),
                 wg=cp.Parameter(nonneg=True, name="wg"), f_cap_inv=cp.Parameter(nonneg=True, name="f_cap_inv"))
        cons += [tau >= 1.0, p["f_cap_inv"] * f <= 1.0]
        cons += [p["ci"][s] @ y[s] + p["ci_c"] * tau + ci_norm[s] <= 0 for s in range(L)]
        cons += [c for t in range(nt) for c in _lmi([fim_entries[6 * t + i] for i in range(6)], f)]
        if nleak:
            p["leak_cap"] = cp.Parameter(nonneg=True, name="leak_cap")
            cons.append(leak <= p["leak_cap"])
        if n_other:
            p["ici_cap"] = cp.Parameter(nonneg=True, name="ici_cap")
            cons += [ici[s] <= p["ici_cap"] for s in range(L)]
        problem = cp.Problem(cp.Maximize(-p["wt"] * f + p["wg"] * tau), cons)
        return problem, p, dict(z=z, y=y, tau=tau, f=f)
    b = cp.Variable(2, nonneg=True, name="b")                                   # [ICI amplitude, leakage] / initial
    p.update(ci_const=cp.Parameter(nonneg=True, name="ci_const"), f_star_inv=cp.Parameter(nt, nonneg=True, name="f_star_inv"),
             b_old=cp.Parameter(2, nonneg=True, name="b_old"), bw=cp.Parameter(2, nonneg=True, name="bw"),
             ici_unit=cp.Parameter(nonneg=True, name="ici_unit"))
    cons += [p["ci"][s] @ y[s] + p["ci_const"] + ci_norm[s] <= 0 for s in range(L)]
    cons += [c for t in range(nt) for c in _lmi([fim_entries[6 * t + i] for i in range(6)], ("inverse", p["f_star_inv"][t]))]
    cons += [leak <= b[1], b <= p["b_old"]]
    cons += [ici[s] <= p["ici_unit"] * b[0] for s in range(L)]
    return cp.Problem(cp.Minimize(p["bw"] @ b), cons), p, dict(z=z, y=y, b=b)
