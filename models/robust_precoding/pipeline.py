"""Robust precoding: one method end to end, its NumPy verification, the direct reference formulation, the
registration."""
from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np

from ...algorithms import backends, verify
from ...algorithms.ao import alternate
from ...algorithms.finalize import Assessment, finalize
from ...algorithms.result import Result, Status, Termination
from ...algorithms.sdr import eigen_ratio
from .. import geometry
from ...registry import Method, Problem, register
from ..units import db_to_linear, linear_to_db
from .scenario import (Instance, METHODS, METHOD_HELP, PATTERN_GRID, PROBLEM, RobustPrecodingScenario, SINGLE_CELL,
                       draw_instance)
from .physics import (cbf_sinr, cbf_sinr_bound, comp_sinr, comp_sinr_bound, fim_decoupling, fim_forms, jacobians,
                      per_bs_covariance, radar_covariance, sample_errors, sensing_metrics, slp_cbf_sinr,
                      slp_cbf_sinr_bound, slp_comp_sinr, slp_comp_sinr_bound, worst_gain_rank_one)
from .design import Design, _StageA, _StageB, first_round_icr


# ================================================================================================ solve + verify
def solve(inst: Instance, method: str, solver: str | None = None) -> Result:
    """Run one method end to end: normalization, Algorithm 1 (or the single (P4) solve), rank-one recovery and SCA
    polish, NumPy verification of the unrelaxed constraints. Returns a :class:`Result`."""
    import time
    from ...data.loader import scenario_dict
    if method == SINGLE_CELL:
        return solve_single_cell(inst, solver)
    start = time.perf_counter()
    s = inst.scenario
    d = Design.for_method(inst, method, solver)
    base = dict(problem=PROBLEM, method=method, objective_name="largest root CRB of the target angles (deg)",
                sense="min", scenario=scenario_dict(s), channels=inst.channels())
    d.normalize()
    state = d.initial_state()
    if d.level == "slp" and d.scheme == "comp":        # (P4): no budgets, one convex problem
        a = _StageA(d).solve(state)
        ao = dict(state=a.state, status=a.status, iterations=1, monotone=True, notes=[],
                  termination=Termination.CONVERGED if a.objective is not None else Termination.SOLVER_FAILURE,
                  history=[{"iteration": 1, "step": "A", "status": a.status.value, "objective": a.objective, **a.info}])
        ok = a.objective is not None
    else:
        out = alternate(state, [_StageA(d), _StageB(d, sdp=s.stage_b == "sdp")], sense="max", floor=1.0,
                        max_iter=s.max_iterations, tol=s.ao_tolerance, slack=1e-7)
        ao = dict(state=out.state, status=out.status, iterations=out.iterations, monotone=out.monotone,
                  termination=out.termination, notes=out.notes, history=out.history)
        ok = out.objective is not None
    solver_name = "+".join(sorted(d.solvers)) or backends.conic_chain(solver)[0]
    if not ok:
        return finalize(dict(base, notes=ao["notes"]), status=ao["status"], solver=solver_name,
                        termination=Termination.CONVERGED if ao["status"] in (Status.INFEASIBLE, Status.UNBOUNDED)
                        else ao["termination"], time_s=time.perf_counter() - start,
                        solver_time_s=d.solver_time, history=ao["history"])
    final = ao["state"]
    vectors, bounds, notes, polish_hist, eig = [], [], list(ao["notes"]), [], []
    for i in range(len(d.units)):
        x0 = d.initial_vectors(i, final["X"][i])
        if d.level == "blp":
            eig.append(max(eigen_ratio(w) for w in final["X"][i]))
        x, fb, hist, note = d.polish(i, final, x0)
        vectors.append(x)
        bounds.append(fb)
        polish_hist.append(hist)
        if note:
            notes.append(note)
    solution, assessment = assess(d, final, vectors, bounds)
    if d.retried:
        notes.append(f"{d.retried} conic solves needed the backend's retries (answered by "
                     + ", ".join(f"{k} {v}" for k, v in sorted(d.solvers.items())) + ")")
    status = Status.OPTIMAL if all(x == Status.OPTIMAL for x in d.statuses) else Status.OPTIMAL_INACCURATE
    ao_rcrb = [float(np.max(h["rcrb_bound_deg"])) for h in ao["history"]
               if h.get("step") == "A" and h.get("rcrb_bound_deg") is not None]
    relaxation = [d.rcrb_bound_deg(i, f) for i, f in enumerate(final["f"])]
    metrics = dict(ao_iterations=ao["iterations"], ao_monotone=ao["monotone"], ao_rcrb_deg=ao_rcrb,
                   ao_round=list(range(1, len(ao_rcrb) + 1)),                                    # Fig. 9
                   ao_converged=ao["termination"] is Termination.CONVERGED, polish_objective=polish_hist,
                   sdr_max_eigen_ratio=max(eig) if eig else None, relaxation_rcrb_deg=relaxation,
                   reduced_dimension=d.units[0].basis.shape[1])
    # No method here proves its point optimal: Algorithm 1 alternates over the budgets, and the recovered (rank-one,
    # SCA-polished) precoders are judged against the relaxation at the final budgets, max_m RCRB bound_m (each BS's
    # RCRB is >= its own bound). Within GAP_TOLERANCE of it the point is optimal for that relaxation; else feasible.
    # Below rho = 1 the RCRB is one term of the weighted objective (the polish may trade it for SINR): no bound on it.
    bound = max(relaxation) if s.rho == 1.0 and all(b is not None for b in bounds) else None
    if s.rho < 1.0:
        notes.append(f"rho = {s.rho:g} < 1: the reported RCRB is one term of the weighted objective; no bound on it")
    return finalize(dict(base, notes=notes), status=status, assessment=assessment, bound=bound,
                    termination=ao["termination"], solution=solution, metrics=metrics, solver=solver_name,
                    time_s=time.perf_counter() - start, solver_time_s=d.solver_time, history=ao["history"])


