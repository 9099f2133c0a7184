"""Compatibility module: the executors live in :mod:`mi_estimators.bench.executors`."""
from mi_estimators.bench.executors import *  # noqa: F401,F403
from mi_estimators.bench.executors import __all__  # noqa: F401
