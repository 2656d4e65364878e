"""Run a study's jobs through an executor, checkpoint every finished job, resume, aggregate.

Output folder (default ``results/<study>``)::

    study.json        the resolved study (and its fingerprint: a resumed run must match it)
    jobs/<key>.json   one row per finished job, written atomically (temp file + rename) as soon as it completes
    jobs.csv          every row, one table (rewritten at the end of a run)
    summary.csv       per point and method: mean and 95% confidence interval over solved draws, infeasibility rate
    figure.png        the study's figure, when it declares one

A killed study keeps every finished job; ``--resume`` runs only the missing ones. Executors: ``local`` (a process
pool of ``workers`` processes; ``workers=1`` runs in this process) or a ``dask.distributed`` scheduler address.
Failures and infeasible points are rows with their status, never an aborted study.

Integrity: every job file carries the study's identity (its fingerprint, the package version, the job key). On
reuse a job file is kept only when it loads as strict JSON, is a row of this study's job set under its own key and
fingerprint, and is not an infrastructure failure (a dead worker, a broken pool); every other file is recomputed and
the run says how many and why. Infrastructure failures are retried once in the same run (with a new pool) and again
on ``--resume``. SIGINT (Ctrl-C) and SIGTERM cancel the queued jobs and stop the workers within seconds, keeping
every finished job (a job a Ctrl-C cut short is not one, even when its method returned its best so far); a second
Ctrl-C during that shutdown exits at once; workers die with their parent (Linux ``PR_SET_PDEATHSIG``).
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..algorithms.progress import LineProgress, is_terminal, quiet
from ..algorithms.result import Termination
from ..errors import IsacoptError, ScenarioError
from .spec import BASE, Job, Study

log = logging.getLogger(__name__)

#: Thread-pool variables set to 1 in worker processes: one solve per core, no oversubscription of the BLAS threads.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")
BASE_COLUMNS = BASE


def _strict(value):
    """A row as strict JSON (RFC 8259 has no NaN or Infinity): non-finite floats become null."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


WORKER_FAILED = "its worker failed"


def _infrastructure_row(job: Job, message: str) -> dict[str, Any]:
    """The row of a job whose worker (not whose solve) failed: retried, never counted as done."""
    return {"key": job.key, "point": job.point, "draw": job.draw, "method": job.method, **job.values,
            "status": "error", "infrastructure": True, "message": message}


