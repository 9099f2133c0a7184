r"""The ``"auto"`` estimator: a plan chosen from the data, run, and recorded as it ran.

:func:`plan_auto` looks at the samples and returns an :class:`AutoPlan` (method, options,
reason, whether the Gaussian-copula test runs first); :func:`run_plan` runs exactly that plan
and records it in ``result.config`` and ``result.details["auto"]``. :func:`estimate_auto`
does both. The rules, in order:

1. **The Gaussian-copula test first.** Every column is replaced by its normal scores
   :math:`\Phi^{-1}\big((\mathrm{rank} - \tfrac12)/n\big)` (:func:`copula_normalize`; MI is
   invariant under monotone maps of each coordinate). If they look jointly Gaussian
   (:func:`mi_estimators.copula.gaussian_copula_test`, p >= :data:`COPULA_TEST_LEVEL`), the
   Gaussian-copula value (CCA on normal scores, "GCMI", Ince et al. 2017) is exact and is
   reported, unless the shape-based method below (which still runs, as a check) exceeds it
   by more than :data:`COPULA_CHECK_Z` standard errors, which a Gaussian copula cannot do.
2. **Low dimension (d_x + d_y <= :data:`KSG_MAX_DIM`): KSG** with k chosen by the data:
   k = 3 unless the k = 1 estimate exceeds it by more than :data:`KSG_BIAS_GAP` nats (KSG's
   downward bias grows with k where the density bends within the k-th neighbour distance).
3. **Otherwise: InfoNCE** with :data:`NEURAL_N_CRITICS` separable critics of
   :data:`NEURAL_HIDDEN` trained at once and evaluated as one critic (their mean score),
   on whitened blocks (:data:`NEURAL_TRANSFORM`), floored by the Gaussian-copula value:
   the larger is reported when they differ by more than their combined standard error
   (both are lower estimates). With too few samples to train a critic, the
   Gaussian-copula value is reported.
4. **High MI with a non-Gaussian copula: the flow estimator** (:mod:`mi_estimators.flow`,
   MIENF). On the trained path, where the copula test rejects and the value so far is at least
   :data:`FLOW_MIN_NATS` or InfoNCE is within :data:`CEILING_MARGIN` of its ceiling log B, and
   n >= :data:`FLOW_MIN_SAMPLES`, normalizing flows map each side to a Gaussian and the flow's
   value is reported when it exceeds the value so far by more than their combined standard
   error (``flow="off"`` switches this off). Below :data:`FLOW_MIN_SAMPLES` auto warns instead
   that its value is likely low.

Whatever is reported, the interval is reconciled with the other components
(:func:`reconcile_interval`): a lower-bound component above it, or a flow interval disjoint from
it, widens it and adds a warning that the methods disagree.

The reported 95 % interval is the reported method's sampling interval widened by a bias
allowance calibrated on the Beyond-Normal suite (:data:`BIAS_ALLOWANCE`). How each rule and
constant was chosen (on a "choose" half of the suite, then measured on a "report" half) is
in docs/accuracy.md.

Failure modes: copula normalisation cannot undo non-monotone or multivariate warps (the
spiral); KSG keeps its e^I sample-size need at large MI; InfoNCE is capped at ``log B``
(B = batch size), so beyond ~3 nats InfoNCE is biased low and warns (rule 4 then runs the
flow where the copula is not Gaussian). The Gaussian-copula
test can miss a mildly non-Gaussian copula at small n; GCMI is then a lower estimate.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np

from mi_estimators._checks import check_bool, check_choice, check_no_constant_columns, check_xy
from mi_estimators.copula import COPULA_TEST_MIN_SAMPLES, copula_normalize, copula_test_checked
from mi_estimators.neural import estimate_neural, fitted_batch
from mi_estimators.nonparametric import estimate_nonparametric
from mi_estimators.options import CriticOptions, TrainOptions, field_names, split_options
from mi_estimators.result import Caveat, MIResult, emit_warnings, to_jsonable

__all__ = ["copula_normalize", "COPULA_TEST_LEVEL", "COPULA_CHECK_Z", "choose_estimator", "estimate_auto",
           "option_names", "OWN_OPTIONS", "floor_applies", "k1_shows_bias", "KSG_MAX_DIM", "KSG_BIAS_GAP",
           "KSG_MIN_SAMPLES", "BIAS_ALLOWANCE", "calibrated_interval", "NEURAL_TRANSFORM", "NEURAL_HIDDEN",
           "NEURAL_N_CRITICS", "NEURAL_COMBINE", "NEURAL_OPTIONS", "AutoOptions", "AutoPlan", "plan_auto",
           "run_plan", "run_auto", "FLOW_CHOICES", "FLOW_MIN_NATS", "FLOW_MIN_SAMPLES", "CEILING_MARGIN",
           "reconcile_interval"]

#: KSG is used when d_x + d_y is at most this.
KSG_MAX_DIM = 3

#: Fewest pairs auto's KSG path accepts: 10 standard-error blocks of more than k = 3 points.
KSG_MIN_SAMPLES = 40

#: KSG(k=1) - KSG(k=3) above this (nats) selects k = 1: the fall with k is KSG's bias showing.
KSG_BIAS_GAP = 0.01

#: Bias allowance of auto's 95 % interval, per reported method: ``(down, up)`` fractions of |I|
#: added below / above the sampling interval (which covers only the estimator's noise). The
#: narrowest fractions (grid 0.02) that reach >= 95 % coverage on the choose half of the
#: Beyond-Normal suite (``docs/accuracy/calibration.json``). They describe that suite's biases
#: (I <= 1.8 nats, n = 5000), not a guarantee elsewhere.
#: The discrete and mixed-data paths have no allowance: their own intervals are reported
#: (their coverage is measured on the discrete tasks' report half, docs/accuracy.md).
BIAS_ALLOWANCE = {"ksg": (0.0, 0.12), "gcmi": (0.0, 0.24), "infonce": (0.0, 0.14), "gaussian-copula": (0.0, 0.02)}

#: Neighbours of the mixed-data KSG on auto's mixed path.
MIXED_KSG_K = 5

#: Input of the neural critic: ``"whiten"`` (each block decorrelated with the training split's
#: covariance, so the estimate is invariant to invertible linear maps of each side),
#: ``"standardize"`` (z-scored columns) or ``"copula"`` (normal scores). Whitening tied
#: standardising on the choose half's tasks with d > 3 (mean |error| 0.0479 both, paired
#: +0.0000 +- 0.0002, coverage 1.00 vs 0.97) and halved the error when each side is mixed by a
#: condition-100 linear map (0.069 vs 0.154 nats, coverage 0.94 vs 0.53;
#: docs/accuracy/choose_whiten.md). Normal scores lost (0.071 vs 0.061).
NEURAL_TRANSFORM = "whiten"

#: Hidden layers of the neural path's separable critic (each side): 0.0571 vs 0.0675 nats mean
#: |error| for 256-256 on the choose half, at 74 % of its CPU time.
NEURAL_HIDDEN = (128, 128, 128)

#: Level of the Gaussian-copula test: p >= this reports the Gaussian-copula value.
COPULA_TEST_LEVEL = 0.01

#: The shape-based method overrules a passed copula test when it exceeds the Gaussian-copula
#: value by more than this many combined standard errors.
COPULA_CHECK_Z = 2.0

#: Critics trained as one batched ensemble on the neural path, and how they combine: their
#: mean score matrix is one critic (mean |error| 0.0499 nats on the choose half, against
#: 0.0571 for one critic and 0.0578 for the mean of 4 estimates).
NEURAL_N_CRITICS = 4
NEURAL_COMBINE = "scores"

#: Options of the neural path (as :func:`mi_estimators.estimate_mi` keywords).
NEURAL_OPTIONS = dict(estimator="infonce", critic="separable", hidden=NEURAL_HIDDEN, n_critics=NEURAL_N_CRITICS,
                      combine=NEURAL_COMBINE)

_FORCED = ("ksg", "neural", "gaussian-copula", "flow")

#: When the flow estimator (:mod:`mi_estimators.flow`, MIENF) runs beside the critic on the
#: trained path: ``"auto"`` (the rule below), ``"off"`` (never: the round-4 rule).
FLOW_CHOICES = ("auto", "off")

#: InfoNCE within this many nats of its ceiling log B counts as saturated: the flow then runs.
CEILING_MARGIN = 0.5

#: Fewest samples at which auto runs the flow: below this its fit is unreliable (at n = 200 a
#: 5+5 spiral gave a raw held-out value of -259 nats; benchmarks/hard_set.py), and auto warns instead.
FLOW_MIN_SAMPLES = 1280

#: The flow runs (the copula test rejecting) when the value so far is at least this (nats).
#: Chosen on the choose half (21 high-MI d = 5 tasks and 18 Beyond-Normal tasks with d > 3, seed 0;
#: docs/accuracy/flow_rule_choose.md) from 1.5 / 2.5 / 3.5: high-MI mean relative error 6.8 / 7.1 /
#: 7.7 % (round 4: 24.1 %), coverage 0.90 / 0.90 / 0.86 (0.52); no Beyond-Normal task reaches it.
FLOW_MIN_NATS = 1.5
_TRANSFORM_WORDS = {"standardize": "standardised data", "copula": "copula-normalised data",
                    "whiten": "whitened data (each block decorrelated)"}


@dataclass(frozen=True)
class AutoOptions:
    """``auto``'s own options: ``force`` a path (``"ksg"``, ``"neural"``,
    ``"gaussian-copula"``, ``"flow"``; for benchmarks), the critic's input (``neural_transform``), the
    reported ``interval`` (``"calibrated"`` or ``"sampling"``), whether the
    Gaussian-copula test runs (``copula_test``) and whether the flow estimator may run beside
    the critic (``flow``: ``"auto"`` or ``"off"``, see :data:`FLOW_CHOICES`)."""

    force: str | None = None
    neural_transform: str = NEURAL_TRANSFORM
    interval: str = "calibrated"
    copula_test: bool = True
    flow: str = "auto"

    def __post_init__(self):
        check_choice("flow", self.flow, FLOW_CHOICES)
        check_choice("neural_transform", self.neural_transform, _TRANSFORM_WORDS)
        check_choice("interval", self.interval, ("calibrated", "sampling"))
        check_bool("copula_test", self.copula_test)
        if self.force is not None:
            check_choice("force", self.force, _FORCED)


#: auto's own options, besides estimate_mi's training and critic options.
OWN_OPTIONS = field_names(AutoOptions)


@dataclass(frozen=True)
class AutoPlan:
    """What ``auto`` runs: ``method`` (``"ksg"``, ``"infonce"`` or ``"gaussian-copula"``) with
    ``options`` (KSG's ``k``; the critic, its ensemble, its input ``transform`` and the
    ``floor``), the ``reason`` for the user, and whether the Gaussian-copula test runs first."""

    method: str
    options: dict = field(default_factory=dict)
    reason: str = ""
    copula_test: bool = False


def choose_estimator(x, y) -> tuple[str, dict, str]:
    """The method ``auto`` uses for data of this shape when the copula is not Gaussian:
    ``(estimator name, options, reason)`` with the default options (see :func:`plan_auto`)."""
    x, y = check_xy(x, y)
    plan = _shape_plan(x.shape[1] + y.shape[1], AutoOptions(), CriticOptions())
    return plan.method, dict(plan.options), plan.reason


def _neural_options(auto: AutoOptions, critic: CriticOptions) -> dict:
    c = critic.with_defaults(critic="separable", hidden=NEURAL_HIDDEN, n_critics=NEURAL_N_CRITICS,
                             combine=NEURAL_COMBINE)
    return dict(critic=c.critic, hidden=c.hidden, n_critics=c.n_critics, combine=c.combine,
                transform=auto.neural_transform, floor="gcmi")


def _shape_plan(d: int, auto: AutoOptions, critic: CriticOptions) -> AutoPlan:
    """The plan by shape (or by ``auto.force``), before the copula test is considered."""
    words = _TRANSFORM_WORDS[auto.neural_transform]
    if auto.force == "ksg":
        return AutoPlan("ksg", dict(k="adaptive"), "forced: KSG")
    if auto.force == "neural":
        return AutoPlan("infonce", _neural_options(auto, critic),
                        f"forced: InfoNCE on {words}, Gaussian-copula floor")
    if auto.force == "gaussian-copula":
        return AutoPlan("gaussian-copula", {}, "forced: the Gaussian-copula value")
    if auto.force == "flow":
        return AutoPlan("flow", {}, "forced: the flow estimator (MIENF)")
    if d <= KSG_MAX_DIM:
        return AutoPlan("ksg", dict(k="adaptive"),
                        f"d_x + d_y = {d} <= {KSG_MAX_DIM}: KSG is the most accurate in low dimension "
                        "(k-NN distances do not concentrate)")
    return AutoPlan("infonce", _neural_options(auto, critic),
                    f"d_x + d_y = {d} > {KSG_MAX_DIM}: InfoNCE with a separable critic on {words} "
                    "(KSG degrades with dimension), floored by the Gaussian-copula (CCA on normal scores) value")


def _data_plan(x: np.ndarray, y: np.ndarray) -> AutoPlan | None:
    """A plan for discrete or mixed data (``None`` for continuous data): every column discrete
    -> the plug-in ``"discrete"`` estimator; some discrete columns -> the mixed-data KSG of Gao
    et al. (2017). Continuous columns with a point mass (an atom) stay on the continuous path:
    on the choose half's zero-inflated tasks it had 0.058 nats mean |error| against 0.094 for
    the mixed-data KSG (docs/accuracy.md)."""
    from mi_estimators.discrete import discrete_columns

    disc = [discrete_columns(a) for a in (x, y)]
    if all(np.all(d) for d in disc):
        return AutoPlan("discrete", {}, "every column of x and y is discrete (integer-valued with few levels): "
                        "the plug-in MI with the Miller-Madow correction, interval within [0, min(H(X), H(Y))]")
    named = [f"{label} column(s) {np.flatnonzero(d).tolist()}" for label, d in zip("xy", disc) if d.any()]
    if named:
        return AutoPlan("mixed-ksg", dict(k=MIXED_KSG_K), f"mixed data ({' and '.join(named)} discrete, the rest "
                        f"continuous): the mixed discrete-continuous KSG of Gao et al. (2017), k = {MIXED_KSG_K}")
    return None


def plan_auto(x: np.ndarray, y: np.ndarray, auto: AutoOptions = AutoOptions(),
              critic: CriticOptions = CriticOptions()) -> AutoPlan:
    """The plan for checked samples ``x, y``: discrete or mixed data first (unless forced), then
    by shape (or ``auto.force``); the Gaussian-copula test runs first on continuous data unless
    forced, switched off, or n < ``COPULA_TEST_MIN_SAMPLES``."""
    data_plan = _data_plan(x, y) if auto.force is None else None
    if data_plan is not None:
        return data_plan
    plan = _shape_plan(x.shape[1] + y.shape[1], auto, critic)
    test = auto.force is None and auto.copula_test and x.shape[0] >= COPULA_TEST_MIN_SAMPLES
    return AutoPlan(plan.method, plan.options, plan.reason, bool(test))


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
    method = check_choice("method", method, BIAS_ALLOWANCE)
    down, up = BIAS_ALLOWANCE[method]
    lo, hi = (float(v) for v in sampling_interval)
    return (lo - down * abs(mi), hi + up * abs(mi))


def option_names() -> set[str]:
    """Every option name ``auto`` accepts: the training and critic options (they go to the
    neural path), ``seed``, InfoNCE's hyper-parameters and :data:`OWN_OPTIONS`."""
    from mi_estimators.bounds import BOUNDS

    return ({"seed", *field_names(TrainOptions), *field_names(CriticOptions), *OWN_OPTIONS}
            | set(BOUNDS["infonce"].hyper_defaults))


