"""BS selection: the exact methods - enumeration of every choice, and branch-and-bound on (13)."""
from __future__ import annotations

import numpy as np

from ...algorithms import backends, limits
from ...algorithms.result import Result, Status, Termination
from .scenario import BSSelectionInstance
from .sdp import Choice, InnerProblem, ScaledData, all_choices
from .verification import make_result
from .mixed_integer import MixedIntegerModel


# ================================================================================================ methods
class InnerEvaluator:
    """Picklable ``choice -> Evaluation`` for :func:`~isacopt.algorithms.enumeration.enumerate_choices`: the inner
    SDP (23) with objective in W and the :class:`InnerSolution` as payload."""

    def __init__(self, inst: BSSelectionInstance, sensing_tx=None, solver: str | None = None):
        self.inner = InnerProblem(inst, sensing_tx, solver)

    def __call__(self, choice: Choice):
        from ...algorithms.enumeration import Evaluation
        before = self.inner.sdp_solves
        sol = self.inner.solve(choice)
        return Evaluation(sol.status, sol.power_w, sol, self.inner.sdp_solves - before)


def run_enumeration(inst: BSSelectionInstance, solver: str | None = None, *, workers: int | None = None,
                    receivers=None, transmitters=None, sensing_tx=None, method: str = "enumeration") -> Result:
    """Ground truth: the inner SDP for every (receiving BS, association), S (S-1)^K of them, in a process pool."""
    from ...algorithms.enumeration import enumerate_choices
    start = time_now()
    S, K, _ = inst.shape
    choices = all_choices(S, K, receivers, transmitters)
    out = enumerate_choices(choices, InnerEvaluator(inst, sensing_tx, solver), workers=workers)
    notes = [f"{out.evaluations} choices evaluated on {out.workers} process(es)"]
    if out.failed:
        notes.append(f"{len(out.failed)} inner SDPs unresolved (e.g. {out.failed[0][0].describe()}: "
                     f"{out.failed[0][1].value}): no optimality claim")
    extra = dict(sdp_solves=out.sdp_solves)
    if out.skipped:
        notes.append(f"{out.skipped} of {len(choices)} choices not evaluated ({out.termination.value.replace('_', ' ')}): "
                     "the best one found so far, no optimality claim")
    if out.status == Status.OPTIMAL or (out.skipped and out.payload is not None):
        ties = out.ties(1e-6)
        if len(ties) > 1:
            notes.append(f"{len(ties)} choices within 1e-6 of the optimum")
        return make_result(inst, method, out.payload, proven=not out.failed and not out.skipped, notes=notes,
                           termination=out.termination, time_s=time_now() - start, **extra)
    return make_result(inst, method, None, status=out.status, notes=notes, termination=out.termination,
                       time_s=time_now() - start, **extra)


class _Rounding:
    """Incumbent callback for branch-and-bound: round a relaxed node (receiver = largest c_s, each CU to the
    transmitting BS carrying the largest share of its desired signal) and solve the inner SDP (cached by choice)."""

    def __init__(self, model: MixedIntegerModel, inner: InnerProblem):
        self.model, self.inner, self.cache = model, inner, {}

    def __call__(self, values: dict):
        m = self.model
        choice = m.choice_from(values[m.vars["receiver"]], values[m.vars["association"]], m.desired_shares(values))
        if choice not in self.cache:
            self.cache[choice] = self.inner.solve(choice)
        sol = self.cache[choice]
        if sol.status != Status.OPTIMAL or sol.power_w is None:
            return None
        return sol.power_w / m.data.P, sol


