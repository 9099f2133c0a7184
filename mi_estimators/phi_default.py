r"""The φ-MI default: ``estimate_mi(x, y, divergence=...)`` with no estimator named.

:func:`run_phi_default` is what :func:`mi_estimators.estimate_mi` runs for ``estimator="auto"``
(the default) when a ``divergence=`` is given. It picks the route of :data:`PHI_ROUTES` for
that divergence, runs it, and reports it as ``auto`` does: ``result.estimator == "auto"``,
``result.target`` the divergence, ``details["auto"]`` with the method, its options, the
reason, the sampling interval and the bias allowance that widened it
(:data:`PHI_BIAS_ALLOWANCE`).

Routes: ``"auto"`` (KL: auto's own rules, :mod:`mi_estimators.auto`) or ``"phi-plugin"``
(one InfoNCE ratio critic ensemble read by plug-in, :mod:`mi_estimators.phi_plugin`, with
:data:`PHI_PLUGIN_OPTIONS`). Both were chosen on the choose half of the φ-MI tasks
(benchmarks/phi_accuracy.py, docs/accuracy.md "φ-MI"); the report half measures them.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from mi_estimators._checks import check_choice
from mi_estimators.options import CriticOptions, TrainOptions
from mi_estimators.result import MIResult, to_jsonable

__all__ = ["PHI_ROUTES", "PHI_PLUGIN_OPTIONS", "PHI_BIAS_ALLOWANCE", "phi_route", "run_phi_default"]

#: Route per divergence (any divergence not listed: ``"phi-plugin"``).
PHI_ROUTES = {"kl": "auto"}

#: Options of the plug-in route: whitened blocks, 4 separable 128-128-128 critics read as one
#: (their mean score), trained to InfoNCE with early stopping on its held-out value.
PHI_PLUGIN_OPTIONS = dict(standardize="whiten", hidden=(128, 128, 128), n_critics=4, combine="scores")

#: ``(down, up)``: fractions of |I_φ| added below / above the plug-in's sampling interval,
#: per divergence (the critic's own error, which the jackknife does not see).
PHI_BIAS_ALLOWANCE = {}

_REASONS = {
    "auto": "KL: auto's own rules (KSG in low dimension, InfoNCE above), the most accurate KL route",
    "phi-plugin": ("{div}: one InfoNCE ratio critic (4 separable members, their mean score, on whitened blocks) "
                   "read by plug-in, mean φ(r̂) over held-out product pairs with r̂ self-normalised per anchor; "
                   "it had the smallest error of the φ-capable routes on the choose half (trained f-MICL and "
                   "DRO-dual fall below the truth above 2 dimensions, docs/estimators/phi-mi-analysis.md)"),
}


def phi_route(divergence: str) -> tuple[str, str]:
    """``(route, reason)`` of the φ default for ``divergence``."""
    from mi_estimators.divergences import list_divergences

    div = check_choice("divergence", divergence, list_divergences())
    route = PHI_ROUTES.get(div, "phi-plugin")
    return route, _REASONS[route].format(div=div)


def _with_defaults(train: TrainOptions, critic: CriticOptions) -> tuple[TrainOptions, CriticOptions]:
    """The plug-in route's options where the user left estimate_mi's defaults."""
    o = PHI_PLUGIN_OPTIONS
    if train.standardize == TrainOptions.standardize:
        train = dataclasses.replace(train, standardize=o["standardize"])
    critic = critic.with_defaults(hidden=o["hidden"], n_critics=o["n_critics"], combine=o["combine"])
    return train, critic


def run_phi_default(name: str, x: np.ndarray, y: np.ndarray, *, seed: int, train: TrainOptions,
                    critic: CriticOptions, options: dict) -> MIResult:
    """The φ default on checked samples (``name`` is ``"auto"``; ``options`` hold ``divergence``).

    The reported 95 % interval is the route's sampling interval widened by
    :data:`PHI_BIAS_ALLOWANCE` ``[divergence]`` (``[lo − c↓|I|, hi + c↑|I|]``); the route's
    own interval is kept in ``details["auto"]["interval_sampling"]``.
    """
    t0 = time.perf_counter()
    options = dict(options)
    div = options.pop("divergence")
    route, reason = phi_route(div)
    if route == "auto":
        from mi_estimators.auto import run_auto

        if options.pop("alpha", None) is not None:
            raise ValueError("alpha= applies to divergence='tsallis' only")
        result = run_auto("auto", x, y, seed=seed, train=train, critic=critic, options=options)
        result.details["auto"]["reason"] = f"{reason}; {result.details['auto']['reason']}"
        return result
    from mi_estimators.phi_plugin import run_phi_plugin

    train, critic = _with_defaults(train, critic)
    res = run_phi_plugin("phi-plugin", x, y, seed=seed, train=train, critic=critic,
                         options=dict(options, divergence=div))
    sampling = tuple(float(v) for v in res.interval)
    down, up = PHI_BIAS_ALLOWANCE.get(div, (0.0, 0.0))
    interval = (sampling[0] - down * abs(res.mi), sampling[1] + up * abs(res.mi))
    details = dict(res.details)
    details["auto"] = dict(method="phi-plugin", reported="phi-plugin", options=dict(res.config), reason=reason,
                           divergence=div, interval_sampling=list(sampling), bias_allowance=[down, up])
    config = dict(res.config, estimator="auto", auto_method="phi-plugin", auto_reason=reason, seed=seed)
    return dataclasses.replace(res, estimator="auto", interval=interval, config=to_jsonable(config),
                               details=to_jsonable(details), seconds=time.perf_counter() - t0)
