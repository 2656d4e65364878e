"""Mixed-integer SDPs from CBF files (Conic Benchmark Format, CBLIB, versions 1-3) for the branch-and-bound.

The CBF model (0-based indices, symmetric matrices given by their lower triangle):

    min/max   sum_j <F^obj_j, X_j> + c^T x + b^obj
    s.t.      g_i = sum_j <F_ij, X_j> + sum_j a_ij x_j + b_i   in the cones of CON (F, L+, L-, L=, Q, QR)
              G_k = sum_j x_j H_kj + D_k  PSD                    (PSDCON)
              x in the cones of VAR, X_j PSD (PSDVAR), x_j integer for j in INT.

``read_cbf`` parses a file into :class:`CBFData` (plain NumPy/SciPy, no cvxpy); ``build_problem`` turns it into a
cvxpy problem with ``boolean=True`` integers where single-variable rows bound them to [0, 1] and ``integer=True``
(with cvxpy ``bounds``) otherwise; ``check_solution`` re-checks a solution against the ORIGINAL data with NumPy
only (integrality, every cone row, PSD-ness by eigenvalues, the objective). ``PSDVARRANK1`` (a SCIP-SDP extension:
a rank-one PSD variable) is not convex: the solver drops it and ``check_solution`` verifies rank one at the end
(if the relaxed optimum is rank one, it is optimal for the rank-constrained problem too).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from ..algorithms import verify
from ..data.schema import spec, validate
from ..errors import ScenarioError

PROBLEM = "misdp"
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "data" / "misdp"
SCALAR_CONES = ("F", "L+", "L-", "L=", "Q", "QR")
INT_TOL = 1e-6


class CBFError(ScenarioError):
    """A malformed or unsupported CBF file (one line: file, keyword, what is wrong)."""


# ================================================================================================ data
@dataclass
class CBFData:
    """A CBF instance. Sparse blocks: ``a``: (m, n) csr; ``f[j]``: (m, d_j^2) csr acting on vec(X_j) (row-major,
    both triangles filled); ``h[k]``: (d_k^2, n) csr giving vec(G_k - D_k); ``d[k]``: (d_k, d_k) dense."""

    name: str
    version: int
    sense: str                                     # "min" | "max"
    n: int                                         # scalar variables
    var_cones: list[tuple[str, int]]
    integers: np.ndarray                           # (p,) int indices
    psd_dims: list[int]
    psd_rank1: list[int]
    m: int
    con_cones: list[tuple[str, int]]
    psdcon_dims: list[int]
    obj_c: np.ndarray                              # (n,)
    obj_f: list[np.ndarray]                        # (d_j, d_j) symmetric
    obj_b: float
    a: sp.csr_matrix
    f: list[sp.csr_matrix]
    b: np.ndarray                                  # (m,)
    h: list[sp.csr_matrix]
    d: list[np.ndarray]
    int_lower: np.ndarray = field(default_factory=lambda: np.zeros(0))   # bounds of x implied by single rows
    int_upper: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _sym_entries(r: int, c: int, v: float, dim: int):
    """(flat index, value) pairs of a lower-triangle entry filled symmetrically (row-major vec)."""
    return [(r * dim + c, v)] if r == c else [(r * dim + c, v), (c * dim + r, v)]


def read_cbf(path: str | Path) -> CBFData:
    """Parse a CBF file (versions 1-3; the cones and keywords of mixed-integer SDPs)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CBFError(f"cannot read CBF file '{path}': {exc.strerror}") from None
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    pos = 0

    def fail(what: str):
        raise CBFError(f"CBF file '{path.name}': {what}")

    def nxt() -> list[str]:
        nonlocal pos
        if pos >= len(lines):
            fail("unexpected end of file")
        pos += 1
        return lines[pos - 1].split()

    def ints(tok, k=None):
        try:
            vals = [int(t) for t in tok]
        except ValueError:
            fail(f"expected integers, got '{' '.join(tok)}'")
        if k is not None and len(vals) != k:
            fail(f"expected {k} integers, got '{' '.join(tok)}'")
        return vals

    def cones(count_total: int, k: int, what: str):
        out, total = [], 0
        for _ in range(k):
            tok = nxt()
            if len(tok) != 2:
                fail(f"{what}: bad cone line '{' '.join(tok)}'")
            name, dim = tok[0], ints(tok[1:], 1)[0]
            if name not in SCALAR_CONES:
                fail(f"{what}: cone '{name}' is not supported (supported: {', '.join(SCALAR_CONES)})")
            out.append((name, dim))
            total += dim
        if total != count_total:
            fail(f"{what}: cone dimensions sum to {total}, expected {count_total}")
        return out

    version, sense = None, "min"
    n, var_cones, integers, psd_dims, psd_rank1 = 0, [], [], [], []
    m, con_cones, psdcon_dims = 0, [], []
    objf, obja, objb = [], [], 0.0
    fco, aco, bco, hco, dco = [], [], [], [], []
    while pos < len(lines):
        key = nxt()[0]
        if key == "VER":
            version = ints(nxt(), 1)[0]
            if version not in (1, 2, 3):
                fail(f"version {version} is not supported (1-3)")
        elif key == "OBJSENSE":
            word = nxt()[0].upper()
            if word not in ("MIN", "MAX"):
                fail(f"OBJSENSE '{word}' (expected MIN or MAX)")
            sense = word.lower()
        elif key == "VAR":
            n, k = ints(nxt(), 2)
            var_cones = cones(n, k, "VAR")
        elif key == "INT":
            integers = [ints(nxt(), 1)[0] for _ in range(ints(nxt(), 1)[0])]
        elif key == "PSDVAR":
            psd_dims = [ints(nxt(), 1)[0] for _ in range(ints(nxt(), 1)[0])]
        elif key == "PSDVARRANK1":
            psd_rank1 = [ints(nxt(), 1)[0] for _ in range(ints(nxt(), 1)[0])]
        elif key == "CON":
            m, k = ints(nxt(), 2)
            con_cones = cones(m, k, "CON")
        elif key == "PSDCON":
            psdcon_dims = [ints(nxt(), 1)[0] for _ in range(ints(nxt(), 1)[0])]
        elif key in ("OBJFCOORD", "OBJACOORD", "OBJBCOORD", "FCOORD", "ACOORD", "BCOORD", "HCOORD", "DCOORD"):
            if key == "OBJBCOORD":
                objb = float(nxt()[0])
                continue
            width = {"OBJFCOORD": 4, "OBJACOORD": 2, "FCOORD": 5, "ACOORD": 3, "BCOORD": 2, "HCOORD": 5,
                     "DCOORD": 4}[key]
            count = ints(nxt(), 1)[0]
            rows = []
            for _ in range(count):
                tok = nxt()
                if len(tok) != width:
                    fail(f"{key}: expected {width} fields, got '{' '.join(tok)}'")
                try:
                    rows.append((*(int(t) for t in tok[:-1]), float(tok[-1])))
                except ValueError:
                    fail(f"{key}: malformed entry '{' '.join(tok)}'")
            {"OBJFCOORD": objf, "OBJACOORD": obja, "FCOORD": fco, "ACOORD": aco, "BCOORD": bco,
             "HCOORD": hco, "DCOORD": dco}[key].extend(rows)
        else:
            fail(f"keyword '{key}' is not supported (power/exponential cones and parametric CHANGE blocks are not)")
    if version is None:
        fail("missing VER")

    def check(idx, hi, what):
        if not 0 <= idx < hi:
            fail(f"{what} index {idx} out of range 0..{hi - 1}")

    c = np.zeros(n)
    for j, v in obja:
        check(j, n, "OBJACOORD variable")
        c[j] += v
    obj_f = [np.zeros((d, d)) for d in psd_dims]
    for j, r, cc, v in objf:
        check(j, len(psd_dims), "OBJFCOORD PSD variable")
        for flat, val in _sym_entries(r, cc, v, psd_dims[j]):
            obj_f[j].flat[flat] += val
    a_rows = [(i, j, v) for i, j, v in aco]
    for i, j, _ in a_rows:
        check(i, m, "ACOORD row"); check(j, n, "ACOORD variable")
    a = sp.csr_matrix(([v for *_, v in a_rows], ([i for i, *_ in a_rows], [j for _, j, _ in a_rows])), shape=(m, n))
    f = []
    for j, dim in enumerate(psd_dims):
        ri, ci, vv = [], [], []
        for i, jj, r, cc, v in fco:
            if jj != j:
                continue
            check(i, m, "FCOORD row")
            for flat, val in _sym_entries(r, cc, v, dim):
                ri.append(i); ci.append(flat); vv.append(val)
        f.append(sp.csr_matrix((vv, (ri, ci)), shape=(m, dim * dim)))
    for i, jj, *_ in fco:
        check(jj, len(psd_dims), "FCOORD PSD variable")
    b = np.zeros(m)
    for i, v in bco:
        check(i, m, "BCOORD row")
        b[i] += v
    h, d = [], []
    for k, dim in enumerate(psdcon_dims):
        ri, ci, vv = [], [], []
        for kk, j, r, cc, v in hco:
            if kk != k:
                continue
            check(j, n, "HCOORD variable")
            for flat, val in _sym_entries(r, cc, v, dim):
                ri.append(flat); ci.append(j); vv.append(val)
        h.append(sp.csr_matrix((vv, (ri, ci)), shape=(dim * dim, n)))
        dk = np.zeros((dim, dim))
        for kk, r, cc, v in dco:
            if kk == k:
                for flat, val in _sym_entries(r, cc, v, dim):
                    dk.flat[flat] += val
        d.append(dk)
    for kk, *_ in hco + dco:
        check(kk, len(psdcon_dims), "HCOORD/DCOORD PSD constraint")
    for j in integers:
        check(j, n, "INT variable")
    for j in psd_rank1:
        check(j, len(psd_dims), "PSDVARRANK1 variable")
    data = CBFData(path.stem, version, sense, n, var_cones, np.asarray(sorted(set(integers)), int), psd_dims,
                   psd_rank1, m, con_cones, psdcon_dims, c, obj_f, objb, a, f, b, h, d)
    data.int_lower, data.int_upper = _implied_bounds(data)
    return data


