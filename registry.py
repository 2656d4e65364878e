"""Problem and method lookup. Each paper registers its own :class:`Problem` where it is defined (``register``);
this module only looks names up (DESIGN.md, "Papers register themselves").

The papers shipped with the package are imported on first lookup (``PAPERS``); further problems (a user's own
paper, a test's toy problem) call :func:`register` themselves, or are named in ``$ISACOPT_PROBLEMS`` (comma-separated
module names imported on first lookup), so the CLI and the study engine see them without editing this file.
"""
from __future__ import annotations

import importlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .algorithms.result import Result
from .data.loader import SCENARIO_DIR, available, canonical, load_scenario, note_deprecated, read_toml
from .errors import UnknownNameError

#: The shipped papers, imported on first lookup; each calls :func:`register` at import.
PAPERS = ("detection", "localization", "misdp", "cluster_size", "robust_precoding", "bs_selection")
#: Old method name -> its name today, for every problem that has the latter (README, "Scenario vocabulary").
METHOD_ALIASES = {"exhaustive": "enumeration"}


@dataclass(frozen=True)
class Method:
    """How one method solves one scenario: ``run(scenario, rng, solver) -> Result``.

    ``proves``: an ``optimal`` status of this method is a proof (an exact search, a tight relaxation with its
    rank-one construction). A method with ``proves=False`` (a heuristic, a benchmark scheme) may report ``optimal``
    only when it met a valid bound within :data:`~isacopt.algorithms.result.GAP_TOLERANCE` (the conformance test
    holds every registered method to this).
    """

    run: Callable[..., Result]
    help: str
    solver_kind: str = "conic"
    proves: bool = True


@dataclass(frozen=True)
class Problem:
    name: str
    paper: str
    scenario_class: type
    default_scenario: str
    methods: dict[str, Method]
    default_method: str
    summary_metrics: tuple[str, ...] = ()
    parameters: dict[str, str] = field(default_factory=dict)   # scenario keys with a special CLI meaning
    load: Callable[..., tuple] | None = None      # non-TOML instances (CBF): load(source, default, overrides, values)
    listing: Callable[[], list[str]] | None = None   # their shipped names
    scenario_dir: Path = SCENARIO_DIR                # where its TOML scenarios live
    #: recheck(scenario, rng, result) -> (objective, checks, channels): re-derive the instance from the scenario and
    #: the seed, re-check the stored solution against the original constraints (:func:`verify_result`)
    recheck: Callable[..., tuple] | None = None

    def method(self, name: str | None) -> tuple[str, Method]:
        name = name or self.default_method
        if name not in self.methods and METHOD_ALIASES.get(name) in self.methods:
            note_deprecated("method", name, METHOD_ALIASES[name])
            name = METHOD_ALIASES[name]
        if name not in self.methods:
            raise UnknownNameError(f"unknown method '{name}' for problem '{self.name}' "
                                   f"(methods: {', '.join(self.methods)})")
        return name, self.methods[name]

    def scenarios(self) -> list[str]:
        if self.listing is not None:
            return self.listing()
        return [n for n in available(self.scenario_dir)
                if read_toml(self.scenario_dir / f"{n}.toml", "scenario").get("problem") == self.name]


class _Problems(Mapping):
    """The registered problems, in registration order; the shipped papers are imported on first access."""

    def __init__(self):
        self._entries: dict[str, Problem] = {}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        modules = [f"{__package__}.models.{name}" for name in PAPERS]
        for module in modules:
            importlib.import_module(module)
        shipped = sorted((e for e in self._entries.values() if e.scenario_class.__module__.startswith(tuple(modules))),
                         key=lambda e: [e.scenario_class.__module__.startswith(m) for m in modules].index(True))
        self._entries = {e.name: e for e in shipped} | self._entries        # shipped papers first, in PAPERS order
        for module in filter(None, (m.strip() for m in os.environ.get("ISACOPT_PROBLEMS", "").split(","))):
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise UnknownNameError(f"ISACOPT_PROBLEMS names '{module}', which cannot be imported ({exc}); "
                                       "fix the module name or unset the variable") from None

    def __getitem__(self, name: str) -> Problem:
        self._load()
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(self._entries)

    def __len__(self) -> int:
        self._load()
        return len(self._entries)


PROBLEMS = _Problems()


def register(entry: Problem) -> Problem:
    """Add a problem (called by the module that defines it). Registering a name twice replaces the entry only when
    it comes from the same module (a reload); two different problems with one name are an error."""
    old = PROBLEMS._entries.get(entry.name)
    if old is not None and old.scenario_class.__module__ != entry.scenario_class.__module__:
        raise ValueError(f"problem '{entry.name}' is registered already (by {old.scenario_class.__module__})")
    PROBLEMS._entries[entry.name] = entry
    return entry


