"""Compatibility module: the report code lives in :mod:`mi_estimators.bench.report`."""
from mi_estimators.bench.report import (
    format_table,
    plot_bias_variance,
    plot_error_vs_n,
    plot_estimate_vs_truth,
    plot_staircase,
    write_report,
    write_summary_csv,
)

__all__ = [
    "format_table",
    "write_summary_csv",
    "plot_bias_variance",
    "plot_estimate_vs_truth",
    "plot_error_vs_n",
    "plot_staircase",
    "write_report",
]
