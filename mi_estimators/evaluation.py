"""Evaluation: run (task × estimator × sample size × seed) grids and score them.

A sweep is a list of :class:`Job` s. Each job samples ``n`` pairs from a synthetic task
with known mutual information, estimates MI with one estimator, and returns one tidy
row (its full config, the estimate, its standard error and interval, the truth, and its
timing). :func:`run_sweep` runs the jobs through an executor (local process pool by
default, or Dask) and writes every finished row **at once, atomically** into a results
folder, so a sweep killed at any moment resumes where it stopped, without losing or
duplicating a row::

    DIR/manifest.json        schema_version, the config and its hash
    DIR/runs/<run_id>.json   one file per finished run (temp file + fsync + os.replace)
    DIR/results.csv          all runs, one row each, rebuilt from runs/ (sorted by run_id)

``run_id`` is a stable hash of (task, estimator, options, n, seed): resuming skips the
run ids already on disk. Concurrent writers to one folder never corrupt it (each run is
its own atomically replaced file; a run done twice by two writers leaves one complete, equivalent row).

:func:`score` turns rows into one summary per (task, estimator, n): mean estimate, bias,
variance across seeds, MSE and RMSE, each with its standard error. Everything is in nats.

The only columns that depend on the machine are :data:`TIMING_COLUMNS`; every other
column is a function of the job alone (same seeds → same table, whichever executor).
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from mi_estimators._checks import check_choice

__all__ = [
    "SCHEMA_VERSION",
    "TIMING_COLUMNS",
    "RESULT_COLUMNS",
    "SUMMARY_COLUMNS",
    "Job",
    "make_grid",
    "run_job",
    "run_sweep",
    "load_runs",
    "write_results_csv",
    "read_results_csv",
    "score",
    "SweepConfig",
    "load_config",
    "parse_config",
    "atomic_write_text",
    "check_estimator_options",
    "get_task",
    "run_staircase",
    "write_staircase_csv",
    "validate_theory",
]

#: Version of the results-folder layout. A folder written by a newer version is refused.
SCHEMA_VERSION = 1

#: Columns that depend on the machine and the load, not on the job.
TIMING_COLUMNS = ("time_s",)

#: Columns of ``results.csv``, in order.
RESULT_COLUMNS = (
    "run_id", "task", "truth", "truth_stderr", "dim_x", "dim_y", "estimator", "label",
    "n", "seed", "options", "estimate", "stderr", "ci_low", "ci_high", "status", "error",
    "warnings", "config", "time_s",
)

#: Columns of :func:`score`'s summary rows, in order.
SUMMARY_COLUMNS = (
    "task", "label", "estimator", "n", "truth", "runs", "failed", "mean", "se_mean",
    "bias", "se_bias", "sd", "variance", "se_variance", "mse", "se_mse", "rmse",
    "mean_time_s",
)


def _canonical(obj) -> str:
    """Canonical JSON (sorted keys, no spaces): equal configs give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _hash(obj, length: int = 16) -> str:
    return hashlib.sha256(_canonical(obj).encode("utf-8")).hexdigest()[:length]


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


def _jsonable(value):
    """A JSON-serialisable copy of ``value`` (numpy scalars, tuples, tensors → plain)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


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
        "options": _canonical(_jsonable(job.options_dict)),
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
            config=_canonical(_jsonable(config)),
        )
    except Exception as exc:  # a failing estimator is a result, not a crash of the sweep
        row.update(
            estimate=math.nan, stderr=math.nan, ci_low=math.nan, ci_high=math.nan,
            status="error", error=f"{type(exc).__name__}: {exc}"[:2000], config="{}",
        )
    row["time_s"] = time.perf_counter() - start
    return {col: row.get(col, "") for col in RESULT_COLUMNS}


# --------------------------------------------------------------------------- results folder
def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically: temp file in the same folder, fsync, replace.

    A reader (or a resumed sweep) sees either the old file or the complete new one,
    never a partial write, even if the process is killed mid-way.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o644)  # mkstemp makes 0600; results are meant to be shared
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass


def _read_manifest(out: Path) -> dict | None:
    """The folder's manifest (None if it has none); refuses a schema this version cannot read."""
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{manifest_path} is not valid JSON ({err}); is this a results folder?") from err
    version = manifest.get("schema_version") if isinstance(manifest, dict) else None
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"results folder {out} has schema_version {version!r}, not an integer; "
                         "it was not written by mi-estimators: use a new folder")
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"results folder {out} has schema_version {version!r}, newer than this "
            f"mi-estimators understands ({SCHEMA_VERSION}); upgrade mi-estimators or use a new folder"
        )
    return manifest


