"""The benchmark layer: sweeps, their results folders, configs, the staircase, theory checks, reports.

Modules: :mod:`~mi_estimators.bench.sweep` (jobs, grids, :func:`run_sweep`, :func:`score`),
:mod:`~mi_estimators.bench.store` (the results folder), :mod:`~mi_estimators.bench.config`
(TOML sweep configs), :mod:`~mi_estimators.bench.staircase` (the Poole / Song-Ermon
protocol), :mod:`~mi_estimators.bench.checks` (``mi-bench validate``),
:mod:`~mi_estimators.bench.executors` (where jobs run), :mod:`~mi_estimators.bench.report`
(tables and plots), :mod:`~mi_estimators.bench.files` (data files) and
:mod:`~mi_estimators.bench.cli` (the ``mi-bench`` command). It builds on the estimator
layer; nothing below it imports it. The names below load on first use, so importing the
subpackage loads no torch.
"""
from __future__ import annotations

import importlib

# public name -> module that defines it (imported on first access)
_LAZY = {
    **dict.fromkeys(("SCHEMA_VERSION", "TIMING_COLUMNS", "RESULT_COLUMNS", "SUMMARY_COLUMNS",
                     "atomic_write_text", "load_runs", "write_results_csv", "read_results_csv"),
                    "mi_estimators.bench.store"),
    **dict.fromkeys(("Job", "make_grid", "get_task", "list_task_names", "estimator_names", "run_job",
                     "run_sweep", "score"), "mi_estimators.bench.sweep"),
    **dict.fromkeys(("SweepConfig", "parse_config", "load_config", "check_estimator_options"),
                    "mi_estimators.bench.config"),
    **dict.fromkeys(("STAIRCASE_COLUMNS", "StaircaseJob", "run_staircase", "write_staircase_csv",
                     "parse_estimator_spec"), "mi_estimators.bench.staircase"),
    "validate_theory": "mi_estimators.bench.checks",
    **dict.fromkeys(("Executor", "SerialExecutor", "LocalExecutor", "DaskExecutor", "get_executor"),
                    "mi_estimators.bench.executors"),
    **dict.fromkeys(("format_table", "write_report", "plot_staircase"), "mi_estimators.bench.report"),
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'mi_estimators.bench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
