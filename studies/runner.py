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
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..errors import IsacoptError, ScenarioError
from .spec import BASE, Job, Study

log = logging.getLogger(__name__)

#: Thread-pool variables set to 1 in worker processes: one solve per core, no oversubscription of the BLAS threads.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")
BASE_COLUMNS = BASE


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
        result = solve(study.problem, study.scenario, job.method, study.solver, study.seed_of(job.draw),
                       values={**study.fixed, **job.values})
    except IsacoptError as exc:
        return {**row, "status": "error", "message": str(exc), "time_s": time.perf_counter() - start}
    except Exception as exc:  # a bug in one job must not end the study; the row says what happened
        log.exception("job %s failed", job.key)
        return {**row, "status": "error", "message": f"{type(exc).__name__}: {exc}",
                "time_s": time.perf_counter() - start}
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
        self.study, self.out, self.rows_dir = study, Path(out), Path(out) / "jobs"
        meta = self.out / "study.json"
        if meta.exists():
            saved = json.loads(meta.read_text())
            if not resume:
                raise ScenarioError(f"output folder '{self.out}' already holds a study; pass --resume to continue "
                                    "it or choose another --out")
            if saved.get("fingerprint") != study.fingerprint():
                raise ScenarioError(f"output folder '{self.out}' holds a different study (its file changed since); "
                                    "choose another --out")
        self.rows_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(meta, json.dumps({"fingerprint": study.fingerprint(), "study": study.to_dict()}, indent=1,
                                       default=str))

    def done(self) -> set[str]:
        return {p.stem for p in self.rows_dir.glob("*.json")}

    def add(self, row: dict[str, Any]) -> None:
        _write_atomic(self.rows_dir / f"{row['key']}.json", json.dumps(row, default=_scalar))

    def table(self) -> pd.DataFrame:
        rows = [json.loads(p.read_text()) for p in sorted(self.rows_dir.glob("*.json"))]
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


def _local(study: Study, jobs: list[Job], workers: int) -> Iterable[dict[str, Any]]:
    if workers <= 1:
        for job in jobs:
            yield run_job(study, job)
        return
    with _single_threaded_children(), ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = {pool.submit(run_job, study, job): job for job in jobs}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                job = pending.pop(fut)
                try:
                    yield fut.result()
                except Exception as exc:          # the worker process died (e.g. out of memory)
                    yield {"key": job.key, "point": job.point, "draw": job.draw, "method": job.method,
                           **job.values, "status": "error", "message": f"worker failed: {type(exc).__name__}: {exc}"}


def _dask(study: Study, jobs: list[Job], address: str) -> Iterable[dict[str, Any]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ScenarioError("--scheduler needs dask.distributed: pip install -e \".[dask]\"") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ScenarioError(f"cannot reach the dask scheduler at '{address}': {exc}") from None
    with client:
        futures = {client.submit(run_job, study, job, pure=False, key=f"isacopt-{study.name}-{job.key}"): job
                   for job in jobs}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                yield fut.result()
            except Exception as exc:
                yield {"key": job.key, "point": job.point, "draw": job.draw, "method": job.method, **job.values,
                       "status": "error", "message": f"dask task failed: {type(exc).__name__}: {exc}"}


def run_study(study: Study, out: str | Path, *, workers: int = 1, scheduler: str | None = None,
              resume: bool = False, progress: bool | None = None) -> pd.DataFrame:
    """Run every missing job of ``study`` into ``out``; returns the full job table (also written as jobs.csv)."""
    from .report import summarize, write_figure

    if workers < 1:
        raise ScenarioError(f"--workers = {workers} must be >= 1")
    ckpt = Checkpoint(study, Path(out), resume)
    done = ckpt.done()
    todo = [job for job in study.jobs() if job.key not in done]
    source = _dask(study, todo, scheduler) if scheduler else _local(study, todo, workers)
    with tqdm(total=len(todo), desc=study.name, unit="job", disable=None if progress is None else not progress,
              dynamic_ncols=True) as bar:
        for row in source:
            ckpt.add(row)
            bar.update(1)
            bar.set_postfix_str(f"{row['method']} {row['status']}", refresh=False)
    table = ckpt.table()
    table.to_csv(ckpt.out / "jobs.csv", index=False)
    summary = summarize(study, table)
    summary.to_csv(ckpt.out / "summary.csv", index=False)
    if study.figure:
        write_figure(study, summary, table, ckpt.out / "figure.png")
    return table


def confidence_halfwidth(values: np.ndarray, level: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval of the mean (NaN for fewer than two values)."""
    from scipy import stats
    n = len(values)
    if n < 2:
        return math.nan
    return float(stats.t.ppf(0.5 + level / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
