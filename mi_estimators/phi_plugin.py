r"""φ-MI by plug-in: train one density-ratio critic, read every φ-mutual information from it.

:func:`plugin_phi_mi` is the pure function. Given a held-out score matrix ``scores[i, j] =
T(x_i, y_j)`` (m × m, joint pairs on the diagonal) of a critic trained to a KL bound whose
optimum is :math:`T = \log r + c(x)` (InfoNCE: any ``c(x)``; NWJ, DV: constant ``c``), the
ratio is **self-normalised per anchor** over the product pairs,

.. math:: \log \hat r_{ij} = T_{ij} - \log \frac{1}{m-1}\sum_{k \ne i} e^{T_{ik}},

which removes ``c(x)`` and makes :math:`\frac{1}{m-1}\sum_{j\ne i}\hat r_{ij} = 1`, the sample
version of :math:`E_{p(y)}[r(x, y)] = 1`. Then, with :math:`I_\phi = E_{p(x)p(y)}[\phi(r)]
= E_{p(x,y)}[\phi(r)/r]`, three forms (``form=``):

* ``"product"``: :math:`\mathrm{mean}_{i\ne j}\,\phi(\hat r_{ij})` (product pairs);
* ``"joint"``: :math:`\mathrm{mean}_i\,\phi(\hat r_{ii})/\hat r_{ii}` (joint pairs; for KL the
  familiar :math:`\mathrm{mean}_i \log \hat r_{ii}`);
* ``"dual"``: the f-MICL value at :math:`S = \log\hat r` (:func:`mi_estimators.bounds.fmicl`),
  i.e. the product form plus the first-order correction
  :math:`\mathrm{mean}_i\phi'(\hat r_{ii}) - \mathrm{mean}_{i\ne j}\hat r_{ij}\phi'(\hat r_{ij})`;
  a lower bound whose error is second order in the ratio's error.

Every form is consistent when :math:`\hat r \to r` (the per-anchor normaliser converges to
:math:`E_{p(y)}[e^{T}]`). The standard error is a delete-a-group jackknife over anchors
(:func:`plugin_phi_mi_se`): a group's rows and columns leave together, so the normaliser's
dependence on the other pairs is included.

:func:`run_phi_plugin` is the ``"phi-plugin"`` estimator of :func:`mi_estimators.estimate_mi`:
split, standardise (or whiten), train :data:`PLUGIN_N_CRITICS` separable critics to
:data:`PLUGIN_RATIO_BOUND` at once, evaluate their mean score
(:class:`mi_estimators.critics.MeanScoreEnsemble`) on the whole held-out split and report the
plug-in. Units: nats for KL and JS; the other divergences are dimensionless.

Plug-in estimation of f-divergences from a density-ratio estimate: Nguyen, Wainwright &
Jordan (2010), IEEE Trans. Inf. Theory; Sugiyama, Suzuki & Kanamori (2012), *Density Ratio
Estimation in Machine Learning*. Self-normalised contrastive ratios: Oord et al. (2018),
Poole et al. (2019). The route and its defaults were chosen from measurements in
docs/estimators/phi-mi-analysis.md.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from mi_estimators._checks import check_choice, check_int
from mi_estimators.options import CriticOptions, TrainOptions, field_names
from mi_estimators.result import Caveat, MIResult, jackknife_stderr, t_interval, to_jsonable

__all__ = ["PLUGIN_FORMS", "PLUGIN_RATIO_BOUND", "PLUGIN_HIDDEN", "PLUGIN_N_CRITICS", "PLUGIN_JACKKNIFE_GROUPS",
           "PLUGIN_MAX_HELDOUT", "DEFAULT_FORM", "HEAVY_TAILED", "OWN_OPTIONS", "option_names",
           "self_normalised_log_ratio", "plugin_phi_mi", "plugin_phi_mi_se", "fit_ratio_critic", "heldout_scores",
           "run_phi_plugin"]

#: The plug-in forms (see the module docstring).
PLUGIN_FORMS = ("product", "joint", "dual")

#: The KL bound the ratio critic is trained to (its optimum is log r + c(x)).
PLUGIN_RATIO_BOUND = "infonce"

#: The ratio critic: separable, this many hidden units per side, this many members averaged
#: as one critic (their mean score).
PLUGIN_HIDDEN = (128, 128, 128)
PLUGIN_N_CRITICS = 4

#: At most this many held-out pairs enter the plug-in's m × m matrix (a seeded subset beyond it):
#: 4000² float64 scores are 128 MB, and the jackknife's error is already far below the critic's.
PLUGIN_MAX_HELDOUT = 4000

#: Groups of the delete-a-group jackknife standard error.
PLUGIN_JACKKNIFE_GROUPS = 20

#: The form used per divergence when ``form=None`` (the others: ``"product"``). The product form
#: had the smallest mean |relative error| for every divergence on the choose half (14 runs, n =
#: 5000: Hellinger 7.2 % vs 11.7 % for "dual" and 242 % for "joint"; KL 7.3 % vs 7.7 % "joint"
#: and 10.1 % "dual"; docs/accuracy/phi_choose.md), so no exception is listed.
DEFAULT_FORM = {}

#: Divergences whose plug-in averages r̂² (or 1/r̂) over product pairs: infinite variance for a
#: Gaussian once a canonical correlation exceeds 1/3 (math_spec §6); they always warn.
HEAVY_TAILED = ("chi2", "reverse-chi2")
HEAVY_TAILED_NOTE = ("{div}: the plug-in averages a power of the ratio over product pairs, whose variance is infinite "
                     "for strongly dependent data (a Gaussian with a canonical correlation above 1/3); on the choose "
                     "half it was off by 29 % on average (interval coverage 36 %), and even the exact ratio read "
                     "from 5000 samples was within 20 % in 1 of 10 samples at correlation 0.83 "
                     "(docs/estimators/phi-mi-analysis.md). Treat it as a rough value")

#: Options of this estimator besides the training and critic options.
OWN_OPTIONS = ("divergence", "alpha", "form", "ratio_bound")


def option_names() -> set[str]:
    """Every keyword :func:`run_phi_plugin` accepts through :func:`mi_estimators.estimate_mi`."""
    return set(field_names(TrainOptions)) | set(field_names(CriticOptions)) | set(OWN_OPTIONS)


def self_normalised_log_ratio(scores):
    r"""``log r̂`` from a square score matrix: each row minus its log-mean-exp over the
    off-diagonal (product) entries, :math:`T_{ij} - \log\frac{1}{m-1}\sum_{k\ne i}e^{T_{ik}}`."""
    import torch

    m = scores.shape[-1]
    eye = torch.eye(m, dtype=torch.bool, device=scores.device)
    off = scores.masked_fill(eye, -math.inf)
    return scores - (torch.logsumexp(off, dim=-1, keepdim=True) - math.log(m - 1))


def _phi_of_exp(div, log_r):
    """φ(e^l) elementwise (float64)."""
    import torch

    return div.f(torch.exp(log_r))


def plugin_phi_mi(scores, divergence="kl", *, alpha: float | None = None, form: str = "product"):
    r"""Plug-in φ-MI from one square held-out score matrix (float64 scalar tensor).

    ``scores``: (m, m), joint pairs on the diagonal; the critic's optimum must be
    :math:`\log r + c(x)`. ``form``: ``"product"`` :math:`\mathrm{mean}_{i\ne j}\phi(\hat r_{ij})`,
    ``"joint"`` :math:`\mathrm{mean}_i \phi(\hat r_{ii})/\hat r_{ii}`, ``"dual"`` f-MICL at
    :math:`\log\hat r` (:func:`mi_estimators.bounds.fmicl`), with :math:`\hat r` self-normalised
    per anchor (:func:`self_normalised_log_ratio`). Exact when ``scores = log r`` and m → ∞;
    see the module docstring.
    """
    import torch

    from mi_estimators.bounds import fmicl
    from mi_estimators.divergences import get_divergence

    form = check_choice("form", form, PLUGIN_FORMS)
    scores = torch.as_tensor(scores).to(torch.float64)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 3:
        raise ValueError(f"scores must be a square (m, m) matrix with m >= 3, got shape {tuple(scores.shape)}")
    div = get_divergence(divergence, **({} if alpha is None else {"alpha": alpha}))
    log_r = self_normalised_log_ratio(scores)
    m = scores.shape[0]
    if form == "dual":
        return fmicl(log_r, div)
    if form == "joint":
        d = log_r.diagonal()
        if div.name == "kl":
            return d.mean()
        return (_phi_of_exp(div, d) * torch.exp(-d)).mean()
    eye = torch.eye(m, dtype=torch.bool, device=scores.device)
    return _phi_of_exp(div, log_r).masked_fill(eye, 0.0).sum() / (m * (m - 1))


def plugin_phi_mi_se(scores, divergence="kl", *, alpha: float | None = None, form: str = "product",
                     groups: int = PLUGIN_JACKKNIFE_GROUPS, seed: int = 0) -> tuple[float, float]:
    r"""``(value, stderr)``: :func:`plugin_phi_mi` and its delete-a-group jackknife standard error.

    The m anchors are dealt at random (``seed``) into ``groups`` groups; value :math:`\hat\theta_g`
    is recomputed with group g's rows *and* columns removed;
    :math:`\mathrm{se}^2 = \frac{G-1}{G}\sum_g(\hat\theta_g - \bar\theta)^2` (Efron & Stein 1981).
    """
    import torch

    value = float(plugin_phi_mi(scores, divergence, alpha=alpha, form=form))
    scores = torch.as_tensor(scores).to(torch.float64)
    m = scores.shape[0]
    g = check_int("groups", groups, 2, what="an integer >= 2")
    if m < 3 * g:
        raise ValueError(f"a jackknife of {g} groups needs at least {3 * g} held-out pairs, got {m}")
    order = np.random.default_rng(seed).permutation(m)
    parts = np.array_split(order, g)
    thetas = []
    for part in parts:
        keep = torch.as_tensor(np.setdiff1d(order, part), device=scores.device)
        thetas.append(float(plugin_phi_mi(scores[keep][:, keep], divergence, alpha=alpha, form=form)))
    return value, jackknife_stderr(thetas)


def fit_ratio_critic(x: np.ndarray, y: np.ndarray, *, seed: int, train: TrainOptions, critic: CriticOptions,
                     bound=PLUGIN_RATIO_BOUND):
    """Split, standardise/whiten and train the ratio critic: returns ``(fit, (xh, yh), train,
    notes, n_train)`` with the held-out split as float arrays and the (possibly batch-adapted)
    training options. ``bound``: a bound name or an object of :func:`mi_estimators.bounds.get_bound`
    (any bound trains; the plug-in needs one whose optimum is log r + c(x)). Reuses the neural
    path's steps (:mod:`mi_estimators.neural`)."""
    import torch

    from mi_estimators import bounds, critics, neural, training

    if train.negatives != "all":
        raise ValueError(f"negatives={train.negatives!r} does not apply to the φ plug-in: its ratio critic trains "
                         "InfoNCE, whose normalisation uses every pair of the batch; leave negatives='all' (the "
                         "f-divergence bounds nwj, dv, js and the seeds' estimators take 'derangement')")
    critic = critic.with_defaults(critic="separable", hidden=PLUGIN_HIDDEN, n_critics=PLUGIN_N_CRITICS,
                                  combine="scores")
    kind = check_choice("critic", critic.critic, critics.list_critics())
    dtype = {"float32": torch.float32, "float64": torch.float64}[train.dtype]
    split_seed = seed if train.split_seed is None else int(train.split_seed)
    n = x.shape[0]
    b = neural.fitted_batch(n, train)
    notes = []
    if b is not None and b != train.batch_size:
        notes.append(Caveat(f"batch_size lowered from {train.batch_size} to {b} to fit n = {n} samples"))
        train = dataclasses.replace(train, batch_size=b)
    n_held = int(round(n * train.heldout_fraction))
    if n - n_held < train.batch_size or n_held < 3 * PLUGIN_JACKKNIFE_GROUPS:
        raise ValueError(f"too few samples for phi-plugin: n = {n} gives {n - n_held} training pairs (need "
                         f"batch_size={train.batch_size}) and {n_held} held-out pairs (need "
                         f"{3 * PLUGIN_JACKKNIFE_GROUPS}); give more samples or lower batch_size")
    tr, va = training.split_indices(n, train.heldout_fraction, split_seed)
    xt, xh, yt, yh = x[tr], x[va], y[tr], y[va]
    if train.standardize == "whiten":
        xt, xh = neural.whiten_split(xt, [xh], "x")
        yt, yh = neural.whiten_split(yt, [yh], "y")
    elif train.standardize:
        xt, xh = neural.standardize_split(xt, [xh], "x")
        yt, yh = neural.standardize_split(yt, [yh], "y")
    crit = critics.make_critic(kind, x.shape[1], y.shape[1], hidden=critic.hidden, embed_dim=critic.embed_dim,
                               n_critics=critic.n_critics, activation=critic.activation, seed=seed, dtype=dtype,
                               **critic.specific())
    bound = bounds.get_bound(bound) if isinstance(bound, str) else bound
    fit = training.fit_critic(crit, bound, train=(xt, yt), heldout=(xh, yh), seed=seed,
                              split_seed=split_seed, device=training.resolve_device(train.device),
                              **train.loop_options())
    return fit, (xh, yh), train, notes, n - n_held


