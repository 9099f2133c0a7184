r"""The public API: :func:`estimate_mi` (one call) and :class:`MIEstimator` (scikit-learn style).

>>> import numpy as np
>>> from mi_estimators import estimate_mi
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((2000, 2)); y = x + rng.standard_normal((2000, 2))
>>> res = estimate_mi(x, y, "infonce", steps=100, hidden=(32,), embed_dim=8)   # doctest: +SKIP
>>> print(res)                                                        # doctest: +SKIP
I = 0.62 ± 0.03 nats (95% CI 0.56 to 0.68) ...

Neural estimators (every name of :func:`mi_estimators.bounds.list_bounds`) train a critic
on a training split and report the bound evaluated on the held-out split; KL bounds report
KL mutual information, φ-bounds report :math:`I_\phi` for the requested ``divergence=``.
Nonparametric estimators (``ksg``, ``cca``, ``sklearn-mi``) dispatch to
:mod:`mi_estimators.nonparametric`. All values are in nats.
"""
from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from mi_estimators._checks import check_choice

__all__ = ["estimate_mi", "MIEstimator", "MIResult", "list_estimators"]

NONPARAMETRIC = ("ksg", "cca", "sklearn-mi")
#: Picks the method by the data's shape (mi_estimators.auto; docs/accuracy.md).
AUTO = "auto"

# defaults recorded in every config (see docs/api.md for the measurement behind them)
DEFAULT_STEPS = 2000
#: A held-out sampling standard error above this (nats) makes estimate_mi warn that a few
#: samples dominate the estimate (heavy tails). In the Beyond-Normal full table (seed 0, 637
#: neural runs, docs/accuracy.md) 26 of the 28 runs above 0.5 nats were off by more than
#: 1 nat, and 1 of the 609 below.
UNSTABLE_STDERR = 0.5

#: Hidden layers of a named bound's critic when ``hidden=None`` (auto's neural path has its own).
DEFAULT_HIDDEN = (256, 256)
DEFAULT_BATCH_SIZE = 128
DEFAULT_LR = 5e-4
DEFAULT_EVAL_EVERY = 50
DEFAULT_PATIENCE = 6
CRITIC_KEYS = ("cosine", "temperature", "chunk_size", "sigma")
#: How an ensemble's members give one value (``estimate_mi(combine=...)``).
COMBINE = ("estimates", "scores")
TRAIN_KEYS = ("eval_batch_size", "final_repeats", "weight_decay", "split_seed", "num_threads", "cuda_graph")

#: Bound hyper-parameters that estimate_mi trains with unless given, where they differ from the
#: bound's own (mathematical) defaults. f-GAN trains as Nowozin et al. (2016) do: the critic goes
#: through the output activation that keeps it inside dom φ* (same as raw for KL/χ², whose dom φ*
#: is unbounded); a raw critic leaves the domain within a few steps for hellinger/js/tv/vlc/
#: reverse-chi2, and its value is then -inf by definition. output="raw" stays available.
TRAINING_BOUND_DEFAULTS = {"fgan": {"output": "bounded"}}


def _bound_names() -> list[str]:
    from mi_estimators.bounds import list_bounds

    return list(list_bounds())


def list_estimators() -> list[str]:
    """Every name :func:`estimate_mi` accepts: the bounds' registry plus nonparametric estimators."""
    return sorted(set(_bound_names()) | set(NONPARAMETRIC) | {AUTO})


# ------------------------------------------------------------------------------------------
# input handling: one place
# ------------------------------------------------------------------------------------------
def _as_2d(a, name: str) -> np.ndarray:
    """Arrays, lists, torch tensors, pandas objects -> finite float64 array (n, d); 1-D -> (n, 1)."""
    if a is None:
        raise ValueError(f"{name} is required (an array of shape (n_samples, n_features)), got None")
    if hasattr(a, "detach") and hasattr(a, "cpu"):          # torch tensor
        a = a.detach().cpu()
        if a.is_complex():
            raise ValueError(f"{name} must be real-valued, got a complex tensor")
        a = a.to(dtype=__import__("torch").float64).numpy()
    elif hasattr(a, "to_numpy"):                              # pandas DataFrame / Series
        a = a.to_numpy()
    arr = np.asarray(a)
    if arr.dtype.kind in "OUSV" or arr.dtype.kind == "c":
        try:
            if arr.dtype.kind == "c":
                raise TypeError
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be numeric (real numbers); got dtype {arr.dtype}. "
                "Encode categorical or text columns as numbers first"
            ) from None
    elif arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric (real numbers); got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D (n_samples,) or 2-D (n_samples, n_features); got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} contains {int(bad.any(axis=1).sum())} row(s) with NaN or inf values "
            f"(first at row {row}, column {col}); drop or impute them first"
        )
    return arr


