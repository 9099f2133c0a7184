"""The results folder of a sweep: its layout, atomic writes, the manifest, ``results.csv``.

::

    DIR/manifest.json        schema_version, the config and its hash
    DIR/runs/<run_id>.json   one file per finished run (temp file + fsync + os.replace)
    DIR/results.csv          all runs, one row each, rebuilt from runs/ (sorted by run_id)

Every file is written with :func:`atomic_write_text`, so a reader (or a resumed sweep)
sees the old file or the complete new one, never a partial write. A folder whose
``schema_version`` is newer than :data:`SCHEMA_VERSION` is refused, not misread. The only
columns that depend on the machine are :data:`TIMING_COLUMNS`.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Iterable, Mapping

from mi_estimators.result import to_jsonable

__all__ = [
    "SCHEMA_VERSION",
    "TIMING_COLUMNS",
    "RESULT_COLUMNS",
    "SUMMARY_COLUMNS",
    "atomic_write_text",
    "load_runs",
    "write_results_csv",
    "read_results_csv",
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


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


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
    config = to_jsonable(dict(config or {}))
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