def run_bnb(inst: BSSelectionInstance, solver: str | None = None, *, receivers=None, sensing_tx=None,
            time_limit_s: float | None = None, node_limit: int | None = None, rel_gap: float = 1e-5,
            method: str = "bnb", restriction: str | None = None) -> Result:
    """Exact branch-and-bound on (13) with :func:`~isacopt.algorithms.branch_and_bound.solve`.

    Branching priority: the receiving-BS set C5 first. The generic solver picks the most fractional set, which
    is usually an association set (a fractional receiver leaves the CRLB constraint weak: CRLB^(s) <= eps / c_s),
    so this driver makes the C5 branch itself: it solves the relaxation of (13) with the receiver fixed for every
    candidate s (S SDPs), visits the receivers in order of these bounds, skips those whose bound is not below the
    incumbent (within ``rel_gap``) or whose relaxation is infeasible, and runs branch-and-bound over the
    association sets C4 for the others (incumbents by rounding + the inner SDP (23)). The certificate combines the
    per-receiver bounds: lower bound = min over receivers of (skipped: its root bound; searched: its final lower
    bound). ``sdp_solves`` counts every conic solve: receiver roots, node relaxations and inner SDPs.
    ``rel_gap`` 1e-5: node bounds carry the BIGM_SLACK relaxation (1e-7 P per beam), which on instances with a
    small optimum (0.1 W = 3e-3 P) is worth a few 1e-6 relative. ``restriction``: a benchmark scheme's restricted
    problem (``receivers`` / ``sensing_tx`` fixed), said in the notes; its optimum proves nothing for (8), so the
    result is ``feasible`` and its bounds are those of the restricted problem (in ``metrics``).
    """
    from ...algorithms import branch_and_bound
    start = time_now()
    S = inst.shape[0]
    data = ScaledData(inst)
    inner = InnerProblem(inst, sensing_tx, solver)
    inner._data = data
    receivers = list(range(S)) if receivers is None else list(receivers)
    roots, root_solves, sdp, nodes, notes = {}, [0], 0, 0, []
    models = {}
    best = dict(value=np.inf, sol=None)
    lower = {}
    status_bad = interrupted = False
    try:                                    # Ctrl-C: the best so far, receivers not reached keep an unknown bound
        _roots(inst, solver, sensing_tx, data, receivers, roots, models, notes, root_solves)
        for s in sorted(receivers, key=lambda u: roots[u]):
            cutoff = best["value"] - rel_gap * abs(best["value"]) if np.isfinite(best["value"]) else np.inf
            if roots[s] >= cutoff:
                lower[s] = roots[s]
                continue
            model, relax = models[s]
            rounding = _Rounding(model, inner)
            remaining = None if time_limit_s is None else max(time_limit_s - (time_now() - start), 1e-3)
            out = branch_and_bound.solve(model.problem, groups=model.groups[1:], incumbent=rounding, solver=solver,
                                         time_limit_s=remaining, node_limit=node_limit, rel_gap=rel_gap,
                                         relaxation=relax,
                                         progress=f"branch-and-bound (receiver BS{s + 1}, W / {data.P:.4g})")
            sdp += out.sdp_solves
            nodes += out.nodes
            notes += [f"receiver BS{s + 1}: {n}" for n in out.notes]
            lower[s] = out.lower_bound if out.status != Status.INFEASIBLE else np.inf
            if out.status not in (Status.OPTIMAL, Status.INFEASIBLE):
                status_bad = True
            if out.status.has_solution and out.upper_bound < best["value"]:
                sol = out.payload
                if sol is None:
                    v = out.values
                    sol = inner.solve(model.choice_from(v[model.vars["receiver"]], v[model.vars["association"]]))
                best.update(value=out.upper_bound, sol=sol)
            if out.termination is Termination.INTERRUPTED:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        status_bad = interrupted = True
        for s in receivers:
            lower.setdefault(s, roots.get(s, -np.inf))
        notes.append("stopped by an interrupt (Ctrl-C)")
    P = data.P
    sdp += root_solves[0] + inner.sdp_solves
    ub = best["value"]
    lb = min([ub] + list(lower.values()))
    gap = (ub - lb) / max(abs(ub), 1e-10) if np.isfinite(ub) else None
    proven = bool(np.isfinite(ub) and gap <= rel_gap and not status_bad)
    status = Status.INFEASIBLE if not status_bad and all(np.isinf(v) and v > 0 for v in lower.values()) \
        else Status.NO_SOLUTION
    termination = Termination.CONVERGED if not status_bad else Termination.INTERRUPTED if interrupted else (
        Termination.TIME_LIMIT if limits.expired() or (time_limit_s is not None and time_now() - start >= time_limit_s)
        else
        Termination.NODE_LIMIT if node_limit is not None else Termination.SOLVER_FAILURE)
    notes.append("receiver root bounds (W): " + ", ".join(
        f"BS{s + 1} {_root_note(roots.get(s), P)}" for s in receivers))
    notes.append(f"{sdp} SDP solves: {len(roots)} receiver roots, {sdp - len(roots) - inner.sdp_solves} "
                 f"node relaxations, {inner.sdp_solves} inner SDPs (rounding)")
    cert = dict(nodes=nodes + len(roots), sdp_solves=sdp, lower_bound=_finite_w(lb, P),
                upper_bound=_finite_w(ub, P), gap=gap)
    if restriction is not None:          # the restricted problem's certificate is not one for (8)
        notes.insert(0, f"{restriction}: the restricted problem was solved to "
                        f"{'optimality' if proven else 'a feasible point'} (bounds in the metrics)")
        result = make_result(inst, method, best["sol"], status=status, proven=False, termination=termination,
                             notes=notes, time_s=time_now() - start, nodes=cert["nodes"], sdp_solves=sdp)
        return result.replace(metrics=dict(result.metrics, restricted_lower_bound_w=cert["lower_bound"],
                                           restricted_gap=gap))
    return make_result(inst, method, best["sol"], status=status, proven=proven, bound_w=cert["lower_bound"],
                       termination=termination, notes=notes, time_s=time_now() - start, **cert)


