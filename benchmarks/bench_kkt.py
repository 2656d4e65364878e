"""Clarabel's KKT solver policy: QDLDL (the project's pinned choice) against faer on 1 and 2 threads, whole methods.

    python benchmarks/bench_kkt.py [--repeat 2] [--cases NAME ...]

Every Clarabel rung of the retry ladder (``backends.CONIC_ATTEMPTS``) gets the policy's ``direct_solve_method`` (and
``max_threads``); then each case runs end to end on the default path, best of ``--repeat``: status, verified, time,
ratio to QDLDL. Cases (the problems Clarabel still solves once SCHUR takes the large-block SDRs): branch-and-bound on
BS selection (S = 4, K = 5, seed 0), robust precoding BLP-CBF and SLP-CBF (seed 3), branch-and-bound on the CBF
truss 2x3_3bars, and the detection K = 3 SDR on Clarabel (``--solver clarabel``, the large-block case).
A study worker owns one core (``--workers 2`` on 2 cores), so faer's second thread competes with the other worker.
"""
from __future__ import annotations

import argparse
import logging
import time
import warnings


from isacopt import registry
from isacopt.algorithms.backends import conic
from isacopt.models import misdp

POLICIES = {"qdldl": dict(direct_solve_method="qdldl"),
            "faer, 1 thread": dict(direct_solve_method="faer", max_threads=1),
            "faer, 2 threads": dict(direct_solve_method="faer", max_threads=2)}

CASES = {
    "bs-selection bnb S=4 K=5": lambda: registry.solve("bs-selection", None, "bnb", None, 0,
                                                       ("num_bs=4", "num_users=5")),
    "robust blp-cbf": lambda: registry.solve("robust-precoding", None, "blp-cbf", None, 3, ()),
    "robust slp-cbf": lambda: registry.solve("robust-precoding", None, "slp-cbf", None, 3, ()),
    "cbf 2x3_3bars bnb": lambda: misdp.solve_bnb(misdp.MisdpScenario(
        cbf_path=str(misdp.INSTANCE_DIR / "2x3_3bars.cbf"), time_limit_s=120)),
    "detection k3 sdr (clarabel)": lambda: registry.solve("detection", "detection_k3", "sdr", "clarabel", 0, ()),
}


def with_policy(settings: dict) -> dict:
    """CONIC_ATTEMPTS with every Clarabel rung's linear solver replaced."""
    out = dict(conic.CONIC_ATTEMPTS)
    out["CLARABEL"] = [(label, {**rung, **settings}) for label, rung in conic.CONIC_ATTEMPTS["CLARABEL"]]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cases", nargs="*", default=list(CASES))
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    original = conic.CONIC_ATTEMPTS
    print(f"{'case':<30} {'policy':<16} {'status':<12} {'verified':<8} {'time s':>8} {'vs qdldl':>8}")
    for name in args.cases:
        base = None
        for policy, settings in POLICIES.items():
            conic.CONIC_ATTEMPTS = with_policy(settings)
            try:
                times, result = [], None
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    result = CASES[name]()
                    times.append(time.perf_counter() - t0)
            finally:
                conic.CONIC_ATTEMPTS = original
            best = min(times)
            base = best if base is None else base
            print(f"{name:<30} {policy:<16} {result.status.value:<12} {str(result.verified):<8} {best:>8.2f} "
                  f"{best / base:>8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
