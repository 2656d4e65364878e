"""Robust-precoding paper (seed 001): Babu, "Precoding for Multi-Cell ISAC: from Coordinated Beamforming to
Coordinated Multipoint and Bi-Static Sensing".

J cells, K single-antenna users per cell, BSs with N_tx transmit / N_rx receive half-wavelength ULAs, one target per
cell. Block-level precoding (BLP, (P1) CBF / (P2) CoMP, Algorithm 1) and symbol-level precoding (SLP, (P3) CBF /
(P4) CoMP) minimize the angle CRB of the targets and maximize the worst-case user SINR under spherical CSI errors.

Conventions (array shapes; J cells, K users per cell, N = N_tx, M = N_rx, L frame length):
    theta: (J, J) rad, theta[n, m] = angle at BS n of target m (AoD n -> m; theta[m, m] is also the AoA at BS m)
    v, vdot: (J, J, N) transmit steering v(theta[n, m]) and its derivative;  a, adot: (J, M) receive steering
    alpha: (J, J) complex, alpha[m, n] = amplitude of the path BS n -> target m -> BS m (ICR for n != m)
    h: (J, J, K, N) complex, h[n, m, k] = channel BS n -> user k of cell m; received signal h^H x (project convention,
       the paper writes h^T x)
    CBF precoders w: (J, K, N) (BS m, own user k); CoMP precoders w: (J K, J N) (user j = m K + k, stacked BSs)
    SLP signals x: (J, L, N) for CBF, (L, J N) for CoMP; data d: (J, K, L) unit-modulus M-PSK symbols
Powers are in units of P_t (P_t = 1), noise powers are 10^(-SNR/10); the comm noise is sigma_c^2, the radar sigma_R^2.

Re-derived (the extracted text of (5)-(16), (22)-(23), (49), (52)-(56) is damaged), each tested numerically in
tests/test_robust_precoding.py:
- Echo (5): Y_m = sum_n alpha[m, n] a_m v_nm^T X_n + Z_m, Z_m with i.i.d. CN(0, sigma_R^2) entries.
- FIM (6)-(7): for parameters xi = (theta_mm, Re alpha_mm, Im alpha_mm) and an echo whose L columns are Gaussian with
  mean columns D_i X and covariance C, F_ij = 2 Re tr(dmu_i^H C^-1 dmu_j) = 2 L Re tr(C^-1 E_j R E_i^H) with
  R = X X^H / L and dmu_i = E_i X. Like the paper's (7), only the mean term of the Slepian-Bangs formula is kept
  (C is treated as known). The entries are linear in R, which makes the Schur-complement constraints (19a) LMIs.
- Prop. 1 (CBF): E_theta = alpha_mm (adot v_mm^T + a vdot_mm^T), E_re = a v_mm^T, E_im = j a v_mm^T; the ICR of the
  other BSs is Gaussian interference: C = sigma_R^2 I + sum_{n != m} |alpha[m, n]|^2 (v_nm^T R_n v_nm^*) a a^H
  (11), i.e. it depends on the other BSs only through the power p_nm they radiate towards target m.
- Prop. 2 (CoMP): the ICR is bistatic signal: with X stacked over BSs, E_theta = [alpha[m, n] adot v_nm^T]_n +
  alpha_mm a [0 .. vdot_mm^T .. 0], E_re = a [0 .. v_mm^T .. 0], E_im = j E_re, C = sigma_R^2 I, and R is the joint
  covariance (cross-covariances between BSs included, since data are shared).
- Echo SNR: |alpha_mm|^2 L P_t / sigma_R^2 = echo_snr (Sec. VI: 1); |alpha[m, n]|^2 = icr_gain |alpha_mm|^2.
- Prop. 3: with h = h^ + e, ||e|| <= delta and any PSD W:
  max_e h^H W h <= h^^H W h^ + 2 delta ||W h^|| + delta^2 tr W  (23; equality for rank-one W),
  min_e h^H W h >= h^^H W h^ - 2 delta ||W h^||  (the extracted (22) "min = tr(Q W)" is not a lower bound: the nominal
  value exceeds the worst case). For rank-one W = w w^H the exact worst cases are (|h^^H w| -+ delta ||w||)^2
  (minimum clipped at 0); these are what the NumPy verification uses on the recovered beamformers.
  CoMP (39)-(40): the stacked error has ||e_k||^2 <= J delta^2, so delta -> sqrt(J) delta.
- SLP constructive interference (46)-(61): with y~ = h^H x d^* (rotated noiseless signal) and psi = pi / M, the
  symbol lies in the CI region with margin c iff |Im y~| <= (Re y~ - c) tan(psi). Robustly, the error moves y~
  inside a disc of radius delta ||x||, so the constraint becomes
  +-Im y^~ - Re y^~ tan(psi) + c tan(psi) + delta ||x|| / cos(psi) <= 0  (52)-(53), (60)-(61)
  (the paper's ||x_bar -+ x_tilde tan psi|| equals ||x|| / cos psi). The effective SINR of a symbol is
  (Re y~ - |Im y~| cot psi)_+^2 / (sigma_c^2 + ICI) with ICI = sum_{n != m} |h_n^H x_n|^2 for CBF (0 for CoMP).
- Algorithm 1: the (P1.B)/(P3.B) budget objective is the sum of the budgets normalized by their initial values; the
  budgets never increase from one iteration to the next; each BS's SINR constraint in (P1.B) uses the ICI budget its
  users receive from the other BSs (fixed in that step), and the CBF FIM uses C evaluated at the leakage budget
  P_leak (C grows with p_nm, so F shrinks: the resulting CRB is an upper bound on the true one). Stage B keeps stage
  A's CRB and SINR exactly, so its feasible set is stage A's optimal face and it is solved in closed form: the budgets
  become the levels stage A's solution uses (:meth:`Design.levels`, floored at BUDGET_FLOOR). Stage A's solution is then
  feasible for the next stage A, which makes the AO objective non-decreasing without slack (see
  :mod:`isacopt.algorithms.ao`); the SDP form (:meth:`Design.bind_b`) is kept as a test of the closed form.
- SDR recovery: the AO works on the relaxation (rank-free W, R_s >= x_s x_s^H); beamformers are recovered by the
  constructive rank-one map w = W h^ / sqrt(h^^H W h^) (SLP: x_s from the relaxation) and polished by successive
  convex approximation (SCA) in vector form: F(w) = sum G(w)^T G(w) is matrix-convex in w, so its linearization is a
  lower bound and every SCA iterate is feasible for the unrelaxed problem with a CRB no larger than its bound.
"""
from __future__ import annotations