def check_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of samples; returns float64 arrays (n, d_x), (n, d_y)."""
    x, y = _as_2d(x, "x"), _as_2d(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples (rows, paired): got {x.shape[0]} and {y.shape[0]}"
        )
    return _rescale_extreme(x), _rescale_extreme(y)


def _rescale_extreme(a: np.ndarray) -> np.ndarray:
    """Columns whose magnitude would overflow (or underflow) a square in float64 (max |a| above
    1e100 or below 1e-100) are multiplied by a power of two that brings it near 1: exact in
    floating point, and MI is invariant under a per-column scale, so no estimate changes —
    but means, variances and distances no longer overflow into inf/0 (a silent 0-nat answer)."""
    m = np.max(np.abs(a), axis=0) if a.size else np.zeros(a.shape[1])
    bad = (m > 1e100) | ((m < 1e-100) & (m > 0))
    if not bad.any():
        return a
    a = a.copy()
    exps = np.floor(np.log2(m[bad])).astype(int)
    a[:, bad] = np.ldexp(a[:, bad], -exps)
    return a


def constant_columns(a: np.ndarray) -> np.ndarray:
    """Indices of the columns of ``a`` whose sd is round-off relative to their mean."""
    return np.flatnonzero(a.std(0) <= 1e-12 * np.maximum(1.0, np.abs(a.mean(0))))


def _standardize(train: np.ndarray, others: list[np.ndarray], name: str):
    mu, sd = train.mean(0), train.std(0)
    const = constant_columns(train)
    if const.size:
        raise ValueError(
            f"column(s) {const.tolist()} of {name} are constant on the training split: they carry no "
            "information and cannot be standardised; drop them (or pass standardize=False)"
        )
    return [(a - mu) / sd for a in (train, *others)]


# ------------------------------------------------------------------------------------------
# result
# ------------------------------------------------------------------------------------------
def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(w) for k, w in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(w) for w in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    return str(v)


@dataclass
class MIResult:
    """An MI estimate in nats, its uncertainty, and everything needed to reproduce it.

    ``mi``: the estimate (the members' mean estimate, or their mean-score critic's estimate
    with ``combine="scores"``); ``stderr`` and ``interval``
    (95%): see :func:`estimate_mi` for exactly what they cover. ``per_critic``: the K
    members' estimates. ``history``: one dict per evaluation (``step``, ``train_loss`` and
    ``heldout`` lists over members). ``config``: the full JSON-serialisable configuration
    (seed, every default used, library version). ``target``: ``"kl"`` or the φ name.
    """

    mi: float
    stderr: float
    interval: tuple
    per_critic: np.ndarray
    estimator: str
    target: str
    n_samples: int
    seconds: float
    config: dict
    history: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-friendly dict of every field."""
        return _jsonable(dict(
            mi=self.mi, stderr=self.stderr, interval=list(self.interval), per_critic=self.per_critic,
            estimator=self.estimator, target=self.target, n_samples=self.n_samples,
            seconds=self.seconds, config=self.config, history=self.history,
            warnings=self.warnings, details=self.details,
        ))

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    def __str__(self) -> str:
        sym = "I" if self.target == "kl" else f"I_{self.target}"
        lo, hi = self.interval
        k = len(self.per_critic)
        ens = f", {k} critics" if k > 1 else ""
        return (f"{sym} = {self.mi:.4g} ± {self.stderr:.2g} nats (95% CI {lo:.4g} to {hi:.4g}; "
                f"{self.estimator}{ens}, n = {self.n_samples})")

    def __repr__(self) -> str:
        return f"<MIResult {self}>"


def _interval(mi: float, se_sampling: float, dof_sampling: int, seed_var_of_mean: float, k: int):
    """95% interval from two variance components, Student t with Welch–Satterthwaite dof."""
    from scipy import stats

    a, b = se_sampling**2, seed_var_of_mean
    total = a + b
    if total <= 0:
        return math.sqrt(total), (mi, mi)
    denom = (a * a / max(dof_sampling, 1)) + (b * b / (k - 1) if k > 1 else 0.0)
    dof = total * total / denom if denom > 0 else 1e6
    q = float(stats.t.ppf(0.975, dof))
    se = math.sqrt(total)
    return se, (mi - q * se, mi + q * se)


