r"""Training loop: fit critics (an ensemble of K at once) to a bound with Adam.

Two modes, one loop:

* **dataset** (``train=(x, y), heldout=(x, y)``): finite data. Each member draws its own
  shuffled minibatches of the training part (epoch by epoch, dropping the last partial
  batch); the held-out part is only ever used for evaluation, early stopping and the
  reported value.
* **streaming** (``sampler=...``): a fresh batch every step, the protocol of Poole et al.
  (2019) and Song & Ermon (2020). A sampler is ``sampler(n, rng) -> (x, y)`` with ``rng`` a
  :class:`numpy.random.Generator`, or any object with ``.sample(n, seed)`` (a
  :class:`synthetic.Task`). Member ``k`` draws ``chunk * batch_size`` samples at a time
  from its own stream and uses them as ``chunk`` consecutive batches. A held-out set of
  ``n_heldout`` samples is drawn once, from its own stream.

Seeding (what makes ensembles equal separate runs): member ``k`` of a run with ``seed=s``
draws its batches from generators seeded ``s + k`` (the critic's weights are seeded the
same way by :func:`mi_estimators.critics.make_critic`); the held-out partitions and the
streaming held-out set come from ``split_seed`` (default ``s``) and are shared by all
members. So member ``k`` of ``(n_critics=K, seed=s)`` equals a one-critic run with
``seed=s+k, split_seed=s`` up to float round-off. The ensemble's loss is the sum of the
members' losses; Adam is element-wise, so each member follows its own trajectory.

Evaluation happens every ``eval_every`` steps, off the hot path (the hot loop has no host
synchronisation): the held-out set is cut into disjoint batches of ``eval_batch_size``
(default ``batch_size``, so batch-size-dependent bounds such as InfoNCE's ``log B`` cap
are evaluated at the size they were trained at), the bound's estimate is averaged over the
batches, and the history records the step, the mean training loss since the last
evaluation and the held-out estimate, per member (on at most :data:`SELECTION_HELDOUT_MAX`
held-out samples; the final value uses them all, in fewer partitions beyond it). Early stopping keeps, per member, the
weights with the best held-out estimate (or, for a bound with a ``selection(S)`` method, the best
held-out value of that: the generative bounds select on the log-likelihood of their density
model, since a larger upper bound is not a better one) and freezes a member after ``patience``
evaluations without improvement; training ends when every member is frozen or after
``steps`` steps. The final value is recomputed with the best weights on the held-out data,
averaged over ``final_repeats`` random partitions into batches.

Standard error of a member's held-out value: the batch estimates of one partition are
i.i.d. (disjoint batches of i.i.d. pairs), so ``sd(batch estimates) / sqrt(n_batches)`` is
the standard error of their mean, whatever the (non-linear, biased) form of the
per-batch estimate. Averaging over several partitions can only lower the variance, so the
reported standard error (mean over partitions of that quantity) is conservative. It covers
the held-out sampling noise for the trained critic, not the randomness of training (use
an ensemble for that) and not the bound's own bias.

A non-finite training loss or held-out estimate raises :class:`TrainingDivergedError`.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from mi_estimators._checks import check_int, check_positive
from mi_estimators.options import TrainOptions

__all__ = [
    "TrainingDivergedError",
    "TrainResult",
    "selection_subset",
    "TrainingProgress",
    "fit_critic",
    "evaluate_critic",
    "resolve_device",
    "resolve_cuda_graph",
    "cuda_graphed",
    "make_train_step",
    "GRAPH_WARMUP_STEPS",
    "split_indices",
    "as_tensor",
    "DEFAULTS",
]

#: The loop's defaults: those shared with :func:`mi_estimators.estimate_mi` come from
#: :class:`mi_estimators.options.TrainOptions`; ``chunk`` and ``n_heldout`` are streaming mode's.
DEFAULTS = dict(
    steps=TrainOptions.steps,
    batch_size=TrainOptions.batch_size,
    lr=TrainOptions.lr,
    eval_every=TrainOptions.eval_every,
    patience=TrainOptions.patience,
    final_repeats=TrainOptions.final_repeats,
    chunk=16,
    n_heldout=4096,
)


#: Held-out evaluation does not grow with n beyond this many samples: an evaluation during training
#: (early stopping, the history) uses at most this many (a seeded random subset, :func:`selection_subset`), and
#: the final value, on the whole held-out split, uses fewer of the ``final_repeats`` partitions where
#: the split is larger (``ceil(final_repeats * SELECTION_HELDOUT_MAX / n_heldout)``, at least one).
#: Runs with at most this many held-out samples (n <= 81,920 at the default 20 % held out) are
#: unchanged. Before it, at n = 2e5 (d = 5 + 5, 400 InfoNCE steps, one critic) held-out evaluation
#: took 9.4 of the run's 13.3 s; 128 batches of 128 already give each evaluation a standard error
#: of about sd(batch estimate) / 11.
SELECTION_HELDOUT_MAX = 16384


def selection_subset(xh: torch.Tensor, yh: torch.Tensor, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The held-out rows that evaluations during training read: all of them when there are at most
    ``size``, else ``size`` rows drawn without replacement (seeded; kept in their order). The
    held-out split is in the data's order, so a prefix would follow any order the data has."""
    if xh.shape[0] <= size:
        return xh, yh
    gen = torch.Generator().manual_seed(_derived_seed(seed, _SELECT))
    keep = torch.randperm(xh.shape[0], generator=gen)[:size].sort().values.to(xh.device)
    return xh[keep], yh[keep]


