"""Small conic problems with known optima, solved by every installed conic solver (after cvxpy's
``solver_test_helpers``): each builder returns (problem, known optimal value, {constraint index: known dual})."""
import cvxpy as cp
import numpy as np


def lp():
    """min -x - y s.t. x + 2y <= 4, 3x + y <= 6, x, y >= 0: optimum at (8/5, 6/5), value -14/5; duals (2/5, 1/5)."""
    x = cp.Variable(2)
    cons = [x[0] + 2 * x[1] <= 4, 3 * x[0] + x[1] <= 6, x >= 0]
    return cp.Problem(cp.Minimize(-cp.sum(x)), cons), -14 / 5, {0: 2 / 5, 1: 1 / 5}


def socp():
    """min t s.t. ||(x - 3, y + 4)|| <= t, x + y = 0: the distance from (3, -4) to the line x + y = 0 is 1/sqrt(2)."""
    x, t = cp.Variable(2), cp.Variable()
    cons = [cp.norm(x - np.array([3.0, -4.0])) <= t, cp.sum(x) == 0]
    return cp.Problem(cp.Minimize(t), cons), 1 / np.sqrt(2), {}


def lovasz_theta_c5():
    """Lovasz theta of the 5-cycle: max <J, X> s.t. tr X = 1, X_ij = 0 on edges, X PSD; value sqrt(5)."""
    X = cp.Variable((5, 5), symmetric=True)
    cons = [X >> 0, cp.trace(X) == 1] + [X[i, (i + 1) % 5] == 0 for i in range(5)]
    return cp.Problem(cp.Maximize(cp.sum(X)), cons), np.sqrt(5), {}


def hermitian_max_eig():
    """max Re tr(M X) over Hermitian PSD X with tr X = 1: the largest eigenvalue of a fixed Hermitian M."""
    rng = np.random.default_rng(7)
    A = rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))
    M = A + A.conj().T
    X = cp.Variable((4, 4), hermitian=True)
    cons = [X >> 0, cp.real(cp.trace(X)) == 1]
    return cp.Problem(cp.Maximize(cp.real(cp.trace(M @ X))), cons), float(np.linalg.eigvalsh(M)[-1]), {}


def infeasible_lp():
    x = cp.Variable(2)
    return cp.Problem(cp.Minimize(cp.sum(x)), [x >= 1, cp.sum(x) <= 1]), None, {}


FEASIBLE = {"lp": lp, "socp": socp, "lovasz_theta_c5": lovasz_theta_c5, "hermitian_max_eig": hermitian_max_eig}
