r"""Neural estimators: train a critic ensemble to a bound and report the bound on held-out data.

:func:`estimate_neural` is the path of every bound name (:func:`mi_estimators.bounds.list_bounds`)
through :func:`mi_estimators.estimate_mi`: split the samples (train / held-out), standardise
with the training split's statistics, build the critic (:func:`mi_estimators.critics.make_critic`),
train it (:func:`mi_estimators.training.fit_critic`), combine the members (mean of their
estimates, or their mean score matrix as one critic), and attach the warnings and the full
configuration. KL bounds report KL mutual information; φ-bounds report :math:`I_\phi` for
their ``divergence=``. Values in nats.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from mi_estimators._checks import check_choice, check_int, check_no_constant_columns
from mi_estimators.chunks import row_chunks
from mi_estimators.options import CriticOptions, TrainOptions, field_names
from mi_estimators.result import Caveat, MIResult, t_interval, to_jsonable

__all__ = ["estimate_neural", "run_neural", "fitted_batch", "MIN_ADAPTED_BATCH", "whiten_split", "DEFAULT_HIDDEN", "UNSTABLE_STDERR", "TRAINING_BOUND_DEFAULTS",
           "standardize_split", "infonce_implied_mi"]

#: Hidden layers of a named bound's critic when ``hidden=None`` (auto's neural path has its own).
DEFAULT_HIDDEN = (256, 256)

#: A held-out sampling standard error above this (nats) makes the estimate warn that a few
#: samples dominate it (heavy tails). In the Beyond-Normal full table (seed 0, 637 neural runs,
#: docs/accuracy.md) 26 of the 28 runs above 0.5 nats were off by more than 1 nat, and 1 of the
#: 609 below.
UNSTABLE_STDERR = 0.5

#: Bound hyper-parameters the neural path trains with unless given, where they differ from the
#: bound's own (mathematical) defaults. f-GAN trains as Nowozin et al. (2016) do: the critic goes
#: through the output activation that keeps it inside dom φ* (same as raw for KL/χ², whose dom φ*
#: is unbounded); a raw critic leaves the domain within a few steps for hellinger/js/tv/vlc/
#: reverse-chi2, and its value is then -inf by definition. ``output="raw"`` stays available.
TRAINING_BOUND_DEFAULTS = {"fgan": {"output": "bounded"}}


def standardize_split(train: np.ndarray, others: list[np.ndarray], name: str):
    """z-score ``train`` and ``others`` with the mean and sd of ``train`` (a constant column is an error)."""
    check_no_constant_columns(train, name, " on the training split: they carry no information and cannot "
                              "be standardised; drop them (or pass standardize=False)")
    mu, sd = train.mean(0), train.std(0)
    return [(a - mu) / sd for a in (train, *others)]


def whiten_split(train: np.ndarray, others: list[np.ndarray], name: str):
    r"""Whiten ``train`` and ``others`` with the training split's covariance:
    :math:`x \mapsto (x - \mu) L^{-\top}`, :math:`\Sigma = L L^\top` (Cholesky). MI is invariant under
    invertible linear maps of each side, and so is the whitened input up to a rotation; a
    singular covariance (a constant column or an exact linear combination) is an error."""
    mu = train.mean(0)
    centred = train - mu
    cov = centred.T @ centred / train.shape[0]
    del centred   # (the whitened arrays are built in row chunks: memory about 2x the data, not 5x)
    scale = np.sqrt(np.diag(cov))
    if np.any(scale <= 1e-12 * np.maximum(1.0, np.abs(mu))):
        check_no_constant_columns(train, name, " on the training split: they carry no information and cannot "
                                  "be whitened; drop them")
    corr = cov / np.outer(scale, scale)
    try:
        chol = np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        raise ValueError(f"the covariance of {name} is singular on the training split (a column is a linear "
                         f"combination of the others); drop redundant columns of {name} or use "
                         "standardize=True") from None
    if np.min(np.diag(chol)) < 1e-7:
        raise ValueError(f"the covariance of {name} is (numerically) singular on the training split: condition "
                         f"number about {(np.max(np.diag(chol)) / np.min(np.diag(chol))) ** 2:.3g}; drop redundant "
                         f"columns of {name} or use standardize=True")
    out = []
    for a in (train, *others):
        w = np.empty(a.shape, dtype=np.result_type(chol, a, np.float32))   # what one solve would return
        for rows in row_chunks(*a.shape):
            w[rows] = np.linalg.solve(chol, ((a[rows] - mu) / scale).T).T
        out.append(w)
    return out


def infonce_implied_mi(mi: float, batch_size: int) -> float:
    """Invert InfoNCE ≈ log B − log(1 + (B−1) e^{−I}) (an optimistic saturation model: the oracle
    critic sits below it, math_spec §2), giving the smallest MI consistent with the estimate."""
    # excess = B e^{-I} - 1, in log space: a = log(B e^{-I}), log(e^a - 1) = a + log(1 - e^{-a});
    # no overflow for the hugely negative estimates unstandardised data can give
    a = math.log(batch_size) - mi
    if a <= 0:
        return math.inf
    return math.log(batch_size - 1) - (a + math.log(-math.expm1(-a)))


def _make_bound(name: str, bound_options: dict, negatives: str = "all"):
    from mi_estimators import bounds

    bound_kw = {**TRAINING_BOUND_DEFAULTS.get(name, {}), **bound_options}
    try:
        return bounds.get_bound(name, negatives=negatives, **bound_kw), bound_kw
    except (TypeError, ValueError) as exc:
        names = ("n_critics", "seed", *field_names(TrainOptions), *field_names(CriticOptions))
        raise ValueError(
            f"invalid option(s) for estimator {name!r}: {exc}. Training options "
            f"are {', '.join(dict.fromkeys(n for n in names if n != 'critic'))}"
        ) from None


#: Smallest batch the neural path lowers ``batch_size`` to when n is too small for the one asked for.
MIN_ADAPTED_BATCH = 16


def fitted_batch(n: int, train: TrainOptions) -> int | None:
    """The largest power-of-two batch <= ``train.batch_size`` (and >= :data:`MIN_ADAPTED_BATCH`)
    for which n samples give one training batch and two held-out batches; None if none fits."""
    n_held = int(round(n * train.heldout_fraction))
    b = train.batch_size
    while b >= MIN_ADAPTED_BATCH:
        if n - n_held >= b and n_held >= 2 * (train.eval_batch_size or b):
            return b
        b = b // 2 if b & (b - 1) == 0 else 1 << (b.bit_length() - 1)
    return None


def _adapt_batch(n: int, train: TrainOptions) -> tuple[TrainOptions, list]:
    """``train`` with a batch that fits n samples, and the caveat saying so (or unchanged)."""
    b = fitted_batch(n, train)
    if b is None or b == train.batch_size:
        return train, []
    note = Caveat(f"batch_size lowered from {train.batch_size} to {b} to fit n = {n} samples (one training batch and "
                  "two held-out batches); batch-size-dependent bounds are capped lower (InfoNCE at log "
                  f"{b} = {math.log(b):.2f} nats) and noisier; pass a smaller batch_size to silence this")
    return dataclasses.replace(train, batch_size=b), [note]


def _check_sizes(n: int, train: TrainOptions) -> tuple[int, int]:
    """``(n_train, n_heldout)``, or a ValueError saying how many samples the options need."""
    bs, hf, eval_bs = train.batch_size, train.heldout_fraction, train.heldout_batch_size
    n_held = int(round(n * hf))
    n_train = n - n_held
    if n_train < bs or n_held < 2 * eval_bs:
        low = min(bs, MIN_ADAPTED_BATCH)   # batch_size is lowered this far on its own (fitted_batch)
        need = _smallest_n(dataclasses.replace(train, batch_size=low))
        raise ValueError(
            f"too few samples: n = {n} with heldout_fraction={hf} gives {n_train} training "
            f"samples and {n_held} held-out samples; a critic needs one training batch and 2 held-out "
            "batches for a standard error, "
            + (f"and batch_size ({bs}) is lowered on its own down to {low}" if bs > low else f"of {bs}")
            + f": give at least {need} samples, or use estimator='ksg' or 'auto' (k-NN or the "
            "Gaussian-copula value at small n)"
        )
    return n_train, n_held


def _smallest_n(train: TrainOptions) -> int:
    """The fewest samples for which ``train`` gives one training and two held-out batches."""
    hf, bs, eval_bs = train.heldout_fraction, train.batch_size, train.heldout_batch_size
    n = max(2, math.ceil(max(bs / (1 - hf), 2 * eval_bs / hf)) - 2)
    while n - int(round(n * hf)) < bs or int(round(n * hf)) < 2 * eval_bs:
        n += 1
    return n


def _critic_for(name: str, bound, critic: CriticOptions) -> CriticOptions:
    """The critic options with this path's defaults; a bound that needs a density critic (``club``,
    ``l1out``, ``ba``, ``doe``) gets it by default and refuses any other."""
    need = getattr(bound, "critic", None)
    if need is None:
        if critic.marginal is not None and critic.critic != "conditional-gaussian":
            raise ValueError("marginal= is an option of the conditional-gaussian critic only; pass "
                             "critic='conditional-gaussian' or drop marginal")
        return critic.with_defaults(critic="separable", hidden=DEFAULT_HIDDEN, n_critics=1, combine="estimates")
    if critic.critic not in (None, need):
        raise ValueError(f"bound {name!r} needs a conditional density model as its critic (S[i, j] = "
                         f"log q(y_j | x_i) − log m(y_j)): critic={need!r} (the default for it), not "
                         f"{critic.critic!r}")
    return critic.with_defaults(critic=need, hidden=DEFAULT_HIDDEN, n_critics=1, combine="estimates",
                                **getattr(bound, "critic_defaults", {}))


def _mean_score_value(fit, bound, heldout, train: TrainOptions, split_seed: int, dtype, device):
    """The held-out value of the members' mean-score critic: ``(mi, se_sampling, n_batches)``."""
    import torch

    from mi_estimators import critics, training

    ens = critics.MeanScoreEnsemble(fit.critic)
    xh, yh = (torch.as_tensor(a, dtype=dtype, device=device) for a in heldout)
    try:
        est, se, nb = training.evaluate_critic(ens, bound, xh, yh, batch_size=train.heldout_batch_size,
                                               repeats=train.final_repeats, seed=split_seed)
        mi, se_sampling = float(est.cpu()[0]), float(se.cpu()[0])
    except ValueError as exc:   # the bound rejects non-finite scores
        mi, se_sampling, nb, why = math.nan, math.nan, 0, f" ({exc})"
    else:
        why = ""
    if not math.isfinite(mi):
        raise training.TrainingDivergedError(
            f"the mean-score ensemble of {fit.critic.n_critics} critics gave a non-finite held-out "
            f"estimate{why}; use combine='estimates'")
    return mi, se_sampling, nb