def single_cell_instance(inst: Instance, m: int) -> Instance:
    """Cell m as a network of its own (J = 1): its BS, its users and its target; no inter-cell links, no ICR."""
    s, (J, K, _, _) = inst.scenario, inst.shape
    angles = None if s.user_angles_deg is None else tuple(np.reshape(s.user_angles_deg, (J, J, K))[m, m].tolist())
    sub = dataclasses.replace(s, cells=1, target_angles_deg=(float(s.target_angles_deg[m * J + m]),),
                              user_angles_deg=angles)
    return Instance(sub, inst.h[m:m + 1, m:m + 1], inst.alpha[m:m + 1, m:m + 1], inst.symbols[m:m + 1])


def solve_single_cell(inst: Instance, solver: str | None = None) -> Result:
    """Fig. 3: every BS designs its BLP precoders with (P1.1.A) (Algorithm 1 at J = 1) neglecting the inter-cell
    links, then the precoders are evaluated in the multi-cell network: the actual CRB (ICR from the other BS, (11))
    and the actual worst-case SINR (ICI, (21)). The status is the single-cell designs' (each solved and verified as
    its own problem); whether the network meets the SINR threshold is the metric ``network_sinr_met`` (the
    figure's point: it may not)."""
    import time
    from ...data.loader import scenario_dict
    start = time.perf_counter()
    s, J = inst.scenario, inst.shape[0]
    base = dict(problem=PROBLEM, method=SINGLE_CELL, sense="min", scenario=scenario_dict(s), channels=inst.channels(),
                objective_name="largest root CRB of the target angles in the network (deg), single-cell designs")
    beams, designed_rcrb, designed_sinr, parts = [], [], [], []
    for m in range(J):
        part = solve(single_cell_instance(inst, m), "blp-cbf", solver)
        parts.append(part)
        if not part.status.has_solution or not part.verified:
            return finalize(dict(base, notes=[f"cell {m + 1} alone: {part.status.value}"] + part.notes),
                            status=part.status if not part.status.has_solution else Status.ERROR,
                            termination=part.termination, solver=part.solver, time_s=time.perf_counter() - start)
        beams.append(part.solution["w"][0])
        designed_rcrb.append(float(part.metrics["rcrb_deg"][0]))
        designed_sinr.append(float(part.metrics["min_worst_case_sinr_db"]))
    w = np.stack(beams)                                                      # (J, K, N)
    R = np.einsum("mki,mkj->mij", w, w.conj())
    sens = sensing_metrics(inst, "cbf", R)
    worst = cbf_sinr_bound(inst.h, w, inst.noise_c, s.csi_error)
    power = np.real(np.einsum("nii->n", R))
    threshold = float(db_to_linear(s.sinr_db))
    checks = [verify.at_most("bs_power", power, 1.0)]   # and every cell alone meets the threshold (its own problem)
    checks += [verify.at_least(f"single_cell_sinr_{m}", cbf_sinr_bound(inst.h[m:m + 1, m:m + 1], w[m:m + 1],
                                                                      inst.noise_c, s.csi_error), threshold)
               for m in range(J)]
    metrics = dict(rcrb_deg=sens["rcrb_deg"], rcrb_max_deg=float(np.max(sens["rcrb_deg"])),
                   min_worst_case_sinr_db=float(linear_to_db(worst.min())),
                   nominal_sinr_db=linear_to_db(cbf_sinr(inst.h, w, inst.noise_c)),
                   designed_rcrb_deg=np.array(designed_rcrb), designed_rcrb_max_deg=max(designed_rcrb),
                   designed_min_sinr_db=min(designed_sinr),
                   network_sinr_met=bool(worst.min() >= threshold * (1 - 1e-6)),
                   bs_power=power, leakage=sens["leakage"])
    notes = [] if metrics["network_sinr_met"] else [
        f"in the network the worst-case SINR is {metrics['min_worst_case_sinr_db']:.2f} dB, below the "
        f"{s.sinr_db:g} dB threshold the single-cell designs meet (inter-cell interference they neglect)"]
    status = Status.FEASIBLE if all(p.status in (Status.OPTIMAL, Status.FEASIBLE) for p in parts) else \
        Status.FEASIBLE_INACCURATE
    return finalize(dict(base, notes=notes), status=status,
                    assessment=Assessment(metrics["rcrb_max_deg"], metrics, checks, proven=False),
                    solution={"w": w, "R": R}, solver=parts[0].solver,
                    time_s=time.perf_counter() - start, solver_time_s=sum(p.solver_time_s or 0.0 for p in parts))


