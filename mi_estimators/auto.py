r"""The ``"auto"`` estimator: pick the method by the data's shape, with the reason in the result.

No single MI estimator wins on the "Beyond Normal" suite (Czyż et al., NeurIPS 2023): KSG
is near-exact in one or two dimensions and collapses on sparse or high-dimensional
dependence; the Gaussian (CCA) estimator is exact on Gaussians and blind to non-linear
dependence; neural bounds are decent in 5-50 dimensions but lose about half of the MI on
spiral and normal-CDF-warped tasks. ``"auto"`` combines three measured facts:

1. **Copula normalisation is free** (the Gaussian-copula floor). MI is invariant under strictly monotone
   maps of each coordinate, so every column is replaced by its normal scores
   :math:`\Phi^{-1}\big((\mathrm{rank} - \tfrac12)/n\big)` (:func:`copula_normalize`).
   This undoes the normal-CDF, half-cube and asinh warps of the suite exactly (up to the
   O(n^{-1/2}) error of the empirical CDF) and tames heavy (Student-t) tails, the failure
   modes of both KSG and neural critics. It uses only the marginals, never the pairing.
2. **The Gaussian-copula test comes first** (round 3). If the normal scores look jointly
   Gaussian (:func:`mi_estimators.copula.gaussian_copula_test`: Mardia's skewness and
   kurtosis, and regressions for a non-linear conditional mean or a changing conditional
   variance, Bonferroni-combined; p >= :data:`COPULA_TEST_LEVEL`), the copula *is* Gaussian
   to within what n samples can show, and the Gaussian-copula value (GCMI, below) is exact
   and has the smallest error of the methods here: it is reported, unless the shape-based
   method below (which still runs, as a check) exceeds it by more than
   :data:`COPULA_CHECK_Z` standard errors, which a Gaussian copula cannot do. On the choose half this took the 10 Gaussian-copula tasks (normal-CDF,
   half-cube, wiggly, bimodal warps, plain Gaussians) from 0.020 to 0.013 nats mean |error|
   and the whole half from 0.0527 to 0.0499 (paired -0.0029 +- 0.0008); every other task
   had p < 2e-6 and kept the paths below. ``copula_test=False`` turns it off.
3. **Low dimension (d_x + d_y <= 3): KSG** on standardised columns, with **k chosen by
   the data**: k = 3 (low variance) unless the k = 1 estimate exceeds it by more than
   :data:`KSG_BIAS_GAP` nats, then k = 1. KSG's downward bias grows with k where the
   density bends sharply within the k-th neighbour distance (high MI, waves, heavy tails),
   so a clear fall of the estimate from k = 1 to k = 3 is that bias showing, and the
   least biased k is reported. The threshold, the variant and the gap were chosen on the
   "choose" half of the suite (``docs/accuracy.md``, ``docs/accuracy/choose_rules.md``):
   KSG on normal scores was no better in 1-D pairs and worse on the mixture tasks
   (waves, concentric Gaussians), whose radial structure the per-column ranks distort
   for a k-NN metric; the adaptive k cut the choose half's low-dimension mean |error|
   from 0.065 (k = 3) and 0.039 (k = 1) to 0.035 nats (7 tasks x 10 seeds).
4. **Otherwise: a neural InfoNCE critic** (separable, three hidden layers of 128,
   :data:`NEURAL_HIDDEN`; four of them trained at once and evaluated as one critic, their
   mean score, :data:`NEURAL_N_CRITICS`, :data:`NEURAL_COMBINE`) on standardised data (normal
   scores as the critic's input were tried and lost on the choose half, see
   :data:`NEURAL_TRANSFORM`), and the Gaussian-copula
   value (CCA on normal scores, "GCMI", Ince et al. 2017) as a floor: the reported
   value is the larger of the two when they disagree by more than their combined standard
   error (both are, to first order, lower estimates: InfoNCE is a lower bound and GCMI
   is the MI of the Gaussian with the normal scores' covariance, which bounds the MI from
   below when each block's normal scores are jointly Gaussian).

Failure modes: copula normalisation cannot undo non-monotone or multivariate warps (the
spiral); KSG keeps its e^I sample-size need at large MI; InfoNCE is capped at ``log B``
(B = batch size), so beyond ~3 nats ``auto`` is biased low and warns. The Gaussian-copula
test can miss a mildly non-Gaussian copula at small n (its power grows with n and with the
departure); GCMI is then a lower estimate, low by about the copula's departure from Gaussian.
"""
from __future__ import annotations

