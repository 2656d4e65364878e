"""Start-up cost of the command line: `run.py --help`, `run.py list` and `run.py solvers` against `python -c pass`.

    python benchmarks/bench_cli.py [--repeat 7]

Median wall time of each command over ``--repeat`` runs (fresh interpreters), and its ratio to an empty Python
start. `--help` imports no NumPy/cvxpy (lazy imports in cli.py); `list` reads the scenario files; `solvers` probes
the solver packages.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {"python -c pass": [sys.executable, "-c", "pass"],
            "run.py --help": [sys.executable, str(ROOT / "run.py"), "--help"],
            "run.py list": [sys.executable, str(ROOT / "run.py"), "list"],
            "run.py solvers": [sys.executable, str(ROOT / "run.py"), "solvers"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    medians = {}
    for name, cmd in COMMANDS.items():
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT)
            times.append(time.perf_counter() - t0)
        medians[name] = statistics.median(times)
    base = medians["python -c pass"]
    print(f"{'command':<16} {'median s':>9} {'x python -c pass':>17}")
    for name, t in medians.items():
        print(f"{name:<16} {t:>9.3f} {t / base:>17.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