def direct_stage(inst: Instance, method: str, m: int, t_star: float | None = None) -> tuple[cp.Problem, dict]:
    """Stage A of the first AO round ((P1.A) / (P3.A) at the initial budgets, rho = 1) for BS m - or, with
    ``t_star`` (stage A's optimal ``t``), stage B ((P1.B) / (P3.B): minimize the budgets relative to their initial
    values keeping t <= t_star and the threshold gamma_th) - written as a competent user would: complex N x N
    Hermitian variables (BLP: W_k per own user; SLP: the lifted [[R_s, x_s], [x_s^H, 1]] per symbol), powers in P_t,
    every SINR / interference row divided by its channel's norm (squared for BLP) in noise units, the 3 x 3 FIM
    decoupled and Jacobi-scaled at the isotropic covariance (as :meth:`Design._scale`) and the Schur LMI
    [[F, e1], [e1^T, t]] >= 0 for t >= CRB (in those units). Rebuilt on every call. Solve with
    ``variables["settings"]`` (Clarabel's static regularization 1e-7): with the defaults the BLP problem ended
    ``NumericalError`` on 8 of 10 BSs here, and without the row and FIM scaling both methods failed (unbounded /
    NumericalError). Reference for ``benchmarks/bench_sdp.py`` and the tests (CBF methods): the root CRB in degrees
    is ``variables["rcrb_deg"]()`` and must match :meth:`Design.rcrb_bound_deg` of stage A; stage B's optimum is
    ``problem.value`` (the sum of the relative budgets)."""
    level, scheme = METHODS[method]
    if scheme != "cbf":
        raise ValueError("direct_stage covers the CBF methods (one BS per problem)")
    s = inst.scenario
    J, K, N, _ = inst.shape
    L = s.frame_length
    q = inst.h / np.sqrt(inst.noise_c)                                       # (J, J, K, N) noise units
    delta = s.csi_error / np.sqrt(inst.noise_c)
    gamma = float(db_to_linear(s.sinr_db))
    intra, inter, leak_b = (float(db_to_linear(s.intra_budget_db)), float(db_to_linear(s.inter_budget_db)),
                            s.leak_power_fraction)
    others = [(n, k) for n in range(J) if n != m for k in range(K)]
    icr = first_round_icr(inst)                                              # C_m as Design's round 1
    Mf = fim_forms(jacobians(inst, m, "cbf"), radar_covariance(inst, m, "cbf", np.full(J, leak_b) if icr is None
                                                               else icr), L)
    iso = np.real(np.einsum("ijaa->ij", Mf)) / N                             # the FIM at the isotropic R = I / N
    T = fim_decoupling(iso)                                                  # T^T F T, CRB unchanged
    Mf, iso = np.einsum("ki,lj,klab->ijab", T, T, Mf), T.T @ iso @ T
    unit = float(iso[0, 0])
    d = 1.0 / np.sqrt(np.diag(iso))                                          # Jacobi scaling D F D, t = CRB * unit
    Mf = Mf * (d[:, None] * d[None, :])[:, :, None, None]
    stage_b = t_star is not None
    t = t_star if stage_b else cp.Variable()
    b = cp.Variable(3 if level == "blp" else 2, nonneg=True)                 # stage B: budgets / initial budgets
    scale = b if stage_b else np.ones(b.shape)
    cons = [b <= 1.0] if stage_b else []
    if level == "blp":
        W = [cp.Variable((N, N), hermitian=True) for _ in range(K)]
        R = sum(W)
        cons += [w >> 0 for w in W]

        def interference(h, v):                                              # in units of ||h||^2
            g = np.linalg.norm(h)
            Q = np.outer(h, h.conj()) / g ** 2
            val = cp.real(cp.trace(Q @ W[v]))
            if delta > 0:
                val = val + 2 * delta / g * cp.norm(W[v] @ (h / g)) + (delta / g) ** 2 * cp.real(cp.trace(W[v]))
            return val
        for k in range(K):
            h = q[m, m, k]
            g = np.linalg.norm(h)
            sig = cp.real(cp.trace(np.outer(h, h.conj()) / g ** 2 @ W[k]))
            sig = sig - (2 * delta / g * cp.norm(W[k] @ (h / g)) if delta > 0 else 0)
            cons += [sig >= gamma * (intra * scale[0] + inter + 1.0) / g ** 2,
                     sum(interference(h, v) for v in range(K) if v != k) <= intra * scale[0] / g ** 2]
        for n, k in others:
            g2 = np.linalg.norm(q[m, n, k]) ** 2
            cons.append(sum(interference(q[m, n, k], v) for v in range(K)) <= inter * scale[1] / max(J - 1, 1) / g2)
    else:
        amp = float(np.sqrt(inter))
        Z = [cp.Variable((N + 1, N + 1), hermitian=True) for _ in range(L)]
        x = [z[:N, N] for z in Z]
        R = sum(z[:N, :N] for z in Z) / L
        cons += [z >> 0 for z in Z] + [cp.real(z[N, N]) == 1 for z in Z]
        tan, psi = np.tan(np.pi / s.psk_order), np.pi / s.psk_order
        c_min = np.sqrt(gamma * (1.0 + amp ** 2))
        for sym in range(L):
            for k in range(K):                                               # in units of ||h||
                g = np.linalg.norm(q[m, m, k])
                y = (q[m, m, k].conj() / g @ x[sym]) * np.conj(inst.symbols[m, k, sym])
                rob = delta / g / np.cos(psi) * cp.norm(x[sym]) if delta > 0 else 0
                cons += [cp.imag(y) - (cp.real(y) - c_min / g) * tan + rob <= 0,
                         -cp.imag(y) - (cp.real(y) - c_min / g) * tan + rob <= 0]
            for n, k in others:
                g = np.linalg.norm(q[m, n, k])
                rob = delta / g * cp.norm(x[sym]) if delta > 0 else 0
                cons.append(cp.abs(q[m, n, k].conj() / g @ x[sym]) + rob <= amp * scale[0] / np.sqrt(max(J - 1, 1)) / g)
    cons.append(cp.real(cp.trace(R)) <= 1.0)
    for n in range(J):
        if n != m:
            v = inst.v[m, n].conj()
            cons.append(cp.real(v.conj() @ R @ v) <= leak_b * scale[-1])
    F = [[cp.real(cp.trace(Mf[i, j] @ R)) for j in range(3)] for i in range(3)]
    cons.append(cp.bmat([[F[0][0], F[0][1], F[0][2], 1.0], [F[1][0], F[1][1], F[1][2], 0.0],
                         [F[2][0], F[2][1], F[2][2], 0.0], [1.0, 0.0, 0.0, t]]) >> 0)
    problem = cp.Problem(cp.Minimize(cp.sum(b) if stage_b else t), cons)
    return problem, {"t": t, "b": b, "rcrb_deg": lambda: float(np.rad2deg(np.sqrt((t if stage_b else t.value) / unit))),
                     "settings": {"static_regularization_constant": 1e-7}}


