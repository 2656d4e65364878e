"""How SDP solve time grows: the detection SDR against N_t, K and L, and branch-and-bound node throughput.

    python benchmarks/bench_scaling.py [--antennas 8 16 32 64] [--direct-max 32] [--instances 2] [--plot FILE]
                                       [--bnb-bs 3 4 5 6] [--bnb-users 5] [--bnb-nodes 40]

Detection paper, the ``detection_k3`` setup (L = 3 BSs, 9 CUs, Q = 9) with N_t = N_r swept (and, at N_t = 16, the
CUs per BS K = 1..4 and the BSs L = 2..4): per point the median over ``--instances`` draws of
- project (default path): ``DetectionModel`` + ``sdr.solve_relaxation`` - SCHUR first, Clarabel's ladder after;
- project (Clarabel): the same model with ``solver = "clarabel"``;
- direct: ``detection.direct_problem`` (complex Hermitian N_t x N_t variables, Clarabel defaults), run only up to
  ``--direct-max`` antennas (it takes minutes above; the row says "not run").
The growth exponent is the least-squares slope of log(time) against log(N_t). Then branch-and-bound on the
BS-selection MISDP (S = ``--bnb-bs``, K = ``--bnb-users``, seed 0, stopped after ``--bnb-nodes`` nodes): node SDPs
per second and which solver answered them (the node relaxations have SOC cones, so SCHUR does not apply there).
Times depend on the machine; the ratios and exponents less so.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import time
import warnings

import numpy as np

from isacopt.algorithms import sdr
from isacopt.data.loader import load_scenario
from isacopt.models import bs_selection as bs
from isacopt.models import detection as d

from bench_sdp import direct_solve


def _time(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def detection_point(base, instances: int, seed: int, direct: bool) -> dict:
    project, clarabel, baseline, solvers, ok = [], [], [], set(), True
    for ss in np.random.SeedSequence(seed).spawn(instances):
        inst = d.draw_instance(base, np.random.default_rng(ss))
        t, result = _time(lambda: sdr.solve_relaxation(d.DetectionModel(inst, "sdr")))
        project.append(t)
        solvers.add(result.solver)
        ok &= result.verified
        t, _ = _time(lambda: sdr.solve_relaxation(d.DetectionModel(inst, "sdr"), "clarabel"))
        clarabel.append(t)
        if direct:
            problem, _ = d.direct_problem(inst, "sdr")
            t, status = _time(lambda: direct_solve(problem))
            baseline.append(t if not status.startswith("failed") else np.nan)
    return {"project": float(np.median(project)), "clarabel": float(np.median(clarabel)),
            "direct": float(np.nanmedian(baseline)) if baseline and np.isfinite(baseline).any() else np.nan,
            "solver": "/".join(sorted(solvers)), "verified": ok}


def slope(x, y) -> float:
    x, y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    keep = np.isfinite(y)
    return float(np.polyfit(x[keep], y[keep], 1)[0]) if keep.sum() >= 2 else np.nan


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--antennas", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--direct-max", type=int, default=32)
    ap.add_argument("--instances", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--users", type=int, nargs="+", default=[1, 2, 3, 4], help="CUs per BS at N_t = 16")
    ap.add_argument("--bss", type=int, nargs="+", default=[2, 3, 4], help="BSs L at N_t = 16")
    ap.add_argument("--bnb-bs", type=int, nargs="+", default=[3, 4, 5, 6])
    ap.add_argument("--bnb-users", type=int, default=5)
    ap.add_argument("--bnb-nodes", type=int, default=40)
    ap.add_argument("--plot", default=None, help="write the N_t plot here (PNG)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    base, _ = load_scenario(d.DetectionScenario, "detection", "detection_k3", "detection_k3")

    def table(title, field, values, make):
        print(title)
        print(f"{field:>6} {'project s':>10} {'Clarabel s':>10} {'direct s':>10} {'x Clarabel':>10} {'x direct':>9}"
              f"  answered by")
        rows = []
        for v in values:
            row = detection_point(make(v), args.instances, args.seed, v <= args.direct_max if field == "N_t"
                                  else True)
            rows.append((v, row))
            direct = f"{row['direct']:>10.2f}" if np.isfinite(row["direct"]) else f"{'not run':>10}"
            ratio = f"{row['direct'] / row['project']:>9.1f}" if np.isfinite(row["direct"]) else f"{'-':>9}"
            print(f"{v:>6} {row['project']:>10.2f} {row['clarabel']:>10.2f} {direct} "
                  f"{row['clarabel'] / row['project']:>10.1f} {ratio}  {row['solver']}"
                  + ("" if row["verified"] else "  NOT verified"), flush=True)
        return rows

    rows = table(f"detection SDR vs N_t = N_r (L = 3, 9 CUs), median of {args.instances} draws", "N_t",
                 args.antennas, lambda n: dataclasses.replace(base, tx_antennas=n, rx_antennas=n))
    ns = [v for v, _ in rows]
    print("growth exponents in N_t: project %.2f, project (Clarabel) %.2f, direct %.2f\n" % (
        slope(ns, [r["project"] for _, r in rows]), slope(ns, [r["clarabel"] for _, r in rows]),
        slope(ns, [r["direct"] for _, r in rows])))
    table("detection SDR vs CUs per BS K (N_t = 16, L = 3)", "K", args.users,
          lambda k: dataclasses.replace(base, tx_antennas=16, rx_antennas=16, users_per_bs=k))
    print()
    table("detection SDR vs BSs L (N_t = 16, 3 CUs per BS)", "L", args.bss,
          lambda n: dataclasses.replace(base, tx_antennas=16, rx_antennas=16, bs_positions_m=tuple(
              (80.0 * np.cos(2 * np.pi * i / n), 80.0 * np.sin(2 * np.pi * i / n)) for i in range(n))))
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for key, label in (("project", "project (default: SCHUR)"), ("clarabel", "project (Clarabel)"),
                           ("direct", "direct formulation")):
            ax.loglog(ns, [r[key] for _, r in rows], marker="o", label=label)
        ax.set_xlabel("N_t = N_r")
        ax.set_ylabel("solve time (s)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")
    print(f"\nbranch-and-bound node SDPs per second, BS selection K = {args.bnb_users}, seed 0, first "
          f"{args.bnb_nodes} nodes")
    print(f"{'S':>3} {'nodes':>6} {'SDPs':>6} {'time s':>8} {'SDP/s':>7}  status")
    for S in args.bnb_bs:
        sc, _ = load_scenario(bs.BSSelectionScenario, "bs-selection", "bs_selection", "bs_selection",
                              [f"num_bs={S}", f"num_users={args.bnb_users}"])
        inst = bs.draw_instance(sc, np.random.default_rng(0))
        t, b = _time(lambda: bs.run_bnb(inst, node_limit=args.bnb_nodes))
        print(f"{S:>3} {b.nodes:>6} {b.sdp_solves:>6} {t:>8.2f} {b.sdp_solves / t:>7.1f}  {b.status.value} "
              f"({b.solver})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