def _check_option_names(names) -> None:
    """Refuse option names that neither the KSG nor the neural path would use."""
    if not names:
        return
    valid = option_names()
    unknown = sorted(set(names) - valid)
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} for estimator 'auto'" + (f" (and {unknown[1:]})" if unknown[1:] else "")
                         + f"; valid options: {', '.join(sorted(valid))}"
                         + ("; auto picks KSG's k itself: pass estimator='ksg' for a fixed k" if "k" in unknown else ""))




@dataclass
class _Outcome:
    """What a run of the plan reports: ``value`` (the result whose estimate, standard error and
    interval are reported), ``record`` (the result of the method that ran last, whose config,
    details, history and warnings are kept; the same as ``value`` unless the floor applied),
    which value was ``reported`` and why, the components, and the choices the run made."""

    value: MIResult | None = None
    record: MIResult | None = None
    reported: str = ""
    reason: str = ""
    components: dict = field(default_factory=dict)
    resolved: dict = field(default_factory=dict)   # choices the run made (KSG's k)
    extra: list = field(default_factory=list)      # caveats of auto's own about the reported value

    def report(self, result: MIResult, reported: str, *, keep_record: bool = False) -> None:
        self.value, self.reported = result, reported
        if not keep_record:
            self.record = result

    @property
    def mi(self) -> float:
        return self.value.mi

    @property
    def se(self) -> float:
        return self.value.stderr


