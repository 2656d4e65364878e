import warnings

import numpy as np
import pytest

from isacopt.algorithms import backends


@pytest.fixture(autouse=True)
def _quiet_cvxpy():
    warnings.filterwarnings("ignore", module="cvxpy")
    yield


@pytest.fixture
def rng():
    """A freshly seeded generator per test (no global RNG anywhere)."""
    return np.random.default_rng(20261125)


def usable(name: str) -> bool:
    return backends.solver_info(name).usable


def solver_params(names):
    """pytest params over solvers; unavailable ones are skipped with the reason the backend gives."""
    out = []
    for name in names:
        info = backends.solver_info(name)
        marks = [] if info.usable else [pytest.mark.skip(reason=f"{name}: {info.availability.value} {info.note}")]
        out.append(pytest.param(name, marks=marks, id=name.lower()))
    return out
