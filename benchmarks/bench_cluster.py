"""Cluster-size paper (seed 004): time of the three (P1)/(P2) methods side by side, after the one-time ASE tables.

For M_t in {20, 32, 64} (other values as Sec. V) the script builds the analytic ASE tables once (timed separately),
then times ``enumeration``, ``milp`` (Pyomo model build + HiGHS, through ``backends.solve_integer``) and ``search``
on (P1) for several rho and on one (P2) instance, checks that the three optima agree, and prints medians and ratios
to ``enumeration``. The tables are timed cold (computed) and as read back from the disk cache, which is what a second
process pays (``disk s``). The method times exclude the tables and the verification (which recomputes the rates at the
returned tuple with adaptive quadrature, reported in its own column).

    python benchmarks/bench_cluster.py [--sizes 20 32 64] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from isacopt.models import cluster_size as cs

CASES = [("P1 rho=0", dict(rho=0.0)), ("P1 rho=0.5", dict(rho=0.5)), ("P1 rho=1", dict(rho=1.0)),
         ("P2 L,Q>=2", dict(program="P2", comm_cluster_min=2, sensing_cluster_min=2, comm_rate_min_nats=1.5,
                            sensing_rate_min_nats=1.5, sensing_ase_min=10.0))]
RUNNERS = {"enumeration": cs.solve_exhaustive, "milp": cs.solve_milp, "search": cs.solve_search}


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def cold_tables(scenario):
    """Compute the tables with neither the in-process nor the disk cache: (seconds, tables)."""
    saved = os.environ.get("ISACOPT_CACHE")
    os.environ["ISACOPT_CACHE"] = ""
    try:
        cs._tables.cache_clear()
        start = time.perf_counter()
        tables = cs.build_tables(scenario)
        return time.perf_counter() - start, tables
    finally:
        os.environ.pop("ISACOPT_CACHE") if saved is None else os.environ.__setitem__("ISACOPT_CACHE", saved)


def disk_tables(scenario):
    """Seconds to obtain the same tables in a new process with a warm disk cache (written here first, in a
    temporary folder): what a second CLI call or a study worker pays."""
    with tempfile.TemporaryDirectory() as folder:
        saved = os.environ.get("ISACOPT_CACHE")
        os.environ["ISACOPT_CACHE"] = folder
        try:
            cs._tables.cache_clear()
            cs.build_tables(scenario)                    # computes and stores
            cs._tables.cache_clear()
            start = time.perf_counter()
            cs.build_tables(scenario)                    # reads back
            return time.perf_counter() - start
        finally:
            os.environ.pop("ISACOPT_CACHE") if saved is None else os.environ.__setitem__("ISACOPT_CACHE", saved)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 32, 64])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import pyomo.environ  # noqa: F401  (import once, outside the timings)

    rows = []
    for M in args.sizes:
        base = cs.ClusterSizeScenario(tx_antennas=M)
        table_time, tables = cold_tables(base)
        disk_time = disk_tables(base)
        n_tuples = cs.feasible_tuples(M, base.max_targets)[0].size
        for label, kw in CASES:
            sc = cs.ClusterSizeScenario(tx_antennas=M, **kw)
            times, values = {}, {}
            for name, fn in RUNNERS.items():
                times[name], choice = timed(lambda fn=fn: fn(tables, sc), args.repeat)
                values[name] = choice.claimed if choice.tuple is not None else None
                tup = choice.tuple
            ref = values["enumeration"]
            ok = all(v is None for v in values.values()) if ref is None else all(
                v is not None and abs(v - ref) <= 1e-9 * abs(ref) for v in values.values())
            verify_time = float("nan")
            if tup is not None:
                verify_time, _ = timed(lambda: cs.assess(sc, cs.ClusterChoice(None, tup, claimed=None), tables), 1)
            rows.append((M, table_time, disk_time, n_tuples, label, times, ok, verify_time, tup))
    print(f"{'M_t':>4} {'tables s':>9} {'disk s':>7} {'tuples':>7} {'case':<11} {'enumeration s':>13} {'milp s':>8} {'search s':>9}"
          f" {'milp/exh':>9} {'search/exh':>11} {'verify s':>9} agree  optimum (J,K,Q,L)")
    for M, tt, dt, n, label, t, ok, vt, tup in rows:
        print(f"{M:>4} {tt:>9.2f} {dt:>7.3f} {n:>7} {label:<11} {t['enumeration']:>13.4f} {t['milp']:>8.3f} {t['search']:>9.4f}"
              f" {t['milp'] / t['enumeration']:>9.1f} {t['search'] / t['enumeration']:>11.2f} {vt:>9.3f}"
              f" {'yes' if ok else 'NO':<6} {tup}")
    worst = max(r[5][m] for r in rows if r[0] == max(args.sizes) for m in RUNNERS)
    print(f"slowest method at M_t = {max(args.sizes)} after the tables: {worst:.3f} s")


if __name__ == "__main__":
    main()
