"""Localization: the SDR (21) and the benchmarks as relaxation models for sdr.solve_relaxation, with recovery."""
from __future__ import annotations

import functools

import cvxpy as cp
import numpy as np

from ...algorithms import lifted, verify
from ...algorithms.finalize import Assessment
from ...algorithms.sdr import constructive_rank_one, eigen_ratio, gaussian_candidates, principal_component
from .. import geometry
from ..units import db_to_linear, dbm_to_watt, linear_to_db, watt_to_dbm
from .scenario import PROBLEM
from .instance import (LocalizationInstance, _diagonal_units, balance_powers, beam_gain, beampattern, bs_power, crlb,
                       crlb_of_fisher, delay_fisher, desired_pattern, lag_matrices, lag_to_pattern, pattern_angles,
                       pattern_error, pattern_fit, position_fisher, sinr, zf_directions)


# ================================================================================================ SDR models
METHODS = ("sdr", "radar-only", "zf", "beampattern")
METHOD_HELP = {
    "sdr": "the paper's SDR (21) (Schur-complement LMIs); rank one by Theorem 1, else Gaussian randomization",
    "radar-only": "benchmark: (21) without the SINR constraints (a lower bound on every method's CRLB)",
    "zf": "benchmark: zero-forcing beams (null every other CU, N_t >= M K) with CRLB-optimal powers",
    "beampattern": "benchmark: Liu et al. (TSP 2020) beampattern matching under the same SINR/power constraints",
}


def _fim_lmis(weights: cp.Parameter, gains: cp.Expression, mu: cp.Variable) -> list:
    """(21d): [[FIM, e_i], [e_i^T, mu_i]] >= 0 for i = 1, 2 with FIM = sum_m gains_m A_m, ``weights`` (3, M) holding
    the entries (1,1), (1,2), (2,2) of every A_m. Together they give mu_1 + mu_2 >= tr(FIM^{-1}).

    ``gains`` (M,) may itself be Parameter-dependent; a copy in a variable keeps the product with ``weights`` DPP."""
    g = cp.Variable(gains.shape, name="beam_gains")
    f11, f12, f22 = weights[0] @ g, weights[1] @ g, weights[2] @ g
    return [g == gains,
            cp.bmat([[f11, f12, 1.0], [f12, f22, 0.0], [1.0, 0.0, mu[0]]]) >> 0,
            cp.bmat([[f11, f12, 0.0], [f12, f22, 1.0], [0.0, 1.0, mu[1]]]) >> 0]


