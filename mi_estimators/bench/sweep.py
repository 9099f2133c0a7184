"""Sweeps: run (task × estimator × sample size × seed) grids and score them.

A sweep is a list of :class:`Job` s. Each job samples ``n`` pairs from a synthetic task
with known mutual information, estimates MI with one estimator, and returns one tidy
row (its full config, the estimate, its standard error and interval, the truth, and its
timing). :func:`run_sweep` runs the jobs through an executor (local process pool by
default, or Dask) and writes every finished row **at once, atomically** into a results
folder (:mod:`mi_estimators.bench.store`), so a sweep killed at any moment resumes where
it stopped, without losing or duplicating a row.

``run_id`` is a stable hash of (task, estimator, options, n, seed): resuming skips the
run ids already on disk. Concurrent writers to one folder never corrupt it (each run is
its own atomically replaced file; a run done twice by two writers leaves one complete, equivalent row).

:func:`score` turns rows into one summary per (task, estimator, n): mean estimate, bias,
variance across seeds, MSE and RMSE, each with its standard error. Everything is in nats.

Every column but :data:`~mi_estimators.bench.store.TIMING_COLUMNS` is a function of the
job alone (same seeds → same table, whichever executor).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from mi_estimators.result import to_jsonable
from mi_estimators.bench.store import (
    RESULT_COLUMNS,
    SUMMARY_COLUMNS,
    _canonical,
    _check_manifest,
    _float,
    _hash,
    atomic_write_text,
    load_runs,
    write_results_csv,
)

__all__ = [
    "Job",
    "make_grid",
    "get_task",
    "list_task_names",
    "estimator_names",
    "run_job",
    "run_sweep",
    "score",
]

@dataclasses.dataclass(frozen=True)
class Job:
    """One run: estimate MI on ``n`` samples of ``task`` with ``estimator`` at ``seed``.

    ``task`` is a registry name (``synthetic.get_task``), ``estimator`` a registry name
    (``mi_estimators.list_estimators()``), ``options`` the keyword options passed to
    ``estimate_mi`` (a tuple of ``(key, value)`` pairs so the job is hashable), and
    ``label`` the display name (defaults to the estimator name; variants such as
    SMILE τ=1 and τ=5 get distinct labels). The data and the estimator get independent
    seeds derived from ``seed``.
    """

    task: str
    estimator: str
    n: int
    seed: int
    options: tuple = ()
    label: str = ""

    def __post_init__(self):
        if isinstance(self.options, Mapping):
            object.__setattr__(self, "options", tuple(sorted(self.options.items())))
        if not self.label:
            object.__setattr__(self, "label", self.estimator)

    @property
    def options_dict(self) -> dict:
        return dict(self.options)

    @property
    def run_id(self) -> str:
        """Stable 16-hex-digit hash of (task, estimator, options, n, seed)."""
        return _hash(
            {
                "task": self.task,
                "estimator": self.estimator,
                "options": self.options_dict,
                "n": int(self.n),
                "seed": int(self.seed),
            }
        )


def make_grid(
    tasks: Sequence[str],
    estimators: Sequence[str | Mapping],
    seeds: Sequence[int] | int,
    n: Sequence[int] | int,
    options: Mapping | None = None,
) -> list[Job]:
    """The full grid of jobs, task-major then estimator, n, seed.

    ``estimators`` holds registry names or mappings ``{"name": ..., "label": ..., **options}``;
    ``options`` are shared defaults that each estimator's own options override.
    ``seeds`` / ``n`` may be an int (``range(seeds)`` / a single sample size).
    """
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    sizes = [n] if isinstance(n, int) else list(n)
    jobs = []
    for task in tasks:
        for spec in estimators:
            if isinstance(spec, str):
                name, label, own = spec, spec, {}
            else:
                spec = dict(spec)
                name = spec.pop("name")
                label = spec.pop("label", name)
                own = spec
            opts = {**(options or {}), **own}
            for size in sizes:
                for seed in seeds:
                    jobs.append(Job(task, name, int(size), int(seed), tuple(sorted(opts.items())), label))
    return jobs


# --------------------------------------------------------------------------- registries
def get_task(spec: str):
    """The synthetic task named ``spec`` (``synthetic.get_task``), or a clear ValueError."""
    import synthetic

    return synthetic.get_task(spec)


def list_task_names() -> list[str]:
    import synthetic

    return list(synthetic.list_tasks())


def estimator_names() -> list[str]:
    """Registry names of the estimators ``estimate_mi`` accepts."""
    from mi_estimators import list_estimators

    entries = list_estimators()
    if isinstance(entries, Mapping):
        return sorted(entries)
    names = []
    for entry in entries:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, Mapping):
            names.append(entry["name"])
        else:
            names.append(getattr(entry, "name"))
    return sorted(names)


# --------------------------------------------------------------------------- one run
def _seeds(seed: int) -> tuple[int, int]:
    """Independent data and estimator seeds derived from one run seed."""
    import numpy as np

    data, model = np.random.SeedSequence(int(seed)).spawn(2)
    return int(data.generate_state(1)[0]), int(model.generate_state(1)[0])


def run_job(job: Job) -> dict:
    """Run one job and return its tidy row (never raises for a failing estimator).

    The row holds the full config, the truth, the estimate with ``stderr`` and a
    confidence interval (NaN where an estimator gives none), ``status`` ("ok" or
    "error" with the message in ``error``), the estimator's warnings (e.g. InfoNCE near
    its log B ceiling) in ``warnings``, and the wall time ``time_s``.
    """
    import mi_estimators

    start = time.perf_counter()
    row: dict[str, Any] = {
        "run_id": job.run_id,
        "task": job.task,
        "estimator": job.estimator,
        "label": job.label,
        "n": int(job.n),
        "seed": int(job.seed),
        "options": _canonical(to_jsonable(job.options_dict)),
    }
    task = get_task(job.task)
    row.update(
        truth=float(task.mi),
        truth_stderr=float(getattr(task, "mi_stderr", 0.0) or 0.0),
        dim_x=int(task.dim_x),
        dim_y=int(task.dim_y),
    )
    data_seed, model_seed = _seeds(job.seed)
    try:
        x, y = task.sample(int(job.n), seed=data_seed)
        options = job.options_dict
        options.setdefault("seed", model_seed)
        with warnings.catch_warnings(record=True) as caught:  # kept in the row, not printed
            warnings.simplefilter("always")
            result = mi_estimators.estimate_mi(x, y, estimator=job.estimator, **options)
        row["warnings"] = " | ".join(dict.fromkeys(str(w.message) for w in caught))
        interval = getattr(result, "interval", None) or (math.nan, math.nan)
        config = dict(getattr(result, "config", None) or {})
        if "auto" in (getattr(result, "details", None) or {}):   # which method answered, its components
            config["auto_details"] = result.details["auto"]
        if getattr(result, "per_critic", None) is not None:
            config["per_critic"] = [float(v) for v in result.per_critic]
        row.update(
            estimate=_float(result.mi),
            stderr=_float(getattr(result, "stderr", math.nan)),
            ci_low=_float(interval[0]),
            ci_high=_float(interval[1]),
            status="ok",
            error="",
            config=_canonical(to_jsonable(config)),
        )
    except Exception as exc:  # a failing estimator is a result, not a crash of the sweep
        row.update(
            estimate=math.nan, stderr=math.nan, ci_low=math.nan, ci_high=math.nan,
            status="error", error=f"{type(exc).__name__}: {exc}"[:2000], config="{}",
        )
    row["time_s"] = time.perf_counter() - start
    return {col: row.get(col, "") for col in RESULT_COLUMNS}


def run_sweep(
    jobs: Sequence[Job],
    out: str | os.PathLike,
    *,
    executor=None,
    config: Mapping | None = None,
    extend: bool = False,
    retry_failed: bool = False,
    progress: bool = False,
    fn: Callable[[Job], dict] = run_job,
) -> list[dict]:
    """Run ``jobs`` into the results folder ``out``; resume if it already holds runs.

    Jobs whose ``run_id`` already has a file in ``out/runs`` are skipped; every other
    job's row is written atomically as soon as it finishes. ``results.csv`` is rebuilt at
    the end (and can be rebuilt any time with :func:`write_results_csv` of
    :func:`load_runs`). ``executor``: an :class:`~mi_estimators.bench.executors.Executor` or a
    spec for :func:`~mi_estimators.bench.executors.get_executor` (default: a local process
    pool). ``config`` is recorded in ``manifest.json``; a folder made by another config
    is refused unless ``extend``. Failed runs (status "error") count as done unless
    ``retry_failed``. Returns the rows of ``jobs`` (sorted by run_id).
    """
    from mi_estimators.bench.executors import Executor, get_executor

    jobs = list(jobs)
    ids = [job.run_id for job in jobs]
    if len(set(ids)) != len(ids):
        seen, dup = set(), None
        for job, rid in zip(jobs, ids):
            if rid in seen:
                dup = job
                break
            seen.add(rid)
        raise ValueError(f"the sweep lists the same run twice: {dup}")
    out = Path(out)
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    _check_manifest(out, config if config is not None else {"jobs": [dataclasses.asdict(j) for j in jobs]}, extend)

    done = {row["run_id"] for row in load_runs(out) if not (retry_failed and row.get("status") != "ok")}
    todo = [job for job in jobs if job.run_id not in done]
    own_executor = not isinstance(executor, Executor)
    executor = get_executor(executor)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), unit="run", desc="sweep", leave=False)
    try:
        for job, row in executor.map_unordered(fn, todo):
            atomic_write_text(runs_dir / f"{job.run_id}.json", json.dumps(row, sort_keys=True) + "\n")
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"{job.label} on {job.task}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
        if own_executor:
            executor.close()
    rows = load_runs(out)
    write_results_csv(rows, out / "results.csv")
    wanted = set(ids)
    return [row for row in rows if row["run_id"] in wanted]


# --------------------------------------------------------------------------- scoring
def score(rows: Iterable[Mapping], by: Sequence[str] = ("task", "label", "n")) -> list[dict]:
    r"""Summary per group (default: per task, estimator label and sample size), in nats.

    With k successful runs of estimates :math:`\hat I_s` and truth :math:`I`:

    - ``mean`` :math:`\bar I`, ``se_mean`` :math:`= s/\sqrt k` (``sd`` = s, ddof 1);
    - ``bias`` :math:`= \bar I - I`, ``se_bias`` :math:`= \sqrt{s^2/k + \mathrm{se}(I)^2}`
      (the truth's own Monte Carlo error enters for mixture tasks);
    - ``variance`` :math:`= s^2`, ``se_variance`` :math:`= s^2\sqrt{2/(k-1)}` (normal theory);
    - ``mse`` :math:`= \frac1k\sum_s(\hat I_s - I)^2`, ``se_mse`` = sd of the squared errors
      over :math:`\sqrt k`; ``rmse`` :math:`= \sqrt{\mathrm{mse}}`.

    Standard errors need k ≥ 2 (NaN otherwise). Failed runs are counted in ``failed``.
    """
    groups: dict[tuple, list[Mapping]] = {}
    for row in rows:
        groups.setdefault(tuple(row[key] for key in by), []).append(row)
    summaries = []
    for key, members in groups.items():
        ok = [r for r in members if r.get("status", "ok") == "ok" and math.isfinite(_float(r["estimate"]))]
        truth = _float(members[0]["truth"])
        truth_se = _float(members[0].get("truth_stderr", 0.0)) or 0.0
        est = [_float(r["estimate"]) for r in ok]
        k = len(est)
        nan = math.nan
        mean = sum(est) / k if k else nan
        var = sum((e - mean) ** 2 for e in est) / (k - 1) if k >= 2 else nan
        sd = math.sqrt(var) if k >= 2 else nan
        sq = [(e - truth) ** 2 for e in est]
        mse = sum(sq) / k if k else nan
        mse_mean = mse
        se_mse = (
            math.sqrt(sum((q - mse_mean) ** 2 for q in sq) / (k - 1) / k) if k >= 2 else nan
        )
        times = [_float(r.get("time_s", nan)) for r in members]
        summary = dict(zip(by, key))
        summary.update(
            estimator=members[0].get("estimator", ""),
            truth=truth,
            runs=k,
            failed=len(members) - k,
            mean=mean,
            se_mean=sd / math.sqrt(k) if k >= 2 else nan,
            bias=mean - truth,
            se_bias=math.sqrt(var / k + truth_se**2) if k >= 2 else nan,
            sd=sd,
            variance=var,
            se_variance=var * math.sqrt(2.0 / (k - 1)) if k >= 2 else nan,
            mse=mse,
            se_mse=se_mse,
            rmse=math.sqrt(mse) if k else nan,
            mean_time_s=sum(times) / len(times) if times else nan,
        )
        summaries.append({col: summary.get(col, "") for col in (*SUMMARY_COLUMNS, *by) if col in summary})
    return summaries
