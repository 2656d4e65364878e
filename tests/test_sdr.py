import numpy as np
import pytest

from isacopt.algorithms import sdr


def test_constructive_rank_one_keeps_form_and_leaves_psd_rest(rng):
    A = rng.standard_normal((6, 6)) + 1j * rng.standard_normal((6, 6))
    W = A @ A.conj().T                                         # full rank
    h = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    w, rest = sdr.constructive_rank_one(W, h)
    assert abs(np.vdot(h, w)) ** 2 == pytest.approx(np.real(np.vdot(h, W @ h)), rel=1e-12)
    assert np.linalg.eigvalsh(rest).min() > -1e-9 * np.linalg.eigvalsh(W).max()
    assert np.allclose(rest + np.outer(w, w.conj()), W)
    # every other direction's form can only shrink: |g^H w|^2 <= g^H W g (Cauchy-Schwarz)
    G = rng.standard_normal((6, 20)) + 1j * rng.standard_normal((6, 20))
    assert np.all(np.abs(G.conj().T @ w) ** 2 <= np.real(np.einsum("in,ij,jn->n", G.conj(), W, G)) * (1 + 1e-12))


def test_rank_one_helpers(rng):
    v = rng.standard_normal(5) + 1j * rng.standard_normal(5)
    W = np.outer(v, v.conj())
    assert sdr.eigen_ratio(W) < 1e-12
    u = sdr.principal_component(W)
    assert np.allclose(np.outer(u, u.conj()), W)
    assert sdr.eigen_ratio(np.eye(3)) == pytest.approx(1.0)
    noisy = W - 1e-12 * np.eye(5)                              # slightly indefinite, as differences of PSD matrices are
    eig = np.linalg.eigvalsh(sdr.nearest_psd(noisy))
    assert eig.min() >= -1e-14 * eig.max()                     # clipped to round-off relative to the norm
    w, rest = sdr.constructive_rank_one(W, np.zeros(5))        # no power along h: all of W is remainder
    assert np.allclose(w, 0) and np.allclose(rest, W)


class _UnboundedModel:
    """A model whose relaxation is (wrongly) unbounded: stands in for a solver that claims so on a bounded model."""

    problem_name, method, objective_name, sense = "toy", "sdr", "x", "max"

    def __init__(self, bounded):
        import cvxpy as cp
        self.bounded = bounded
        x = cp.Variable()
        self.problem = cp.Problem(cp.Maximize(x), [x >= 0])

    def describe(self):
        return {}, {}

    def precheck(self):
        return None

    def bind(self):
        pass

    def recover(self):                 # never reached: an unbounded answer has no solution to recover
        raise AssertionError("recover() called on an unbounded relaxation")

    def assess(self, solution, claimed):
        raise AssertionError("assess() called on an unbounded relaxation")


@pytest.mark.parametrize("bounded, expected", [(True, "error"), (False, "unbounded")])
def test_unbounded_answer_on_a_bounded_model_is_a_solver_error(bounded, expected):
    """An 'unbounded' status can be a property (a model without bounds) or, for a model whose power constraints
    bound every variable, only a numerical failure: then the driver reports an error and says why."""
    result = sdr.solve_relaxation(_UnboundedModel(bounded))
    assert result.status.value == expected and result.objective is None
    assert bounded == any("impossible for this model" in n for n in result.notes)