def _cone_of(cones: list[tuple[str, int]]) -> list[str]:
    """Per-entry cone name ('Q'/'QR' entries all carry the cone's name)."""
    return [name for name, dim in cones for _ in range(dim)]


def _implied_bounds(data: CBFData) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on every scalar variable implied by its VAR cone and by single-variable linear rows (no PSD terms)."""
    lo, hi = np.full(data.n, -np.inf), np.full(data.n, np.inf)
    for j, cone in enumerate(_cone_of(data.var_cones)):
        if cone in ("L+", "L="):
            lo[j] = 0.0
        if cone in ("L-", "L="):
            hi[j] = 0.0
    has_f = np.zeros(data.m, bool)
    for fj in data.f:
        has_f |= np.diff(fj.indptr) > 0
    a = data.a.tocsr()
    for i, cone in enumerate(_cone_of(data.con_cones)):
        if cone not in ("L+", "L-", "L=") or has_f[i] or a.indptr[i + 1] - a.indptr[i] != 1:
            continue
        j, coef = a.indices[a.indptr[i]], a.data[a.indptr[i]]
        if coef == 0:
            continue
        bound = -data.b[i] / coef                   # coef x + b (>=, <=, ==) 0
        geq = (cone == "L+") == (coef > 0)
        if cone == "L=":
            lo[j], hi[j] = max(lo[j], bound), min(hi[j], bound)
        elif geq:
            lo[j] = max(lo[j], bound)
        else:
            hi[j] = min(hi[j], bound)
    return lo, hi


# ================================================================================================ cvxpy model
@dataclass
class MisdpModel:
    """A CBF instance as a cvxpy problem: ``x`` (n,) affine expression of the scalar variables, ``X`` PSD variables,
    ``groups`` (none are inferred; kept for the branch-and-bound API)."""

    data: CBFData
    problem: cp.Problem
    x: cp.Expression
    parts: dict[str, tuple[np.ndarray, cp.Variable]]       # "binary"/"integer"/"continuous": (indices, variable)
    X: list[cp.Variable]

    def assemble(self, values: dict) -> tuple[np.ndarray, list[np.ndarray]]:
        """(x (n,), [X_j]) from a {variable: value} dict."""
        x = np.zeros(self.data.n)
        for idx, var in self.parts.values():
            if var is not None:
                x[idx] = np.asarray(values[var], float).ravel()
        return x, [np.asarray(values[X], float) for X in self.X]


def build_problem(data: CBFData) -> MisdpModel:
    """The cvxpy problem of a CBF instance; integers bounded to [0, 1] become boolean variables."""
    is_int = np.zeros(data.n, bool)
    is_int[data.integers] = True
    binary = is_int & (data.int_lower >= -INT_TOL) & (data.int_upper <= 1 + INT_TOL)
    general = is_int & ~binary
    parts: dict[str, tuple[np.ndarray, cp.Variable | None]] = {}
    pieces = []
    for name, mask in (("binary", binary), ("integer", general), ("continuous", ~is_int)):
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            parts[name] = (idx, None)
            continue
        if name == "binary":
            var = cp.Variable(idx.size, boolean=True, name="x_bin")
        elif name == "integer":
            lo = np.ceil(data.int_lower[idx] - INT_TOL)
            hi = np.floor(data.int_upper[idx] + INT_TOL)
            var = cp.Variable(idx.size, integer=True, name="x_int", bounds=[lo, hi])
        else:
            var = cp.Variable(idx.size, name="x")
        parts[name] = (idx, var)
        sel = sp.csr_matrix((np.ones(idx.size), (idx, np.arange(idx.size))), shape=(data.n, idx.size))
        pieces.append(sel @ var)
    x = sum(pieces) if pieces else cp.Constant(np.zeros(0))
    X = [cp.Variable((dim, dim), PSD=True, name=f"X{j}") for j, dim in enumerate(data.psd_dims)]
    vecs = [cp.vec(Xj, order="C") for Xj in X]     # row-major, matching the CBF coordinate fill

    constraints = []
    offset = 0
    for cone, dim in data.var_cones:
        constraints += _cone_constraint(cone, x[offset:offset + dim]) if data.n else []
        offset += dim
    if data.m:
        g = data.a @ x + data.b if data.n else cp.Constant(data.b)
        for fj, vj in zip(data.f, vecs):
            if fj.nnz:
                g = g + fj @ vj
        offset = 0
        for cone, dim in data.con_cones:
            constraints += _cone_constraint(cone, g[offset:offset + dim])
            offset += dim
    for hk, dk in zip(data.h, data.d):
        dim = dk.shape[0]
        G = cp.reshape(hk @ x, (dim, dim), order="C") + dk
        constraints.append(G >> 0)
    objective = data.obj_c @ x + data.obj_b if data.n else cp.Constant(data.obj_b)
    for Fj, Xj in zip(data.obj_f, X):
        if np.any(Fj):
            objective = objective + cp.sum(cp.multiply(Fj, Xj))
    sense = cp.Minimize if data.sense == "min" else cp.Maximize
    return MisdpModel(data, cp.Problem(sense(objective), constraints), x, parts, X)


def _cone_constraint(cone: str, expr) -> list:
    if cone == "F":
        return []
    if cone == "L+":
        return [expr >= 0]
    if cone == "L-":
        return [expr <= 0]
    if cone == "L=":
        return [expr == 0]
    if cone == "Q":
        return [cp.SOC(expr[0], expr[1:])]
    # QR: 2 x0 x1 >= ||x_2:||^2, x0, x1 >= 0  <=>  ||(x0 - x1, sqrt(2) x_2:)|| <= x0 + x1
    return [cp.SOC(expr[0] + expr[1], cp.hstack([expr[0] - expr[1], np.sqrt(2.0) * expr[2:]]))]


# ================================================================================================ verification
def objective_value(data: CBFData, x: np.ndarray, X: list[np.ndarray]) -> float:
    return float(data.obj_c @ x + data.obj_b + sum(np.sum(F * Xj) for F, Xj in zip(data.obj_f, X)))


def check_solution(data: CBFData, x: np.ndarray, X: list[np.ndarray], objective: float | None = None,
                   tol: float = verify.TOLERANCE) -> verify.Verification:
    """Re-check (x, X) against the original CBF data with NumPy only; violations relative to each row's size."""
    checks = []
    if data.integers.size:
        xi = x[data.integers]
        checks.append(verify.at_most("integrality", np.abs(xi - np.round(xi)), 0.0, scale=1.0))
    g = data.a @ x + data.b
    terms = np.abs(data.a) @ np.abs(x) + np.abs(data.b)
    for fj, Xj in zip(data.f, X):
        v = Xj.reshape(-1)
        g = g + fj @ v
        terms = terms + np.abs(fj) @ np.abs(v)
    for label, vec, scale, cones in (("var", x, 1.0 + np.abs(x), data.var_cones),
                                     ("row", g, 1.0 + terms, data.con_cones)):
        offset = 0
        for k, (cone, dim) in enumerate(cones):
            seg, sc = vec[offset:offset + dim], np.broadcast_to(scale, vec.shape)[offset:offset + dim]
            name = f"{label} cone {k} ({cone})"
            if cone == "L+":
                checks.append(verify.at_least(name, seg, 0.0, scale=sc))
            elif cone == "L-":
                checks.append(verify.at_most(name, seg, 0.0, scale=sc))
            elif cone == "L=":
                checks.append(verify.close(name, seg, 0.0, scale=sc))
            elif cone == "Q":
                checks.append(verify.at_least(name, seg[0] - np.linalg.norm(seg[1:]), 0.0, scale=float(sc.max())))
            elif cone == "QR":
                checks.append(verify.at_least(name, np.array([seg[0], seg[1], 2 * seg[0] * seg[1]
                                                              - seg[2:] @ seg[2:]]), 0.0,
                                              scale=float(sc.max()) ** 2))
            offset += dim
    for j, Xj in enumerate(X):
        checks.append(_psd_check(f"PSD variable {j}", Xj))
        if j in data.psd_rank1:
            eig = np.linalg.eigvalsh(0.5 * (Xj + Xj.T))
            checks.append(verify.at_most(f"rank one of PSD variable {j}", eig[-2] if eig.size > 1 else 0.0, 0.0,
                                         scale=max(abs(eig[-1]), 1.0)))
    for k, (hk, dk) in enumerate(zip(data.h, data.d)):
        dim = dk.shape[0]
        G = (hk @ x).reshape(dim, dim) + dk
        checks.append(_psd_check(f"PSD constraint {k}", G, scale=1.0 + float((np.abs(hk) @ np.abs(x)).max(initial=0))
                                 + float(np.abs(dk).max(initial=0))))
    if objective is not None:
        value = objective_value(data, x, X)
        checks.append(verify.close("objective", objective, value, scale=max(1.0, abs(value))))
    return verify.verify(checks, tol)