class TrainingDivergedError(ValueError):
    """Training produced a non-finite loss or estimate (NaN or inf)."""


@dataclass
class TrainResult:
    """What :func:`fit_critic` returns. Arrays have one entry per ensemble member."""

    estimates: np.ndarray            # (K,) held-out estimate with the best weights
    stderrs: np.ndarray              # (K,) held-out sampling standard error (conservative)
    n_eval_batches: int              # disjoint held-out batches per partition
    best_step: np.ndarray            # (K,) step of the kept weights
    steps_run: int
    seconds: float
    history: list = field(default_factory=list)  # dicts: step, train_loss[K], heldout[K]
    critic: torch.nn.Module | None = None
    cuda_graph: bool = False         # whether the steps after the warm-up replayed a CUDA graph


def resolve_device(device) -> torch.device:
    """``"cpu"``, ``"cuda"`` (``"cuda:1"``...), ``"auto"`` (cuda when present) or a torch.device."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for but no CUDA GPU is available to torch "
                f"(torch {torch.__version__}); use device='cpu' or device='auto'"
            )
        return torch.device(device)
    raise ValueError(f"unknown device {device!r}; valid choices: auto, cpu, cuda")


def _derived_seed(*parts: int) -> int:
    """A 63-bit seed derived from integers (decorrelates streams that share a user seed)."""
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(2, np.uint64)[0] >> 1)


_ORDER, _HELDOUT, _PARTITION, _SPLIT, _SELECT = 0x0DE5, 0x4E1D, 0x9A27, 0x5B17, 0x3C6B


def split_indices(n: int, heldout_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random split of ``range(n)`` into (train, held-out) index arrays, seeded."""
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must lie in (0, 1), got {heldout_fraction!r}")
    perm = np.random.default_rng(_derived_seed(seed, _SPLIT)).permutation(n)
    n_held = int(round(n * heldout_fraction))
    return np.sort(perm[n_held:]), np.sort(perm[:n_held])


def as_tensor(a, dtype, device) -> torch.Tensor:
    """``a`` (array or tensor) as a tensor of ``dtype`` on ``device``."""
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype, device=device)


def _draw(sampler, n: int, rng: np.random.Generator):
    x, y = sampler.sample(n, rng) if hasattr(sampler, "sample") else sampler(n, rng)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    return x, y


