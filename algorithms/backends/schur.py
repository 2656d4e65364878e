"""A Schur-complement interior point for SDPs with few constraints (``SCHUR``: NumPy, BSD-3 like the project).

cvxpy hands a solver min c'x s.t. Ax + s = b, s in K (Clarabel's form). A PSD row that reads one variable no earlier
row defined defines it (s = b - a x: the variable *is* the cone's matrix entry); every other PSD row (an LMI's, a
constant entry) stays an equality row. What remains is the standard primal form with m = #zero + #nonnegative +
#kept PSD rows equality constraints,

    min <C, X> + c_f'w   s.t.   A(X) + F w = b~,   X = (PSD blocks, nonnegative vector) in K,  w free,

whose Newton system is the m x m Schur complement M_ij = <A_i, X A_j Z^-1> (the HKM direction; plus the free
variables' saddle rows). On the detection SDR (twelve 36 x 36 blocks, 21 rows) Clarabel factors a KKT system with a
dense 666 x 666 block per cone instead. :func:`check` says whether the form exists (zero, nonnegative and PSD cones,
at most MAX_ROWS rows) and whether :func:`cost_model` expects SCHUR to pay; :func:`standard_form` does the
elimination (or raises :class:`NotApplicable`), :func:`solve_standard` the Mehrotra predictor-corrector iteration,
and :class:`SchurSolver` plugs both into cvxpy as a custom solver that answers in Clarabel's format (x, z, s, status),
so cvxpy's unpacking, the duals and the certificates are unchanged. No infeasibility certificates: an infeasible or
unbounded problem ends short of its tolerance and the ladder's next rung (Clarabel) classifies it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import CLARABEL

from .certificate import psd_pack, psd_unpack

#: Stopping tolerance on the relative primal and dual residuals and the relative gap (Clarabel's "precise" rung).
TOL = 1e-10
#: When the iteration stalls above TOL (near the optimum the Schur complement's condition grows like 1/mu^2 and the
#: primal residual climbs back, measured on detection_k3: 4e-12 -> 2e-10 -> 1e-8 while the gap stays at 4e-11), its
#: best point counts as solved within this (Clarabel's default tolerance, its "standard" rung, which the ladder also
#: accepts), else "AlmostSolved" within ALMOST_TOL. Every answer is re-verified against the model's constraints.
ACCEPT_TOL = 1e-8
ALMOST_TOL = 1e-7
#: Iterations without a better point that end the iteration.
STALL = 4
MAX_ITER = 100
#: Fraction of the step to the boundary of the cone.
STEP = 0.98


class NotApplicable(ValueError):
    """The conic data has no few-constraint standard form this backend handles."""


@dataclass
class StandardForm:
    """min sum_k <C_k, X_k> + c_l'x_l + c_f'w s.t. sum_k A_k(X_k) + A_l x_l + F w = b (A_k: (m, n_k, n_k))."""

    A: list[np.ndarray]
    C: list[np.ndarray]
    A_l: np.ndarray
    c_l: np.ndarray
    F: np.ndarray
    c_f: np.ndarray
    b: np.ndarray
    # the way back to the conic data's x and z
    psd_rows: list[np.ndarray]       # per block: the conic rows of its svec entries
    psd_cols: np.ndarray             # per PSD row: the variable it reads (-1: a constant row)
    psd_coef: np.ndarray             # and its coefficient a (x = (b - s) / a)
    free_cols: np.ndarray
    n_zero: int
    n_rows: int                      # rows of the conic data
    n_vars: int
    offset: float                    # constant of the objective


#: Largest number of equality rows m of the standard form (the Schur complement is a dense m x m matrix, and every
#: block stores m dense n x n constraint matrices); above it Clarabel's sparse KKT system is the better tool.
MAX_ROWS = 400


def _eliminated(P) -> np.ndarray:
    """Per PSD row: True when it alone defines a variable (it reads one variable, the first such row for it)."""
    counts = np.diff(P.indptr)
    single = np.flatnonzero(counts == 1)
    _, first = np.unique(P.indices[P.indptr[single]], return_index=True)
    elim = np.zeros(P.shape[0], dtype=bool)
    elim[single[first]] = True
    return elim


def check(data: dict, cost: bool = True) -> str | None:
    """Why Clarabel-form conic data has no standard form this backend handles (None: it has one); with ``cost``, also
    None only where :func:`cost_model` says SCHUR pays (the default path's rule; an explicit request skips it)."""
    dims = data["dims"]
    if dims.soc or dims.exp or dims.p3d or getattr(dims, "pnd", None) or not dims.psd:
        return "only zero, nonnegative and PSD cones, at least one PSD cone"
    if data.get("P") is not None and getattr(data["P"], "nnz", 0):
        return "quadratic objective"
    top = dims.zero + dims.nonneg
    P = sp.csr_matrix(data["A"])[top:]
    rows = top + int(np.sum(~_eliminated(P)))
    if rows > MAX_ROWS:
        return f"{rows} constraint rows in the standard form (more than {MAX_ROWS})"
    clarabel, schur = cost_model(dims.psd, rows)
    if cost and (clarabel < MIN_CLARABEL_FLOPS or clarabel < COST_RATIO * schur):
        return (f"Clarabel is the cheaper method here (PSD blocks up to {max(dims.psd)}, {rows} rows: "
                f"~{clarabel:.1e} vs ~{schur:.1e} flops per iteration)")
    return None


#: Where SCHUR pays (:func:`cost_model`): Clarabel's per-iteration work at least COST_RATIO times SCHUR's and at least
#: MIN_CLARABEL_FLOPS (below, Clarabel's compiled iteration beats a NumPy one whatever the ratio). Calibrated on:
#: detection K = 3, N_t = 32 (ratio 190: SCHUR 65x faster), N_t = 8 (ratio 12: 2.3x), localization (ratio 15: 2.6x);
#: the CBF trusses (2x3_3bars: one 10 x 10 block, 157 rows, ratio 0.03) were 20x slower with SCHUR.
COST_RATIO = 10.0
MIN_CLARABEL_FLOPS = 1e7


def cost_model(blocks, rows: int) -> tuple[float, float]:
    """Rough flops per interior-point iteration: Clarabel factors a dense t x t block per PSD cone (t = n(n+1)/2),
    SCHUR forms and factors the m x m Schur complement (m n^3 + m^2 n^2 per block, m^3)."""
    blocks = np.asarray(blocks, float)
    t = blocks * (blocks + 1) / 2
    return float(np.sum(t ** 3)), float(np.sum(rows * blocks ** 3 + rows ** 2 * blocks ** 2) + rows ** 3)


def standard_form(data: dict) -> StandardForm:
    """Eliminate the PSD variables of Clarabel-form conic data (see the module docstring). A PSD row that reads one
    variable no earlier row defined defines it (x = (b - s) / a); every other PSD row (an LMI's, or a constant entry)
    stays as an equality row s_r + A_r x = b_r, with s_r that block's entry."""
    reason = check(data, cost=False)
    if reason is not None:
        raise NotApplicable(reason)
    dims = data["dims"]
    A = sp.csr_matrix(data["A"])
    b, c = np.asarray(data["b"], float), np.asarray(data["c"], float)
    top = dims.zero + dims.nonneg
    P = A[top:]
    n_psd = P.shape[0]
    has = _eliminated(P)
    cols, coef = np.full(n_psd, -1), np.ones(n_psd)
    cols[has], coef[has] = P.indices[P.indptr[:-1][has]], P.data[P.indptr[:-1][has]]
    free = np.setdiff1d(np.arange(A.shape[1]), cols[has])
    kept = np.flatnonzero(~has)                  # PSD rows that stay equality rows
    E = sp.vstack([A[:top], P[kept]]).tocsc()    # the equality rows, in the original variables
    m = E.shape[0]
    G = (E[:, cols[has]] @ sp.diags(1.0 / coef[has])).toarray()      # x_col = (b_r - s_r) / a_r
    G_full = np.zeros((m, n_psd))
    G_full[:, has] = -G
    G_full[top + np.arange(len(kept)), kept] += 1.0                   # the block's own entry s_r
    b_E = np.concatenate([b[:top], b[top:][kept]])
    rhs = b_E - G @ b[top:][has]
    c_s = np.zeros(n_psd)
    c_s[has] = -c[cols[has]] / coef[has]
    offset = float(c[cols[has]] @ (b[top:][has] / coef[has]))
    blocks, Cs, rows, start = [], [], [], 0
    for n in dims.psd:
        k = n * (n + 1) // 2
        idx = np.arange(start, start + k)
        blocks.append(np.stack([psd_unpack(G_full[i, idx], n) for i in range(m)]) if m else np.zeros((0, n, n)))
        Cs.append(psd_unpack(c_s[idx], n))
        rows.append(idx)
        start += k
    A_l = np.zeros((m, dims.nonneg))
    A_l[dims.zero + np.arange(dims.nonneg), np.arange(dims.nonneg)] = 1.0      # the slack of each inequality
    F = E[:, free].toarray()
    return StandardForm(blocks, Cs, A_l, np.zeros(dims.nonneg), F, c[free], rhs, rows, cols, coef, free,
                        dims.zero, A.shape[0], A.shape[1], offset)


@dataclass
class Answer:
    """What cvxpy's Clarabel interface reads from a solver's answer."""

    status: str
    x: np.ndarray | None
    z: np.ndarray | None
    s: np.ndarray | None
    obj_val: float
    iterations: int
    solve_time: float
    residuals: tuple = ()


def _sym(M):
    return 0.5 * (M + np.swapaxes(M, -1, -2))


def _max_step(X, dX, lp=False):
    """Largest alpha <= 1 keeping X + alpha dX in the cone (PSD block or nonnegative vector)."""
    if lp:
        neg = dX < 0
        return min(1.0, float(np.min(-X[neg] / dX[neg]))) if neg.any() else 1.0
    L = np.linalg.cholesky(X)
    Li = np.linalg.inv(L)
    lam = np.linalg.eigvalsh(_sym(Li @ dX @ Li.T))[0]
    return 1.0 if lam >= 0 else min(1.0, -1.0 / lam)


def solve_standard(sf: StandardForm, tol: float = TOL, max_iter: int = MAX_ITER, deadline: float | None = None,
                   trace: list | None = None):
    """Infeasible primal-dual path following (HKM direction, Mehrotra predictor-corrector) on the standard form.
    Rows are scaled to unit norm first. Returns (status, X blocks, x_l, w, y, Z blocks, z_l, iterations, residuals)."""
    m = len(sf.b)
    norms = np.sqrt(sum(np.sum(Ak ** 2, axis=(1, 2)) for Ak in sf.A) + np.sum(sf.A_l ** 2, 1) + np.sum(sf.F ** 2, 1))
    norms = np.where(norms > 0, norms, 1.0)
    A = [Ak / norms[:, None, None] for Ak in sf.A]
    A_l, F, b = sf.A_l / norms[:, None], sf.F / norms[:, None], sf.b / norms
    C, c_l, c_f = sf.C, sf.c_l, sf.c_f
    sizes = [Ak.shape[1] for Ak in A]
    Af = [Ak.reshape(m, -1) for Ak in A]
    nu = sum(sizes) + len(c_l)
    nb, nc = 1.0 + np.linalg.norm(b), 1.0 + np.sqrt(sum(np.sum(Ck ** 2) for Ck in C) + c_l @ c_l + c_f @ c_f)
    # starting point (SDPT3's rule of thumb): X = xi I, Z = eta I
    X, Z = [], []
    for Ak, Ck, n in zip(A, C, sizes):
        an = np.sqrt(np.sum(Ak ** 2, axis=(1, 2))) if m else np.zeros(0)
        xi = max(10.0, np.sqrt(n), n * float(np.max((1 + np.abs(b)) / (1 + an))) if m else 10.0)
        eta = max(10.0, np.sqrt(n), float(max(np.linalg.norm(Ck), an.max() if m else 0.0)))
        X.append(xi * np.eye(n))
        Z.append(eta * np.eye(n))
    x_l, z_l = np.full(len(c_l), 10.0), np.full(len(c_l), 10.0)
    w, y = np.zeros(len(c_f)), np.zeros(m)
    f = len(c_f)

    def op(Xs, xl):
        return sum(Afk @ Xk.ravel() for Afk, Xk in zip(Af, Xs)) + A_l @ xl

    def adj(v):
        return [(Afk.T @ v).reshape(n, n) for Afk, n in zip(Af, sizes)], A_l.T @ v

    status, best, best_it = "MaxIterations", None, 0
    for it in range(1, max_iter + 1):
        Zi = [np.linalg.inv(Zk) for Zk in Z]
        rp = b - op(X, x_l) - F @ w
        AtY, AtY_l = adj(y)
        Rd = [Ck - Ak - Zk for Ck, Ak, Zk in zip(C, AtY, Z)]
        rd_l = c_l - AtY_l - z_l
        rf = c_f - F.T @ y
        mu = (sum(np.sum(Xk * Zk) for Xk, Zk in zip(X, Z)) + x_l @ z_l) / nu
        pobj = sum(np.sum(Ck * Xk) for Ck, Xk in zip(C, X)) + c_l @ x_l + c_f @ w
        dobj = b @ y
        res = (np.linalg.norm(rp) / nb,
               np.sqrt(sum(np.sum(R ** 2) for R in Rd) + rd_l @ rd_l + rf @ rf) / nc,
               abs(pobj - dobj) / (1.0 + abs(pobj) + abs(dobj)))
        if trace is not None:
            trace.append(res + (mu,))
        if max(res) <= tol:
            status = "Solved"
            break
        if best is None or max(res) < max(best[0]):
            best = (res, [Xk.copy() for Xk in X], x_l.copy(), w.copy(), y.copy(), [Zk.copy() for Zk in Z],
                    z_l.copy())
            best_it = it
        elif it - best_it >= STALL:
            status = "InsufficientProgress"
            break
        if deadline is not None and time.monotonic() > deadline:
            status = "MaxTime"
            break
        if not np.isfinite(mu) or mu > 1e30:
            status = "NumericalError"
            break
        # Schur complement (HKM): M_ij = <A_i, X A_j Z^-1>, LP: A_l diag(x/z) A_l'
        M = np.zeros((m, m))
        for Afk, Ak, Xk, Zik in zip(Af, A, X, Zi):
            M += Afk @ (Xk @ Ak @ Zik).reshape(m, -1).T
        M += (A_l * (x_l / z_l)) @ A_l.T
        K = np.block([[_sym(M), F], [F.T, np.zeros((f, f))]]) if f else _sym(M)
        try:
            lu = np.linalg.cholesky(K) if not f else None
        except np.linalg.LinAlgError:
            lu = None

        def solve_kkt(r1, r2):
            rhs = np.concatenate([r1, r2])

            def once(r):
                if lu is not None:
                    return np.linalg.solve(lu.T, np.linalg.solve(lu, r))
                try:
                    return np.linalg.solve(K, r)
                except np.linalg.LinAlgError:
                    return np.linalg.lstsq(K, r, rcond=None)[0]
            sol = once(rhs)
            sol = sol + once(rhs - K @ sol)          # one step of iterative refinement
            return sol[:m], sol[m:]

        def direction(Rc, rc_l):
            """Newton step for the complementarity targets Rc (= target - XZ terms) per block and rc_l."""
            H = [Rck @ Zik - Xk @ Rdk @ Zik for Rck, Zik, Xk, Rdk in zip(Rc, Zi, X, Rd)]
            h_l = (rc_l - x_l * rd_l) / z_l
            dy, dw = solve_kkt(rp - op(H, h_l), rf)
            AtD, AtD_l = adj(dy)
            dZ = [Rdk - Ak for Rdk, Ak in zip(Rd, AtD)]
            dz_l = rd_l - AtD_l
            dX = [_sym(Hk + Xk @ Ak @ Zik) for Hk, Xk, Ak, Zik in zip(H, X, AtD, Zi)]
            dx_l = h_l + (x_l / z_l) * AtD_l
            return dX, dx_l, dw, dy, dZ, dz_l

        def steps(dX, dx_l, dZ, dz_l):
            ap = min([_max_step(Xk, dXk) for Xk, dXk in zip(X, dX)] + [_max_step(x_l, dx_l, True)])
            ad = min([_max_step(Zk, dZk) for Zk, dZk in zip(Z, dZ)] + [_max_step(z_l, dz_l, True)])
            return ap, ad

        try:
            XZ = [Xk @ Zk for Xk, Zk in zip(X, Z)]
            pred = direction([-P for P in XZ], -x_l * z_l)
            ap, ad = steps(pred[0], pred[1], pred[4], pred[5])
            mu_aff = (sum(np.sum((Xk + ap * dXk) * (Zk + ad * dZk)) for Xk, dXk, Zk, dZk in
                          zip(X, pred[0], Z, pred[4])) + (x_l + ap * pred[1]) @ (z_l + ad * pred[5])) / nu
            sigma = min(1.0, max(0.0, mu_aff / mu) ** 3)
            Rc = [sigma * mu * np.eye(n) - P - dXk @ dZk for n, P, dXk, dZk in zip(sizes, XZ, pred[0], pred[4])]
            rc_l = sigma * mu - x_l * z_l - pred[1] * pred[5]
            dX, dx_l, dw, dy, dZ, dz_l = direction(Rc, rc_l)
            ap, ad = steps(dX, dx_l, dZ, dz_l)
        except np.linalg.LinAlgError:
            status = "NumericalError"
            break
        ap, ad = STEP * ap, STEP * ad
        if max(ap, ad) < 1e-10:
            status = "InsufficientProgress"
            break
        X = [Xk + ap * dXk for Xk, dXk in zip(X, dX)]
        x_l = x_l + ap * dx_l
        w = w + ap * dw
        y = y + ad * dy
        Z = [Zk + ad * dZk for Zk, dZk in zip(Z, dZ)]
        z_l = z_l + ad * dz_l
    if status != "Solved" and best is not None:
        res, X, x_l, w, y, Z, z_l = best
        status = ("Solved" if max(res) <= ACCEPT_TOL else "AlmostSolved" if max(res) <= ALMOST_TOL else
                  "NumericalError" if status == "MaxIterations" else status)
    return status, X, x_l, w, y / norms, Z, z_l, it, res


def solve_data(data: dict, tol: float = TOL, max_iter: int = MAX_ITER, time_limit: float | None = None) -> Answer:
    """Solve Clarabel-form conic data through :func:`standard_form`; the answer in Clarabel's variables."""
    t0 = time.perf_counter()
    sf = standard_form(data)
    deadline = None if time_limit is None else time.monotonic() + time_limit
    status, X, x_l, w, y, Z, z_l, iterations, res = solve_standard(sf, tol, max_iter, deadline)
    b = np.asarray(data["b"], float)
    top = sf.n_zero + len(sf.c_l)
    s_psd = np.concatenate([psd_pack(Xk) for Xk in X])
    z_psd = np.concatenate([psd_pack(Zk) for Zk in Z])
    x = np.zeros(sf.n_vars)
    x[sf.free_cols] = w
    reads = sf.psd_cols >= 0
    x[sf.psd_cols[reads]] = (b[top:][reads] - s_psd[reads]) / sf.psd_coef[reads]
    s = np.concatenate([np.zeros(sf.n_zero), x_l, s_psd])
    z = np.concatenate([-y[:top], z_psd])
    obj = float(np.asarray(data["c"], float) @ x)
    return Answer(status, x, z, s, obj, iterations, time.perf_counter() - t0, res)


class SchurSolver(CLARABEL):
    """cvxpy custom solver ``SCHUR``: Clarabel's conic form, :func:`solve_data` instead of Clarabel. Settings:
    ``tol``, ``max_iter``, ``time_limit``. Raises :class:`NotApplicable` (a failed attempt for the ladder) when the
    problem has no few-constraint standard form."""

    def name(self):
        return "SCHUR"

    def import_solver(self) -> None:
        return None

    def supports_quad_obj(self) -> bool:
        return False

    def solve_via_data(self, data, warm_start: bool, verbose: bool, solver_opts, solver_cache=None):
        opts = dict(solver_opts or {})
        opts.pop("use_quad_obj", None)
        unknown = set(opts) - {"tol", "max_iter", "time_limit"}
        if unknown:
            raise TypeError(f"SCHUR: unrecognized setting(s) {sorted(unknown)}: expected tol, max_iter, time_limit")
        return solve_data(data, **opts)


#: The instance cvxpy sees (one, so that its problem-data cache keys stay stable).
SCHUR = SchurSolver()
