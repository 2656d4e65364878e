"""Robust precoding: what every design shares (the scheme's units, normalization, budgets, the SCA polish), and
stages A/B of Algorithm 1 for the AO driver. The level's lifting and templates are :mod:`.blp` and :mod:`.slp`."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ...algorithms import backends, lifted, sca
from ...algorithms.ao import Step
from ...algorithms.result import Status
from ...errors import ScenarioError
from ..units import db_to_linear, linear_to_db
from .scenario import Instance, METHODS
from .physics import fim, fim_decoupling, fim_forms, jacobians, leakage, radar_covariance
from .templates import _UPPER, _polish_template, _real_matrix, _real_rows, _span


#: Relative slack of the CRB and SINR levels stage B keeps (:meth:`Design.bind_b`). 0 is the paper's (P1.B)/(P2.B)/
#: (P3.B): stage B's precoders then reach stage A's CRB and SINR exactly, so the AO is monotone. (Its feasible set can
#: be thin - at rho = 1 it is stage A's optimal face - and a solve that does not end optimal falls back to the closed
#: form, :class:`_StageB`; measured: Clarabel optimal at 0 on the tested seeds.)
RELAX = 0.0
#: Stage B takes the SDP's precoders only when their budgets sum to less than the closed form's by this fraction (at
#: rho = 1 the SDP found cuts of ~1e-7, solver noise, while its precoders sit on the boundary of the CRB constraint).
SDP_GAIN = 1e-4
#: Budgets are never lowered below this fraction of their initial value (an interference 30 dB under the initial
#: budget, i.e. 20 dB under the noise, changes a SINR by 1 %); a budget of 0 would restrict the next stage A to a face
#: of the PSD cone, where Slater's condition fails.
BUDGET_FLOOR = 1e-3
#: Stage B sets a budget to the level it measures times (1 + LEVEL_MARGIN), so stage A's solution stays strictly
#: feasible for the next stage A despite solver residuals (~1e-10).
LEVEL_MARGIN = 1e-7
#: The SCA recovery stops when its objective improves by less than this (relative); every iterate is verified-feasible.
POLISH_TOL = 1e-3
#: Upper bound on the scaled CRB variable f (needed for rho = 0, where f is not in the objective). Written as
#: (1 / F_CAP) f <= 1: as f <= F_CAP the 1e6 entered b, and Clarabel, which measures its primal residual relative to
#: ||b||, reported 1e-10 for points whose power and leakage rows were violated by ~1e-3 (SCA polish, SLP-CBF seed 3).
F_CAP = 1e6
#: Weight of f relative to the SINR term in the SCA polish where f is not in the objective (rho = 0): without it the
#: scaled CRB variable is free in [its bound, F_CAP] and the interior point left it at ~5e3-1e5 (BLP-CoMP,
#: delta = 0.01, Figs. 5-6 draw 1), and Clarabel's residual test, relative to max(1, ||x||, ...), then accepted
#: answers whose interference rows were off by 1-3 %. With it f is (nearly) its bound, the CRB of the iterate.
F_TIE = 1e-6
#: The stage-A (and normalization) solves first try Clarabel without its Ruiz equilibration (then the full ladder,
#: :func:`backends.conic_attempts`): those templates are scaled already (noise units, I_ref, D F D), and
#: re-equilibrating them made stage A of robust BLP-CBF (delta = 0.01) end AlmostSolved at 1e-10 on 23 of 40 BSs
#: (first attempt, 20 Sec. VI draws; 4 of 40 without it) and cost 1-3 more iterations everywhere (SLP-CBF: 27.4 vs
#: 24.5 on average). Only a first attempt: on one Fig. 8 draw (seed 7, draw 1, N = 6) every unequilibrated rung
#: failed where the equilibrated ladder solves. The SCA polish keeps equilibration: without it a polish ended
#: "optimal" with an ICI row violated by 1.4e-6 (Fig. 9 quick study, budgets 0 dB, seed 19).
CLARABEL = {"equilibrate_enable": False}
#: Angles of the beampattern metric (Fig. 4): -90 to 90 deg in 1-deg steps.


# ================================================================================================ design
def _crb_scale(entries: np.ndarray) -> float:
    """max over targets of [F^-1]_11 = 1 / (F_tt - (F_tr^2 + F_ti^2) / F_rr) from the 6 upper entries per target
    (tt, tr, ti, rr, ri, ii; F_ri = 0, F_ii = F_rr), 1 where that is not positive and finite."""
    e = entries.reshape(-1, 6)
    with np.errstate(divide="ignore", invalid="ignore"):
        schur = e[:, 0] - (e[:, 1] ** 2 + e[:, 2] ** 2) / e[:, 3]
        crb = float(np.max(1.0 / schur))
    return crb if np.all(schur > 0) and np.isfinite(crb) else 1.0


def first_round_icr(inst: Instance) -> np.ndarray | None:
    """leak[n] of (11) in round 1 with ``icr_covariance = "precoders"`` (Algorithm 1 step 4 before any precoders):
    BS n's largest leakage towards another cell's target with isotropic full-power precoders P_t I / N. None with
    ``"budget"`` (every BS at the leakage budget)."""
    if inst.scenario.icr_covariance != "precoders":
        return None
    J, _, N, _ = inst.shape
    iso = np.broadcast_to(np.eye(N) / N, (J, N, N))
    return np.where(np.eye(J, dtype=bool), 0.0, leakage(inst, iso)).max(axis=1)


@dataclass
class _Unit:
    """One optimization problem: BS m for CBF (users ordered own-first), all BSs jointly for CoMP."""

    targets: list[int]              # target (cell) indices whose FIM it constrains
    users: list[tuple[int, int]]    # (cell, user) in unit order; the first n_own are served by this unit
    n_own: int
    q: np.ndarray                   # (c, nu) channels in noise units (received q^H x / sigma_c)
    basis: np.ndarray               # (c, r) orthonormal
    E: list[np.ndarray]             # per target (3, M, c)
    power: list[np.ndarray]         # per power group (c, c) 0/1 diagonal selectors
    leak: np.ndarray                # (c, n_leak) conj(v_mn), n != m (CBF)
    bs: int | None                  # CBF: the BS index


class Design:
    """The robust precoder design of one instance for one method (``blp``/``slp`` x ``cbf``/``comp``): the base of
    :class:`~.blp.BLPDesign` and :class:`~.slp.SLPDesign` (:meth:`for_method` picks one). The scheme (CBF: one unit
    per BS; CoMP: one joint unit) is data here (:meth:`_units`, :attr:`budget_keys`); the level is the subclass.

    Normalizations: channels divided by sigma_c (so SINR forms are in noise units and the CSI radius is
    delta / sigma_c), powers in P_t, interference in units of I_ref (geometric mean of the squared user-channel norm
    and the budget), budgets relative to their initial values, the FIM decoupled (:meth:`_scale`) and scaled by
    D = diag(f_tt, f_aa, f_aa)^(-1/2) (its entries at the isotropic covariance, largest over targets for f_tt),
    the SINR variable relative to gamma_th (BLP) or sqrt(gamma_th) (SLP).
    """

    level = ""                                     # "blp" / "slp": set by the subclass
    #: the level's budgets in stage B's order, per scheme (keys of :attr:`budget0`; :meth:`b_old`)
    budget_keys: dict[str, tuple[str, ...]] = {}
    _levels: dict[str, type[Design]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Design._levels[cls.level] = cls

    @staticmethod
    def for_method(inst: Instance, method: str, solver: str | None = None) -> Design:
        """The design of ``method`` (its level's subclass)."""
        return Design._levels[METHODS[method][0]](inst, method, solver)

    def __init__(self, inst: Instance, method: str, solver: str | None = None):
        self.inst, self.method, self.solver = inst, method, solver
        level, self.scheme = METHODS[method]
        if level != self.level:
            raise ValueError(f"{type(self).__name__} designs {self.level} methods, not {method!r}")
        s = inst.scenario
        J, K, N, M = inst.shape
        self.J, self.K, self.N, self.L = J, K, N, s.frame_length
        self.gamma_th = float(db_to_linear(s.sinr_db))
        self.psi = np.pi / s.psk_order
        self.delta_n = s.csi_error / np.sqrt(inst.noise_c) * (np.sqrt(J) if self.scheme == "comp" else 1.0)
        self.budget0 = {"intra": float(db_to_linear(s.intra_budget_db)),
                        "inter": float(db_to_linear(s.inter_budget_db)),
                        "comp": float(db_to_linear(s.comp_budget_db)), "leak": s.leak_power_fraction}
        self._level_budgets()
        # interference unit I_ref: with the dual basis (columns sqrt(I_ref) q_j / ||q_j||^2 for near-orthogonal users)
        # the lifted entries that carry power are ~||q||^2 / I_ref and those bounded by a budget b are ~b / I_ref;
        # I_ref = sqrt(||q||^2 b) (median squared user-channel norm in noise units, largest budget) centres both
        # around one. Measured on stage A, seeds 3-6, Clarabel at 1e-10 (optimal / solves), delta = 0 and 0.01:
        # I_ref = b = 10 (before): 8/8 and ~2/8 (BLP-CBF); the geometric mean: see the README; the results are
        # invariant to the unit.
        power = np.sum(np.abs(inst.h) ** 2, axis=(0, -1) if self.scheme == "comp" else -1)
        budget = max(self.budget0["intra"], self.budget0["inter"], self.budget0["comp"])
        self.i_ref = float(np.sqrt(np.median(power) / inst.noise_c * budget))
        self.units = self._units()
        self._scale()
        self.nf = None
        self.solver_time = 0.0
        self.statuses: list[Status] = []
        self.solvers: dict[str, int] = {}           # conic solves answered per solver
        self.retried = 0                            # conic solves that needed more than one attempt

    # ------------------------------------------------------------------ geometry of the units
    def _units(self) -> list[_Unit]:
        inst, J, K, N = self.inst, self.J, self.K, self.N
        sc = np.sqrt(inst.noise_c)
        units = []
        if self.scheme == "cbf":
            for m in range(J):
                users = [(m, k) for k in range(K)] + [(n, k) for n in range(J) if n != m for k in range(K)]
                q = np.stack([inst.h[m, n, k] for n, k in users], axis=1) / sc
                E = [jacobians(inst, m, "cbf")]
                leak = (np.stack([inst.v[m, n].conj() for n in range(J) if n != m], axis=1) if J > 1
                        else np.zeros((N, 0)))
                basis = self._basis(q, np.concatenate([_span([e.conj().T for e in E[0]]), leak], axis=1))
                units.append(_Unit([m], users, K, q, basis, E, [np.eye(N)], leak, m))
        else:
            users = [(m, k) for m in range(J) for k in range(K)]
            q = inst.h_stacked().T / sc
            E = [jacobians(inst, m, "comp") for m in range(J)]
            spans = [_span([e.conj().T for e in Em]) for Em in E]
            basis = self._basis(q, np.concatenate(spans, axis=1))
            power = [np.diag(np.repeat(np.arange(J) == m, N).astype(float)) for m in range(J)]
            units.append(_Unit(list(range(J)), users, J * K, q, basis, E, power, np.zeros((J * N, 0)), None))
        return units

    def _basis(self, q: np.ndarray, rest: np.ndarray) -> np.ndarray:
        """Basis of the span of every form: columns dual to the user channels (q_j^H b_i = sqrt(I_ref) delta_ij, so
        user j's form is I_ref Y_jj: interference budgets become bounds on single entries of order one), then
        orthonormal directions orthogonal to the users (target and leakage directions). Falls back to an orthonormal
        basis when there are more users than dimensions or their channels are nearly parallel (as the detection
        module does)."""
        c, nu = q.shape
        if nu > c:
            raise ScenarioError(f"{self.method} needs every BS to control all J*K = {nu} users: J*K must not exceed "
                                f"the {c} antennas of a precoder (raise tx_antennas or lower users_per_bs)")
        return self._level_basis(lifted.biorthogonal_basis(q, rest), nu)

    def _scale(self):
        """Per target FIM decoupling and scaling at the isotropic covariance (no ICR interference).

        Decoupling: the angle's nuisance amplitude is re-parametrized, alpha' = alpha + (a + j b) theta, i.e. the
        FIM is replaced by T^T F T with T = [[1, 0, 0], [a, 1, 0], [b, 0, 1]], a = -F_tr / F_rr, b = -F_ti / F_ii
        at the isotropic covariance. [F^-1]_11 (the CRB) is unchanged for every R (T is unit lower triangular), as
        are F_ri = 0 and F_ii = F_rr. Without it F_tt - (F_tr^2 + F_ti^2) / F_rr cancels ~90 % of F_tt (the array
        phase reference is its first element: F_tr ~ -0.9 F_tt), and the SCA polish ended AlmostSolved at 1e-10 in
        most rounds."""
        inst = self.inst
        self.f_tt, self.f_aa, self.T = {}, {}, {}
        for u in self.units:
            c = u.q.shape[0]
            R = np.eye(c) / self.N
            for t, m in enumerate(u.targets):
                F = fim(u.E[t], inst.noise_r * np.eye(inst.shape[3]), R, self.L)
                self.T[m] = T = fim_decoupling(F)
                self.f_aa[m] = F[1, 1]
                self.f_tt[m] = (T.T @ F @ T)[0, 0]
        for u in self.units:   # one theta scale per unit (CoMP shares the corner f across targets)
            top = max(self.f_tt[m] for m in u.targets)
            for m in u.targets:
                self.f_tt[m] = top

    def _dscale(self, m):
        return np.array([1 / np.sqrt(self.f_tt[m]), 1 / np.sqrt(self.f_aa[m]), 1 / np.sqrt(self.f_aa[m])])

    def _cov(self, m, leak):
        """C_m of (11) with leak[n] (or one value for every BS n) the power BS n radiates towards target m."""
        return radar_covariance(self.inst, m, self.scheme, np.broadcast_to(leak, (self.J,)))

    def icr_leak(self, state) -> np.ndarray:
        """leak[n] of (11) per BS n for the CBF FIM: the leakage budget (``icr_covariance = "budget"``, a bound valid
        for any precoders within it) or Algorithm 1 step 4 (``"precoders"``): BS n's leakage in the previous round
        (stage B's per-BS level), isotropic precoders at full power before the first round."""
        return np.full(self.J, state["leak"]) if state.get("icr") is None else state["icr"]

    def leak_cap(self, u: _Unit, state) -> float:
        """BS u.bs's leakage budget; with "precoders" also at most the leak the other BSs' C_m assume for it (so
        their CRB bounds stay certified)."""
        return state["leak"] if state.get("icr") is None else min(state["leak"], float(state["icr"][u.bs]))

    def fim_forms_scaled(self, u: _Unit, leak) -> list[np.ndarray]:
        """Per target the scaled forms D M D (3, 3, c, c) with C_m at leak (:meth:`icr_leak`, CBF)."""
        out = []
        for t, m in enumerate(u.targets):
            Mf = np.einsum("ki,lj,klab->ijab", self.T[m], self.T[m], fim_forms(u.E[t], self._cov(m, leak), self.L))
            d = self._dscale(m)
            out.append(Mf * (d[:, None] * d[None, :])[:, :, None, None])
        return out

    # ------------------------------------------------------------------ state
    def initial_state(self) -> dict:
        b = self.budget0
        icr = first_round_icr(self.inst) if self.scheme == "cbf" else None
        return {"intra": np.full(self.J, b["intra"]), "inter": b["inter"], "comp": b["comp"], "leak": b["leak"],
                "icr": icr, "X": [None] * len(self.units), "g": np.ones(len(self.units)),
                "f": np.zeros(len(self.units))}

    def weights(self, u_index: int, rho: float | None = None):
        rho = self.inst.scenario.rho if rho is None else rho
        nf_r, nf_c = (1.0, 1.0) if self.nf is None else (self.nf[0][u_index], self.nf[1][u_index])
        return rho / nf_r, (1.0 - rho) / nf_c

    # ------------------------------------------------------------------ the scheme's budgets and caps
    def caps(self, u: _Unit, state) -> tuple[np.ndarray, float]:
        """Interference cap per user of unit u (CBF: own users at the BS's intra budget, the others' share of the
        inter budget; CoMP: the CoMP budget) and the SINR denominator it implies (budgets + noise)."""
        if self.scheme == "cbf":
            m = u.bs
            cap = np.r_[np.full(self.K, state["intra"][m]),
                        np.full(len(u.users) - self.K, state["inter"] / max(self.J - 1, 1))]
            return cap, state["intra"][m] + state["inter"] + 1.0
        return np.full(len(u.users), state["comp"]), state["comp"] + 1.0

    def budget_levels(self, i: int, state, capped: bool = True) -> np.ndarray:
        """Unit i's budgets (:attr:`budget_keys` order) relative to their initial values; ``capped``: the leakage
        budget as :meth:`leak_cap` (what stage A enforces), else the network's."""
        u, b0 = self.units[i], self.budget0
        value = {"comp": lambda: state["comp"], "intra": lambda: state["intra"][u.bs], "inter": lambda: state["inter"],
                 "leak": lambda: self.leak_cap(u, state) if capped else state["leak"]}
        return np.array([value[k]() / b0[k] for k in self.budget_keys[self.scheme]])

    def b_old(self, i: int, state) -> np.ndarray:
        """Current budgets of unit i relative to their initial values (stage B may not exceed them)."""
        return self.budget_levels(i, state)

    def set_budgets(self, new: dict, i: int, b: np.ndarray, collected: dict[str, list]) -> None:
        """Stage B's chosen levels ``b`` (:attr:`budget_keys` order, relative) of unit i: a BS's intra budget is set
        in ``new``; the network-wide ones are ``collected`` (their max over units is the new budget)."""
        for k, level in zip(self.budget_keys[self.scheme], b):
            if k == "intra":
                new["intra"][self.units[i].bs] = level * self.budget0["intra"]
            else:
                collected.setdefault(k, []).append(level * self.budget0[k])

    # ------------------------------------------------------------------ binding (the level's parts: subclass hooks)
    def _bind_common(self, p, u: _Unit, state):
        """Parameters shared by stages A and B (forms, powers, FIM at the current leakage budget)."""
        rows = self._lifted_rows(u.basis)
        self._bind_level(p, u, rows)
        if "leak" in p:
            p["leak"].value = np.stack([rows(np.outer(l, l.conj())[None])[0] for l in u.leak.T]) / self.budget0["leak"]
        Ms = self.fim_forms_scaled(u, self.icr_leak(state))
        p["fim"].value = np.concatenate([np.stack([rows(Mt[i, j][None])[0] for i, j in _UPPER]) for Mt in Ms])

    def bind_a(self, i: int, state, rho: float | None = None):
        """Stage A (P1.A)/(P2.A)/(P3.A)/(P4) of unit i at the budgets of ``state``: (problem, parameters, variables)."""
        u = self.units[i]
        problem, p, var = self._template("A")
        self._bind_common(p, u, state)
        wt, wg = self.weights(i, rho)
        p["wt"].value, p["wg"].value, p["f_cap_inv"].value = wt, wg, 1.0 / F_CAP
        self._bind_a_level(p, u, state)
        if "leak_cap" in p:
            p["leak_cap"].value = self.leak_cap(u, state) / self.budget0["leak"]
        return problem, p, var

    def bind_b(self, i: int, state):
        """Stage B (P1.B)/(P2.B)/(P3.B) of unit i: keep stage A's CRB and SINR, minimize the relative budgets."""
        u = self.units[i]
        problem, p, var = self._template("B")
        self._bind_common(p, u, state)
        relax = 1.0 + RELAX     # the stage-A optimum lies on these boundaries; keep a strict interior
        g = state["g"][i] if self.inst.scenario.rho < 1 else 1.0
        gamma_star = self.sinr(g) / relax
        p["f_star_inv"].value = np.full(len(u.targets), 1.0 / (state["f"][i] * relax))
        p["b_old"].value = self.budget_levels(i, state, capped=False)
        p["bw"].value = np.ones(len(self.budget_keys[self.scheme]))
        self._bind_b_level(p, u, state, gamma_star)
        return problem, p, var

    # ------------------------------------------------------------------ recovery: constructive rank one + SCA
    def fim_factors(self, u: _Unit, leak):
        """Per target the real maps A (3, 2M, 2c) with G(x)[:, i] = A_i x and F(x) = sum over vectors of G^T G
        (scaled FIM): A_i = sqrt(2 L w) D_i [C^-1/2 E_i] in real form, w = 1 (BLP) or 1/L (SLP)."""
        weight = self._fim_weight()
        out = []
        for t, m in enumerate(u.targets):
            Wc = np.linalg.inv(np.linalg.cholesky(self._cov(m, leak)))
            d = self._dscale(m)
            A = np.einsum("ij,irc->jrc", self.T[m], np.stack([_real_matrix(Wc @ u.E[t][i]) for i in range(3)]))
            out.append(np.sqrt(weight) * d[:, None, None] * A)
        return out

    def polish(self, i: int, state: dict, x0: np.ndarray):
        """SCA (:mod:`...algorithms.sca`) in vector form from x0 (nv, c) with the budgets of ``state``.
        Returns (x, f bound, history, note)."""
        u = self.units[i]
        c = u.q.shape[0]
        problem, p, var = _polish_template(self.level, self.scheme, self.J, self.K, c, self.L, bool(self.delta_n > 0))
        wt, wg = self.weights(i)
        for g_i, sel in enumerate(u.power):
            p["power"][g_i].value = _real_matrix(sel)
        if "leak" in p:
            p["leak"].value = np.concatenate([_real_rows(l) for l in u.leak.T])
            p["leak_amp"].value = np.sqrt(self.leak_cap(u, state))
        self._bind_polish_level(p, u, state)
        factors = self.fim_factors(u, self.icr_leak(state))
        unit = {}

        def surrogate(point):
            """(P) with F(x) linearized at point's x (a lower bound: F is matrix-convex), wg at its tau. The variable
            is f / f_unit, f_unit the (scaled) CRB of x: with f ~5e3 (BLP-CoMP, rho = 0) Clarabel's residual test,
            relative to ||x||, accepted interference rows off by 1-3 %. (tau in units of the point's tau as well, ~30
            there, made round 3 of the rho = 0.2 polish end inaccurate on every rung, seed 5 draw 0; not done.)"""
            x, tau0 = point[0], point[1]
            const = []
            lin = [np.zeros((6 * len(u.targets), 2 * c)) for _ in range(len(x))]
            for t, A in enumerate(factors):
                G0 = [np.einsum("irc,c->ri", A, xv) for xv in x]                  # (2M, 3) per vector
                for row, (a_, b_) in enumerate(_UPPER):
                    for v, g0 in enumerate(G0):
                        lin[v][6 * t + row] = g0[:, a_] @ A[b_] + g0[:, b_] @ A[a_]
                    const.append(sum(g0[:, a_] @ g0[:, b_] for g0 in G0))
            const = np.array(const)
            f_unit = _crb_scale(const)
            for v in range(len(x)):
                p["lin"][v].value = lin[v] * f_unit
            p["lin_const"].value = const * f_unit
            wg_tau = wg * self._polish_sinr_weight(tau0)
            p["wg"].value, p["wt"].value = wg_tau, wt * f_unit if wt > 0 else F_TIE * wg_tau
            p["f_cap_inv"].value = f_unit / F_CAP
            unit["f"] = f_unit
            return problem

        # Clarabel's ladder only (sca.py): an SCS answer left an ICI row violated by 4.8e-5 (rho = 0.8, Fig. 3 study
        # seed 3, draw 1); without an accurate answer the iterate is kept
        out = sca.successive_convex_approximation(
            (np.concatenate([x0.real, x0.imag], axis=1), 1.0, None), surrogate,
            lambda: (np.stack([xv.value for xv in var["x"]]), float(var["tau"].value),
                     float(var["f"].value) * unit["f"]),
            max_iter=self.inst.scenario.polish_iterations, tol=POLISH_TOL, solver=self.solver, name=f"SCA of unit {i}")
        for o in out.outcomes:
            self.record(o)
        x, _, f_bound = out.point
        return x[:, :c] + 1j * x[:, c:], f_bound, out.history, out.note

    # ------------------------------------------------------------------ the level's hooks (blp.py, slp.py)
    def _level_budgets(self) -> None:
        """Adjust :attr:`budget0` to the level's units (SLP: amplitudes)."""

    def _level_basis(self, basis: np.ndarray, nu: int) -> np.ndarray:
        raise NotImplementedError

    def _lifted_rows(self, U: np.ndarray):
        raise NotImplementedError

    def _bind_level(self, p, u: _Unit, rows) -> None:
        raise NotImplementedError

    def _template(self, stage: str):
        raise NotImplementedError

    def _bind_a_level(self, p, u: _Unit, state) -> None:
        raise NotImplementedError

    def _bind_b_level(self, p, u: _Unit, state, gamma_star: float) -> None:
        raise NotImplementedError

    def _bind_polish_level(self, p, u: _Unit, state) -> None:
        raise NotImplementedError

    def _fim_weight(self) -> float:
        raise NotImplementedError

    def _polish_sinr_weight(self, tau0: float) -> float:
        raise NotImplementedError

    def sinr(self, g):
        """The SINR (linear) that the stage-A variable g certifies."""
        raise NotImplementedError

    def levels(self, i: int, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def read(self, i: int, var) -> np.ndarray:
        raise NotImplementedError

    def initial_vectors(self, i: int, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # ------------------------------------------------------------------ stages for the AO driver
    def solve_units(self, binders, state, track: bool = True) -> list:
        """Solve unit i's problem ``binders[i](i, state)`` for every unit (CBF: one per BS, independent given the
        budgets; their solver calls run in parallel threads, :func:`backends.solve_conic_batch`). Returns per unit
        (outcome, relaxed solution X or None, {variable name: value} of its scalar/vector variables g/tau, f, b).
        ``track``: the outcome counts toward the method's status (stage B's fallback solves do not)."""
        def job(i):
            holder = {}

            def bind():
                holder["problem"], _, holder["var"] = binders[i](i, state)
                return holder["problem"]

            def read():
                var = holder["var"]
                values = {("g" if k == "tau" else k): v.value for k, v in var.items() if k in ("g", "tau", "f", "b")}
                if any(v is None for v in values.values()):
                    return None, None
                return self.read(i, var), {k: (float(v) if np.ndim(v) == 0 else np.asarray(v, float))
                                           for k, v in values.items()}
            return bind, read
        results = backends.solve_conic_batch([job(i) for i in range(len(binders))], self.solver, clarabel=CLARABEL)
        out = []
        for o, (X, values) in results:
            self.record(o)
            if track:
                self.statuses.append(o.status)
            out.append((o, X, values))
        return out

    def record(self, out) -> None:
        """Account one conic outcome: solver time, which solver answered, whether it needed the retry ladder."""
        self.solver_time += out.solve_time_s
        self.solvers[out.solver] = self.solvers.get(out.solver, 0) + 1
        self.retried += len(out.attempts) > 1

    def rcrb_bound_deg(self, i, f):
        m = self.units[i].targets[0]
        return float(np.rad2deg(np.sqrt(max(f, 0.0) / self.f_tt[m])))

    def normalize(self):
        """NF_R, NF_C of (P1)-(P4): the stage-A optima for rho = 1 and rho = 0 at the initial budgets."""
        rho = self.inst.scenario.rho
        if rho in (0.0, 1.0):
            return
        state, n = self.initial_state(), len(self.units)
        radar = self.solve_units([functools.partial(self.bind_a, rho=1.0)] * n, state)
        comm = self.solve_units([functools.partial(self.bind_a, rho=0.0)] * n, state)
        nf_r = [v["f"] if out.status.has_solution else 1.0 for out, _, v in radar]
        nf_c = [v["g"] if out.status.has_solution else 1.0 for out, _, v in comm]
        self.nf = (np.array(nf_r), np.array(nf_c))


class _StageA:
    """(P1.A)/(P2.A)/(P3.A)/(P4): maximize the weighted objective for fixed budgets, unit by unit."""

    name = "A"

    def __init__(self, design: Design):
        self.d = design

    def solve(self, state):
        d, new = self.d, dict(state)
        new["X"], new["g"], new["f"] = list(state["X"]), state["g"].copy(), state["f"].copy()
        total, t0, status = 0.0, d.solver_time, Status.OPTIMAL
        for i, (out, X, v) in enumerate(d.solve_units([d.bind_a] * len(d.units), state)):
            status = status if out.status == Status.OPTIMAL else out.status
            if not out.status.has_solution:
                return Step(state, None, out.status, d.solver_time - t0, {"unit": i})
            new["X"][i], new["g"][i], new["f"][i] = X, v["g"], v["f"]
            wt, wg = d.weights(i)
            total += -wt * new["f"][i] + wg * new["g"][i]
        gam = d.sinr(new["g"])
        info = {"rcrb_bound_deg": [d.rcrb_bound_deg(i, f) for i, f in enumerate(new["f"])],
                "sinr_db": linear_to_db(gam).tolist()}
        return Step(new, total, status, d.solver_time - t0, info)


class _StageB:
    """(P1.B)/(P2.B)/(P3.B): minimize the normalized budgets keeping stage A's CRB (t*) and SINR (gamma*) as in
    (37a)-(37b)/(44a)-(44c), unit by unit (:meth:`Design.bind_b`, the SDP). Lower budgets also lower the SINR
    requirement gamma* (I + sigma^2), so below rho = 1 it can pick other precoders than stage A's. The new budgets are
    the levels the chosen precoders actually use (:meth:`Design.levels`, times 1 + LEVEL_MARGIN, never above the
    current budgets nor below BUDGET_FLOOR), so they are feasible for the next stage A and the AO is monotone. The
    chosen precoders are the SDP's or, when its levels are not lower (or it did not solve to optimality), stage A's
    own (the closed form: feasible for (P1.B) with the budgets it uses). ``sdp=False``: the closed form only."""

    name = "B"

    def __init__(self, design: Design, sdp: bool = True):
        self.d, self.sdp = design, sdp

    def solve(self, state):
        d, new = self.d, dict(state)
        new["X"], new["intra"] = list(state["X"]), state["intra"].copy()
        t0 = d.solver_time
        collected, status, source = {}, Status.OPTIMAL, []
        solved = d.solve_units([d.bind_b] * len(d.units), state, track=False) if self.sdp else [None] * len(d.units)
        sdp_value = [float(np.sum(r[2]["b"])) if r is not None and r[1] is not None else None for r in solved]
        for i in range(len(d.units)):
            cap = d.b_old(i, state)
            clip = lambda level: np.minimum(np.maximum(level * (1.0 + LEVEL_MARGIN), BUDGET_FLOOR), cap)  # noqa
            b, chosen = clip(d.levels(i, state["X"][i])), "closed form"
            if solved[i] is not None:
                out, X, _ = solved[i]
                if out.status == Status.OPTIMAL and X is not None:
                    b_sdp = clip(d.levels(i, X))
                    if b_sdp.sum() < b.sum() * (1.0 - SDP_GAIN):
                        b, chosen = b_sdp, "sdp"
                else:
                    chosen = f"closed form (SDP {out.status.value})"
            source.append(chosen)
            d.set_budgets(new, i, b, collected)
        for k, values in collected.items():
            new[k] = max(values)
        if "leak" in collected and state.get("icr") is not None:   # Algorithm 1 step 4: C_m from these leakages
            new["icr"] = np.array(collected["leak"])
        total = float(sum(d.b_old(i, new).sum() for i in range(len(d.units))))    # the budgets now set: never grow
        info = {"intra_db": linear_to_db(new["intra"]).tolist(), "inter_db": float(linear_to_db(new["inter"])),
                "comp_db": float(linear_to_db(new["comp"])), "leak": float(new["leak"]), "stage_b": source,
                "sdp_objective": sdp_value}
        return Step(new, total, status, d.solver_time - t0, info)