def _infonce_implied_mi(mi: float, batch_size: int) -> float:
    """Invert InfoNCE ≈ log B − log(1 + (B−1) e^{−I}) (an optimistic saturation model: the oracle
    critic sits below it, math_spec §2), giving the smallest MI consistent with the estimate."""
    # excess = B e^{-I} - 1, in log space: a = log(B e^{-I}), log(e^a - 1) = a + log(1 - e^{-a});
    # no overflow for the hugely negative estimates unstandardised data can give
    a = math.log(batch_size) - mi
    if a <= 0:
        return math.inf
    return math.log(batch_size - 1) - (a + math.log(-math.expm1(-a)))


# ------------------------------------------------------------------------------------------
# estimate_mi
# ------------------------------------------------------------------------------------------
def estimate_mi(x, y, estimator: str = "auto", critic: str | None = None, *,
                n_critics: int | None = None, combine: str | None = None, seed: int = 0,
                steps: int = DEFAULT_STEPS,
                batch_size: int = DEFAULT_BATCH_SIZE, lr: float = DEFAULT_LR,
                hidden=None, embed_dim: int = 32, activation: str = "relu",
                device: str = "cpu", standardize: bool = True, heldout_fraction: float = 0.2,
                eval_every: int = DEFAULT_EVAL_EVERY, patience: int | None = DEFAULT_PATIENCE,
                dtype: str = "float32", progress: bool = False, **options) -> MIResult:
    r"""Estimate the mutual information between paired samples ``x`` and ``y`` (nats).

    Parameters
    ----------
    x, y : array-like, shape (n, d_x) and (n, d_y)
        Paired samples (numpy, lists, torch tensors, pandas). A 1-D array is one column.
    estimator : str
        ``"auto"`` (the default: the method chosen by the data's shape, the most accurate on
        the Beyond-Normal suite, see :mod:`mi_estimators.auto` and docs/accuracy.md), a bound
        name (``infonce``, ``nwj``, ``dv``, ``mine``, ``smile``, ``js``, ``fmicl``,
        ... see :func:`list_estimators`) or a nonparametric name (``ksg``, ``cca``,
        ``sklearn-mi``). With ``"auto"`` the training options apply to its neural path. φ-bounds take ``divergence=`` (and ``alpha=`` for tsallis); ``fgan``
        trains with ``output="bounded"`` (the f-GAN output activation) unless ``output="raw"``
        is given.
    critic : str or None
        ``separable`` (the default, also for ``None``), ``joint``/``concat``, ``bilinear`` or
        ``fgaussian``.
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
        nats for one critic and 0.0578 for the mean of 4 estimates; docs/accuracy.md,
        round 4). ``None``: ``"estimates"``, or ``auto``'s choice (``"scores"``) under ``"auto"``.
    steps, batch_size, lr, eval_every, patience
        Adam for at most ``steps`` steps on minibatches of ``batch_size``; evaluate on the
        held-out split every ``eval_every`` steps; stop a member after ``patience``
        evaluations without improvement (``None``: never) and keep its best weights.
    hidden, embed_dim, activation
        Critic size. ``hidden=None`` means :data:`DEFAULT_HIDDEN` (two layers of 256) for a
        named bound, and ``auto``'s own choice (:data:`mi_estimators.auto.NEURAL_HIDDEN`,
        three layers of 128) under ``"auto"``. Critic-specific options: ``cosine``,
        ``temperature``, ``chunk_size``, ``sigma``.
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
        Bound hyper-parameters (e.g. ``divergence="js"``, ``clip=5``), ``split_seed``,
        ``eval_batch_size``, ``final_repeats``, ``weight_decay``; for nonparametric
        estimators, their options (e.g. ``k=3``).

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
        held-out set, a small optimistic selection effect.

    Warns when the estimate is within 0.1 nats of the bound's ceiling (InfoNCE's ``log B``):
    raise ``batch_size``. Raises ``ValueError`` for bad input, and
    :class:`mi_estimators.training.TrainingDivergedError` when training produces NaN/inf.
    """
    t0 = time.perf_counter()
    estimator = check_choice("estimator", estimator, list_estimators())
    if combine is not None:
        combine = check_choice("combine", combine, COMBINE)
    x, y = check_xy(x, y)
    transform = options.pop("transform", None)
    if transform is not None:   # per-column normal scores first: MI is invariant, tails and warps go
        from mi_estimators.auto import copula_normalize

        transform = check_choice("transform", transform, ("copula",))
        res = estimate_mi(copula_normalize(x), copula_normalize(y), estimator, critic, n_critics=n_critics,
                          combine=combine, seed=seed, steps=steps, batch_size=batch_size, lr=lr, hidden=hidden,
                          embed_dim=embed_dim, activation=activation, device=device, standardize=standardize,
                          heldout_fraction=heldout_fraction, eval_every=eval_every, patience=patience,
                          dtype=dtype, progress=progress, **options)
        res.config["transform"] = transform
        res.seconds = time.perf_counter() - t0
        return res
    n = x.shape[0]
    from mi_estimators import __version__

    if estimator in NONPARAMETRIC:
        given = dict(critic=critic, n_critics=n_critics, combine=combine, steps=steps, batch_size=batch_size,
                     lr=lr, hidden=hidden, embed_dim=embed_dim, activation=activation, device=device,
                     standardize=standardize, heldout_fraction=heldout_fraction, eval_every=eval_every,
                     patience=patience, dtype=dtype)
        _refuse_training_options(estimator, given)
        return _nonparametric(estimator, x, y, seed, options, t0)
    if estimator == AUTO:   # the method is chosen by shape; training settings go to its neural path
        from mi_estimators.auto import estimate_auto

        if critic is not None:
            options["critic"] = critic
        if hidden is not None:
            options["hidden"] = hidden
        return estimate_auto(x, y, seed=seed, n_critics=n_critics, combine=combine, steps=steps,
                             batch_size=batch_size,
                             lr=lr, embed_dim=embed_dim, activation=activation,
                             device=device, standardize=standardize, heldout_fraction=heldout_fraction,
                             eval_every=eval_every, patience=patience, dtype=dtype, progress=progress,
                             **options)

    import torch

    from mi_estimators import bounds, critics, training

    critic = check_choice("critic", "separable" if critic is None else critic, critics.list_critics())
    combine = "estimates" if combine is None else combine   # validated on entry
    n_critics = 1 if n_critics is None else n_critics
    dtypes = {"float32": torch.float32, "float64": torch.float64}
    torch_dtype = dtypes[check_choice("dtype", dtype, dtypes)]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    seed = int(seed)
    if not isinstance(heldout_fraction, (int, float)) or not 0.0 < heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must lie in (0, 1), got {heldout_fraction!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 2:
        raise ValueError(f"batch_size must be an integer >= 2, got {batch_size!r}")
    dev = training.resolve_device(device)

    critic_kw = {k: options.pop(k) for k in CRITIC_KEYS if k in options}
    train_kw = {k: options.pop(k) for k in TRAIN_KEYS if k in options}
    split_seed = train_kw.pop("split_seed", None)
    split_seed = seed if split_seed is None else int(split_seed)
    bound_kw = {**TRAINING_BOUND_DEFAULTS.get(estimator, {}), **options}
    try:
        bound = bounds.get_bound(estimator, **bound_kw)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"invalid option(s) for estimator {estimator!r}: {exc}. Training options "
            "are steps, batch_size, lr, hidden, embed_dim, activation, device, n_critics, seed, "
            "standardize, heldout_fraction, eval_every, patience, dtype, progress, "
            + ", ".join(TRAIN_KEYS + CRITIC_KEYS)
        ) from None

    # ---- split + standardise (training-split statistics only) ----
    eval_bs = int(train_kw.get("eval_batch_size", batch_size))
    n_held = int(round(n * heldout_fraction))
    n_train = n - n_held
    if n_train < batch_size or n_held < 2 * eval_bs:
        raise ValueError(
            f"too few samples: n = {n} with heldout_fraction={heldout_fraction} gives {n_train} training "
            f"samples (need at least one batch, batch_size={batch_size}) and {n_held} held-out samples "
            f"(need at least 2 batches of {eval_bs} for a standard error); give at least "
            f"{math.ceil(max(batch_size / (1 - heldout_fraction), 2 * eval_bs / heldout_fraction))} "
            "samples or lower batch_size"
        )
    tr, va = training.split_indices(n, heldout_fraction, split_seed)
    xt, xh, yt, yh = x[tr], x[va], y[tr], y[va]
    if standardize:
        xt, xh = _standardize(xt, [xh], "x")
        yt, yh = _standardize(yt, [yh], "y")

    hidden = DEFAULT_HIDDEN if hidden is None else hidden
    crit = critics.make_critic(critic, x.shape[1], y.shape[1], hidden=hidden, embed_dim=embed_dim,
                               n_critics=n_critics, activation=activation, seed=seed,
                               dtype=torch_dtype, **critic_kw)
    res = training.fit_critic(
        crit, bound, train=(xt, yt), heldout=(xh, yh), steps=steps, batch_size=batch_size, lr=lr,
        eval_every=eval_every, patience=patience, seed=seed, split_seed=split_seed, device=dev,
        progress=progress, **train_kw,
    )

    k = n_critics
    per = res.estimates.astype(float)
    if combine == "scores" and k > 1:
        # one critic, the members' mean score; evaluated on the same held-out partitions
        ens = critics.MeanScoreEnsemble(res.critic)
        try:
            est, se, nb = training.evaluate_critic(
                ens, bound, training._as_tensor(xh, torch_dtype, dev), training._as_tensor(yh, torch_dtype, dev),
                batch_size=eval_bs, repeats=train_kw.get("final_repeats", training.DEFAULTS["final_repeats"]),
                seed=split_seed)
            mi, se_sampling = float(est.cpu()[0]), float(se.cpu()[0])
        except ValueError as exc:   # the bound rejects non-finite scores
            mi, se_sampling = math.nan, math.nan
            why = f" ({exc})"
        else:
            why = ""
        if not math.isfinite(mi):
            raise training.TrainingDivergedError(
                f"the mean-score ensemble of {k} critics gave a non-finite held-out estimate{why}; "
                "use combine='estimates'")
        seed_var = 0.0
        stderr, interval = _interval(mi, se_sampling, nb - 1, 0.0, 1)
    else:
        mi = float(per.mean())
        se_sampling = float(res.stderrs.mean())
        seed_var = float(per.var(ddof=1)) / k if k > 1 else 0.0
        stderr, interval = _interval(mi, se_sampling, res.n_eval_batches - 1, seed_var, k)

    info = bound.info
    msgs = []
    ceiling = info.ceiling(eval_bs) if callable(getattr(info, "ceiling", None)) else None
    if ceiling is not None and math.isfinite(ceiling):
        implied = _infonce_implied_mi(mi, eval_bs) if estimator == "infonce" else mi
        if mi > ceiling - 0.1 or implied - mi > 0.1:
            more = (f"; the saturation model InfoNCE ≈ log B − log(1 + (B−1)e^(−I)) puts the true MI "
                    f"at {implied:.3f} nats or more" if implied - mi > 0.1 else "")
            msgs.append(
                f"the estimate {mi:.3f} nats is close to the {estimator} ceiling {ceiling:.3f} "
                f"(batch size {eval_bs}){more}: the estimate is biased down; raise batch_size"
            )
    if se_sampling > UNSTABLE_STDERR:
        # measured on the Beyond-Normal Student-t tasks (docs/accuracy.md, the full table): with
        # heavy tails a few held-out pairs carry the critic's scores to +-1e4..1e31 nats and the
        # exponential terms of NWJ/DV/f-bounds explode; the standard error says so, this says why
        msgs.append(
            f"the held-out estimate {mi:.4g} nats has a standard error of {se_sampling:.3g} nats: a few "
            "held-out samples dominate it (heavy-tailed inputs?). Try transform='copula' (normal scores "
            "per column), a bound without exponential terms (infonce), or estimator='auto'"
        )
    for m in msgs:
        warnings.warn(m, UserWarning, stacklevel=2)

    config = dict(
        estimator=estimator, critic=critic, n_critics=k, combine=combine, seed=seed, split_seed=split_seed,
        steps=steps,
        batch_size=batch_size, lr=lr, hidden=list(crit.hidden), embed_dim=embed_dim,
        activation=activation, device=str(dev), standardize=bool(standardize),
        heldout_fraction=heldout_fraction, eval_every=eval_every, patience=patience, dtype=dtype,
        eval_batch_size=eval_bs, final_repeats=train_kw.get("final_repeats", training.DEFAULTS["final_repeats"]),
        weight_decay=train_kw.get("weight_decay", 0.0), critic_options=critic_kw,
        bound_options=dict(getattr(info, "hyper", bound_kw) or {}),
        n_train=n_train, n_heldout=n_held, dim_x=x.shape[1], dim_y=y.shape[1],
        version=__version__, torch_version=torch.__version__,
    )
    details = dict(
        steps_run=res.steps_run, best_step=res.best_step.tolist(), cuda_graph=res.cuda_graph,
        stderr_sampling=se_sampling,
        stderr_seed=math.sqrt(seed_var), per_critic_stderr=res.stderrs.tolist(), combine=combine,
        n_eval_batches=res.n_eval_batches, lower_bound=getattr(info, "lower_bound", None),
        ceiling=ceiling, train_seconds=res.seconds,
    )
    return MIResult(
        mi=mi, stderr=stderr, interval=interval, per_critic=per, estimator=estimator,
        target=str(getattr(info, "target", "kl")), n_samples=n, seconds=time.perf_counter() - t0,
        config=_jsonable(config), history=res.history, warnings=msgs, details=_jsonable(details),
    )


