"""SDP solve time: the project's path versus the formulation a competent cvxpy user writes first.

    python benchmarks/bench_sdp.py [--problem detection|localization|precoding|all] [--instances 5] [--seed 0]
                                   [--receiver 1|2] [--method sdr|...]

Detection paper, K = 3 setup (``detection_k3``: L = 3 BSs, N_t = 32, 9 CUs at random, Q = 9 samples):
- project: ``DetectionModel`` + ``sdr.solve_relaxation`` (DPP template compiled once per shape and re-bound per
  instance, exact dimension reduction to the span of the CU channels and steering vectors, real embedding, scaled
  biorthogonal basis), including the rank-one construction and the NumPy verification; timed on the default conic
  path (SCHUR where its cost model picks it, then Clarabel's ladder) and, as "Clarabel path", on Clarabel alone;
- direct: ``detection.direct_problem`` - complex Hermitian N_t x N_t variables, channels in noise units, powers in
  P_max units, built per instance and solved by Clarabel with default settings.
Localization paper, Table I setup (``localization_table1``: M = 2 BSs, N_t = 16, K = 4 random CUs per BS, 4 TMTs):
- project: ``LocalizationModel`` + ``sdr.solve_relaxation`` (reduction to r = M K + 1 = 9 instead of N_t = 16);
- direct: ``localization.direct_problem`` - (21) with complex Hermitian N_t x N_t variables, built per instance.
Robust-precoding paper, Sec. VI setup (``robust_precoding``: J = 2, K = 3, N_tx = N_rx = 6, L = 16, delta = 0), one
AO round of BLP-CBF and of SLP-CBF at the initial budgets (rho = 1): stage A, then stage B at stage A's optimum:
- project: ``robust_precoding.Design`` + stage A (both BSs; DPP template over the real lifting on a basis dual to the
  user channels (BLP) / orthonormal (SLP), SOC form of the CRB Schur constraint, Clarabel at 1e-10 with the retry
  ladder; the two BSs' solver calls in parallel threads, ``backends.solve_conic_batch``, and timed again on one
  thread, ``ISACOPT_THREADS=1``) + stage B (the SDP (P1.B)/(P3.B), same template family and batching);
  ``verified`` re-checks the relaxed solution in NumPy (CRB from the FIM vs the bound, power, budget levels);
- direct: ``robust_precoding.direct_stage`` per BS, stage A and then stage B with A's optimal t - complex Hermitian
  N x N variables (BLP) or lifted (N + 1) x (N + 1) variables per symbol (SLP), rows normalized by channel norms,
  the decoupled and Jacobi-scaled 3 x 3 FIM and the 4 x 4 Schur LMI, built per instance, Clarabel with static
  regularization 1e-7 (the defaults fail on the BLP problem); rel diff compares the root CRB bounds of stage A,
  B diff the stage-B optima (sum of the relative budgets) of the two BSs.
Both run side by side in one process on the same instances; the table shows times, their ratio and the agreement of
the optima (and, for the min-CRLB problem, whether the project's verified optimum is <= the direct one). The first
project solve also pays the one-time compilation of the template (reported apart). Precoding times are the best of
``--repeat`` runs (default 3) of each path.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np

from isacopt.algorithms import sdr
from isacopt.algorithms.backends.conic import solver_crashed
from isacopt.data.loader import load_scenario
from isacopt.models import detection as d
from isacopt.models import localization as lz
from isacopt.models import robust_precoding as rp


def direct_solve(problem, **settings) -> str:
    """Solve a baseline the way its user would; a failure (a cvxpy SolverError, a Clarabel panic, which is a
    BaseException) is that row's status, never the end of the benchmark."""
    try:
        problem.solve(solver="CLARABEL", **settings)
        return str(problem.status)
    except BaseException as exc:                                         # noqa: B036 -- Clarabel panics
        if not solver_crashed(exc):
            raise
        return f"failed ({type(exc).__name__}: {str(exc)[:40]})"


def project_solve(model_of, inst):
    """The project's path twice on one instance: the default conic path (SCHUR where it applies, then Clarabel's
    ladder) and Clarabel's ladder alone; (result of the default, its time, Clarabel's time, Clarabel's status)."""
    t0 = time.perf_counter()
    clarabel = sdr.solve_relaxation(model_of(inst), "clarabel")
    t_clarabel = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = sdr.solve_relaxation(model_of(inst))
    return result, time.perf_counter() - t0, t_clarabel, clarabel


def detection_rows(instances: int, seed: int, receiver: int, method: str):
    base, _ = load_scenario(d.DetectionScenario, "detection", "detection_k3", "detection_k3")
    base = dataclasses.replace(base, receiver=receiver)
    seeds = np.random.SeedSequence(seed).spawn(instances)
    for i, ss in enumerate(seeds):
        inst = d.draw_instance(base, np.random.default_rng(ss))
        result, t_project, t_clarabel, clarabel = project_solve(lambda i: d.DetectionModel(i, method), inst)
        ours = 10 ** (result.metrics["reflection_power_dbm"].min() / 10) / 1e3
        t0 = time.perf_counter()
        problem, v = d.direct_problem(inst, method)
        direct_status = direct_solve(problem)
        t_direct = time.perf_counter() - t0
        theirs = inst.scenario.rx_antennas * problem.value / v["scale"] if problem.value is not None else np.nan
        yield {"instance": i, "project_s": t_project, "direct_s": t_direct, "ratio": t_direct / t_project,
               "project_status": result.status.value, "verified": result.verified,
               "direct_status": direct_status, "rel_diff": abs(ours - theirs) / abs(ours),
               **_clarabel_columns(result, t_project, t_clarabel, clarabel)}


