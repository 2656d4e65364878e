"""Hermitian PSD matrices of a semidefinite relaxation in a real, dimension-reduced, Parameter-friendly form.

Two exact reformulations make relaxations such as (SDR1.1) of the detection paper small and fast to re-solve:

1. *Subspace reduction.* If a PSD matrix X (N x N) enters a problem only through quadratic forms ``v^H X v`` with
   vectors from a known set V and through its trace in ``<=`` constraints, replacing X by P X P (P the projector
   onto span V) keeps every form, does not increase the trace and keeps X PSD; so an optimum exists with
   ``X = U Y U^H``, U (N x r) an orthonormal basis of span V, r <= |V|, Y (r x r) Hermitian PSD.
2. *Real embedding.* A Hermitian Y = A + jB is PSD iff ``[[A, -B], [B, A]]`` is. Instead of constraining the
   embedding's structure we let Z be any real symmetric PSD (2r x 2r) matrix: every data matrix of the form
   ``embed(M)`` commutes with ``J = [[0, -I], [I, 0]]``, so Z and its J-symmetrization ``(Z + J^T Z J) / 2`` (which
   is structured, PSD, and has the same trace) give identical constraint values. The Hermitian matrix is read back
   as ``Y = ((Z11 + Z22) + j (Z21 - Z12)) / 2``.

3. *Biorthogonal basis.* The basis need not be orthonormal: with X = B Y B^H (B of full column rank), X is PSD iff
   Y is, forms become (B^H v)^H Y (B^H v) and the trace the weighted trace tr(B^H B Y). Choosing B's first columns
   dual to a set of "primary" vectors (v_j^H b_k = delta_jk, the zero-forcing directions) and the rest orthonormal
   and orthogonal to them makes every primary form a single diagonal entry of Y; each column can then be scaled to
   the natural unit of its form (noise units for interference, P_max for signal power). This is what keeps
   interior-point residuals meaningful when users with ~60 dB SNR must be nulled to the noise floor while other
   directions carry the full power (see :func:`biorthogonal_basis`).

Quadratic forms then become rows of a real matrix applied to ``vec(Z)``; with the rows held in a ``cp.Parameter``
the problem is DPP and compiles once for every instance of the same shape.
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np


def subspace_basis(vectors: np.ndarray) -> np.ndarray:
    """Orthonormal basis U (N, r) of a space containing the columns of ``vectors`` (N, n); r = min(N, n).

    r = N (U = I) when the vectors cannot reduce the dimension. Rank-deficient sets keep r = n columns (still
    orthonormal, still containing the span), so the basis size depends only on the shapes.
    """
    n_dim, count = vectors.shape
    if count >= n_dim:
        return np.eye(n_dim, dtype=complex)
    q, _ = np.linalg.qr(vectors)
    return q


def biorthogonal_basis(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Basis [D | S] (N, r) of a space containing primary (N, p) and secondary (N, s) vectors, r = min(N, p + s).

    D (N, p) is dual to the primary vectors (``primary^H D = I``: column k is the zero-forcing direction of vector k);
    S is orthonormal and orthogonal to every primary vector. Requires p <= N and linearly independent primary vectors.
    """
    n_dim, p = primary.shape
    if p > n_dim:
        raise ValueError(f"{p} primary vectors in dimension {n_dim} have no dual basis")
    dual = np.linalg.pinv(primary).conj().T                      # primary^H dual = I (least-norm solution)
    r = min(n_dim, p + secondary.shape[1])
    rest = secondary - primary @ np.linalg.lstsq(primary, secondary, rcond=None)[0]
    if r - p == 0:
        return dual
    complement = np.linalg.svd(rest, full_matrices=False)[0][:, :r - p] if rest.shape[1] >= r - p else None
    if complement is None or complement.shape[1] < r - p:      # pad with directions orthogonal to everything so far
        q, _ = np.linalg.qr(np.concatenate([primary, rest], axis=1), mode="complete")
        complement = q[:, p:r]
    return np.concatenate([dual, complement], axis=1)


#: Largest condition number of the unit-norm primary vectors (CU channels) for which :func:`scaled_basis` uses the
#: dual basis. Nearly parallel channels (e.g. LoS CUs in one direction from a BS) make the dual columns huge; the
#: orthonormal basis is then the better-conditioned choice. Measured: parallel LoS channels (cond ~1e16) fail every
#: Clarabel attempt with the dual basis, and are proven infeasible with the orthonormal one (detection model).
DUAL_CONDITION_LIMIT = 1e4


