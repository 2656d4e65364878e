"""The one place where solvers are called.

Conic programs (cvxpy problems): Clarabel by default, MOSEK when licensed, SCS. Integer programs (Pyomo models):
HiGHS by default, Gurobi when licensed (pip's gurobipy carries a size-limited licence). This module

- reports availability (installed, licensed, size-limited) without ever failing on a missing optional solver;
- maps every raw status onto :class:`~isacopt.algorithms.result.Status` (``optimal_inaccurate`` stays inaccurate);
- retries an inaccurate or failed conic solve with tighter settings, then with the next solver, and says so;
- falls back from a size-limited Gurobi to HiGHS when a model is too large for the licence, and says so.

Split by concern: :mod:`.availability`, :mod:`.conic` (the retry ladder and its attempt records),
:mod:`.certificate` (the dual-bound certificate), :mod:`.integer` (Pyomo integer programs).
"""
from . import availability, certificate, conic, integer
from .availability import (CONIC_SOLVERS, DEFAULT_CONIC, DEFAULT_INTEGER, INTEGER_SOLVERS, Availability, SolverInfo,
                           canonical_name, require_usable, solver_info, solver_table)
from .certificate import PRIMAL_SCALE_FACTOR, problem_dual_bound, psd_pack, psd_unpack, safe_dual_bound
from .conic import (CONIC_ATTEMPTS, TIGHT_BOUND, Attempt, ConicOutcome, conic_attempts, conic_chain, conic_workers,
                    log, note_attempts, recording, solve_conic, solve_conic_batch, summarize)
from .integer import IntegerOutcome, solve_integer
