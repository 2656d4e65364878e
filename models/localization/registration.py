"""Localization: the registration of the problem and its methods."""
from __future__ import annotations

import numpy as np

from ...registry import Method, Problem, register
from .scenario import LocalizationScenario, PROBLEM
from .instance import draw_instance
from .relaxation import LocalizationModel, METHOD_HELP


# ================================================================================================ registration
def _run(method: str):
    def run(scenario, rng, solver=None):
        from ...algorithms.sdr import solve_relaxation
        return solve_relaxation(LocalizationModel(draw_instance(scenario, rng), method, rng), solver)
    return run


def _recheck(scenario, rng, result):
    inst = draw_instance(scenario, rng)
    model = LocalizationModel(inst, result.method, rng)
    model.randomizations = int(result.metrics.get("randomizations", 0) or 0)    # which checks apply
    model.relaxation_eigen_ratio = float(result.metrics.get("sdr_max_eigen_ratio") or 0.0)
    a = model.assess(result.solution, claimed=np.nan)
    return a.objective, a.checks, inst.channels()


register(Problem(
    name=PROBLEM, recheck=_recheck,
    paper="Xia, Xu, Xu, He, Yang, Ng, 'Multi-Cell Coordinated Beamforming for Integrated Communication and "
          "Multi-TMT Localization' (seed 000)",
    scenario_class=LocalizationScenario,
    default_scenario="localization_table1",
    # optimal only when the relaxation is rank one (Theorem 1: a proof); after Gaussian randomization the result is
    # feasible with its gap to the relaxation bound (finalize.Assessment.proven)
    methods={m: Method(_run(m), text) for m, text in METHOD_HELP.items()},
    default_method="sdr",
    summary_metrics=("crlb_m2", "rmse_bound_m", "sinr_db", "bs_power_dbm", "sdr_max_eigen_ratio", "randomizations"),
    parameters={"sinr_db": "Gamma, the SINR target of every CU (Fig. 2)", "max_power_dbm": "P per BS (Fig. 3)"},
))