def _clarabel_columns(result, t_project, t_clarabel, clarabel) -> dict:
    agree = abs(result.objective - clarabel.objective) / max(abs(clarabel.objective), 1e-12) \
        if result.objective is not None and clarabel.objective is not None else np.nan
    return {"clarabel_s": t_clarabel, "solver_ratio": t_clarabel / t_project, "answered": result.solver,
            "clarabel_status": clarabel.status.value, "vs_clarabel": agree}


def localization_rows(instances: int, seed: int, method: str = "sdr", antennas: int = 16, users: int = 4):
    base, _ = load_scenario(lz.LocalizationScenario, "localization", "localization_table1", "localization_table1")
    base = dataclasses.replace(base, tx_antennas=antennas, users_per_bs=users)
    for i, ss in enumerate(np.random.SeedSequence(seed).spawn(instances)):
        inst = lz.draw_instance(base, np.random.default_rng(ss))
        result, t_project, t_clarabel, clarabel = project_solve(lambda i: lz.LocalizationModel(i, method), inst)
        t0 = time.perf_counter()
        problem, v = lz.direct_problem(inst, method)
        direct_status = direct_solve(problem)
        t_direct = time.perf_counter() - t0
        theirs = v["crlb_ref"] * problem.value if problem.value is not None else np.nan
        ours = result.objective if result.objective is not None else float("nan")
        yield {"instance": i, "project_s": t_project, "direct_s": t_direct, "ratio": t_direct / t_project,
               "project_status": result.status.value, "verified": result.verified,
               "direct_status": direct_status, "rel_diff": abs(ours - theirs) / abs(ours),
               "project_not_worse": bool(ours <= theirs * (1 + 1e-9)),
               "eigen_ratio": result.metrics.get("sdr_max_eigen_ratio"),
               **_clarabel_columns(result, t_project, t_clarabel, clarabel)}


def _precoding_relaxation_ok(d, state, tol=1e-6) -> bool:
    """NumPy re-check of stage A's relaxed solution: the CRB of R (FIM (6)-(7) with C at the leakage budget) within
    the bound, the BS power, and every budget level (worst-case interference, ICI amplitude, leakage) <= 1."""
    ok = True
    for i, u in enumerate(d.units):
        X = state["X"][i]
        c = u.q.shape[0]
        R = X.sum(axis=0) if d.level == "blp" else X[:, :c, :c].mean(axis=0)
        m = u.targets[0]
        crb = rp.crb_angle(rp.fim(u.E[0], d._cov(m, state["leak"]), R, d.L))
        ok &= bool(np.rad2deg(np.sqrt(crb)) <= d.rcrb_bound_deg(i, state["f"][i]) * (1 + tol))
        ok &= bool(np.real(np.trace(R)) <= 1 + tol) and bool(np.all(d.levels(i, X) <= 1 + tol))
    return ok


