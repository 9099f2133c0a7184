r"""Variational MI bounds as pure torch functions of a critic score matrix (nats).

``scores[..., i, j] = T(x_i, y_j)`` for a batch of B joint pairs: the diagonal holds
joint pairs (samples of P = p(x, y)), the off-diagonal holds the B(B − 1) pairs of
Q = p(x)p(y). Leading dimensions are independent batches (e.g. the K critics of an
ensemble); every function maps ``(..., B, B) -> (...)`` in float32 or float64.

Two layers, like ``torch.nn.functional`` and ``torch.nn``:

* functions (:func:`dv`, :func:`nwj`, :func:`infonce`, ...) hold the math, once;
* :class:`Bound` objects, from :func:`get_bound`, hold hyper-parameters and state (MINE's
  moving average) and give ``estimate(S)`` (the number to report; validates S, finite
  check included) and ``loss(S)`` (what to minimise; shape checks only, no host sync).
  They differ for ``js``, ``smile`` and ``mine`` (and ``fgan`` outside dom φ*).

Registry: :data:`BOUNDS`, :func:`list_bounds`, :func:`describe_bounds`; each entry says whether its
value is a lower bound, an upper bound or neither (``BoundInfo.kind``). Formulas, optima,
failure modes and oracle measurements are in ``docs/bounds.md`` and math_spec §2–4.

Negatives: bounds whose marginal term is a plain mean over product pairs take
``negatives="derangement"`` (:func:`negatives_mask`: B pairs of one derangement instead of all
B(B − 1) off-diagonal pairs; f-DIME, Letizia et al., NeurIPS 2024); row-wise ones refuse it.

Generative bounds (``club``, ``l1out``, ``ba``, ``doe``) read S as a conditional log-density,
``S[i, j] = log q(y_j | x_i) − log m(y_j)`` (critic ``conditional-gaussian``), and train q by
maximum likelihood; ``club`` and ``l1out`` are upper bounds under their stated conditions.

Stability: no score is exponentiated directly. Means of exponentials are computed as
``exp(log-mean-exp)`` with :func:`mi_estimators.divergences.safe_exp`, which is exact
wherever the result is representable and continues linearly (finite value, finite
gradient) beyond; so every bound is finite with finite gradients for |S| up to 1e4.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from mi_estimators._checks import check_choice, check_positive, check_real, check_scores
from mi_estimators.options import NEGATIVES
from mi_estimators.divergences import (
    Divergence,
    get_divergence,
    list_divergences,
    masked_mean,
    safe_exp,
)

__all__ = [
    "Bound",
    "BoundInfo",
    "BOUNDS",
    "get_bound",
    "list_bounds",
    "describe_bounds",
    "log_mean_exp_off_diagonal",
    "log_mean_exp_rows_off_diagonal",
    "mean_off_diagonal",
    "negatives_mask",
    "log_mean_exp_negatives",
    "mean_negatives",
    "dv",
    "mine_loss",
    "nwj",
    "tuba",
    "infonce",
    "dv_per_anchor",
    "js_fgan_objective",
    "js_estimate",
    "smile",
    "interpolated",
    "interpolated_ceiling",
    "fgan",
    "fgan_output",
    "FGAN_OUTPUTS",
    "fmicl",
    "dro_dual",
    "club",
    "l1out",
    "entropy_difference",
    "density_nll",
    "KINDS",
]


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------
def _eye(scores: Tensor) -> Tensor:
    n = scores.shape[-1]
    return torch.eye(n, dtype=torch.bool, device=scores.device)


def _shape_checked(scores: Tensor) -> Tensor:
    return check_scores(scores, check_finite=False)


def log_mean_exp_off_diagonal(scores: Tensor) -> Tensor:
    r"""``log mean_{i≠j} exp(scores[..., i, j])``, shape ``(...)`` (logsumexp, never a naked exp)."""
    n = scores.shape[-1]
    z = scores.masked_fill(_eye(scores), -math.inf)
    return torch.logsumexp(z.flatten(-2), dim=-1) - math.log(n * (n - 1))


def log_mean_exp_rows_off_diagonal(scores: Tensor) -> Tensor:
    r"""Per row i: ``log mean_{j≠i} exp(scores[..., i, j])``, shape ``(..., B)``."""
    n = scores.shape[-1]
    z = scores.masked_fill(_eye(scores), -math.inf)
    return torch.logsumexp(z, dim=-1) - math.log(n - 1)


def mean_off_diagonal(values: Tensor) -> Tensor:
    """``mean_{i≠j} values[..., i, j]``, shape ``(...)`` (the diagonal may hold inf)."""
    n = values.shape[-1]
    return values.masked_fill(_eye(values), 0.0).sum(dim=(-2, -1)) / (n * (n - 1))


def negatives_mask(scores: Tensor, negatives: str = "all") -> Tensor:
    r"""The product pairs a bound's marginal term averages over, as a ``(B, B)`` boolean mask.

    ``"all"``: every off-diagonal pair (i ≠ j), B(B − 1) of them. ``"derangement"``: the B pairs
    ``(x_i, y_{σ(i)})`` with σ(i) = i + 1 mod B, a derangement (no fixed point: no joint pair
    among the negatives), as f-DIME trains (Letizia et al., NeurIPS 2024). The trainer's batches
    and the held-out partitions are uniformly shuffled i.i.d. samples, so every fixed B-cycle
    gives negatives with the same law as a uniformly random B-cycle; a fixed one keeps the bound a
    pure (CUDA-graph-safe, reproducible) function of S.
    """
    negatives = check_choice("negatives", negatives, NEGATIVES)
    eye = _eye(scores)
    return ~eye if negatives == "all" else eye.roll(1, dims=-1)


def _negatives_count(n: int, negatives: str) -> int:
    return n * (n - 1) if negatives == "all" else n


def _derangement_values(values: Tensor) -> Tensor:
    """``values[..., i, (i + 1) mod B]``, shape ``(..., B)``."""
    return values.roll(-1, dims=-1).diagonal(dim1=-2, dim2=-1)


def log_mean_exp_negatives(scores: Tensor, negatives: str = "all") -> Tensor:
    r"""``log mean exp S`` over the negative pairs of :func:`negatives_mask`, shape ``(...)``."""
    if check_choice("negatives", negatives, NEGATIVES) == "all":
        return log_mean_exp_off_diagonal(scores)
    return torch.logsumexp(_derangement_values(scores), dim=-1) - math.log(scores.shape[-1])


def mean_negatives(values: Tensor, negatives: str = "all") -> Tensor:
    """Mean of ``values`` over the negative pairs of :func:`negatives_mask`, shape ``(...)``."""
    if check_choice("negatives", negatives, NEGATIVES) == "all":
        return mean_off_diagonal(values)
    return _derangement_values(values).mean(dim=-1)


def _diag_mean(scores: Tensor) -> Tensor:
    return scores.diagonal(dim1=-2, dim2=-1).mean(dim=-1)


def _log_baseline(scores: Tensor, log_baseline) -> Tensor:
    """A per-anchor log baseline b_i = log a(x_i) of shape broadcastable to (..., B)."""
    batch = scores.shape[:-1]
    if log_baseline is None:
        return torch.zeros(batch, dtype=scores.dtype, device=scores.device)
    b = torch.as_tensor(log_baseline, dtype=scores.dtype, device=scores.device)
    try:
        return torch.broadcast_to(b, batch)
    except RuntimeError:
        raise ValueError(
            f"log_baseline must have shape (..., B) = {tuple(batch)} (one log a(x_i) per anchor), "
            f"got {tuple(b.shape)}"
        ) from None


# ---------------------------------------------------------------------------
# KL bounds
# ---------------------------------------------------------------------------
def dv(scores: Tensor, *, negatives: str = "all") -> Tensor:
    r"""Donsker–Varadhan lower bound on KL-MI (nats).

    .. math:: I_{DV} = \mathbb{E}_P[T] - \log \mathbb{E}_Q[e^T]
              \approx \mathrm{mean}_i S_{ii} - \log \mathrm{mean}_{i\ne j} e^{S_{ij}}

    Population lower bound for any T, tight at ``T = log r + c`` (invariant to S + c).
    The batch value is biased upward (the log sits outside the mean); variance grows with I.
    ``negatives="derangement"``: the mean over Q uses the B pairs of one derangement
    (:func:`negatives_mask`) instead of all B(B − 1). Donsker & Varadhan (1983); Belghazi et al. (2018).
    """
    scores = _shape_checked(scores)
    return _diag_mean(scores) - log_mean_exp_negatives(scores, negatives)


def mine_loss(scores: Tensor, log_ema: Tensor | None = None, momentum: float = 0.9, *,
              negatives: str = "all") -> tuple[Tensor, Tensor]:
    r"""MINE training loss and updated state: value ``-DV(S)``, gradient bias-corrected.

    The gradient of ``log E_Q e^T`` is ``∇E_Q e^T / E_Q e^T``; MINE replaces the
    denominator by an exponential moving average ``m ← momentum·m + (1 − momentum)·E_Q e^T``
    (kept in log space: ``log_ema``, shape ``(...)``; ``None`` starts it at this batch).
    Returns ``(loss, new_log_ema)``; ``new_log_ema`` is detached. Belghazi et al. (2018).
    """
    scores = _shape_checked(scores)
    lme = log_mean_exp_negatives(scores, negatives)
    current = lme.detach()
    if log_ema is None:
        new = current
    else:
        log_ema = log_ema.to(device=current.device, dtype=current.dtype)
        if log_ema.shape != current.shape:
            raise ValueError(
                f"MINE state has shape {tuple(log_ema.shape)} but the scores have leading shape "
                f"{tuple(current.shape)}; call reset() when the ensemble size changes"
            )
        new = torch.logaddexp(log_ema + math.log(momentum), current + math.log1p(-momentum))
    # E_Q e^T / ema, with lme - new <= log(1 / (1 - momentum)): never overflows.
    ratio = torch.exp(lme - new)
    surrogate = _diag_mean(scores) - current - (ratio - ratio.detach())
    return -surrogate, new


def nwj(scores: Tensor, *, negatives: str = "all") -> Tensor:
    r"""Nguyen–Wainwright–Jordan lower bound on KL-MI (f-GAN-KL, TUBA with a = e).

    .. math:: I_{NWJ} = \mathbb{E}_P[T] - e^{-1}\,\mathbb{E}_Q[e^{T}]

    Lower bound for any T, unbiased on a batch; tight only at ``T = 1 + log r`` (not
    shift-invariant). Variance ∝ Var_Q(r) = e^{2I} − 1 for Gaussians: explodes with I.
    Nguyen, Wainwright & Jordan (2010).
    """
    scores = _shape_checked(scores)
    return _diag_mean(scores) - safe_exp(log_mean_exp_negatives(scores, negatives) - 1.0)


def tuba(scores: Tensor, log_baseline: Tensor | None = None, *, negatives: str = "all") -> Tensor:
    r"""TUBA: tractable unnormalised Barber–Agakov lower bound with baseline a(x) > 0.

    .. math:: 1 + \mathrm{mean}_i (S_{ii} - b_i) - \mathrm{mean}_{i\ne j} e^{S_{ij} - b_i},
              \quad b_i = \log a(x_i)

    ``log_baseline`` has shape ``(..., B)``; ``None`` means b = 0 (a = 1). Tight at
    ``S = log r + b(x)``; with ``a(x) = E_y e^{T}`` it is per-anchor DV. Poole et al. (2019).
    """
    scores = _shape_checked(scores)
    b = _log_baseline(scores, log_baseline)
    shifted = scores - b.unsqueeze(-1)
    return 1.0 + _diag_mean(shifted) - safe_exp(log_mean_exp_negatives(shifted, negatives))


def infonce(scores: Tensor) -> Tensor:
    r"""InfoNCE (CPC) lower bound on KL-MI, never above ``log B``.

    .. math:: \log B + \mathrm{mean}_i \big[S_{ii} - \log \textstyle\sum_j e^{S_{ij}}\big]

    (the row sum includes the diagonal). Tight only when I ≪ log B; low variance.
    Optimum ``S = log r + c(x)``. van den Oord et al. (2018); Poole et al. (2019).
    """
    scores = _shape_checked(scores)
    n = scores.shape[-1]
    return math.log(n) + (scores.diagonal(dim1=-2, dim2=-1) - torch.logsumexp(scores, dim=-1)).mean(dim=-1)


def dv_per_anchor(scores: Tensor) -> Tensor:
    r"""Per-anchor (row-wise) DV: ``mean_i [S_ii − log mean_{j≠i} e^{S_ij}]``.

    Population lower bound on I (≥ global DV at a fixed critic); optimum
    ``S = log r + c(x)``; equals CL-DRO-KL at τ = 1. Strongly biased upward at high I on
    a batch (math_spec §2: +3.6 nats at d = 10, ρ = .9, B = 256). Wu et al. (2023).
    """
    scores = _shape_checked(scores)
    return (scores.diagonal(dim1=-2, dim2=-1) - log_mean_exp_rows_off_diagonal(scores)).mean(dim=-1)


def js_fgan_objective(scores: Tensor, *, negatives: str = "all") -> Tensor:
    r"""The f-GAN Jensen–Shannon objective ``J = −mean softplus(−S_ii) − mean_{i≠j} softplus(S_ij)``.

    ``JSD ≈ log 2 + J/2``; maximised at ``S = log r``. Nowozin et al. (2016).
    """
    scores = _shape_checked(scores)
    # threshold=40: torch's default (20) returns x itself above 20, an error of e^-20 per entry
    pos = F.softplus(-scores.diagonal(dim1=-2, dim2=-1), threshold=40.0).mean(dim=-1)
    return -pos - mean_negatives(F.softplus(scores, threshold=40.0), negatives)


def js_estimate(scores: Tensor, *, negatives: str = "all") -> Tensor:
    r"""KL-MI from a JS-trained critic: ``NWJ(S + 1) = 1 + mean S_ii − mean_{i≠j} e^{S_ij}``.

    The JS optimum is ``S = log r``, so NWJ must be evaluated at ``S + 1``. The Poole and
    SMILE reference code evaluate ``NWJ(S)`` = TUBA(S − 1), which is exactly 1/e low at
    the optimum (math_spec §2). Lower bound for any S. Poole et al. (2019).
    """
    scores = _shape_checked(scores)
    return 1.0 + _diag_mean(scores) - safe_exp(log_mean_exp_negatives(scores, negatives))


def smile(scores: Tensor, tau: float = 5.0, *, negatives: str = "all") -> Tensor:
    r"""SMILE(τ) value: ``mean S_ii − log mean_{i≠j} exp(clip(S_ij, −τ, τ))``.

    **Not a bound**: biased for finite τ (upward at high I for small τ), unbiased as
    τ → ∞ where it is DV; the clip caps the variance of the partition term.
    Song & Ermon (2020).
    """
    scores = _shape_checked(scores)
    return _diag_mean(scores) - log_mean_exp_negatives(scores.clamp(-tau, tau), negatives)


def _log_loo_mean_exp_rows(scores: Tensor) -> Tensor:
    """``L[..., i, j] = log mean_{k≠j} exp(S[..., i, k])`` (leave column j out), stably.

    For j ≠ argmax_i the left-out share e^{S_ij}/Σ_k e^{S_ik} is ≤ ½, so
    ``lse_i + log1p(−share)`` is accurate; the argmax column is recomputed directly.
    """
    n = scores.shape[-1]
    lse = torch.logsumexp(scores, dim=-1, keepdim=True)
    is_max = F.one_hot(scores.argmax(dim=-1), n).bool()
    log_share = torch.where(is_max, torch.full_like(scores, -1.0), scores - lse)
    loo = lse + torch.log1p(-torch.exp(log_share))
    without_max = torch.logsumexp(scores.masked_fill(is_max, -math.inf), dim=-1, keepdim=True)
    return torch.where(is_max, without_max, loo) - math.log(n - 1)


def interpolated(scores: Tensor, alpha: float = 0.5, log_baseline: Tensor | None = None) -> Tensor:
    r"""Poole et al.'s α-interpolated lower bound on KL-MI (between TUBA and InfoNCE).

    .. math:: 1 + \mathrm{mean}_{i\ne j}(S_{ii} - \log a_{ij})
              - \mathrm{mean}_{i\ne j} e^{S_{ij} - \log a_{ii}},\qquad
              a_{ij} = \alpha\,\mathrm{mean}_{k\ne j} e^{S_{ik}} + (1-\alpha)\,q(x_i)

    (leave-one-out form, our orientation: rows are x). ``log_baseline`` = log q(x_i),
    shape ``(..., B)``; ``None`` = the constant q = 1 (optimal for S = log r, whose
    E_y e^S = 1). α = 0 is TUBA; α = 1 is leave-one-out InfoNCE (≤ log(B − 1)).
    Value ≤ 1 + log((B − 1)/α). Poole et al. (2019), "On variational bounds of MI".
    """
    scores = _shape_checked(scores)
    check_real("alpha", alpha, low=0.0, high=1.0, what="a number in [0, 1]")
    b = _log_baseline(scores, log_baseline).unsqueeze(-1)
    loo = _log_loo_mean_exp_rows(scores)
    log_a = torch.logaddexp(
        loo + (math.log(alpha) if alpha > 0 else -math.inf),
        b + (math.log1p(-alpha) if alpha < 1 else -math.inf),
    )
    joint = mean_off_diagonal(scores.diagonal(dim1=-2, dim2=-1).unsqueeze(-1) - log_a)
    log_a_diag = log_a.diagonal(dim1=-2, dim2=-1).unsqueeze(-1)
    marginal = safe_exp(log_mean_exp_off_diagonal(scores - log_a_diag))
    return 1.0 + joint - marginal


def interpolated_ceiling(batch_size: int, alpha: float) -> float | None:
    """Upper limit of :func:`interpolated` on a batch: log(B − 1) at α = 1, 1 + log((B − 1)/α) for 0 < α < 1."""
    if alpha <= 0:
        return None
    if alpha >= 1:
        return math.log(batch_size - 1)
    return 1.0 + math.log((batch_size - 1) / alpha)


# ---------------------------------------------------------------------------
# φ-divergence bounds
# ---------------------------------------------------------------------------
def _divergence(divergence, alpha) -> Divergence:
    return get_divergence(divergence, alpha)


FGAN_OUTPUTS = ("raw", "bounded")


def fgan_output(v: Tensor, divergence="kl", *, alpha: float | None = None) -> Tensor:
    r"""Map unconstrained critic outputs into dom φ* (the f-GAN output activation).

    .. math:: T = t_{\max} + \log\sigma(v) = t_{\max} - \mathrm{softplus}(-v)
              \quad\text{if } t_{\max} = \sup \mathrm{dom}\,\phi^* < \infty, \qquad T = v \text{ otherwise}

    Range ``(-∞, t_max)``, which contains every φ'(r) (so the f-GAN bound stays tight);
    linear for very negative ``v`` (no overflow). Computed in float64 so that T cannot
    round onto an open boundary (the result is float64). For JS this is Nowozin's ``log 2 − log(1 + e^{−v})``
    (halved generator); for Hellinger/VLC the same shape as ``1 − e^{−v}``; for TV
    it replaces ``½ tanh v``. Nowozin, Cseke & Tomioka (2016), Table 2.
    """
    div = _divergence(divergence, alpha)
    if math.isinf(div.t_max):
        return v
    wide = v if v.device.type == "mps" else v.to(torch.float64)
    return div.t_max + F.logsigmoid(wide)


def fgan(scores: Tensor, divergence="kl", *, alpha: float | None = None, extend: bool = False,
         output: str = "raw", negatives: str = "all") -> Tensor:
    r"""f-GAN (Nowozin) variational lower bound on φ-MI with critic T = S or T = g(S).

    .. math:: I_\phi \ge \mathrm{mean}_i T_{ii} - \mathrm{mean}_{i\ne j}\,\phi^*(T_{ij})

    ``output="raw"``: T = S. Tight at ``T = φ'(r)``. Not shift-invariant. If an off-diagonal
    score leaves dom φ* (e.g. T ≥ 1 for Hellinger) the bound is exactly ``-inf``;
    ``extend=True`` (used by ``loss``) replaces φ* there by its tangent at ratio e^{10},
    finite with a gradient back into the domain. A trained raw critic can still put a
    held-out score outside the domain (Hellinger, JS, TV, VLC, Tsallis α < 1, reverse χ²).
    ``output="bounded"``: T = :func:`fgan_output` (S), always inside dom φ*, so the bound is
    finite for every S and trainable for every divergence (TV included: the objective is
    linear in T, unlike f-MICL-TV). Tight at ``g(S) = φ'(r)``. The value is float64 then.
    Nowozin, Cseke & Tomioka (2016).
    """
    scores = _shape_checked(scores)
    output = check_choice("f-GAN output", output, FGAN_OUTPUTS)
    div = _divergence(divergence, alpha)
    if output == "bounded":
        scores = fgan_output(scores, div)
    neg = div.mean_conj(scores, negatives_mask(scores, negatives), dim=(-2, -1), extend=extend)
    return _diag_mean(scores) - neg


def fmicl(scores: Tensor, divergence="kl", *, alpha: float | None = None, negatives: str = "all") -> Tensor:
    r"""f-MICL bound on φ-MI with the ratio parametrised as r̂ = exp(S) (Lu et al., 2023).

    .. math:: \hat I_\phi = \mathrm{mean}_i \phi'(\hat r_{ii})
              - \mathrm{mean}_{i\ne j}\big[\hat r_{ij}\phi'(\hat r_{ij}) - \phi(\hat r_{ij})\big]

    = f-GAN at T = φ'(e^S), so every score is inside dom φ*. Maximised iff r̂ = r
    (S = log r); invariant to φ → φ + c(u − 1). Computed in log space per divergence.
    KL gives NWJ(S + 1). TV has zero gradient (φ' is a step): evaluate only.
    """
    scores = _shape_checked(scores)
    div = _divergence(divergence, alpha)
    pos = div.mean_f_prime_exp(scores.diagonal(dim1=-2, dim2=-1), None, -1)
    neg = div.mean_conj_f_prime_exp(scores, negatives_mask(scores, negatives), (-2, -1))
    return pos - neg


_NEWTON_STEPS = 30


def _solve_beta(scores: Tensor, div: Divergence, mask: Tensor, dims: tuple[int, ...], *, may_sync: bool = False,
                count: int | None = None) -> Tensor:
    """argmin_β g(β) = β + mean φ*(S − β) over the masked entries, per problem (no grad).

    Call it on scores centred so that the largest selected entry of each problem is 0:
    then β lives in [−φ'(N), −φ'(1)], resolved to full precision whatever the scale of S.

    h(β) = g'(β) = 1 − mean (φ*)'(S − β) is non-decreasing, ≤ 0 at β = max S − φ'(N)
    (the largest entry alone has ratio N) and ≥ 0 at β = max S − φ'(1) (all ratios ≤ 1).
    Safeguarded Newton on h inside that bracket (a bisection step whenever Newton would
    leave it), started at the end from which it converges monotonically, in float64
    (except on MPS). At most 30 steps; ``may_sync=True`` (estimates) stops as soon as
    every step is below 1e-13 (1 + |β|), the loss path runs all steps (no host sync).
    """
    with torch.no_grad():
        work = scores.detach()
        if work.device.type != "mps":
            work = work.to(torch.float64)
        n = scores.shape[-1]
        if count is None:   # entries per problem: all off-diagonal pairs, or one row's
            count = n * (n - 1) if len(dims) == 2 else n - 1
        # Unselected entries at -inf have ratio (φ*)'(-inf) = 0 and curvature 0 for every
        # generator, so plain sums / count are the masked means.
        work = work.masked_fill(~mask, -math.inf)
        top = work.amax(dim=dims)
        lo = top - div.f_prime_scalar(float(count))
        hi = top - div.f_prime_scalar(1.0)
        # h is concave when (φ*)' is convex: Newton from the left end then never overshoots
        # (and from the right end when (φ*)' is concave); each step shrinks the bracket.
        beta = lo if div.conj_grad_convex else hi
        expand = (...,) + (None,) * len(dims)
        for step in range(_NEWTON_STEPS):
            t = work - beta[expand]
            grad, hess = div.conj_grad_hess(t)
            h = 1.0 - grad.sum(dim=dims) / count
            dh = hess.sum(dim=dims) / count
            up = h > 0
            hi = torch.where(up, beta, hi)
            lo = torch.where(up, lo, beta)
            newton = beta - h / dh
            ok = torch.isfinite(newton) & (newton >= lo) & (newton <= hi)
            new_beta = torch.where(ok, newton, 0.5 * (lo + hi))
            done = may_sync and step % 3 == 2 and bool(
                ((new_beta - beta).abs() <= 1e-13 * (1.0 + beta.abs())).all()
            )
            beta = new_beta
            if done:
                break
        return beta


def dro_dual(scores: Tensor, divergence="kl", *, alpha: float | None = None, per_anchor: bool = False,
             may_sync: bool = True, negatives: str = "all") -> Tensor:
    r"""DRO-dual φ-MI lower bound (α = 1, η = 0 reading of Wu et al., 2023; math_spec §4d).

    .. math:: \hat I_\phi = \mathrm{mean}_i S_{ii} - \min_\beta\big[\beta + \mathrm{mean}_{i\ne j}\phi^*(S_{ij}-\beta)\big]

    ``per_anchor=True``: one β_i per row, ``mean_i [S_ii − min_{β_i}(β_i + mean_{j≠i} φ*(S_ij − β_i))]``.
    Lower bound for any S, tight iff ``S = φ'(r) + c``, shift-invariant, ≥ f-GAN at the
    same S. KL: closed form (= DV, or per-anchor DV). TV: closed form (β* = max S − ½).
    Others: the 1-D convex inner problem is solved by safeguarded Newton (float64, under
    no_grad, see :func:`_solve_beta`) and the objective evaluated at the detached β*
    (envelope theorem: the gradient is exact; checked by gradcheck).
    ``may_sync=False`` (used by ``loss`` on accelerators) runs a fixed number of Newton steps
    instead of stopping at convergence, so no host synchronisation happens. ``negatives="derangement"``
    (global β only): the inner mean runs over the B pairs of one derangement (:func:`negatives_mask`).
    """
    scores = _shape_checked(scores)
    div = _divergence(divergence, alpha)
    negatives = check_choice("negatives", negatives, NEGATIVES)
    if per_anchor and negatives != "all":
        raise ValueError("dro_dual with per_anchor=True solves one β per row over all of that row's negatives; "
                         "negatives='derangement' applies to the global form (per_anchor=False) only")
    n = scores.shape[-1]
    if per_anchor:
        mask, dims = ~_eye(scores), (-1,)
        pos = scores.diagonal(dim1=-2, dim2=-1)
        count = n - 1
    else:
        mask, dims = negatives_mask(scores, negatives), (-2, -1)
        pos = _diag_mean(scores)
        count = _negatives_count(n, negatives)
    expand = (...,) + (None,) * len(dims)
    if div.name == "kl":
        inner = log_mean_exp_rows_off_diagonal(scores) if per_anchor else log_mean_exp_negatives(scores, negatives)
    elif div.name == "tv":
        top = scores.masked_fill(~mask, -math.inf).amax(dim=dims)
        beta = top - 0.5
        inner = beta + masked_mean((scores - beta[expand]).clamp(min=-0.5), mask, dims)
    else:
        # Centre each problem on its largest entry (a constant: β absorbs it exactly), and
        # work in float64: otherwise at large |S| the bracket [max S − φ'(N), max S − φ'(1)]
        # is below the float resolution and S − β* can round onto the edge of dom φ*,
        # where (φ*)' is infinite.
        wide = scores if scores.device.type == "mps" else scores.to(torch.float64)
        top = wide.detach().masked_fill(~mask, -math.inf).amax(dim=dims)
        centred = wide - top[expand]
        beta = _solve_beta(centred, div, mask, dims, may_sync=may_sync, count=count).to(wide.dtype)
        inner = (top + beta + div.mean_conj(centred - beta[expand], mask, dims)).to(scores.dtype)
    value = pos - inner
    return value.mean(dim=-1) if per_anchor else value


# ---------------------------------------------------------------------------
# generative bounds: S[i, j] = log q(y_j | x_i) − log m(y_j), a conditional density model
# (critics.ConditionalGaussianCritic) with a reference density m of y (a column shift)
# ---------------------------------------------------------------------------
def club(scores: Tensor, *, negatives: str = "all") -> Tensor:
    r"""CLUB, the contrastive log-ratio upper bound on KL-MI, from ``S[i, j] = log q(y_j | x_i) (+ c_j)``.

    .. math:: I_{CLUB} = \mathbb{E}_{p(x,y)}[\log q(y|x)] - \mathbb{E}_{p(x)p(y)}[\log q(y|x)]
              \approx \mathrm{mean}_i S_{ii} - \mathrm{mean}_{i\ne j} S_{ij}

    Invariant to column shifts c_j (so to the reference density m). With q = p(y|x) it is
    I + KL(p(x)p(y) ‖ p(x,y)) ≥ I (for the correlated Gaussian d ρ²/(1 − ρ²)); with a learned q it is an upper bound when
    KL(p(x,y) ‖ q(y|x)p(x)) ≤ KL(p(x)p(y) ‖ q(y|x)p(x)) (Cheng et al., Theorem 3.2), not otherwise.
    Unbiased on a batch. The reference code averages over all B² pairs (diagonal included);
    this uses the B(B − 1) product pairs, or one derangement (``negatives``, as CLUBSample
    uses a permutation). Cheng et al., ICML 2020.
    """
    scores = _shape_checked(scores)
    return _diag_mean(scores) - mean_negatives(scores, negatives)


def l1out(scores: Tensor) -> Tensor:
    r"""Leave-one-out upper bound on KL-MI from ``S[i, j] = log q(y_j | x_i) (+ c_j)``.

    .. math:: I_{L1Out} = \mathrm{mean}_j \Big[S_{jj} - \log \tfrac{1}{B-1}\sum_{i \ne j} e^{S_{ij}}\Big]

    p(y_j) is estimated by the mixture of the other anchors' conditionals, q(y_j | x_i), i ≠ j
    (column j, as CLUB's L1OutUB, in our orientation: rows = x). Invariant to
    column shifts. With q = p(y|x) its expectation is ≥ I for every B and decreases to I as B → ∞
    (the log of a (B − 1)-sample mean is biased low by Jensen: about +Var/(2(B − 1)) above I); with
    a learned q it is not guaranteed. Equals :func:`dv_per_anchor` of Sᵀ. Poole et al., ICML 2019.
    """
    scores = _shape_checked(scores)
    return dv_per_anchor(scores.transpose(-1, -2))


def entropy_difference(scores: Tensor) -> Tensor:
    r"""``mean_i S_ii`` = H_m(Y) − H_q(Y|X) for ``S[i, j] = log q(y_j | x_i) − log m(y_j)``.

    .. math:: \hat I = \mathrm{mean}_i [\log q(y_i|x_i) - \log m(y_i)]

    The difference of two cross-entropy estimates: −mean log q(y|x) ≥ H(Y|X) and −mean log m(y)
    ≥ H(Y) in expectation, so the value is a lower bound on I (Barber–Agakov) when m = p(y)
    exactly, and neither bound in general (DoE). BA: Barber & Agakov, NeurIPS 2003; DoE:
    McAllester & Stratos, AISTATS 2020. Unbiased on a batch given q and m.
    """
    scores = _shape_checked(scores)
    return _diag_mean(scores)


def density_nll(scores: Tensor) -> Tensor:
    """``−mean_i S_ii``: the negative log-likelihood of q(y|x) on the joint pairs, up to the reference
    m (which gets no gradient): the training loss of every generative bound."""
    scores = _shape_checked(scores)
    return -_diag_mean(scores)


# ---------------------------------------------------------------------------
# Bound objects and the registry
# ---------------------------------------------------------------------------
#: What a bound's value is to its target (``BoundInfo.kind``).
KINDS = ("lower", "upper", "neither")


@dataclasses.dataclass(frozen=True)
class BoundInfo:
    """What a bound estimates. ``target``: "kl" or the φ name; ``target_params``: e.g.
    ``{"alpha": 1.5}`` for Tsallis; ``kind``: ``"lower"`` (a population lower bound on the
    target for any critic), ``"upper"`` (a population upper bound under the condition its
    description states, e.g. CLUB's q close enough to p(y|x)) or ``"neither"``;
    ``lower_bound``: ``kind == "lower"``; ``hyper``: hyper-parameters (defaults in the
    registry, actual values on an instance); ``negatives``: the product pairs of the marginal
    term (``"all"`` or ``"derangement"``); ``derangement``: whether the bound accepts
    ``negatives="derangement"``; ``critic``: the critic kind the bound needs (None: any);
    ``ceiling(batch_size)``: the most the batch value can be, or None."""

    name: str
    target: str
    lower_bound: bool
    hyper: dict
    paper: str
    description: str
    target_params: dict = dataclasses.field(default_factory=dict)
    _ceiling: Callable[[int], float | None] | None = dataclasses.field(default=None, repr=False, compare=False)
    kind: str = "lower"
    negatives: str = "all"
    derangement: bool = False
    critic: str | None = None

    def ceiling(self, batch_size: int) -> float | None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
            raise ValueError(f"batch_size must be an integer >= 2, got {batch_size!r}")
        return None if self._ceiling is None else self._ceiling(batch_size)


class Bound:
    """A named bound with its hyper-parameters (and state): ``estimate(S)``, ``loss(S)``.

    ``negatives`` (``"all"`` or ``"derangement"``, see :func:`negatives_mask`) picks the product
    pairs of the marginal term, for bounds with ``derangement = True``; the others raise a
    ``ValueError`` naming those that take it. ``kind`` says what the value is to the target
    (``"lower"``, ``"upper"`` or ``"neither"``). ``estimate`` validates S (shape, dtype, finiteness unless ``check_finite=False``) and
    returns the value to report, shape ``(...)``; ``loss`` checks shapes only (no host sync)
    and returns the quantity to minimise, shape ``(...)`` (sum it over an ensemble). Build
    with :func:`get_bound`.
    """

    name: str = ""
    paper: str = ""
    description: str = ""
    #: "lower", "upper" or "neither" (see :class:`BoundInfo`); ``lower_bound`` follows it.
    kind: str = "lower"
    #: Whether the marginal term is a plain mean over product pairs, so that
    #: ``negatives="derangement"`` applies (row-wise and generative terms refuse it).
    derangement: bool = False
    #: The critic kind this bound needs (its score matrix must be a conditional log-density), or None.
    critic: str | None = None
    hyper_defaults: dict = {}
    extra_inputs: tuple[str, ...] = ()
    #: ``loss`` and ``estimate(S, check_finite=False)`` are pure tensor functions of the scores
    #: (no Python-side state, no host reads on an accelerator), so the trainer may capture them
    #: in a CUDA graph and replay them. False unless a class opts in: the registry's bounds do,
    #: all but MINE (its moving average is Python state), checked by tests/test_cuda.py; a
    #: user's subclass stays eager until it sets this.
    graph_safe: bool = False

    def __init__(self, *, negatives: str = "all", **hyper):
        unknown = sorted(set(hyper) - set(self.hyper_defaults))
        if unknown:
            valid = ", ".join(sorted(self.hyper_defaults)) or "none"
            raise ValueError(f"unknown hyper-parameter(s) {', '.join(map(repr, unknown))} for bound "
                             f"{self.name!r}; valid: {valid}")
        self.hyper = {**self.hyper_defaults, **hyper}
        self._validate()
        self.negatives = check_choice("negatives", negatives, NEGATIVES)
        if self.negatives != "all" and not self._accepts_derangement():
            takers = ", ".join(n for n, c in BOUNDS.items() if c.derangement)
            raise ValueError(
                f"bound {self.name!r} cannot use negatives={self.negatives!r}: its marginal term is "
                f"{self._why_no_derangement()}, not a plain mean over product pairs. Derangement negatives "
                f"apply to {takers} (dro-dual with per_anchor=False); use negatives='all' here")

    def _validate(self) -> None:
        pass

    def _accepts_derangement(self) -> bool:
        return self.derangement

    def _why_no_derangement(self) -> str:
        return "row-wise (each anchor x_i against every other y of its row)"

    @property
    def lower_bound(self) -> bool:
        return self.kind == "lower"

    # --- description ----------------------------------------------------------
    def _target(self) -> tuple[str, dict]:
        return "kl", {}

    def _ceiling(self, batch_size: int) -> float | None:
        return None

    @property
    def info(self) -> BoundInfo:
        target, params = self._target()
        # a subclass written before ``kind`` existed may still set ``lower_bound = False``
        kind = "neither" if self.kind == "lower" and self.lower_bound is False else self.kind
        return BoundInfo(self.name, target, kind == "lower", dict(self.hyper), self.paper,
                         self.description, params, self._ceiling, kind=kind, negatives=self.negatives,
                         derangement=self._accepts_derangement(), critic=self.critic)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        if self.negatives != "all":
            args += f"{', ' if args else ''}negatives={self.negatives!r}"
        return f"get_bound({self.name!r}{', ' if args else ''}{args})"

    # --- evaluation -----------------------------------------------------------
    def _inputs(self, kwargs) -> dict:
        unknown = sorted(set(kwargs) - set(self.extra_inputs))
        if unknown:
            valid = ", ".join(self.extra_inputs) or "none"
            raise ValueError(f"bound {self.name!r} got unexpected input(s) {', '.join(map(repr, unknown))}; "
                             f"valid: {valid}")
        return kwargs

    def estimate(self, scores: Tensor, *, check_finite: bool = True, **inputs) -> Tensor:
        """The value to report, shape ``(...)``. ``check_finite=False`` skips the NaN/inf check
        (a host sync on an accelerator; shapes are still checked): for a training step that
        checks finiteness itself, off the hot path, and may be replayed as a CUDA graph."""
        check_scores(scores, check_finite=check_finite)
        return self._estimate(scores, **self._inputs(inputs))

    def loss(self, scores: Tensor, **inputs) -> Tensor:
        check_scores(scores, check_finite=False)
        return self._loss(scores, **self._inputs(inputs))

    def _estimate(self, scores: Tensor, **inputs) -> Tensor:
        raise NotImplementedError

    def _loss(self, scores: Tensor, **inputs) -> Tensor:
        return -self._estimate(scores, **inputs)


class _DV(Bound):
    name = "dv"
    paper = "Donsker & Varadhan (1983); Belghazi et al., ICML 2018 (MINE)"
    description = ("Donsker–Varadhan: mean S_ii − log mean_{i≠j} e^{S_ij}. Optimum log r + c (shift-invariant); "
                   "batch value biased upward, variance grows with I.")
    derangement = True

    def _estimate(self, scores):
        return dv(scores, negatives=self.negatives)


class _MINE(Bound):
    """DV value; gradient with an exponential moving average of E_Q e^T in the denominator.

    State: ``state`` is the log-EMA, shape ``(...)`` (one per leading index, e.g. per
    ensemble member), updated only by ``loss``; ``reset()`` forgets it.
    """

    name = "mine"
    paper = "Belghazi et al., ICML 2018 (MINE)"
    description = ("MINE: the DV value; loss gradient divides ∇E_Q e^T by a moving average of E_Q e^T "
                   "(state per leading index, updated by loss(), reset()).")
    hyper_defaults = {"momentum": 0.9}
    derangement = True
    # not graph_safe: the EMA lives in a Python attribute that every loss() call replaces

    def _validate(self):
        m = self.hyper["momentum"]
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0.0 <= m < 1.0:
            raise ValueError(f"momentum must be a number in [0, 1), got {m!r}")
        self.state: Tensor | None = None

    def reset(self) -> None:
        self.state = None

    def _estimate(self, scores):
        return dv(scores, negatives=self.negatives)

    def _loss(self, scores):
        loss, self.state = mine_loss(scores, self.state, self.hyper["momentum"], negatives=self.negatives)
        return loss


class _NWJ(Bound):
    name = "nwj"
    paper = "Nguyen, Wainwright & Jordan, IEEE Trans. Inf. Theory 2010"
    description = ("NWJ (f-GAN-KL): mean S_ii − e^{-1} mean_{i≠j} e^{S_ij}. Optimum 1 + log r (not shift-invariant); "
                   "unbiased, variance ~ e^{2I}.")
    derangement = True

    def _estimate(self, scores):
        return nwj(scores, negatives=self.negatives)


class _TUBA(Bound):
    name = "tuba"
    paper = "Poole et al., ICML 2019"
    description = ("TUBA: 1 + mean(S_ii − b_i) − mean_{i≠j} e^{S_ij − b_i} with log baseline b (input "
                   "log_baseline, shape (..., B); default 0). Optimum log r + b(x).")
    extra_inputs = ("log_baseline",)
    derangement = True

    def _estimate(self, scores, log_baseline=None):
        return tuba(scores, log_baseline, negatives=self.negatives)


class _InfoNCE(Bound):
    name = "infonce"
    paper = "van den Oord et al., 2018 (CPC); Poole et al., ICML 2019"
    description = "InfoNCE: log B + mean_i [S_ii − logsumexp_j S_ij]. Never above log B; optimum log r + c(x)."

    def _estimate(self, scores):
        return infonce(scores)

    def _ceiling(self, batch_size):
        return math.log(batch_size)


class _DVPerAnchor(Bound):
    name = "dv-per-anchor"
    paper = "Wu et al., NeurIPS 2023 (CL-DRO); Poole et al., ICML 2019"
    description = ("Per-anchor DV: mean_i [S_ii − log mean_{j≠i} e^{S_ij}]. Population bound ≥ DV; "
                   "optimum log r + c(x); strongly biased upward at high I.")

    def _estimate(self, scores):
        return dv_per_anchor(scores)


class _JS(Bound):
    name = "js"
    paper = "Nowozin et al., NeurIPS 2016 (f-GAN); Poole et al., ICML 2019; Hjelm et al., ICLR 2019"
    description = ("Train with the f-GAN Jensen–Shannon objective (optimum S = log r); report "
                   "NWJ(S + 1) = 1 + mean S_ii − mean_{i≠j} e^{S_ij}, a KL lower bound (the reference "
                   "code's NWJ(S) is 1/e low).")
    derangement = True

    def _estimate(self, scores):
        return js_estimate(scores, negatives=self.negatives)

    def _loss(self, scores):
        return -js_fgan_objective(scores, negatives=self.negatives)


class _SMILE(Bound):
    name = "smile"
    paper = "Song & Ermon, ICLR 2020"
    description = ("SMILE(tau): mean S_ii − log mean_{i≠j} e^{clip(S_ij, −tau, tau)}; NOT a bound (biased for "
                   "finite tau). Loss: JS gradients, value −SMILE.")
    kind = "neither"
    derangement = True
    hyper_defaults = {"tau": 5.0}

    def _validate(self):
        check_positive("tau", self.hyper["tau"])

    def _estimate(self, scores):
        return smile(scores, self.hyper["tau"], negatives=self.negatives)

    def _loss(self, scores):
        value = smile(scores, self.hyper["tau"], negatives=self.negatives)
        js = js_fgan_objective(scores, negatives=self.negatives)
        return -(js + (value - js).detach())


class _Alpha(Bound):
    name = "alpha"
    paper = "Poole et al., ICML 2019 (interpolated bound)"
    description = ("Poole's α-interpolated bound (leave-one-out): baseline a_ij = α mean_{k≠j} e^{S_ik} + "
                   "(1−α) q(x_i); q from input log_baseline (default constant q = 1). α=0: TUBA, α=1: InfoNCE-like; "
                   "value ≤ 1 + log((B−1)/α).")
    hyper_defaults = {"alpha": 0.5}
    extra_inputs = ("log_baseline",)

    def _validate(self):
        check_real("alpha", self.hyper["alpha"], low=0.0, high=1.0, what="a number in [0, 1]")

    def _estimate(self, scores, log_baseline=None):
        return interpolated(scores, self.hyper["alpha"], log_baseline)

    def _ceiling(self, batch_size):
        return interpolated_ceiling(batch_size, self.hyper["alpha"])


class _PhiBound(Bound):
    hyper_defaults = {"divergence": "kl", "alpha": None}
    derangement = True

    def _validate(self):
        self.divergence = get_divergence(self.hyper["divergence"], self.hyper["alpha"])

    def _target(self):
        return self.divergence.name, dict(self.divergence.params)


class _FGAN(_PhiBound):
    name = "fgan"
    paper = "Nowozin, Cseke & Tomioka, NeurIPS 2016 (f-GAN)"
    description = ("f-GAN bound on φ-MI: mean T_ii − mean_{i≠j} φ*(T_ij); output='raw' (T = S): optimum "
                   "T = φ'(r), not shift-invariant, −inf when a score leaves dom φ* (loss uses a finite tangent "
                   "extension there); output='bounded' (T = t_max + log σ(S) when dom φ* is bounded above): "
                   "finite and trainable for every divergence, TV included.")
    hyper_defaults = {"divergence": "kl", "alpha": None, "output": "raw"}

    def _validate(self):
        super()._validate()
        self.hyper["output"] = check_choice("f-GAN output", self.hyper["output"], FGAN_OUTPUTS)

    @property
    def diverged_hint(self) -> str:
        if self.hyper["output"] == "raw" and not math.isinf(self.divergence.t_max):
            return (f" With divergence {self.divergence.name!r} a raw f-GAN critic is -inf as soon as one "
                    f"off-diagonal score reaches t_max = {self.divergence.t_max:.4g} (outside dom φ*): pass "
                    "output='bounded' (critic mapped into dom φ*), or use 'fmicl' / 'dro-dual'.")
        return ""

    def _estimate(self, scores):
        return fgan(scores, self.divergence, output=self.hyper["output"], negatives=self.negatives).to(scores.dtype)

    def _loss(self, scores):
        return -fgan(scores, self.divergence, extend=True, output=self.hyper["output"],
                     negatives=self.negatives).to(scores.dtype)


class _FMICL(_PhiBound):
    name = "fmicl"
    paper = "Lu et al., TMLR 2023 (f-MICL)"
    description = ("f-MICL bound on φ-MI, ratio r̂ = e^S: mean φ'(r̂_ii) − mean_{i≠j}[r̂φ'(r̂) − φ(r̂)]; "
                   "maximised iff S = log r. divergence='tv' has zero gradient: estimate only, loss() raises.")

    def _estimate(self, scores):
        return fmicl(scores, self.divergence, negatives=self.negatives)

    def _loss(self, scores):
        if not self.divergence.trainable:
            raise ValueError(
                f"fmicl with divergence {self.divergence.name!r} cannot be trained by gradient: φ' is "
                "piecewise constant, so every gradient is zero. Train with another divergence "
                f"(one of {', '.join(d for d in list_divergences() if d != 'tv')}) or with "
                "'fgan'/'dro-dual', and use estimate() for TV."
            )
        return -fmicl(scores, self.divergence, negatives=self.negatives)


class _DRODual(_PhiBound):
    name = "dro-dual"
    paper = "Wu et al., NeurIPS 2023 (ADNCE / CL-DRO); math_spec §4d"
    description = ("DRO-dual φ-MI bound: mean S_ii − min_β [β + mean_{i≠j} φ*(S_ij − β)] (per_anchor=True: "
                   "one β per row). Shift-invariant, tight iff S = φ'(r) + c; KL = DV.")
    hyper_defaults = {"divergence": "kl", "alpha": None, "per_anchor": False}

    def _validate(self):
        super()._validate()
        if not isinstance(self.hyper["per_anchor"], bool):
            raise ValueError(f"per_anchor must be True or False, got {self.hyper['per_anchor']!r}")

    def _accepts_derangement(self):
        return not self.hyper["per_anchor"]

    def _why_no_derangement(self):
        return "one β per row with per_anchor=True (row-wise)"

    def _estimate(self, scores):
        # early stopping of the Newton solve needs a host sync: only where that is free (CPU);
        # on accelerators the fixed 30 steps keep estimate() capturable in a CUDA graph
        return dro_dual(scores, self.divergence, per_anchor=self.hyper["per_anchor"],
                        may_sync=scores.device.type == "cpu", negatives=self.negatives)

    def _loss(self, scores):
        # On the CPU a convergence check costs nothing (no device to synchronise with), so the
        # inner Newton solve stops at convergence (typically 5-12 of its 30 steps: ~3x faster
        # training); on accelerators it runs all steps to keep the hot loop free of host syncs.
        return -dro_dual(scores, self.divergence, per_anchor=self.hyper["per_anchor"],
                         may_sync=scores.device.type == "cpu", negatives=self.negatives)


#: name -> Bound class. Order is the display order.
BOUNDS: dict[str, type[Bound]] = {
    cls.name: cls
    for cls in (_DV, _MINE, _NWJ, _TUBA, _InfoNCE, _DVPerAnchor, _JS, _SMILE, _Alpha, _FGAN, _FMICL, _DRODual)
}


class _Generative(Bound):
    """A bound on a conditional density critic (``critic = "conditional-gaussian"``); loss = NLL of q."""

    critic = "conditional-gaussian"
    #: critic options this bound trains with unless given (``CriticOptions`` fields)
    critic_defaults: dict = {}

    def _why_no_derangement(self):
        return "not a mean over product pairs (it has no negatives)"

    def _loss(self, scores):
        return density_nll(scores)

    def selection(self, scores: Tensor) -> Tensor:
        """What early stopping maximises on held-out data: ``mean_i S_ii``, the log-likelihood of q(y|x)
        relative to the reference m (for ``doe`` the learned m enters with a minus sign, so its own
        improvements are not rewarded). Not the estimate: a larger upper bound is not a better one."""
        return entropy_difference(scores)


class _CLUB(_Generative):
    name = "club"
    paper = "Cheng et al., ICML 2020 (CLUB)"
    kind = "upper"
    derangement = True
    critic_defaults = {"marginal": "none"}   # m cancels: no reference, no batch-size limit
    description = ("CLUB: mean S_ii − mean_{i≠j} S_ij with S = log q(y_j|x_i) − log m(y_j) (critic "
                   "conditional-gaussian, trained by maximum likelihood). An upper bound with the true "
                   "conditional (= I + KL(p(x)p(y) ‖ p(x,y))) and with a learned q when KL(p(x,y) ‖ q(y|x)p(x)) "
                   "≤ KL(p(x)p(y) ‖ q(y|x)p(x)); not otherwise.")

    def _estimate(self, scores):
        return club(scores, negatives=self.negatives)


class _L1Out(_Generative):
    name = "l1out"
    paper = "Poole et al., ICML 2019 (leave-one-out bound); Cheng et al., ICML 2020 (L1OutUB)"
    kind = "upper"
    critic_defaults = {"marginal": "none"}   # m cancels
    description = ("Leave-one-out: mean_j [S_jj − log mean_{i≠j} e^{S_ij}], p(y_j) estimated by the other "
                   "anchors' q(y_j|x_i). An upper bound for any B with the true conditional (→ I as B grows); "
                   "not guaranteed with a learned q.")

    def _why_no_derangement(self):
        return "column-wise (each y_j against every other anchor's q(y_j | x_i))"

    def _estimate(self, scores):
        return l1out(scores)


class _BA(_Generative):
    name = "ba"
    paper = "Barber & Agakov, NeurIPS 2003"
    kind = "neither"
    critic_defaults = {"marginal": "gaussian"}
    description = ("Barber–Agakov H(Y) + E log q(y|x) = mean S_ii with H(Y) the batch's Gaussian entropy "
                   "(bias-corrected; critic conditional-gaussian, marginal='gaussian'). A lower bound when Y "
                   "is Gaussian; otherwise the Gaussian entropy exceeds H(Y) by KL(p_Y ‖ N(μ_Y, Σ_Y)) and "
                   "the value is not a bound.")

    def _estimate(self, scores):
        return entropy_difference(scores)


class _DoE(_Generative):
    name = "doe"
    paper = "McAllester & Stratos, AISTATS 2020"
    kind = "neither"
    critic_defaults = {"marginal": "mixture"}
    description = ("Difference of entropies H_m(Y) − H_q(Y|X) = mean S_ii with two density models: "
                   "q(y|x) (Gaussian) and m(y) (a learned Gaussian mixture; critic conditional-gaussian, "
                   "marginal='mixture'), both fitted by maximum likelihood. Both are cross-entropy "
                   "(over-)estimates, so the difference is not a bound.")

    def _estimate(self, scores):
        return entropy_difference(scores)


BOUNDS.update({cls.name: cls for cls in (_CLUB, _L1Out, _BA, _DoE)})


# The registry's bounds are pure tensor functions of the scores, except MINE (see Bound.graph_safe).
for _cls in BOUNDS.values():
    _cls.graph_safe = _cls is not _MINE


def list_bounds() -> list[str]:
    """Registry names, in display order."""
    return list(BOUNDS)


def get_bound(name: str, **hyper) -> Bound:
    """A :class:`Bound` by registry name with validated hyper-parameters.

    >>> get_bound("smile", tau=1.0)
    get_bound('smile', tau=1.0)
    """
    check_choice("bound", name, BOUNDS)
    return BOUNDS[name](**hyper)


def describe_bounds() -> list[BoundInfo]:
    """One :class:`BoundInfo` per registry entry, with default hyper-parameters."""
    return [cls().info for cls in BOUNDS.values()]
