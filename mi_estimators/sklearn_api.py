"""The scikit-learn style wrapper: :class:`MIEstimator` (``method=...``)."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator

from mi_estimators.api import AUTO, estimate_mi
from mi_estimators.options import CriticOptions, TrainOptions

__all__ = ["MIEstimator"]


class MIEstimator(BaseEstimator):
    """Mutual information estimator with scikit-learn conventions.

    ``MIEstimator(method="auto", critic=None, ...).fit(x, y)`` estimates exactly like
    :func:`mi_estimators.estimate_mi` with the same arguments (``method`` is its
    ``estimator``; ``options``: a dict of extra keyword options, e.g.
    ``{"divergence": "js"}``), and sets ``mi_`` (nats), ``stderr_``, ``interval_``,
    ``per_critic_``, ``history_``, ``result_`` (the :class:`mi_estimators.MIResult`) and
    ``n_features_in_`` (in ``units``: ``"nats"`` or ``"bits"``). ``__init__`` stores the parameters unchanged;
    ``get_params``/``set_params``/``clone`` work. Not a predictor: both x and y are required.
    ``estimator=`` is the deprecated name of ``method`` (in scikit-learn, ``estimator=``
    holds an estimator object); it still works, takes precedence over ``method``, and warns.
    """

    def __init__(self, method=AUTO, critic=None, *, n_critics=None, combine=None, seed=0,
                 steps=TrainOptions.steps, batch_size=TrainOptions.batch_size, lr=TrainOptions.lr,
                 hidden=None, embed_dim=CriticOptions.embed_dim, activation=CriticOptions.activation,
                 device=TrainOptions.device, standardize=TrainOptions.standardize,
                 heldout_fraction=TrainOptions.heldout_fraction, eval_every=TrainOptions.eval_every,
                 patience=TrainOptions.patience, dtype=TrainOptions.dtype, progress=TrainOptions.progress,
                 units="nats", options=None, estimator=None):
        self.method = method
        self.critic = critic
        self.n_critics = n_critics
        self.combine = combine
        self.seed = seed
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.hidden = hidden
        self.embed_dim = embed_dim
        self.activation = activation
        self.device = device
        self.standardize = standardize
        self.heldout_fraction = heldout_fraction
        self.eval_every = eval_every
        self.patience = patience
        self.dtype = dtype
        self.progress = progress
        self.units = units
        self.options = options
        self.estimator = estimator

    def _method(self) -> str:
        if self.estimator is None:
            return self.method
        warnings.warn(f"MIEstimator(estimator={self.estimator!r}) is deprecated and overrides method="
                      f"{self.method!r}: use MIEstimator(method=...) (in scikit-learn, estimator= holds an "
                      "estimator object)", FutureWarning, stacklevel=3)
        return self.estimator

    def fit(self, x, y=None):
        """Estimate I(x; y) and store it in ``mi_``; returns ``self``."""
        if y is None:
            raise ValueError("MIEstimator.fit needs both x and y (paired samples); got y=None")
        params = self.get_params(deep=False)
        options = params.pop("options") or {}
        params.pop("estimator")
        params.pop("method")
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict of keyword options or None, got {options!r}")
        clash = sorted(set(options) & (set(params) | {"method", "estimator"}))
        if clash:
            raise ValueError(f"options repeats constructor parameter(s) {clash}; set them directly")
        result = estimate_mi(x, y, self._method(), **params, **options)
        self.result_ = result
        self.mi_ = result.mi
        self.stderr_ = result.stderr
        self.interval_ = result.interval
        self.per_critic_ = result.per_critic
        self.history_ = result.history
        self.n_features_in_ = int(result.config.get("dim_x", np.shape(x)[1] if np.ndim(x) > 1 else 1))
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "mi_")