def _run_ksg(plan: AutoPlan, x, y, seed, out: _Outcome) -> _Outcome:
    if x.shape[0] < KSG_MIN_SAMPLES:
        raise ValueError(
            f"too few samples: n = {x.shape[0]}; estimator 'auto' uses KSG here (d_x + d_y <= {KSG_MAX_DIM}) "
            f"and needs at least {KSG_MIN_SAMPLES} pairs (k = 3 neighbours and a 10-block standard error); "
            "collect more samples, or pass estimator='ksg' with smaller k / stderr='pointwise'"
        )
    res3 = estimate_nonparametric("ksg", x, y, seed=seed, options=dict(k=3))
    res1 = estimate_nonparametric("ksg", x, y, seed=seed, options=dict(k=1))
    out.components["ksg_k3"] = dict(mi=res3.mi, stderr=res3.stderr)
    out.components["ksg_k1"] = dict(mi=res1.mi, stderr=res1.stderr)
    if k1_shows_bias(res1.mi, res3.mi):
        res, k = res1, 1
        out.reason += (f"; k = 1: KSG falls from {res1.mi:.3f} (k = 1) to {res3.mi:.3f} (k = 3) nats, "
                       "the signature of its bias growing with k")
    else:
        res, k = res3, 3
        out.reason += "; k = 3 (k = 1 is not clearly larger, so the lower-variance k is kept)"
    out.components["ksg"] = dict(mi=res.mi, stderr=res.stderr)
    out.report(res, "ksg")
    out.resolved = dict(k=k)
    return out


