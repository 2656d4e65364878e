"""BS selection: re-check a solution against (8) with NumPy, and the one Result constructor of the paper."""
from __future__ import annotations

import numpy as np

from ...algorithms import verify
from ...algorithms.finalize import Assessment, finalize
from ...algorithms.result import Result, Status, Termination
from ..units import db_to_linear, dbm_to_watt, linear_to_db, watt_to_dbm
from .scenario import BSSelectionInstance, PROBLEM
from .metrics import bs_power, crlb, sinr, transmit_covariances
from .sdp import Choice, InnerSolution


# ================================================================================================ verification
OBJECTIVE_NAME = "total transmit power (W)"


def assess(inst: BSSelectionInstance, solution: dict, claimed_w: float | None = None):
    """:class:`~isacopt.algorithms.finalize.Assessment` (objective W, metrics, checks) of a solution against the
    unrelaxed (8): C1-C8 recomputed with NumPy."""
    sc = inst.scenario
    S, K, N = inst.shape
    w, R, b, a = solution["w"], solution["R"], np.asarray(solution["b"], float), np.asarray(solution["a"], float)
    P, noise = sc.max_power_w, float(dbm_to_watt(sc.comm_noise_dbm))
    gamma = sinr(inst.h, w, R, a, b, noise)
    power = bs_power(w, R, a, b)
    Q = transmit_covariances(w, R, a, b)
    bounds = [crlb(inst, s, Q) if b[s] < 0.5 else 0.0 for s in range(S)]
    value = float(np.sum((1 - b) * np.asarray(bounds)))                                 # C2's left side
    total = float(power.sum())
    binary = np.concatenate([a.ravel(), b])
    checks = [verify.at_most("C1_bs_power", power, P),
              verify.at_most("C2_crlb", value, sc.crlb_max_m2),
              verify.at_least("C3_sinr", gamma, db_to_linear(sc.sinr_db)),
              verify.close("C4_one_bs_per_cu", a.sum(axis=0), 1.0),
              verify.close("C5_one_receiver", np.sum(1 - b), 1.0),
              verify.at_least("C6_only_transmitters_serve", b[:, None] - a, 0.0, scale=1.0),
              verify.close("C7_C8_binary", np.minimum(binary, 1 - binary), 0.0, scale=1.0),
              verify.psd("sensing_covariance_psd", R)]
    if claimed_w is not None:
        checks.append(verify.close("objective_vs_solver", total, claimed_w, scale=max(claimed_w, 1e-30)))
    receiver = int(np.argmin(b))
    metrics = {"total_power_w": total, "total_power_dbm": float(watt_to_dbm(total)), "bs_power_w": power,
               "sensing_power_w": b * np.real(np.einsum("snn->s", R)), "sinr_db": linear_to_db(gamma),
               "crlb_m2": value, "receiver_bs": receiver + 1,
               "serving_bs": (np.argmax(a, axis=0) + 1).astype(int),
               "choice": Choice(receiver, tuple(int(x) for x in np.argmax(a, axis=0))).describe()}
    return Assessment(total, metrics, checks)


def make_result(inst: BSSelectionInstance, method: str, inner: InnerSolution | None, *, status: Status | None = None,
                proven: bool = True, bound_w: float | None = None, termination: Termination = Termination.CONVERGED,
                notes=(), time_s: float = 0.0, **extra) -> Result:
    """One :class:`Result` (:func:`~isacopt.algorithms.finalize.finalize`) from an inner-SDP solution, verified
    against (8), or from ``status`` when there is none. The status of a solution is the inner solve's; ``proven``:
    the search proved the choice optimal (else a heuristic: ``feasible`` unless ``bound_w``, a valid lower bound on
    (8) in W, is met within tolerance)."""
    from ...data.loader import scenario_dict
    base = dict(problem=PROBLEM, method=method, objective_name=OBJECTIVE_NAME, sense="min",
                scenario=scenario_dict(inst.scenario), channels=inst.channels(),
                solver=inner.solver if inner else None, notes=list(notes) + list(inner.notes or [] if inner else []))
    if inner is None or inner.solution is None:
        st = status or (inner.status if inner is not None else Status.ERROR)
        return finalize(base, status=st, termination=termination, time_s=time_s, **extra)
    metrics = dict(extra.pop("metrics", {}), sdr_max_eigen_ratio=inner.eigen_ratio)
    return finalize(base, status=inner.status, assessment=assess(inst, inner.solution, inner.power_w), proven=proven,
                    bound=bound_w, termination=termination, solution=inner.solution, metrics=metrics, time_s=time_s,
                    **extra)