def problem(name: str) -> Problem:
    if name not in PROBLEMS:
        raise UnknownNameError(f"unknown problem '{name}' (problems: {', '.join(PROBLEMS)})")
    return PROBLEMS[name]


#: Checks against the solver's own claimed value: not repeated by :func:`verify_result` (the solver is not re-run;
#: the objective is recomputed from the solution and compared with the stored one instead).
SOLVER_CLAIMS = ("_vs_solver", "vs_relaxation_bound", "objective_vs_method")


def canonical_result(result: Result) -> Result:
    """A stored result with the old names of its scenario keys mapped to today's (a deprecation note each)."""
    if result.problem not in PROBLEMS:
        return result
    scenario = canonical(PROBLEMS[result.problem].scenario_class, dict(result.scenario), "stored scenario")
    return result if scenario == result.scenario else result.replace(scenario=scenario)


def verify_result(result: Result):
    """Re-check a stored result from its own data: the instance is re-derived from the stored scenario and seed,
    the stored solution is checked against the original constraints, and the objective is recomputed and compared
    with the stored one. A hand-edited file (objective, beams, scenario) fails. Returns a
    :class:`~isacopt.algorithms.verify.Verification`."""
    from .algorithms import verify
    from .data.loader import build

    spec = problem(result.problem)
    if spec.recheck is None:
        raise UnknownNameError(f"re-verifying stored '{result.problem}' results is not implemented (its checks need "
                               "the solver's intermediate state); re-run the method instead")
    if not result.status.has_solution or result.objective is None:
        raise UnknownNameError(f"the result has no solution to verify (status {result.status.value})")
    scenario = build(spec.scenario_class, dict(result.scenario), "stored scenario")
    seed = result.seed
    if isinstance(seed, dict):
        seed = np.random.SeedSequence(seed["entropy"], spawn_key=tuple(seed["spawn_key"]))
    objective, checks, channels = spec.recheck(scenario, np.random.default_rng(seed), result)
    checks = [c for c in checks if not c.name.endswith(SOLVER_CLAIMS)]
    if channels is not None:                          # the stored instance is the one the seed draws
        checks.append(verify.at_most("channels_as_stored", _largest_difference(channels, result.channels), 0.0,
                                     scale=1.0))
    checks.append(verify.close("objective_as_stored", result.objective, objective, scale=max(abs(objective), 1e-12)))
    return verify.verify(checks)


def _largest_difference(drawn: dict, stored: dict) -> float:
    """Largest relative difference between the numeric arrays of two channel dicts (inf when one is missing)."""
    from .algorithms.result import decode, encode
    worst = 0.0
    for key, value in drawn.items():
        a = decode(encode(value))
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "fc":
            continue
        b = stored.get(key)
        if not isinstance(b, np.ndarray) or b.shape != a.shape:
            return np.inf
        worst = max(worst, float(np.max(np.abs(a - b), initial=0.0) / max(np.max(np.abs(a), initial=0.0), 1e-300)))
    return worst


def solve(problem_name: str, scenario: str | None = None, method: str | None = None, solver: str | None = None,
          seed: int | np.random.SeedSequence = 0, overrides: tuple[str, ...] | list[str] = (),
          values: dict | None = None, time_limit_s: float | None = None) -> Result:
    """Load and validate a scenario, draw its random instance from ``seed``, run one method; a :class:`Result`.

    ``overrides``: CLI ``key=value`` strings; ``values``: typed overrides (studies). ``seed``: an int or the
    ``SeedSequence`` of a study job (the Result then records its entropy and spawn key). ``time_limit_s``: a
    wall-clock limit for the whole method (:mod:`~isacopt.algorithms.limits`), honoured within one subproblem solve;
    a run it ends says so in ``termination``.
    """
    from .algorithms import backends

    spec = problem(problem_name)
    method_name, m = spec.method(method)
    if solver is not None:
        backends.require_usable(solver, m.solver_kind)
    if spec.load is not None:
        sc, sc_name = spec.load(scenario, spec.default_scenario, overrides, values)
    else:
        sc, sc_name = load_scenario(spec.scenario_class, spec.name, scenario, spec.default_scenario, overrides,
                                    values, folder=spec.scenario_dir)
    if time_limit_s is not None and not time_limit_s > 0:
        raise UnknownNameError(f"time limit {time_limit_s} must be a positive number of seconds")
    from .algorithms import limits
    start = time.perf_counter()
    with limits.time_limit(time_limit_s), backends.recording() as attempts:
        result = m.run(sc, np.random.default_rng(seed), solver)
    if isinstance(seed, np.random.SeedSequence):
        seed = {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)}
    if result.method != method_name or result.problem != spec.name:
        raise RuntimeError(f"method '{method_name}' of '{spec.name}' returned a result for "
                           f"'{result.problem}' / '{result.method}'")
    return result.replace(seed=seed, scenario_name=sc_name, time_s=max(result.time_s, time.perf_counter() - start),
                          solver_calls=backends.summarize(attempts))