def _run_neural(plan: AutoPlan, x, y, normal_scores, gc, seed, train, critic, bound_options,
                out: _Outcome) -> _Outcome:
    if fitted_batch(x.shape[0], train) is None:
        out.reason += f"; only n = {x.shape[0]} samples, too few to train a critic: Gaussian-copula value"
        out.report(gc, "gcmi")
        test = out.components.get("copula_test")
        if test is None or test["pvalue"] < COPULA_TEST_LEVEL:   # the copula value is not known to be exact
            out.extra.append(Caveat(
                f"only n = {x.shape[0]} samples, too few to train a critic, so the Gaussian-copula value is reported "
                f"although the Gaussian-copula test {'rejects' if test else 'did not run'}: it is then only a lower "
                "estimate of the MI, low by about the copula's departure from Gaussian"))
        return out
    o = plan.options
    nx, ny = normal_scores if o["transform"] == "copula" else (x, y)
    critic = dataclasses.replace(critic, **{k: o[k] for k in ("critic", "hidden", "n_critics", "combine")})
    if o["transform"] == "whiten":
        train = dataclasses.replace(train, standardize="whiten")
    res = estimate_neural(nx, ny, "infonce", seed=seed, train=train, critic=critic, bound_options=bound_options)
    out.components["infonce"] = dict(mi=res.mi, stderr=res.stderr, interval=list(res.interval))
    out.report(res, "infonce")
    if o["floor"] == "gcmi" and floor_applies(res.mi, res.stderr, gc.mi, gc.stderr):
        out.report(gc, "gcmi", keep_record=True)
        out.reason += (f"; the Gaussian-copula value {gc.mi:.3f} exceeds the InfoNCE value "
                       f"{res.mi:.3f} by more than their standard error, so it is reported")
    return out