def scaled_basis(primary: np.ndarray, secondary: np.ndarray, scale: np.ndarray, *, unit_columns=(),
                 cap_at_unit_power: bool = False) -> np.ndarray:
    """The basis every SDR template of the papers uses: :func:`biorthogonal_basis` with dual column j scaled by
    ``scale[j]`` (the interference CU j tolerates, so its form is an order-one entry), capped at unit norm with
    ``cap_at_unit_power``, and the ``unit_columns`` normalized (a CU's own signal column); an orthonormal basis of the
    same span (exact, less well scaled) when there are more primary vectors than dimensions or they are nearly
    parallel (condition number of the unit-norm vectors > DUAL_CONDITION_LIMIT)."""
    n_dim, p = primary.shape
    directions = primary / np.linalg.norm(primary, axis=0)
    if p > n_dim or np.linalg.cond(directions) > DUAL_CONDITION_LIMIT:
        return subspace_basis(np.concatenate([primary, secondary], axis=1))
    basis = biorthogonal_basis(primary, secondary)
    factor = np.broadcast_to(np.asarray(scale, float), (p,))
    if cap_at_unit_power:
        factor = np.minimum(factor, 1.0 / np.linalg.norm(basis[:, :p], axis=0))
    basis[:, :p] *= factor
    for j in unit_columns:
        basis[:, j] /= np.linalg.norm(basis[:, j])
    return basis


def trace_row(basis: np.ndarray) -> np.ndarray:
    """Row ((2r)^2,) such that ``row @ vec(Z) = tr(X)`` for X = B Y(Z) B^H (any basis, orthonormal or not)."""
    return 0.5 * embed(basis.conj().T @ basis).ravel()


def embed(m: np.ndarray) -> np.ndarray:
    """Real embedding [[Re M, -Im M], [Im M, Re M]] of complex matrices (..., r, r) -> (..., 2r, 2r)."""
    top = np.concatenate([m.real, -m.imag], axis=-1)
    bottom = np.concatenate([m.imag, m.real], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def form_rows(basis: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Rows (n, (2r)^2) such that ``rows @ vec(Z) = [v_j^H X v_j]_j`` for X = U Y(Z) U^H; vectors (N, n) complex."""
    g = basis.conj().T @ vectors                                  # (r, n) reduced coordinates
    gh = np.concatenate([g.real, g.imag], axis=0)                 # (2r, n)
    gc = np.concatenate([-g.imag, g.real], axis=0)
    rows = 0.5 * (np.einsum("in,jn->nij", gh, gh) + np.einsum("in,jn->nij", gc, gc))
    return rows.reshape(vectors.shape[1], -1)


def matrix_rows(basis: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Rows (n, (2r)^2) such that ``rows @ vec(Z) = [Re tr(M_j X)]_j``; matrices (n, N, N) complex."""
    m = np.einsum("ia,nij,jb->nab", basis.conj(), matrices, basis)  # U^H M U
    m = 0.5 * (m + np.conj(np.swapaxes(m, -1, -2)))                 # Re tr(M X) = tr(herm(M) X)
    return 0.5 * embed(m).reshape(len(matrices), -1)


def variable(r: int, name: str) -> cp.Variable:
    """The real symmetric PSD variable Z (2r x 2r) standing for one Hermitian PSD matrix."""
    return cp.Variable((2 * r, 2 * r), PSD=True, name=name)


def stacked_vec(variables: list[cp.Variable]) -> cp.Expression:
    """((2r)^2, k) expression whose columns are vec(Z) of the k variables (for ``rows @ stacked_vec(...)``)."""
    return cp.vstack([cp.vec(z, order="F") for z in variables]).T


def to_hermitian(z_value: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Read back X = U Y U^H (N x N complex Hermitian) from a value of Z (2r x 2r)."""
    r = z_value.shape[0] // 2
    a = 0.5 * (z_value[:r, :r] + z_value[r:, r:])
    b = 0.5 * (z_value[r:, :r] - z_value[:r, r:])
    y = a + 1j * b
    y = 0.5 * (y + y.conj().T)
    return basis @ y @ basis.conj().T
