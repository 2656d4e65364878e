"""The project's error hierarchy: raised early at the boundary, printed by the CLI as one line."""


class IsacoptError(Exception):
    """Base class of every error the CLI reports as a one-line message (never with a traceback)."""


class ScenarioError(IsacoptError, ValueError):
    """A scenario or study file, or a --set override, is malformed: names the field, its value and the fix."""


class UnknownNameError(IsacoptError, KeyError):
    """An unknown problem, method, solver, scenario or study name; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class SolverUnavailable(IsacoptError, RuntimeError):
    """A solver was requested that is not installed or not licensed on this machine."""


class SolverError(IsacoptError, RuntimeError):
    """Every solver attempt failed (numerical trouble, crash); carries what was tried."""


class InfeasibleModelError(IsacoptError, RuntimeError):
    """A model that must be feasible by construction turned out infeasible (a bug or a degenerate instance)."""


class UnsupportedModelError(IsacoptError, ValueError):
    """A method cannot handle this model (a cone type, a structure); the message says what and which method can."""
