"""Robust precoding, symbol-level precoding (SLP): per symbol slot s the lifted matrix [x_s x_s^H, x_s; x_s^H, 1] on
the unit's basis extended by one, constructive interference (52)-(53)/(60)-(61), ICI amplitude budgets (56)
((P3.A)/(P3.B), CBF) and the single problem (P4) (CoMP); the vector-form SCA polish's SLP rows."""
from __future__ import annotations

import numpy as np

from ...algorithms import lifted
from .design import Design, _Unit
from .templates import _real_matrix, _real_rows, _slp_template


def _extended(U: np.ndarray) -> np.ndarray:
    """[U 0; 0 1]: the basis of the lifted (x, 1)."""
    c, r = U.shape
    ext = np.zeros((c + 1, r + 1), complex)
    ext[:c, :r], ext[c, r] = U, 1.0
    return ext


class SLPDesign(Design):
    """SLP-CBF and SLP-CoMP (:class:`~.design.Design`)."""

    level = "slp"
    budget_keys = {"cbf": ("inter", "leak"), "comp": ("comp",)}

    def _level_budgets(self) -> None:
        # SLP budgets bound ICI amplitudes (56): sqrt of the power budget
        self.budget0["inter"] = float(np.sqrt(self.budget0["inter"]))

    def _level_basis(self, basis: np.ndarray, nu: int) -> np.ndarray:
        # SLP constrains x_s linearly, so the dual directions buy nothing; with them (norm ~ sqrt(I_ref) / ||q||,
        # ~0.03 at 40 dB) the lifted entries reach ~1e3 for unit power and Clarabel's objective crept by 1e-4
        # after its gap had reached 1e-9. An orthonormal basis of the same span keeps every entry <= 1.
        return np.linalg.qr(basis)[0]

    def _lifted_rows(self, U: np.ndarray):
        ext = _extended(U)
        return lambda Mx: lifted.matrix_rows(ext, np.pad(Mx, ((0, 0), (0, 1), (0, 1))))

    def _template(self, stage: str):
        c, r = self.units[0].basis.shape
        return _slp_template(self.scheme, self.J, self.K, c, r, self.L, stage, bool(self.delta_n > 0))

    def sinr(self, g):
        return self.gamma_th * g ** 2

    def _fim_weight(self) -> float:
        return 2.0 * self.L * (1.0 / self.L)

    def _polish_sinr_weight(self, tau0: float) -> float:
        return 1.0

    def _ici_amplitude(self, state) -> float:
        """The ICI amplitude budget a user may receive from the other BSs (CBF; none under CoMP)."""
        return state["inter"] if self.scheme == "cbf" else 0.0

    def _ci_rows(self, u: _Unit, vector) -> list[np.ndarray]:
        """Per slot s the constructive-interference rows (52)-(53) of the own users, [+-Im y - tan(psi) Re y] with
        y = vector(j, s)^H x."""
        t = np.tan(self.psi)
        out = []
        for s in range(self.L):
            blocks = []
            for j in range(u.n_own):
                rr = _real_rows(vector(j, s))                                   # [Re y~; Im y~] rows
                blocks.append(np.stack([rr[1] - t * rr[0], -rr[1] - t * rr[0]]))
            out.append(np.concatenate(blocks))
        return out

    def _bind_level(self, p, u: _Unit, rows) -> None:
        U = u.basis
        p["power"].value = np.stack([rows(g[None])[0] for g in u.power])
        g_own = U.conj().T @ u.q
        sym = self.inst.symbols
        for s, ci in enumerate(self._ci_rows(u, lambda j, s: g_own[:, j] * sym[u.users[j][0], u.users[j][1], s])):
            p["ci"][s].value = ci
        if "ci_xmap" in p:
            p["ci_xmap"].value = self.delta_n / np.cos(self.psi) * _real_matrix(U)
        if "ici" in p:
            p["ici"].value = np.concatenate([_real_rows(g_own[:, j]) for j in range(u.n_own, len(u.users))])
            if "ici_xmap" in p:
                p["ici_xmap"].value = self.delta_n * _real_matrix(U)

    def _bind_a_level(self, p, u: _Unit, state) -> None:
        p["ci_c"].value = np.sqrt(self.gamma_th * (1.0 + self._ici_amplitude(state) ** 2)) * np.tan(self.psi)
        if "ici_cap" in p:
            p["ici_cap"].value = state["inter"] / np.sqrt(max(self.J - 1, 1))

    def _bind_b_level(self, p, u: _Unit, state, gamma_star: float) -> None:
        p["ci_const"].value = np.sqrt(gamma_star * (1.0 + state["inter"] ** 2)) * np.tan(self.psi)
        p["ici_unit"].value = self.budget0["inter"] / np.sqrt(max(self.J - 1, 1))

    def _bind_polish_level(self, p, u: _Unit, state) -> None:
        t = np.tan(self.psi)
        amp = self._ici_amplitude(state)
        qn = np.linalg.norm(u.q, axis=0)
        sym = self.inst.symbols
        for s, ci in enumerate(self._ci_rows(
                u, lambda j, s: u.q[:, j] * sym[u.users[j][0], u.users[j][1], s] / qn[j])):
            p["ci"][s].value = ci
        own = np.repeat(1.0 / qn[:u.n_own], 2)
        p["ci_c"].value = np.sqrt(self.gamma_th * (1.0 + amp ** 2)) * t * own
        p["ci_delta"].value = self.delta_n / np.cos(self.psi) * own
        if "ici" in p:
            p["ici"].value = np.concatenate([_real_rows(q / n) for q, n in zip(u.q[:, u.n_own:].T, qn[u.n_own:])])
            p["ici_cap"].value = amp / np.sqrt(max(self.J - 1, 1)) / qn[u.n_own:]
            p["ici_delta"].value = self.delta_n / qn[u.n_own:]

    def levels(self, i: int, X: np.ndarray) -> np.ndarray:
        """Budget levels (relative, ordered as :meth:`b_old`) that unit i's relaxed lifted matrices X use: the
        worst-case ICI amplitude (56) and the leakage (48b); the solution of (P3.B) (see :meth:`BLPDesign.levels`)."""
        u, b0, dn = self.units[i], self.budget0, self.delta_n
        c = u.q.shape[0]
        x = X[:, :c, c]                                                          # (L, c)
        amp = np.abs(x.conj() @ u.q[:, u.n_own:]) + dn * np.linalg.norm(x, axis=1)[:, None]
        R = X[:, :c, :c].mean(axis=0)
        leak = max((np.real(l.conj() @ R @ l) for l in u.leak.T), default=0.0)
        return np.array([amp.max(initial=0.0) * np.sqrt(max(self.J - 1, 1)) / b0["inter"], leak / b0["leak"]])

    def read(self, i: int, var) -> np.ndarray:
        """Relaxed solution of unit i: (L, c + 1, c + 1) lifted matrices."""
        ext = _extended(self.units[i].basis)
        return np.stack([lifted.to_hermitian(z.value, ext) for z in var["z"]])

    def initial_vectors(self, i: int, X: np.ndarray) -> np.ndarray:
        """The relaxation's x_s (L, c)."""
        c = self.units[i].q.shape[0]
        return X[:, :c, c].copy()
