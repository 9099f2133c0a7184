r"""Conditional mutual information I(X; Y | Z): the methods, the ``auto`` choice, one result type.

Methods (``estimate_cmi(x, y, z, method=...)``):

- ``"ksg"``: Frenzel–Pompe k-NN (:func:`mi_estimators.conditional.ksg_cmi`).
- ``"gaussian-copula"``: the conditional Gaussian-copula value
  (:func:`mi_estimators.conditional.gaussian_copula_cmi`, Ince et al. 2017).
- ``"discrete"``: plug-in with a bias correction on discrete X, Y, Z
  (:func:`mi_estimators.discrete.discrete_cmi`).
- ``"neural"``: the chain rule :math:`I(X; Y \mid Z) = I(X; Y, Z) - I(X; Z)`, each term by this
  package's default estimator (``auto``: the Gaussian-copula value, KSG or an InfoNCE critic
  ensemble, chosen per term).
- ``"auto"``: discrete data go to ``"discrete"``; if the normal scores of (X, Y, Z) look
  jointly Gaussian (:func:`mi_estimators.copula.gaussian_copula_test`) the Gaussian-copula
  value is exact and reported; otherwise ``"ksg"`` in low total dimension
  (d_x + d_y + d_z <= :data:`CMI_KSG_MAX_DIM`) or with too few samples to train critics
  (:data:`CMI_NEURAL_MIN_SAMPLES`; it then warns that it is biased), else
  ``"neural"``. The reason is in ``result.details["auto"]["reason"]``.

CMI is never negative: the reported value and interval are clipped at 0 (the raw value is
kept in ``details["mi_raw"]``), with a warning when the raw interval lay wholly below 0.
"""
from __future__ import annotations

import math
import time

import numpy as np

from mi_estimators._checks import check_choice
from mi_estimators.conditional import CMI_ESTIMATORS
from mi_estimators.copula import COPULA_TEST_MIN_SAMPLES, copula_normalize, copula_test_checked
from mi_estimators.result import MIResult, normal_interval, to_jsonable

__all__ = ["CMI_METHODS", "CMI_KSG_MAX_DIM", "CMI_NEURAL_MIN_SAMPLES", "plan_cmi", "run_cmi"]

#: Every ``method`` of :func:`mi_estimators.estimate_cmi`.
CMI_METHODS = ("auto", "ksg", "gaussian-copula", "discrete", "neural")

#: ``auto`` uses k-NN CMI when d_x + d_y + d_z is at most this, else the neural chain rule.
#: Chosen on the choose half's nonlinear-cmi tasks (n = 5000, docs/accuracy.md): mean |error|
#: 0.0057 (k-NN) vs 0.0071 nats (chain rule) at d = 3, but 0.098 vs 0.025 at d = 5 and 0.171 vs
#: 0.027 at d = 9 (k-NN distances concentrate in the joint space).
CMI_KSG_MAX_DIM = 3

#: Fewest samples for the neural chain rule at auto's batch of 128 with a 20 % held-out split
#: (smaller n trains with a lowered batch, whose InfoNCE ceiling log B and noise are worse):
#: below it a chain-rule term at n = 1000 fell back to the Gaussian-copula value, +0.34 nats on
#: a CMI = 0 task with d_z = 5 (docs/peers-cmi.md), so auto uses k-NN CMI there and says it is biased.
CMI_NEURAL_MIN_SAMPLES = 1280

#: Level of the Gaussian-copula test that sends CMI to the Gaussian-copula value (as for MI).
CMI_COPULA_TEST_LEVEL = 0.01


