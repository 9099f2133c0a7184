r"""The φ-MI default: ``estimate_mi(x, y, divergence=...)`` with no estimator named.

:func:`run_phi_default` is what :func:`mi_estimators.estimate_mi` runs for ``estimator="auto"``
(the default) when a ``divergence=`` is given. It picks a route (:func:`phi_route`), runs it, and reports it as ``auto`` does: ``result.estimator == "auto"``,
``result.target`` the divergence, ``details["auto"]`` with the method, its options, the
reason, the sampling interval and the bias allowance that widened it
(:data:`PHI_BIAS_ALLOWANCE`).

Routes: ``"auto"`` (KL: auto's own rules, :mod:`mi_estimators.auto`); otherwise ``"gaussian-copula"``
(when the Gaussian-copula test, :func:`mi_estimators.copula.copula_test_checked`, does not reject
at :data:`PHI_COPULA_LEVEL`: :func:`gaussian_copula_phi`) or ``"phi-plugin"`` (one InfoNCE ratio
critic ensemble read by plug-in, :mod:`mi_estimators.phi_plugin`, with :data:`PHI_PLUGIN_OPTIONS`).
The same order as auto's KL rules. Chosen on the choose half of the φ-MI tasks
(benchmarks/phi_accuracy.py, docs/accuracy.md "φ-MI"); the report half measures them.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from mi_estimators._checks import check_choice
from mi_estimators.canonical import canonical_correlations  # re-exported: its former home
from mi_estimators.options import CriticOptions, TrainOptions
from mi_estimators.result import MIResult, jackknife_stderr, to_jsonable

__all__ = ["PHI_ROUTES", "PHI_PLUGIN_OPTIONS", "PHI_BIAS_ALLOWANCE", "PHI_COPULA_LEVEL", "DEGENERATE_RHO",
           "ATTENUATION_RHO", "phi_route",
           "canonical_correlations", "gaussian_copula_phi", "gaussian_copula_phi_parts", "run_phi_default"]

#: Fixed routes per divergence (the others: the Gaussian-copula test decides, :func:`phi_route`).
PHI_ROUTES = {"kl": "auto"}

#: Options of the plug-in route: whitened blocks, 4 separable 128-128-128 critics read as one
#: (their mean score), trained to InfoNCE with early stopping on its held-out value.
PHI_PLUGIN_OPTIONS = dict(standardize="whiten", hidden=(128, 128, 128), n_critics=4, combine="scores")

#: Level of the Gaussian-copula test: p >= this reports the Gaussian-copula φ-MI (auto's level).
PHI_COPULA_LEVEL = 0.01

#: A sample canonical correlation above this makes the Gaussian-copula value degenerate (a
#: deterministic relation: infinite KL); it is reported uncorrected, with a warning.
DEGENERATE_RHO = 1.0 - 1e-9

#: Above this largest canonical correlation the normal scores' attenuation matters: at rho =
#: 0.9999 (1 + 1 dims, n = 5000) the Hellinger value was 0.5 % low, 19 standard errors, with 4 of
#: 40 intervals covering; at 0.999, 34 of 40. A warning says so.
ATTENUATION_RHO = 0.999

#: ``(down, up)``: fractions of |I_φ| added below / above each route's sampling interval, per
#: route and divergence (the bias the sampling error does not see: the critic's error for the
#: plug-in). Chosen on the choose half: the narrowest (grid 0.02) that brings that half's coverage
#: to 95 % (docs/accuracy/phi_choose.md; the plug-in's from all 14 of its runs, Gaussians
#: included, whose 20 + 20-dim task it reads 17-31 % low). χ² on the plug-in route reached 95 %
#: with no allowance up to 2 |I|: it warns instead (1.0 kept). The Gaussian-copula value is
#: bias-corrected and its interval inverts the correction (:func:`gaussian_copula_phi_parts`): on
#: the choose half's 30 runs with a passing test (seeds 100-104) it covered 100 % unwidened (97 %
#: for χ²), so it gets none (the uncorrected plug-in had needed 0.02-0.04 |I| down).
PHI_BIAS_ALLOWANCE = {
    "phi-plugin": {"hellinger": (0.02, 0.46), "js": (0.0, 0.42), "tv": (0.02, 0.2), "vlc": (0.0, 0.36),
                   "tsallis": (0.02, 0.46), "chi2": (0.0, 1.0)},
    "gaussian-copula": {"hellinger": (0.0, 0.0), "js": (0.0, 0.0), "tv": (0.0, 0.0), "vlc": (0.0, 0.0),
                        "tsallis": (0.0, 0.0), "chi2": (0.0, 0.0)},
}

_REASONS = {
    "auto": "KL: auto's own rules (KSG in low dimension, InfoNCE above), the most accurate KL route",
    "gaussian-copula": ("{div}: the Gaussian-copula test does not reject (p = {p:.2g} >= {level}), so the "
                        "φ-MI of the Gaussian copula (canonical correlations of the normal scores, closed form, "
                        "their small-sample bias removed by simulation) is the answer if the copula is Gaussian "
                        "(up to the normal scores' attenuation of correlations within 0.001 of 1), and had the "
                        "smallest error on the choose half"),
    "phi-plugin": ("{div}: {why}one InfoNCE ratio critic (4 separable members, their mean score, on whitened "
                   "blocks) read by plug-in, mean φ(r̂) over held-out product pairs with r̂ self-normalised per "
                   "anchor; on the choose half it had a smaller error than trained f-MICL and DRO-dual, which "
                   "fall below the truth above 2 dimensions (docs/estimators/phi-mi-analysis.md)"),
}


def gaussian_copula_phi(x: np.ndarray, y: np.ndarray, divergence: str, alpha=None, *,
                        groups: int = 20, seed: int = 0, debias: bool = True) -> tuple[float, float]:
    r"""``(value, stderr)``: the φ-MI of the Gaussian copula of ``x, y``
    (:func:`gaussian_copula_phi_parts` has every part of it)."""
    out = gaussian_copula_phi_parts(x, y, divergence, alpha, groups=groups, seed=seed, debias=debias)
    return out["value"], out["stderr"]


def gaussian_copula_phi_parts(x: np.ndarray, y: np.ndarray, divergence: str, alpha=None, *,
                              groups: int = 20, seed: int = 0, debias: bool = True,
                              normalized: bool = False) -> dict:
    r"""The φ-MI of the Gaussian copula of ``x, y``, bias-corrected, with its standard error.

    Every column is replaced by its normal scores :math:`\Phi^{-1}((\mathrm{rank} - \frac12)/n)`
    (:func:`mi_estimators.copula.copula_normalize`; φ-MI, like MI, is invariant under invertible
    maps of each variable), the canonical correlations :math:`\hat\rho` of the two blocks are
    estimated (:func:`mi_estimators.canonical.canonical_correlations`), and :math:`I_\phi` of the
    Gaussian with those canonical correlations is computed in closed form or by 1-D quadrature
    (:func:`synthetic._gaussian_phi.gaussian_phi_mi`): the plug-in :math:`I_\phi(\hat\rho)`.

    The plug-in is biased up (sample canonical correlations over-fit noise, the more the more
    dimensions per sample), so with ``debias`` the reported value is :math:`I_\phi(\rho(t^*))`,
    the canonical correlations with the noise floor :math:`t^*` taken off whose simulated
    Gaussian samples of the same size give, on average, the observed plug-in
    (:func:`mi_estimators.canonical.debias_by_simulation`, B = :data:`mi_estimators.canonical.DEBIAS_DRAWS`
    Wishart draws): 0 where independent samples would give as much. Its 95 % interval inverts
    the same match at the plug-in ± 1.96 σ, σ the larger of a delete-a-group jackknife of the
    plug-in (``groups`` groups; it does not assume the copula is Gaussian, but its own error is
    about :math:`1/\sqrt{2(g-1)}`, 16 % at 20 groups) and the simulated plug-ins' sd (stable, but
    exact only for a Gaussian copula), times :math:`\sqrt{1 + 1/B}`: asymmetric, reaching 0
    where independence is consistent with the data. ``stderr`` is its half-width / 1.96. For
    divergences that can be infinite (reverse χ², Tsallis with α > 1) the match runs on
    :math:`S/(1+S)`, which stays finite when a simulated draw passes the pole. An infinite
    plug-in gives ``value = stderr = inf`` and no ``interval``; a canonical correlation above
    :data:`DEGENERATE_RHO` leaves the value uncorrected (a deterministic relation). Without
    ``debias`` the value is the plug-in and the error the jackknife's. Returns ``value, stderr,
    interval`` (when debiased), ``plugin, bias`` (plug-in − value), ``stderr_jackknife,
    stderr_plugin, debiased, noise_floor, canonical_correlations`` (nats). Fewer rows than
    ``d_x + d_y + 1``, or linearly dependent columns, is a ValueError. ``normalized=True``: ``x``
    and ``y`` are normal scores already (as :func:`phi_route` computed them).
    """
    from mi_estimators.canonical import DEBIAS_DRAWS, canonical_correlations, debias_by_simulation
    from mi_estimators.copula import copula_normalize
    from synthetic._gaussian_phi import gaussian_phi_mi

    n, dims = x.shape[0], (x.shape[1], y.shape[1])
    if n - 1 < sum(dims):
        raise ValueError(f"the Gaussian-copula φ-MI needs n > d_x + d_y rows: n = {n} for {dims[0]} + {dims[1]} "
                         "columns (every canonical correlation would be 1); give more rows or fewer columns")
    params = {} if alpha is None else {"alpha": alpha}

    def phi(r):
        return gaussian_phi_mi(r, divergence, **params)

    nx, ny = (x, y) if normalized else (copula_normalize(x), copula_normalize(y))
    rho = canonical_correlations(nx, ny)
    plugin = float(phi(rho))
    out = dict(value=plugin, stderr=math.inf, plugin=plugin, bias=0.0, stderr_jackknife=math.inf,
               stderr_plugin=None, debiased=False, noise_floor=0.0, canonical_correlations=rho.tolist())
    if not math.isfinite(plugin):
        return out
    parts = np.array_split(np.random.default_rng(seed).permutation(n), groups)
    thetas = np.array([phi(canonical_correlations(np.delete(nx, p, 0), np.delete(ny, p, 0))) for p in parts])
    se_jack = jackknife_stderr(thetas) if np.all(np.isfinite(thetas)) else math.inf   # reverse χ² can be infinite
    out.update(stderr=se_jack, stderr_jackknife=se_jack)
    out["degenerate"] = bool(rho.max(initial=0.0) > DEGENERATE_RHO)
    if not debias or out["degenerate"]:
        return out
    if _may_be_infinite(divergence, alpha):
        # match on S / (1 + S), bounded: one simulated draw past the divergence's pole would make
        # the mean of S infinite and drag the match (the value 55 % low, 8/30 covered, at rho = 0.45)
        def to_unit(v):
            v = np.asarray(v, dtype=float)
            return np.where(np.isinf(v), 1.0, v / (1.0 + np.where(np.isinf(v), 0.0, v)))

        def from_unit(u):
            return u / (1.0 - u) if u < 1.0 else math.inf

        units = to_unit(thetas)
        fit = debias_by_simulation(rho, n, *dims, lambda r: to_unit(phi(r)), draws=DEBIAS_DRAWS, seed=seed,
                                   stderr_floor=jackknife_stderr(units))
        fit.update({k: from_unit(float(fit[k])) for k in ("value", "value_low", "value_high")})
        out["near_pole"] = bool(np.any(units >= 1.0) or np.any(np.asarray(fit["simulated"]) >= 1.0))
    else:
        fit = debias_by_simulation(rho, n, *dims, phi, draws=DEBIAS_DRAWS, seed=seed, stderr_floor=se_jack)
    lo, hi = float(fit["value_low"]), float(fit["value_high"])
    out.update(value=float(fit["value"]), bias=plugin - float(fit["value"]), debiased=True, noise_floor=fit["t"],
               stderr_plugin=fit["stderr"], interval=(lo, hi), stderr=(hi - lo) / (2.0 * 1.959963984540054))
    return out


def _may_be_infinite(divergence: str, alpha) -> bool:
    """Whether a Gaussian's φ-MI can be infinite at canonical correlations below 1 (reverse χ²
    from ρ = 1/2, Tsallis with α > 1 from ρ = 1/(α − 1))."""
    return divergence == "reverse-chi2" or (divergence == "tsallis" and alpha is not None and float(alpha) > 1.0)


def phi_route(divergence: str, x: np.ndarray | None = None, y: np.ndarray | None = None, *,
              normalized: bool = False) -> tuple[str, str, dict]:
    """``(route, reason, test)`` of the φ default for ``divergence`` on checked samples: ``"auto"``
    for KL; else the Gaussian-copula value when its test does not reject, else the plug-in.
    ``normalized=True``: ``x`` and ``y`` are their normal scores already."""
    from mi_estimators.copula import COPULA_TEST_MIN_SAMPLES, copula_normalize, copula_test_checked
    from mi_estimators.divergences import list_divergences

    div = check_choice("divergence", divergence, list_divergences())
    if PHI_ROUTES.get(div) == "auto":
        return "auto", _REASONS["auto"], {}
    if x is None or x.shape[0] < COPULA_TEST_MIN_SAMPLES:
        return "phi-plugin", _REASONS["phi-plugin"].format(div=div, why="too few samples for the copula test: "), {}
    scores = (x, y) if normalized else (copula_normalize(x), copula_normalize(y))
    test = copula_test_checked(*scores, normalized=True)
    p = float(test["pvalue"])
    if p >= PHI_COPULA_LEVEL:
        return "gaussian-copula", _REASONS["gaussian-copula"].format(div=div, p=p, level=PHI_COPULA_LEVEL), test
    why = f"the Gaussian-copula test rejects (p = {p:.2g} < {PHI_COPULA_LEVEL}): "
    return "phi-plugin", _REASONS["phi-plugin"].format(div=div, why=why), test


def _with_defaults(train: TrainOptions, critic: CriticOptions) -> tuple[TrainOptions, CriticOptions]:
    """The plug-in route's options where the user left estimate_mi's defaults."""
    o = PHI_PLUGIN_OPTIONS
    if train.standardize == TrainOptions.standardize:
        train = dataclasses.replace(train, standardize=o["standardize"])
    critic = critic.with_defaults(hidden=o["hidden"], n_critics=o["n_critics"], combine=o["combine"])
    return train, critic


def _copula_result(x, y, div, alpha, seed, scores=None) -> MIResult:
    """The copula route's result; ``scores``: the normal scores of ``x, y`` where already computed."""
    from mi_estimators.result import Caveat, normal_interval

    out = gaussian_copula_phi_parts(*(scores or (x, y)), div, alpha, seed=seed, normalized=scores is not None)
    mi, se = out["value"], out["stderr"]
    notes = []
    if not math.isfinite(mi):
        interval = (0.0, math.inf)
        notes.append(Caveat(f"the {div} φ-MI of the fitted Gaussian copula is infinite (E_Q r^α diverges at its "
                            "canonical correlations); the interval is [0, inf)"))
    else:
        interval = out.get("interval") or normal_interval(mi, se)
        top = max(out["canonical_correlations"], default=0.0)
        if out.get("degenerate"):
            notes.append(Caveat(f"a canonical correlation of the normal scores is {top:.12f}: the dependence is "
                                "(nearly) deterministic, the Gaussian-copula value is degenerate (its KL-MI is "
                                "infinite) and is reported uncorrected; treat it as a bound, not an estimate"))
        elif top > ATTENUATION_RHO:
            notes.append(Caveat(f"the largest canonical correlation is {top:.5f}: rank-based normal scores pull "
                                "correlations this close to 1 down, which the bias correction does not model, so the "
                                "value may be low by more than its interval (0.5 %, 19 standard errors, at 0.9999)"))
        if out.get("near_pole"):
            notes.append(Caveat(f"the {div} φ-MI is near its pole (it is infinite from some canonical correlation "
                                "below 1, and some jackknife or simulated samples were past it): the sampling law is "
                                "very skewed and the interval may not cover (reverse χ² at rho = 0.45, n = 300: 5 of "
                                "12 covered); more rows help"))
        if out["bias"] > 3.0 * se:
            notes.append(Caveat(
                f"the sample canonical correlations are strongly biased at n = {x.shape[0]} in {x.shape[1]} + "
                f"{y.shape[1]} dims: the plug-in {out['plugin']:.4g} was corrected to {mi:.4g} by simulation (more "
                f"than 3 standard errors); the correction assumes a Gaussian copula and is approximate, so the "
                "value may be off by more than its interval; more rows or fewer columns help"))
    return MIResult(mi=mi, stderr=se, interval=interval, per_critic=np.asarray([mi]),
                    estimator="gaussian-copula", target=div, n_samples=x.shape[0], seconds=0.0,
                    config=dict(estimator="gaussian-copula", divergence=div, alpha=alpha, seed=seed), warnings=notes,
                    details=dict(stderr_sampling=se, jackknife_groups=20, mi_plugin=out["plugin"],
                                 bias_correction=-out["bias"], debiased=out["debiased"],
                                 noise_floor=out["noise_floor"], stderr_jackknife=out["stderr_jackknife"],
                                 stderr_plugin=out["stderr_plugin"],
                                 canonical_correlations=out["canonical_correlations"]))


