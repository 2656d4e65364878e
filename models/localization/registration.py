"""Localization: the registration of the problem and its methods."""
from __future__ import annotations

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


register(Problem(
    name=PROBLEM,
    paper="Xia, Xu, Xu, He, Yang, Ng, 'Multi-Cell Coordinated Beamforming for Integrated Communication and "
          "Multi-TMT Localization' (seed 000)",
    scenario_class=LocalizationScenario,
    default_scenario="localization_table1",
    # optimal only when the relaxation is rank one (Theorem 1: a proof); after Gaussian randomization the result is
    # feasible with its gap to the relaxation bound (sdr.Assessment.proven)
    methods={m: Method(_run(m), text) for m, text in METHOD_HELP.items()},
    default_method="sdr",
    summary_metrics=("crlb_m2", "rmse_bound_m", "sinr_db", "bs_power_dbm", "sdr_max_eigen_ratio", "randomizations"),
    parameters={"sinr_db": "Gamma, the SINR target of every CU (Fig. 2)", "max_power_dbm": "P per BS (Fig. 3)"},
))
