"""Compatibility module: the executors live in :mod:`mi_estimators.bench.executors`."""
from mi_estimators.bench.executors import (
    DaskExecutor,
    Executor,
    LocalExecutor,
    SerialExecutor,
    get_executor,
    limit_threads,
)

__all__ = [
    "Executor",
    "SerialExecutor",
    "LocalExecutor",
    "DaskExecutor",
    "get_executor",
    "limit_threads",
]