# one concern per file: scenario + instance, physics (FIM, CRB, Prop. 3), templates (DPP), design (what every design
# shares, Algorithm 1 stages), blp / slp (the two levels' liftings), pipeline (solve, verification, the direct reference formulation, the registration)
from .scenario import (Instance, METHODS, METHOD_HELP, PATTERN_GRID, PROBLEM, RobustPrecodingScenario, SCHEMES,
                       draw_instance)
from .physics import (cbf_sinr, cbf_sinr_bound, ci_margin, comp_sinr, comp_sinr_bound, crb_angle, echo_mean, fim,
                      fim_decoupling, fim_forms, jacobians, leakage, per_bs_covariance, radar_covariance,
                      sample_errors, sensing_metrics, slp_cbf_sinr, slp_cbf_sinr_bound, slp_comp_sinr,
                      slp_comp_sinr_bound, worst_gain_rank_one, worst_interference_bound, worst_signal_bound)
from .templates import (_UPPER, _blp_masks, _blp_template, _diag_selector, _embedded, _lmi, _polish_template,
                        _real_matrix, _real_rows, _slp_selectors, _slp_template, _span, norm_map)
from .design import (BUDGET_FLOOR, CLARABEL, Design, F_CAP, LEVEL_MARGIN, POLISH_TOL, RELAX, _StageA, _StageB, _Unit)
from .blp import BLPDesign
from .slp import SLPDesign
from .pipeline import (assess, direct_stage, single_cell_instance, solve, solve_single_cell)