def _psd_check(name: str, M: np.ndarray, scale: float | None = None) -> verify.Check:
    """Smallest eigenvalue >= 0 relative to ``scale`` (default 1 + the largest |eigenvalue|), and symmetry."""
    eig = np.linalg.eigvalsh(0.5 * (M + M.T))
    asym = float(np.max(np.abs(M - M.T), initial=0.0))
    sc = scale if scale is not None else 1.0 + float(np.max(np.abs(eig), initial=0.0))
    return verify.at_least(name, min(float(eig[0]) if eig.size else 0.0, -asym), 0.0, scale=sc)


# ================================================================================================ scenario
@dataclass(frozen=True)
class MisdpScenario:
    """A CBF instance and the branch-and-bound limits (``--set time_limit_s=60``)."""

    cbf_path: str = spec("", help="path to the .cbf file (or the name of one in data/misdp/)")
    time_limit_s: float | None = spec(None, unit="s", low=0.0, low_open=True, optional=True,
                                      help="wall-clock limit of the branch-and-bound")
    node_limit: int | None = spec(None, low=1, optional=True, help="maximum number of nodes solved")
    rel_gap: float = spec(1e-6, low=0.0, help="relative optimality gap at which the search stops")
    group_branching: str = spec("sos1", choices=("sos1", "fix_one"), help="branching rule for exactly-one groups")

    def __post_init__(self):
        validate(self)


