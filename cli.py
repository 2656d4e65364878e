"""Command-line interface: ``python run.py VERB ...`` (also installed as ``isacopt``).

Verbs: ``list`` (problems, methods, scenarios, studies), ``solvers`` (availability table), ``solve`` (one instance),
``study`` (a parameter study, see :mod:`isacopt.studies`).
User mistakes (unknown names, malformed scenario files, bad values) print one line to stderr and exit with 2; a
failure inside the project prints one line and exits with 1 (``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path

from . import __version__
from .errors import IsacoptError, ScenarioError

# The heavy modules (NumPy, cvxpy, the papers) are imported by the verbs that need them, so `--help` and
# `--version` answer at once.


def _fmt(value) -> str:
    """Compact human form of a metric: scalars to 4 significant digits, arrays as min/max."""
    import numpy as np
    arr = np.asarray(value)
    if arr.dtype.kind in "fi" and arr.size > 1:
        return f"min {arr.min():.4g}, max {arr.max():.4g}" if arr.size > 4 else " ".join(f"{x:.4g}" for x in arr.ravel())
    if arr.dtype.kind in "fi":
        return f"{float(arr):.6g}"
    return str(value)


def cmd_list(args) -> int:
    from . import registry
    from .data import loader
    from .data.schema import _plain, field_help
    specs = list(registry.PROBLEMS.values())
    if args.scenario is not None:
        specs = [s for s in specs if args.scenario in s.scenarios()]
        if not specs:
            raise ScenarioError(f"--scenario '{args.scenario}' is no shipped scenario (run.py list shows them)")
    for spec in specs:
        print(f"{spec.name}: {spec.paper}")
        for name, method in spec.methods.items():
            mark = " (default)" if name == spec.default_method else ""
            print(f"  --method {name}{mark}: {method.help}")
        print(f"  scenarios: {', '.join(spec.scenarios())} (default {spec.default_scenario})")
        for key, meaning in spec.parameters.items():
            print(f"  --set {key}=...: {meaning}")
        if args.verbose or args.scenario is not None:
            name = args.scenario or spec.default_scenario
            scenario, _ = loader.load_scenario(spec.scenario_class, spec.name, name, spec.default_scenario,
                                               folder=spec.scenario_dir)
            print(f"  fields of scenario {name} (--set KEY=VALUE; class default in parentheses where it differs):")
            for field, default, allowed, text in field_help(spec.scenario_class):
                value = _plain(getattr(scenario, field))
                shown = value if value == default else f"{value} ({default})"
                print(f"    {field} = {shown}  [{allowed}] {text}")
    studies = loader.available(loader.STUDY_DIR)
    print(f"studies: {', '.join(studies) if studies else 'none yet'}")
    return 0


def cmd_solvers(args) -> int:
    from .algorithms import backends
    print(f"{'solver':<10} {'kind':<8} {'version':<10} status")
    for info in backends.solver_table():
        default = " [default]" if info.name in (backends.DEFAULT_CONIC, backends.DEFAULT_INTEGER) else ""
        note = f" - {info.note}" if info.note else ""
        print(f"{info.name.lower():<10} {info.kind:<8} {info.version:<10} {info.availability.value}{default}{note}")
    return 0


def cmd_solve(args) -> int:
    from . import registry
    if args.seed < 0:
        raise ScenarioError(f"--seed {args.seed} must be a non-negative integer")
    result = registry.solve(args.problem, args.scenario, args.method, args.solver, args.seed, args.set or (),
                            time_limit_s=args.time_limit)
    spec = registry.problem(args.problem)
    print(f"{result.problem} / {result.method}   scenario {result.scenario_name}, seed {result.seed}")
    print(f"  status     {result.status.value} ({result.solver}, {result.time_s:.2f} s; stopped: "
          f"{result.termination.value.replace('_', ' ')})")
    if result.objective is not None:
        print(f"  objective  {result.objective:.6g}  ({result.objective_name})")
    if result.verified is not None:
        word = "yes" if result.verified else "NO"
        print(f"  verified   {word} (max relative violation {result.max_violation:.1e})")
    for key in ("nodes", "sdp_solves", "lower_bound", "upper_bound", "gap"):
        if getattr(result, key) is not None:
            print(f"  {key:<10} {_fmt(getattr(result, key))}")
    if result.solver_calls:
        print("  solves     " + ", ".join(f"{c['solver']} ({c['rung']}) {c['status']} x{c['count']}"
                                         for c in result.solver_calls))
    for key in spec.summary_metrics:
        if key in result.metrics:
            print(f"  {key:<10} {_fmt(result.metrics[key])}")
    for note in result.notes:
        print(f"  note: {note}")
    if args.out:
        try:
            print(f"  wrote {result.save(args.out)}")
        except OSError as exc:
            raise ScenarioError(f"cannot write the result to '{args.out}': {exc.strerror or exc}; choose another "
                                "--out") from None
    return 0


def cmd_study(args) -> int:
    from .studies.runner import run_study
    from .studies.spec import load_study

    study = load_study(args.study, quick=args.quick)
    out = args.out or f"results/{study.name}"
    jobs = len(study.jobs())
    where = f"dask scheduler {args.scheduler}" if args.scheduler else f"{args.workers} local worker(s)"
    print(f"study {study.name}: {len(study.points())} points x {study.draws} draws x {len(study.methods)} methods "
          f"= {jobs} jobs on {where} -> {out}", flush=True)
    table = run_study(study, out, workers=args.workers, scheduler=args.scheduler, resume=args.resume)
    counts = table["status"].value_counts().to_dict()
    print("  jobs: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    parquet = ", .parquet copies" if (Path(out) / "jobs.parquet").exists() else ""
    print(f"  wrote {out}/jobs.csv, {out}/summary.csv" + (f", {out}/figure.png" if study.figure else "") + parquet)
    return 0


def cmd_reproduce(args) -> int:
    """Run every figure study of the chosen papers (resuming what exists) and write the gallery page."""
    from .studies.gallery import build_gallery

    page = build_gallery(args.papers, quick=args.quick, workers=args.workers, scheduler=args.scheduler,
                         out=args.out)
    print(f"  wrote {page}")
    return 0


def cmd_verify(args) -> int:
    """Re-check a stored result from its own data; exit 0 when it holds, 3 when it does not."""
    import json

    from . import registry
    from .algorithms.result import Result

    try:
        result = Result.from_dict(json.loads(open(args.result, encoding="utf-8").read()))
    except FileNotFoundError:
        raise ScenarioError(f"result file '{args.result}' does not exist") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ScenarioError(f"'{args.result}' is not a result file written by `solve --out` ({exc})") from None
    report = registry.verify_result(result)
    word = "holds" if report.passed else "FAILS"
    print(f"{result.problem} / {result.method}: the stored solution {word} against the original constraints "
          f"(max relative violation {report.max_violation:.1e})")
    for name, value in sorted(report.violations.items(), key=lambda kv: -kv[1])[:5]:
        if value > 0:
            print(f"  {name}: {value:.2e}")
    return 0 if report.passed else 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py", description="isacopt: optimization for networked ISAC")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("--version", action="version", version=f"isacopt {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("list", help="problems, methods, scenarios and studies")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also list every field of each problem's default scenario")
    p.add_argument("--scenario", help="only the problem of this shipped scenario, with its resolved fields")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("solvers", help="which solvers are installed and licensed")
    p.set_defaults(func=cmd_solvers)
    p = sub.add_parser("solve", help="solve one instance of a problem")
    p.add_argument("problem", help="problem name (see `list`)")
    p.add_argument("--scenario", help="shipped scenario name or path to a .toml file")
    p.add_argument("--method", help="method name (see `list`)")
    p.add_argument("--solver", help="conic: clarabel|scs|mosek|schur (default: schur where it pays, then "
                                    "clarabel); integer: highs|gurobi")
    p.add_argument("--seed", type=int, default=0, help="seed of the random positions and channels (default 0)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a scenario field (repeatable)")
    p.add_argument("--out", metavar="FILE.json", help="write the self-contained JSON result")
    p.add_argument("--time-limit", type=float, metavar="SECONDS", dest="time_limit",
                   help="wall-clock limit of the method; it returns the best answer found so far, with its bound")
    p.set_defaults(func=cmd_solve)
    p = sub.add_parser("study", help="run a parameter study (sweep, draws, methods) and draw its figure")
    p.add_argument("study", help="shipped study name or path to a .toml file (see `list`)")
    p.add_argument("--quick", action="store_true", help="the study's reduced grid (about a minute)")
    p.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1),
                   help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a dask.distributed cluster (e.g. tcp://host:8786)")
    p.add_argument("--out", metavar="DIR", help="output folder (default results/<study>)")
    p.add_argument("--resume", action="store_true", help="continue a study in --out, running only missing jobs")
    p.set_defaults(func=cmd_study)
    p = sub.add_parser("reproduce", help="run every figure study of the chosen papers and write a gallery page "
                                         "(the paper's claim, our figure, a computed verdict)")
    p.add_argument("papers", nargs="*", metavar="PAPER", help="problem names (default: every paper; see `list`)")
    p.add_argument("--quick", action="store_true", help="each study's reduced grid")
    p.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1),
                   help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a dask.distributed cluster (e.g. tcp://host:8786)")
    p.add_argument("--out", metavar="DIR", help="output folder (default results/gallery, -quick appended)")
    p.set_defaults(func=cmd_reproduce)
    p = sub.add_parser("verify", help="re-check a stored result (JSON from `solve --out`) from its own data")
    p.add_argument("result", help="a result file written by `solve --out`")
    p.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv                         # accepted anywhere on the line, as the error hints say
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(message)s")
    if not args.debug:                    # long solves log a line now and then when stderr is not a terminal
        logging.getLogger("isacopt.progress").setLevel(logging.INFO)
    try:
        return args.func(args)
    except IsacoptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:              # `run.py list | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: one line, traceback on request
        if args.debug:
            traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1