def _check_manifest(out: Path, config: Mapping | None, extend: bool) -> None:
    manifest_path = out / "manifest.json"
    config = _jsonable(dict(config or {}))
    config_hash = _hash(config)
    manifest = _read_manifest(out)
    if manifest is not None:
        if manifest.get("config_hash") != config_hash and not extend:
            raise ValueError(
                f"results folder {out} was made by a different config (hash "
                f"{manifest.get('config_hash')} != {config_hash}); use a new folder, or "
                "--extend to add this config's runs to it"
            )
        if manifest.get("config_hash") == config_hash:
            return
    from mi_estimators import __version__

    manifest = {
        "schema_version": SCHEMA_VERSION,
        "config_hash": config_hash,
        "config": config,
        "mi_estimators_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def load_runs(out: str | os.PathLike) -> list[dict]:
    """All finished runs of a results folder, sorted by run_id.

    A run file that cannot be parsed (e.g. copied in half by hand — the sweep itself
    writes atomically) is skipped with a warning, so the run is done again on resume.
    """
    _read_manifest(Path(out))  # a folder from a newer schema is refused, not misread
    runs_dir = Path(out) / "runs"
    rows = []
    for path in sorted(runs_dir.glob("*.json")):
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            warnings.warn(f"ignoring unreadable run file {path} ({err}); it will be re-run", stacklevel=2)
            continue
        if row.get("run_id") != path.stem:
            warnings.warn(f"ignoring run file {path}: its run_id is {row.get('run_id')!r}", stacklevel=2)
            continue
        rows.append(row)
    return rows


def _csv_cell(value) -> str:
    if isinstance(value, float):
        return repr(value)  # shortest exact round-trip representation
    return "" if value is None else str(value)


def write_results_csv(rows: Iterable[Mapping], path: str | os.PathLike, timings: bool = True) -> None:
    """Write rows as CSV (atomically), columns :data:`RESULT_COLUMNS` (minus timings if asked)."""
    columns = [c for c in RESULT_COLUMNS if timings or c not in TIMING_COLUMNS]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in sorted(rows, key=lambda r: r["run_id"]):
        writer.writerow([_csv_cell(row.get(c, "")) for c in columns])
    atomic_write_text(path, buf.getvalue())


_INT_COLUMNS = {"n", "seed", "dim_x", "dim_y"}
_FLOAT_COLUMNS = {"truth", "truth_stderr", "estimate", "stderr", "ci_low", "ci_high", "time_s"}


def read_results_csv(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``results.csv`` with numbers parsed back (exactly: floats are written with repr)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for key in _INT_COLUMNS & row.keys():
            row[key] = int(row[key])
        for key in _FLOAT_COLUMNS & row.keys():
            row[key] = float(row[key]) if row[key] != "" else math.nan
    return rows


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
    :func:`load_runs`). ``executor``: an :class:`~mi_estimators.executors.Executor` or a
    spec for :func:`~mi_estimators.executors.get_executor` (default: a local process
    pool). ``config`` is recorded in ``manifest.json``; a folder made by another config
    is refused unless ``extend``. Failed runs (status "error") count as done unless
    ``retry_failed``. Returns the rows of ``jobs`` (sorted by run_id).
    """
    from mi_estimators.executors import Executor, get_executor

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


# --------------------------------------------------------------------------- TOML configs
_CONFIG_KEYS = {
    "name": "a name for the sweep (string)",
    "description": "free text (string)",
    "tasks": "task names (list of strings), e.g. ['gaussian:dim=5,mi=2']",
    "estimators": "estimator names or tables {name=..., label=..., option=value} (list)",
    "seeds": "number of seeds (int) or a list of seeds",
    "n": "sample size (int) or a list of sample sizes",
    "options": "options shared by the neural estimators, e.g. steps, batch_size, critic (table)",
}


@dataclasses.dataclass
class SweepConfig:
    """A validated sweep config (see ``docs/cli.md`` for the TOML format)."""

    tasks: list
    estimators: list
    seeds: list
    n: list
    options: dict
    name: str = "sweep"
    description: str = ""

    def jobs(self) -> list[Job]:
        """The grid; shared ``options`` go to the neural estimators only (own options win)."""
        specs = []
        for spec in self.estimators:
            shared = {} if _is_nonparametric(spec["name"]) else self.options
            own = {k: v for k, v in spec.items() if k not in ("name", "label")}
            specs.append({"name": spec["name"], "label": spec.get("label", spec["name"]), **shared, **own})
        return make_grid(self.tasks, specs, self.seeds, self.n)

    def to_dict(self) -> dict:
        return _jsonable(dataclasses.asdict(self))


def _is_nonparametric(name: str) -> bool:
    from mi_estimators.estimator import NONPARAMETRIC

    return name in NONPARAMETRIC


def check_estimator_options(name: str, options: Mapping) -> None:
    """Raise ValueError for an option ``estimate_mi(..., estimator=name)`` would not accept.

    Checks option names (listing the valid ones) and, for the neural estimators, the
    bound's hyper-parameter values — before any work starts. ``seed`` is refused: a
    sweep sets it from its ``seeds``.
    """
    import inspect

    from mi_estimators import estimator as api

    if "seed" in options:
        raise ValueError(f"estimator {name!r}: 'seed' is set by the sweep's seeds key, not as an option")
    if name in api.NONPARAMETRIC:
        from mi_estimators.nonparametric import NONPARAMETRIC_ESTIMATORS

        valid = set(NONPARAMETRIC_ESTIMATORS[name].options)
        hyper: set = set()
    else:
        from mi_estimators.bounds import BOUNDS

        # "auto" passes its extra options to its neural path (InfoNCE), plus its own
        hyper = set(BOUNDS["infonce" if name == "auto" else name].hyper_defaults)
        if name == "auto":
            from mi_estimators.auto import option_names

            valid = option_names() - {"seed", "progress"}
        else:
            params = inspect.signature(api.estimate_mi).parameters
            valid = ({p for p, v in params.items() if v.kind is v.KEYWORD_ONLY or p == "critic"}
                     | set(api.CRITIC_KEYS) | set(api.TRAIN_KEYS) | hyper) - {"seed", "progress"}
    valid |= {"transform"}   # estimate_mi's copula transform, for every estimator
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(
            f"unknown option {unknown[0]!r} for estimator {name!r}; valid options: {', '.join(sorted(valid))}"
        )
    if hyper:
        from mi_estimators.bounds import get_bound

        get_bound("infonce" if name == "auto" else name, **{k: v for k, v in options.items() if k in hyper})


def _type_error(where: str, expected: str, value) -> ValueError:
    return ValueError(f"{where} must be {expected}, got {value!r} ({type(value).__name__})")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_config(data: Mapping, *, source: str = "config", check_names: bool = True) -> SweepConfig:
    """Validate a sweep config mapping (a parsed TOML file) before any work starts.

    Raises ValueError naming the problem and the valid choices: unknown keys, missing
    keys, wrong types, unknown task or estimator names, duplicate labels.
    """
    unknown = sorted(set(data) - set(_CONFIG_KEYS))
    if unknown:
        valid = "; ".join(f"{k}: {v}" for k, v in _CONFIG_KEYS.items())
        raise ValueError(f"{source}: unknown key {unknown[0]!r}; valid keys are {valid}")
    for key in ("tasks", "estimators"):
        if key not in data:
            raise ValueError(f"{source}: missing key {key!r} ({_CONFIG_KEYS[key]})")
    tasks = data["tasks"]
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise _type_error(f"{source}: tasks", "a non-empty list of task names", tasks)
    estimators = data["estimators"]
    if not isinstance(estimators, list) or not estimators:
        raise _type_error(f"{source}: estimators", "a non-empty list", estimators)
    seeds = data.get("seeds", 3)
    if _is_int(seeds):
        if seeds < 1:
            raise ValueError(f"{source}: seeds must be >= 1, got {seeds}")
        seeds = list(range(seeds))
    elif not (isinstance(seeds, list) and seeds and all(_is_int(s) and s >= 0 for s in seeds)):
        raise _type_error(f"{source}: seeds", "a positive int or a list of ints >= 0", seeds)
    sizes = data.get("n", 1024)
    sizes = [sizes] if _is_int(sizes) else sizes
    if not (isinstance(sizes, list) and sizes and all(_is_int(s) and s >= 2 for s in sizes)):
        raise _type_error(f"{source}: n", "an int >= 2 or a list of them", data.get("n"))
    options = data.get("options", {})
    if not isinstance(options, Mapping):
        raise _type_error(f"{source}: options", "a table", options)
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise _type_error(f"{source}: {key}", "a string", data[key])

    known_estimators = estimator_names() if check_names else None
    labels = set()
    normalised = []
    for i, spec in enumerate(estimators):
        if isinstance(spec, str):
            spec = {"name": spec}
        elif isinstance(spec, Mapping):
            spec = dict(spec)
            if "name" not in spec:
                raise ValueError(f"{source}: estimators[{i}] needs a 'name' key, got {spec!r}")
        else:
            raise _type_error(f"{source}: estimators[{i}]", "a name or a table", spec)
        if not isinstance(spec["name"], str):
            raise _type_error(f"{source}: estimators[{i}].name", "a string", spec["name"])
        if known_estimators is not None:
            try:
                check_choice("estimator", spec["name"], known_estimators)
            except ValueError as err:
                raise ValueError(f"{source}: estimators[{i}]: {err}") from None
        label = spec.get("label", spec["name"])
        if not isinstance(label, str):
            raise _type_error(f"{source}: estimators[{i}].label", "a string", label)
        if label in labels:
            raise ValueError(
                f"{source}: two estimators share the label {label!r}; give variants distinct "
                "labels, e.g. {name='smile', label='smile-5', clip=5.0}"
            )
        labels.add(label)
        if check_names:
            own = {k: v for k, v in spec.items() if k not in ("name", "label")}
            shared = {} if _is_nonparametric(spec["name"]) else dict(options)
            try:
                check_estimator_options(spec["name"], {**shared, **own})
            except ValueError as err:
                raise ValueError(f"{source}: estimators[{i}] ({label}): {err}") from None
        normalised.append(spec)
    if check_names:
        for task in tasks:
            try:
                get_task(task)
            except ValueError as err:
                raise ValueError(f"{source}: tasks: {err}") from None
    return SweepConfig(
        tasks=list(tasks),
        estimators=normalised,
        seeds=[int(s) for s in seeds],
        n=[int(s) for s in sizes],
        options=dict(options),
        name=data.get("name", "sweep"),
        description=data.get("description", ""),
    )


def load_config(path: str | os.PathLike, *, check_names: bool = True) -> SweepConfig:
    """Read and validate a TOML sweep config (see :func:`parse_config`)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML: {err}") from None
    return parse_config(data, source=str(path), check_names=check_names)


# --------------------------------------------------------------------------- staircase
STAIRCASE_COLUMNS = ("label", "estimator", "critic", "transform", "step", "level", "truth", "estimate", "loss")


@dataclasses.dataclass(frozen=True)
class StaircaseJob:
    """One estimator's run of the staircase protocol (see :func:`run_staircase`)."""

    estimator: str
    label: str
    options: tuple
    critic: str
    transform: str
    levels: tuple
    steps_per_level: int
    dim: int
    batch_size: int
    lr: float
    seed: int
    device: str = "cpu"
    cuda_graph: object = "auto"


class _AllGraphSafe:
    """The bounds of one staircase group, graph-safe only if every one is (for resolve_cuda_graph)."""

    def __init__(self, bounds):
        import types

        self.graph_safe = all(getattr(b, "graph_safe", False) for b in bounds)
        self.info = types.SimpleNamespace(name="+".join(b.info.name for b in bounds))


def _staircase_one(job: StaircaseJob) -> list[dict]:
    return _staircase_group((job,))[0]


def _staircase_group(jobs: tuple[StaircaseJob, ...]) -> list[list[dict]]:
    """Run staircase jobs that differ only in their bound as one K-member critic ensemble.

    Every job of a staircase seeds its critic with the same seed and draws the same batch
    stream, so member k (initialised like the single critic, minimising job k's bound) is
    job k's separate run: one batched step instead of K. For the separable critic the
    estimates are bit-identical to separate runs (checked: 5 estimators x 100 steps, 0
    difference) and the staircase is ~1.2-2x faster on a CPU; run_staircase groups only
    separable-critic jobs (the joint critic's batched matmuls differ by round-off).
    """
    import numpy as np
    import torch

    from mi_estimators.bounds import get_bound
    import synthetic
    from mi_estimators.critics import make_critic
    from mi_estimators.training import cuda_graphed, make_adam, resolve_cuda_graph, resolve_device

    job = jobs[0]
    k = len(jobs)
    device = resolve_device(job.device)
    bounds = [get_bound(j.estimator, **dict(j.options)) for j in jobs]
    critic = make_critic(job.critic, job.dim, job.dim, n_critics=k, seed=job.seed)
    if k > 1:  # every member starts from the critic that seed builds (members would get seed + k)
        single = make_critic(job.critic, job.dim, job.dim, seed=job.seed)
        with torch.no_grad():
            for p, q in zip(critic.parameters(), single.parameters()):
                p.copy_(q.expand_as(p))
    critic = critic.to(device)
    use_graph = resolve_cuda_graph(job.cuda_graph, device, _AllGraphSafe(bounds))
    optimizer = make_adam(critic.parameters(), lr=job.lr, capturable=use_graph)
    rng = np.random.default_rng(_seeds(job.seed)[0])
    schedule = synthetic.staircase(job.levels, job.steps_per_level, job.dim,
                                   transform=None if job.transform == "gaussian" else job.transform)
    # One step writes its records into buffers that live across steps, so the same body runs
    # eagerly or replayed as a CUDA graph. On the CPU every step validates its scores as
    # before (bound.estimate raises at the first non-finite score); on a GPU that check would
    # be a host sync per bound per step, so the step records a finite flag and the first
    # non-finite step raises the same error after the loop.
    validate_now = device.type == "cpu"
    est_out = torch.zeros(k, dtype=torch.float64, device=device)
    loss_out = torch.zeros(k, dtype=torch.float64, device=device)
    finite_out = torch.ones((), dtype=torch.bool, device=device)

    def body(x, y):
        scores = critic(x, y)
        loss = torch.stack([b.loss(scores[i:i + 1]).sum() for i, b in enumerate(bounds)])   # (K,)
        optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        optimizer.step()
        with torch.no_grad():
            s = scores.detach()
            if validate_now:
                est = [b.estimate(s[i:i + 1]) for i, b in enumerate(bounds)]
            else:
                finite_out.copy_(torch.isfinite(s).all())
                est = [b._estimate(s[i:i + 1]) for i, b in enumerate(bounds)]
            est_out.copy_(torch.stack([e.reshape(-1)[0] for e in est]))
            loss_out.copy_(loss.detach())

    train_step = cuda_graphed(body, device) if use_graph else body
    estimates, losses, finite = [], [], []
    for task in schedule:
        x, y = task.sample(job.batch_size, seed=rng)
        train_step(torch.as_tensor(x, dtype=torch.float32).to(device), torch.as_tensor(y, dtype=torch.float32).to(device))
        estimates.append(est_out.clone())
        losses.append(loss_out.clone())
        if not validate_now:
            finite.append(finite_out.clone())
    if finite:
        bad = (~torch.stack(finite)).nonzero().flatten().tolist()
        if bad:
            raise ValueError(
                f"scores contain NaN/inf entries (first at training step {bad[0]} of the staircase); "
                "the critic produced non-finite values"
            )
    est = torch.stack(estimates).double().T.tolist()   # (K, steps)
    los = torch.stack(losses).double().T.tolist()
    out = []
    for j, est_j, los_j in zip(jobs, est, los):
        rows = []
        for step, (e, l) in enumerate(zip(est_j, los_j)):
            level = step // j.steps_per_level
            rows.append(
                dict(label=j.label, estimator=j.estimator, critic=j.critic, transform=j.transform,
                     step=step, level=level, truth=float(j.levels[level]), estimate=e, loss=l)
            )
        out.append(rows)
    return out


def parse_estimator_spec(spec: str) -> tuple[str, dict, str]:
    """``"smile:clip=5"`` → ``("smile", {"clip": 5}, "smile:clip=5")``: name, options, label."""
    name, _, args = spec.partition(":")
    options = {}
    for part in filter(None, (p.strip() for p in args.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"estimator spec {spec!r}: expected NAME or NAME:key=value,key=value")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value.strip()
    return name.strip(), options, spec.strip()


def run_staircase(
    estimators: Sequence[str] = ("infonce", "nwj", "js", "smile"),
    *,
    critic: str = "separable",
    transform: str = "gaussian",
    levels: Sequence[float] = (2.0, 4.0, 6.0, 8.0, 10.0),
    steps_per_level: int = 4000,
    dim: int = 20,
    batch_size: int = 64,
    lr: float = 5e-4,
    seed: int = 0,
    device: str = "cpu",
    cuda_graph="auto",
    executor=None,
    progress: bool = False,
) -> list[dict]:
    """The staircase protocol of Poole et al. (2019) and Song & Ermon (2020).

    Each estimator (a bound name, optionally with options: ``"smile:clip=5"``) trains its
    own critic with Adam on a stream of fresh batches of the ``dim``-dimensional
    correlated Gaussian whose true MI steps through ``levels`` (nats), ``steps_per_level``
    steps each; ``transform="cubic"`` maps y → y³ (MI unchanged). The estimate on each
    training batch is recorded at every step, as in the papers' figures. Defaults are
    the papers': d = 20, MI 2 → 10 nats, batch 64, Adam 5e-4, 2×256 MLP encoders with
    32-dim embeddings (separable) or a 2×256 MLP on [x, y] (joint).

    Returns records with :data:`STAIRCASE_COLUMNS` (one per estimator and step).
    Estimators run as independent jobs through ``executor`` (default: in this process);
    with the separable critic, the estimators of one process train as one critic ensemble
    (identical numbers, one batched step per step). ``device``: ``"cpu"``, ``"cuda"`` or
    ``"auto"``; the batches are drawn on the host (the same stream on every device) and
    the records stay on the device until the end of each job (no host sync per step).
    ``cuda_graph`` (``"auto"``, ``True``, ``False``): on CUDA, replay each step as one CUDA
    graph after 3 eager warm-up steps, as :func:`mi_estimators.training.fit_critic` does
    (not with MINE, whose moving average is Python state).
    """
    from mi_estimators.executors import Executor, LocalExecutor, SerialExecutor, get_executor

    check_choice("critic", critic, ["separable", "joint"])
    check_choice("transform", transform, ["gaussian", "cubic"])
    if not levels or any(not (math.isfinite(float(v)) and float(v) > 0) for v in levels):
        raise ValueError(f"levels must be positive MI values in nats, got {list(levels)!r}")
    from mi_estimators.bounds import get_bound
    from mi_estimators.training import resolve_cuda_graph, resolve_device

    device = str(resolve_device(device))   # clear ValueErrors now, not inside a worker
    jobs, bounds = [], []
    for spec in estimators:
        name, options, label = parse_estimator_spec(spec)
        bounds.append(get_bound(name, **options))  # validate names and options before any training
        jobs.append(StaircaseJob(name, label, tuple(sorted(options.items())), critic, transform,
                                 tuple(float(v) for v in levels), int(steps_per_level), int(dim),
                                 int(batch_size), float(lr), int(seed), device, cuda_graph))
    resolve_cuda_graph(cuda_graph, device, _AllGraphSafe(bounds))
    if len({j.label for j in jobs}) != len(jobs):
        raise ValueError(f"the staircase lists an estimator twice: {list(estimators)!r}")
    own = not isinstance(executor, Executor)
    executor = SerialExecutor() if executor is None else get_executor(executor)
    results: dict[str, list[dict]] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), unit="estimator", desc="staircase", leave=False)
    # Separable-critic jobs train as ensembles (same numbers, one batched step): all in one
    # group in this process, one group per worker in a local pool, separately elsewhere.
    # On a GPU a local pool gets one group too: one ensemble on the device is faster than
    # processes sharing it (measured: 4 x 20 000 steps, 59 s as 4 processes, see docs/performance.md §7).
    if critic != "separable" or not isinstance(executor, (SerialExecutor, LocalExecutor)):
        n_groups = len(jobs)
    elif isinstance(executor, SerialExecutor) or device != "cpu":
        n_groups = 1
    else:
        n_groups = min(executor.n_workers, len(jobs))
    groups = [tuple(jobs[i::n_groups]) for i in range(n_groups)]
    try:
        for group, group_rows in executor.map_unordered(_staircase_group, groups):
            for job, rows in zip(group, group_rows):
                results[job.label] = rows
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if own:
            executor.close()
    return [row for job in jobs for row in results[job.label]]


