"""Cluster size: the ASE tables of one physics, cached in memory and on disk."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .scenario import ClusterSizeScenario
from .rates import comm_rate, misr_gain, sensing_rate_q1, sensing_rates_cluster


# ================================================================================================ ASE tables
@dataclass(frozen=True)
class AseTables:
    """Precomputed analytic rates for every tuple a scenario's integer programs can reach (nats/s/Hz).

    rc: (M_t, M_t, M_t + 2) with rc[K, L, D] = R_c(G_L D / K) for K L <= M_t - 1 and 0 <= D <= M_t + 1 - K L (NaN
    elsewhere; index 0 of K, L unused); rs: (M_t, M_t) with rs[K, Q] = R_s (Prop. 2 for Q = 1, Theorem 2 for Q >= 2)
    for K + Q <= M_t (NaN elsewhere).
    """

    tx_antennas: int
    alpha: float
    beta: float
    density: float
    sensing_gain: float
    rc: np.ndarray
    rs: np.ndarray
    build_time_s: float
    source: str = "computed"                          # or "disk cache" (:func:`cache_dir`)

    def comm_rate(self, K, L, J, Q):
        M = self.tx_antennas
        K, L, J, Q = (np.asarray(v, int) for v in (K, L, J, Q))
        return self.rc[K, L, M + 1 - K * L - J * (Q - 1)]

    def sensing_rate(self, K, Q):
        return self.rs[np.asarray(K, int), np.asarray(Q, int)]

    def comm_ase(self, J, K, Q, L):
        """T_c = lambda K R_c, eq. (3)/(8)."""
        return self.density * np.asarray(K) * self.comm_rate(K, L, J, Q)

    def sensing_ase(self, J, K, Q, L=None):
        """T_s = lambda J R_s, eq. (6)."""
        return self.density * np.asarray(J) * self.sensing_rate(K, Q)


def build_tables(scenario: ClusterSizeScenario) -> AseTables:
    """The analytic rate tables of a scenario (cached on the physics: M_t, alpha, beta, lambda_b, xi Delta T kappa M_r)."""
    s = scenario
    return _tables(s.tx_antennas, s.path_loss_exponent, s.sensing_path_loss_exponent, s.bs_density_per_km2,
                   s.sensing_gain)


def cache_dir():
    """Where rate tables persist between processes: ``$ISACOPT_CACHE`` (empty: no disk cache) or
    ``~/.cache/isacopt``."""
    import os
    from pathlib import Path
    path = os.environ.get("ISACOPT_CACHE", str(Path.home() / ".cache" / "isacopt"))
    return Path(path) if path else None


def _table_file(M, alpha, beta, density, C):
    """The cache file of one physics; the key includes a hash of the package's sources, so any change to the rate
    code invalidates every stored table."""
    import hashlib
    from pathlib import Path
    folder = cache_dir()
    if folder is None:
        return None
    sources = b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))     # the model's code
    code = hashlib.sha256(sources).hexdigest()[:12]
    key = hashlib.sha256(repr((M, float(alpha), float(beta), float(density), float(C), code)).encode()).hexdigest()
    return folder / f"cluster_size_tables_{key[:20]}.npz"


@functools.lru_cache(maxsize=16)
def _tables(M: int, alpha: float, beta: float, density: float, C: float) -> AseTables:
    """Tables of one physics: from memory, else from the disk cache (:func:`cache_dir`), else computed (and stored;
    an unwritable cache is skipped)."""
    import os
    import time
    start = time.perf_counter()
    path = _table_file(M, alpha, beta, density, C)
    if path is not None and path.exists():
        try:
            with np.load(path) as f:
                rc, rs = f["rc"], f["rs"]
            if rc.shape == (M, M, M + 2) and rs.shape == (M, M):
                for a in (rc, rs):
                    a.setflags(write=False)
                return AseTables(M, alpha, beta, density, C, rc, rs, time.perf_counter() - start, "disk cache")
        except (OSError, ValueError, KeyError):
            pass                                        # unreadable or partial file: recompute below
    tables = _compute_tables(M, alpha, beta, density, C, start)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, rc=tables.rc, rs=tables.rs)
            os.replace(tmp, path)                       # atomic: concurrent workers never see half a file
        except OSError:
            pass
    return tables


def _compute_tables(M, alpha, beta, density, C, start) -> AseTables:
    import time
    rc = np.full((M, M, M + 2), np.nan)
    K, L = np.meshgrid(np.arange(1, M), np.arange(1, M), indexing="ij")
    ok = K * L <= M - 1
    K, L = K[ok], L[ok]
    D = np.arange(M + 2)
    Kb, Lb, Db = np.broadcast_arrays(K[:, None], L[:, None], D[None, :])
    valid = Db <= M + 1 - Kb * Lb
    Y = misr_gain(Lb[valid], alpha) * Db[valid] / Kb[valid]
    rc[Kb[valid], Lb[valid], Db[valid]] = comm_rate(Y, alpha)
    rs = np.full((M, M), np.nan)
    for k in range(1, M):
        q_max = M - k
        rs[k, 1] = sensing_rate_q1(k, alpha, beta, density, C)
        rs[k, 2:q_max + 1] = sensing_rates_cluster(k, q_max, alpha, beta, density, C)
    for a in (rc, rs):
        a.setflags(write=False)
    return AseTables(M, alpha, beta, density, C, rc, rs, time.perf_counter() - start)