def _refuse_training_options(name: str, given: dict) -> None:
    """A nonparametric estimator trains nothing: a training option set away from its default
    would be silently ignored, so it is an error that says so."""
    import inspect

    params = inspect.signature(estimate_mi).parameters
    changed = sorted(k for k, v in given.items() if v != params[k].default)
    if changed:
        raise ValueError(
            f"estimator {name!r} is nonparametric and trains no critic: the training option(s) "
            f"{', '.join(changed)} would have no effect; drop them, or name a neural estimator "
            "(e.g. 'infonce') or 'auto' to train critics")


def _nonparametric(name, x, y, seed, options, t0) -> MIResult:
    from mi_estimators import __version__
    from mi_estimators.nonparametric import NONPARAMETRIC_ESTIMATORS

    fn = NONPARAMETRIC_ESTIMATORS[name]
    try:
        out = fn(x, y, seed=seed, **options)
    except TypeError as exc:
        raise ValueError(f"invalid option(s) {sorted(options)} for estimator {name!r}: {exc}") from None
    mi, se = float(out["mi"]), float(out.get("stderr", float("nan")))
    interval = (mi - 1.96 * se, mi + 1.96 * se) if math.isfinite(se) else (float("nan"), float("nan"))
    config = dict(estimator=name, seed=seed, options=options, version=__version__)
    return MIResult(mi=mi, stderr=se, interval=interval, per_critic=np.array([mi]), estimator=name,
                    target="kl", n_samples=x.shape[0], seconds=time.perf_counter() - t0,
                    config=_jsonable(config), details=_jsonable(out.get("details", {})))