def heldout_scores(critic_module, xh: np.ndarray, yh: np.ndarray, members: bool = False):
    """The (m, m) float64 held-out score matrix of the members' mean score (or ``(K, m, m)``,
    one per member, with ``members=True``)."""
    import torch

    from mi_estimators import critics

    p = next(critic_module.parameters())
    xt, yt = (torch.as_tensor(a, dtype=p.dtype, device=p.device) for a in (xh, yh))
    with torch.no_grad():
        if members:
            return critic_module(xt, yt).to(torch.float64).cpu()
        return critics.MeanScoreEnsemble(critic_module)(xt, yt)[0].to(torch.float64).cpu()


def _split_own(options: dict) -> dict:
    unknown = sorted(set(options) - set(OWN_OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for estimator 'phi-plugin'; its own options are "
                         f"{', '.join(OWN_OPTIONS)}, plus the training and critic options")
    own = {k: options.get(k) for k in OWN_OPTIONS}
    own["divergence"] = own["divergence"] or "kl"
    from mi_estimators.bounds import list_bounds
    from mi_estimators.divergences import get_divergence, list_divergences

    check_choice("divergence", own["divergence"], list_divergences())
    get_divergence(own["divergence"], **({} if own["alpha"] is None else {"alpha": own["alpha"]}))
    own["form"] = own["form"] or DEFAULT_FORM.get(own["divergence"], "product")
    check_choice("form", own["form"], PLUGIN_FORMS)
    kl_bounds = ("infonce", "nwj", "dv")
    own["ratio_bound"] = check_choice("ratio_bound", own["ratio_bound"] or PLUGIN_RATIO_BOUND,
                                      [b for b in kl_bounds if b in list_bounds()])
    return own


def run_phi_plugin(name: str, x: np.ndarray, y: np.ndarray, *, seed: int, train: TrainOptions,
                   critic: CriticOptions, options: dict) -> MIResult:
    """The ``"phi-plugin"`` estimator (family runner of :func:`mi_estimators.estimate_mi`).

    ``options``: ``divergence`` (default ``"kl"``), ``alpha`` (Tsallis), ``form`` (``None``:
    :data:`DEFAULT_FORM`), ``ratio_bound`` (``"infonce"``, ``"nwj"`` or ``"dv"``). Trains the
    ratio critic (:func:`fit_ratio_critic`), reads :func:`plugin_phi_mi` from the members'
    mean score on the held-out split and reports it with the jackknife standard error and a
    95 % normal interval. The interval covers the plug-in at this critic (held-out sampling
    noise), not the critic's own error; docs/accuracy.md gives its measured coverage.
    """
    from mi_estimators import __version__

    t0 = time.perf_counter()
    seed = check_int("seed", seed, low=-2**63, what="an integer")
    own = _split_own(options)
    fit, (xh, yh), train, notes, n_train = fit_ratio_critic(x, y, seed=seed, train=train, critic=critic,
                                                            bound=own["ratio_bound"])
    if xh.shape[0] > PLUGIN_MAX_HELDOUT:
        keep = np.sort(np.random.default_rng(seed).choice(xh.shape[0], PLUGIN_MAX_HELDOUT, replace=False))
        xh, yh = xh[keep], yh[keep]
    scores = heldout_scores(fit.critic, xh, yh)
    mi, se = plugin_phi_mi_se(scores, own["divergence"], alpha=own["alpha"], form=own["form"], seed=seed)
    if not math.isfinite(mi):
        from mi_estimators.training import TrainingDivergedError

        raise TrainingDivergedError(f"phi-plugin: the plug-in value is not finite ({mi}); lower lr or use form='joint'")
    stderr, interval = t_interval(mi, se, PLUGIN_JACKKNIFE_GROUPS - 1, 0.0, 1)
    target = own["divergence"]
    if target in HEAVY_TAILED:
        notes.append(Caveat(HEAVY_TAILED_NOTE.format(div=target)))
    c = critic.with_defaults(critic="separable", hidden=PLUGIN_HIDDEN, n_critics=PLUGIN_N_CRITICS, combine="scores")
    config = dict(estimator=name, **own, critic=c.critic, hidden=list(c.hidden), n_critics=c.n_critics,
                  embed_dim=c.embed_dim, activation=c.activation, seed=seed,
                  **{f: getattr(train, f) for f in field_names(TrainOptions) if f != "progress"},
                  n_train=n_train, n_heldout=int(xh.shape[0]), dim_x=x.shape[1], dim_y=y.shape[1],
                  version=__version__)
    details = dict(steps_run=fit.steps_run, best_step=fit.best_step.tolist(), train_seconds=fit.seconds,
                   ratio_bound_heldout=fit.estimates.tolist(), stderr_sampling=se,
                   jackknife_groups=PLUGIN_JACKKNIFE_GROUPS, form=own["form"])
    return MIResult(mi=mi, stderr=stderr, interval=interval, per_critic=np.asarray([mi]), estimator=name,
                    target=target, n_samples=x.shape[0], seconds=time.perf_counter() - t0,
                    config=to_jsonable(config), history=fit.history, warnings=notes, details=to_jsonable(details))