def _copula_rejected(out: _Outcome) -> str | None:
    """Why the Gaussian-copula value is not known to be exact (``None``: the test passed)."""
    test = out.components.get("copula_test")
    if test is None:
        return "the Gaussian-copula test did not run"
    return "the Gaussian-copula test rejects" if test["pvalue"] < COPULA_TEST_LEVEL else None


def _flow_reason(out: _Outcome, n: int, train: TrainOptions) -> str | None:
    """Why the flow runs beside the critic (``None``: it does not): the copula test rejects (or
    could not run) and the value so far is at least :data:`FLOW_MIN_NATS`, where InfoNCE's
    saturation and the copula's misfit bias the round-4 value down, or InfoNCE nears log B (a
    small ``batch_size``). A passed copula test never runs it: the copula value is then exact."""
    rejected = _copula_rejected(out)
    if rejected and out.mi >= FLOW_MIN_NATS:
        return f"{rejected} and the value so far ({out.mi:.2f} nats) is >= {FLOW_MIN_NATS:g} nats"
    if rejected and "infonce" in out.components:   # (a passed test: the copula value is exact)
        ceiling = math.log(fitted_batch(n, train) or train.batch_size)
        if out.components["infonce"]["mi"] > ceiling - CEILING_MARGIN:
            return f"InfoNCE is within {CEILING_MARGIN:g} nats of its ceiling log B = {ceiling:.2f}"
    return None


def _small_n_caveat(out: _Outcome, n: int) -> None:
    """Below :data:`FLOW_MIN_SAMPLES`, with a rejected copula and a critic trained on lowered
    batches, nothing here fits the data: say that the value is likely low."""
    rejected = _copula_rejected(out)
    if n >= FLOW_MIN_SAMPLES or not rejected or "infonce" not in out.components:
        return   # (without a critic, _run_neural has said so already)
    out.extra.append(Caveat(
        f"{rejected} and only n = {n} samples: too few for the flow estimator and for a full-batch critic, so the "
        f"reported value ({out.reported}) is likely a lower estimate of the MI, low by up to the copula's departure "
        "from Gaussian (on warped 5+5 data at n = 200-1000 it was 20-70 % low); its interval covers its noise, not "
        "that bias: collect more samples, or compare estimator='ksg' and 'flow'"))