import math
import time

import numpy as np

from mi_estimators.copula import COPULA_TEST_MIN_SAMPLES, copula_normalize, gaussian_copula_test

__all__ = ["copula_normalize", "COPULA_TEST_LEVEL", "COPULA_CHECK_Z", "choose_estimator", "estimate_auto", "option_names", "OWN_OPTIONS", "floor_applies", "k1_shows_bias", "KSG_MAX_DIM", "KSG_BIAS_GAP", "BIAS_ALLOWANCE", "calibrated_interval", "NEURAL_TRANSFORM", "NEURAL_HIDDEN", "NEURAL_N_CRITICS", "NEURAL_COMBINE", "NEURAL_OPTIONS"]

#: KSG is used when d_x + d_y is at most this (chosen on the "choose" half, docs/accuracy.md).
KSG_MAX_DIM = 3

#: Fewest pairs auto's KSG path accepts: 10 standard-error blocks of more than k = 3 points.
KSG_MIN_SAMPLES = 40

#: KSG(k=1) - KSG(k=3) above this (nats) selects k = 1: the fall with k is KSG's bias showing
#: (chosen on the choose half: 0 and 0.01 tie at 0.035 nats mean |error|, 0.03 gives 0.038).
KSG_BIAS_GAP = 0.01

#: Bias allowance of auto's 95% interval, per reported method: ``(down, up)`` fractions of |I|
#: added below / above the sampling interval. The sampling interval alone covers only the
#: estimator's noise; KSG, InfoNCE and the Gaussian-copula value are biased (the last two
#: downwards: both are lower estimates), so on the suite it covered the truth in 67-75 % of
#: runs. The fractions are the narrowest (grid 0.02) that reach >= 95 % coverage on the
#: *choose* half (25 tasks x seeds 0, 1, 5, 6: ``benchmarks/accuracy.py calibrate``,
#: ``docs/accuracy/calibration.json``); the *report* half measures the result (docs/accuracy.md).
#: They describe this suite's biases (I <= 1.8 nats, n = 5000), not a guarantee elsewhere.
BIAS_ALLOWANCE = {"ksg": (0.0, 0.12), "gcmi": (0.0, 0.24), "infonce": (0.0, 0.14), "gaussian-copula": (0.0, 0.02)}

#: Input of the neural critic: plain standardised columns. Normal scores ("copula") were the
#: first candidate; on the choose half they lost (mean |error| 0.071 vs 0.061 nats with the
#: floor): they help on normal-CDF / half-cube warps but distort the radial mixtures.
NEURAL_TRANSFORM = "standardize"

#: Hidden layers of the neural path's separable critic (each side). Chosen on the choose half
#: (18 tasks with d > 3, seeds 0-1, docs/accuracy.md): 128-128-128 had mean |error| 0.0571 vs
#: 0.0675 nats for the package's 256-256 (paired difference -0.010 +- 0.0035) at 74 % of its
#: CPU time; the cheapest setting within one paired standard error of the best (128x4: 0.0568).
NEURAL_HIDDEN = (128, 128, 128)

#: Level of the Gaussian-copula test (:func:`mi_estimators.copula.gaussian_copula_test`) that
#: sends data to the Gaussian-copula value: p >= this reports GCMI without KSG or a critic.
#: Chosen on the choose half (round 3, docs/accuracy.md): every level from 1e-5 to 0.028 gives
#: the same choice there (Gaussian-copula tasks p >= 0.029, all others p < 2e-6).
COPULA_TEST_LEVEL = 0.01

#: When the copula test passes, the shape-based method (KSG or InfoNCE + floor) still runs, and
#: GCMI is reported unless that method exceeds it by more than this many combined standard
#: errors (GCMI is a lower bound on the MI of normal scores, so a clearly larger value contradicts
#: the test). 2 changes no choose-half decision at n = 5000 (1 undid 4 of 40 correct ones) and
#: catches the test's misses at small n (2v1-waves at n = 300 and 1000).
COPULA_CHECK_Z = 2.0

