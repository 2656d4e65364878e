"""BS selection: the benchmark Schemes 1-3 of Sec. IV."""
from __future__ import annotations

import numpy as np

from ...algorithms.result import Result, Status
from .. import geometry
from .scenario import BSSelectionInstance
from .sdp import Choice, InnerProblem
from .verification import make_result
from .exact import run_bnb
from .ao import run_ao


# ================================================================================================ Schemes 1-3
# Sec. IV's baselines. Each is a feasible point of (8) without an optimality claim for (8): the restricted problem
# it solves is named in the notes. Scheme 3's CRLB with one echo upper-bounds the full (7) (more echoes with their
# own unknown gains never reduce the information), so its solution is feasible for (8).
# Schemes 1 and 3 "jointly optimize the BS-CU association and beamforming" in two flavours: by the paper's own
# Algorithm 1 with the receiver fixed (``scheme1``, ``scheme3``: the paper's comparison, like for like with the
# proposed AO) and by branch-and-bound (``scheme1-bnb``, ``scheme3-bnb``: the restricted problem's optimum).
def nearest_receiver(inst: BSSelectionInstance) -> int:
    return int(np.argmin(geometry.distance(inst.scenario.bs, inst.target[None])))


def scheme1(inst: BSSelectionInstance, solver: str | None = None, rng: np.random.Generator | None = None) -> Result:
    """The BS nearest the target receives; association by Algorithm 1 (receiver fixed), beamforming by (23)."""
    s = nearest_receiver(inst)
    return run_ao(inst, solver, receiver=s, rng=rng, method="scheme1", restriction=f"scheme 1 (receiver BS{s + 1})")


def scheme1_bnb(inst: BSSelectionInstance, solver: str | None = None) -> Result:
    """The BS nearest the target receives; association and beamforming optimized exactly (branch-and-bound)."""
    s = nearest_receiver(inst)
    return run_bnb(inst, solver, receivers=[s], method="scheme1-bnb", restriction=f"scheme 1 (receiver BS{s + 1})")


def scheme2(inst: BSSelectionInstance, rng: np.random.Generator, solver: str | None = None) -> Result:
    """Receiving BS and association drawn at random from ``rng``; beamforming optimized (one inner SDP (23))."""
    S, K, _ = inst.shape
    s = int(rng.integers(S))
    others = [t for t in range(S) if t != s]
    choice = Choice(s, tuple(int(others[i]) for i in rng.integers(len(others), size=K)))
    inner = InnerProblem(inst, None, solver)
    sol = inner.solve(choice)
    return make_result(inst, "scheme2", sol if sol.status == Status.OPTIMAL else None, status=sol.status,
                       proven=False, sdp_solves=inner.sdp_solves,
                       notes=[f"scheme 2 (random choice {choice.describe()}): the inner SDP was solved to "
                              f"{sol.status.value}"])


def scheme3(inst: BSSelectionInstance, solver: str | None = None, rng: np.random.Generator | None = None) -> Result:
    """The bistatic pair BS1 -> BS2 (only BS1's echo counts and only it sends a sensing signal); association by
    Algorithm 1 (receiver fixed), beamforming by (23)."""
    return run_ao(inst, solver, receiver=1, sensing_tx=(0,), rng=rng, method="scheme3",
                  restriction="scheme 3 (BS1 -> BS2 pair)")


def scheme3_bnb(inst: BSSelectionInstance, solver: str | None = None) -> Result:
    """The bistatic pair BS1 -> BS2; association and beamforming optimized exactly (branch-and-bound)."""
    return run_bnb(inst, solver, receivers=[1], sensing_tx=(0,), method="scheme3-bnb",
                   restriction="scheme 3 (BS1 -> BS2 pair)")