def _run_flow(x, y, seed, train: TrainOptions, out: _Outcome) -> MIResult | None:
    """The flow estimator, with the training options of ``train`` that it uses (those left at
    their defaults take the flow's), recorded in ``out.components``; ``None`` (with the refusal
    recorded) when it refuses the data."""
    from mi_estimators.flow import FLOW_TRAIN_FIELDS, estimate_flow, with_flow_defaults

    flow_train = with_flow_defaults(TrainOptions(**{f: getattr(train, f) for f in FLOW_TRAIN_FIELDS}))
    try:
        res = estimate_flow(x, y, seed=seed, train=flow_train)
    except ValueError as exc:   # refusals (too few samples, a diverged fit): the other components stand
        out.components["flow"] = dict(refused=str(exc))
        return None
    out.components["flow"] = dict(mi=res.mi, stderr=res.stderr, interval=list(res.interval),
                                  warnings=[str(w) for w in res.warnings])
    return res


def _flow_step(x, y, seed, train: TrainOptions, auto: AutoOptions, out: _Outcome) -> None:
    """On the trained path: run the flow where :func:`_flow_reason` says so and report it when it
    exceeds the value so far by more than their combined standard error (the rule and
    :data:`FLOW_MIN_NATS` chosen on the choose half, docs/accuracy.md)."""
    n = x.shape[0]
    _small_n_caveat(out, n)
    why = None if auto.flow == "off" or n < FLOW_MIN_SAMPLES else _flow_reason(out, n, train)
    if why is None:
        return
    res = _run_flow(x, y, seed, train, out)
    if res is None:
        out.reason += f"; {why}, but the flow estimator refused the data ({out.components['flow']['refused']})"
        return
    from mi_estimators.flow import readouts_disagree

    closed, pointwise = res.details["mi_closed_form"], res.details["mi_pointwise"]
    if readouts_disagree(closed, pointwise):
        out.reason += (f"; {why}: the flow estimator ran too, but its fitted model's MI ({closed:.3f}) and held-out "
                       f"pointwise mean ({pointwise:.3f}) disagree (a misfit), so it is not reported")
        return
    if not res.mi > out.mi + math.sqrt(res.stderr ** 2 + out.se ** 2):
        out.reason += (f"; {why}: the flow estimator (MIENF) ran too and gave {res.mi:.3f}, not above the "
                       f"value so far ({out.mi:.3f}) by more than their standard error, which is kept")
        return
    out.reason += (f"; {why}: the flow estimator (MIENF: each side mapped to a Gaussian by a normalizing flow) "
                   f"gives {res.mi:.3f} nats, above the value so far ({out.mi:.3f}) by more than their standard "
                   "error, and is reported (both approach the MI from below on the choose half's warped tasks)")
    out.report(res, "flow")


def _copula_check(out: _Outcome, gc: MIResult, p: float) -> tuple[str | None, _Outcome]:
    """After a passed copula test: keep the shape-based value only if it clearly exceeds GCMI
    (a lower bound under a Gaussian copula); else report GCMI. Returns (method, outcome)."""
    if out.mi > gc.mi + COPULA_CHECK_Z * math.sqrt(out.se ** 2 + gc.stderr ** 2):
        out.reason += (f"; the Gaussian-copula test does not reject (p = {p:.2g}), but {out.reported} "
                       f"({out.mi:.3f}) exceeds the Gaussian-copula value ({gc.mi:.3f}) by more than "
                       f"{COPULA_CHECK_Z:g} standard errors, which a Gaussian copula cannot do (that value "
                       "is then a lower bound), so it is kept")
        return None, out
    checker = "InfoNCE" if "infonce" in out.components else ("KSG" if "ksg" in out.components else "")
    agrees = f" and {checker} is not above it by more than {COPULA_CHECK_Z:g} standard errors" if checker else ""
    out.reason = (f"the Gaussian-copula test does not reject (p = {p:.2g} >= {COPULA_TEST_LEVEL}){agrees}: "
                  "the normal scores look jointly Gaussian, and for such data the Gaussian-copula value "
                  "(CCA on normal scores) is exact and has the smallest error of the methods here")
    out.report(gc, "gaussian-copula")
    return "gaussian-copula", out


#: Components that estimate MI from below (up to their sampling error): the Gaussian-copula value
#: (a lower bound on MI for any copula) and InfoNCE (a lower bound in expectation).
_LOWER_COMPONENTS = {"gcmi": "the Gaussian-copula value", "infonce": "InfoNCE"}


