"""Localization paper (seed 000): Xia, Xu, Xu, He, Yang, Ng, "Multi-Cell Coordinated Beamforming for Integrated
Communication and Multi-TMT Localization" (2025).

M BSs (N_t-antenna ULAs) serve K single-antenna CUs each with beamformers f_{m,k}; the same signals illuminate a
target whose echoes N single-antenna target monitoring terminals (TMTs) collect. The target position (x, y) is
estimated from the M N time-of-arrival (TOA) delays tau_{m,n} (9). Lemma 1 gives the CRLB in closed form (10)-(13):
C = tr((Lambda Z Lambda^T)^{-1}), Z = diag(J(tau_{m,n})) with J linear in the beam gain a^T(theta_m) R_m a^*(theta_m),
R_m = sum_k f_{m,k} f_{m,k}^H. Problem (18) minimizes C subject to per-BS power (4) and per-CU SINR (6); the SDR (21)
lifts F_{m,k} = f f^H and writes tr(FIM^{-1}) with the Schur-complement LMIs (21d); Theorem 1 says its optimum is
rank one when a^*(theta_m) is outside the span of BS m's CU channels (almost surely when N_t > M K).

Array shapes (M BSs, K CUs per BS, N = N_t antennas, T = number of TMTs):
    h: (M, M, K, N) complex, h[i, m, k] the channel from BS i to CU k of cell m (received signal h^H f), sqrt(W)/sqrt(W)
    f: (M, K, N) complex beamformers (sqrt(W));  F: (M, K, N, N) complex Hermitian lifted beamformers (W)
    steering: (M, N) complex a(theta_m);  delays: (M, T) s;  jacobian Lambda: (2, M T), columns (m, n) m-major
    kappa: (M, T) in s^-2 / W, so that J(tau_{m,n}) = kappa[m, n] * beam_gain[m]

Garbled, unstated or re-derived here (also stated in the scenario file and the README):
- (21b) is printed as "(21)" followed by "b)"; its content (per-BS trace <= P) is unambiguous;
- T_s is not given: the scenario field ``symbol_duration_ns`` defaults to 1/beta = 10 ns (Nyquist-rate symbols);
- the CU channel model is not given: Rayleigh fading (default) or LoS, path gain kappa (d/1 m)^-nu with free-space
  values at 24 GHz (kappa = (lambda / 4 pi)^2 = -60.05 dB, nu = 2);
- CU placement "at random in the 200 x 400 m^2 area": uniform in the area (centred on the target), each CU served by
  its nearest BS (each BS's cell is its Voronoi region), at least ``user_min_distance_m`` from every BS;
- array orientation: every ULA's broadside points at azimuth 180 deg, which puts the target at theta = +60 deg from
  BS 1 as in Fig. 4 (and at -60 deg from BS 2);
- the RCS zeta_{m,n} ~ N(0, 1) is drawn real, as stated; |epsilon_{m,n}|^2 = F_{m,n} zeta_{m,n}^2;
- benchmarks (Sec. IV-A, details not given): radar-only = (21) without the SINR constraints; ZF = beams nulling every
  other CU (needs N_t >= M K) with CRLB-optimal powers; beampattern approximation (Liu et al., TSP 2020) = least
  squares match of each BS's pattern a^T R_m a^* to alpha_m d_m(theta) on a 1-deg grid over [-90, 90] deg, with
  d_m(theta) = 1 within +-``pattern_width_deg``/2 of theta_m and 0 elsewhere, under the same SINR constraints and
  Liu et al.'s per-antenna power diag(R_m) = P/N_t (no dedicated radar signal exists in this system, so R_m is the
  sum of the information beams; the cross-correlation term of Liu et al. vanishes with one target per BS).
"""
from __future__ import annotations

from .scenario import C_LIGHT, LocalizationScenario, PROBLEM, _S3
from .instance import (LocalizationInstance, _diagonal_units, _place_users, balance_powers, beam_gain, beampattern,
                       bs_power, crlb, crlb_of_fisher, delay_fisher, desired_pattern, draw_instance, fisher_weight,
                       lag_matrices, lag_to_pattern, pattern_angles, pattern_error, pattern_fit, position_fisher,
                       sinr, target_channel_gain, toa_delays, toa_jacobian, zf_directions)
from .relaxation import (LocalizationModel, METHODS, METHOD_HELP, RANK_ONE_RATIO, _fim_lmis, _lifted_template,
                         _power_template, direct_problem)
from .registration import _run