@torch.no_grad()
def evaluate_critic(critic, bound, x, y, *, batch_size: int, repeats: int = 1, seed: int = 0, statistic=None):
    """Held-out estimate per member: mean over disjoint batches, and its standard error.

    ``x, y``: held-out tensors ``(n, d)`` on the critic's device. Returns
    ``(mean (K,), stderr (K,), n_batches)`` as tensors (no host sync inside). The samples are
    cut into ``n // batch_size`` disjoint batches, ``repeats`` times with different random
    partitions (seeded by ``seed``, identical at every call); ``stderr`` is the mean over
    partitions of ``sd(batch estimates) / sqrt(n_batches)`` (conservative for the average).
    ``statistic``: a function of the scores to average instead of ``bound.estimate`` (the trainer's
    model-selection statistic, e.g. an upper bound's held-out log-likelihood).
    """
    statistic = bound.estimate if statistic is None else statistic
    n = x.shape[0]
    nb = n // batch_size
    if nb < 2:
        raise ValueError(
            f"the held-out set has {n} samples: fewer than 2 batches of batch_size={batch_size}; "
            "lower batch_size or give more samples (a standard error needs at least 2 batches)"
        )
    g = torch.Generator().manual_seed(_derived_seed(seed, _PARTITION))
    means, ses = [], []
    for r in range(repeats):
        order = torch.randperm(n, generator=g)[: nb * batch_size].to(x.device)
        est = []
        for b in range(nb):
            idx = order[b * batch_size:(b + 1) * batch_size]
            est.append(statistic(critic(x[idx], y[idx])))   # (K,)
        est = torch.stack(est, dim=-1).to(torch.float64)          # (K, nb)
        means.append(est.mean(-1))
        ses.append(est.std(-1, unbiased=True) / math.sqrt(nb))
    return torch.stack(means).mean(0), torch.stack(ses).mean(0), nb


def _diverged_message(what: str, step: int, members, bound_name: str, lr: float, hint: str = "") -> str:
    who = "all critics" if members is None else f"critic(s) {members}"
    return (
        f"training diverged: {what} became NaN/inf at step {step} for {who} "
        f"(bound {bound_name!r}, lr={lr:g}).{hint} What to change: lower the learning rate (e.g. lr={lr / 10:g}); "
        "use a bounded objective such as 'infonce', 'js' or 'smile' (NWJ/DV/MINE exponentiate scores "
        "and blow up at high MI); standardise the inputs (standardize=True); or use a smaller batch "
        "of features/critic."
    )


def _check_loop_options(*, steps, batch_size, eval_every, final_repeats, chunk, n_heldout, patience, lr,
                        train, sampler) -> None:
    for name, value in dict(steps=steps, batch_size=batch_size, eval_every=eval_every,
                            final_repeats=final_repeats, chunk=chunk, n_heldout=n_heldout).items():
        check_int(name, value)
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 (one joint and one product pair per row), got {batch_size}")
    if patience is not None:
        check_int("patience", patience, what="a positive integer or None")
    check_positive("lr", lr)
    if (sampler is None) == (train is None):
        raise ValueError("give either train=(x, y) and heldout=(x, y) (dataset mode) or sampler= (streaming mode)")


def _dataset_batches(train, heldout, n_members: int, batch_size: int, seed: int, dtype, device):
    """Dataset mode: ``(batch generator, x_heldout, y_heldout)``; member k shuffles with seed + k."""
    if heldout is None:
        raise ValueError("dataset mode needs heldout=(x, y) as well as train=(x, y)")
    xt, yt = (as_tensor(a, dtype, device) for a in train)
    xh, yh = (as_tensor(a, dtype, device) for a in heldout)
    n_train = xt.shape[0]
    if n_train < batch_size:
        raise ValueError(
            f"the training split has {n_train} samples, fewer than one batch (batch_size={batch_size}); "
            "lower batch_size or give more samples"
        )
    order_gens = [torch.Generator().manual_seed(_derived_seed(seed + k, _ORDER)) for k in range(n_members)]
    per_epoch = n_train // batch_size

    def batches():
        while True:
            idx = torch.stack([torch.randperm(n_train, generator=g) for g in order_gens]).to(device)
            for b in range(per_epoch):
                sel = idx[:, b * batch_size:(b + 1) * batch_size]
                yield xt[sel], yt[sel]

    return batches(), xh, yh


def _streaming_batches(sampler, n_members: int, batch_size: int, chunk: int, n_heldout: int, seed: int,
                       split_seed: int, dtype, device):
    """Streaming mode: ``(batch generator, x_heldout, y_heldout)``; the held-out set is drawn once."""
    rng_h = np.random.default_rng(_derived_seed(split_seed, _HELDOUT))
    xh, yh = (as_tensor(a, dtype, device) for a in _draw(sampler, n_heldout, rng_h))
    rngs = [np.random.default_rng(_derived_seed(seed + k, _ORDER)) for k in range(n_members)]

    def batches():
        while True:
            draws = [_draw(sampler, chunk * batch_size, r) for r in rngs]
            xs = torch.as_tensor(np.stack([d[0] for d in draws]), dtype=dtype).to(device)
            ys = torch.as_tensor(np.stack([d[1] for d in draws]), dtype=dtype).to(device)
            for c in range(chunk):
                sl = slice(c * batch_size, (c + 1) * batch_size)
                yield xs[:, sl], ys[:, sl]

    return batches(), xh, yh


