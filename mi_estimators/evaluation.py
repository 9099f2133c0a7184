"""Compatibility module: the benchmark code lives in :mod:`mi_estimators.bench` (sweep, store, config, staircase, checks)."""
from mi_estimators.bench.checks import validate_theory
from mi_estimators.bench.config import SweepConfig, check_estimator_options, load_config, parse_config
from mi_estimators.bench.staircase import run_staircase, write_staircase_csv
from mi_estimators.bench.store import (
    RESULT_COLUMNS,
    SCHEMA_VERSION,
    SUMMARY_COLUMNS,
    TIMING_COLUMNS,
    atomic_write_text,
    load_runs,
    read_results_csv,
    write_results_csv,
)
from mi_estimators.bench.sweep import Job, get_task, make_grid, run_job, run_sweep, score

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