def _warnings(name: str, mi: float, se_sampling: float, ceiling, eval_bs: int) -> list[str]:
    """The caveats about a neural estimate: near the bound's ceiling, or dominated by a few samples."""
    msgs = []
    if ceiling is not None and math.isfinite(ceiling):
        implied = infonce_implied_mi(mi, eval_bs) if name == "infonce" else mi
        if mi > ceiling - 0.1 or implied - mi > 0.1:
            more = (f"; the saturation model InfoNCE ≈ log B − log(1 + (B−1)e^(−I)) puts the true MI "
                    f"at {implied:.3f} nats or more" if implied - mi > 0.1 else "")
            msgs.append(
                f"the estimate {mi:.3f} nats is close to the {name} ceiling {ceiling:.3f} "
                f"(batch size {eval_bs}){more}: the estimate is biased down; raise batch_size"
            )
    if se_sampling > UNSTABLE_STDERR:
        # with heavy tails a few held-out pairs carry the critic's scores to +-1e4..1e31 nats and
        # the exponential terms of NWJ/DV/f-bounds explode; the standard error says so, this says why
        msgs.append(
            f"the held-out estimate {mi:.4g} nats has a standard error of {se_sampling:.3g} nats: a few "
            "held-out samples dominate it (heavy-tailed inputs?). Try transform='copula' (normal scores "
            "per column), a bound without exponential terms (infonce), or estimator='auto'"
        )
    return msgs