@functools.lru_cache(maxsize=32)
def _lifted_template(M: int, K: int, r: int, n_forms: int, with_sinr: bool, objective: str, lags: int = 0):
    """The SDR (21) (``objective='crlb'``) or the beampattern relaxation (``'pattern'``) for one shape, DPP.

    Every F_{m,k} is a real (2r x 2r) PSD variable Z with Parameters set by :meth:`LocalizationModel.bind`:
    ``rows[m][k]`` maps vec(Z) to the M K CU forms h^H F h (noise units, when ``with_sinr``) followed by the sensing
    rows: the target gain a^T F a^* for 'crlb' (units of N_t P); for 'pattern' the ``lags`` = 2 N_t - 1 real lag
    sums of F (see :func:`lag_matrices`, units of N_t P) and then its N_t diagonal entries (units of P), whose sum over
    k is held at 1/N_t (Liu et al.'s per-antenna power diag(R_m) = P/N_t 1, without which the fit degenerates to
    the least power that meets the SINR targets); ``trace`` maps vec(Z) to its share of the BS power
    (units of P), ``desired`` to (1 + 1/Gamma) times its own CU's form. For 'crlb', ``weights`` (3, M) holds the
    scaled A_m of :meth:`LocalizationInstance.fisher_blocks`; for 'pattern', ``fit[m]`` (2 N_t, 2 N_t) is the
    triangular factor of [d_m, -Phi] / sqrt(G) (:func:`pattern_fit`), so ||fit_m [alpha_m; t_m]||^2 is BS m's
    pattern error (1/G) ||alpha_m d_m - Phi t_m||^2 exactly, whatever the grid size G.
    """
    size = 4 * r * r
    z = [[lifted.variable(r, f"F{m}_{k}") for k in range(K)] for m in range(M)]
    vec = [[cp.vec(z[m][k], order="F") for k in range(K)] for m in range(M)]
    rows = [[cp.Parameter((n_forms, size), name=f"rows{m}_{k}") for k in range(K)] for m in range(M)]
    trace = [[cp.Parameter(size, name=f"trace{m}_{k}") for k in range(K)] for m in range(M)]
    forms = [[rows[m][k] @ vec[m][k] for k in range(K)] for m in range(M)]
    params = dict(rows=rows, trace=trace)
    variables = dict(Z=z)
    comm = M * K if with_sinr else 0
    cons = [cp.hstack([sum(trace[m][k] @ vec[m][k] for k in range(K)) for m in range(M)]) <= 1.0]   # (21b)
    if with_sinr:                                                                                    # (21c)
        desired = [[cp.Parameter(size, name=f"desired{m}_{k}") for k in range(K)] for m in range(M)]
        params["desired"] = desired
        total = sum(forms[m][k][:comm] for m in range(M) for k in range(K))
        own = cp.hstack([desired[m][k] @ vec[m][k] for m in range(M) for k in range(K)])
        cons.append(own >= total + 1.0)
    if objective == "crlb":
        weights = params["weights"] = cp.Parameter((3, M), name="weights")
        gains = cp.hstack([sum(forms[m][k][comm] for k in range(K)) for m in range(M)])            # (M,) / (N_t P)
        mu = variables["mu"] = cp.Variable(2, name="mu")
        cons += _fim_lmis(weights, gains, mu)
        problem = cp.Problem(cp.Minimize(cp.sum(mu)), cons)                                         # (21a)
    else:
        fit = params["fit"] = [cp.Parameter((lags + 1, lags + 1), name=f"fit{m}") for m in range(M)]
        alpha = variables["alpha"] = cp.Variable(M, nonneg=True, name="alpha")
        t = variables["lags"] = cp.Variable((M, lags), name="lags")
        n_ant = (lags + 1) // 2
        cons += [t[m] == sum(forms[m][k][comm:comm + lags] for k in range(K)) for m in range(M)]
        cons += [sum(forms[m][k][comm + lags:] for k in range(K)) == 1.0 / n_ant for m in range(M)]  # Liu et al.
        problem = cp.Problem(cp.Minimize(sum(cp.sum_squares(fit[m] @ cp.hstack([alpha[m:m + 1], t[m]]))
                                             for m in range(M))), cons)
    return problem, params, variables


@functools.lru_cache(maxsize=32)
def _power_template(M: int, K: int):
    """CRLB-optimal powers p (units of P) along fixed directions (the ZF benchmark), DPP: ``gains`` (MK, MK) the
    noise-normalized |h_{i,m,k}^H v_{i,j}|^2 P / sigma^2, ``desired`` (MK,) (1 + 1/Gamma) times the own-CU gain,
    ``sensing`` (M, K) |a^T v|^2 / N_t, ``weights`` as in :func:`_lifted_template`."""
    p = cp.Variable((M, K), nonneg=True, name="p")
    gains = cp.Parameter((M * K, M * K), nonneg=True, name="gains")
    desired = cp.Parameter(M * K, nonneg=True, name="desired")
    sensing = cp.Parameter((M, K), nonneg=True, name="sensing")
    weights = cp.Parameter((3, M), name="weights")
    mu = cp.Variable(2, name="mu")
    pv = cp.vec(p, order="C")
    cons = [cp.multiply(desired, pv) >= gains @ pv + 1.0, cp.sum(p, axis=1) <= 1.0]
    cons += _fim_lmis(weights, cp.sum(cp.multiply(sensing, p), axis=1), mu)
    problem = cp.Problem(cp.Minimize(cp.sum(mu)), cons)
    return problem, dict(gains=gains, desired=desired, sensing=sensing, weights=weights), dict(p=p, mu=mu)


