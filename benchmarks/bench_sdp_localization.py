"""SDP solve time, localization paper: the project's path versus the formulation a competent cvxpy user writes first.

    python benchmarks/bench_sdp_localization.py [--instances 5] [--seed 0] [--method sdr|radar-only]
                                                [--antennas 16] [--users 4]

Localization paper, Table I setup (``localization_table1``: M = 2 BSs, N_t = 16, K = 4 random CUs per BS, 4 TMTs):
- project: ``LocalizationModel`` + ``sdr.solve_relaxation`` (DPP template compiled once per shape and re-bound per
  instance, exact dimension reduction to the span of BS m's CU channels and a^*(theta_m), r = M K + 1 = 9 instead
  of N_t = 16, real embedding, scaled biorthogonal basis), including the rank-one extraction and the NumPy
  verification;
- direct: ``localization.direct_problem`` - (21) with complex Hermitian N_t x N_t variables F_{m,k}, channels in noise
  units, powers in units of P, the same Fisher scaling, built per instance and solved by Clarabel with default
  settings.
Both run side by side in one process on the same instances. Columns: times, their ratio, statuses, the relative
difference of the optima (CRLB in m^2), and whether the project's verified CRLB is <= the direct optimum (a min
problem: an inaccurate solve stops above the optimum). Instance 0 also pays the template's one-time compilation.

Meant to be merged into ``benchmarks/bench_sdp.py`` (``localization_rows`` has the same row format as
``detection_rows`` there).
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from isacopt.algorithms import sdr
from isacopt.data.loader import load_scenario
from isacopt.models import localization as lz


def localization_rows(instances: int, seed: int, method: str = "sdr", antennas: int = 16, users: int = 4):
    base, _ = load_scenario(lz.LocalizationScenario, "localization", "localization_table1", "localization_table1")
    base = dataclasses.replace(base, tx_antennas=antennas, users_per_bs=users)
    for i, ss in enumerate(np.random.SeedSequence(seed).spawn(instances)):
        inst = lz.draw_instance(base, np.random.default_rng(ss))
        t0 = time.perf_counter()
        result = sdr.solve_relaxation(lz.LocalizationModel(inst, method))
        t_project = time.perf_counter() - t0
        t0 = time.perf_counter()
        problem, v = lz.direct_problem(inst, method)
        problem.solve(solver="CLARABEL")
        t_direct = time.perf_counter() - t0
        theirs = v["crlb_ref"] * problem.value if problem.value is not None else float("nan")
        ours = result.objective if result.objective is not None else float("nan")
        yield {"instance": i, "project_s": t_project, "direct_s": t_direct, "ratio": t_direct / t_project,
               "project_status": result.status.value, "verified": result.verified,
               "direct_status": problem.status, "rel_diff": abs(ours - theirs) / abs(ours),
               "project_not_worse": bool(ours <= theirs * (1 + 1e-9)),
               "eigen_ratio": result.metrics.get("sdr_max_eigen_ratio")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", choices=("sdr", "radar-only"), default="sdr")
    ap.add_argument("--antennas", type=int, default=16, help="N_t (Table I: 16)")
    ap.add_argument("--users", type=int, default=4, help="K per BS (Sec. IV-A: 4)")
    args = ap.parse_args(argv)
    print(f"localization N_t={args.antennas} K={args.users}, method {args.method}, {args.instances} instances")
    print(f"{'inst':>4} {'project s':>10} {'direct s':>10} {'ratio':>7}  {'project':<18} {'direct':<19} "
          f"{'rel diff':>9} {'ours<=direct':>12} {'lam2/lam1':>9}")
    rows = []
    for row in localization_rows(args.instances, args.seed, args.method, args.antennas, args.users):
        rows.append(row)
        status = f"{row['project_status']}{'/verified' if row['verified'] else '/NOT verified'}"
        print(f"{row['instance']:>4} {row['project_s']:>10.2f} {row['direct_s']:>10.2f} {row['ratio']:>7.1f}  "
              f"{status:<18} {row['direct_status']:<19} {row['rel_diff']:>9.1e} {str(row['project_not_worse']):>12} "
              f"{row['eigen_ratio'] if row['eigen_ratio'] is not None else float('nan'):>9.1e}", flush=True)
    if len(rows) > 1:
        later = [r["ratio"] for r in rows[1:]]
        diffs = [r["rel_diff"] for r in rows]
        print(f"instance 0 includes the one-time compilation of the template; over instances 1-{len(rows) - 1}: "
              f"median speed-up {np.median(later):.1f}x (min {min(later):.1f}x, max {max(later):.1f}x); "
              f"optima agree to {max(diffs):.1e} relative (max)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