#: Critics trained (as one batched ensemble) on the neural path, and how they are combined:
#: their mean score matrix is one critic, evaluated once (``combine="scores"``,
#: :class:`mi_estimators.critics.MeanScoreEnsemble`). Chosen on the choose half (round 4, 18 tasks
#: with d > 3, seeds 0-1, docs/accuracy.md): mean |error| after the floor 0.0571 nats for one
#: critic, 0.0526 / 0.0499 / 0.0486 for the mean score of 2 / 4 / 8 critics, and 0.0578 for the
#: mean of 4 *estimates*. 8 would cost up to 18 CPU-s per estimate, over the 10 s budget; 4 is
#: the best within it. ``n_critics=`` / ``combine=`` override these.
NEURAL_N_CRITICS = 4
NEURAL_COMBINE = "scores"

#: Options of the neural path (passed to :func:`mi_estimators.estimate_mi`).
NEURAL_OPTIONS = dict(estimator="infonce", critic="separable", hidden=NEURAL_HIDDEN, n_critics=NEURAL_N_CRITICS,
                      combine=NEURAL_COMBINE)


def choose_estimator(x, y) -> tuple[str, dict, str]:
    """The method ``auto`` uses for data of this shape when the copula is not Gaussian:
    ``(estimator name, options, reason)``. (:func:`estimate_auto` first runs the
    Gaussian-copula test, which depends on the values, not only the shape.)

    ``options`` are keyword options for :func:`mi_estimators.estimate_mi` plus, for the
    neural path, ``transform="copula"`` (applied by :func:`estimate_auto` before
    estimating) and ``floor="gcmi"``. ``reason`` is one sentence for the user.
    """
    from mi_estimators.estimator import check_xy

    x, y = check_xy(x, y)
    n, dx = x.shape
    dy = y.shape[1]
    d = dx + dy
    if d <= KSG_MAX_DIM:
        return ("ksg", dict(k="adaptive"),
                f"d_x + d_y = {d} <= {KSG_MAX_DIM}: KSG is the most accurate in low dimension "
                "(k-NN distances do not concentrate)")
    return ("infonce", dict(critic="separable", hidden=NEURAL_HIDDEN, transform="copula", floor="gcmi"),
            f"d_x + d_y = {d} > {KSG_MAX_DIM}: InfoNCE with a separable critic on copula-normalised data "
            "(KSG degrades with dimension), floored by the Gaussian-copula (CCA on normal scores) value")


def floor_applies(infonce_mi, infonce_se, gcmi_mi, gcmi_se) -> bool:
    """The Gaussian-copula floor's rule: report GCMI when it exceeds the InfoNCE value by more
    than their combined standard error."""
    return gcmi_mi > infonce_mi + math.sqrt(infonce_se ** 2 + gcmi_se ** 2)


def k1_shows_bias(mi_k1, mi_k3, gap: float = KSG_BIAS_GAP):
    """The adaptive-k rule: KSG(k=1) above KSG(k=3) by more than ``gap`` nats (elementwise on arrays)."""
    return mi_k1 - mi_k3 > gap


def calibrated_interval(mi: float, sampling_interval, method: str) -> tuple[float, float]:
    r"""Auto's reported 95% interval: the sampling interval widened by the calibrated bias allowance.

    :math:`[\ell - c_\downarrow |\hat I|,\; u + c_\uparrow |\hat I|]` with
    :math:`(c_\downarrow, c_\uparrow)` = :data:`BIAS_ALLOWANCE` ``[method]`` and
    :math:`[\ell, u]` the method's own (sampling-error) interval.
    """
    from mi_estimators._checks import check_choice

    method = check_choice("method", method, BIAS_ALLOWANCE)
    down, up = BIAS_ALLOWANCE[method]
    lo, hi = (float(v) for v in sampling_interval)
    return (lo - down * abs(mi), hi + up * abs(mi))


#: auto's own options, besides estimate_mi's training and critic options.
OWN_OPTIONS = ("force", "neural_transform", "interval", "copula_test")