def reconcile_interval(interval, reported: str, components: dict) -> tuple[tuple[float, float], list]:
    """Auto's interval made consistent with its own components: ``(interval, caveats)``.

    A lower-bound component (:data:`_LOWER_COMPONENTS`) more than 2 standard errors above the
    interval's upper end, or a flow value whose interval lies wholly outside it, contradicts the
    reported value; the interval is then widened to take in that component (its value + 2 se, or
    its interval) and a caveat says which methods disagree and by how much.
    """
    lo, hi = (float(v) for v in interval)
    caveats = []
    for name, comp in components.items():
        if name == reported or not isinstance(comp, dict) or "mi" not in comp or "stderr" not in comp:
            continue
        if name in _LOWER_COMPONENTS and comp["mi"] - 2 * comp["stderr"] > hi:
            new_hi = comp["mi"] + 2 * comp["stderr"]
            what = f"{_LOWER_COMPONENTS[name]} ({comp['mi']:.3f} nats), a lower estimate,"
        elif name == "flow" and "interval" in comp and (comp["interval"][0] > hi or comp["interval"][1] < lo):
            new_hi = max(hi, comp["interval"][1])
            lo = min(lo, comp["interval"][0])
            what = f"the flow estimator ({comp['mi']:.3f} nats)"
        else:
            continue
        caveats.append(Caveat(f"auto's methods disagree: {what} lies outside the reported value's interval "
                              f"[{float(interval[0]):.3f}, {float(interval[1]):.3f}] ({reported}); no method here can be "
                              f"trusted to that precision, so the interval is widened to take it in"))
        hi = max(hi, new_hi)
    return (lo, hi), caveats


def _warn_unused_critic_options(out: _Outcome, critic: CriticOptions, d: int) -> list[str]:
    """A warning when the user set ensemble or critic options and auto reported a non-neural value."""
    given = dict(n_critics=critic.n_critics, critic=critic.critic, combine=critic.combine)
    ignored = sorted(k for k, v in given.items() if v not in (None, 1, "separable"))
    if not ignored or out.reported not in ("ksg", "gaussian-copula", "discrete", "mixed-ksg"):
        return []
    why = {"ksg": f"KSG (d_x + d_y = {d} <= {KSG_MAX_DIM})", "discrete": "the discrete plug-in estimator",
           "mixed-ksg": "the mixed-data KSG"}.get(out.reported,
                                                  "the Gaussian-copula value (the copula test did not reject)")
    return [Caveat(f"auto chose {why}; {', '.join(ignored)} apply to neural estimators only and were ignored; "
                   "pass estimator='infonce' (or another bound) to train critics", RuntimeWarning)]


def run_plan(plan: AutoPlan, x: np.ndarray, y: np.ndarray, *, seed: int = 0, auto: AutoOptions = AutoOptions(),
             train: TrainOptions = TrainOptions(), critic: CriticOptions = CriticOptions(),
             bound_options: dict | None = None) -> MIResult:
    """Run ``plan`` on checked samples and return auto's :class:`MIResult` (``estimator="auto"``).

    ``details["auto"]`` holds the method, the reported value's source (``reported``), the
    plan's options with the choices the run made (KSG's ``k``), the reason, every component
    value and the sampling interval; ``config`` records the same.
    """
    t0 = time.perf_counter()
    out = _Outcome(reason=plan.reason)
    normal_scores, p, method = None, None, plan.method
    if plan.copula_test:
        normal_scores = (copula_normalize(x), copula_normalize(y))
        test = copula_test_checked(*normal_scores, normalized=True)
        out.components["copula_test"] = test
        p = test["pvalue"]
        if p < COPULA_TEST_LEVEL:
            out.reason += f"; the Gaussian-copula test rejects (p = {p:.2g} < {COPULA_TEST_LEVEL})"
    copula_passed = p is not None and p >= COPULA_TEST_LEVEL
    gc = None   # the Gaussian-copula value (CCA on normal scores): reported, a floor or a check
    if copula_passed or plan.method in ("infonce", "gaussian-copula"):
        normal_scores = normal_scores or (copula_normalize(x), copula_normalize(y))
        gc = estimate_nonparametric("cca", *normal_scores, seed=seed, options={})
        out.components["gcmi"] = dict(mi=gc.mi, stderr=gc.stderr)
    if plan.method in ("discrete", "mixed-ksg"):
        out.report(estimate_nonparametric(plan.method, x, y, seed=seed, options=dict(plan.options)), plan.method)
    elif plan.method == "gaussian-copula":
        out.report(gc, "gaussian-copula")
    elif plan.method == "ksg":
        _run_ksg(plan, x, y, seed, out)
    elif plan.method == "flow":
        res = _run_flow(x, y, seed, train, out)
        if res is None:
            raise ValueError(f"auto(force='flow'): {out.components['flow']['refused']}")
        out.report(res, "flow")
    else:
        _run_neural(plan, x, y, normal_scores, gc, seed, train, critic, bound_options or {}, out)
        _flow_step(x, y, seed, train, auto, out)
    if copula_passed:
        method, out = _copula_check(out, gc, p)
        method = method or plan.method
    auto_warnings = _warn_unused_critic_options(out, critic, x.shape[1] + y.shape[1])
    return _auto_result(plan, method, out, auto, seed, x.shape[0], auto_warnings, t0)


