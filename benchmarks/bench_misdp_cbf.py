"""Branch-and-bound and outer approximation on the CBF instances of data/misdp/ against their published optima.

    python benchmarks/bench_misdp_cbf.py [--time-limit 120] [--instances NAME ...] [--methods bnb oa]
                                         [--solver clarabel|schur]

Per instance and method: status, nodes (branch-and-bound) or MILP master solves (OA), conic solves, wall time, the
certified bounds, the relative gap and the published optimum (SCIP-SDP test sets), whether [lower bound, upper bound]
brackets it (it must, up to 1e-6), conic solves per second and the solvers that answered them; then per instance the
time ratio bnb / oa (above 1: OA faster; only where both certified the optimum). Default conic path of the
branch-and-bound: SCHUR where a node relaxation has its form, then Clarabel (``--solver clarabel`` for Clarabel
alone); OA solves its fixed-integer subproblems with Clarabel on the raw conic data and its masters with HiGHS.
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
    ap.add_argument("--solver", default=None, help="conic solver of branch-and-bound (default: the default path)")
    ap.add_argument("--methods", nargs="*", default=["bnb", "oa"], choices=["bnb", "oa"], help="default: both")
    args = ap.parse_args(argv)
    optima = misdp.known_optima()
    names = args.instances or sorted(optima, key=lambda n: (misdp.INSTANCE_DIR / f"{n}.cbf").stat().st_size)
    print(f"{'instance':<22} {'ints':>4} {'method':<6} {'status':<9} {'nodes':>6} {'SDPs':>6} {'time s':>7} "
          f"{'lower':>13} {'upper':>13} {'gap':>9} {'known':>13} {'brackets':>8} {'SDP/s':>7}  solvers")
    certified: dict = {}
    for name in names:
        for method in args.methods:
            wall = run(name, method, optima[name], args)
            if wall is not None:
                certified.setdefault(name, {})[method] = wall
    both = {n: t for n, t in certified.items() if len(t) == 2}
    if both:
        print("\ntime ratio bnb / oa where both certified the optimum (> 1: OA faster):")
        for name, t in both.items():
            print(f"  {name:<22} {t['bnb'] / t['oa']:7.2f}")
    return 0


def run(name: str, method: str, known: float, args) -> float | None:
    """Solve one instance by one method and print its row; the wall time if it certified the optimum."""
    scenario = misdp.MisdpScenario(cbf_path=str(misdp.INSTANCE_DIR / f"{name}.cbf"), time_limit_s=args.time_limit)
    start = time.perf_counter()
    r = misdp.solve_bnb(scenario, solver=args.solver) if method == "bnb" else misdp.solve_oa(scenario)
    wall = time.perf_counter() - start
    nodes = r.nodes if method == "bnb" else r.metrics.get("milp_solves", 0)
    lb = r.lower_bound if r.lower_bound is not None else -math.inf
    ub = r.upper_bound if r.upper_bound is not None else math.inf
    slack = 1e-6 * max(1.0, abs(known))
    ok = lb <= known + slack and ub >= known - slack
    gap = f"{r.gap:9.2e}" if r.gap is not None else f"{'inf':>9}"
    print(f"{name:<22} {r.metrics['num_integers']:>4} {method:<6} {r.status.value:<9} {nodes or 0:>6} "
          f"{r.sdp_solves or 0:>6} {wall:>7.1f} {lb:>13.8g} {ub:>13.8g} {gap} {known:>13.8g} "
          f"{'yes' if ok else 'NO':>8} "
          f"{(r.sdp_solves or 0) / wall:>7.1f}  {r.solver}", flush=True)
    return wall if r.status.value == "optimal" else None


if __name__ == "__main__":
    raise SystemExit(main())