class TrainingProgress:
    """A tqdm bar over ``steps`` training steps when ``show`` (else nothing), advanced at each
    evaluation with its postfix; a context manager that closes it, also on an error."""

    def __init__(self, show: bool, steps: int, desc: str):
        self.bar = None
        if show:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=steps, desc=desc, unit="step")

    def advance(self, step: int, **postfix) -> None:
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix(**postfix)

    def __enter__(self) -> "TrainingProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


class _EarlyStopping:
    """Per member: the best held-out value, its weights and step; a member freezes after
    ``patience`` evaluations without improvement (``None``: never; the last weights are kept).
    A non-finite value never counts as an improvement. A parameter's leading axis holds the
    ``n_members`` members once or, tiled, several times (a flow shared by both sides)."""

    def __init__(self, params, n_members: int, patience, device):
        self.params, self.n_members, self.patience, self.device = params, n_members, patience, device
        self.best = [p.detach().clone() for p in params]
        self.best_val = torch.full((n_members,), -math.inf, dtype=torch.float64)
        self.best_step = np.zeros(n_members, dtype=int)
        self.stale = np.zeros(n_members, dtype=int)
        self.active = np.ones(n_members, dtype=bool)

    def update(self, val, step: int) -> None:
        val = torch.as_tensor(val, dtype=torch.float64)
        improved = self.active & torch.isfinite(val).numpy()
        if self.patience is not None:
            improved &= (val > self.best_val).numpy()
        if improved.any():
            with torch.no_grad():
                for b, p in zip(self.best, self.params):
                    tiled = np.tile(improved, max(1, p.shape[0] // self.n_members))
                    mask = torch.as_tensor(tiled, device=self.device)
                    b.copy_(torch.where(mask.view(-1, *([1] * (p.ndim - 1))), p.detach(), b))
            self.best_val = torch.where(torch.as_tensor(improved), val, self.best_val)
            self.best_step[improved] = step
        self.stale[improved] = 0
        self.stale[~improved & self.active] += 1
        if self.patience is not None:
            self.active &= self.stale < self.patience

    def restore(self) -> None:
        with torch.no_grad():
            for b, p in zip(self.best, self.params):
                p.copy_(b)


def _checked_heldout(estimate, step: int, bound_name: str, lr: float, hint: str, what: str):
    """``estimate()`` on the host, or :class:`TrainingDivergedError` if it is not finite."""
    try:
        val, se, nb = estimate()
    except ValueError as exc:   # the bound rejects non-finite scores
        raise TrainingDivergedError(_diverged_message(
            f"the critic's held-out scores ({exc})", step, None, bound_name, lr)) from None
    val = val.cpu()
    bad = ~torch.isfinite(val)
    if bad.any():
        members = None if what == "the final held-out estimate" else bad.nonzero().flatten().tolist()
        raise TrainingDivergedError(_diverged_message(what, step, members, bound_name, lr, hint))
    return val, se, nb


def fit_critic(critic, bound, *, train=None, heldout=None, sampler=None,
               steps: int = DEFAULTS["steps"], batch_size: int = DEFAULTS["batch_size"],
               lr: float = DEFAULTS["lr"], eval_every: int = DEFAULTS["eval_every"],
               patience: int | None = DEFAULTS["patience"], eval_batch_size: int | None = None,
               final_repeats: int = DEFAULTS["final_repeats"], n_heldout: int = DEFAULTS["n_heldout"],
               chunk: int = DEFAULTS["chunk"], seed: int = 0, split_seed: int | None = None,
               device="cpu", progress: bool = False, weight_decay: float = 0.0,
               cuda_graph="auto", num_threads="auto") -> TrainResult:
    """Train ``critic`` (K members) to minimise ``bound.loss`` with Adam; evaluate on held-out data.

    Give either ``train=(x, y)`` and ``heldout=(x, y)`` (dataset mode; arrays or tensors of
    shape ``(n, d)``) or ``sampler`` (streaming mode). ``bound`` is an object of
    :func:`mi_estimators.bounds.get_bound` (``loss(S)``/``estimate(S)`` on ``(K, B, B)``
    scores). ``patience=None`` disables early stopping (the last weights are kept).
    ``cuda_graph``: on a CUDA device, capture one training step (forward, backward, Adam)
    as a CUDA graph after :data:`GRAPH_WARMUP_STEPS` eager steps and replay it; ``"auto"``
    (default) does so when the device is CUDA and the bound is ``graph_safe`` (every
    registry bound but MINE), ``False`` never; ``True`` raises if it cannot. Same numbers
    as eager steps (the same kernels, launched at once: ~10x faster steps for small
    critics, benchmarks/bench_gpu.py). ``num_threads``: torch intra-op threads while
    training (see :func:`resolve_num_threads`; the caller's setting is restored afterwards).
    Returns a :class:`TrainResult`; the critic's weights are set to the kept ones.
    Raises :class:`TrainingDivergedError` on a non-finite loss or estimate.
    """
    _check_loop_options(steps=steps, batch_size=batch_size, eval_every=eval_every, final_repeats=final_repeats,
                        chunk=chunk, n_heldout=n_heldout, patience=patience, lr=lr, train=train, sampler=sampler)
    device = resolve_device(device)
    with torch_threads(resolve_num_threads(num_threads, critic, device)):
        split_seed = seed if split_seed is None else split_seed
        dtype = next(critic.parameters()).dtype
        critic = critic.to(device)
        if sampler is None:
            stream, xh, yh = _dataset_batches(train, heldout, critic.n_critics, batch_size, seed, dtype, device)
        else:
            stream, xh, yh = _streaming_batches(sampler, critic.n_critics, batch_size, chunk, n_heldout, seed,
                                                split_seed, dtype, device)
        eval_batch_size = batch_size if eval_batch_size is None else int(eval_batch_size)

        select = getattr(bound, "selection", None)   # what early stopping maximises (default: the estimate)

        # Evaluations during training (early stopping) see at most SELECTION_HELDOUT_MAX held-out
        # samples (a seeded random subset); the final value sees them all, in fewer
        # partitions when there are more (SELECTION_HELDOUT_MAX).
        n_select = max(SELECTION_HELDOUT_MAX, 2 * eval_batch_size)
        xs, ys = selection_subset(xh, yh, n_select, split_seed)

        def heldout_estimate(repeats, final=True):
            if final and xh.shape[0] > n_select:
                repeats = min(repeats, max(1, math.ceil(repeats * n_select / xh.shape[0])))
            return evaluate_critic(critic, bound, *((xh, yh) if final else (xs, ys)), batch_size=eval_batch_size,
                                   repeats=repeats, seed=split_seed, statistic=None if final else select)

        if xh.shape[0] // eval_batch_size < 2:   # fail before training on a held-out set too small for an se
            heldout_estimate(1)
        return _train(critic, bound, stream, heldout_estimate, steps=steps, eval_every=eval_every,
                      patience=patience, final_repeats=final_repeats, lr=lr, weight_decay=weight_decay,
                      device=device, progress=progress, use_graph=resolve_cuda_graph(cuda_graph, device, bound))


def _train(critic, bound, stream, heldout_estimate, *, steps, eval_every, patience, final_repeats, lr,
           weight_decay, device, progress, use_graph) -> TrainResult:
    """The loop: steps with no host sync; at each evaluation point, the mean training loss and
    the held-out value are checked on the host and early stopping is updated."""
    n_members = critic.n_critics
    bound_name = getattr(getattr(bound, "info", None), "name", type(bound).__name__)
    hint = getattr(bound, "diverged_hint", "")  # a bound's own explanation (e.g. f-GAN outside dom φ*)
    stopping = _EarlyStopping(list(critic.parameters()), n_members, patience, device)
    history = []
    loss_acc = torch.zeros(n_members, dtype=torch.float64, device=device)
    n_acc = 0
    t0 = time.perf_counter()
    train_step = make_train_step(critic, bound, lr=lr, weight_decay=weight_decay, cuda_graph=use_graph,
                                 record=lambda scores, loss: loss_acc.add_(loss.to(torch.float64)))
    step = 0
    with TrainingProgress(progress, steps, f"training {bound_name}") as bar:
        for step in range(1, steps + 1):
            train_step(*next(stream))
            n_acc += 1
            if step % eval_every and step != steps:
                continue
            train_loss = (loss_acc / n_acc).cpu()   # evaluation point: the only host sync
            loss_acc.zero_()
            n_acc = 0
            bad = ~torch.isfinite(train_loss)
            if bad.any():
                raise TrainingDivergedError(_diverged_message(
                    "the training loss", step, bad.nonzero().flatten().tolist(), bound_name, lr))
            val, _, _ = _checked_heldout(lambda: heldout_estimate(1, final=False), step, bound_name, lr, hint,
                                         "the held-out estimate")
            history.append(dict(step=step, train_loss=train_loss.tolist(), heldout=val.tolist()))
            stopping.update(val, step)
            bar.advance(step, heldout=f"{float(val.mean()):.3f}")
            if not stopping.active.any():
                break
    stopping.restore()
    est, se, nb = _checked_heldout(lambda: heldout_estimate(final_repeats), step, bound_name, lr, hint,
                                   "the final held-out estimate")
    return TrainResult(estimates=est.numpy(), stderrs=se.cpu().numpy(), n_eval_batches=nb,
                       best_step=stopping.best_step, steps_run=step, seconds=time.perf_counter() - t0,
                       history=history, critic=critic, cuda_graph=bool(use_graph and train_step.captured))


#: eager steps (on a side stream) before the step is captured: they initialise Adam's state
#: and the cuBLAS workspaces, which a capture cannot allocate. They are real training steps.
GRAPH_WARMUP_STEPS = 3


def resolve_cuda_graph(cuda_graph, device, bound) -> bool:
    """Whether :func:`fit_critic` replays its step as a CUDA graph (see its ``cuda_graph``)."""
    if cuda_graph not in ("auto", True, False):
        raise ValueError(f"cuda_graph must be 'auto', True or False, got {cuda_graph!r}")
    why_not = None
    kind = resolve_device(device).type
    if kind != "cuda":
        why_not = f"the device is {kind!r}, not CUDA"
    elif not getattr(bound, "graph_safe", False):
        name = getattr(getattr(bound, "info", None), "name", type(bound).__name__)
        why_not = (f"the bound {name!r} is not graph_safe (its loss keeps Python-side state, e.g. MINE's "
                   "moving average, or it is not a registry bound)")
    if cuda_graph is True and why_not:
        raise ValueError(f"cuda_graph=True cannot be honoured: {why_not}; use cuda_graph='auto' or False")
    return cuda_graph is not False and why_not is None


def make_train_step(critic, loss, *, lr: float, weight_decay: float = 0.0, cuda_graph: bool = False,
                    record=None):
    """One optimisation step ``step(x, y)`` of ``critic`` with Adam: the trainer's hot loop body.

    A step scores the batch (``critic(x, y)``: ``(K, B, B)``), takes the per-member losses
    ``loss(scores)`` (shape ``(K,)``), back-propagates their sum and takes one Adam step
    (:func:`make_adam`; Adam is element-wise, so every member follows its own trajectory).
    Nothing in it waits on the host.

    ``loss``: a bound (its ``loss`` method is used) or any callable ``scores -> (K,)``, e.g.
    a different bound per member. A critic with an ``auxiliary_loss(x, y) -> (K,)`` method (the
    learned marginal of :class:`mi_estimators.critics.ConditionalGaussianCritic`) has it added to the
    bound's loss: parameters that no bound trains get their own objective. ``record(scores, loss)``, if given, runs after the Adam step
    under ``torch.no_grad()`` with the step's detached scores and losses; it keeps what it
    needs in tensors that live across steps (``add_``/``copy_`` into device buffers) and reads
    no host value, so the step stays replayable. :func:`fit_critic` records the running loss
    sum; :func:`mi_estimators.bench.staircase.run_staircase` every step's estimates and losses.
    ``cuda_graph``: replay the step as a CUDA graph after :data:`GRAPH_WARMUP_STEPS` eager
    steps (see :func:`cuda_graphed`); a bool, as :func:`resolve_cuda_graph` resolves it; the
    critic must already be on its device. Returns ``step``, with ``step.optimizer`` (the Adam)
    and ``step.captured`` (whether the graph exists).
    """
    if not isinstance(cuda_graph, bool):
        raise ValueError(f"cuda_graph must be True or False here (resolve 'auto' with resolve_cuda_graph), "
                         f"got {cuda_graph!r}")
    loss_fn = loss.loss if hasattr(loss, "loss") else loss
    optimizer = make_adam(critic.parameters(), lr=lr, weight_decay=weight_decay, capturable=cuda_graph)
    auxiliary = getattr(critic, "auxiliary_loss", None)

    def eager(xb, yb):
        scores = critic(xb, yb)
        losses = loss_fn(scores)                    # (K,)
        optimizer.zero_grad(set_to_none=True)
        total = losses if auxiliary is None else losses + auxiliary(xb, yb)
        total.sum().backward()
        optimizer.step()
        if record is not None:
            with torch.no_grad():
                record(scores.detach(), losses.detach())

    if cuda_graph:
        step = cuda_graphed(eager, next(critic.parameters()).device)
    else:
        step = eager
        step.captured = False
    step.optimizer = optimizer
    return step


def cuda_graphed(body, device, warmup: int = GRAPH_WARMUP_STEPS):
    """``body(*tensors)`` as a step that, after ``warmup`` eager calls, replays a CUDA graph.

    ``body`` must keep its results in tensors that live across calls (in-place updates, as
    the optimiser's and ``loss_acc.add_``) and read no host values. The first ``warmup``
    calls run ``body`` eagerly on a side stream (they allocate the optimiser's state and
    cuBLAS workspaces, which a capture cannot); the next call captures ``body`` on static
    copies of its inputs (recording does not run it) and replays the graph; every later
    call copies its inputs into the static buffers and replays: the same kernels, launched
    at once. ``zero_grad(set_to_none=True)`` inside ``body`` is fine: the captured backward
    then writes, rather than adds, the gradients on every replay. ``step.captured`` says
    whether the graph exists.
    """
    state = dict(done=0, graph=None, inputs=None)
    side = torch.cuda.Stream(device)

    def step(*inputs):
        if state["graph"] is not None:
            for buf, new in zip(state["inputs"], inputs):
                buf.copy_(new)
            state["graph"].replay()
            return
        main = torch.cuda.current_stream(device)
        if state["done"] < warmup:
            side.wait_stream(main)
            with torch.cuda.stream(side):
                body(*inputs)
            main.wait_stream(side)
            state["done"] += 1
            return
        static = [t.contiguous().clone() for t in inputs]
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):   # records, does not run
            body(*static)
        state.update(graph=graph, inputs=static)
        step.captured = True
        graph.replay()

    step.captured = False
    return step


def make_adam(params, *, lr: float, weight_decay: float = 0.0, capturable: bool = False) -> torch.optim.Adam:
    """Adam, using the fused single-kernel implementation where this torch build has one.

    Fused Adam computes the same update as the default loop implementation up to float
    round-off, and on CPU its step is about 5x cheaper (benchmarks/bench_ensemble.py), which
    is a sizeable share of a small critic's training step. ``capturable=True`` (CUDA only)
    keeps the step count on the device so the step can be captured in a CUDA graph.
    """
    params = list(params)
    extra = dict(capturable=True) if capturable else {}
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True, **extra)
    except (RuntimeError, TypeError, ValueError):  # older torch, or a device without a fused kernel
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **extra)


