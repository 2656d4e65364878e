"""Which solvers are installed and licensed here; never fails on a missing optional solver."""
from __future__ import annotations

import contextlib
import enum
import functools
import io
from dataclasses import dataclass

import cvxpy as cp

from ...errors import SolverUnavailable, UnknownNameError

#: preference order; SCHUR (:mod:`.schur`, the project's own) runs first on the default path wherever it applies
CONIC_SOLVERS = ("CLARABEL", "MOSEK", "SCS", "SCHUR")
INTEGER_SOLVERS = ("HIGHS", "GUROBI")
DEFAULT_CONIC = "CLARABEL"
DEFAULT_INTEGER = "HIGHS"


class Availability(str, enum.Enum):
    FREE = "installed (no licence needed)"
    LICENSED = "installed, licensed"
    SIZE_LIMITED = "installed, size-limited licence"
    UNLICENSED = "installed, no valid licence"
    NOT_INSTALLED = "not installed"

    @property
    def usable(self) -> bool:
        return self in (Availability.FREE, Availability.LICENSED, Availability.SIZE_LIMITED)


@dataclass(frozen=True)
class SolverInfo:
    name: str
    kind: str              # "conic" or "integer"
    availability: Availability
    version: str = ""
    note: str = ""

    @property
    def usable(self) -> bool:
        return self.availability.usable


def _mosek_info() -> SolverInfo:
    try:
        import mosek
    except ImportError:
        return SolverInfo("MOSEK", "conic", Availability.NOT_INSTALLED, note="pip install 'isacopt[mosek]'")
    version = ".".join(map(str, mosek.Env.getversion()))
    try:
        with mosek.Env() as env:
            env.checkoutlicense(mosek.feature.pts)
    except mosek.Error as exc:
        return SolverInfo("MOSEK", "conic", Availability.UNLICENSED, version,
                          f"skipped: {str(exc).split(':')[0].strip() or 'no licence'} (set MOSEKLM_LICENSE_FILE)")
    return SolverInfo("MOSEK", "conic", Availability.LICENSED, version)


def _pyomo_info(name: str, pyomo_name: str) -> SolverInfo:
    import pyomo.environ  # noqa: F401  (registers the solver plugins)
    from pyomo.contrib.solver.common.factory import SolverFactory

    solver = SolverFactory(pyomo_name)
    with contextlib.redirect_stdout(io.StringIO()):  # gurobipy prints a licence banner
        avail = solver.available()
    kind = avail.name if hasattr(avail, "name") else str(avail)
    mapping = {"FullLicense": Availability.LICENSED if name == "GUROBI" else Availability.FREE,
               "LimitedLicense": Availability.SIZE_LIMITED, "BadLicense": Availability.UNLICENSED,
               "NotFound": Availability.NOT_INSTALLED}
    availability = mapping.get(kind, Availability.NOT_INSTALLED)
    version = ""
    if availability.usable:
        with contextlib.redirect_stdout(io.StringIO()):
            version = ".".join(map(str, solver.version()))
    note = {"SIZE_LIMITED": "models above 2000 variables/constraints fall back to HiGHS",
            "NOT_INSTALLED": "pip install 'isacopt[gurobi]'" if name == "GUROBI" else ""}.get(availability.name, "")
    return SolverInfo(name, "integer", availability, version, note)


@functools.cache
def solver_info(name: str) -> SolverInfo:
    """Availability of one solver (cached for the process)."""
    name = canonical_name(name)
    if name == "MOSEK":
        return _mosek_info()
    if name == "SCHUR":
        from ... import __version__
        return SolverInfo(name, "conic", Availability.FREE, __version__,
                          "isacopt's Schur-complement interior point: first attempt on few-constraint SDPs")
    if name in ("CLARABEL", "SCS"):
        installed = name in cp.installed_solvers()
        version = ""
        if installed:
            module = __import__(name.lower())
            version = getattr(module, "__version__", "")
        return SolverInfo(name, "conic", Availability.FREE if installed else Availability.NOT_INSTALLED, version)
    return _pyomo_info(name, {"HIGHS": "highs", "GUROBI": "gurobi_direct"}[name])


def solver_table() -> list[SolverInfo]:
    """Every solver the project knows, conic then integer, in preference order."""
    return [solver_info(n) for n in CONIC_SOLVERS + INTEGER_SOLVERS]


def canonical_name(name: str) -> str:
    upper = str(name).strip().upper()
    if upper not in CONIC_SOLVERS + INTEGER_SOLVERS:
        raise UnknownNameError(f"unknown solver '{name}' (known: {', '.join(s.lower() for s in CONIC_SOLVERS + INTEGER_SOLVERS)})")
    return upper


def require_usable(name: str, kind: str) -> str:
    """Canonical name of a requested solver after checking it is of the right kind and usable here."""
    name = canonical_name(name)
    info = solver_info(name)
    if info.kind != kind:
        others = CONIC_SOLVERS if kind == "conic" else INTEGER_SOLVERS
        raise UnknownNameError(f"solver '{name.lower()}' solves {info.kind} programs; this method needs a {kind} "
                               f"solver ({', '.join(s.lower() for s in others)})")
    if not info.usable:
        raise SolverUnavailable(f"solver '{name.lower()}' is {info.availability.value}"
                                + (f": {info.note}" if info.note else ""))
    return name