def _auto_result(plan, method, out: _Outcome, auto: AutoOptions, seed, n, auto_warnings, t0) -> MIResult:
    value, res = out.value, out.record
    record_warnings = list(res.warnings)
    if value is not res:   # the floor replaced the trained value: its caveats are about a component
        record_warnings = [Caveat(f"about the {out.record.estimator} check ({res.mi:.3f} nats), not the reported "
                                  f"value ({value.mi:.3f} nats, {out.reported}): {m}", getattr(m, "category", UserWarning))
                           for m in record_warnings]
    sampling_interval = tuple(float(v) for v in value.interval)
    calibrated = auto.interval == "calibrated" and out.reported in BIAS_ALLOWANCE
    interval = calibrated_interval(value.mi, sampling_interval, out.reported) if calibrated else sampling_interval
    interval, disagree = reconcile_interval(interval, out.reported, out.components)
    options = dict(plan.options, **out.resolved)
    config = dict(res.config)
    config.update(estimator="auto", auto_method=method, auto_options=options, auto_reason=out.reason,
                  auto_reported=out.reported, auto_interval_sampling=list(sampling_interval),
                  seed=seed, interval=auto.interval)
    details = dict(res.details)
    details["auto"] = dict(method=method, reported=out.reported, options=options, reason=out.reason,
                           components=out.components, interval_sampling=list(sampling_interval),
                           bias_allowance=list(BIAS_ALLOWANCE[out.reported]) if calibrated else [0.0, 0.0])
    return MIResult(mi=float(value.mi), stderr=float(value.stderr), interval=tuple(float(v) for v in interval),
                    per_critic=np.asarray(value.per_critic, dtype=float), estimator="auto", target="kl",
                    n_samples=n, seconds=time.perf_counter() - t0, config=to_jsonable(config),
                    history=list(res.history), warnings=record_warnings + out.extra + disagree + auto_warnings,
                    details=to_jsonable(details))


def run_auto(name: str, x: np.ndarray, y: np.ndarray, *, seed: int, train: TrainOptions,
             critic: CriticOptions, options: dict) -> MIResult:
    """``auto`` on checked samples (the family runner of :func:`mi_estimators.estimate_mi`;
    ``name`` is ``"auto"``): split ``options`` into auto's own and InfoNCE's, plan, run."""
    own = {k: options[k] for k in OWN_OPTIONS if k in options}
    rest = {k: v for k, v in options.items() if k not in own}
    _check_option_names(rest)
    auto = AutoOptions(**own)
    for a, label in ((x, "x"), (y, "y")):
        check_no_constant_columns(a, label, ": they carry no information (and break k-NN distances and "
                                  "standardisation); drop them")
    if critic.critic is not None:
        from mi_estimators import critics

        check_choice("critic", critic.critic, critics.list_critics())
    plan = plan_auto(x, y, auto, critic)
    return run_plan(plan, x, y, seed=seed, auto=auto, train=train, critic=critic, bound_options=rest)


def estimate_auto(x, y, *, seed: int = 0, **options) -> MIResult:
    """Estimate I(x; y) in nats with the plan :func:`plan_auto` makes for these samples.

    ``options``: training and critic options for the neural path (``steps=``,
    ``n_critics=``, ...), InfoNCE's hyper-parameters, and :class:`AutoOptions`
    (``force``, ``neural_transform``, ``interval``, ``copula_test``). The result's
    ``estimator`` is ``"auto"``; ``details["auto"]`` holds the chosen method, its options,
    the reason and every component value (the copula test's p-values under
    ``components["copula_test"]``). The 95 % ``interval`` is the reported method's sampling
    interval widened by its calibrated bias allowance (:func:`calibrated_interval`);
    ``interval="sampling"`` reports the sampling interval alone (also kept in
    ``details["auto"]["interval_sampling"]``). ``stderr`` is always the sampling error.
    """
    x, y = check_xy(x, y)
    train, critic, rest = split_options(options)
    result = run_auto("auto", x, y, seed=seed, train=train, critic=critic, options=rest)
    emit_warnings(result.warnings)
    return result
