"""The CBF reader (Conic Benchmark Format, CBLIB, versions 1-3): a file in, plain NumPy/SciPy data out.

The CBF model (0-based indices, symmetric matrices given by their lower triangle):

    min/max   sum_j <F^obj_j, X_j> + c^T x + b^obj
    s.t.      g_i = sum_j <F_ij, X_j> + sum_j a_ij x_j + b_i   in the cones of CON (F, L+, L-, L=, Q, QR, EXP,
                                                                  @k:POW, @k:POW*)
              G_k = sum_j x_j H_kj + D_k  PSD                    (PSDCON)
              x in the cones of VAR, X_j PSD (PSDVAR), x_j integer for j in INT.

:func:`read_cbf` parses a file into :class:`CBFData` (no cvxpy); the shipped instances live in ``data/misdp/``
with their published optima (``optima.toml``). The model built from it is :mod:`isacopt.models.misdp`.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import ScenarioError

INSTANCE_DIR = Path(__file__).resolve().parent / "misdp"
SCALAR_CONES = ("F", "L+", "L-", "L=", "Q", "QR", "EXP")
#: Cones of a fixed dimension: EXP = {(x1, x2, x3): x1 >= x2 exp(x3 / x2), x1, x2 >= 0} (CBF's order).
FIXED_DIMS = {"EXP": 3}
#: Power cones ``@k:POW`` / ``@k:POW*`` (CBF 3): parameter set k of POWCONES / POW*CONES, alpha (n_l,) > 0, beta =
#: alpha / sum(alpha). POW: prod_{i < n_l} x_i^beta_i >= ||x_{n_l:}||, x_{:n_l} >= 0; POW* (its dual):
#: prod_{i < n_l} (x_i / beta_i)^beta_i >= ||x_{n_l:}||, x_{:n_l} >= 0.
POWER_CONE = re.compile(r"@(\d+):(POW\*?)")

class CBFError(ScenarioError):
    """A malformed or unsupported CBF file (one line: file, keyword, what is wrong)."""



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
    psdcon_rank1: list[int] = field(default_factory=list)               # PSDCONRANK1: rank-one PSD constraints
    #: the power-cone parameter sets: {"POW": [alpha, ...], "POW*": [alpha, ...]}
    power: dict[str, list[np.ndarray]] = field(default_factory=lambda: {"POW": [], "POW*": []})

    def power_beta(self, cone: str) -> np.ndarray | None:
        """beta = alpha / sum(alpha) of a cone named ``@k:POW`` / ``@k:POW*``; None for any other cone."""
        match = POWER_CONE.fullmatch(cone)
        if match is None:
            return None
        alpha = self.power[match.group(2)][int(match.group(1))]
        return alpha / alpha.sum()


def _sym_entries(r: int, c: int, v: float, dim: int):
    """(flat index, value) pairs of a lower-triangle entry filled symmetrically (row-major vec)."""
    return [(r * dim + c, v)] if r == c else [(r * dim + c, v), (c * dim + r, v)]


def read_cbf(path: str | Path) -> CBFData:
    """Parse a CBF file (versions 1-3; the cones and keywords of mixed-integer SDPs)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CBFError(f"cannot read CBF file '{path}': {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CBFError(f"CBF file '{path.name}' is not UTF-8 text (byte {exc.start}); CBF files are plain text") from None
    numbered = [(no, ln.strip()) for no, ln in enumerate(text.splitlines(), 1)]
    numbered = [(no, ln) for no, ln in numbered if ln and not ln.startswith("#")]
    lines = [ln for _, ln in numbered]
    pos = 0
    keyword = "header"

    def fail(what: str, line: int | None = None):
        where = f"line {line if line is not None else numbered[max(pos - 1, 0)][0]}" if numbered else "empty file"
        raise CBFError(f"CBF file '{path.name}', {keyword} ({where}): {what}")

    def nxt() -> list[str]:
        nonlocal pos
        if pos >= len(lines):
            fail("unexpected end of file")
        pos += 1
        return lines[pos - 1].split()

    def ints(tok, k=None, low=0):
        try:
            vals = [int(t) for t in tok]
        except ValueError:
            fail(f"expected integers, got '{' '.join(tok)}'")
        if k is not None and len(vals) != k:
            fail(f"expected {k} integers, got '{' '.join(tok)}'")
        for v in vals:
            if v < low:
                fail(f"{v} must be >= {low}")
            if v > MAX_INDEX:
                fail(f"{v} exceeds the largest supported size/index {MAX_INDEX:.0e}")
        return vals

    def number(token: str) -> float:
        try:
            value = float(token)
        except ValueError:
            fail(f"malformed number '{token}'")
        if not np.isfinite(value):
            fail(f"'{token}' is not a finite number")
        return value

    def cones(count_total: int, k: int, what: str):
        out, total = [], 0
        for _ in range(k):
            tok = nxt()
            if len(tok) != 2:
                fail(f"{what}: bad cone line '{' '.join(tok)}'")
            name, dim = tok[0], ints(tok[1:], 1, low=1)[0]
            match = POWER_CONE.fullmatch(name)
            if match is not None:
                params = power[match.group(2)]
                k_set = int(match.group(1))
                if k_set >= len(params):
                    fail(f"{what}: cone '{name}' refers to parameter set {k_set}, but {match.group(2)}CONES "
                         f"declares {len(params)} (it must come before VAR and CON)")
                if dim < len(params[k_set]):
                    fail(f"{what}: cone '{name}' has dimension {dim}, below its {len(params[k_set])} parameters")
            elif name not in SCALAR_CONES:
                fail(f"{what}: cone '{name}' is not supported (supported: {', '.join(SCALAR_CONES)}, @k:POW, "
                     "@k:POW*)")
            if FIXED_DIMS.get(name, dim) != dim:
                fail(f"{what}: cone '{name}' has dimension {dim}, expected {FIXED_DIMS[name]}")
            out.append((name, dim))
            total += dim
        if total != count_total:
            fail(f"{what}: cone dimensions sum to {total}, expected {count_total}")
        return out

    version, sense = None, "min"
    power: dict[str, list[np.ndarray]] = {"POW": [], "POW*": []}
    n, var_cones, integers, psd_dims, psd_rank1 = 0, [], [], [], []
    m, con_cones, psdcon_dims, psdcon_rank1 = 0, [], [], []
    objf, obja, objb = [], [], 0.0
    fco, aco, bco, hco, dco = [], [], [], [], []
    while pos < len(lines):
        key = keyword = nxt()[0]
        if key == "VER":
            version = ints(nxt(), 1)[0]
            if version not in (1, 2, 3):
                fail(f"version {version} is not supported (1-3)")
        elif key == "OBJSENSE":
            word = nxt()[0].upper()
            if word not in ("MIN", "MAX"):
                fail(f"OBJSENSE '{word}' (expected MIN or MAX)")
            sense = word.lower()
        elif key in ("POWCONES", "POW*CONES"):
            count, total = ints(nxt(), 2)
            sets = []
            for _ in range(count):
                alpha = np.array([number(nxt()[0]) for _ in range(ints(nxt(), 1, low=1)[0])])
                if np.any(alpha <= 0):
                    fail(f"power-cone parameters must be > 0, got {alpha.tolist()}")
                sets.append(alpha)
            if sum(len(a) for a in sets) != total:
                fail(f"{count} parameter sets hold {sum(len(a) for a in sets)} values, expected {total}")
            power[key[:-5]] = sets
        elif key == "VAR":
            n, k = ints(nxt(), 2)
            var_cones = cones(n, k, "VAR")
        elif key == "INT":
            integers = [ints(nxt(), 1)[0] for _ in range(ints(nxt(), 1)[0])]
        elif key == "PSDVAR":
            psd_dims = [ints(nxt(), 1, low=1)[0] for _ in range(ints(nxt(), 1)[0])]
        elif key == "PSDVARRANK1":
            psd_rank1 = [ints(nxt(), 1)[0] for _ in range(ints(nxt(), 1)[0])]
        elif key == "PSDCONRANK1":
            psdcon_rank1 = [ints(nxt(), 1)[0] for _ in range(ints(nxt(), 1)[0])]
        elif key == "CON":
            m, k = ints(nxt(), 2)
            con_cones = cones(m, k, "CON")
        elif key == "PSDCON":
            psdcon_dims = [ints(nxt(), 1, low=1)[0] for _ in range(ints(nxt(), 1)[0])]
        elif key in ("OBJFCOORD", "OBJACOORD", "OBJBCOORD", "FCOORD", "ACOORD", "BCOORD", "HCOORD", "DCOORD"):
            if key == "OBJBCOORD":
                objb = number(nxt()[0])
                continue
            width = {"OBJFCOORD": 4, "OBJACOORD": 2, "FCOORD": 5, "ACOORD": 3, "BCOORD": 2, "HCOORD": 5,
                     "DCOORD": 4}[key]
            count = ints(nxt(), 1)[0]
            rows = []
            for _ in range(count):
                tok = nxt()
                if len(tok) != width:
                    fail(f"{key}: expected {width} fields, got '{' '.join(tok)}'")
                rows.append((*ints(tok[:-1]), number(tok[-1]), numbered[pos - 1][0]))
            {"OBJFCOORD": objf, "OBJACOORD": obja, "FCOORD": fco, "ACOORD": aco, "BCOORD": bco,
             "HCOORD": hco, "DCOORD": dco}[key].extend(rows)
        else:
            fail(f"keyword '{key}' is not supported (parametric CHANGE blocks and other CBF 4 keywords are not)")
    keyword = "file"
    if version is None:
        fail("missing VER")
    _size_guard(path.name, n, m, psd_dims, psdcon_dims)

    def check(idx, hi, what, line=None):
        if not 0 <= idx < hi:
            fail(f"{what} index {idx} out of range 0..{hi - 1}", line)

    def check_entry(r, cc, dim, what, line):          # a lower-triangle entry of a dim x dim matrix
        if not 0 <= cc <= r < dim:
            fail(f"{what} entry ({r}, {cc}) is not in the lower triangle of a {dim} x {dim} matrix", line)

    c = np.zeros(n)
    for j, v, line in obja:
        check(j, n, "OBJACOORD variable", line)
        c[j] += v
    obj_f = [np.zeros((d, d)) for d in psd_dims]
    for j, r, cc, v, line in objf:
        check(j, len(psd_dims), "OBJFCOORD PSD variable", line)
        check_entry(r, cc, psd_dims[j], "OBJFCOORD", line)
        for flat, val in _sym_entries(r, cc, v, psd_dims[j]):
            obj_f[j].flat[flat] += val
    a_rows = [(i, j, v) for i, j, v, _ in aco]
    for i, j, _, line in aco:
        check(i, m, "ACOORD row", line); check(j, n, "ACOORD variable", line)
    a = sp.csr_matrix(([v for *_, v in a_rows], ([i for i, *_ in a_rows], [j for _, j, _ in a_rows])), shape=(m, n))
    for i, jj, r, cc, v, line in fco:
        check(jj, len(psd_dims), "FCOORD PSD variable", line)
        check(i, m, "FCOORD row", line)
        check_entry(r, cc, psd_dims[jj], "FCOORD", line)
    for kk, j, r, cc, v, line in hco:
        check(kk, len(psdcon_dims), "HCOORD PSD constraint", line)
        check(j, n, "HCOORD variable", line)
        check_entry(r, cc, psdcon_dims[kk], "HCOORD", line)
    for kk, r, cc, v, line in dco:
        check(kk, len(psdcon_dims), "DCOORD PSD constraint", line)
        check_entry(r, cc, psdcon_dims[kk], "DCOORD", line)
    f = []
    for j, dim in enumerate(psd_dims):
        ri, ci, vv = [], [], []
        for i, jj, r, cc, v, _ in fco:
            if jj != j:
                continue
            for flat, val in _sym_entries(r, cc, v, dim):
                ri.append(i); ci.append(flat); vv.append(val)
        f.append(sp.csr_matrix((vv, (ri, ci)), shape=(m, dim * dim)))
    b = np.zeros(m)
    for i, v, line in bco:
        check(i, m, "BCOORD row", line)
        b[i] += v
    h, d = [], []
    for k, dim in enumerate(psdcon_dims):
        ri, ci, vv = [], [], []
        for kk, j, r, cc, v, _ in hco:
            if kk != k:
                continue
            for flat, val in _sym_entries(r, cc, v, dim):
                ri.append(flat); ci.append(j); vv.append(val)
        h.append(sp.csr_matrix((vv, (ri, ci)), shape=(dim * dim, n)))
        dk = np.zeros((dim, dim))
        for kk, r, cc, v, _ in dco:
            if kk == k:
                for flat, val in _sym_entries(r, cc, v, dim):
                    dk.flat[flat] += val
        d.append(dk)
    for j in integers:
        check(j, n, "INT variable")
    for j in psd_rank1:
        check(j, len(psd_dims), "PSDVARRANK1 variable")
    for k in psdcon_rank1:
        check(k, len(psdcon_dims), "PSDCONRANK1 constraint")
    data = CBFData(path.stem, version, sense, n, var_cones, np.asarray(sorted(set(integers)), int), psd_dims,
                   psd_rank1, m, con_cones, psdcon_dims, c, obj_f, objb, a, f, b, h, d,
                   psdcon_rank1=psdcon_rank1, power=power)
    data.int_lower, data.int_upper = _implied_bounds(data)
    return data


#: Largest count, dimension or index a CBF file may state (beyond it a typo, e.g. a 23-digit number, is certain).
MAX_INDEX = 10 ** 9
#: Largest memory the dense PSD blocks of a model may need before anything is allocated (the cvxpy model and the
#: solver need several times more).
MAX_DENSE_BYTES = 4 * 2 ** 30


def _size_guard(name: str, n: int, m: int, psd_dims, psdcon_dims) -> None:
    """Refuse, with the estimate, an instance whose dense PSD data cannot fit (before allocating it)."""
    dense = 8 * (sum(d * d for d in psd_dims) * (1 + max(m, 1) / 1e3) + sum(d * d for d in psdcon_dims) * 2)
    if dense > MAX_DENSE_BYTES:
        raise CBFError(f"CBF file '{name}': its PSD blocks (PSDVAR {list(psd_dims)[:4]}, PSDCON "
                       f"{list(psdcon_dims)[:4]}) need ~{dense / 2 ** 30:.0f} GiB of dense data before any solve "
                       f"(limit {MAX_DENSE_BYTES / 2 ** 30:.0f} GiB); this branch-and-bound is for small MISDPs")


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
