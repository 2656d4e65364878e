"""Robust precoding, block-level precoding (BLP): beam covariances W_v lifted on the unit's basis, worst-case SINR
(22)-(23), interference budgets (P1.A)/(P1.B) (CBF) and (P2.A)/(P2.B) (CoMP); the vector-form SCA polish's BLP rows."""
from __future__ import annotations

import numpy as np

from ...algorithms import lifted
from .design import Design, _Unit
from .physics import worst_interference_bound
from .templates import _blp_masks, _blp_template, _real_matrix, _real_rows


class BLPDesign(Design):
    """BLP-CBF and BLP-CoMP (:class:`~.design.Design`)."""

    level = "blp"
    budget_keys = {"cbf": ("intra", "inter", "leak"), "comp": ("comp",)}

    def _level_basis(self, basis: np.ndarray, nu: int) -> np.ndarray:
        basis[:, :nu] *= np.sqrt(self.i_ref)
        return basis

    def _lifted_rows(self, U: np.ndarray):
        return lambda Mx: lifted.matrix_rows(U, Mx)

    def _template(self, stage: str):
        r = self.units[0].basis.shape[1]
        return _blp_template(self.scheme, self.J, self.K, r, stage, bool(self.delta_n > 0))

    def sinr(self, g):
        return self.gamma_th * g

    def _fim_weight(self) -> float:
        return 2.0 * self.L * 1.0

    def _polish_sinr_weight(self, tau0: float) -> float:
        return 2 * tau0

    @staticmethod
    def _chol(U):
        """Real form of the Cholesky factor R_B (B^H B = R_B^H R_B): ||B y|| = ||R_B y||."""
        return _real_matrix(np.linalg.cholesky(U.conj().T @ U).conj().T)

    def _bind_level(self, p, u: _Unit, rows) -> None:
        U = u.basis
        if "chol" in p:
            p["chol"].value = (2 * self.delta_n / np.sqrt(self.i_ref)) * self._chol(U)
            p["d2"].value = (self.delta_n ** 2 / self.i_ref) * lifted.trace_row(U)[None]
        p["power"].value = np.stack([lifted.matrix_rows(U, g[None])[0] for g in u.power])

    def _bind_signal(self, p, u, scale):
        """Own-signal lower bound (re-derived (22)) times ``scale``: I_ref Y_vv - 2 delta sqrt(I_ref) ||R_B Y e_v||."""
        p["sig_scale"].value = np.full(u.n_own, scale * self.i_ref)
        if "sig_chol" not in p:
            return
        chol = self._chol(u.basis)
        for v in range(u.n_own):
            p["sig_chol"][v].value = scale * 2 * self.delta_n * np.sqrt(self.i_ref) * chol

    def _bind_a_level(self, p, u: _Unit, state) -> None:
        cap, denom = self.caps(u, state)
        p["cap"].value = cap / self.i_ref
        self._bind_signal(p, u, 1.0 / (self.gamma_th * denom))

    def _bind_b_level(self, p, u: _Unit, state, gamma_star: float) -> None:
        b0 = self.budget0
        unit = np.array([0.0 if k == "leak" else b0[k] for k in self.budget_keys[self.scheme]]) / self.i_ref
        _, capsel, sigsel = _blp_masks(self.scheme, self.J, self.K)
        p["capsel"].value, p["sigsel"].value = capsel * unit, sigsel * unit
        if self.scheme == "cbf":
            p["sig_const"].value = np.full(self.K, (state["inter"] + 1.0) / self.i_ref)
        else:
            p["sig_const"].value = np.full(len(u.users), 1.0 / self.i_ref)
        self._bind_signal(p, u, 1.0 / (gamma_star * self.i_ref))

    def _bind_polish_level(self, p, u: _Unit, state) -> None:
        qn = np.linalg.norm(u.q, axis=0)
        p["users"].value = np.concatenate([_real_rows(q / n) for q, n in zip(u.q.T, qn)])
        p["delta_u"].value = self.delta_n / qn
        cap, denom = self.caps(u, state)
        p["sig_c"].value = np.sqrt(self.gamma_th * denom) / qn[:u.n_own]
        amp = np.sqrt(cap)
        p["itf"].value = np.concatenate([_real_rows(q / a) for q, a in zip(u.q.T, amp)])
        p["itf_delta"].value = self.delta_n / amp

    def levels(self, i: int, X: np.ndarray) -> np.ndarray:
        """Budget levels (relative to their initial values, ordered as :meth:`b_old`) that unit i's relaxed beam
        covariances X (:meth:`read`) actually use: the worst-case (23) interference of every user group and the
        leakage (48b). These are the smallest budgets under which X stays feasible, i.e. the solution of
        (P1.B)/(P2.B) with the paper's constraint "keep stage A's CRB and SINR" (whose feasible set is stage A's
        optimal face; for a unique stage-A optimum, this point)."""
        u, b0, dn = self.units[i], self.budget0, self.delta_n
        nu = len(u.users)
        mask = _blp_masks(self.scheme, self.J, self.K)[0]
        inter = np.zeros(nu)
        for v in range(u.n_own):
            worst = worst_interference_bound(u.q.T, np.broadcast_to(X[v], (nu,) + X[v].shape), dn)
            inter += mask[:, v] * worst
        R = X.sum(axis=0)
        if self.scheme == "comp":
            return np.array([inter.max() / b0["comp"]])
        leak = max((np.real(l.conj() @ R @ l) for l in u.leak.T), default=0.0)      # J = 1: no other cells
        return np.array([inter[:self.K].max() / b0["intra"],
                         inter[self.K:].max(initial=0.0) * max(self.J - 1, 1) / b0["inter"], leak / b0["leak"]])

    def read(self, i: int, var) -> np.ndarray:
        """Relaxed solution of unit i: (n_own, c, c) beam covariances."""
        U = self.units[i].basis
        return np.stack([lifted.to_hermitian(z.value, U) for z in var["z"]])

    def initial_vectors(self, i: int, X: np.ndarray) -> np.ndarray:
        """Beams (n_own, c) from the relaxed covariances: w_v = W_v q_v / sqrt(q_v^H W_v q_v) (constructive rank
        one: keeps the desired power q_v^H W_v q_v)."""
        u = self.units[i]
        out = np.zeros((u.n_own, u.q.shape[0]), complex)
        for v in range(u.n_own):
            wq = X[v] @ u.q[:, v]
            power = np.real(np.vdot(u.q[:, v], wq))
            out[v] = wq / np.sqrt(power) if power > 0 else 0.0
        return out
