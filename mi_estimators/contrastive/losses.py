r"""Contrastive losses (InfoNCE/NT-Xent, DCL, HCL, ADNCE, f-MICL) as functions and Modules.

Every loss here is a pure function of one score matrix, like the bounds in
:mod:`mi_estimators.bounds`:

* ``scores[..., i, j]`` is the similarity of anchor ``i`` and candidate ``j`` **already
  divided by the temperature** (``S = cos / t`` for cosine models); leading dimensions are
  independent batches;
* the **diagonal holds the positive** of each anchor;
* a boolean ``neg_mask[i, j]`` says which candidates are negatives of anchor ``i``
  (default: every off-diagonal entry). ``labels`` removes same-label candidates from the
  negatives — the "unbiased" oracle of Chuang et al. (2020).

The ``torch.nn.Module`` wrappers (:class:`InfoNCELoss`, :class:`DCLLoss`,
:class:`HCLLoss`, :class:`ADNCELoss`, :class:`FMICLLoss`) are called as ``loss(z1, z2)``
on two embedding batches whose row ``i`` forms a positive pair; they normalise
(cosine) by default, build the score matrix with :func:`pair_scores` and call the
functional form — never a second copy of the math.

Two layouts of negatives (``views=``):

``"pairs"``
    ``S = z1 z2ᵀ / t`` (B×B); anchor ``z1[i]``, positive ``z2[i]``, negatives ``z2[j≠i]``:
    N = B−1. This is CPC's InfoNCE and the layout in which InfoNCE is a bound on MI.
``"simclr"``
    NT-Xent's 2B-view layout (SimCLR; the official DCL, HCL and ADNCE code): all 2B
    embeddings are anchors, each with the other view as positive and the remaining
    N = 2B−2 embeddings of **both** views as negatives. :func:`pair_scores` orders the
    columns as ``cat(z2, z1)`` against rows ``cat(z1, z2)`` so the positives stay on the
    diagonal; :func:`negative_mask` then also removes each anchor's self-similarity.

Everything is computed in log space (``logsumexp``, ``softplus``, ``log1p(-exp)``); no
score is exponentiated on its own, so ``t = 0.05`` with ``|cos| = 1`` gives finite losses
and gradients in float32.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mi_estimators._checks import check_choice, check_real, check_scores

__all__ = [
    "VIEWS",
    "REDUCTIONS",
    "negative_mask",
    "pair_scores",
    "infonce_loss",
    "dcl_loss",
    "hcl_loss",
    "adnce_loss",
    "fmicl_loss",
    "InfoNCELoss",
    "DCLLoss",
    "HCLLoss",
    "ADNCELoss",
    "FMICLLoss",
]

VIEWS = ("pairs", "simclr")
REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- validation
def _check_reduction(reduction: str) -> str:
    return check_choice("reduction", reduction, REDUCTIONS)


def _reduce(per_anchor: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return per_anchor.mean()
    if reduction == "sum":
        return per_anchor.sum()
    return per_anchor


def _resolve_mask(scores: Tensor, neg_mask, labels) -> Tensor:
    """Boolean (B, B) negatives mask from ``neg_mask`` and/or ``labels``; validated."""
    B = scores.shape[-1]
    if neg_mask is None:
        mask = ~torch.eye(B, dtype=torch.bool, device=scores.device)
    else:
        if not isinstance(neg_mask, Tensor) or neg_mask.dtype != torch.bool:
            raise ValueError("neg_mask must be a boolean torch.Tensor of shape (B, B)")
        if tuple(neg_mask.shape) != (B, B):
            raise ValueError(
                f"neg_mask must have shape (B, B) = {(B, B)} to match scores, got {tuple(neg_mask.shape)}"
            )
        if bool(neg_mask.diagonal().any()):
            raise ValueError("neg_mask must be False on the diagonal: the diagonal holds the positives")
        mask = neg_mask.to(scores.device)
    if labels is not None:
        labels = torch.as_tensor(labels, device=scores.device)
        if labels.ndim != 1 or labels.shape[0] != B:
            raise ValueError(
                f"labels must have shape (B,) = ({B},) (one class label per row of scores), "
                f"got {tuple(labels.shape)}"
            )
        mask = mask & (labels[:, None] != labels[None, :])
    empty = ~mask.any(dim=-1)
    if bool(empty.any()):
        raise ValueError(
            f"anchor {int(empty.nonzero()[0])} has no negatives left after masking "
            "(all other candidates share its label?); each row needs at least one negative"
        )
    return mask


def _masked_logsumexp(x: Tensor, mask: Tensor) -> Tensor:
    return torch.logsumexp(x.masked_fill(~mask, -math.inf), dim=-1)


def _log_num_negatives(mask: Tensor, like: Tensor) -> Tensor:
    return torch.log(mask.sum(dim=-1).to(like.dtype))


def _nce_from_log_ng(pos: Tensor, log_ng: Tensor) -> Tensor:
    """``-log(e^{pos} / (e^{pos} + Ng))`` = ``softplus(log Ng − pos)`` per anchor.

    ``threshold=40``: torch's default (20) returns x itself above 20, an error of
    e^{-20} ≈ 2e-9 nats per anchor; at 40 the dropped log1p(e^{-x}) is below float64 eps.
    """
    return F.softplus(log_ng - pos, threshold=40.0)


def _debias(log_neg: Tensor, log_pos_term: Tensor, tau_plus: float, log_floor: Tensor) -> Tensor:
    r"""``log max{(e^{log_neg} − τ⁺ e^{log_pos_term}) / (1−τ⁺), e^{log_floor}}`` in log space.

    The raw branch is used only where it exceeds the floor, i.e. where
    ``log_neg > logaddexp(log_pos_term, log(1−τ⁺) + log_floor)``; there ``log_pos_term <
    log_neg`` strictly, so ``log1p(−exp(·))`` is finite and so is its gradient. Elsewhere a
    harmless placeholder is fed to the raw branch (the double-where trick) so that no NaN
    gradient leaks out of the unused branch.
    """
    if tau_plus == 0.0:
        return torch.maximum(log_neg, log_floor)
    log_one_minus = math.log1p(-tau_plus)
    use_raw = log_neg > torch.logaddexp(log_pos_term, log_floor + log_one_minus)
    diff = torch.where(use_raw, log_pos_term - log_neg, torch.full_like(log_neg, -1.0))
    raw = log_neg + torch.log(-torch.expm1(diff)) - log_one_minus
    return torch.where(use_raw, raw, log_floor.expand_as(raw))


# --------------------------------------------------------------------------- layout helpers
def negative_mask(batch_size: int, *, views: str = "pairs", labels=None, device=None) -> Tensor:
    """Boolean negatives mask matching :func:`pair_scores` for ``views``.

    ``"pairs"``: (B, B), True off the diagonal. ``"simclr"``: (2B, 2B) for rows
    ``cat(z1, z2)`` and columns ``cat(z2, z1)``: the diagonal is the positive and column
    ``(a + B) mod 2B`` is anchor ``a`` itself; both are excluded, leaving N = 2B−2.
    ``labels`` (B,) additionally excludes same-label candidates.
    """
    check_choice("views", views, VIEWS)
    if int(batch_size) != batch_size or batch_size < 2:
        raise ValueError(f"batch_size must be an integer >= 2, got {batch_size!r}")
    B = int(batch_size)
    if views == "pairs":
        mask = ~torch.eye(B, dtype=torch.bool, device=device)
        lab = None if labels is None else torch.as_tensor(labels, device=device)
    else:
        R = 2 * B
        idx = torch.arange(R, device=device)
        mask = torch.ones(R, R, dtype=torch.bool, device=device)
        mask[idx, idx] = False
        mask[idx, (idx + B) % R] = False
        lab = None if labels is None else torch.as_tensor(labels, device=device).repeat(2)
    if labels is not None:
        if lab.ndim != 1 or lab.shape[0] != mask.shape[0]:
            raise ValueError(f"labels must have shape (B,) = ({B},), got {tuple(torch.as_tensor(labels).shape)}")
        mask = mask & (lab[:, None] != lab[None, :])
    return mask


def pair_scores(z1: Tensor, z2: Tensor, *, temperature: float, views: str = "pairs",
                normalize: bool = True) -> Tensor:
    r"""Score matrix ``S`` with the positives on its diagonal, already divided by ``temperature``.

    ``"pairs"``: ``S = ẑ1 ẑ2ᵀ / t`` (B×B). ``"simclr"``: ``S = cat(ẑ1, ẑ2) cat(ẑ2, ẑ1)ᵀ / t``
    (2B×2B), so that ``S[a, a]`` is anchor ``a`` against its other view. ``ẑ`` is the
    L2-normalised embedding when ``normalize`` (then ``S`` = cosine / t ∈ [−1/t, 1/t]).
    """
    check_choice("views", views, VIEWS)
    check_real("temperature", temperature, low=0.0, low_open=True)
    for name, z in (("z1", z1), ("z2", z2)):
        if not isinstance(z, Tensor) or z.ndim != 2 or not z.is_floating_point():
            raise ValueError(
                f"{name} must be a floating-point torch.Tensor of shape (B, d), got "
                f"{type(z).__name__}{'' if not isinstance(z, Tensor) else ' of shape ' + str(tuple(z.shape))}"
            )
    if z1.shape != z2.shape:
        raise ValueError(
            f"z1 and z2 must have the same shape (row i of each forms a positive pair), "
            f"got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    if z1.shape[0] < 2:
        raise ValueError(f"need a batch of at least B = 2 pairs, got B = {z1.shape[0]}")
    if normalize:
        z1 = F.normalize(z1, dim=-1)
        z2 = F.normalize(z2, dim=-1)
    if views == "pairs":
        return z1 @ z2.T / temperature
    rows = torch.cat([z1, z2], dim=0)
    cols = torch.cat([z2, z1], dim=0)
    return rows @ cols.T / temperature


# --------------------------------------------------------------------------- functional forms
def infonce_loss(scores: Tensor, *, neg_mask: Tensor | None = None, labels=None,
                 reduction: str = "mean") -> Tensor:
    r"""InfoNCE / NT-Xent loss: cross-entropy of each positive against its negatives.

    .. math:: \ell_i = -\log \frac{e^{S_{ii}}}{e^{S_{ii}} + \sum_{j \in \mathcal N_i} e^{S_{ij}}}

    With every off-diagonal entry a negative this is ``log B − I_NCE(S)``, the InfoNCE
    lower bound on KL mutual information (so ``log B − loss ≤ log B``); optimal critic
    ``S = log r + c(x)``. The estimate saturates at ``log B`` when I ≫ log B.

    van den Oord, Li & Vinyals (2018), arXiv:1807.03748 (CPC); Chen et al. (2020), ICML
    (SimCLR, NT-Xent).
    """
    _check_reduction(reduction)
    check_scores(scores)
    mask = _resolve_mask(scores, neg_mask, labels)
    pos = scores.diagonal(dim1=-2, dim2=-1)
    log_ng = _masked_logsumexp(scores, mask)
    return _reduce(_nce_from_log_ng(pos, log_ng), reduction)


def dcl_loss(scores: Tensor, *, tau_plus: float = 0.1, temperature: float = 0.5,
             positive_scores: Tensor | None = None, neg_mask: Tensor | None = None,
             labels=None, reduction: str = "mean") -> Tensor:
    r"""Debiased contrastive loss (DCL) of Chuang et al. (2020).

    Negatives are drawn from the data distribution ``p = τ⁺p⁺ + τ⁻p⁻``, so some are
    false negatives. DCL replaces ``Σ_neg e^{S}`` by ``N g`` with

    .. math:: N g = \max\Big\{\tfrac{1}{τ^-}\Big(\sum_{j\in\mathcal N_i} e^{S_{ij}}
              - τ^+ N \tfrac1M\sum_{m=1}^M e^{S^{+}_{im}}\Big),\; N e^{-1/t}\Big\},
              \qquad \ell_i = -\log\frac{e^{S_{ii}}}{e^{S_{ii}} + N g}

    the clamp ``e^{−1/t}`` being the smallest value of ``e^{S}`` when ``S = cos/t``. With
    ``positive_scores=None`` the M = 1 extra positive is the anchor's own positive
    ``S_ii`` (the official code); pass ``positive_scores`` (..., B, M) to use M other
    samples of the anchor's class. Everything is computed in log space; the clamp is
    applied in log space at ``log N − 1/t``.

    ``tau_plus = 0`` gives InfoNCE exactly (for cosine scores). For τ⁺ > 0 this is **not**
    an MI bound: it targets the divergence to p⁻, not to p(y). Gap to the infinite-sample
    loss: O(N^{-1/2} + M^{-1/2}) (their Theorem 3).

    Defaults are the official code's (``chingyaoc/DCL`` main.py: temperature 0.5, τ⁺ 0.1,
    SimCLR layout with N = 2B−2; README sweeps τ⁺ ∈ {0, 0.05, 0.1}).

    Chuang, Robinson, Lin, Torralba & Jegelka (2020), "Debiased Contrastive Learning", NeurIPS.
    """
    _check_reduction(reduction)
    tau_plus = check_real("tau_plus", tau_plus, low=0.0, high=1.0, high_open=True)
    temperature = check_real("temperature", temperature, low=0.0, low_open=True)
    check_scores(scores)
    mask = _resolve_mask(scores, neg_mask, labels)
    pos = scores.diagonal(dim1=-2, dim2=-1)
    log_n = _log_num_negatives(mask, scores)
    log_neg = _masked_logsumexp(scores, mask)
    log_pos_term = _positive_term(pos, positive_scores, tau_plus, log_n)
    log_floor = log_n - 1.0 / temperature
    log_ng = _debias(log_neg, log_pos_term, tau_plus, log_floor)
    return _reduce(_nce_from_log_ng(pos, log_ng), reduction)


def _positive_term(pos: Tensor, positive_scores, tau_plus: float, log_n: Tensor) -> Tensor:
    """``log(τ⁺ N · mean_m e^{S⁺_m})`` (M = 1 with the diagonal when positive_scores is None)."""
    if tau_plus == 0.0:
        return torch.full_like(pos, -math.inf)
    if positive_scores is None:
        log_mean_pos = pos
    else:
        if not isinstance(positive_scores, Tensor) or positive_scores.shape[:-1] != pos.shape:
            raise ValueError(
                f"positive_scores must be a torch.Tensor of shape (..., B, M) = "
                f"{tuple(pos.shape) + ('M',)}, got "
                f"{tuple(positive_scores.shape) if isinstance(positive_scores, Tensor) else type(positive_scores).__name__}"
            )
        if positive_scores.shape[-1] < 1:
            raise ValueError("positive_scores needs at least M = 1 positive sample per anchor")
        M = positive_scores.shape[-1]
        log_mean_pos = torch.logsumexp(positive_scores, dim=-1) - math.log(M)
    return math.log(tau_plus) + log_n + log_mean_pos


def hcl_loss(scores: Tensor, *, beta: float = 1.0, tau_plus: float = 0.1, temperature: float = 0.5,
             neg_mask: Tensor | None = None, labels=None, reduction: str = "mean") -> Tensor:
    r"""Hard-negative contrastive loss (HCL) of Robinson et al. (2021).

    Negatives are importance-weighted towards the hard ones, ``q_β ∝ e^{β S} p``:

    .. math:: \mathrm{reweight}_i = N \frac{\sum_j e^{βS_{ij}} e^{S_{ij}}}{\sum_j e^{βS_{ij}}},\qquad
              N g = \max\Big\{\frac{\mathrm{reweight}_i - τ^+ N e^{S_{ii}}}{1-τ^+},\; N e^{-1/t}\Big\}

    then ``ℓ_i = −log(e^{S_ii}/(e^{S_ii} + N g))``. In log space: ``log reweight = log N +
    LSE((1+β)S) − LSE(βS)`` over the negatives. ``β = 0`` is DCL; ``β = τ⁺ = 0`` is InfoNCE
    exactly. Not an MI estimator (the oracle critic gives a negative "MI").

    Defaults are the official code's (``joshr17/HCL`` image/main.py: temperature 0.5,
    τ⁺ 0.1, β 1.0, SimCLR layout; README sweeps β ∈ {0, 0.5, 1, 2, 6}).

    Robinson, Chuang, Sra & Jegelka (2021), "Contrastive Learning with Hard Negative
    Samples", ICLR.
    """
    _check_reduction(reduction)
    beta = check_real("beta", beta, low=0.0)
    tau_plus = check_real("tau_plus", tau_plus, low=0.0, high=1.0, high_open=True)
    temperature = check_real("temperature", temperature, low=0.0, low_open=True)
    check_scores(scores)
    mask = _resolve_mask(scores, neg_mask, labels)
    pos = scores.diagonal(dim1=-2, dim2=-1)
    log_n = _log_num_negatives(mask, scores)
    if beta == 0.0:
        log_reweight = _masked_logsumexp(scores, mask)
    else:
        log_reweight = (log_n + _masked_logsumexp((1.0 + beta) * scores, mask)
                        - _masked_logsumexp(beta * scores, mask))
    log_pos_term = _positive_term(pos, None, tau_plus, log_n)
    log_ng = _debias(log_reweight, log_pos_term, tau_plus, log_n - 1.0 / temperature)
    return _reduce(_nce_from_log_ng(pos, log_ng), reduction)


def adnce_loss(scores: Tensor, *, mu: float = 0.1, sigma: float = 1.0, temperature: float = 0.5,
               neg_mask: Tensor | None = None, labels=None, reduction: str = "mean") -> Tensor:
    r"""Adjusted InfoNCE (ADNCE) of Wu et al. (2023): Gaussian reweighting of negatives.

    With ``s_ij = t·S_ij`` the raw similarity (cosine),

    .. math:: w_{ij} = \exp\!\Big(-\frac{(s_{ij}-μ)^2}{2σ^2}\Big),\quad
              \tilde w_{ij} = \frac{w_{ij}}{\operatorname{mean}_{k\in\mathcal N_i} w_{ik}}
              \ (\text{stop-gradient}),\quad
              \ell_i = -\log\frac{e^{S_{ii}}}{e^{S_{ii}} + \sum_{j\in\mathcal N_i}\tilde w_{ij} e^{S_{ij}}}

    ``log w̃`` is normalised with a log-sum-exp (row-max subtraction), so unbounded
    critics cannot produce 0/0. ``σ = inf`` gives InfoNCE exactly (handled explicitly).
    It is an InfoNCE against the tilted reference ``Q_w ∝ w·p(y)``: **not a bound on I**
    for finite σ.

    Defaults are the official code's (``junkangwu/ADNCE`` image/main.py ``--estimator
    adnce``: temperature 0.5, μ (``--tau_plus``) 0.1, σ (``--beta``) 1.0, SimCLR layout).
    README settings (t, μ, σ): CIFAR10 (.4, .7, .5), CIFAR100 (.3, .5, 1), STL10 (.2, .8, 1).

    Wu, Chen, Wu, Zhang, Wang & He (2023), "Understanding Contrastive Learning via
    Distributionally Robust Optimization", NeurIPS.
    """
    _check_reduction(reduction)
    mu = check_real("mu", mu)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True, allow_inf=True)
    temperature = check_real("temperature", temperature, low=0.0, low_open=True)
    check_scores(scores)
    mask = _resolve_mask(scores, neg_mask, labels)
    pos = scores.diagonal(dim1=-2, dim2=-1)
    if math.isinf(sigma):
        log_ng = _masked_logsumexp(scores, mask)
    else:
        with torch.no_grad():
            log_w = -((temperature * scores - mu) ** 2) / (2.0 * sigma * sigma)
            log_w = log_w - (_masked_logsumexp(log_w, mask)
                             - _log_num_negatives(mask, scores)).unsqueeze(-1)
        log_ng = _masked_logsumexp(scores + log_w.detach(), mask)
    return _reduce(_nce_from_log_ng(pos, log_ng), reduction)


def fmicl_loss(scores: Tensor, *, divergence: str = "kl", alpha: float | None = None,
               neg_mask: Tensor | None = None, labels=None, reduction: str = "mean") -> Tensor:
    r"""f-MICL loss: minus the f-MICL lower bound on f-mutual information (Lu et al., 2023).

    ``scores`` is ``log r̂`` (for the f-Gaussian similarity, ``S_ij = −‖u_i − v_j‖²/(2σ²) + b``).
    Per anchor,

    .. math:: \ell_i = -f'(\hat r_{ii}) + \operatorname{mean}_{j\in\mathcal N_i}
              \big[\hat r_{ij} f'(\hat r_{ij}) - f(\hat r_{ij})\big]

    With the default mask, the mean over anchors is exactly ``−bounds.fmicl(scores)``:
    minus the f-GAN/Nowozin bound at ``T = f'(r̂)``, minimised iff ``r̂ = r`` (then
    ``−loss = I_f`` in expectation). ``alpha`` is the Tsallis order (``divergence="tsallis"``).
    The paper's weight on the negative term is fixed at 1: any other value breaks the bound.
    Both terms are the log-space means of :class:`mi_estimators.divergences.Divergence`
    (the code :func:`mi_estimators.bounds.fmicl` uses), restricted to each row's negatives.

    Lu, Zhang, Sun, Guo & Yu (2023), "f-MICL: Understanding and Generalizing InfoNCE-based
    Contrastive Learning", TMLR.
    """
    from mi_estimators.divergences import get_divergence

    _check_reduction(reduction)
    div = get_divergence(divergence, alpha)
    check_scores(scores)
    mask = _resolve_mask(scores, neg_mask, labels)
    pos = scores.diagonal(dim1=-2, dim2=-1)
    pos_term = div.mean_f_prime_exp(pos.unsqueeze(-1), None, -1)
    neg_term = div.mean_conj_f_prime_exp(scores, mask, -1)
    return _reduce(neg_term - pos_term, reduction)


# --------------------------------------------------------------------------- modules
class _PairLoss(nn.Module):
    """Shared plumbing: (z1, z2) -> score matrix -> functional form."""

    def __init__(self, temperature: float, views: str, normalize: bool, reduction: str):
        super().__init__()
        self.temperature = check_real("temperature", temperature, low=0.0, low_open=True)
        self.views = check_choice("views", views, VIEWS)
        self.normalize = bool(normalize)
        self.reduction = _check_reduction(reduction)

    def _scores_and_mask(self, z1: Tensor, z2: Tensor, labels):
        scores = pair_scores(z1, z2, temperature=self.temperature, views=self.views,
                             normalize=self.normalize)
        if labels is not None:
            labels = torch.as_tensor(labels, device=scores.device)
            if labels.ndim != 1 or labels.shape[0] != z1.shape[0]:
                raise ValueError(
                    f"labels must have shape (B,) = ({z1.shape[0]},), got {tuple(labels.shape)}"
                )
        mask = negative_mask(z1.shape[0], views=self.views, labels=labels, device=scores.device)
        return scores, mask

    def extra_repr(self) -> str:
        keys = [k for k in self.__dict__ if not k.startswith("_") and k != "training"]
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in keys)


class InfoNCELoss(_PairLoss):
    r"""InfoNCE / NT-Xent loss on two embedding batches (see :func:`infonce_loss`).

    ``views="pairs"`` (default, CPC's InfoNCE; B−1 negatives; ``log B − loss`` is the
    InfoNCE MI lower bound in nats) or ``views="simclr"`` (SimCLR's NT-Xent; 2B−2
    negatives from both views). ``temperature=0.1`` is SimCLR's ``--temperature`` flag
    default. ``labels`` (B,) in ``forward`` excludes same-label negatives.
    """

    def __init__(self, temperature: float = 0.1, *, views: str = "pairs", normalize: bool = True,
                 reduction: str = "mean"):
        super().__init__(temperature, views, normalize, reduction)

    def forward(self, z1: Tensor, z2: Tensor, labels=None) -> Tensor:
        scores, mask = self._scores_and_mask(z1, z2, labels)
        return infonce_loss(scores, neg_mask=mask, reduction=self.reduction)


class DCLLoss(_PairLoss):
    r"""Debiased contrastive loss on two embedding batches (see :func:`dcl_loss`).

    Defaults match the official code (``chingyaoc/DCL``): temperature 0.5, τ⁺ 0.1,
    ``views="simclr"`` (N = 2B−2 negatives, M = 1 positive = the other view). ``forward``
    accepts ``positives`` (B, M, d): M further samples of each anchor's class for the
    τ⁺ correction (embedded, normalised and divided by the temperature like the rest),
    and ``labels`` (B,) to exclude same-label negatives (the paper's "unbiased" oracle).
    """

    def __init__(self, temperature: float = 0.5, tau_plus: float = 0.1, *, views: str = "simclr",
                 normalize: bool = True, reduction: str = "mean"):
        super().__init__(temperature, views, normalize, reduction)
        self.tau_plus = check_real("tau_plus", tau_plus, low=0.0, high=1.0, high_open=True)

    def forward(self, z1: Tensor, z2: Tensor, labels=None, positives: Tensor | None = None) -> Tensor:
        scores, mask = self._scores_and_mask(z1, z2, labels)
        pos_scores = None
        if positives is not None:
            if not isinstance(positives, Tensor) or positives.ndim != 3 or positives.shape[0] != z1.shape[0] \
                    or positives.shape[2] != z1.shape[1]:
                raise ValueError(
                    f"positives must be a torch.Tensor of shape (B, M, d) = ({z1.shape[0]}, M, {z1.shape[1]}), "
                    f"got {tuple(positives.shape) if isinstance(positives, Tensor) else type(positives).__name__}"
                )
            anchors = z1 if self.views == "pairs" else torch.cat([z1, z2], dim=0)
            extra = positives if self.views == "pairs" else torch.cat([positives, positives], dim=0)
            if self.normalize:
                anchors = F.normalize(anchors, dim=-1)
                extra = F.normalize(extra, dim=-1)
            pos_scores = torch.einsum("bd,bmd->bm", anchors, extra) / self.temperature
        return dcl_loss(scores, tau_plus=self.tau_plus, temperature=self.temperature,
                        positive_scores=pos_scores, neg_mask=mask, reduction=self.reduction)


class HCLLoss(_PairLoss):
    r"""Hard-negative contrastive loss on two embedding batches (see :func:`hcl_loss`).

    Defaults match the official code (``joshr17/HCL``): temperature 0.5, τ⁺ 0.1, β 1.0,
    ``views="simclr"``.
    """

    def __init__(self, temperature: float = 0.5, tau_plus: float = 0.1, beta: float = 1.0, *,
                 views: str = "simclr", normalize: bool = True, reduction: str = "mean"):
        super().__init__(temperature, views, normalize, reduction)
        self.tau_plus = check_real("tau_plus", tau_plus, low=0.0, high=1.0, high_open=True)
        self.beta = check_real("beta", beta, low=0.0)

    def forward(self, z1: Tensor, z2: Tensor, labels=None) -> Tensor:
        scores, mask = self._scores_and_mask(z1, z2, labels)
        return hcl_loss(scores, beta=self.beta, tau_plus=self.tau_plus, temperature=self.temperature,
                        neg_mask=mask, reduction=self.reduction)


class ADNCELoss(_PairLoss):
    r"""ADNCE loss on two embedding batches (see :func:`adnce_loss`).

    Defaults match the official code (``junkangwu/ADNCE`` image/main.py with
    ``--estimator adnce``): temperature 0.5, μ 0.1, σ 1.0, ``views="simclr"``.
    ``sigma=float("inf")`` is InfoNCE.
    """

    def __init__(self, temperature: float = 0.5, mu: float = 0.1, sigma: float = 1.0, *,
                 views: str = "simclr", normalize: bool = True, reduction: str = "mean"):
        super().__init__(temperature, views, normalize, reduction)
        self.mu = check_real("mu", mu)
        self.sigma = check_real("sigma", sigma, low=0.0, low_open=True, allow_inf=True)

    def forward(self, z1: Tensor, z2: Tensor, labels=None) -> Tensor:
        scores, mask = self._scores_and_mask(z1, z2, labels)
        return adnce_loss(scores, mu=self.mu, sigma=self.sigma, temperature=self.temperature,
                          neg_mask=mask, reduction=self.reduction)


class FMICLLoss(nn.Module):
    r"""f-MICL loss with the f-Gaussian similarity on two embedding batches (see :func:`fmicl_loss`).

    ``S_ij = −‖u_i − v_j‖²/(2σ²) + b`` with ``u, v`` the (normalised, by default)
    embeddings, ``σ = kernel_width`` and ``b`` a log-normaliser (learned when
    ``learn_bias``); ``alpha`` is the Tsallis order for ``divergence="tsallis"``. On the unit sphere ``‖u−v‖² = 2 − 2cos``, so ``S = (cos − 1)/σ² + b``:
    InfoNCE's ``cos/τ`` with ``τ = σ²`` up to a constant that matters for every f except KL.

    The official f-MICL code was not found, so there are no official defaults; ours are
    ``divergence="kl"``, ``kernel_width=1.0``, ``views="pairs"``. With KL it is
    Wang–Isola alignment plus a Gaussian-potential uniformity term (without the log).

    Lu et al. (2023), "f-MICL", TMLR.
    """

    def __init__(self, divergence: str = "kl", kernel_width: float = 1.0, *, alpha: float | None = None,
                 views: str = "pairs", normalize: bool = True, bias: float = 0.0, learn_bias: bool = False,
                 reduction: str = "mean"):
        super().__init__()
        from mi_estimators.divergences import get_divergence

        get_divergence(divergence, alpha)  # validates the name and the Tsallis order
        self.divergence = divergence
        self.alpha = alpha
        self.kernel_width = check_real("kernel_width", kernel_width, low=0.0, low_open=True)
        self.views = check_choice("views", views, VIEWS)
        self.normalize = bool(normalize)
        self.reduction = _check_reduction(reduction)
        bias = check_real("bias", bias)
        # a fixed bias stays a python float (exact in any dtype); a learned one is a Parameter
        self.bias = nn.Parameter(torch.tensor(bias)) if learn_bias else bias

    def forward(self, z1: Tensor, z2: Tensor, labels=None) -> Tensor:
        # ‖u − v‖² through pair_scores' inner products keeps one layout code path.
        inner = pair_scores(z1, z2, temperature=1.0, views=self.views, normalize=self.normalize)
        if self.normalize:
            sq_dist = 2.0 - 2.0 * inner
        else:
            rows = z1 if self.views == "pairs" else torch.cat([z1, z2], dim=0)
            cols = z2 if self.views == "pairs" else torch.cat([z2, z1], dim=0)
            sq_dist = (rows * rows).sum(-1)[:, None] + (cols * cols).sum(-1)[None, :] - 2.0 * inner
        scores = -sq_dist.clamp_min(0.0) / (2.0 * self.kernel_width ** 2) + (self.bias.to(inner.dtype) if isinstance(self.bias, Tensor) else self.bias)
        if labels is not None:
            labels = torch.as_tensor(labels, device=scores.device)
            if labels.ndim != 1 or labels.shape[0] != z1.shape[0]:
                raise ValueError(f"labels must have shape (B,) = ({z1.shape[0]},), got {tuple(labels.shape)}")
        mask = negative_mask(z1.shape[0], views=self.views, labels=labels, device=scores.device)
        return fmicl_loss(scores, divergence=self.divergence, alpha=self.alpha, neg_mask=mask,
                          reduction=self.reduction)

    def extra_repr(self) -> str:
        return (f"divergence={self.divergence!r}, alpha={self.alpha!r}, kernel_width={self.kernel_width}, views={self.views!r}, "
                f"normalize={self.normalize}, reduction={self.reduction!r}")