def resolve_instance(source: str | None) -> Path:
    """A path to a .cbf file, or the name of a shipped instance in ``data/misdp/``."""
    if not source:
        raise ScenarioError("problem 'misdp' needs --scenario PATH.cbf (or the name of a file in data/misdp/: "
                            f"{', '.join(available_instances())})")
    path = Path(source)
    if path.suffix.lower() == ".cbf":
        if not path.exists():
            raise ScenarioError(f"CBF file '{source}' does not exist")
        return path
    shipped = INSTANCE_DIR / f"{source}.cbf"
    if shipped.exists():
        return shipped
    raise ScenarioError(f"--scenario '{source}' is neither a .cbf file nor a shipped instance "
                        f"({', '.join(available_instances())})")


def available_instances() -> list[str]:
    return sorted(p.stem for p in INSTANCE_DIR.glob("*.cbf"))


def known_optima() -> dict[str, float]:
    """Published optimal values of the shipped instances (data/misdp/optima.toml)."""
    with open(INSTANCE_DIR / "optima.toml", "rb") as fh:
        return {k: float(v) for k, v in tomllib.load(fh)["optimum"].items()}


def load(source: str | None, default: str | None, overrides=(), values: dict | None = None
         ) -> tuple[MisdpScenario, str]:
    """Registry hook: ``--scenario`` is a CBF path (or shipped name); ``--set``/``values`` override the limits."""
    from ..data.loader import build, with_overrides

    path = resolve_instance(source if source is not None else default)
    values = with_overrides(MisdpScenario, {"cbf_path": str(path)}, overrides, values)
    return build(MisdpScenario, values, f"scenario '{path.stem}'"), path.stem


