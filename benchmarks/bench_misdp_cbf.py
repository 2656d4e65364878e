"""Branch-and-bound on the CBF instances of data/misdp/ against their published optima.

    python benchmarks/bench_misdp_cbf.py [--time-limit 120] [--instances NAME ...] [--solver clarabel|schur]

Per instance: status, nodes, SDP solves, wall time, the certified bounds, the relative gap and the published
optimum (SCIP-SDP test sets), whether [lower bound, upper bound] brackets it (it must, up to 1e-6), node SDPs per
second and the solvers that answered them. Default conic path: SCHUR where a node relaxation has its form (these CBF
instances: PSD and linear rows only), then Clarabel; ``--solver clarabel`` for Clarabel alone.
"""
from __future__ import annotations

import argparse
import math
import time

from isacopt.models import misdp


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per instance (default 120)")
    ap.add_argument("--instances", nargs="*", default=None, help="names in data/misdp/ (default: all)")
    ap.add_argument("--solver", default=None, help="conic solver (default: the default path)")
    args = ap.parse_args(argv)
    optima = misdp.known_optima()
    names = args.instances or sorted(optima, key=lambda n: (misdp.INSTANCE_DIR / f"{n}.cbf").stat().st_size)
    print(f"{'instance':<22} {'ints':>4} {'status':<9} {'nodes':>6} {'SDPs':>6} {'time s':>7} "
          f"{'lower':>13} {'upper':>13} {'gap':>9} {'known':>13} {'brackets':>8} {'SDP/s':>7}  solvers")
    for name in names:
        scenario = misdp.MisdpScenario(cbf_path=str(misdp.INSTANCE_DIR / f"{name}.cbf"),
                                       time_limit_s=args.time_limit)
        start = time.perf_counter()
        r = misdp.solve_bnb(scenario, solver=args.solver)
        wall = time.perf_counter() - start
        known = optima[name]
        lb = r.lower_bound if r.lower_bound is not None else -math.inf
        ub = r.upper_bound if r.upper_bound is not None else math.inf
        slack = 1e-6 * max(1.0, abs(known))
        ok = lb <= known + slack and ub >= known - slack
        gap = f"{r.gap:9.2e}" if r.gap is not None else f"{'inf':>9}"
        print(f"{name:<22} {r.metrics['num_integers']:>4} {r.status.value:<9} {r.nodes:>6} {r.sdp_solves:>6} "
              f"{wall:>7.1f} {lb:>13.8g} {ub:>13.8g} {gap} {known:>13.8g} {'yes' if ok else 'NO':>8} "
              f"{r.sdp_solves / wall:>7.1f}  {r.solver}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