#: lambda_2 / lambda_1 below which a relaxed F_{m,k} counts as rank one (its rank-one part is then used).
RANK_ONE_RATIO = 1e-6


class LocalizationModel:
    """Problem (18) of one instance for one method, in the form :func:`~isacopt.algorithms.sdr.solve_relaxation`
    takes.

    ``method``: ``sdr`` (the SDR (21), rank-one extraction when rank one (Theorem 1), Gaussian randomization
    otherwise), ``radar-only`` ((21) without (21c)), ``zf`` (ZF directions, CRLB-optimal powers), ``beampattern``
    (Liu et al.'s pattern matching under (21b)-(21c)). Every method reports the CRLB (10) of its beams.

    Scaling. Powers are in units of P, CU forms in noise units, the target gain in units of N_t P (so each BS's gain
    is in [0, 1]), and the Fisher blocks are A~_m = N_t P c_0 A_m with c_0 = tr((sum_m N_t P A_m)^{-1}) the CRLB of
    every BS beaming its full power at the target (the radar-only optimum): then mu_1 + mu_2 >= 1 and CRLB =
    c_0 (mu_1 + mu_2) with mu of order one. Each F_{m,k} = P B Y B^H with B the detection model's biorthogonal basis of
    BS m's subspace (exact dimension reduction, r = min(N_t, M K + 1) for the SDR): one column per CU dual to its
    channel, scaled to the interference that CU tolerates (own CU: unit norm), then the target direction (or the
    pattern directions) orthogonal to every CU. Radar-only needs only the target direction (r = 1).
    """

    problem_name = PROBLEM
    objective_name = "CRLB of the target position tr((Lambda Z Lambda^T)^-1) (m^2)"
    sense = "min"
    bounded = True            # CRLB >= 0 and per-BS power: "unbounded" can only be a numerical failure

    def __init__(self, inst: LocalizationInstance, method: str = "sdr", rng: np.random.Generator | None = None):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        self.inst, self.method = inst, method
        self.rng = rng if rng is not None else np.random.default_rng(0)
        s = inst.scenario
        M, K, N, _ = inst.shape
        self.P = float(dbm_to_watt(s.max_power_dbm))
        self.noise = float(dbm_to_watt(s.comm_noise_dbm))
        self.gamma = float(db_to_linear(s.sinr_db))
        blocks = inst.fisher_blocks() * N * self.P                          # A_m at full-power beam gain
        self.crlb_ref = crlb_of_fisher(blocks.sum(axis=0))                  # c_0, m^2
        self.weights = (blocks * self.crlb_ref)[:, [0, 0, 1], [0, 1, 1]].T  # (3, M)
        self.comm = [inst.h[m].reshape(M * K, N).T * np.sqrt(self.P / self.noise) for m in range(M)]
        self.snr = np.array([np.sum(np.abs(self.comm[m][:, m * K + k]) ** 2) for m in range(M) for k in range(K)])
        self.tolerable = np.maximum(1.0, self.snr / self.gamma)
        self.angles = pattern_angles(s.pattern_step_deg)
        self.desired = desired_pattern(inst.theta, self.angles, s.pattern_width_deg)
        self.relaxation_eigen_ratio = None
        self.randomizations = 0
        self.bound = None
        self.zf = None
        if method == "zf":
            self.zf = zf_directions(inst.h)
            self.problem, self.params, self.vars = _power_template(M, K)
            return
        if method == "radar-only":
            self.sens = [inst.steering[m].conj()[:, None] / np.sqrt(N) for m in range(M)]
            self.basis = [self.sens[m] for m in range(M)]                       # ||a||^2 = N: unit norm
            self.problem, self.params, self.vars = _lifted_template(M, K, 1, 1, False, "crlb")
            self.r = 1
            return
        if method == "sdr":
            self.sens = [inst.steering[m].conj()[:, None] / np.sqrt(N) for m in range(M)]
        else:           # pattern samples span C^N: no reduction (r = N); the basis only rescales the CU columns
            a = geometry.ula_steering(N, self.angles, s.antenna_spacing_wavelengths)
            self.sens = [a.conj().T / np.sqrt(N) for _ in range(M)]           # (N, G)
        self.basis = [[self._basis(m, k) for k in range(K)] for m in range(M)]
        self.r = self.basis[0][0].shape[1]
        if method == "sdr":
            self.problem, self.params, self.vars = _lifted_template(M, K, self.r, M * K + 1, True, "crlb")
        else:
            self.problem, self.params, self.vars = _lifted_template(M, K, self.r, M * K + 3 * N - 1, True,
                                                                    "pattern", 2 * N - 1)

    def _basis(self, m: int, own: int) -> np.ndarray:
        """BS m's basis for F_{m,own}, CU columns scaled as described in the class docstring."""
        M, K, N, _ = self.inst.shape
        comm, sens = self.comm[m], self.sens[m]
        return lifted.scaled_basis(comm, sens, np.sqrt(self.tolerable), unit_columns=[m * K + own])

    # ---------------------------------------------------------------------------------------- driver hooks
    def precheck(self) -> str | None:
        """Infeasibility certificates: SINR_{m,k} <= ||h_{m,m,k}||^2 P / sigma_n^2 (the CU's SNR); for ZF the exact
        condition sum_k Gamma sigma^2 / |h^H v_{m,k}|^2 <= P of interference-free beams."""
        if self.method == "radar-only":
            return None
        K = self.inst.shape[1]
        worst = int(np.argmin(self.snr))
        if self.gamma > self.snr[worst]:
            return (f"infeasible: CU {worst % K} of BS {worst // K} needs SINR {linear_to_db(self.gamma):.1f} dB but "
                    f"reaches at most {linear_to_db(self.snr[worst]):.1f} dB (its SNR at full power, no interference)")
        if self.method == "zf":
            need = (self.gamma / np.diag(self._zf_gains())).reshape(self.inst.shape[:2]).sum(axis=1)  # units of P
            if need.max() > 1.0:
                m = int(np.argmax(need))
                return (f"infeasible: ZF beams of BS {m} need {watt_to_dbm(need[m] * self.P):.2f} dBm to give every "
                        f"CU {linear_to_db(self.gamma):.1f} dB, the budget is {watt_to_dbm(self.P):.2f} dBm")
        return None

    def _zf_gains(self) -> np.ndarray:
        """(MK, MK) |h_{i,m,k}^H v_{i,j}|^2 P / sigma^2 for the ZF directions, rows CU (m, k), columns beam (i, j)."""
        M, K = self.inst.shape[:2]
        return (np.abs(np.einsum("imkn,ijn->mkij", self.inst.h.conj(), self.zf)) ** 2
                * self.P / self.noise).reshape(M * K, M * K)

    def bind(self) -> None:
        M, K, N, _ = self.inst.shape
        if self.method == "zf":
            gains = self._zf_gains()
            self.params["gains"].value = gains
            self.params["desired"].value = (1.0 + 1.0 / self.gamma) * np.diag(gains)
            self.params["sensing"].value = np.abs(np.einsum("mn,mkn->mk", self.inst.steering, self.zf)) ** 2 / N
            self.params["weights"].value = self.weights
            return
        for m in range(M):
            for k in range(K):
                if self.method == "radar-only":
                    rows = lifted.form_rows(self.basis[m], self.sens[m])
                elif self.method == "sdr":
                    rows = lifted.form_rows(self.basis[m][k], np.concatenate([self.comm[m], self.sens[m]], axis=1))
                else:           # CU forms, the lag sums of F / (N_t P), the diagonal of F / P
                    rows = np.concatenate([lifted.form_rows(self.basis[m][k], self.comm[m]),
                                           lifted.matrix_rows(self.basis[m][k], lag_matrices(N)) / N,
                                           lifted.matrix_rows(self.basis[m][k], _diagonal_units(N))])
                self.params["rows"][m][k].value = rows
                basis = self.basis[m] if self.method == "radar-only" else self.basis[m][k]
                self.params["trace"][m][k].value = lifted.trace_row(basis)
                if "desired" in self.params:
                    self.params["desired"][m][k].value = (1.0 + 1.0 / self.gamma) * rows[m * K + k]
        if self.method == "beampattern":
            phi = lag_to_pattern(N, self.angles, self.inst.scenario.antenna_spacing_wavelengths)
            for m, fit in enumerate(pattern_fit(self.desired, phi)):
                self.params["fit"][m].value = fit
        else:
            self.params["weights"].value = self.weights

    def lifted_solution(self) -> np.ndarray:
        """The relaxed F (M, K, N, N) in W, read back from the solved template."""
        M, K = self.inst.shape[:2]
        basis = (lambda m, k: self.basis[m]) if self.method == "radar-only" else (lambda m, k: self.basis[m][k])
        return np.array([[lifted.to_hermitian(self.vars["Z"][m][k].value, basis(m, k)) * self.P for k in range(K)]
                         for m in range(M)])

    def score(self, f: np.ndarray) -> float:
        """The method's own objective at beams f: CRLB (m^2), or the pattern error in units of (N_t P)^2."""
        if self.method == "beampattern":
            N = self.inst.shape[2]
            p = beampattern(f, self.angles, self.inst.scenario.antenna_spacing_wavelengths) / (N * self.P)
            return pattern_error(p, self.desired)
        return crlb(self.inst, f)

    def recover(self):
        """(solution, claimed objective): :meth:`_extract` when every F is rank one, else Gaussian randomization.

        ``claimed`` is the solver's optimum in the units of :meth:`score` (the relaxation's bound); ``assess``
        requires the beams to attain it when the relaxation is rank one, and never to beat it otherwise.
        """
        if self.method == "zf":
            f = np.sqrt(np.maximum(self.vars["p"].value, 0.0) * self.P)[..., None] * self.zf
            return {"f": f}, float(self.crlb_ref * np.sum(self.vars["mu"].value))
        claimed = (float(self.problem.value) if self.method == "beampattern"
                   else float(self.crlb_ref * np.sum(self.vars["mu"].value)))
        self.bound = claimed
        F = self.lifted_solution()
        M, K, N, _ = F.shape
        self.relaxation_eigen_ratio = max(eigen_ratio(x) for row in F for x in row)
        if self.relaxation_eigen_ratio <= RANK_ONE_RATIO:
            return {"f": self._extract(F), "F": F}, claimed
        f = np.array([[principal_component(x) for x in row] for row in F])
        return {"f": self._randomize(F, f), "F": F}, claimed

    def _extract(self, F: np.ndarray) -> np.ndarray:
        """Rank-one beams of a (numerically) rank-one relaxed F (M, K, N, N): f = F h / sqrt(h^H F h) with h the
        CU's own channel (the principal component for radar-only). For rank-one F both are the same vector; for a
        solver's nearly rank-one F this choice keeps the CU's desired power exactly while interference and power can
        only drop (F - f f^H is PSD), so every SINR of the relaxation is kept (the principal component can lose up to
        lambda_2 / lambda_1 of it)."""
        M, K = F.shape[:2]
        if self.method == "radar-only":
            return np.array([[principal_component(x) for x in row] for row in F])
        return np.array([[constructive_rank_one(F[m, k], self.inst.h[m, m, k])[0] for k in range(K)]
                         for m in range(M)])

    def _randomize(self, F: np.ndarray, principal: np.ndarray) -> np.ndarray:
        """Gaussian randomization [15]: candidate directions xi_{m,k} ~ CN(0, F_{m,k}) (plus the principal components
        and the constructive directions F h / sqrt(h^H F h)), each made feasible for (18) by :func:`balance_powers`
        (radar-only: scaled to the power budget); the best by :meth:`score` wins. The beampattern benchmark's
        per-antenna equality is not restored (its relaxation is seldom rank one: there is no dedicated radar signal
        to absorb the remainder as in Liu et al.)."""
        M, K, N, _ = F.shape
        T = self.inst.scenario.randomizations
        draws = np.stack([np.stack([gaussian_candidates(self.rng, F[m, k], T) for k in range(K)], axis=1)
                          for m in range(M)], axis=1)                     # (T, M, K, N)
        constructive = np.array([[constructive_rank_one(F[m, k], self.inst.h[m, m, k])[0] for k in range(K)]
                                 for m in range(M)])
        best, best_score = None, np.inf
        for cand in [principal, constructive, *draws]:
            if self.method == "radar-only":
                f = cand * np.sqrt(self.P / np.maximum(bs_power(cand), 1e-300))[:, None, None]
            else:
                f = balance_powers(self.inst.h, cand, self.noise, self.gamma, self.P)
            if f is None:
                continue
            value = self.score(f)
            if value < best_score:
                best, best_score = f, value
        self.randomizations = T
        if best is None:       # no candidate reached Gamma: fall back to the constructive beams (feasible, unscaled)
            best = constructive
        return best

    def assess(self, solution, claimed: float) -> Assessment:
        inst, s = self.inst, self.inst.scenario
        M, K, N, T = inst.shape
        f = solution["f"]
        gamma = sinr(inst.h, f, self.noise)
        power = bs_power(f)
        fim = position_fisher(inst, f)
        value = crlb_of_fisher(fim)
        own = self.score(f)
        checks = [verify.at_most("bs_power", power, self.P)]
        if self.method != "radar-only":
            checks.append(verify.at_least("sinr", gamma, self.gamma))
        randomized = self.randomizations > 0
        if self.method == "beampattern" and not randomized:     # Liu et al.'s per-antenna power (benchmark only)
            checks.append(verify.close("per_antenna_power", np.real(np.einsum("mkn,mkn->mn", f, f.conj())),
                                       self.P / N, scale=self.P / N))
        if randomized and self.method != "beampattern":   # the relaxation bounds what the beams can reach
            checks.append(verify.at_least("objective_vs_relaxation_bound", own, claimed, scale=abs(claimed)))
        elif randomized:    # randomized beams keep (18)'s constraints, not the per-antenna equality: no bound
            pass
        else:
            checks.append(verify.close("objective_vs_solver", own, claimed, scale=abs(claimed)))
        pattern = beampattern(f, self.angles, s.antenna_spacing_wavelengths)
        inverse = np.linalg.inv(fim) if np.isfinite(value) else np.full((2, 2), np.inf)
        metrics = {"crlb_m2": value, "rmse_bound_m": float(np.sqrt(value)),
                   "crlb_xy_m2": np.diag(inverse), "crlb_radar_only_m2": self.crlb_ref,
                   "sinr_db": linear_to_db(gamma), "bs_power_w": power, "bs_power_dbm": watt_to_dbm(power),
                   "toa_delay_ns": inst.delays * 1e9, "delay_fisher": delay_fisher(inst, f), "position_fisher": fim,
                   "target_beam_gain_w": beam_gain(inst.steering, f), "target_angle_deg": np.rad2deg(inst.theta),
                   "beampattern_angle_deg": np.rad2deg(self.angles),
                   "beampattern_gain": pattern / self.P, "beampattern_db": linear_to_db(pattern / self.P),
                   "beampattern_note": "gain a^T(theta) R_m a^*(theta) / P per BS (isotropic = 1, max N_t); "
                                       "angles from each BS's broadside",
                   "sdr_max_eigen_ratio": self.relaxation_eigen_ratio, "randomizations": self.randomizations}
        notes = []
        if self.method == "beampattern":
            metrics["pattern_error"] = own
            metrics["desired_pattern"] = self.desired
        if self.method != "zf":
            metrics["reduced_dimension"] = self.r
        metrics["relaxation_bound"] = claimed          # the solver's optimum, in the units of the method's objective
        if randomized:
            metrics["relaxation_gap"] = (own - claimed) / abs(claimed)
            notes.append(f"relaxation not rank one (lambda2/lambda1 = {self.relaxation_eigen_ratio:.1e}): best of "
                         f"{self.randomizations} Gaussian randomizations, {own:.6g} vs relaxation bound {claimed:.6g}"
                         + (" (beams meet the SINR and power constraints (18b)-(18c); the per-antenna equality of "
                            "the pattern fit is not kept, so the bound does not apply)"
                            if self.method == "beampattern" else ""))
        # randomized beams carry no proof; the relaxation bounds the CRLB (not the pattern error: no bound there)
        bound = claimed if randomized and self.method != "beampattern" else None
        return Assessment(value, metrics, checks, notes, proven=not randomized, bound=bound)

    def describe(self):
        from ...data.loader import scenario_dict
        return scenario_dict(self.inst.scenario), self.inst.channels()