def _generative_caveat(name: str, info) -> list[str]:
    """What a generative bound's value is to I (its interval covers that value, not I)."""
    kind = getattr(info, "kind", "lower")
    if getattr(info, "critic", None) is None:
        return []
    if kind == "upper":
        return [f"{name} is an upper bound on the MI only when the density model q(y|x) is close enough to "
                "p(y|x) (docs/bounds.md); its interval covers the bound's value, not the MI. Bracket the MI "
                "with a lower bound (e.g. estimator='infonce' or 'auto')"]
    return [f"{name} is a difference of two cross-entropy estimates, not a bound on the MI in general "
            + ("(a lower bound when y is Gaussian: H(Y) is taken as the Gaussian entropy of its covariance)"
               if name == "ba" else "(each overestimates its entropy)")
            + "; its interval covers that value, not the MI"]


def run_neural(name: str, x: np.ndarray, y: np.ndarray, *, seed: int, train: TrainOptions,
               critic: CriticOptions, options: dict) -> MIResult:
    """The neural family's runner for :func:`mi_estimators.estimate_mi`: ``options`` are the
    bound's hyper-parameters."""
    return estimate_neural(x, y, name, seed=seed, train=train, critic=critic, bound_options=options)


def estimate_neural(x: np.ndarray, y: np.ndarray, name: str, *, seed: int, train: TrainOptions,
                    critic: CriticOptions, bound_options: dict) -> MIResult:
    """Train ``critic.n_critics`` critics to bound ``name`` on checked samples and report it.

    ``x, y``: float64 arrays from :func:`mi_estimators._checks.check_xy`. ``critic`` fields
    left ``None`` take this path's defaults (separable, :data:`DEFAULT_HIDDEN`, 1 critic,
    ``combine="estimates"``). See :func:`mi_estimators.estimate_mi` for what the value, its
    ``stderr`` and ``interval`` cover. Caveats go to ``result.warnings`` (the public entry
    points issue them as Python warnings).
    """
    import torch

    from mi_estimators import __version__, critics, training

    t0 = time.perf_counter()
    seed = check_int("seed", seed, low=-2**63, what="an integer")
    bound, bound_kw = _make_bound(name, bound_options, train.negatives)
    critic = _critic_for(name, bound, critic)
    kind = check_choice("critic", critic.critic, critics.list_critics())
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[train.dtype]
    dev = training.resolve_device(train.device)
    split_seed = seed if train.split_seed is None else int(train.split_seed)
    n = x.shape[0]
    train, adapted = _adapt_batch(n, train)
    n_train, n_held = _check_sizes(n, train)

    tr, va = training.split_indices(n, train.heldout_fraction, split_seed)
    xt, xh, yt, yh = x[tr], x[va], y[tr], y[va]
    if train.standardize == "whiten":
        xt, xh = whiten_split(xt, [xh], "x")
        yt, yh = whiten_split(yt, [yh], "y")
    elif train.standardize:
        xt, xh = standardize_split(xt, [xh], "x")
        yt, yh = standardize_split(yt, [yh], "y")
    crit = critics.make_critic(kind, x.shape[1], y.shape[1], hidden=critic.hidden, embed_dim=critic.embed_dim,
                               n_critics=critic.n_critics, activation=critic.activation, seed=seed,
                               dtype=torch_dtype, **critic.specific())
    fit = training.fit_critic(crit, bound, train=(xt, yt), heldout=(xh, yh), seed=seed, split_seed=split_seed,
                              device=dev, **train.loop_options())

    k = critic.n_critics
    per = fit.estimates.astype(float)
    if critic.combine == "scores" and k > 1:   # one critic: the members' mean score
        mi, se_sampling, nb = _mean_score_value(fit, bound, (xh, yh), train, split_seed, torch_dtype, dev)
        seed_var = 0.0
        stderr, interval = t_interval(mi, se_sampling, nb - 1, 0.0, 1)
    else:
        mi = float(per.mean())
        se_sampling = float(fit.stderrs.mean())
        seed_var = float(per.var(ddof=1)) / k if k > 1 else 0.0
        stderr, interval = t_interval(mi, se_sampling, fit.n_eval_batches - 1, seed_var, k)

    info = bound.info
    eval_bs = train.heldout_batch_size
    ceiling = info.ceiling(eval_bs) if callable(getattr(info, "ceiling", None)) else None
    msgs = adapted + _warnings(name, mi, se_sampling, ceiling, eval_bs) + _generative_caveat(name, info)

    config = dict(
        estimator=name, critic=kind, n_critics=k, combine=critic.combine, seed=seed,
        **{f: getattr(train, f) for f in field_names(TrainOptions) if f != "progress"},
        hidden=list(crit.hidden), embed_dim=critic.embed_dim, activation=critic.activation,
        critic_options=critic.specific(), bound_options=dict(getattr(info, "hyper", bound_kw) or {}),
        n_train=n_train, n_heldout=n_held, dim_x=x.shape[1], dim_y=y.shape[1],
        version=__version__, torch_version=torch.__version__,
    )
    # resolved values: the device in use, the split's seed, the held-out batch size
    config.update(device=str(dev), split_seed=split_seed, eval_batch_size=eval_bs,
                  standardize=train.standardize if train.standardize == "whiten" else bool(train.standardize))
    details = dict(
        steps_run=fit.steps_run, best_step=fit.best_step.tolist(), cuda_graph=fit.cuda_graph,
        stderr_sampling=se_sampling, stderr_seed=math.sqrt(seed_var), per_critic_stderr=fit.stderrs.tolist(),
        combine=critic.combine, n_eval_batches=fit.n_eval_batches, lower_bound=getattr(info, "lower_bound", None),
        bound_kind=getattr(info, "kind", None),
        ceiling=ceiling, train_seconds=fit.seconds,
    )
    return MIResult(
        mi=mi, stderr=stderr, interval=interval, per_critic=per, estimator=name,
        target=str(getattr(info, "target", "kl")), n_samples=n, seconds=time.perf_counter() - t0,
        config=to_jsonable(config), history=fit.history, warnings=msgs, details=to_jsonable(details),
    )
