"""Compatibility module: the report code lives in :mod:`mi_estimators.bench.report`."""
from mi_estimators.bench.report import *  # noqa: F401,F403
from mi_estimators.bench.report import __all__  # noqa: F401