def option_names() -> set[str]:
    """Every option name ``auto`` accepts: estimate_mi's training and critic options (they go
    to the neural path), InfoNCE's hyper-parameters and :data:`OWN_OPTIONS`."""
    import inspect

    from mi_estimators import estimator as api
    from mi_estimators.bounds import BOUNDS

    params = inspect.signature(api.estimate_mi).parameters
    return ({p for p in params if p not in ("x", "y", "estimator", "options")} | set(api.TRAIN_KEYS)
            | set(api.CRITIC_KEYS) | set(BOUNDS["infonce"].hyper_defaults) | set(OWN_OPTIONS))


def _check_option_names(options: dict) -> None:
    """Refuse option names that neither the KSG nor the neural path would use."""
    valid = option_names()
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} for estimator 'auto'" + (f" (and {unknown[1:]})" if unknown[1:] else "")
                         + f"; valid options: {', '.join(sorted(valid))}"
                         + ("; auto picks KSG's k itself: pass estimator='ksg' for a fixed k" if "k" in unknown else ""))


def _min_samples_neural(batch_size: int, heldout_fraction: float) -> int:
    return math.ceil(max(batch_size / (1 - heldout_fraction), 2 * batch_size / heldout_fraction))


def estimate_auto(x, y, *, seed: int = 0, **options):
    """Estimate I(x; y) in nats with the method :func:`choose_estimator` picks.

    The result's ``estimator`` is ``"auto"``; ``details["auto"]`` holds the chosen method,
    its options and the reason (also in ``config["auto_reason"]``), and every component
    value. Extra ``options`` go to the neural path (e.g. ``steps=``, ``n_critics=``);
    ``neural_transform="copula" | "standardize"`` picks the neural critic's input (the
    Gaussian-copula floor always uses normal scores);
    ``force="ksg" | "neural" | "gaussian-copula"`` overrides the choice (for the benchmark);
    ``copula_test=False`` skips the Gaussian-copula test (round 2's rule). The test runs when
    n >= :data:`mi_estimators.copula.COPULA_TEST_MIN_SAMPLES`; its p-values are in
    ``details["auto"]["components"]["copula_test"]``.

    The 95% ``interval`` is the reported method's sampling interval widened by its
    calibrated bias allowance (:func:`calibrated_interval`, :data:`BIAS_ALLOWANCE`; on the
    suite's report half it covered the truth at close to 95 %, see docs/accuracy.md);
    ``interval="sampling"`` reports the sampling interval alone (also kept in
    ``details["auto"]["interval_sampling"]``). ``stderr`` is always the sampling error.
    """
    from mi_estimators import estimator as api
    from mi_estimators._checks import check_choice
    from mi_estimators.estimator import MIResult, check_xy, constant_columns, estimate_mi

    t0 = time.perf_counter()
    x, y = check_xy(x, y)
    for a, label in ((x, "x"), (y, "y")):
        const = constant_columns(a)
        if const.size:
            raise ValueError(f"column(s) {const.tolist()} of {label} are constant: they carry no information "
                             "(and break k-NN distances and standardisation); drop them")
    if options.get("critic") is not None:
        from mi_estimators import critics

        options["critic"] = check_choice("critic", options["critic"], critics.list_critics())
    force = options.pop("force", None)
    neural_transform = check_choice("neural_transform", options.pop("neural_transform", NEURAL_TRANSFORM),
                                    ("copula", "standardize"))
    interval_kind = check_choice("interval", options.pop("interval", "calibrated"), ("calibrated", "sampling"))
    copula_test = options.pop("copula_test", True)
    if not isinstance(copula_test, (bool, np.bool_)):
        raise ValueError(f"copula_test must be True or False, got {copula_test!r}")
    _check_option_names(options)
    name, opts, reason = choose_estimator(x, y)
    if force is not None:
        force = check_choice("force", force, ("ksg", "neural", "gaussian-copula"))
        if force == "ksg":
            name, opts, reason = "ksg", dict(k="adaptive"), "forced: KSG"
        elif force == "neural":
            name = "infonce"
            opts = dict(critic="separable", hidden=NEURAL_HIDDEN, transform="copula", floor="gcmi")
            reason = "forced: InfoNCE on copula-normalised data, Gaussian-copula floor"
        else:
            name, opts, reason = "gaussian-copula", {}, "forced: the Gaussian-copula value"
    opts = dict(opts)
    transform = opts.pop("transform", None)
    floor = opts.pop("floor", None)
    components = {}
    auto_warnings = []
    normal_scores = None  # (copula_normalize(x), copula_normalize(y)), computed once if needed
    if force is None and copula_test and x.shape[0] >= COPULA_TEST_MIN_SAMPLES:
        normal_scores = (copula_normalize(x), copula_normalize(y))
        test = gaussian_copula_test(*normal_scores, normalized=True)
        components["copula_test"] = test
        p = test["pvalue"]
        copula_passed = p >= COPULA_TEST_LEVEL
        if not copula_passed:
            reason += f"; the Gaussian-copula test rejects (p = {p:.2g} < {COPULA_TEST_LEVEL})"
    else:
        copula_passed = False
    gc = None   # the Gaussian-copula value (CCA on normal scores): reported, a floor or a check
    if copula_passed or name != "ksg":
        if normal_scores is None:
            normal_scores = (copula_normalize(x), copula_normalize(y))
        gc = estimate_mi(*normal_scores, estimator="cca", seed=seed)
        components["gcmi"] = dict(mi=gc.mi, stderr=gc.stderr)

    if name == "gaussian-copula":
        res = gc
        mi, se, interval, per, chosen = gc.mi, gc.stderr, gc.interval, gc.per_critic, "gaussian-copula"
    elif name == "ksg":
        if x.shape[0] < KSG_MIN_SAMPLES:
            raise ValueError(
                f"too few samples: n = {x.shape[0]}; estimator 'auto' uses KSG here (d_x + d_y <= {KSG_MAX_DIM}) "
                f"and needs at least {KSG_MIN_SAMPLES} pairs (k = 3 neighbours and a 10-block standard error); "
                "collect more samples, or pass estimator='ksg' with smaller k / stderr='pointwise'"
            )
        if opts.get("k") == "adaptive":
            res3 = estimate_mi(x, y, estimator="ksg", seed=seed, k=3)
            res1 = estimate_mi(x, y, estimator="ksg", seed=seed, k=1)
            components["ksg_k3"] = dict(mi=res3.mi, stderr=res3.stderr)
            components["ksg_k1"] = dict(mi=res1.mi, stderr=res1.stderr)
            if k1_shows_bias(res1.mi, res3.mi):
                res, k_used = res1, 1
                reason += (f"; k = 1: KSG falls from {res1.mi:.3f} (k = 1) to {res3.mi:.3f} (k = 3) nats, "
                           "the signature of its bias growing with k")
            else:
                res, k_used = res3, 3
                reason += "; k = 3 (k = 1 is not clearly larger, so the lower-variance k is kept)"
            opts["k"] = k_used
        else:
            res = estimate_mi(x, y, estimator="ksg", seed=seed, **opts)
        components["ksg"] = dict(mi=res.mi, stderr=res.stderr)
        mi, se, interval, per = res.mi, res.stderr, res.interval, res.per_critic
        chosen = "ksg"
    else:
        neural_kw = {**opts, **options}
        if neural_kw.get("n_critics") is None:
            neural_kw["n_critics"] = NEURAL_N_CRITICS
        if neural_kw.get("combine") is None:
            neural_kw["combine"] = NEURAL_COMBINE
        bs = int(neural_kw.get("batch_size", api.DEFAULT_BATCH_SIZE))
        hf = float(neural_kw.get("heldout_fraction", 0.2))
        if x.shape[0] < _min_samples_neural(bs, hf):
            mi, se, interval, per, chosen = gc.mi, gc.stderr, gc.interval, gc.per_critic, "gcmi"
            reason += f"; only n = {x.shape[0]} samples, too few to train a critic: Gaussian-copula value"
            res = gc
        else:
            nx, ny = normal_scores if neural_transform == "copula" else (x, y)
            res = estimate_mi(nx, ny, estimator="infonce", seed=seed, **neural_kw)
            if neural_transform != "copula":
                reason = reason.replace("on copula-normalised data", "on standardised data")
            components["infonce"] = dict(mi=res.mi, stderr=res.stderr, interval=list(res.interval))
            mi, se, interval, per, chosen = res.mi, res.stderr, res.interval, res.per_critic, "infonce"
            if floor == "gcmi":
                if floor_applies(res.mi, res.stderr, gc.mi, gc.stderr):
                    mi, se, interval, per, chosen = gc.mi, gc.stderr, gc.interval, gc.per_critic, "gcmi"
                    reason += (f"; the Gaussian-copula value {gc.mi:.3f} exceeds the InfoNCE value "
                               f"{res.mi:.3f} by more than their standard error, so it is reported")
    if copula_passed:
        # The shape-based method ran too: under a Gaussian copula it agrees with GCMI within noise,
        # and since GCMI bounds the MI from below (normal-score marginals), a value clearly above it
        # contradicts the test (which can miss a non-Gaussian copula at small n: 2v1-waves passed
        # it at n = 1000 with GCMI 1.3 nats too low). Otherwise GCMI is reported.
        if mi > gc.mi + COPULA_CHECK_Z * math.sqrt(se ** 2 + gc.stderr ** 2):
            reason += (f"; the Gaussian-copula test does not reject (p = {p:.2g}), but {chosen} ({mi:.3f}) exceeds "
                       f"the Gaussian-copula value ({gc.mi:.3f}) by more than {COPULA_CHECK_Z:g} standard errors, "
                       "which a Gaussian copula cannot do (that value is then a lower bound), so it is kept")
        else:
            res = gc
            mi, se, interval, per, chosen = gc.mi, gc.stderr, gc.interval, gc.per_critic, "gaussian-copula"
            name = "gaussian-copula"
            checker = "InfoNCE" if "infonce" in components else ("KSG" if "ksg" in components else "")
            agrees = f" and {checker} is not above it by more than {COPULA_CHECK_Z:g} standard errors" if checker else ""
            reason = (f"the Gaussian-copula test does not reject (p = {p:.2g} >= {COPULA_TEST_LEVEL}){agrees}: "
                      "the normal scores look jointly Gaussian, and for such data the Gaussian-copula value "
                      "(CCA on normal scores) is exact and has the smallest error of the methods here")
    ignored = sorted(k for k in ("n_critics", "critic", "combine") if options.get(k) not in (None, 1, "separable"))
    if ignored and chosen in ("ksg", "gaussian-copula"):
        import warnings

        why = (f"KSG (d_x + d_y = {x.shape[1] + y.shape[1]} <= {KSG_MAX_DIM})" if chosen == "ksg"
               else "the Gaussian-copula value (the copula test did not reject)")
        msg = (f"auto chose {why}; {', '.join(ignored)} apply to neural estimators only and were ignored; "
               "pass estimator='infonce' (or another bound) to train critics")
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
        auto_warnings.append(msg)
    sampling_interval = tuple(float(v) for v in interval)
    if interval_kind == "calibrated":
        interval = calibrated_interval(mi, sampling_interval, chosen)
    config = dict(res.config)
    config.update(estimator="auto", auto_method=name, auto_options=dict(opts, transform=transform, floor=floor),
                  auto_reason=reason, auto_reported=chosen, auto_interval_sampling=list(sampling_interval),
                  seed=seed, interval=interval_kind)
    details = dict(res.details)
    details["auto"] = dict(method=name, reported=chosen, options=dict(opts, transform=transform, floor=floor),
                           reason=reason, components=components, interval_sampling=list(sampling_interval),
                           bias_allowance=list(BIAS_ALLOWANCE[chosen]) if interval_kind == "calibrated" else [0.0, 0.0])
    return MIResult(mi=float(mi), stderr=float(se), interval=tuple(float(v) for v in interval),
                    per_critic=np.asarray(per, dtype=float), estimator="auto", target="kl",
                    n_samples=x.shape[0], seconds=time.perf_counter() - t0, config=api._jsonable(config),
                    history=list(res.history), warnings=list(res.warnings) + auto_warnings, details=api._jsonable(details))
