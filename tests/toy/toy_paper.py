"""A "sixth paper" that lives outside the package: a one-user power minimization, registered from here.

    min tr(W)  s.t.  h^T W h >= gamma,  W PSD        (optimum gamma / ||h||^2 at W = gamma h h^T / ||h||^4)

It plugs in the way every paper does: a scenario class, a relaxation model for :func:`sdr.solve_relaxation`, one
:func:`registry.register` call. Nothing in the package names it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cvxpy as cp
import numpy as np

from isacopt import registry
from isacopt.algorithms import verify
from isacopt.algorithms.finalize import Assessment
from isacopt.algorithms.sdr import principal_component, solve_relaxation
from isacopt.errors import ScenarioError


@dataclass(frozen=True)
class ToyScenario:
    size: int = 3
    gamma: float = 1.0

    def __post_init__(self):
        if self.gamma <= 0:
            raise ScenarioError(f"field 'gamma' = {self.gamma} is out of range: must be > 0")


class ToyModel:
    problem_name, method, objective_name, sense, bounded = "toy", "sdr", "transmit power", "min", True

    def __init__(self, scenario: ToyScenario, rng: np.random.Generator):
        self.scenario, self.h = scenario, rng.standard_normal(scenario.size)
        self.W = cp.Variable((scenario.size, scenario.size), PSD=True)
        self.problem = cp.Problem(cp.Minimize(cp.trace(self.W)), [self.h @ self.W @ self.h >= scenario.gamma])

    def precheck(self):
        return None

    def bind(self):
        pass

    def recover(self):
        w = principal_component(self.W.value)
        return {"w": w}, float(self.problem.value)

    def assess(self, solution, claimed):
        w = solution["w"]
        power, gain = float(w @ w), float((self.h @ w) ** 2)
        checks = [verify.at_least("gain", gain, self.scenario.gamma),
                  verify.close("objective_vs_solver", power, claimed)]
        return Assessment(power, {"gain": gain}, checks)

    def describe(self):
        return {"size": self.scenario.size, "gamma": self.scenario.gamma}, {"h": self.h}


registry.register(registry.Problem(
    name="toy", paper="a test's toy problem", scenario_class=ToyScenario, default_scenario="toy_default",
    methods={"sdr": registry.Method(lambda sc, rng, solver=None: solve_relaxation(ToyModel(sc, rng), solver),
                                    "the relaxation, tight for one user")},
    default_method="sdr", scenario_dir=Path(__file__).resolve().parent))