def precoding_rows(instances: int, seed: int, method: str = "blp-cbf", repeat: int = 3):
    """Times are the best of ``repeat`` runs of each path (the machines are noisy; both paths get the same number of
    runs, and the direct path is rebuilt on every run, as a user's script would)."""
    base, _ = load_scenario(rp.RobustPrecodingScenario, "robust-precoding", "robust_precoding", "robust_precoding")
    for i, ss in enumerate(np.random.SeedSequence(seed).spawn(instances)):
        inst = rp.draw_instance(base, np.random.default_rng(ss))
        times = {"1": [], "": [], "direct": []}
        for _ in range(repeat):
            for threads in ("1", ""):                                  # one thread first: it pays the compilation
                os.environ["ISACOPT_THREADS"] = threads
                t0 = time.perf_counter()
                d = rp.Design.for_method(inst, method)
                a = rp._StageA(d).solve(d.initial_state())
                b = rp._StageB(d).solve(a.state) if a.objective is not None else None
                times[threads].append(time.perf_counter() - t0)
            os.environ.pop("ISACOPT_THREADS")
            t0 = time.perf_counter()
            theirs, theirs_b, direct_status = [], [], []
            for m in range(inst.shape[0]):                             # stage A, then stage B at A's optimum
                problem, v = rp.direct_stage(inst, method, m)
                direct_status.append(direct_solve(problem, **v["settings"]))
                theirs.append(v["rcrb_deg"]() if problem.value is not None else np.nan)
                if problem.value is None:
                    theirs_b.append(np.nan)
                    continue
                problem_b, vb = rp.direct_stage(inst, method, m, t_star=float(v["t"].value))
                direct_status.append(direct_solve(problem_b, **vb["settings"]))
                theirs_b.append(problem_b.value if problem_b.value is not None else np.nan)
            times["direct"].append(time.perf_counter() - t0)
        t_project, t_serial, t_direct = min(times[""]), min(times["1"]), min(times["direct"])
        ours = np.array(a.info.get("rcrb_bound_deg", [np.nan] * inst.shape[0]))
        ours_b = np.array([np.nan if v is None else v for v in (b.info["sdp_objective"] if b else [None])], float)
        status = a.status if b is None or b.status == a.status else b.status
        worst = max(set(direct_status), key=lambda x: (x != "optimal", x))
        yield {"instance": i, "project_s": t_project, "direct_s": t_direct, "ratio": t_direct / t_project,
               "serial_s": t_serial, "serial_ratio": t_direct / t_serial, "first_s": times["1"][0],
               "project_status": status.value, "verified": _precoding_relaxation_ok(d, a.state),
               "direct_status": worst, "rel_diff": float(np.max(np.abs(ours - np.array(theirs)) / np.abs(ours))),
               "rel_diff_b": float(np.max(np.abs(ours_b - np.array(theirs_b)) / np.abs(ours_b)))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problem", choices=("detection", "localization", "precoding", "all"), default="all")
    ap.add_argument("--instances", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--receiver", type=int, choices=(1, 2), default=1, help="detection: CU receiver type")
    ap.add_argument("--method", default="sdr", help="detection: sdr|sensing-only; localization: sdr|radar-only")
    ap.add_argument("--repeat", type=int, default=3, help="precoding: best of this many runs per path")
    args = ap.parse_args(argv)
    cases = []
    if args.problem in ("detection", "all"):
        cases.append((f"detection K=3, method {args.method}, Type-{'I' * args.receiver} receivers",
                      detection_rows(args.instances, args.seed, args.receiver, args.method)))
    if args.problem in ("localization", "all"):
        cases.append((f"localization Table I (N_t=16, K=4), method {args.method}",
                      localization_rows(args.instances, args.seed, args.method)))
    if args.problem in ("precoding", "all"):
        for method in ("blp-cbf", "slp-cbf"):
            cases.append((f"robust precoding Sec. VI (J=2, K=3, N=6, L=16), one AO round (A + B) of {method}",
                          precoding_rows(args.instances, args.seed, method, args.repeat)))
    for title, rows in cases:
        print(f"{title}, {args.instances} instances")
        print(f"{'inst':>4} {'project s':>10} {'direct s':>10} {'ratio':>7}  {'project':<18} {'direct':<19} "
              f"{'rel diff':>9}" + (f" {'B diff':>8}" if "precoding" in title else ""))
        ratios, serial, first, failed = [], [], None, 0
        for row in rows:
            ok = not row["direct_status"].startswith("failed")   # a crashed baseline's time is not a speed-up
            failed += row["direct_status"] != "optimal"
            ratios.append(row["ratio"] if ok else np.nan)
            status = f"{row['project_status']}{'/verified' if row['verified'] else '/NOT verified'}"
            extra = f"  ours<=direct: {row['project_not_worse']}" if "project_not_worse" in row else ""
            if "clarabel_s" in row:
                extra += (f"  [{row['answered']}; Clarabel path {row['clarabel_s']:.2f} s "
                          f"({row['clarabel_status']}), x{row['solver_ratio']:.1f}, "
                          f"objectives {row['vs_clarabel']:.0e}]")
            if "serial_ratio" in row and ok:
                serial.append(row["serial_ratio"])
                first = row["first_s"] if first is None else first
                extra += f"  1 thread: {row['serial_s']:.2f} s, ratio {row['serial_ratio']:.1f}"
            print(f"{row['instance']:>4} {row['project_s']:>10.2f} {row['direct_s']:>10.2f} {row['ratio']:>7.1f}  "
                  f"{status:<18} {row['direct_status']:<19} {row['rel_diff']:>9.1e}"
                  + (f" {row['rel_diff_b']:>8.1e}" if "rel_diff_b" in row else "") + extra, flush=True)
        if failed:
            print(f"the direct baseline was not optimal on {failed} of {len(ratios)} instances (rows above); the "
                  "speed-ups below exclude only those where it crashed")
        if serial:                                  # best-of-repeat times: every instance counts
            ratios = [r for r in ratios if np.isfinite(r)]
            print(f"best of {args.repeat} runs per path; the first project run (one-time template compilation) took "
                  f"{first:.2f} s. Median speed-up {np.median(ratios):.1f}x (min {min(ratios):.1f}x, max "
                  f"{max(ratios):.1f}x); project on one thread: median {np.median(serial):.1f}x\n")
        elif len([r for r in ratios[1:] if np.isfinite(r)]) > 0:
            later = [r for r in ratios[1:] if np.isfinite(r)]
            print(f"instance 0 includes the one-time compilation of the template; over instances 1-{len(ratios) - 1}: "
                  f"median speed-up {np.median(later):.1f}x (min {min(later):.1f}x, max {max(later):.1f}x)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