def assess(d: Design, state: dict, vectors: list[np.ndarray], bounds: list) -> tuple[dict, Assessment]:
    """(solution, :class:`~isacopt.algorithms.finalize.Assessment`) of recovered vectors, in plain NumPy: the
    objective is the largest RCRB (deg); no bound and ``proven=False`` (the caller knows the relaxation's)."""
    inst, s = d.inst, d.inst.scenario
    J, K, N, L = d.J, d.K, d.N, d.L
    noise = inst.noise_c
    delta = s.csi_error
    rng = np.random.default_rng(20240601)
    n_err = s.error_samples
    checks, metrics = [], {}
    if d.scheme == "cbf":
        v = np.stack(vectors)                                                    # (J, K, N) or (J, L, N)
        errors = sample_errors(rng, (J, J, K, N), delta, n_err)
    else:
        v = vectors[0]                                                           # (J K, J N) or (L, J N)
        hs = inst.h_stacked()
        errors = sample_errors(rng, (J * K, J * N), np.sqrt(J) * delta, n_err)
    if d.level == "blp":
        if d.scheme == "cbf":
            R = np.einsum("mki,mkj->mij", v, v.conj())
            bound = cbf_sinr_bound(inst.h, v, noise, delta)
            nominal = cbf_sinr(inst.h, v, noise)
            sinr_at = lambda e: cbf_sinr(inst.h, v, noise, e)  # noqa: E731
            for m in range(J):
                for k in range(K):
                    h = inst.h[m, m, k]
                    intra = sum(worst_gain_rank_one(h, v[m, l], delta, "max") for l in range(K) if l != k) / noise
                    checks.append(verify.at_most(f"intra_interference_{m}{k}", intra, state["intra"][m]))
                    for n in range(J):
                        if n != m:
                            ici = sum(worst_gain_rank_one(inst.h[n, m, k], v[n, l], delta, "max") for l in range(K)) / noise
                            checks.append(verify.at_most(f"ici_{n}to{m}{k}", ici, state["inter"] / (J - 1)))
        else:
            R = v.T @ v.conj()
            bound = comp_sinr_bound(hs, v, noise, np.sqrt(J) * delta)
            nominal = comp_sinr(hs, v, noise)
            sinr_at = lambda e: comp_sinr(hs, v, noise, e)  # noqa: E731
            for k in range(J * K):
                itf = sum(worst_gain_rank_one(hs[k], v[l], np.sqrt(J) * delta, "max") for l in range(J * K) if l != k)
                checks.append(verify.at_most(f"interference_{k}", itf / noise, state["comp"]))
        solution = {"w": v}
    else:
        if d.scheme == "cbf":
            R = np.einsum("msi,msj->mij", v, v.conj()) / L
            bound = slp_cbf_sinr_bound(inst.h, v, inst.symbols, noise, d.psi, delta)
            nominal = slp_cbf_sinr(inst.h, v, inst.symbols, noise, d.psi)
            sinr_at = lambda e: slp_cbf_sinr(inst.h, v, inst.symbols, noise, d.psi, e)  # noqa: E731
            xn = np.linalg.norm(v, axis=-1)
            for m in range(J):
                for n in range(J):
                    if n != m:
                        amp = (np.abs(np.einsum("ki,si->ks", inst.h[n, m].conj(), v[n])) + delta * xn[n]) / np.sqrt(noise)
                        checks.append(verify.at_most(f"ici_amplitude_{n}to{m}", amp, state["inter"] / np.sqrt(J - 1)))
        else:
            R = v.T @ v.conj() / L
            d_users = inst.symbols.reshape(J * K, L)
            bound = slp_comp_sinr_bound(hs, v, d_users, noise, d.psi, np.sqrt(J) * delta)
            nominal = slp_comp_sinr(hs, v, d_users, noise, d.psi)
            sinr_at = lambda e: slp_comp_sinr(hs, v, d_users, noise, d.psi, e)  # noqa: E731
        solution = {"x": v, "symbols": inst.symbols}
    per_error = np.array([sinr_at(e) for e in errors])                  # (n_err, users...): errors in the design's set
    sampled = per_error.min(axis=0)                                      # worst draw per user: the bound holds
    if s.test_csi_error is not None:                                     # errors of another radius
        scale = 1.0 if d.scheme == "cbf" else np.sqrt(J)
        shape = (J, J, K, N) if d.scheme == "cbf" else (J * K, J * N)
        tested = np.array([sinr_at(e) for e in sample_errors(rng, shape, scale * s.test_csi_error, n_err)])
        metrics["tested_min_sinr_db"] = float(linear_to_db(tested.min()))
        metrics["tested_sinr_cdf_db"] = np.sort(linear_to_db(tested.reshape(n_err, -1).min(axis=1)))
    # Fig. 7: the minimum SINR over the users for each error draw, sorted (its empirical CDF is (1..n) / n)
    metrics["sampled_sinr_cdf_db"] = np.sort(linear_to_db(per_error.reshape(n_err, -1).min(axis=1)))
    metrics["cdf_level"] = np.arange(1, n_err + 1) / n_err
    sens = sensing_metrics(inst, d.scheme, R)
    per_bs = R if d.scheme == "cbf" else per_bs_covariance(R, J)
    power = np.real(np.einsum("nii->n", per_bs))
    checks += [verify.at_least("worst_case_sinr", bound, d.gamma_th),
               verify.at_least("sampled_sinr_vs_bound", sampled, bound, scale=np.maximum(bound, 1e-12)),
               verify.at_most("bs_power", power, 1.0)]
    if d.scheme == "cbf" and J > 1:
        off = sens["leakage"][~np.eye(J, dtype=bool)]
        checks.append(verify.at_most("leakage", off, state["leak"], scale=s.leak_power_fraction))
    claimed = np.array([bounds[i] / d.f_tt[m] if bounds[i] is not None else np.inf
                        for i, u in enumerate(d.units) for m in u.targets])
    checks.append(verify.at_most("crb_vs_claimed_bound", sens["crb_rad2"], claimed))
    metrics.update(rcrb_deg=sens["rcrb_deg"], rcrb_max_deg=float(np.max(sens["rcrb_deg"])), crb_rad2=sens["crb_rad2"],
                   worst_case_sinr_db=linear_to_db(np.min(bound.reshape(bound.shape[0], -1), axis=-1) if bound.ndim > 1 else bound),
                   min_worst_case_sinr_db=float(linear_to_db(bound.min())),
                   nominal_sinr_db=linear_to_db(nominal), sampled_min_sinr_db=float(linear_to_db(sampled.min())),
                   bs_power=power, leakage=sens["leakage"], beampattern_angle_deg=np.rad2deg(PATTERN_GRID),
                   beampattern_db=linear_to_db(np.maximum(geometry.transmit_pattern(per_bs, PATTERN_GRID), 1e-30)),
                   budgets={"intra_db": linear_to_db(state["intra"]), "inter": state["inter"],
                            "comp_db": float(linear_to_db(state["comp"])), "leak": state["leak"]},
                   weighted_objective=float(-s.rho * np.max(sens["crb_rad2"]) + (1 - s.rho) * bound.min()))
    if d.level == "blp":
        solution["R"] = R
    return solution, Assessment(metrics["rcrb_max_deg"], metrics, checks, proven=False)


# ================================================================================================ registration
register(Problem(
    name=PROBLEM,
    paper="Babu, 'Precoding for Multi-Cell ISAC: from Coordinated Beamforming to Coordinated Multipoint and "
          "Bi-Static Sensing' (seed 001)",
    scenario_class=RobustPrecodingScenario,
    default_scenario="robust_precoding",
    # Algorithm 1 and the SCA polish prove nothing: optimal only at the relaxation bound of the final budgets
    methods={m: Method(lambda sc, rng, solver=None, m=m: solve(draw_instance(sc, rng), m, solver), text,
                       proves=False) for m, text in METHOD_HELP.items()},
    default_method="blp-cbf",
    summary_metrics=("rcrb_deg", "min_worst_case_sinr_db", "sampled_min_sinr_db", "bs_power", "ao_iterations",
                     "ao_monotone"),
    parameters={"rho": "weight of the CRB term in [0, 1]", "sinr_db": "worst-case SINR threshold gamma_th",
                "csi_error": "delta, radius of the spherical CSI error set"},
))