def write_staircase_csv(records: Sequence[Mapping], path: str | os.PathLike) -> Path:
    """Write staircase records as CSV (atomically) and return the path."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(STAIRCASE_COLUMNS)
    for r in records:
        writer.writerow([_csv_cell(r[c]) for c in STAIRCASE_COLUMNS])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, buf.getvalue())
    return path


# --------------------------------------------------------------------------- theory checks
def _check(name: str, value: float, reference: float, tolerance: float, passed: bool, detail: str = "") -> dict:
    return dict(check=name, value=float(value), reference=float(reference), tolerance=float(tolerance),
                passed=bool(passed), detail=detail)


def _oracle_scores(task, batch: int, rng, shift: float = 0.0):
    """``S[i, j] = log r(x_i, y_j) + shift`` for one batch of the task (float64 torch)."""
    import torch

    x, y = task.sample(batch, seed=rng)
    s = task.log_ratio(x[:, None, :], y[None, :, :]) + shift
    return torch.as_tensor(s, dtype=torch.float64)


def _bound_checks(seed: int) -> list[dict]:
    """Ceilings and oracle tightness for the KL bounds of :mod:`mi_estimators.bounds`."""
    import numpy as np

    from mi_estimators import bounds as B
    from synthetic import CorrelatedGaussian

    checks = []
    rng = np.random.default_rng(seed)
    batch = 128
    # 1. Every bound with a ceiling (InfoNCE's log B, the alpha-bound's) stays below it,
    #    even at I >> log B (d = 10, rho = 0.9: I = 8.30 nats), at the oracle critic.
    high = CorrelatedGaussian(10, rho=0.9)
    batches = [_oracle_scores(high, batch, rng)[None] for _ in range(10)]
    for info in B.describe_bounds():
        ceiling = info.ceiling(batch)
        if ceiling is None:
            continue
        bound = B.get_bound(info.name)
        worst = max(float(bound.estimate(s).max()) for s in batches)
        checks.append(_check(f"{info.name} <= its ceiling (B={batch}, I={high.mi:.2f})", worst, ceiling, 0.0,
                             worst <= ceiling + 1e-9, "max over 10 oracle batches"))
    # 2. Oracle critics are tight (math_spec §7), d = 2, rho = 0.5, B = 256. NWJ at
    #    S = 1 + log r and JS (reported as NWJ(S + 1)) at S = log r are unbiased: mean within
    #    4 se of the truth. DV and InfoNCE take a log of a B-sample mean, biased by
    #    -Var_Q(r) / (2B) to first order (delta method; Var_Q(r) = e^{2I} - 1 for this
    #    Gaussian): allow 4 se + twice that, (e^{2I} - 1) / B.
    low = CorrelatedGaussian(2, rho=0.5)
    batch, reps = 256, 60
    gap = math.expm1(2 * low.mi) / batch
    for name, shift in (("nwj", 1.0), ("js", 0.0), ("dv", 0.0), ("infonce", 0.0)):
        bound = B.get_bound(name)
        est = np.array([float(bound.estimate(_oracle_scores(low, batch, rng, shift)[None]).reshape(-1)[0])
                        for _ in range(reps)])
        mean, se = est.mean(), est.std(ddof=1) / math.sqrt(reps)
        tol = 4 * se + (gap if name in ("infonce", "dv") else 0.0)
        checks.append(_check(f"{name} oracle critic tight (I={low.mi:.4f})", mean, low.mi, tol,
                             abs(mean - low.mi) <= tol, f"{reps} batches of {batch}; se {se:.4f}"))
    return checks


def _dro_checks(seed: int) -> list[dict]:
    """DRO: the temperature is the Lagrange multiplier of the KL ball (Wu et al., 2023)."""
    import numpy as np
    from scipy import optimize

    from mi_estimators import theory

    checks = []
    f = np.random.default_rng(seed).standard_normal(256)
    for tau in (0.5, 1.0, 2.0):
        eta = theory.implied_radius(f, tau)
        # independent of theory's root solve: minimise the dual D(alpha) numerically (Brent in log alpha)
        res = optimize.minimize_scalar(lambda la: theory.kl_dro_dual(f, math.exp(la), eta),
                                       bounds=(math.log(tau) - 3, math.log(tau) + 3), method="bounded",
                                       options={"xatol": 1e-10})
        alpha = math.exp(res.x)
        checks.append(_check(f"DRO argmin_alpha dual = tau (tau={tau})", alpha, tau, 1e-4 * tau,
                             abs(alpha - tau) <= 1e-4 * tau, f"eta(tau) = {eta:.4f}; Brent on the dual"))
    return checks


def _dcl_checks(seed: int) -> list[dict]:
    r"""DCL's debiased negative term converges at rate N^{-1/2} (Chuang et al., 2020, Thm 3).

    Anchors with a fixed positive score s⁺ = −3 (so the loss is ≈ log Ng − s⁺ and its gap
    is the relative error of g), negatives drawn from τ⁺ N(1, .3²) + τ⁻ N(0, .3²), and
    M = N extra positives from N(1, .3²): the mean |L^{N,M} − L̃| over many anchors is
    fitted against N on a log–log scale; the slope must be −1/2 within 4 standard errors
    (bootstrap over anchors).
    """
    import numpy as np
    import torch

    from mi_estimators.losses import dcl_loss

    rng = np.random.default_rng(seed)
    tau_plus, sd, s_pos = 0.2, 0.3, -3.0
    e_neg = math.exp(0.0 + sd**2 / 2)  # E_{p-} e^S for S ~ N(0, sd^2)
    sizes = [16, 64, 256, 1024]
    anchors = 2048
    gaps = []
    for n_neg in sizes:
        b = n_neg + 1
        errs = []
        for _ in range(max(1, anchors // b)):
            is_pos = rng.random((b, b)) < tau_plus
            scores = np.where(is_pos, 1.0, 0.0) + sd * rng.standard_normal((b, b))
            np.fill_diagonal(scores, s_pos)
            extra = 1.0 + sd * rng.standard_normal((b, n_neg))
            loss = dcl_loss(torch.as_tensor(scores), tau_plus=tau_plus, temperature=0.5,
                            positive_scores=torch.as_tensor(extra), reduction="none").numpy()
            ideal = np.logaddexp(0.0, math.log(n_neg * e_neg) - s_pos)
            errs.append(np.abs(loss - ideal))
        gaps.append(np.concatenate(errs))
    logn = np.log(sizes)

    def slope(samples):
        return np.polyfit(logn, np.log([g.mean() for g in samples]), 1)[0]

    est = slope(gaps)
    boot = [slope([g[rng.integers(0, len(g), len(g))] for g in gaps]) for _ in range(200)]
    se = float(np.std(boot, ddof=1))
    tol = 4 * se
    return [_check("DCL gap |L^{N,M} - L| ~ N^-1/2 (log-log slope)", est, -0.5, tol, abs(est + 0.5) <= tol,
                   f"N = {sizes}, {anchors} anchors each; bootstrap se {se:.3f}")]


def validate_theory(seed: int = 0, progress: bool = False) -> list[dict]:
    """Run the theory checks; return one dict per check (check, value, reference, tolerance, passed, detail).

    - bounds never above their ceilings (InfoNCE ≤ log B at I ≫ log B);
    - oracle critics tight (NWJ, DV, InfoNCE, JS at the optimal critic of math_spec §7);
    - DRO: the argmin of the KL-ball dual is the temperature (Wu et al., 2023);
    - DCL: the debiased loss's finite-N gap decays like N^{-1/2} (Chuang et al., 2020).
    """
    groups = [("bounds", _bound_checks), ("dro", _dro_checks), ("dcl", _dcl_checks)]
    checks = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(groups), unit="group", desc="validate", leave=False)
    for name, fn in groups:
        try:
            checks.extend(fn(seed))
        except ImportError as err:
            checks.append(_check(f"{name}: module missing", math.nan, math.nan, math.nan, False, str(err)))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return checks