def _roots(inst, solver, sensing_tx, data, receivers, roots, models, notes, solves) -> None:
    """The relaxation of (13) with the receiver fixed, for every candidate receiver: fills ``roots`` (its bound,
    +inf when infeasible, -inf when unresolved), ``models`` and ``notes``, counts conic solves in ``solves[0]``."""
    from ...algorithms import branch_and_bound
    from ...algorithms.progress import Progress
    with Progress("branch-and-bound roots", len(receivers), unit="receivers") as bar:
        for s in receivers:
            model = MixedIntegerModel(inst, receiver=s, sensing_tx=sensing_tx, data=data)
            relax = branch_and_bound.Relaxation(model.problem)
            outcome, value, _, values = relax.solve(relax.lo0, relax.hi0, solver)
            solves[0] += 1
            models[s] = (model, relax)
            if outcome.status == Status.INFEASIBLE:
                roots[s] = np.inf
            elif value is None:                             # nearly infeasible? decide by phase 1 (well posed)
                p1 = MixedIntegerModel(inst, integer=False, receiver=s, sensing_tx=sensing_tx, data=data,
                                       phase1=True)
                o1 = backends.solve_conic(p1.problem, solver)
                solves[0] += 1
                lam = p1.vars["lam"].value if o1.status == Status.OPTIMAL else None
                if lam is not None and lam > 1 + InnerProblem.PHASE1_MARGIN:
                    roots[s] = np.inf
                    notes.append(f"receiver BS{s + 1}: relaxation infeasible by phase 1 (needs {lam:.6g} x P)")
                else:
                    roots[s] = -np.inf                      # unresolved: must be searched
                    notes.append(f"root relaxation of receiver BS{s + 1}: {outcome.status.value}; phase 1 {lam}")
            else:
                roots[s] = value
            bar.update(len(roots), lambda: f"lowest bound {min(roots.values()) * data.P:.6g} W")


def _root_note(root, P) -> str:
    return "not solved" if root is None else "infeasible" if root == np.inf else "unresolved" if root == -np.inf \
        else f"{root * P:.6g}"


def _finite_w(x, P):
    return float(x) * P if x is not None and np.isfinite(x) else None


def time_now() -> float:
    import time
    return time.perf_counter()