def _scalar(value) -> Any:
    """A metric as a table cell: numbers stay numbers, small arrays become JSON text."""
    arr = np.asarray(value)
    if arr.dtype.kind in "biuf" and arr.size == 1:
        return float(arr)
    if arr.dtype.kind in "biuf":
        return json.dumps(np.round(arr.astype(float), 12).tolist())
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def run_job(study: Study, job: Job) -> dict[str, Any]:
    """Solve one (point, draw, method); always returns a row (errors become rows with status ``error``)."""
    from ..registry import solve

    row = {"key": job.key, "point": job.point, "draw": job.draw, "method": job.method, **job.values}
    start = time.perf_counter()
    try:
        with quiet():                                 # the study reports progress, not each job's solver loop
            result = solve(study.problem, study.scenario, job.method, study.solver, study.seed_of(job.draw),
                           values={**study.fixed, **job.values})
    except IsacoptError as exc:
        return {**row, "status": "error", "message": str(exc), "time_s": time.perf_counter() - start}
    except Exception as exc:  # a bug in one job must not end the study; the row says what happened
        log.exception("job %s failed", job.key)
        return {**row, "status": "error", "message": f"{type(exc).__name__}: {exc}",
                "time_s": time.perf_counter() - start}
    if result.termination is Termination.INTERRUPTED:   # a method that returns its best so far on Ctrl-C (AO,
        raise KeyboardInterrupt                          # enumeration, bnb): in a study Ctrl-C stops the study
    row.update(status=result.status.value, objective=result.objective, verified=result.verified,
               max_violation=result.max_violation, time_s=result.time_s, solver=result.solver,
               message="; ".join(result.notes), sense=result.sense)
    for name in study.metrics:
        row[name] = _scalar(result.metrics[name]) if name in result.metrics else None
    for name, value in result.solution.items():               # discrete choices (e.g. J, K, Q, L) as columns
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            row[f"solution_{name}"] = float(value)
    for name in ("nodes", "sdp_solves", "gap"):
        if getattr(result, name) is not None:
            row[name] = getattr(result, name)
    return row


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Checkpoint:
    """The output folder of one study: what is done, appending rows, the final tables."""

    def __init__(self, study: Study, out: Path, resume: bool):
        from .. import __version__
        self.study, self.out, self.rows_dir = study, Path(out), Path(out) / "jobs"
        self.identity = {"fingerprint": study.fingerprint(), "package_version": __version__}
        self.rejected: dict[str, str] = {}          # job file -> why it is recomputed
        self.other_versions: set[str] = set()
        meta = self.out / "study.json"
        if meta.exists():
            saved = json.loads(meta.read_text())
            if not resume:
                raise ScenarioError(f"output folder '{self.out}' already holds a study; pass --resume to continue "
                                    "it or choose another --out")
            if saved.get("fingerprint") != study.fingerprint():
                raise ScenarioError(f"output folder '{self.out}' holds a different study (its file changed since); "
                                    "choose another --out")
        try:
            self.rows_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(meta, json.dumps({"fingerprint": study.fingerprint(), "study": study.to_dict()}, indent=1,
                                           default=str))
        except OSError as exc:
            raise ScenarioError(f"cannot write the study into '{self.out}': {exc.strerror or exc}; choose another "
                                "--out") from None

    def _load(self, path: Path, keys: set[str]) -> dict[str, Any] | str:
        """The row in ``path``, or why it cannot be reused."""
        try:
            row = json.loads(path.read_text(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            return f"unreadable ({type(exc).__name__})"
        if not isinstance(row, dict) or row.get("key") != path.stem:
            return "not the row of this job (its key differs from its file name)"
        if path.stem not in keys:
            return "not a job of this study"
        if row.get("fingerprint") != self.identity["fingerprint"]:
            return "computed for another study configuration"
        if row.get("infrastructure"):
            return WORKER_FAILED
        if row.get("package_version") != self.identity["package_version"]:
            self.other_versions.add(str(row.get("package_version")))
        return row

    def done(self) -> set[str]:
        """Keys of the job files that can be reused (see the module docstring); the others are recomputed."""
        keys = {job.key for job in self.study.jobs()}
        good, self.rejected = set(), {}
        for path in sorted(self.rows_dir.glob("*.json")):
            row = self._load(path, keys)
            if isinstance(row, str):
                self.rejected[path.name] = row
            else:
                good.add(path.stem)
        return good

    def add(self, row: dict[str, Any]) -> None:
        row = _strict({**row, **self.identity})
        _write_atomic(self.rows_dir / f"{row['key']}.json", json.dumps(row, default=_scalar, allow_nan=False))

    def table(self) -> pd.DataFrame:
        keys = {job.key for job in self.study.jobs()}
        rows = []
        for path in sorted(self.rows_dir.glob("*.json")):
            row = self._load(path, keys)
            if row == WORKER_FAILED:                 # still failed after its retry: visible, not done
                row = json.loads(path.read_text())
            if isinstance(row, dict):
                rows.append({k: v for k, v in row.items() if k not in self.identity})
        df = pd.DataFrame(rows)
        for col in BASE_COLUMNS:
            if col not in df:
                df[col] = None
        order = ["key", "point", *self.study.sweep, "draw", "method", "status", "objective", *self.study.metrics]
        rest = [c for c in df.columns if c not in order]
        return df[[c for c in order if c in df.columns] + rest].sort_values(["point", "draw", "method"],
                                                                           kind="stable").reset_index(drop=True)


@contextlib.contextmanager
def _single_threaded_children():
    """Spawned workers inherit these variables (set before their NumPy loads)."""
    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update({k: "1" for k in THREAD_VARIABLES})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _die_with_parent() -> None:
    """Worker initializer: ask Linux to send SIGTERM when the parent dies (kill -9 of the study leaves no orphans);
    SIGINT is left to the parent, which cancels the queue and stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)       # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass                                                                    # not Linux: best effort


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the queue and end the workers now (their running jobs are lost; finished ones are saved)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())      # shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=2)


def _local(study: Study, jobs: list[Job], workers: int, retries: int = 1) -> Iterable[dict[str, Any]]:
    if workers <= 1:
        for job in jobs:
            yield run_job(study, job)
        return
    for attempt in range(retries + 1):
        failed: list[tuple[Job, str]] = []
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_die_with_parent)
        try:
            with _single_threaded_children():
                pending = {pool.submit(run_job, study, job): job for job in jobs}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    job = pending.pop(fut)
                    try:
                        yield fut.result()
                    except Exception as exc:          # the worker process died (e.g. out of memory, kill -9)
                        failed.append((job, f"worker failed: {type(exc).__name__}: {exc}"))
        finally:                                      # Ctrl-C, SIGTERM, or the consumer stopped: stop now
            _stop_pool(pool)
        if not failed:
            return
        jobs = [job for job, _ in failed]
        if attempt < retries:
            log.warning("%d jobs lost to a failed worker; retrying them with a new pool", len(jobs))
    for job, message in failed:
        yield _infrastructure_row(job, message + f" (retried {retries}x; rerun with --resume)")


def _connect(address: str):
    """A dask.distributed client of the scheduler at ``address`` (a one-line error when it cannot be reached)."""
    try:
        from distributed import Client
    except ImportError:
        raise ScenarioError("--scheduler needs dask.distributed: pip install -e \".[dask]\"") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ScenarioError(f"cannot reach the dask scheduler at '{address}': {exc}") from None


def _dask(study: Study, jobs: list[Job], client) -> Iterable[dict[str, Any]]:
    from distributed import as_completed
    futures = {client.submit(run_job, study, job, pure=False, key=f"isacopt-{study.name}-{job.key}"): job
               for job in jobs}
    for fut in as_completed(futures):
        job = futures[fut]
        try:
            yield fut.result()
        except Exception as exc:
            yield _infrastructure_row(job, f"dask task failed: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (a scheduler's cancel, ``kill``) stops a study like Ctrl-C: finished jobs kept, workers stopped."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:                                 # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_study(study: Study, out: str | Path, *, workers: int = 1, scheduler: str | None = None,
              resume: bool = False, progress: bool | None = None) -> pd.DataFrame:
    """Run every missing job of ``study`` into ``out``; returns the full job table (also written as jobs.csv)."""
    if workers < 1:
        raise ScenarioError(f"--workers = {workers} must be >= 1")
    client = _connect(scheduler) if scheduler else None     # before the output folder is touched: a failed start
    with client if client is not None else contextlib.nullcontext():      # leaves nothing that blocks a rerun
        return _run(study, Path(out), workers, client, resume, progress)


def _run(study: Study, out: Path, workers: int, client, resume: bool, progress: bool | None) -> pd.DataFrame:
    """The body of :func:`run_study` (``client``: a connected dask client, or None for the local executor)."""
    from .report import summarize, write_figure

    ckpt = Checkpoint(study, out, resume)
    done = ckpt.done()
    if ckpt.rejected:
        reasons = sorted(set(ckpt.rejected.values()))
        log.warning("recomputing %d job file(s) in '%s': %s (e.g. %s)", len(ckpt.rejected), ckpt.rows_dir,
                    "; ".join(reasons), next(iter(ckpt.rejected)))
    if ckpt.other_versions:
        log.warning("reusing job files computed by isacopt %s (this is %s)", ", ".join(sorted(ckpt.other_versions)),
                    ckpt.identity["package_version"])
    todo = [job for job in study.jobs() if job.key not in done]
    if resume and progress is not False:
        print(f"{study.name}: resuming, {len(study.jobs()) - len(todo)} job(s) reused, {len(todo)} to run",
              file=sys.stderr, flush=True)
    source = _dask(study, todo, client) if client is not None else _local(study, todo, workers)
    lines = LineProgress(study.name, len(todo)) if progress is None and todo and not is_terminal() else None
    with _sigterm_as_interrupt(), tqdm(total=len(todo), desc=study.name, unit="job",
                                       disable=None if progress is None else not progress, dynamic_ncols=True) as bar:
        try:
            for row in source:
                ckpt.add(row)
                bar.update(1)
                bar.set_postfix_str(f"{row['method']} {row['status']}", refresh=False)
                if lines is not None:
                    lines.update(str(row["status"]))
        finally:
            with contextlib.suppress(Exception):
                source.close()                        # stops the pool at once (a generator's finally)
    table = ckpt.table()
    solved = table[table["objective"].notna()] if "objective" in table else table
    for name in study.metrics:                # a metric no solved job reports is a typo or the wrong problem
        if len(solved) and (name not in solved or solved[name].isna().all()):
            log.warning("metric '%s' is in none of the %d solved results of '%s' (misspelled? a result's metrics "
                        "are listed by `run.py solve %s --out r.json`)", name, len(solved), study.problem,
                        study.problem)
    table.to_csv(ckpt.out / "jobs.csv", index=False)
    summary = summarize(study, table)
    summary.to_csv(ckpt.out / "summary.csv", index=False)
    for frame, name in ((table, "jobs"), (summary, "summary")):
        write_parquet(frame, ckpt.out / f"{name}.parquet")
    if study.figure:
        write_figure(study, summary, table, ckpt.out / "figure.png")
    return table


def write_parquet(frame: pd.DataFrame, path: Path) -> Path | None:
    """The table as Parquet too (typed columns, fast to load: ``pandas.read_parquet``) when pyarrow is installed
    (``.[dev]``); object columns that mix types (JSON text of array metrics, None) are written as text."""
    import importlib.util
    if importlib.util.find_spec("pyarrow") is None:
        return None
    mixed = {c: frame[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
             for c in frame.columns if frame[c].dtype == object}
    frame.assign(**mixed).to_parquet(path, index=False)
    return path


def confidence_halfwidth(values: np.ndarray, level: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval of the mean (NaN for fewer than two values)."""
    from scipy import stats
    n = len(values)
    if n < 2:
        return math.nan
    return float(stats.t.ppf(0.5 + level / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
