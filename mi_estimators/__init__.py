"""mi-estimators: mutual information (KL and φ-divergence MI) from samples, in nats.

The estimation API first: :func:`estimate_mi` (one call, returns an :class:`MIResult`),
:class:`MIEstimator` (scikit-learn style), :func:`list_estimators`, :func:`estimate_auto`
and the option groups :class:`TrainOptions` and :class:`CriticOptions`. Then the layers
beneath (``bounds``, ``critics``, ``training``, ...), the ``contrastive`` losses and DRO
theory, and the ``bench`` layer (sweeps, staircase, reports, the ``mi-bench`` command).
Everything is imported lazily, on first use of an attribute, so ``import mi_estimators``
stays fast (no torch). ``docs/architecture.md`` draws the layers.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# attribute -> "module:attribute" (a name defined in a module) or "module" (the module itself)
_LAZY = {
    "estimate_mi": "mi_estimators.api:estimate_mi",
    "estimate_cmi": "mi_estimators.api:estimate_cmi",
    "independence_test": "mi_estimators.independence:independence_test",
    "MIEstimator": "mi_estimators.sklearn_api:MIEstimator",
    "MIResult": "mi_estimators.result:MIResult",
    "list_estimators": "mi_estimators.api:list_estimators",
    "estimate_auto": "mi_estimators.auto:estimate_auto",
    "TrainOptions": "mi_estimators.options:TrainOptions",
    "CriticOptions": "mi_estimators.options:CriticOptions",
    "TrainingDivergedError": "mi_estimators.training:TrainingDivergedError",
    "bounds": "mi_estimators.bounds",
    "divergences": "mi_estimators.divergences",
    "critics": "mi_estimators.critics",
    "training": "mi_estimators.training",
    "nonparametric": "mi_estimators.nonparametric",
    "contrastive": "mi_estimators.contrastive",
    "losses": "mi_estimators.contrastive.losses",
    "theory": "mi_estimators.contrastive.dro",
    "bench": "mi_estimators.bench",
    "evaluation": "mi_estimators.evaluation",
    "report": "mi_estimators.bench.report",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'mi_estimators' has no attribute {name!r}")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
