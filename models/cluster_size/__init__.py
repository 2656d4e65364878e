"""Cluster-size paper (seed 004): Meng, Masouros, "Networked ISAC Coordinated Beamforming and Cooperative BS Cluster
Optimization".

BSs form a PPP of density lambda_b (per km^2, distances in km). Each BS has M_t transmit / M_r receive antennas, serves
K users by zero-forcing and senses J targets with the same signals; the L (Q) nearest BSs of a user (of the sensing
BS) null their communication (sensing) interference, which costs KL + J(Q-1) - 1 spatial dimensions, so the desired
ZF gain of the typical user is Gamma(D, 1) with D = M_t - KL - J(Q-1) + 1 (D >= 2 is (16a)). Rates are in nats/s/Hz
(the Hamdi-lemma integrals below give E[ln(1 + SIR)]); ASEs in nats/s/Hz/km^2.

Analytic ASE (Sec. III), each by a fixed quadrature with stated accuracy, cached as tables per physics:
- communication rate R_c (Theorem 1, eq. (8)/(22)), MISR gain G_L, Y = G_L D / K;
- sensing rate R_s for Q = 1 (Proposition 2, eqs. (10)-(13)) and for Q >= 2 (Theorem 2, eqs. (14)/(24));
- ASEs T_c = lambda K R_c (3), T_s = lambda J R_s (6), T = rho T_c + (1 - rho) T_s (15).

Re-derived here because the extracted text is garbled (the Monte Carlo simulator :func:`simulate` settles each one;
see tests/test_cluster_size.py):
- F(z, alpha): Theorem 1 writes (e^{-z} - 1) + z^{2/a} Gamma(1 - 2/a, z), Appendix A e^{-z} + z^{2/a} Gamma(1-2/a, z).
  Integrating (21) by parts gives E[e^{-z I_C} | r] = exp(-pi lambda r^2 (e^{-z} - 1 + z^{2/a} gamma(1 - 2/a, z)))
  with the LOWER incomplete gamma, and averaging over f_r gives 1/F with F = e^{-z} + z^{2/a} gamma(1 - 2/a, z) > 0,
  i.e. Appendix A's form with lower-incomplete gamma (Theorem 1's form is F - 1 and would make (8) diverge).
- Prop. 2 and Theorem 2 swap alpha and beta relative to the SIR (5) (signal R^{-2 beta}, interference x^{-alpha}):
  with the paper's alpha = 4, beta = 2 the printed exponents 2/beta = 1 make Gamma(1 - 2/beta) infinite. Re-derived
  from (5): with s = z R^{2 beta} x_0^{-alpha},
  Q = 1:  L(z | R) = exp(-pi lambda R^2 [K B(1 - 2/a, K + 2/a) s^{2/a} - (2/pi) H_K(s)]), x_0 = R, s = z R^{2b - a},
          H_K(s) = int_0^2 arccos(t/2) (1 - (1 + s t^{-a})^{-K}) t dt   (the hole upper limit is 2, not "2/pi";
          (12) also drops the factor 2/pi of the hole term that (11) has);
  Q >= 2: L(z | R, r_Q) = exp(-pi lambda r_Q^2 Phi_K(s)), x_0 = r_Q,
          Phi_K(s) = (1 + s)^{-K} - 1 + K s^{2/a} B(s / (1 + s); 1 - 2/a, K + 2/a)   (eq. (24), incomplete beta),
  where r_Q, the distance from the sensing BS to the last BS of its cluster, is the (Q-1)-th neighbour distance of a
  PPP (pdf 2 (pi lambda)^n r^{2n-1} e^{-pi lambda r^2} / Gamma(n), n = Q - 1), independent of R (Theorem 2's
  approximation: the interference hole around the target is ignored, Appendix C). (14) prints T_s but is R_s.
- (19a) writes "T_s^ASE >= T_c^th": the threshold is the sensing-ASE threshold T_s^th.
"""
from __future__ import annotations

from .scenario import CI_Z, ClusterSizeScenario, PROBLEM, QUAD_RTOL, STEP
from .rates import (_beta_complete, _comm_grid, _gain_term, _hole_nodes, _inv_f_minus_asymptote, _sigma_range,
                    cluster_exponent, comm_argument, comm_rate, comm_rate_quad, hole_exponent, hole_integral,
                    interference_laplace, misr_gain, sensing_rate_q1, sensing_rates_cluster)
from .monte_carlo import MonteCarlo, _mean_ci, _nearest_bs, simulate, simulate_comm, simulate_sensing
from .tables import AseTables, _compute_tables, _table_file, _tables, build_tables, cache_dir
from .programs import (ClusterChoice, _comm_max_prop3, best_comm_cluster, best_comm_tables, build_milp,
                       feasible_tuples, objective_values, read_milp, solve_exhaustive, solve_milp, solve_search)
from .pipeline import METHODS, assess, recompute_rates, solve, solve_fixed