# critics whose step cost grows like B² (every pair goes through the network) profit from
# intra-op threads; the others do small matmuls where extra threads only add contention.
_PAIRWISE_CRITICS = ("JointCritic",)


def resolve_num_threads(num_threads, critic, device) -> int | None:
    """How many torch intra-op threads training uses; ``None`` leaves the caller's setting.

    ``"auto"`` (default): 1 thread on CPU for a single separable, bilinear or f-Gaussian
    critic — its matmuls are small, and measured here a second thread made a default
    ``estimate_mi`` 5x more expensive in CPU time (28 s vs 5.7 s, same result) on a busy
    2-core machine. An ensemble of them (``n_critics > 1``) and the joint critic keep the
    caller's torch setting: their K-wide (or B²) matmuls use a second core well (``auto``'s
    4-critic ensemble on an idle 2-core machine: 5.5 s wall and 11.0 CPU-s with 2 threads vs
    9.2 s and 9.2 CPU-s with 1; :mod:`mi_estimators.bench.executors` workers set 1 thread
    themselves). An int sets it explicitly.
    """
    if num_threads is None:
        return None
    if num_threads == "auto":
        if resolve_device(device).type != "cpu":
            return None
        if type(critic).__name__ in _PAIRWISE_CRITICS or getattr(critic, "n_critics", 1) > 1:
            return None
        return 1
    if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)) or num_threads < 1:
        raise ValueError(f"num_threads must be 'auto', None or a positive integer, got {num_threads!r}")
    return int(num_threads)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Temporarily set ``torch.set_num_threads(n)``; restores the previous value (no-op for None)."""
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