# ================================================================================================ solve
def solve_bnb(scenario: MisdpScenario, rng=None, solver: str | None = None, log=None):
    """Read, build and solve a CBF instance by branch-and-bound; a verified :class:`Result`."""
    import time

    from ..algorithms import branch_and_bound
    from ..algorithms.result import Result, Status
    from ..data.loader import scenario_dict

    start = time.perf_counter()
    data = read_cbf(scenario.cbf_path)
    model = build_problem(data)
    out = branch_and_bound.solve(model.problem, solver=solver, time_limit_s=scenario.time_limit_s,
                                 node_limit=scenario.node_limit, rel_gap=scenario.rel_gap,
                                 group_branching=scenario.group_branching, log=log)
    notes = list(out.notes)
    if data.psd_rank1:
        notes.append(f"PSDVARRANK1 {data.psd_rank1} is not convex: solved without it, rank one verified at the end")
    solution, verified, worst, violations = {}, None, None, {}
    if out.values is not None:
        x, X = model.assemble(out.values)
        check = check_solution(data, x, X, out.objective)
        verified, worst, violations = check.passed, check.max_violation, check.violations
        solution = {"x": x, "X": X, "integers": data.integers}
    status = out.status
    if status == Status.OPTIMAL and verified is False and data.psd_rank1:
        status = Status.ERROR
        notes.append("the relaxed optimum is not rank one: no certificate for the PSDVARRANK1 problem")
    metrics = dict(num_variables=data.n, num_integers=int(data.integers.size), num_psd_vars=len(data.psd_dims),
                   num_psd_constraints=len(data.psdcon_dims), unresolved_nodes=out.unresolved,
                   solver_time_s=out.solver_time_s)
    known = known_optima().get(Path(scenario.cbf_path).stem) if Path(scenario.cbf_path).parent.resolve() \
        == INSTANCE_DIR.resolve() else None
    if known is not None:
        metrics["known_optimum"] = known
    return Result(problem=PROBLEM, method="bnb", status=status, objective=out.objective,
                  objective_name=f"CBF objective ({data.sense})", sense=data.sense, solution=solution,
                  metrics=metrics, verified=verified, max_violation=worst, violations=violations, solver=out.solver,
                  time_s=time.perf_counter() - start, solver_time_s=out.solver_time_s,
                  history=[dict(time_s=t, nodes=k, lower_bound=lb, upper_bound=ub) for t, k, lb, ub in out.history],
                  scenario=scenario_dict(scenario), notes=notes, **out.certificate())
