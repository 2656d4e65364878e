import warnings

import numpy as np
import pytest

from isacopt.algorithms import backends


@pytest.fixture(autouse=True, scope="session")
def _private_table_cache(tmp_path_factory):
    """Tests never read tables a developer's earlier run left in ~/.cache (nor write there); subprocesses inherit it."""
    import os
    saved = os.environ.get("ISACOPT_CACHE")
    os.environ["ISACOPT_CACHE"] = str(tmp_path_factory.mktemp("isacopt_cache"))
    yield
    os.environ.pop("ISACOPT_CACHE") if saved is None else os.environ.__setitem__("ISACOPT_CACHE", saved)


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


class CliOutcome:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli():
    """Run ``python run.py ARGS`` in this process (same code path as the script, without the interpreter start-up):
    ``cli("solve", "detection", "--set", "x=1")`` -> object with ``returncode``, ``stdout``, ``stderr``."""
    import contextlib
    import io

    from isacopt import cli as entry

    def run(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = entry.main([str(a) for a in args])
            except SystemExit as exc:                  # argparse usage errors
                code = exc.code
        return CliOutcome(code, out.getvalue(), err.getvalue())
    return run