def plan_cmi(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[str, str, dict]:
    """``(method, reason, components)`` for checked samples: the rule in the module docstring."""
    from mi_estimators.discrete import all_discrete

    if all_discrete(x, y, z):
        return "discrete", "every column of x, y and z is discrete (integer-valued with few levels)", {}
    components = {}
    d = x.shape[1] + y.shape[1] + z.shape[1]
    if x.shape[0] >= COPULA_TEST_MIN_SAMPLES:
        test = copula_test_checked(copula_normalize(x), copula_normalize(np.hstack([y, z])), normalized=True)
        components["copula_test"] = test
        if test["pvalue"] >= CMI_COPULA_TEST_LEVEL:
            return ("gaussian-copula", f"the Gaussian-copula test does not reject (p = {test['pvalue']:.2g} >= "
                    f"{CMI_COPULA_TEST_LEVEL}): the conditional Gaussian-copula value is exact for such data",
                    components)
        why = f"the Gaussian-copula test rejects (p = {test['pvalue']:.2g})"
    else:
        why = f"n = {x.shape[0]} is too few for the Gaussian-copula test"
    if d <= CMI_KSG_MAX_DIM:
        return "ksg", f"{why}; d_x + d_y + d_z = {d} <= {CMI_KSG_MAX_DIM}: k-NN CMI (Frenzel–Pompe)", components
    if x.shape[0] < CMI_NEURAL_MIN_SAMPLES:
        return ("ksg", f"{why}; d_x + d_y + d_z = {d} > {CMI_KSG_MAX_DIM}, but n = {x.shape[0]} is too few to "
                f"train critics (the chain rule needs n >= {CMI_NEURAL_MIN_SAMPLES}): k-NN CMI, which is biased "
                "in this dimension (see the warning)", components)
    return ("neural", f"{why}; d_x + d_y + d_z = {d} > {CMI_KSG_MAX_DIM}: the chain rule I(X; Y,Z) - I(X; Z) "
            "with the default estimator for each term", components)


def _chain_rule(x, y, z, *, seed, train, critic, options) -> dict:
    """I(X; Y, Z) - I(X; Z), each term by ``auto``; the interval is that of the difference of
    the two terms' intervals (conservative: it ignores their positive correlation)."""
    from mi_estimators.auto import run_auto

    full = run_auto("auto", x, np.hstack([y, z]), seed=seed, train=train, critic=critic, options=dict(options))
    part = run_auto("auto", x, z, seed=seed, train=train, critic=critic, options=dict(options))
    mi = full.mi - part.mi
    interval = (full.interval[0] - part.interval[1], full.interval[1] - part.interval[0])
    msgs = list(full.warnings) + list(part.warnings)
    fell_back = [term for term, r in (("I(X; Y,Z)", full), ("I(X; Z)", part))
                 if r.details["auto"]["reported"] == "gcmi" and "too few to train" in r.details["auto"]["reason"]]
    if fell_back:
        msgs.append(f"the chain-rule term(s) {', '.join(fell_back)} had too few samples to train a critic and report "
                    "the Gaussian-copula value, which is not exact for a non-Gaussian copula: the difference may be "
                    "biased either way; use method='ksg' or more samples")
    return {"mi": mi, "stderr": math.hypot(full.stderr, part.stderr), "interval": interval, "warnings": msgs,
            "details": {"estimator": "neural", "mi_raw": mi, "chain_rule": {
                "I(X; Y,Z)": dict(mi=full.mi, stderr=full.stderr, interval=list(full.interval),
                                  reported=full.details["auto"]["reported"]),
                "I(X; Z)": dict(mi=part.mi, stderr=part.stderr, interval=list(part.interval),
                                reported=part.details["auto"]["reported"])}}}


def _run_method(method, x, y, z, *, seed, train, critic, options) -> dict:
    if method == "neural":
        return _chain_rule(x, y, z, seed=seed, train=train, critic=critic, options=options)
    if method == "discrete":
        from mi_estimators.discrete import discrete_cmi

        for key in options:
            check_choice("option for CMI method 'discrete':", key, ("correction", "max_levels"))
        return discrete_cmi(x, y, z, full_output=True, **options)
    entry = CMI_ESTIMATORS[method]
    for key in options:
        check_choice(f"option for CMI method {method!r}:", key, entry.options)
    return entry(x, y, z, seed=seed, **options)


def _clipped(mi: float, interval) -> tuple[float, tuple, list[str]]:
    """CMI >= 0: clip the value and the interval's ends at 0; warn if the raw interval lay below 0."""
    lo, hi = interval
    msgs = []
    if math.isfinite(hi) and hi < 0:
        msgs.append(f"the raw estimate {mi:.4g} nats and its whole interval [{lo:.4g}, {hi:.4g}] lie below 0, "
                    "which CMI cannot: the estimator is biased here; the reported value is clipped to 0")
    return max(mi, 0.0), (max(lo, 0.0), max(hi, 0.0)), msgs


def run_cmi(method: str, x: np.ndarray, y: np.ndarray, z: np.ndarray, *, seed: int = 0, train=None, critic=None,
            options: dict | None = None) -> MIResult:
    """Estimate I(X; Y | Z) in nats on checked samples with ``method`` (``"auto"`` plans first)."""
    from mi_estimators import __version__
    from mi_estimators.options import CriticOptions, TrainOptions

    t0 = time.perf_counter()
    method = check_choice("CMI method", method, CMI_METHODS)
    train, critic, options = train or TrainOptions(), critic or CriticOptions(), dict(options or {})
    auto = None
    if method == "auto":
        chosen, reason, components = plan_cmi(x, y, z)
        auto = dict(method=chosen, reason=reason, components=components)
        method = chosen
        options = {} if chosen != "neural" else options
    out = _run_method(method, x, y, z, seed=seed, train=train, critic=critic, options=options)
    mi_raw, se = float(out["mi"]), float(out["stderr"])
    raw_interval = tuple(out.get("interval") or out.get("details", {}).get("interval") or normal_interval(mi_raw, se))
    mi, interval, msgs = _clipped(mi_raw, raw_interval)
    msgs = list(out.get("warnings", [])) + msgs
    d = x.shape[1] + y.shape[1] + z.shape[1]
    if method == "ksg" and d > CMI_KSG_MAX_DIM:
        msgs.append(f"k-NN CMI in d_x + d_y + d_z = {d} > {CMI_KSG_MAX_DIM} dimensions is biased (its neighbour "
                    "distances concentrate: it returned -0.004 nats for a truth of 0.22 at d_z = 10 on a Gaussian "
                    "task, and 0.18 for a truth of 0 at d_z = 5 on a non-Gaussian one); its interval covers its own "
                    f"noise, not that bias. Prefer method='auto' with n >= {CMI_NEURAL_MIN_SAMPLES} (it then trains "
                    "critics) or fewer dimensions")
    details = dict(out.get("details", {}), mi_raw=mi_raw, interval_raw=list(raw_interval))
    if auto is not None:
        details["auto"] = auto
    config = dict(estimator=method if auto is None else "auto", method=method, seed=seed, options=options,
                  dim_x=x.shape[1], dim_y=y.shape[1], dim_z=z.shape[1], version=__version__)
    return MIResult(mi=mi, stderr=se, interval=interval, per_critic=np.array([mi]),
                    estimator="auto" if auto is not None else method, target="kl", n_samples=x.shape[0],
                    seconds=time.perf_counter() - t0, config=to_jsonable(config), warnings=msgs,
                    details=to_jsonable(details))
