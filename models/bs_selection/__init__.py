"""BS-selection paper (seed 002): Xu, Xu, Xie, Song, "Joint BS Selection, User Association, and Beamforming Design
for Network ISAC".

S BSs (N-antenna ULAs facing the centre of the service disc) and K single-antenna CUs. One BS is the receiving BS
(b_s = 0, C5); the others transmit information beams w_{s,k} to the CUs they serve (a_{s,k} = 1, C4, C6) and a
sensing signal with covariance R_s. The receiving BS s locates the target from the bistatic echoes (6); the CRLB of
the position p is (7) with the FIM blocks of Prop. 1 / Appendix (26)-(39). Problem (8) minimizes the total transmit
power subject to per-BS power C1, CRLB <= epsilon C2 and SINR >= Gamma C3.

Array shapes (S BSs, K CUs, N antennas, m = 2S the FIM size (2 position + 2(S-1) gain parameters)):
    h: (S, K, N) complex, h[s, k] the channel BS s -> CU k (received signal h^H w), sqrt(W)
    w: (S, K, N) complex beamformers (sqrt(W)), zero where a[s, k] = 0;  R: (S, N, N) complex Hermitian (W)
    b: (S,) 0/1 (0 = receiving BS);  a: (S, K) 0/1;  alpha: (S, S) complex, alpha[s, s'] for s' -> target -> s
    Q: (S, N, N) transmit covariances Q_s = sum_k a_{s,k} w w^H + b_s R_s   (2)

Garbled or unstated in the extracted text, re-derived or chosen here (also stated in the scenario files):
- (34)-(39): re-derived from (28) and (32) with X X^H = L Q (independent transmitters, cross terms between
  different transmitters dropped as in (34)); the D columns of (35) pair Re(alpha) with [1] and Im(alpha) with [j];
- the delay term X-dot = -tau-dot X of (30) is kept as written (tau in seconds). It lies in the span of the
  derivatives w.r.t. the gains alpha_{s,s'}, so it cancels in the Schur complement (7): the CRLB does not depend on
  it (tested);
- the CU and target reference path losses and the RCS are not given: scenario parameters (marked "chosen");
- C2c (12) multiplies FIM blocks by (1 - b_s); for a mixed-integer model it is linearized per candidate receiver by
  a perspective, exact for binary b (see :func:`mixed_integer_model`);
- (18)-(21): the auxiliary W_{s,k} appears nowhere else, so (19)-(20) hold with W = W-tilde; (18) is implied by
  the valid bound tr(W-tilde_{s,k}) <= a_{s,k} P (C1 gives it), which the model uses instead (tighter).
"""
from __future__ import annotations

from .scenario import (AO_STARTS, BSSelectionInstance, BSSelectionScenario, PROBLEM, SPEED_OF_LIGHT,
                       _uniform_in_disc, draw_instance)
from .metrics import _g_tilde, bs_power, crlb, echo_mean, fim, sinr, transmit_covariances
from .sdp import (Choice, InnerProblem, InnerSolution, ScaledData, _inner_template,
                  _sensing_constraints, _vec, all_choices)
from .verification import OBJECTIVE_NAME, assess, make_result
from .mixed_integer import BIGM_SLACK, MixedIntegerModel, _mi_template, mixed_integer_model
from .exact import InnerEvaluator, _Rounding, _finite_w, run_bnb, run_enumeration, time_now
from .ao import PenaltyAO, _b_template, _w_template, fractionality, round_choice, run_ao
from .oa import discrete_layer, run_oa
from .schemes import nearest_receiver, scheme1, scheme1_bnb, scheme2, scheme3, scheme3_bnb
from .registration import METHODS, METHOD_HELP, _method
