"""Compatibility module: the names that lived here before the package was layered.

``estimate_mi`` and ``list_estimators`` live in :mod:`mi_estimators.api`, ``MIEstimator`` in
:mod:`mi_estimators.sklearn_api`, ``MIResult`` in :mod:`mi_estimators.result`, the input
checks in :mod:`mi_estimators._checks`, the option defaults in :mod:`mi_estimators.options`
and the neural path's constants in :mod:`mi_estimators.neural`. Nothing in the package
imports this module.
"""
from mi_estimators._checks import check_xy, constant_columns
from mi_estimators.api import AUTO, estimate_mi, list_estimators
from mi_estimators.neural import DEFAULT_HIDDEN, TRAINING_BOUND_DEFAULTS, UNSTABLE_STDERR
from mi_estimators.nonparametric import NONPARAMETRIC
from mi_estimators.options import COMBINE, CriticOptions, TrainOptions
from mi_estimators.result import MIResult
from mi_estimators.sklearn_api import MIEstimator

__all__ = ["estimate_mi", "MIEstimator", "MIResult", "list_estimators"]

DEFAULT_STEPS = TrainOptions.steps
DEFAULT_BATCH_SIZE = TrainOptions.batch_size
DEFAULT_LR = TrainOptions.lr
DEFAULT_EVAL_EVERY = TrainOptions.eval_every
DEFAULT_PATIENCE = TrainOptions.patience
CRITIC_KEYS = CriticOptions.SPECIFIC
TRAIN_KEYS = ("eval_batch_size", "final_repeats", "weight_decay", "split_seed", "num_threads", "cuda_graph")
