r"""The ``"flow"`` estimator: normalizing flows that map each side to a Gaussian (MIENF).

:func:`estimate_flow` follows MIENF (Butakov, Tolmachev, Malanchuk, Neopryatnaya & Frolov,
"Mutual Information Estimation via Normalizing Flows", NeurIPS 2024): an invertible map per
side, :math:`z_x = f_x(x)`, :math:`z_y = f_y(y)`, trained by maximum likelihood so that the
joint latent is Gaussian with the canonical cross-covariance
:math:`\Sigma = [[I, \mathrm{diag}(\rho)], [\mathrm{diag}(\rho), I]]`
(:class:`mi_estimators.flow_model.FlowPair`). MI is invariant under invertible maps of each
side, so :math:`I(X;Y) = I(Z_x;Z_y)`, which for this latent is
:math:`-\tfrac12\sum_i\log(1-\rho_i^2)`.

Steps: split train / held-out (:func:`mi_estimators.training.split_indices`); map each side
linearly with the training split's statistics — whiten, then rotate both sides to their
canonical (CCA) coordinates, so that the untrained model is the best Gaussian one and its
:math:`\rho` starts at the canonical correlations (linear maps leave MI unchanged); train K
members at once with Adam (:func:`mi_estimators.training.make_train_step`), stopping each on
its held-out log-likelihood; read MI on the held-out split with the kept weights.

The reported value (:data:`FLOW_READOUT`, chosen on the choose half) is the fitted model's
closed-form MI, :math:`\hat I = \sum_i\log\cosh\theta_i`, averaged over the members. Its sampling
standard error is that of a maximum-likelihood MI, whose influence function is the pointwise MI
:math:`\ell_\rho` (:func:`mi_estimators.flow_model.gaussian_pair_log_ratio`):
:math:`\mathrm{sd}(\ell_\rho)/\sqrt{n_\mathrm{train}}`, with the sd taken on the held-out split; the
members' spread adds to it in a Student t interval, which is then widened upward by
:data:`FLOW_BIAS_ALLOWANCE` for the flows' misfit (it biases the value down). The held-out mean of
:math:`\ell_\rho` (with its own standard error) and the Gaussian MI of the held-out latents'
paired correlations are kept in ``details``. Values in nats.

Limits: with one column on a side that side's flow is a monotone map and the model is a
Gaussian copula (non-monotone dependence is missed; a warning says so); the flows need
samples (n >= :data:`MIN_SAMPLES`, and thousands for d = 20); discrete columns are refused.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from mi_estimators._checks import check_int, check_no_constant_columns
from mi_estimators.options import CriticOptions, TrainOptions, changed_fields
from mi_estimators.result import Caveat, MIResult, t_interval, to_jsonable

__all__ = ["estimate_flow", "run_flow", "option_names", "FLOW_OPTIONS", "FLOW_N_MEMBERS", "MIN_SAMPLES",
           "canonical_premap", "FLOW_TRAIN_FIELDS",
           "FLOW_TRAIN_DEFAULTS", "with_flow_defaults", "FLOW_BIAS_ALLOWANCE", "readouts_disagree", "FLOW_READOUT"]

#: The flow's own options and their defaults: coupling blocks per side and the conditioner width.
FLOW_OPTIONS = {"flow_layers": 4, "flow_hidden": 64}

#: The flow's own training defaults: a :class:`mi_estimators.options.TrainOptions` field left at
#: its (critic-oriented) default takes the value here. Larger batches and a higher rate than a
#: critic's: a likelihood step costs little more at 512 than at 128 rows (kernel launches dominate).
FLOW_TRAIN_DEFAULTS = {"batch_size": 512, "lr": 2e-3, "steps": 2000}

#: Which value is reported: ``"closed-form"`` (the fitted model's own MI,
#: :math:`\sum_i\log\cosh\theta_i`) or ``"pointwise"`` (the held-out mean pointwise MI of the fitted
#: latent model); both are in ``details``. On the choose half (12 tasks, n = 5000) the closed form
#: was closer: mean relative error 0.092 vs 0.142 on the d = 5 spiral tasks at 2-10 nats, 0.021 vs
#: 0.077 at d = 20, mean |error| 0.235 vs 0.308 nats on 4 Beyond-Normal tasks (docs/estimators/flow.md).
FLOW_READOUT = "closed-form"

#: ``(down, up)``: the reported 95 % interval is the sampling interval widened to
#: ``[lo - down |I|, hi + up |I|]``, an allowance for the flows' misfit, which biases the value
#: down: the largest shortfall (truth - upper end) / estimate over the choose half's tasks with
#: d >= 2 per side, 0.073, rounded up (docs/estimators/flow.md).
FLOW_BIAS_ALLOWANCE = (0.0, 0.08)

#: Members trained at once when ``n_critics`` is not given.
FLOW_N_MEMBERS = 2

#: Fewest samples the flow accepts: below this a flow overfits its training split.
MIN_SAMPLES = 200

#: Monotone ``tanh`` units per coordinate in each elementwise layer.
_UNITS = 8

#: Rows of held-out data scored at once (bounds memory at large n).
_EVAL_CHUNK = 8192

#: The :class:`mi_estimators.options.TrainOptions` fields the flow uses (``progress`` shows a bar
#: with the held-out log-likelihood and the model's MI); another field set away from its default
#: is refused.
FLOW_TRAIN_FIELDS = ("steps", "batch_size", "lr", "eval_every", "patience", "heldout_fraction", "device", "dtype",
                     "weight_decay", "split_seed", "num_threads", "cuda_graph", "progress")


def option_names() -> set[str]:
    """The keyword options ``estimate_mi(x, y, "flow", ...)`` accepts (besides ``seed``)."""
    return set(FLOW_TRAIN_FIELDS) | {"n_critics"} | set(FLOW_OPTIONS)


def with_flow_defaults(train: TrainOptions) -> TrainOptions:
    """``train`` with every field in :data:`FLOW_TRAIN_DEFAULTS` that was left at TrainOptions'
    default replaced by the flow's default (a value the caller set is kept)."""
    unchanged = {f: v for f, v in FLOW_TRAIN_DEFAULTS.items() if getattr(train, f) == getattr(TrainOptions, f)}
    return dataclasses.replace(train, **unchanged)


