"""Semidefinite relaxation (SDR) machinery: solve a relaxation, recover rank-one beamformers, verify.

:func:`solve_relaxation` is the driver every SDR-based method uses. It receives a *model* object (built by a paper
module) and never knows which paper it serves. The model provides:

- ``problem``: a cvxpy problem (a shared template compiled once per shape, see :mod:`.lifted`);
- ``bind()``: load this instance's data into the template's Parameters;
- ``recover()`` -> ``(solution, claimed)``: read the optimal variables, apply the rank-one recovery, and convert the
  solver's optimal value into the quantity the model's ``assess`` will recompute (``claimed``);
- ``assess(solution, claimed)`` -> :class:`~.finalize.Assessment`: objective, metrics and :class:`~.verify.Check` list, recomputed
  from the solution with plain NumPy against the original, unrelaxed constraints, and whether an optimal solve
  proves the point optimal (``proven``; else the relaxation's ``bound`` and the gap decide, :func:`.finalize`);
- ``describe()`` -> ``(scenario dict, channels dict)`` for the self-contained JSON result;
- ``precheck()`` -> ``None`` or the reason the instance is infeasible by a simple certificate (checked first);
- attributes ``problem_name``, ``method``, ``objective_name``, ``sense``; optionally ``bounded = True`` when the
  relaxation's objective is bounded (power constraints, a PSD objective), so "unbounded" is reported as an error.
"""
from __future__ import annotations

import time

import numpy as np

from . import backends, limits
from .finalize import finalize
from .protocols import RelaxationModel
from .result import Result, Status, Termination


def constructive_rank_one(w_matrix: np.ndarray, h: np.ndarray, floor: float = 0.0):
    """Rank-one part of a PSD matrix W that keeps the form along h: w = W h / sqrt(h^H W h).

    Then ``|h^H w|^2 = h^H W h`` and ``W - w w^H`` is PSD (Cauchy-Schwarz), so the remainder can be moved to a
    PSD slack (the sensing covariance in Prop. 1-2, eq. (36)-(37), of the detection paper). Returns
    ``(w, W - w w^H)``; when ``h^H W h <= floor`` the whole matrix is remainder and w = 0.
    """
    wh = w_matrix @ h
    power = float(np.real(np.vdot(h, wh)))
    if power <= floor:
        return np.zeros_like(h), w_matrix.copy()
    w = wh / np.sqrt(power)
    return w, w_matrix - np.outer(w, w.conj())


def eigen_ratio(matrix: np.ndarray) -> float:
    """lambda_2 / lambda_1 of a Hermitian PSD matrix (0 for rank one; 0 for the zero matrix)."""
    eig = np.linalg.eigvalsh(0.5 * (matrix + matrix.conj().T))
    return float(eig[-2] / eig[-1]) if len(eig) > 1 and eig[-1] > 0 else 0.0


def principal_component(matrix: np.ndarray) -> np.ndarray:
    """sqrt(lambda_1) u_1 of a Hermitian PSD matrix: its best rank-one approximation as a vector."""
    eig, vec = np.linalg.eigh(0.5 * (matrix + matrix.conj().T))
    return np.sqrt(max(eig[-1], 0.0)) * vec[:, -1]


def nearest_psd(matrix: np.ndarray) -> np.ndarray:
    """Hermitian part with negative eigenvalues clipped to zero (removes round-off from differences of PSD matrices)."""
    eig, vec = np.linalg.eigh(0.5 * (matrix + matrix.conj().T))
    return (vec * np.maximum(eig, 0.0)) @ vec.conj().T


def solve_relaxation(model, solver: str | None = None) -> Result:
    """Solve ``model``'s relaxation, recover a rank-one solution, verify it; one :class:`Result` (:func:`.finalize`)."""
    if not isinstance(model, RelaxationModel):
        raise TypeError(f"{type(model).__name__} is not a RelaxationModel (algorithms/protocols.py)")
    start = time.perf_counter()
    scenario, channels = model.describe()
    base = dict(problem=model.problem_name, method=model.method, objective_name=model.objective_name,
                sense=model.sense, scenario=scenario, channels=channels)
    reason = model.precheck()
    if reason is not None:
        return finalize(dict(base, notes=[reason]), status=Status.INFEASIBLE, time_s=time.perf_counter() - start)
    model.bind()
    outcome = backends.solve_conic(model.problem, solver)
    base.update(solver=outcome.solver, solver_time_s=outcome.solve_time_s, notes=outcome.notes,
                attempts=[a.to_dict() for a in outcome.attempts])
    status = outcome.status
    if status in (Status.UNBOUNDED, Status.UNBOUNDED_INACCURATE) and getattr(model, "bounded", False):
        base["notes"] = base["notes"] + [f"the solver reported {status.value}, impossible for this model "
                                         "(its objective is bounded by its constraints): a numerical failure, not a property"]
        return finalize(base, status=Status.ERROR, termination=Termination.SOLVER_FAILURE,
                        time_s=time.perf_counter() - start)
    if not status.has_solution:
        why = (Termination.TIME_LIMIT if limits.expired() else
               Termination.SOLVER_FAILURE if status in (Status.ERROR, Status.NO_SOLUTION) else Termination.CONVERGED)
        return finalize(base, status=status, time_s=time.perf_counter() - start, termination=why)
    solution, claimed = model.recover()
    return finalize(base, status=status, assessment=model.assess(solution, claimed), solution=solution,
                    time_s=time.perf_counter() - start)


def gaussian_candidates(rng: np.random.Generator, matrix: np.ndarray, count: int) -> np.ndarray:
    """Gaussian randomization (Luo et al., IEEE SPM 2010): ``count`` vectors xi ~ CN(0, X) of a Hermitian PSD X.

    matrix: (N, N) complex; returns (count, N) complex. Drawn through X's eigen-decomposition (PSD part only).
    """
    eig, vec = np.linalg.eigh(0.5 * (matrix + matrix.conj().T))
    root = vec * np.sqrt(np.maximum(eig, 0.0))                       # X = root root^H
    n = matrix.shape[0]
    z = (rng.standard_normal((count, n)) + 1j * rng.standard_normal((count, n))) / np.sqrt(2.0)
    return z @ root.T