def run_phi_default(name: str, x: np.ndarray, y: np.ndarray, *, seed: int, train: TrainOptions,
                    critic: CriticOptions, options: dict) -> MIResult:
    """The φ default on checked samples (``name`` is ``"auto"``; ``options`` hold ``divergence``).

    KL: :func:`mi_estimators.auto.run_auto`. Otherwise the Gaussian-copula test runs first
    (:func:`phi_route`); the reported 95 % interval is the route's sampling interval widened by
    :data:`PHI_BIAS_ALLOWANCE` ``[route][divergence]`` (``[lo − c↓|I|, hi + c↑|I|]``); the route's
    own interval is kept in ``details["auto"]["interval_sampling"]``.
    """
    t0 = time.perf_counter()
    options = dict(options)
    div = options.pop("divergence")
    scores = None   # the normal scores, computed once for the copula test and the copula value
    if PHI_ROUTES.get(div) != "auto":
        from mi_estimators.copula import copula_normalize

        scores = (copula_normalize(x), copula_normalize(y))
    route, reason, test = phi_route(div, *(scores or (x, y)), normalized=scores is not None)
    if route == "auto":
        from mi_estimators.auto import run_auto

        if options.pop("alpha", None) is not None:
            raise ValueError("alpha= applies to divergence='tsallis' only")
        result = run_auto("auto", x, y, seed=seed, train=train, critic=critic, options=options)
        result.details["auto"]["reason"] = f"{reason}; {result.details['auto']['reason']}"
        return result
    if route == "gaussian-copula":
        from mi_estimators.divergences import get_divergence

        unknown = sorted(set(options) - {"alpha"})
        if unknown:
            raise ValueError(f"unknown option(s) {unknown} for the φ default; it takes divergence=, alpha= and "
                             "the training and critic options (used when it trains the plug-in's critic)")
        get_divergence(div, **({} if options.get("alpha") is None else {"alpha": options["alpha"]}))
        res = _copula_result(x, y, div, options.get("alpha"), seed, scores)
    else:
        from mi_estimators.phi_plugin import run_phi_plugin

        train, critic = _with_defaults(train, critic)
        res = run_phi_plugin("phi-plugin", x, y, seed=seed, train=train, critic=critic,
                             options=dict(options, divergence=div))
    sampling = tuple(float(v) for v in res.interval)
    down, up = PHI_BIAS_ALLOWANCE[route].get(div, (0.0, 0.0))
    interval = sampling if not math.isfinite(res.mi) else (sampling[0] - down * abs(res.mi),
                                                            sampling[1] + up * abs(res.mi))
    details = dict(res.details)
    details["auto"] = dict(method=route, reported=route, options=dict(res.config), reason=reason, divergence=div,
                           components=dict(copula_test=test) if test else {}, interval_sampling=list(sampling),
                           bias_allowance=[down, up])
    config = dict(res.config, estimator="auto", auto_method=route, auto_reason=reason, seed=seed)
    return dataclasses.replace(res, estimator="auto", interval=interval, config=to_jsonable(config),
                               details=to_jsonable(details), seconds=time.perf_counter() - t0)