def _refuse_unused(train: TrainOptions, critic: CriticOptions) -> None:
    """A critic option, or a training option the flow does not use, set away from its default is an error."""
    changed = [f for f in changed_fields(critic) if f != "n_critics"]
    changed += [f for f in changed_fields(train) if f not in FLOW_TRAIN_FIELDS]
    if changed:
        raise ValueError(f"estimator 'flow' trains normalizing flows, not a critic: option(s) {', '.join(changed)} "
                         f"do not apply; its options are {', '.join(sorted(option_names()))}")


def _check_input(x: np.ndarray, y: np.ndarray) -> None:
    """Refuse what a flow cannot model: discrete columns (no density) and too few samples."""
    from mi_estimators.discrete import discrete_columns

    for name, a in (("x", x), ("y", y)):
        check_no_constant_columns(a, name, ": they carry no information; drop them")
        disc = np.flatnonzero(discrete_columns(a))
        if disc.size:
            raise ValueError(
                f"column(s) {disc.tolist()} of {name} are discrete (integer values, few levels): a normalizing "
                "flow models densities and cannot fit them; use estimator 'discrete' (all columns discrete), "
                "'mixed-ksg' (discrete and continuous) or 'auto'")
    if x.shape[0] < MIN_SAMPLES:
        raise ValueError(f"too few samples for the flow estimator: n = {x.shape[0]} < {MIN_SAMPLES} (it would "
                         "overfit its training split); use estimator 'ksg' or 'auto'")


def _whiten(train: np.ndarray, others: list, name: str) -> list:
    r"""``train`` and ``others``, centred with the training split's mean, times
    :math:`V\Lambda^{-1/2}` (:math:`\Sigma = V\Lambda V^\top`, the training split's covariance: PCA
    whitening); a constant or collinear column is a ValueError."""
    check_no_constant_columns(train, name, " on the training split: they carry no information; drop them")
    if train.shape[0] <= train.shape[1]:
        raise ValueError(f"too few samples for the flow estimator: {name} has {train.shape[1]} columns but the training "
                         f"split only {train.shape[0]} rows (its covariance is singular); the flow needs n >= "
                         f"{math.ceil(2 * train.shape[1] / 0.8)} here; use estimator 'auto' or 'gaussian-copula'")
    mu = train.mean(0)
    evals, evecs = np.linalg.eigh(np.cov(train - mu, rowvar=False, bias=True).reshape(train.shape[1], -1))
    if evals.min() <= 1e-10 * evals.max():
        raise ValueError(f"the covariance of {name} is (numerically) singular on the training split (a column is "
                         f"a linear combination of the others); drop redundant columns of {name}")
    w = evecs / np.sqrt(evals)
    return [(a - mu) @ w for a in (train, *others)]


