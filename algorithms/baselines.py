"""Baselines of the BS-selection paper (seed 002, Sec. IV): Schemes 1-3.

Each returns a verified :class:`~isacopt.algorithms.result.Result` for problem (8) with status FEASIBLE (a feasible
point of (8), no optimality claim for (8)); the restricted problem each scheme solves is stated in the notes.
- Scheme 1: the receiving BS closest to the target, then association and beamforming optimized (exactly, by
  branch-and-bound over the association sets with the receiver fixed).
- Scheme 2: receiving BS and association drawn at random (from the given generator), beamforming optimized.
- Scheme 3: the bistatic pair BS1 -> BS2: BS2 receives and only BS1's echo is used (only BS1 may send a sensing
  signal); association (to BS1, BS3, ...) and beamforming optimized exactly. Its CRLB with one echo upper-bounds
  the full (7) (more echoes with their own unknown gains never reduce the information), so its solution is
  feasible for (8).
"""
from __future__ import annotations

import numpy as np

from ..models import bs_selection as bs
from ..models import geometry
from .result import Status


def _as_feasible(result, scheme: str):
    status = Status.FEASIBLE if result.status == Status.OPTIMAL else result.status
    notes = [f"{scheme}: the restricted problem was solved to {result.status.value}"] + list(result.notes)
    return result.replace(status=status, notes=notes)


def scheme1(inst: bs.BSSelectionInstance, solver: str | None = None):
    """Nearest BS to the target receives; optimized association and beamforming."""
    s = int(np.argmin(geometry.distance(inst.scenario.bs, inst.target[None])))
    return _as_feasible(bs.run_bnb(inst, solver, receivers=[s], method="scheme1"), f"scheme 1 (receiver BS{s + 1})")


def scheme2(inst: bs.BSSelectionInstance, rng: np.random.Generator, solver: str | None = None):
    """Random receiving BS and association; optimized beamforming (one inner SDP)."""
    S, K, _ = inst.shape
    s = int(rng.integers(S))
    others = [t for t in range(S) if t != s]
    choice = bs.Choice(s, tuple(int(others[i]) for i in rng.integers(len(others), size=K)))
    inner = bs.InnerProblem(inst, None, solver)
    sol = inner.solve(choice)
    result = bs.make_result(inst, "scheme2", sol if sol.status == Status.OPTIMAL else None,
                            status=sol.status, sdp_solves=inner.sdp_solves, notes=[choice.describe()])
    return _as_feasible(result, "scheme 2 (random choice)")


def scheme3(inst: bs.BSSelectionInstance, solver: str | None = None):
    """Fixed bistatic pair BS1 -> BS2; optimized association and beamforming."""
    return _as_feasible(bs.run_bnb(inst, solver, receivers=[1], sensing_tx=(0,), method="scheme3"),
                        "scheme 3 (BS1 -> BS2 pair)")