# ------------------------------------------------------------------------------------------
# scikit-learn estimator
# ------------------------------------------------------------------------------------------
try:
    from sklearn.base import BaseEstimator as _Base
except ImportError:  # pragma: no cover - scikit-learn is a dependency
    _Base = object


class MIEstimator(_Base):
    """Mutual information estimator with scikit-learn conventions.

    ``MIEstimator(estimator="auto", critic=None, ...).fit(x, y)`` trains and
    evaluates exactly like :func:`estimate_mi` with the same arguments (``options``: a dict
    of extra keyword options, e.g. ``{"divergence": "js"}``), and sets ``mi_`` (nats),
    ``stderr_``, ``interval_``, ``per_critic_``, ``history_``, ``result_`` (the
    :class:`MIResult`) and ``n_features_in_``. ``__init__`` stores the parameters unchanged;
    ``get_params``/``set_params``/``clone`` work. Not a predictor: both x and y are required.
    """

    def __init__(self, estimator="auto", critic=None, *, n_critics=None, combine=None, seed=0,
                 steps=DEFAULT_STEPS, batch_size=DEFAULT_BATCH_SIZE, lr=DEFAULT_LR,
                 hidden=None, embed_dim=32, activation="relu", device="cpu",
                 standardize=True, heldout_fraction=0.2, eval_every=DEFAULT_EVAL_EVERY,
                 patience=DEFAULT_PATIENCE, dtype="float32", progress=False, options=None):
        self.estimator = estimator
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
        self.options = options

    def fit(self, x, y=None):
        """Estimate I(x; y) and store it in ``mi_``; returns ``self``."""
        if y is None:
            raise ValueError("MIEstimator.fit needs both x and y (paired samples); got y=None")
        params = self.get_params(deep=False)
        options = params.pop("options") or {}
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict of keyword options or None, got {options!r}")
        clash = sorted(set(options) & set(params))
        if clash:
            raise ValueError(f"options repeats constructor parameter(s) {clash}; set them directly")
        result = estimate_mi(x, y, **params, **options)
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
