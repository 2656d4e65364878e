"""isacopt: global optimization and parameter studies for networked ISAC.

The repository root is the package; see README.md for the layout and ../DESIGN for the data flow
scenario -> model -> algorithm -> result -> study.
"""
__version__ = "0.1.0"


def verify(result):
    """Re-check a stored result (a :class:`~isacopt.algorithms.result.Result` or the path of its JSON file) against
    the original constraints, re-deriving the instance from its scenario and seed; a ``Verification``."""
    from .algorithms.result import Result
    from .registry import verify_result
    return verify_result(result if isinstance(result, Result) else Result.load(result))


def solve(problem: str, scenario: str | None = None, method: str | None = None, *, solver: str | None = None,
          seed: int = 0, set: dict | None = None, time_limit_s: float | None = None):
    """Solve one instance, as ``run.py solve``: ``isacopt.solve("detection", "detection_k1", set={"sinr_db": 20})``
    returns a :class:`~isacopt.algorithms.result.Result` (``.status``, ``.objective``, ``.metrics``, ``.save``)."""
    from .registry import solve as _solve
    return _solve(problem, scenario, method, solver, seed, values=dict(set or {}), time_limit_s=time_limit_s)


def study(name: str, out: str | None = None, *, quick: bool = False, workers: int = 1, resume: bool = False):
    """Run a parameter study, as ``run.py study`` (a shipped name or a TOML path; default output
    ``results/<name>[-quick]``); returns the job table (also written as jobs.csv / summary.csv / figure.png)."""
    from .studies.runner import run_study
    from .studies.spec import load_study
    spec = load_study(name, quick=quick)
    return run_study(spec, out or f"results/{spec.name}", workers=workers, resume=resume)   # name ends -quick


def load_result(path):
    """A stored JSON result (``run.py solve --out`` / ``Result.save``) as a
    :class:`~isacopt.algorithms.result.Result` (old names of scenario keys mapped to today's, with a note)."""
    from .algorithms.result import Result
    from .registry import canonical_result
    return canonical_result(Result.load(path))
