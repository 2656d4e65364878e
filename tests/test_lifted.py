import cvxpy as cp
import numpy as np
import pytest

from isacopt.algorithms import lifted


def _psd(rng, n):
    a = rng.standard_normal((n, n))
    return a @ a.T


def test_forms_trace_and_readback(rng):
    n_dim, count = 10, 4
    V = rng.standard_normal((n_dim, count)) + 1j * rng.standard_normal((n_dim, count))
    U = lifted.subspace_basis(V)
    assert U.shape == (n_dim, count) and np.allclose(U.conj().T @ U, np.eye(count))
    Z = _psd(rng, 2 * count)                                  # any real PSD Z, not only embeddings
    X = lifted.to_hermitian(Z, U)
    assert np.allclose(X, X.conj().T) and np.linalg.eigvalsh(X).min() > -1e-10
    forms = np.real(np.einsum("in,ij,jn->n", V.conj(), X, V))
    assert np.allclose(lifted.form_rows(U, V) @ Z.ravel(order="F"), forms)
    M = rng.standard_normal((3, n_dim, n_dim)) + 1j * rng.standard_normal((3, n_dim, n_dim))
    assert np.allclose(lifted.matrix_rows(U, M) @ Z.ravel(order="F"), np.real(np.einsum("nij,ji->n", M, X)))
    assert np.trace(Z) / 2 == pytest.approx(np.trace(X).real)


def test_no_reduction_when_vectors_span_the_space(rng):
    V = rng.standard_normal((3, 5)) + 0j
    assert np.allclose(lifted.subspace_basis(V), np.eye(3))


def test_reduced_real_sdp_equals_complex_sdp(rng):
    """max sum_j w_j v_j^H X v_j s.t. tr X <= 1, X PSD: the reduced real lifting and cvxpy's complex Hermitian
    variable give the same optimum (the largest eigenvalue of sum_j w_j v_j v_j^H)."""
    n_dim, count = 12, 3
    V = rng.standard_normal((n_dim, count)) + 1j * rng.standard_normal((n_dim, count))
    weights = np.array([1.0, 2.0, 0.5])
    U = lifted.subspace_basis(V)
    Z = lifted.variable(count, "Z")
    rows = cp.Parameter((count, 4 * count * count), value=lifted.form_rows(U, V))
    reduced = cp.Problem(cp.Maximize(weights @ (rows @ cp.vec(Z, order="F"))), [lifted.trace_row(U) @ cp.vec(Z, order="F") <= 1])
    assert reduced.is_dpp()
    reduced.solve(solver="CLARABEL")
    X = cp.Variable((n_dim, n_dim), hermitian=True)
    full = cp.Problem(cp.Maximize(cp.real(sum(w * cp.quad_form(v, X) for w, v in zip(weights, V.T)))),
                      [X >> 0, cp.real(cp.trace(X)) <= 1])
    full.solve(solver="CLARABEL")
    exact = np.linalg.eigvalsh((V * weights) @ V.conj().T)[-1]
    assert reduced.value == pytest.approx(exact, rel=1e-7) and full.value == pytest.approx(exact, rel=1e-7)
