"""The one table that maps problem and method names to a paper model and an algorithm.

Adding a paper means adding one :class:`Problem` entry here, its model module, its scenario files and studies.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .algorithms import backends
from .algorithms.result import Result
from .algorithms.sdr import solve_relaxation
from .data.loader import SCENARIO_DIR, available, load_scenario, read_toml
from .errors import UnknownNameError
from .models import bs_selection, cluster_size, detection, localization, misdp, robust_precoding


@dataclass(frozen=True)
class Method:
    """How one method solves one scenario: ``run(scenario, rng, solver) -> Result``."""

    run: Callable[..., Result]
    help: str
    solver_kind: str = "conic"


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
    # optional loader for non-TOML instances: load(source, default, overrides, values) -> (scenario, name)
    load: Callable[..., tuple] | None = None      # non-TOML instances (CBF): load(source, default, overrides, values)
    listing: Callable[[], list[str]] | None = None   # their shipped names

    def method(self, name: str | None) -> tuple[str, Method]:
        name = name or self.default_method
        if name not in self.methods:
            raise UnknownNameError(f"unknown method '{name}' for problem '{self.name}' "
                                   f"(methods: {', '.join(self.methods)})")
        return name, self.methods[name]

    def scenarios(self) -> list[str]:
        if self.listing is not None:
            return self.listing()
        return [n for n in available(SCENARIO_DIR) if read_toml(SCENARIO_DIR / f"{n}.toml", "scenario")
                .get("problem") == self.name]


def _detection(method: str) -> Method:
    def run(scenario, rng, solver=None):
        return solve_relaxation(detection.DetectionModel(detection.draw_instance(scenario, rng), method), solver)
    helps = {"sdr": "the paper's SDR (SDR1.1)-(SDR4.1) with the rank-one construction of Prop. 1-2 (optimal)",
             "zf": "benchmark: ZF information beams (44), optimized powers and sensing covariance",
             "sensing-only": "benchmark: detection from the dedicated sensing echoes only (45)-(48)"}
    return Method(run, helps[method])


def _localization(method: str):
    def run(scenario, rng, solver=None):
        inst = localization.draw_instance(scenario, rng)
        return solve_relaxation(localization.LocalizationModel(inst, method, rng), solver)
    return run


def _robust_precoding(method: str):
    def run(scenario, rng, solver=None):
        return robust_precoding.solve(robust_precoding.draw_instance(scenario, rng), method, solver)
    return run


PROBLEMS: dict[str, Problem] = {
    "detection": Problem(
        name="detection",
        paper="Cheng, Fang, Xu, Ng, 'Optimal Coordinated Transmit Beamforming for Networked ISAC' (seed 003)",
        scenario_class=detection.DetectionScenario,
        default_scenario="detection_k1",
        methods={m: _detection(m) for m in detection.VARIANTS},
        default_method="sdr",
        summary_metrics=("p_detect_min", "sinr_db", "bs_power_w", "sensing_power_w"),
        parameters={"scenario": "I (synchronized BSs, (P1)/(P2)) or II (direct links only, (P3)/(P4))",
                    "receiver": "1 (Type-I CUs, (P1)/(P3)) or 2 (Type-II CUs, (P2)/(P4))"},
    ),
    "localization": Problem(
        name="localization",
        paper="Xia, Xu, Xu, He, Yang, Ng, 'Multi-Cell Coordinated Beamforming for Integrated Communication and "
              "Multi-TMT Localization' (seed 000)",
        scenario_class=localization.LocalizationScenario,
        default_scenario="localization_table1",
        methods={m: Method(_localization(m), text) for m, text in localization.METHOD_HELP.items()},
        default_method="sdr",
        summary_metrics=("crlb_m2", "rmse_bound_m", "sinr_db", "bs_power_dbm", "sdr_max_eigen_ratio", "randomizations"),
        parameters={"sinr_db": "Gamma, the SINR target of every CU (Fig. 2)", "max_power_dbm": "P per BS (Fig. 3)"},
    ),
    "misdp": Problem(
        name="misdp",
        paper="generic mixed-integer SDPs from CBF files (CBLIB / SCIP-SDP instances), for the branch-and-bound",
        scenario_class=misdp.MisdpScenario,
        default_scenario="example_small_cbf",
        methods={"bnb": Method(misdp.solve_bnb,
                               "exact branch-and-bound over SDP relaxations (certificate: bounds, gap, nodes)")},
        default_method="bnb",
        parameters={"time_limit_s": "wall-clock limit of the search", "node_limit": "maximum nodes solved"},
        load=misdp.load,
        listing=misdp.available_instances,
    ),
    "cluster-size": Problem(
        name="cluster-size",
        paper="Meng, Masouros, 'Networked ISAC Coordinated Beamforming and Cooperative BS Cluster Optimization' "
              "(seed 004)",
        scenario_class=cluster_size.ClusterSizeScenario,
        default_scenario="cluster_size",
        methods={m: Method(lambda sc, rng, solver=None, m=m: cluster_size.solve(sc, m, rng, solver), text, "integer")
                 for m, text in cluster_size.METHODS.items()},
        default_method="search",
        summary_metrics=("comm_ase", "sensing_ase", "weighted_ase", "comm_rate_nats", "sensing_rate_nats"),
        parameters={"tx_antennas": "M_t", "rho": "weight of the communication ASE in (P1)",
                    "program": "P1 (weighted ASE (16)) or P2 (comm ASE with thresholds (19))"},
    ),
    "robust-precoding": Problem(
        name="robust-precoding",
        paper="Babu, 'Precoding for Multi-Cell ISAC: from Coordinated Beamforming to Coordinated Multipoint and "
              "Bi-Static Sensing' (seed 001)",
        scenario_class=robust_precoding.RobustPrecodingScenario,
        default_scenario="robust_precoding",
        methods={m: Method(_robust_precoding(m), text)
                 for m, text in robust_precoding.METHOD_HELP.items()},
        default_method="blp-cbf",
        summary_metrics=("rcrb_deg", "min_worst_case_sinr_db", "sampled_min_sinr_db", "bs_power", "ao_iterations",
                         "ao_monotone"),
        parameters={"rho": "weight of the CRB term in [0, 1]", "sinr_db": "worst-case SINR threshold gamma_th",
                    "csi_error": "delta, radius of the spherical CSI error set"},
    ),
    "bs-selection": Problem(
        name="bs-selection",
        paper="Xu, Xu, Xie, Song, 'Joint BS Selection, User Association, and Beamforming Design for Network ISAC' "
              "(seed 002)",
        scenario_class=bs_selection.BSSelectionScenario,
        default_scenario="bs_selection",
        methods={m: Method(run, text) for m, (run, text) in bs_selection.METHODS.items()},
        default_method="bnb",
        summary_metrics=("choice", "total_power_dbm", "crlb_m2", "sinr_db", "bs_power_w"),
        parameters={"num_bs": "S, number of BSs", "num_users": "K, number of CUs",
                    "sinr_db": "Gamma (Fig. 3)", "crlb_max_m2": "epsilon"},
    ),
    # further problems: add one entry above this line
}


def problem(name: str) -> Problem:
    if name not in PROBLEMS:
        raise UnknownNameError(f"unknown problem '{name}' (problems: {', '.join(PROBLEMS)})")
    return PROBLEMS[name]


def solve(problem_name: str, scenario: str | None = None, method: str | None = None, solver: str | None = None,
          seed: int | np.random.SeedSequence = 0, overrides: tuple[str, ...] | list[str] = (),
          values: dict | None = None) -> Result:
    """Load and validate a scenario, draw its random instance from ``seed``, run one method; a :class:`Result`.

    ``overrides``: CLI ``key=value`` strings; ``values``: typed overrides (studies). ``seed``: an int or the
    ``SeedSequence`` of a study job (the Result then records its entropy and spawn key).
    """
    spec = problem(problem_name)
    method_name, m = spec.method(method)
    if solver is not None:
        backends.require_usable(solver, m.solver_kind)
    if spec.load is not None:
        sc, sc_name = spec.load(scenario, spec.default_scenario, overrides, values)
    else:
        sc, sc_name = load_scenario(spec.scenario_class, spec.name, scenario, spec.default_scenario, overrides, values)
    start = time.perf_counter()
    result = m.run(sc, np.random.default_rng(seed), solver)
    if isinstance(seed, np.random.SeedSequence):
        seed = {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)}
    return result.replace(seed=seed, scenario_name=sc_name, method=method_name,
                          time_s=max(result.time_s, time.perf_counter() - start))
