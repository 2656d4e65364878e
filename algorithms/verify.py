"""Re-check a returned solution against the original (unrelaxed) constraints, independently of any solver.

Paper modules turn a solution into a list of :class:`Check` objects computed with plain NumPy from the
beamformers (SINR, power, CRLB, p_D, PSD-ness, the claimed objective); :func:`verify` turns the list into a verdict.
Violations are relative: ``(value - bound) / scale`` for ``<=`` (mirrored for ``>=``), with ``scale`` defaulting to
``|bound|`` (or 1 where the bound is 0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Default relative tolerance. Conic solves stop at 1e-8 relative residuals on the scaled problem; the mapping back
#: to physical units, the rank-one construction and round-off cost at most a few orders of magnitude more.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Check:
    """One constraint family evaluated at a solution: ``values`` compared with ``bounds`` (broadcast)."""

    name: str
    values: np.ndarray
    bounds: np.ndarray
    sense: str            # "<=", ">=" or "=="
    scale: np.ndarray | float | None = None

    def violation(self) -> float:
        """Largest relative violation (<= 0 means satisfied); +inf when a value is NaN or infinite, or a bound NaN
        (a NaN compares False with everything and would otherwise pass)."""
        v = np.asarray(self.values, float)
        if not np.all(np.isfinite(v)) or np.any(np.isnan(np.asarray(self.bounds, float))):
            return np.inf
        b = np.broadcast_to(np.asarray(self.bounds, float), v.shape)
        scale = np.abs(b) if self.scale is None else np.broadcast_to(np.asarray(self.scale, float), v.shape)
        scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
        if self.sense == "<=":
            r = (v - b) / scale
        elif self.sense == ">=":
            r = (b - v) / scale
        elif self.sense == "==":
            r = np.abs(v - b) / scale
        else:
            raise ValueError(f"unknown sense {self.sense!r}")
        return float(np.max(r)) if r.size else -np.inf     # an infinite bound gives -inf (no bound) or +inf


def at_most(name, values, bounds, scale=None) -> Check:
    return Check(name, np.atleast_1d(values), np.atleast_1d(bounds), "<=", scale)


def at_least(name, values, bounds, scale=None) -> Check:
    return Check(name, np.atleast_1d(values), np.atleast_1d(bounds), ">=", scale)


def close(name, values, targets, scale=None) -> Check:
    return Check(name, np.atleast_1d(values), np.atleast_1d(targets), "==", scale)


def psd(name, matrices) -> Check:
    """Hermitian PSD-ness of matrices (..., N, N): smallest eigenvalue relative to the largest (per matrix)."""
    m = np.asarray(matrices)
    m = m.reshape(-1, *m.shape[-2:])
    herm = np.max(np.abs(m - np.conj(np.swapaxes(m, -1, -2))), axis=(-1, -2))
    eig = np.linalg.eigvalsh(0.5 * (m + np.conj(np.swapaxes(m, -1, -2))))
    top = np.maximum(np.max(np.abs(eig), axis=-1), np.finfo(float).tiny)
    # min eigenvalue >= 0 and Hermitian; both relative to the matrix's largest eigenvalue
    return Check(name, np.minimum(eig[:, 0], -herm) / top, np.zeros(len(m)), ">=", 1.0)


@dataclass(frozen=True)
class Verification:
    passed: bool
    max_violation: float
    violations: dict[str, float]

    @property
    def worst(self) -> str | None:
        return max(self.violations, key=self.violations.get) if self.violations else None


def verify(checks: list[Check], tol: float = TOLERANCE) -> Verification:
    """Evaluate all checks; passed iff every relative violation is <= ``tol``."""
    violations = {c.name: c.violation() for c in checks}
    worst = max(violations.values(), default=-np.inf)
    return Verification(bool(worst <= tol), max(float(worst), 0.0), {k: max(v, 0.0) for k, v in violations.items()})

