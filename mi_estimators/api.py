r"""The public entry: :func:`estimate_mi` validates once and dispatches to an estimator family.

>>> import numpy as np
>>> from mi_estimators import estimate_mi
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((2000, 2)); y = x + rng.standard_normal((2000, 2))
>>> res = estimate_mi(x, y, "infonce", steps=100, hidden=(32,), embed_dim=8)   # doctest: +SKIP
>>> print(res)                                                        # doctest: +SKIP
I = 0.62 ± 0.03 nats (95% CI 0.56 to 0.68) ...

Every estimator name belongs to one family in :data:`FAMILIES`: ``auto``
(:mod:`mi_estimators.auto`), the nonparametric estimators (:mod:`mi_estimators.nonparametric`)
and the neural bounds (:mod:`mi_estimators.neural`, one name per bound of
:func:`mi_estimators.bounds.list_bounds`). A family's module is imported on first use, so a
nonparametric call does not import torch. All values are in nats.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass

from mi_estimators._checks import check_choice, check_xy, check_xyz
from mi_estimators.options import CriticOptions, TrainOptions, changed_fields, field_names, split_options
from mi_estimators.result import UNITS, MIResult, emit_warnings

__all__ = ["estimate_mi", "estimate_cmi", "list_estimators", "valid_options", "FAMILIES", "AUTO"]

#: Picks the method by the data's shape (:mod:`mi_estimators.auto`).
AUTO = "auto"


@dataclass(frozen=True)
class Family:
    """One way estimates are made: the names it answers (``names``: a tuple, or
    ``"module:attribute"`` of a registry whose keys are the names), its runner
    (``"module:function"`` with the signature ``run(name, x, y, *, seed, train, critic, options)
    -> MIResult``), whether it trains critics (else training options are refused), and, for a
    family whose names share one option set, ``options``: ``"module:function"`` returning it
    (else the options come from the estimator's registry entry)."""

    names: tuple | str
    runner: str
    trains: bool
    options: str | None = None

    def _load(self, spec: str):
        module, _, attribute = spec.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def name_list(self) -> tuple[str, ...]:
        return self.names if isinstance(self.names, tuple) else tuple(self._load(self.names))

    def run(self, name: str, x, y, **kw) -> MIResult:
        return self._load(self.runner)(name, x, y, **kw)


#: Estimator families, in the order names are looked up (the neural family imports torch).
FAMILIES = {
    "auto": Family((AUTO,), "mi_estimators.auto:run_auto", trains=True, options="mi_estimators.auto:option_names"),
    "nonparametric": Family("mi_estimators.nonparametric:NONPARAMETRIC_ESTIMATORS",
                            "mi_estimators.nonparametric:run_nonparametric", trains=False),
    "neural": Family("mi_estimators.bounds:BOUNDS", "mi_estimators.neural:run_neural", trains=True),
    "flow": Family(("flow",), "mi_estimators.flow:run_flow", trains=True, options="mi_estimators.flow:option_names"),
    "phi-plugin": Family(("phi-plugin",), "mi_estimators.phi_plugin:run_phi_plugin", trains=True,
                         options="mi_estimators.phi_plugin:option_names"),
}

#: ``auto`` given a ``divergence=``: the φ-MI default (:mod:`mi_estimators.phi_default`).
AUTO_PHI = Family((), "mi_estimators.phi_default:run_phi_default", trains=True)


def list_estimators() -> list[str]:
    """Every name :func:`estimate_mi` accepts: ``auto``, the nonparametric estimators and the bounds."""
    return sorted({name for family in FAMILIES.values() for name in family.name_list()})


def _family(estimator) -> Family:
    for family in FAMILIES.values():
        if isinstance(estimator, str) and estimator in family.name_list():
            return family
    check_choice("estimator", estimator, list_estimators())   # raises, listing the names


def valid_options(estimator: str) -> set[str]:
    """The keyword options ``estimate_mi(x, y, estimator, **options)`` accepts for ``estimator``
    (besides ``seed`` and ``transform``), from the option groups and the estimator's registry."""
    family = _family(estimator)
    if family.options is not None:
        return set(family._load(family.options)()) - {"seed"}
    if not family.trains:
        from mi_estimators.nonparametric import NONPARAMETRIC_ESTIMATORS

        return set(NONPARAMETRIC_ESTIMATORS[estimator].options)
    from mi_estimators.bounds import BOUNDS

    return set(field_names(TrainOptions)) | set(field_names(CriticOptions)) | set(BOUNDS[estimator].hyper_defaults)


def _refuse_training_options(name: str, train: TrainOptions, critic: CriticOptions) -> None:
    """A nonparametric estimator trains nothing: a training option set away from its default
    would be silently ignored, so it is an error that says so."""
    changed = sorted(changed_fields(train, ignore=("progress",)) + changed_fields(critic))
    if changed:
        raise ValueError(
            f"estimator {name!r} is nonparametric and trains no critic: the training option(s) "
            f"{', '.join(changed)} would have no effect; drop them, or name a neural estimator "
            "(e.g. 'infonce') or 'auto' to train critics")


def estimate_mi(x, y, estimator: str = AUTO, critic: str | None = None, *,
                n_critics: int | None = None, combine: str | None = None, seed: int = 0,
                steps: int = TrainOptions.steps, batch_size: int = TrainOptions.batch_size,
                lr: float = TrainOptions.lr, hidden=None, embed_dim: int = CriticOptions.embed_dim,
                activation: str = CriticOptions.activation, device: str = TrainOptions.device,
                standardize: bool = TrainOptions.standardize,
                heldout_fraction: float = TrainOptions.heldout_fraction,
                eval_every: int = TrainOptions.eval_every, patience: int | None = TrainOptions.patience,
                dtype: str = TrainOptions.dtype, progress: bool = TrainOptions.progress, **options) -> MIResult:
    r"""Estimate the mutual information between paired samples ``x`` and ``y`` (nats).

    Parameters
    ----------
    x, y : array-like, shape (n, d_x) and (n, d_y)
        Paired samples (numpy, lists, torch tensors, pandas). A 1-D array is one column.
    estimator : str
        ``"auto"`` (the default: the method chosen from the data, the most accurate on
        the Beyond-Normal suite, see :mod:`mi_estimators.auto` and docs/accuracy.md), a bound
        name (``infonce``, ``nwj``, ``dv``, ``mine``, ``smile``, ``js``, ``fmicl``,
        ... see :func:`list_estimators`) or a nonparametric name (``ksg``, ``cca``,
        ``sklearn-mi``). With ``"auto"`` the training options apply to its neural path.
        φ-bounds take ``divergence=`` (and ``alpha=`` for tsallis); ``fgan`` trains with
        ``output="bounded"`` (the f-GAN output activation) unless ``output="raw"`` is given.
        ``"phi-plugin"`` reads any φ-MI by plug-in from one InfoNCE ratio critic
        (:mod:`mi_estimators.phi_plugin`). ``"auto"`` with ``divergence=`` is the φ-MI default
        (:mod:`mi_estimators.phi_default`: KL → auto's rules; otherwise the Gaussian-copula
        φ-MI when the copula test does not reject, else the plug-in).
    critic : str or None
        ``separable`` (the default, also for ``None``), ``joint``/``concat``, ``bilinear``,
        ``fgaussian`` or ``conditional-gaussian`` (a density model q(y|x); the default, and the
        only critic, of the generative bounds ``club``, ``l1out``, ``ba``, ``doe``).
    n_critics, seed : int
        Train ``n_critics`` critics with seeds ``seed ... seed + n_critics - 1`` at once (one
        batched model). Member ``k`` equals ``estimate_mi(..., seed=seed + k, split_seed=seed)``.
        ``n_critics=None`` means 1 for a named bound and ``auto``'s own choice
        (:data:`mi_estimators.auto.NEURAL_N_CRITICS`, 4) under ``"auto"``.
    combine : ``"estimates"``, ``"scores"`` or None
        How ``n_critics > 1`` members give one value. ``"estimates"`` (the default for a
        named bound) averages the members' held-out estimates: less seed noise, the same
        bias. ``"scores"`` averages their score matrices into one critic
        (:class:`mi_estimators.critics.MeanScoreEnsemble`) and evaluates the bound at it
        once: the members' independent errors partly cancel, which tightens the bound
        (InfoNCE on the Beyond-Normal choose half, 4 members: mean |error| 0.0499 vs 0.0571
        nats for one critic and 0.0578 for the mean of 4 estimates; docs/accuracy.md).
        ``None``: ``"estimates"``, or ``auto``'s choice (``"scores"``) under ``"auto"``.
    steps, batch_size, lr, eval_every, patience
        Adam for at most ``steps`` steps on minibatches of ``batch_size``; evaluate on the
        held-out split every ``eval_every`` steps; stop a member after ``patience``
        evaluations without improvement (``None``: never) and keep its best weights.
    hidden, embed_dim, activation
        Critic size. ``hidden=None`` means :data:`mi_estimators.neural.DEFAULT_HIDDEN` (two
        layers of 256) for a named bound, and ``auto``'s own choice
        (:data:`mi_estimators.auto.NEURAL_HIDDEN`, three layers of 128) under ``"auto"``.
        Critic-specific options: ``cosine``, ``temperature``, ``chunk_size``, ``sigma``,
        ``marginal`` (conditional-gaussian: ``"gaussian"``, ``"mixture"``, ``"none"``).
    device : ``"cpu"``, ``"cuda"`` or ``"auto"``.
    standardize : bool
        z-score each column with the training split's mean and sd (recorded in the
        config). A constant column raises ``ValueError`` (it carries no information).
    heldout_fraction : float
        Fraction of the samples held out for evaluation, early stopping and the reported value.
    options
        ``transform="copula"`` replaces every column by its normal scores
        Φ⁻¹((rank − ½)/n) before estimating (MI is invariant under monotone maps of each
        coordinate; this removes heavy tails and marginal warps; recorded in the config).
        The rest of :class:`mi_estimators.options.TrainOptions` (``split_seed``,
        ``eval_batch_size``, ``final_repeats``, ``weight_decay``, ``num_threads``,
        ``cuda_graph``, ``negatives="all"``/``"derangement"``: the product pairs of the
        bound's marginal term, docs/bounds.md); bound hyper-parameters (e.g. ``divergence="js"``, ``clip=5``);
        ``auto``'s own options (:class:`mi_estimators.auto.AutoOptions`); for
        nonparametric estimators, their options (e.g. ``k=3``). ``units="bits"`` reports
        ``mi``, ``stderr``, ``interval`` and ``per_critic`` in bits (default ``"nats"``).

    Returns
    -------
    MIResult
        ``mi`` is the mean of the members' held-out estimates (``combine="estimates"``) or
        the held-out estimate of their mean-score critic (``combine="scores"``, whose
        ``stderr`` is that critic's held-out sampling error alone); ``per_critic`` holds the
        members' own estimates either way. With ``"estimates"``, ``stderr`` combines (a) the
        held-out sampling error of the trained critics (standard error over disjoint
        held-out batches, conservative; the members share the held-out set, so the mean of
        their sampling errors is used) and (b) the seed spread ``var_k / K`` over members
        when ``K > 1``. The 95% ``interval`` uses a Student t quantile with
        Welch–Satterthwaite degrees of freedom. It covers the value this estimator
        converges to on this training data (the bound at the trained critic, averaged over
        held-out data and seeds). It does **not** cover the bound's bias (e.g. InfoNCE is
        capped at ``log B``), nor the variation from redrawing the training data; with
        ``K = 1`` it also misses seed variance. Early stopping selects weights on the same
        held-out set, a small optimistic selection effect. Nonparametric estimators give
        ``mi ± 1.96 stderr``; ``auto`` widens its interval by a calibrated bias allowance.
        MI (and φ-MI) is never negative: the value and the interval's ends are clipped at 0,
        the raw ones kept in ``details["mi_raw"]`` and ``details["interval_raw"]``.

    Every caveat about the reported value is in ``result.warnings`` and issued once as a Python
    warning (e.g. an estimate within 0.1 nats of the bound's ceiling, InfoNCE's ``log B``:
    raise ``batch_size``). Raises ``ValueError`` for bad input, and
    :class:`mi_estimators.training.TrainingDivergedError` when training produces NaN/inf.
    """
    t0 = time.perf_counter()
    family = _family(estimator)
    units = check_choice("units", options.pop("units", "nats"), UNITS)
    x, y = check_xy(x, y)
    transform = options.pop("transform", None)
    given = dict(critic=critic, n_critics=n_critics, combine=combine, steps=steps, batch_size=batch_size, lr=lr,
                 hidden=hidden, embed_dim=embed_dim, activation=activation, device=device, standardize=standardize,
                 heldout_fraction=heldout_fraction, eval_every=eval_every, patience=patience, dtype=dtype,
                 progress=progress)
    train, critic_options, rest = split_options({**given, **options})
    if estimator == AUTO and "divergence" in rest:   # the φ-MI default picks its own route
        family = AUTO_PHI
    if not family.trains:
        _refuse_training_options(estimator, train, critic_options)
    if transform is not None:   # per-column normal scores first: MI is invariant, tails and warps go
        from mi_estimators.copula import copula_normalize

        transform = check_choice("transform", transform, ("copula",))
        x, y = copula_normalize(x), copula_normalize(y)
    result = family.run(estimator, x, y, seed=seed, train=train, critic=critic_options, options=rest)
    if transform is not None:
        result.config["transform"] = transform
    result = result.clipped_at_zero()
    result.seconds = time.perf_counter() - t0
    emit_warnings(result.warnings)
    return result if units == "nats" else result.in_units(units)


def estimate_cmi(x, y, z, method: str = AUTO, *, seed: int = 0, units: str = "nats", **options) -> MIResult:
    r"""Estimate the conditional mutual information I(X; Y | Z) from paired samples (nats).

    ``x, y, z``: arrays of shape (n, d_x), (n, d_y), (n, d_z) (1-D arrays are one column).
    ``method``: ``"auto"`` (the default: chosen from the data, the reason in
    ``details["auto"]``), ``"ksg"`` (Frenzel–Pompe k-NN; option ``k=``), ``"gaussian-copula"``
    (conditional GCMI, Ince et al. 2017), ``"discrete"`` (plug-in with a bias correction, for
    discrete X, Y, Z) or ``"neural"`` (the chain rule I(X; Y,Z) − I(X; Z), each term by
    :func:`estimate_mi`'s default; takes its training options). See
    :mod:`mi_estimators.cmi`. The value and its 95 % interval are clipped at 0 (CMI is never
    negative; the raw value is in ``details["mi_raw"]``). ``units="bits"`` reports bits.
    """
    from mi_estimators.cmi import CMI_METHODS, run_cmi

    t0 = time.perf_counter()
    method = check_choice("CMI method", method, CMI_METHODS)
    units = check_choice("units", units, UNITS)
    x, y, z = check_xyz(x, y, z)
    train, critic, rest = split_options(options)
    if method not in (AUTO, "neural"):
        _refuse_training_options(method, train, critic)
    result = run_cmi(method, x, y, z, seed=seed, train=train, critic=critic, options=rest)
    result.seconds = time.perf_counter() - t0
    emit_warnings(result.warnings)
    return result if units == "nats" else result.in_units(units)
