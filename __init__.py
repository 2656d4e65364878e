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
