"""BS selection: the methods and the registration of the problem."""
from __future__ import annotations

import numpy as np

from ...algorithms.result import Result
from ...registry import Method, Problem, register
from .scenario import BSSelectionScenario, PROBLEM, draw_instance
from .verification import assess
from .exact import run_bnb, run_enumeration
from .ao import run_ao
from .oa import run_oa
from .schemes import scheme1, scheme1_bnb, scheme2, scheme3, scheme3_bnb


# ================================================================================================ registry glue
def _method(name: str):
    def run(scenario: BSSelectionScenario, rng: np.random.Generator, solver: str | None = None) -> Result:
        inst = draw_instance(scenario, rng)
        if name == "scheme2":
            return scheme2(inst, rng, solver)
        if name == "oa":
            return run_oa(inst, solver, master_solver=scenario.oa_master)
        if name in ("ao", "scheme1", "scheme3"):                  # the AO's random start draws from rng
            return {"ao": run_ao, "scheme1": scheme1, "scheme3": scheme3}[name](inst, solver, rng=rng)
        return {"bnb": run_bnb, "oa": run_oa, "enumeration": run_enumeration, "scheme1-bnb": scheme1_bnb,
                "scheme3-bnb": scheme3_bnb}[name](inst, solver)
    return run


METHOD_HELP = {
    "bnb": "exact branch-and-bound on the lifted MISDP (13) (certificate: nodes, SDP solves, bounds, gap)",
    "oa": "exact outer approximation on (13): Pyomo/HiGHS MILP master over the discrete layer + conic cuts "
          "(certificate: bounds, gap, MILP and conic solves)",
    "enumeration": "ground truth: the inner SDP (23) for all S (S-1)^K (receiver, association) choices",
    "ao": "the paper's Algorithm 1 (penalty (16) + MM (17), blocks (22)/(23)) with continuation and starts, then "
          "the inner SDP on its choice",
    "scheme1": "baseline: receiver = BS nearest the target, association by Algorithm 1 (the paper's comparison)",
    "scheme1-bnb": "baseline: receiver = BS nearest the target, association by branch-and-bound (its optimum)",
    "scheme2": "baseline: random receiver and association, beamforming optimized",
    "scheme3": "baseline: fixed bistatic pair BS1 -> BS2, association by Algorithm 1 (the paper's comparison)",
    "scheme3-bnb": "baseline: fixed bistatic pair BS1 -> BS2, association by branch-and-bound (its optimum)",
}
METHODS = {name: (_method(name), text) for name, text in METHOD_HELP.items()}


def _recheck(scenario, rng, result):
    inst = draw_instance(scenario, rng)
    a = assess(inst, result.solution)
    return a.objective, a.checks, inst.channels()


register(Problem(
    name=PROBLEM, recheck=_recheck,
    paper="Xu, Xu, Xie, Song, 'Joint BS Selection, User Association, and Beamforming Design for Network ISAC' "
          "(seed 002)",
    scenario_class=BSSelectionScenario,
    default_scenario="bs_selection",
    methods={m: Method(run, text, proves=m in ("bnb", "oa", "enumeration")) for m, (run, text) in METHODS.items()},
    default_method="bnb",
    summary_metrics=("choice", "total_power_dbm", "crlb_m2", "sinr_db", "bs_power_w"),
    parameters={"num_bs": "S, number of BSs", "num_users": "K, number of CUs",
                "sinr_db": "Gamma (Fig. 3)", "crlb_max_m2": "epsilon"},
))