def direct_problem(inst: LocalizationInstance, method: str = "sdr") -> tuple[cp.Problem, dict]:
    """The SDR (21) written the obvious way: complex Hermitian N_t x N_t variables F_{m,k}, channels divided by the
    noise standard deviation, powers in units of P, the Fisher blocks scaled as in :class:`LocalizationModel`.

    Reference formulation for tests and ``benchmarks/bench_sdp.py``; rebuilt on every call. ``method``
    'sdr' or 'radar-only' (no (21c)). Returns (problem, variables); the CRLB in m^2 is
    ``variables["crlb_ref"] * problem.value`` and F in W is ``variables["F"][m][k].value * P``.
    """
    if method not in ("sdr", "radar-only"):
        raise ValueError("direct_problem covers the SDR and its radar-only variant")
    s = inst.scenario
    M, K, N, _ = inst.shape
    P, noise, gamma = dbm_to_watt(s.max_power_dbm), dbm_to_watt(s.comm_noise_dbm), db_to_linear(s.sinr_db)
    hn = inst.h * np.sqrt(P / noise)
    blocks = inst.fisher_blocks() * N * P
    c0 = crlb_of_fisher(blocks.sum(axis=0))
    A = blocks * c0
    F = [[cp.Variable((N, N), hermitian=True) for _ in range(K)] for _ in range(M)]
    cons = [x >> 0 for row in F for x in row]
    cons += [cp.real(sum(cp.trace(x) for x in F[m])) <= 1 for m in range(M)]                     # (21b)
    if method == "sdr":
        for m in range(M):                                                                         # (21c)
            for k in range(K):
                terms = [cp.real(hn[i, m, k].conj() @ F[i][j] @ hn[i, m, k])
                         for i in range(M) for j in range(K) if (i, j) != (m, k)]
                own = cp.real(hn[m, m, k].conj() @ F[m][k] @ hn[m, m, k])
                cons.append(gamma * (sum(terms) + 1) <= own)
    a = inst.steering
    fim = sum(cp.real(sum(a[m] @ F[m][k] @ a[m].conj() for k in range(K))) / N * A[m] for m in range(M))
    mu = cp.Variable(2)
    e = np.eye(2)
    for i in range(2):                                                                             # (21d)
        cons.append(cp.bmat([[fim, e[:, i:i + 1]], [e[i:i + 1, :], cp.reshape(mu[i], (1, 1), order="F")]]) >> 0)
    problem = cp.Problem(cp.Minimize(mu[0] + mu[1]), cons)
    return problem, {"F": F, "mu": mu, "crlb_ref": c0, "power_w": P}
