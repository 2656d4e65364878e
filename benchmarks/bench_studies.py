"""Study throughput: the same fixed study on 1 and on 2 local worker processes (and optionally a Dask cluster).

    python benchmarks/bench_studies.py [--study detection_fig3] [--draws 2] [--dask]

Runs the study's ``--quick`` grid with ``draws`` draws into fresh temporary folders, side by side in one process, and
prints jobs per second and the speed-up. Target: >= 1.8x on 2 cores (jobs are independent solves; worker
processes are single-threaded, see ``studies.runner.THREAD_VARIABLES``). The tables of all runs must be identical.
"""
from __future__ import annotations

import os

# One worker = one core: the in-process 1-worker run must be single-threaded like the pool's workers (set before
# NumPy and the solvers load; otherwise multithreaded BLAS lets "1 worker" use both cores).
SINGLE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")
os.environ.update({k: "1" for k in SINGLE_THREAD})

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import tempfile
import time

from isacopt.studies.runner import THREAD_VARIABLES, run_study
from isacopt.studies.spec import load_study


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--study", default="detection_fig3")
    ap.add_argument("--draws", type=int, default=2)
    ap.add_argument("--dask", action="store_true", help="also run on a 2-worker dask LocalCluster")
    args = ap.parse_args(argv)
    assert set(SINGLE_THREAD) == set(THREAD_VARIABLES), "keep in step with studies.runner.THREAD_VARIABLES"
    study = dataclasses.replace(load_study(args.study, quick=True), draws=args.draws)
    jobs = len(study.jobs())
    print(f"study {study.name}, {jobs} jobs, {os.cpu_count()} cores")
    print(f"{'executor':<14} {'time s':>8} {'jobs/s':>8} {'speed-up':>9}")
    tables, base = {}, None
    runs = [("1 worker", {"workers": 1}), ("2 workers", {"workers": 2})]
    cluster = None
    if args.dask:
        from distributed import LocalCluster
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        runs.append(("dask 2 workers", {"scheduler": cluster.scheduler_address}))
    try:
        for label, kw in runs:
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                table = run_study(study, out, progress=False, **kw)
                elapsed = time.perf_counter() - start
            base = base or elapsed
            tables[label] = table.drop(columns=["time_s"])
            print(f"{label:<14} {elapsed:>8.1f} {jobs / elapsed:>8.2f} {base / elapsed:>8.2f}x", flush=True)
    finally:
        if cluster is not None:
            cluster.close()
    first = next(iter(tables.values()))
    same = all(first.equals(t) for t in tables.values())
    print(f"identical tables across executors: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
