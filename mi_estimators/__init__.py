"""mi-estimators: mutual information (KL and φ-divergence MI) from samples, in nats.

The public one-call API is :func:`estimate_mi` and the scikit-learn style
:class:`MIEstimator`. Heavy modules (torch) are imported lazily, so
``import mi_estimators`` stays fast; they load on first use of an attribute.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# attribute -> module that defines it (imported on first access)
_LAZY = {
    "estimate_mi": "mi_estimators.estimator",
    "MIEstimator": "mi_estimators.estimator",
    "MIResult": "mi_estimators.estimator",
    "list_estimators": "mi_estimators.estimator",
    "TrainingDivergedError": "mi_estimators.training",
    "bounds": "mi_estimators.bounds",
    "divergences": "mi_estimators.divergences",
    "critics": "mi_estimators.critics",
    "training": "mi_estimators.training",
    "losses": "mi_estimators.losses",
    "theory": "mi_estimators.theory",
    "nonparametric": "mi_estimators.nonparametric",
    "evaluation": "mi_estimators.evaluation",
    "report": "mi_estimators.report",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'mi_estimators' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.rsplit(".", 1)[1] == name else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
