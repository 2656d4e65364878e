"""Branch-and-bound vs. enumeration vs. the paper's AO and Schemes 1-3 on random BS-selection instances.

    python benchmarks/bench_misdp.py [--instances 20] [--num-bs 4] [--num-users 5] [--workers 2] [--no-enum]

Per instance: enumeration's SDP count and time (the ground truth, S (S-1)^K inner SDPs in a process pool),
branch-and-bound's nodes, SDP count, time and status, AO's objective, time, time ratio to branch-and-bound and gap
to the certified optimum, and each Scheme's gap in both flavours (Algorithm 1 / branch-and-bound association; inf:
no feasible point found). ``--oa`` adds outer approximation (the second exact method, ``--oa-time-limit`` seconds
per instance): its status, time, MILP master solves, conic solves and the time ratio to branch-and-bound. Then the
median ratios. ``--no-enum`` runs only the
exact branch-and-bound (for sizes enumeration cannot reach, e.g. S = 5, K = 8: 327,680 leaves). Branch-and-bound
runs first and its part of the row is printed at once; ``--csv FILE`` appends every finished instance to FILE and
skips the seeds already in it, so a stopped run resumes where it stopped.
"""
from __future__ import annotations

import argparse
import csv
import os
import logging
import time
import warnings

import numpy as np

from isacopt.algorithms.result import Status
from isacopt.data.loader import load_scenario
from isacopt.models import bs_selection as bs


#: Schemes 1 and 3 in both flavours (the association by Algorithm 1, as the paper compares, and by
#: branch-and-bound, the restricted problem's optimum); Scheme 2 (random) is added per seed.
SCHEMES = {"scheme1": bs.scheme1, "scheme1-bnb": bs.scheme1_bnb, "scheme3": bs.scheme3, "scheme3-bnb": bs.scheme3_bnb}
GAPS = ("ao_gap", "scheme1_gap", "scheme1_bnb_gap", "scheme3_gap", "scheme3_bnb_gap", "scheme2_gap")


def gap(value, opt):
    if value is None or opt is None:
        return float("inf") if opt is not None else float("nan")
    return (value - opt) / opt


def flatten(row) -> dict:
    """One finished instance as flat numbers (the CSV row)."""
    b, ao = row["bnb"], row["ao"]
    return dict(seed=row["seed"], optimum_w=row["opt"], enum_sdp=row.get("enum_sdp"), enum_s=row.get("enum_s"),
                bnb_status=b.status.value, nodes=b.nodes, bnb_sdp=b.sdp_solves, bnb_s=row["bnb_s"],
                lower_bound_w=b.lower_bound, upper_bound_w=b.upper_bound, bnb_gap=b.gap, ao_w=ao.objective,
                **({} if "oa" not in row else dict(oa_status=row["oa"].status.value, oa_s=row["oa_s"],
                                                   oa_milp=row["oa"].metrics.get("milp_solves"),
                                                   oa_sdp=row["oa"].sdp_solves, oa_w=row["oa"].objective)),
                ao_s=row["ao_s"], ao_sdp=ao.sdp_solves, ao_gap=row["ao_gap"],
                **{f"{name.replace('-', '_')}_gap": g for name, g in row["gaps"].items()})


def exact_row(row) -> dict:
    """One instance of a --bnb-only run (branch-and-bound, and OA with --oa) as flat numbers."""
    b = row["bnb"]
    out = dict(seed=row["seed"], optimum_w=b.objective if b.status == Status.OPTIMAL else None,
               bnb_status=b.status.value, nodes=b.nodes, bnb_sdp=b.sdp_solves, bnb_s=row["bnb_s"],
               lower_bound_w=b.lower_bound, upper_bound_w=b.upper_bound, bnb_gap=b.gap)
    if "oa" in row:
        o = row["oa"]
        out.update(oa_status=o.status.value, oa_s=row["oa_s"], oa_milp=o.metrics.get("milp_solves"),
                   oa_sdp=o.sdp_solves, oa_w=o.objective, oa_lower_bound_w=o.lower_bound)
    return out


