"""SCHUR, the Schur-complement interior point (algorithms/backends/schur.py): same optima as Clarabel on every paper's
SDR that has its form, a clean hand-over to Clarabel where it fails or does not apply."""
import dataclasses

import numpy as np
import pytest

from instances import conic
from isacopt.algorithms import backends
from isacopt.algorithms.backends import schur
from isacopt.algorithms.result import Status
from isacopt.data.loader import load_scenario
from isacopt.models import detection as d
from isacopt.models import localization as lz


def _detection(name, receiver, method, seed, **changes):
    base, _ = load_scenario(d.DetectionScenario, "detection", name, name)
    base = dataclasses.replace(base, receiver=receiver, **changes)
    model = d.DetectionModel(d.draw_instance(base, np.random.default_rng(seed)), method)
    model.bind()
    return model.problem


def _localization(method, seed):
    base, _ = load_scenario(lz.LocalizationScenario, "localization", "localization_table1", "localization_table1")
    model = lz.LocalizationModel(lz.draw_instance(base, np.random.default_rng(seed)), method)
    model.bind()
    return model.problem


CASES = {
    "detection k1 type-1 sdr": lambda: _detection("detection_k1", 1, "sdr", 0, tx_antennas=8, rx_antennas=8),
    "detection k1 type-2 sdr": lambda: _detection("detection_k1", 2, "sdr", 1, tx_antennas=8, rx_antennas=8),
    "detection k1 zf": lambda: _detection("detection_k1", 1, "zf", 2, tx_antennas=8, rx_antennas=8),
    "detection k1 sensing-only": lambda: _detection("detection_k1", 1, "sensing-only", 3, tx_antennas=8,
                                                    rx_antennas=8),
    "localization sdr": lambda: _localization("sdr", 0),
    "localization zf": lambda: _localization("zf", 1),
    "hermitian max eigenvalue (an LMI)": lambda: conic.hermitian_max_eig()[0],
    "lovasz theta C5": lambda: conic.lovasz_theta_c5()[0],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_schur_agrees_with_clarabel(name):
    """Both optimal and equal to 1e-7 (relative), SCHUR asked for explicitly (it answers itself); its point
    satisfies the problem's constraints as cvxpy re-evaluates them."""
    problem = CASES[name]()
    assert backends.conic.schur_applies(problem, cost=False)
    reference = backends.solve_conic(problem, "clarabel")
    value = problem.value
    outcome = backends.solve_conic(problem, "schur")
    assert reference.status is outcome.status is Status.OPTIMAL and outcome.attempts[0].solver == "SCHUR"
    if backends.conic.schur_applies(problem):           # where the default path picks it, SCHUR answers itself
        assert [a.solver for a in outcome.attempts] == ["SCHUR"], outcome.attempts
    # (elsewhere it may hand over: localization ZF's 10 free variables stall it at 1.8e-8, Clarabel answers)
    assert problem.value == pytest.approx(value, rel=1e-7, abs=1e-9)
    for c in problem.constraints:
        assert np.max(c.violation()) <= 1e-6 * max(1.0, abs(value))


def test_the_default_path_uses_schur_where_it_pays():
    """Form: the detection and localization SDRs (the CRLB's 3 x 3 LMIs as equality rows) and an LMI in a vector
    have it, an SOC program has not. Cost (the default path): SCHUR goes first on the detection and localization
    SDRs (PSD blocks of 16-36), not on small blocks with many rows (Lovasz theta, the LMI; the CBF trusses), where
    Clarabel's compiled iteration is cheaper - measured: 2x3_3bars 20x slower through SCHUR."""
    for name in ("detection k1 type-1 sdr", "localization sdr", "hermitian max eigenvalue (an LMI)"):
        assert backends.conic.schur_applies(CASES[name](), cost=False), name
    assert not backends.conic.schur_applies(conic.socp()[0], cost=False)
    for name in ("detection k1 type-1 sdr", "localization sdr"):
        problem = CASES[name]()
        assert backends.conic.schur_applies(problem)
        assert backends.solve_conic(problem).attempts[0].solver == "SCHUR", name
    for name in ("lovasz theta C5", "hermitian max eigenvalue (an LMI)"):
        problem = CASES[name]()
        assert not backends.conic.schur_applies(problem)
        assert {a.solver for a in backends.solve_conic(problem).attempts} == {"CLARABEL"}, name


def test_a_failed_schur_solve_hands_over_to_clarabel(monkeypatch):
    """A SCHUR attempt that raises or stalls is a failed rung, never a dead process or an `optimal`: Clarabel's
    ladder answers and the attempts say so."""
    problem, value, _ = conic.lovasz_theta_c5()

    def broken(data, **_):
        raise np.linalg.LinAlgError("Matrix is not positive definite")
    monkeypatch.setattr(schur, "solve_data", broken)
    outcome = backends.solve_conic(problem, "schur")
    assert outcome.status is Status.OPTIMAL and outcome.solver == "CLARABEL"
    assert [a.solver for a in outcome.attempts] == ["SCHUR", "CLARABEL"] and outcome.attempts[0].error
    assert problem.value == pytest.approx(value, rel=1e-7)
    monkeypatch.undo()
    monkeypatch.setitem(backends.CONIC_ATTEMPTS, "SCHUR", [("starved", dict(max_iter=3))])  # ends short of its tol
    problem, value, _ = conic.lovasz_theta_c5()
    outcome = backends.solve_conic(problem, "schur")
    assert outcome.attempts[0].solver == "SCHUR" and outcome.attempts[0].status is not Status.OPTIMAL
    assert outcome.status is Status.OPTIMAL and outcome.solver == "CLARABEL"


def test_infeasible_problems_are_classified_by_clarabel():
    """SCHUR has no infeasibility certificate: an infeasible SDP ends in a failed SCHUR rung and Clarabel's verdict."""
    import cvxpy as cp
    X = cp.Variable((3, 3), PSD=True)
    problem = cp.Problem(cp.Minimize(cp.trace(X)), [cp.trace(X) <= -1.0, X[0, 1] == 0.5])
    assert backends.conic.schur_applies(problem, cost=False)
    outcome = backends.solve_conic(problem, "schur")
    assert outcome.status is Status.INFEASIBLE and outcome.solver == "CLARABEL"
    assert outcome.attempts[0].solver == "SCHUR" and outcome.attempts[0].status is not Status.OPTIMAL


def test_standard_form_recovers_the_conic_variables(rng):
    """The elimination is exact: for a random PSD point, the conic data's x rebuilt from (X, w) reproduces s = b - Ax
    on the PSD rows, and the standard form's rows equal the conic rows."""
    problem = CASES["detection k1 type-1 sdr"]()
    data, _, _ = problem.get_problem_data("CLARABEL")
    sf = schur.standard_form(data)
    X = []
    for Ak in sf.A:
        G = rng.standard_normal(Ak.shape[1:])
        X.append(G @ G.T)
    w = rng.standard_normal(len(sf.c_f))
    b, A = np.asarray(data["b"]), data["A"]
    top = data["dims"].zero + data["dims"].nonneg
    s_psd = np.concatenate([backends.psd_pack(Xk) for Xk in X])
    x = np.zeros(sf.n_vars)
    x[sf.free_cols] = w
    reads = sf.psd_cols >= 0
    x[sf.psd_cols[reads]] = (b[top:][reads] - s_psd[reads]) / sf.psd_coef[reads]
    s = b - A @ x
    np.testing.assert_allclose(s[top:][reads], s_psd[reads], atol=1e-9)
    lhs = sum(np.einsum("mij,ij->m", Ak, Xk) for Ak, Xk in zip(sf.A, X)) + sf.F @ w
    # the conic rows: A_top x + s_top = b_top  <=>  standard rows with the slacks s_top of the inequalities
    slack = s[data["dims"].zero:top]
    np.testing.assert_allclose(lhs + sf.A_l @ slack, sf.b, rtol=1e-9, atol=1e-9)
    c = np.asarray(data["c"])
    objective = sum(np.sum(Ck * Xk) for Ck, Xk in zip(sf.C, X)) + sf.c_f @ w + sf.offset
    assert objective == pytest.approx(c @ x, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", ["example_small_cbf", "example_cbf_mix", "example_multaggr", "example_diagzeroimpl"])
def test_branch_and_bound_through_schur_keeps_its_certificate(name):
    """Every node relaxation through SCHUR (asked for explicitly; the default path leaves these small-block nodes to
    Clarabel): the same certified optimum as the published one, bounds bracketing it, verified."""
    from isacopt.models import misdp
    scenario = misdp.MisdpScenario(cbf_path=str(misdp.INSTANCE_DIR / f"{name}.cbf"))
    result = misdp.solve_bnb(scenario, solver="schur")
    optimum = misdp.known_optima()[name]
    assert result.status is Status.OPTIMAL and result.verified and "SCHUR" in result.solver, result.notes
    assert result.objective == pytest.approx(optimum, rel=1e-6, abs=1e-6)
    slack = 1e-6 * max(1.0, abs(optimum))
    assert result.lower_bound <= optimum + slack and result.upper_bound >= optimum - slack
