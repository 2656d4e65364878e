"""Branch-and-bound vs. enumeration vs. the paper's AO and Schemes 1-3 on random BS-selection instances.

    python benchmarks/bench_misdp.py [--instances 20] [--num-bs 4] [--num-users 5] [--workers 2] [--no-enum]

Per instance: enumeration's SDP count and time (the ground truth, S (S-1)^K inner SDPs in a process pool),
branch-and-bound's nodes, SDP count, time and status, AO's objective, time and gap to the certified optimum, and
each Scheme's gap (inf: the scheme found no feasible point). Then the median ratios. ``--no-enum`` runs only the
exact branch-and-bound (for sizes enumeration cannot reach, e.g. S = 5, K = 8: 327,680 leaves).
"""
from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np

from isacopt.algorithms import baselines
from isacopt.algorithms.result import Status
from isacopt.data.loader import load_scenario
from isacopt.models import bs_selection as bs


def gap(value, opt):
    if value is None or opt is None:
        return float("inf") if opt is not None else float("nan")
    return (value - opt) / opt


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--instances", type=int, default=20)
    p.add_argument("--num-bs", type=int, default=4)
    p.add_argument("--num-users", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed0", type=int, default=0)
    p.add_argument("--no-enum", action="store_true")
    p.add_argument("--time-limit", type=float, default=None, help="branch-and-bound wall-clock limit (s)")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    sc, _ = load_scenario(bs.BSSelectionScenario, "bs-selection", "bs_selection", "bs_selection",
                          [f"num_bs={args.num_bs}", f"num_users={args.num_users}"])
    S, K = args.num_bs, args.num_users
    print(f"BS selection, S={S}, K={K}, N={sc.antennas}: {S * (S - 1) ** K} (receiver, association) leaves")
    head = (f"{'seed':>4} {'opt W':>9} {'enum SDP':>8} {'enum s':>7} {'bnb st':>8} {'nodes':>5} {'bnb SDP':>7} "
            f"{'bnb s':>6} {'SDP %':>6} {'AO W':>9} {'AO s':>5} {'AO gap':>7} {'S1 gap':>7} {'S2 gap':>7} "
            f"{'S3 gap':>7}")
    print(head)
    rows = []
    for i in range(args.instances):
        seed = args.seed0 + i
        inst = bs.draw_instance(sc, np.random.default_rng(seed))
        row = dict(seed=seed)
        if not args.no_enum:
            t = time.perf_counter()
            e = bs.run_enumeration(inst, workers=args.workers)
            row.update(enum_sdp=e.sdp_solves, enum_s=time.perf_counter() - t, enum=e)
        t = time.perf_counter()
        b = bs.run_bnb(inst, time_limit_s=args.time_limit)
        row.update(bnb=b, bnb_s=time.perf_counter() - t)
        opt = b.objective if b.status == Status.OPTIMAL else None
        if not args.no_enum and row["enum"].status == Status.OPTIMAL:
            opt = row["enum"].objective
            if b.status == Status.OPTIMAL and abs(b.objective - opt) > 1e-5 * opt:
                print(f"  MISMATCH seed {seed}: bnb {b.objective} vs enumeration {opt}")
        t = time.perf_counter()
        ao = bs.run_ao(inst)
        row.update(ao=ao, ao_s=time.perf_counter() - t, opt=opt)
        schemes = [baselines.scheme1(inst), baselines.scheme2(inst, np.random.default_rng(seed + 1000)),
                   baselines.scheme3(inst)]
        row["gaps"] = [gap(r.objective if r.status == Status.FEASIBLE else None, opt) for r in schemes]
        row["ao_gap"] = gap(ao.objective if ao.status == Status.FEASIBLE else None, opt)
        pct = 100.0 * b.sdp_solves / row["enum_sdp"] if not args.no_enum else float("nan")
        row["pct"] = pct
        rows.append(row)
        print(f"{seed:>4} {opt if opt else float('nan'):>9.4g} {row.get('enum_sdp', 0):>8} "
              f"{row.get('enum_s', float('nan')):>7.1f} {b.status.value[:8]:>8} {b.nodes or 0:>5} {b.sdp_solves:>7} "
              f"{row['bnb_s']:>6.1f} {pct:>6.1f} {ao.objective or float('nan'):>9.4g} {row['ao_s']:>5.1f} "
              f"{row['ao_gap']:>7.2%} " + " ".join(f"{g:>7.2%}" for g in row["gaps"]), flush=True)
    solved = [r for r in rows if r["opt"] is not None]
    print(f"\n{len(solved)} of {len(rows)} instances feasible with a certified optimum")
    if solved:
        med = lambda xs: float(np.median(xs))
        print(f"median bnb SDP solves: {med([r['bnb'].sdp_solves for r in solved]):.0f}"
              + ("" if args.no_enum else f" vs enumeration {med([r['enum_sdp'] for r in solved]):.0f} "
                 f"(median ratio {med([r['pct'] for r in solved]):.1f} %), median time ratio "
                 f"{med([r['bnb_s'] / r['enum_s'] for r in solved]):.3f}"))
        print(f"median bnb time {med([r['bnb_s'] for r in solved]):.1f} s, max {max(r['bnb_s'] for r in solved):.1f} s")
        print(f"median AO gap {med([r['ao_gap'] for r in solved]):.2%}; median Scheme gaps "
              + ", ".join(f"S{j + 1} {med([r['gaps'][j] for r in solved]):.2%}" for j in range(3)))
        print(f"all AO/Scheme objectives >= optimum: "
              f"{all(g >= -1e-5 for r in solved for g in [r['ao_gap'], *r['gaps']])}")


if __name__ == "__main__":
    main()