def write_row(path, flat):
    """Append one finished instance to ``path``, with a header when the file is new."""
    new = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(flat))
        if new:
            w.writeheader()
        w.writerow(flat)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--instances", type=int, default=20)
    p.add_argument("--num-bs", type=int, default=4)
    p.add_argument("--num-users", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed0", type=int, default=0)
    p.add_argument("--no-enum", action="store_true")
    p.add_argument("--bnb-only", action="store_true", help="only branch-and-bound (no enumeration, AO, schemes)")
    p.add_argument("--time-limit", type=float, default=None, help="branch-and-bound wall-clock limit (s)")
    p.add_argument("--csv", default=None, help="append each finished instance here; seeds already in it are skipped")
    p.add_argument("--markdown", action="store_true", help="also print the table of every instance as Markdown")
    p.add_argument("--oa", action="store_true", help="also run outer approximation (--method oa)")
    p.add_argument("--oa-time-limit", type=float, default=300.0, help="OA wall-clock limit per instance (s)")
    args = p.parse_args(argv)
    done = set()
    if args.csv and os.path.exists(args.csv):
        with open(args.csv) as f:
            done = {int(r["seed"]) for r in csv.DictReader(f)}
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    sc, _ = load_scenario(bs.BSSelectionScenario, "bs-selection", "bs_selection", "bs_selection",
                          [f"num_bs={args.num_bs}", f"num_users={args.num_users}"])
    S, K = args.num_bs, args.num_users
    print(f"BS selection, S={S}, K={K}, N={sc.tx_antennas}: {S * (S - 1) ** K} (receiver, association) leaves")
    head = (f"{'seed':>4} {'opt W':>9} {'enum SDP':>8} {'enum s':>7} {'bnb st':>8} {'nodes':>5} {'bnb SDP':>7} "
            f"{'bnb s':>6} {'SDP %':>6} {'AO W':>9} {'AO s':>5} {'AO gap':>7} {'S1 gap':>7} "
            f"{'S1b gap':>7} {'S3 gap':>7} {'S3b gap':>7} {'S2 gap':>7}")
    print(head)
    rows = []
    for i in range(args.instances):
        seed = args.seed0 + i
        if seed in done:
            print(f"{seed:>4} (in {args.csv})")
            continue
        inst = bs.draw_instance(sc, np.random.default_rng(seed))
        row = dict(seed=seed)
        t = time.perf_counter()
        b = bs.run_bnb(inst, time_limit_s=args.time_limit)
        row.update(bnb=b, bnb_s=time.perf_counter() - t)
        print(f"{seed:>4} bnb: {b.status.value}, {b.objective} W, lower bound {b.lower_bound} W, gap {b.gap}, "
              f"{b.nodes} nodes, {b.sdp_solves} SDPs, {row['bnb_s']:.1f} s", flush=True)
        if args.oa:
            t = time.perf_counter()
            o = bs.run_oa(inst, time_limit_s=args.oa_time_limit)
            row.update(oa=o, oa_s=time.perf_counter() - t)
            agree = "-" if not (o.status == b.status == Status.OPTIMAL) else \
                ("yes" if abs(o.objective - b.objective) <= 1e-5 * b.objective else "NO")
            print(f"{seed:>4} oa: {o.status.value} ({o.termination.value}), {o.objective} W, lower bound "
                  f"{o.lower_bound} W, {o.metrics.get('milp_solves')} MILP masters "
                  f"({o.metrics.get('master_time_s', 0):.1f} s), {o.sdp_solves} conic solves, {row['oa_s']:.1f} s, "
                  f"time oa/bnb {row['oa_s'] / row['bnb_s']:.2f}, same optimum as bnb: {agree}", flush=True)
        if args.bnb_only:
            if args.csv:
                write_row(args.csv, exact_row(row))
            continue
        if not args.no_enum:
            t = time.perf_counter()
            e = bs.run_enumeration(inst, workers=args.workers)
            row.update(enum_sdp=e.sdp_solves, enum_s=time.perf_counter() - t, enum=e)
        opt = b.objective if b.status == Status.OPTIMAL else None
        if not args.no_enum and row["enum"].status == Status.OPTIMAL:
            opt = row["enum"].objective
            if b.status == Status.OPTIMAL and abs(b.objective - opt) > 1e-5 * opt:
                print(f"  MISMATCH seed {seed}: bnb {b.objective} vs enumeration {opt}")
        t = time.perf_counter()
        ao = bs.run_ao(inst)
        row.update(ao=ao, ao_s=time.perf_counter() - t, opt=opt)
        schemes = {name: run(inst) for name, run in SCHEMES.items()}
        schemes["scheme2"] = bs.scheme2(inst, np.random.default_rng(seed + 1000))
        row["gaps"] = {name: gap(r.objective if r.status.has_solution else None, opt) for name, r in schemes.items()}
        row["ao_gap"] = gap(ao.objective if ao.status.has_solution else None, opt)
        pct = 100.0 * b.sdp_solves / row["enum_sdp"] if not args.no_enum else float("nan")
        row["pct"] = pct
        flat = flatten(row)
        rows.append(flat)
        print(f"{seed:>4} {opt if opt else float('nan'):>9.4g} {row.get('enum_sdp', 0):>8} "
              f"{row.get('enum_s', float('nan')):>7.1f} {b.status.value[:8]:>8} {b.nodes or 0:>5} {b.sdp_solves:>7} "
              f"{row['bnb_s']:>6.1f} {pct:>6.1f} {ao.objective or float('nan'):>9.4g} {row['ao_s']:>5.1f} "
              f"{row['ao_gap']:>7.2%} " + " ".join(f"{g:>7.2%}" for g in row["gaps"].values()), flush=True)
        if args.csv:
            write_row(args.csv, flat)
    if args.csv and os.path.exists(args.csv):             # the summary covers every instance in the file
        with open(args.csv) as f:
            rows = [{k: _number(v) for k, v in r.items()} for r in csv.DictReader(f)]
    if args.bnb_only:
        summarize_exact(rows)
        return
    if args.markdown:
        markdown(rows)
    summarize(rows, args.no_enum)


def _pct(x):
    return "inf" if x is None or not np.isfinite(x) else f"{100 * x:.1f} %"


def markdown(rows):
    """The README table: one row per instance."""
    print("| seed | optimum (W) | enum SDPs | enum s | bnb status | nodes | bnb SDPs | bnb s | bnb/enum SDPs | AO s "
          "| AO/bnb time | AO gap | S1 gap | S1-bnb gap | S3 gap | S3-bnb gap | S2 gap |")
    print("|" + "---|" * 17)
    for r in rows:
        opt = "infeasible" if r["optimum_w"] is None and r["bnb_status"] == "infeasible" else (
            f"{r['optimum_w']:.4g}" if r["optimum_w"] is not None else "-")
        enum = r.get("enum_sdp")
        ratio = f"{100 * r['bnb_sdp'] / enum:.1f} %" if enum else "-"
        gaps = [_pct(r[g]) if r["optimum_w"] is not None else "-" for g in GAPS]
        enum_s = f"{r['enum_s']:.1f}" if isinstance(r.get("enum_s"), float) and np.isfinite(r["enum_s"]) else "-"
        print(f"| {int(r['seed'])} | {opt} | {int(enum) if enum else '-'} | "
              f"{enum_s} | {r['bnb_status']} | {int(r['nodes'] or 0)} | {int(r['bnb_sdp'])} | "
              f"{r['bnb_s']:.1f} | {ratio} | {r['ao_s']:.1f} | {r['ao_s'] / r['bnb_s']:.2f} | "
              + " | ".join(gaps) + " |")


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None if text == "" else text


def summarize_exact(rows):
    """--bnb-only: branch-and-bound's times, and OA's status, time ratio and how far its lower bound got."""
    solved = [r for r in rows if r.get("optimum_w") is not None]
    if not solved:
        print("no instance certified by branch-and-bound")
        return
    med = lambda xs: float(np.median(xs))
    print(f"\nbranch-and-bound: {len(solved)} of {len(rows)} certified, median time "
          f"{med([r['bnb_s'] for r in solved]):.1f} s")
    with_oa = [r for r in solved if r.get("oa_status") is not None]
    if with_oa:
        below = [(r["optimum_w"] - r["oa_lower_bound_w"]) / r["optimum_w"] for r in with_oa
                 if r.get("oa_lower_bound_w") is not None]
        print(f"OA: optimal on {sum(r['oa_status'] == 'optimal' for r in with_oa)} of {len(with_oa)}, a feasible "
              f"choice on {sum(r.get('oa_w') is not None for r in with_oa)}, median time oa/bnb "
              f"{med([r['oa_s'] / r['bnb_s'] for r in with_oa]):.2f}; its lower bound below the optimum by "
              f"{100 * med(below):.0f} % (median)" if below else "")


def summarize(rows, no_enum):
    """Median ratios over the instances with a certified optimum."""
    solved = [r for r in rows if r["optimum_w"] is not None]
    print(f"\n{len(solved)} of {len(rows)} instances feasible with a certified optimum")
    if not solved:
        return
    med = lambda xs: float(np.median(xs))
    print(f"median bnb SDP solves: {med([r['bnb_sdp'] for r in solved]):.0f}"
          + ("" if no_enum else f" vs enumeration {med([r['enum_sdp'] for r in solved]):.0f} "
             f"(median ratio {med([100 * r['bnb_sdp'] / r['enum_sdp'] for r in solved]):.2f} %), median time ratio "
             f"{med([r['bnb_s'] / r['enum_s'] for r in solved]):.3f}"))
    print(f"median bnb time {med([r['bnb_s'] for r in solved]):.1f} s, max {max(r['bnb_s'] for r in solved):.1f} s")
    with_oa = [r for r in solved if r.get("oa_s") is not None]
    if with_oa:
        print(f"OA: optimal on {sum(r['oa_status'] == 'optimal' for r in with_oa)} of {len(with_oa)}, median time "
              f"{med([r['oa_s'] for r in with_oa]):.1f} s, median time oa/bnb "
              f"{med([r['oa_s'] / r['bnb_s'] for r in with_oa]):.2f}")
    gaps = list(GAPS)
    ao = [r["ao_gap"] for r in solved]
    print(f"AO gap: median {med(ao):.2%}, worst {max(ao):.2%} (target <= 5 % / <= 25 %); AO/bnb time: median "
          f"{med([r['ao_s'] / r['bnb_s'] for r in solved]):.2f} (target < 0.20)")
    flavours = [(r["scheme1_gap"], r["scheme1_bnb_gap"]) for r in solved] + \
        [(r["scheme3_gap"], r["scheme3_bnb_gap"]) for r in solved]
    print(f"every scheme's Algorithm-1 flavour >= its branch-and-bound flavour: "
          f"{all(h >= e - 1e-5 for h, e in flavours if np.isfinite(e))}")
    print("median gaps to the optimum: " + ", ".join(f"{g[:-4]} {med([r[g] for r in solved]):.2%}" for g in gaps)
          + "; feasible: " + ", ".join(f"{g[:-4]} {sum(np.isfinite(r[g]) for r in solved)}" for g in gaps))
    print(f"all AO/Scheme objectives >= optimum: {all(r[g] >= -1e-5 for r in solved for g in gaps)}")

if __name__ == "__main__":
    main()