def canonical_premap(xt, yt, others_x, others_y):
    r"""Whiten each side with the training split's covariance and rotate both to canonical
    (CCA) coordinates: :math:`\tilde x = W_x x\,U`, :math:`\tilde y = W_y y\,V` with
    :math:`U S V^\top` the SVD of the whitened training cross-covariance. Invertible linear maps
    of each side (MI unchanged); on the training split the paired coordinates have
    correlations :math:`S` (the canonical correlations) and all others 0. Returns
    ``(xt, yt, others_x, others_y, S)``."""
    xt, *ox = _whiten(xt, list(others_x), "x")
    yt, *oy = _whiten(yt, list(others_y), "y")
    u, s, vt = np.linalg.svd(xt.T @ yt / xt.shape[0])
    return xt @ u, yt @ vt.T, [a @ u for a in ox], [a @ vt.T for a in oy], s


def _flow_options(options: dict) -> dict:
    """``FLOW_OPTIONS`` updated by the given ones; an unknown name is a ValueError listing the valid ones."""
    unknown = sorted(set(options) - set(FLOW_OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for estimator 'flow'; valid options: "
                         f"{', '.join(sorted(option_names()))}")
    out = {**FLOW_OPTIONS, **options}
    for name, value in out.items():
        check_int(name, value)
    return out



def _heldout_parts(model, xh, yh):
    """``(mean log-likelihood (K,), pointwise MI (K, n_h))`` on the held-out tensors, in chunks."""
    import torch

    lls, pmis = [], []
    with torch.no_grad():
        for start in range(0, xh.shape[0], _EVAL_CHUNK):
            ll, pmi = model.parts(xh[start:start + _EVAL_CHUNK], yh[start:start + _EVAL_CHUNK])
            lls.append(ll)
            pmis.append(pmi)
    return torch.cat(lls, -1).to(torch.float64).mean(-1), torch.cat(pmis, -1).to(torch.float64)


def _diverged(step: int, lr: float) -> str:
    return (f"the flow estimator's training diverged: every member's held-out log-likelihood was NaN/inf by "
            f"step {step} (lr={lr:g}); lower the learning rate (e.g. lr={lr / 10:g}), or use estimator 'ksg' "
            "or 'auto'")


def _fit(model, train_xy, heldout_xy, train: TrainOptions, seed: int, device) -> dict:
    """Adam on minus the mean log-likelihood, K members at once; each member keeps the weights
    of its best held-out log-likelihood (on at most
    :data:`mi_estimators.training.SELECTION_HELDOUT_MAX` held-out rows, so that an evaluation
    does not grow with n: at n = 10^6 a pass over all 200,000 held-out rows took 3.9 CPU s) and
    stops after ``patience`` evaluations without improvement (a non-finite evaluation counts as
    none). Returns what the result records."""
    import torch

    from mi_estimators import training

    k = model.n_critics
    stream, xh, yh = training._dataset_batches(train_xy, heldout_xy, k, train.batch_size, seed,
                                               next(model.parameters()).dtype, device)
    # opt-in: the step's slogdet (flow_model.Linear) is not known to be capture-safe (untested: no GPU here)
    use_graph = train.cuda_graph is True and device.type == "cuda"
    loss_acc = torch.zeros(k, dtype=torch.float64, device=device)
    step_fn = training.make_train_step(model, lambda ll: -ll.mean(-1), lr=train.lr,
                                       weight_decay=train.weight_decay, cuda_graph=use_graph,
                                       record=lambda ll, loss: loss_acc.add_(loss.to(torch.float64)))
    stopping = training._EarlyStopping(list(model.parameters()), k, train.patience, device)
    xs, ys = training.selection_subset(xh, yh, training.SELECTION_HELDOUT_MAX, seed)  # the readout uses all
    history, t0, n_acc, step = [], time.perf_counter(), 0, 0
    with training.TrainingProgress(train.progress, train.steps, "training flow") as bar:
        for step in range(1, train.steps + 1):
            step_fn(*next(stream))
            n_acc += 1
            if step % train.eval_every and step != train.steps:
                continue
            val = _heldout_parts(model, xs, ys)[0].cpu()
            history.append(dict(step=step, train_loss=(loss_acc / n_acc).cpu().tolist(), heldout=val.tolist()))
            loss_acc.zero_()
            n_acc = 0
            stopping.update(val, step)
            bar.advance(step, heldout_loglik=f"{float(val.mean()):.3f}", mi=f"{float(model.mi().mean()):.3f}")
            if not stopping.active.any():
                break
    best_val = stopping.best_val.numpy()
    if not np.isfinite(best_val).any():
        raise training.TrainingDivergedError(_diverged(step, train.lr))
    stopping.restore()
    return dict(best_val=best_val, best_step=stopping.best_step, steps_run=step,
                history=history, seconds=time.perf_counter() - t0, cuda_graph=bool(use_graph and step_fn.captured),
                heldout=(xh, yh))


def _readout(model, xh, yh) -> dict:
    """Per member: the held-out mean pointwise MI and its standard error, the closed-form MI of
    the fitted rho, and the Gaussian MI of the held-out latents' paired correlations."""
    import torch

    _, pmi = _heldout_parts(model, xh, yh)
    n_h = pmi.shape[-1]
    with torch.no_grad():
        zx, _, zy, _ = model.latents(xh, yh)
        m = model.theta.shape[-1]
        a, b = zx[..., :m].to(torch.float64), zy[..., :m].to(torch.float64)
        a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
        r = (a * b).mean(1) / (a.pow(2).mean(1) * b.pow(2).mean(1)).sqrt()
        gauss = -0.5 * torch.log1p(-r.clamp(-1 + 1e-12, 1 - 1e-12) ** 2).sum(-1)
        closed = model.mi().to(torch.float64)
    return dict(pointwise=pmi.mean(-1).cpu().numpy(), pointwise_se=(pmi.std(-1) / math.sqrt(n_h)).cpu().numpy(),
                closed_form=closed.cpu().numpy(), heldout_gaussian=gauss.cpu().numpy(), n_heldout=n_h)


def _value_and_se(out: dict, readout: str, n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """Per member: the reported value and its sampling standard error for ``readout``.

    ``"pointwise"``: the held-out mean of the pointwise MI, se = sd/sqrt(n_h). ``"closed-form"``:
    the model's MI (fitted on the training split), se = sd(pointwise MI)/sqrt(n_train), the
    standard error of a maximum-likelihood MI (its influence function is the pointwise MI)."""
    if readout == "pointwise":
        return out["pointwise"], out["pointwise_se"]
    return out["closed_form"], out["pointwise_se"] * math.sqrt(out["n_heldout"] / n_train)


def _warnings(out: dict, fit: dict, train: TrainOptions, dims: tuple[int, int]) -> list:
    """Caveats: one column on a side, members that never stopped improving, and disagreement
    between readouts."""
    msgs = []
    if min(dims) == 1:
        msgs.append(Caveat("with one column on a side the flow of that side is a monotone map, so the latent "
                           "model is a Gaussian copula: dependence that is not monotone (a ring, a mixture, "
                           "y = x^2) is missed (1v1-AI: 0.002 nats for a truth of 0.78) and the interval "
                           "does not cover it; use estimator 'ksg' or 'auto' for low-dimensional data"))
    if train.patience is not None and np.all(fit["best_step"] >= fit["steps_run"] - train.eval_every) \
            and fit["steps_run"] >= train.steps:
        msgs.append(Caveat(f"the flows were still improving at the last step ({train.steps}); the estimate may "
                           "be biased down: raise steps"))
    closed, pointwise = float(np.mean(out["closed_form"])), float(np.mean(out["pointwise"]))
    gap = closed - pointwise
    if readouts_disagree(closed, pointwise):
        msgs.append(Caveat(f"the fitted latent model's own MI ({closed:.3f} nats) and its "
                           f"held-out pointwise mean ({pointwise:.3f}) differ by {gap:+.3f} nats: the latent "
                           "is not the Gaussian the model assumes (underfitted or overfitted flows); treat the "
                           "value with care, or compare with estimator 'auto' or 'ksg'"))
    return msgs


def readouts_disagree(closed_form: float, pointwise: float) -> bool:
    """The fitted latent model's closed-form MI and its held-out pointwise mean differ by more than
    0.1 nats and 10 %: the latent is not the Gaussian the model assumes (under- or overfitted flows;
    in 50 + 50 dims the closed form was 25 % high, the held-out mean 11 % low)."""
    return abs(closed_form - pointwise) > max(0.1, 0.1 * abs(pointwise))


def _dropped(ok: np.ndarray) -> list:
    """The caveat for members left out because their training never gave a finite likelihood."""
    if ok.all():
        return []
    return [Caveat(f"flow member(s) {np.flatnonzero(~ok).tolist()} of {ok.size} never reached a finite held-out "
                   "likelihood (training diverged) and are left out of the estimate; lower lr to keep them")]


def estimate_flow(x, y, *, seed: int = 0, train: TrainOptions | None = None, n_members: int | None = None,
                  flow_layers: int = FLOW_OPTIONS["flow_layers"],
                  flow_hidden: int = FLOW_OPTIONS["flow_hidden"]) -> MIResult:
    r"""Estimate I(X; Y) (nats) with ``n_members`` MIENF flows (see the module docstring).

    ``x, y``: float arrays ``(n, d_x)``, ``(n, d_y)`` (checked by :func:`mi_estimators._checks.check_xy`
    when called through :func:`mi_estimators.estimate_mi`). ``train``: the
    :class:`mi_estimators.options.TrainOptions` (steps, batch_size, lr, eval_every, patience,
    heldout_fraction, split_seed, device, dtype, weight_decay, cuda_graph, num_threads; fields
    left at their defaults take :data:`FLOW_TRAIN_DEFAULTS`; the others are not used; the flow
    always whitens and rotates each side, see :func:`canonical_premap`). On a CUDA device the
    training step is replayed as a CUDA graph only with ``cuda_graph=True`` (``"auto"`` runs it
    eagerly: the capture is untested). ``n_members``: flows trained at once (seeds ``seed + k``, one
    shared split), default :data:`FLOW_N_MEMBERS`. ``flow_layers``: blocks per side;
    ``flow_hidden``: width of the couplings' conditioner networks.

    The value is the mean over members of the fitted latent model's closed-form MI (see the
    module docstring, :data:`FLOW_READOUT`); ``stderr`` combines its sampling error
    (sd of the held-out pointwise MI / sqrt(n_train), mean over members) and the members'
    spread; the 95 % interval is a Student t interval (Welch–Satterthwaite) widened by
    :data:`FLOW_BIAS_ALLOWANCE` (the unwidened one is ``details["interval_sampling"]``). Raises
    ``ValueError`` for discrete columns or fewer than :data:`MIN_SAMPLES` samples, and
    :class:`mi_estimators.training.TrainingDivergedError` when no member trains to a finite
    likelihood.
    """
    import torch

    from mi_estimators import __version__, training
    from mi_estimators._checks import check_xy
    from mi_estimators.flow_model import FlowPair

    t0 = time.perf_counter()
    x, y = check_xy(x, y)
    _check_input(x, y)
    train = with_flow_defaults(TrainOptions() if train is None else train)
    seed = check_int("seed", seed, low=-2**63, what="an integer")
    k = FLOW_N_MEMBERS if n_members is None else check_int("n_critics", n_members)
    opts = _flow_options(dict(flow_layers=flow_layers, flow_hidden=flow_hidden))
    split_seed = seed if train.split_seed is None else int(train.split_seed)
    dev = training.resolve_device(train.device)
    dtype = {"float32": torch.float32, "float64": torch.float64}[train.dtype]
    tr, va = training.split_indices(x.shape[0], train.heldout_fraction, split_seed)
    xt, yt, (xh,), (yh,), canon = canonical_premap(x[tr], y[tr], [x[va]], [y[va]])
    batch = min(train.batch_size, len(tr))
    train = train if batch == train.batch_size else dataclasses.replace(train, batch_size=batch)
    theta0 = np.arctanh(np.clip(canon, 0.0, 0.999))
    model = FlowPair(x.shape[1], y.shape[1], n_members=k, layers=opts["flow_layers"], hidden=opts["flow_hidden"],
                     units=_UNITS, seed=seed, theta0=theta0, dtype=dtype).to(dev)
    with training.torch_threads(training.resolve_num_threads(train.num_threads, model, dev)):
        fit = _fit(model, (xt, yt), (xh, yh), train, seed, dev)
        out = _readout(model, *fit.pop("heldout"))
    est = _combine(out, fit, len(tr))
    if not all(math.isfinite(v) for v in (est["mi"], est["stderr"], *est["interval"])):
        raise training.TrainingDivergedError(_diverged(fit["steps_run"], train.lr))
    config = dict(estimator="flow", seed=seed, n_critics=k, **opts,
                  **{f: getattr(train, f) for f in FLOW_TRAIN_FIELDS if f not in ("progress", "device", "split_seed")},
                  premap="whiten+cca", n_train=len(tr), n_heldout=len(va), dim_x=x.shape[1], dim_y=y.shape[1],
                  device=str(dev), split_seed=split_seed, version=__version__, torch_version=torch.__version__)
    msgs = _dropped(est["ok"]) + _warnings(out, fit, train, (x.shape[1], y.shape[1]))
    return MIResult(mi=est["mi"], stderr=est["stderr"], interval=est["interval"], per_critic=est["per"],
                    estimator="flow", target="kl", n_samples=x.shape[0], seconds=time.perf_counter() - t0,
                    config=to_jsonable(config), history=fit["history"], warnings=msgs,
                    details=to_jsonable(_details(out, fit, est, canon)))


def _combine(out: dict, fit: dict, n_train: int) -> dict:
    """The members' values (:data:`FLOW_READOUT`) combined: mean, standard error (sampling and
    members' spread), the t interval and the reported one (widened by :data:`FLOW_BIAS_ALLOWANCE`).
    Members without a finite likelihood or value are left out (``ok``)."""
    value, se = _value_and_se(out, FLOW_READOUT, n_train)
    ok = np.isfinite(fit["best_val"]) & np.isfinite(value) & np.isfinite(se)
    per, k_ok = value[ok], int(ok.sum())
    mi = float(per.mean()) if k_ok else math.nan
    se_sampling = float(se[ok].mean()) if k_ok else math.nan
    seed_var = float(per.var(ddof=1)) / k_ok if k_ok > 1 else 0.0
    stderr, sampling_interval = t_interval(mi, se_sampling, out["n_heldout"] - 1, seed_var, k_ok)
    down, up = FLOW_BIAS_ALLOWANCE
    interval = (sampling_interval[0] - down * abs(mi), sampling_interval[1] + up * abs(mi))
    return dict(mi=mi, stderr=stderr, interval=interval, sampling_interval=sampling_interval, per=per, ok=ok,
                se_sampling=se_sampling, seed_var=seed_var)


def _details(out: dict, fit: dict, est: dict, canon: np.ndarray) -> dict:
    """``result.details``: every readout, the unwidened interval, and how training went (nats)."""
    return dict(readout=FLOW_READOUT, interval_sampling=list(est["sampling_interval"]),
                bias_allowance=FLOW_BIAS_ALLOWANCE, stderr_sampling=est["se_sampling"],
                stderr_seed=math.sqrt(est["seed_var"]), mi_closed_form=float(out["closed_form"].mean()),
                mi_pointwise=float(out["pointwise"].mean()), mi_pointwise_stderr=float(out["pointwise_se"].mean()),
                mi_heldout_gaussian=float(out["heldout_gaussian"].mean()),
                per_member_closed_form=out["closed_form"], per_member_pointwise=out["pointwise"],
                per_member_heldout_gaussian=out["heldout_gaussian"], canonical_correlations=canon,
                heldout_loglik=fit["best_val"], best_step=fit["best_step"], steps_run=fit["steps_run"],
                train_seconds=fit["seconds"], cuda_graph=fit["cuda_graph"])


def run_flow(name: str, x: np.ndarray, y: np.ndarray, *, seed: int, train: TrainOptions, critic: CriticOptions,
             options: dict) -> MIResult:
    """The flow family's runner for :func:`mi_estimators.estimate_mi`: ``critic`` may set only
    ``n_critics`` (the number of flows); ``options`` are :data:`FLOW_OPTIONS`."""
    _refuse_unused(train, critic)
    return estimate_flow(x, y, seed=seed, train=train, n_members=critic.n_critics, **_flow_options(options))
