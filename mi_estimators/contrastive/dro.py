r"""The distributionally-robust (DRO) reading of contrastive learning, made checkable.

Wu et al. (2023) read InfoNCE as a DRO problem over the distribution of negatives. For
one anchor with negative scores ``f_1..f_N`` (the reference ``Q0`` is the empirical
distribution of the negatives, or any probability vector ``q0`` over them),

.. math::

    \sup_{Q:\ \mathrm{KL}(Q\|Q_0)\le η} \mathbb E_Q f
    \;=\; \min_{α \ge 0}\ αη + α \log \mathbb E_{Q_0} e^{f/α}

(the KL-ball DRO value and its dual, the minimum over the second multiplier β being in
closed form). The minimiser α* is the **temperature**: at ``α* = τ`` the radius is
``η(τ) = KL(Q*‖Q0)`` with the worst case ``Q* ∝ Q0 e^{f/τ}`` — the softmax over the
negatives — and the DRO objective is ``τ · (positive-free InfoNCE at temperature τ) + τη``.
The paper's mean–variance reading is ``τ ≈ √(Var_{Q0}(f) / (2η))`` (exact for Gaussian
scores).

Functions take scores as array-likes (numpy or torch), compute in float64 numpy, and treat
the last axis as the negatives; leading axes are independent anchors (a radius ``eta`` is
a scalar shared by all anchors or an array with one radius per anchor). ``q0`` (same shape,
nonnegative, summing to one along the last axis) replaces the uniform reference — e.g.
quadrature weights, which turns every function into its continuous-distribution version.

Wu, Chen, Wu, Zhang, Wang & He (2023), "Understanding Contrastive Learning via
Distributionally Robust Optimization", NeurIPS.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from mi_estimators._checks import check_real

__all__ = [
    "kl_dro_value",
    "kl_dro_dual",
    "optimal_multiplier",
    "implied_radius",
    "worst_case_weights",
    "variance_approximation",
    "cl_dro_loss",
    "phi_dro_dual",
    "phi_dro_value",
]

_XTOL = 1e-13  # tolerance on log(alpha) for the root solves (relative precision on alpha)


# --------------------------------------------------------------------------- input handling
def _as_scores(neg_scores, name: str = "neg_scores") -> np.ndarray:
    try:
        import torch

        if isinstance(neg_scores, torch.Tensor):
            neg_scores = neg_scores.detach().cpu().double().numpy()
    except ImportError:  # pragma: no cover
        pass
    f = np.asarray(neg_scores, dtype=np.float64)
    if f.ndim < 1 or f.shape[-1] < 1:
        raise ValueError(f"{name} must have at least one negative score along its last axis, got shape {f.shape}")
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{name} must be finite; got NaN/inf entries")
    return f


def _as_log_q0(q0, f: np.ndarray) -> np.ndarray:
    """log of the reference probabilities (uniform when q0 is None), shape of f."""
    if q0 is None:
        return np.full_like(f, -math.log(f.shape[-1]))
    q = np.asarray(q0, dtype=np.float64)
    try:
        q = np.broadcast_to(q, f.shape)
    except ValueError:
        raise ValueError(f"q0 must broadcast to neg_scores' shape {f.shape}, got {q.shape}") from None
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError("q0 must hold finite nonnegative probabilities")
    if not np.allclose(q.sum(axis=-1), 1.0, rtol=0, atol=1e-10):
        raise ValueError("q0 must sum to one along the last axis (it is a probability vector over the negatives)")
    with np.errstate(divide="ignore"):
        return np.log(q)


def _as_eta(eta, lead_shape: tuple) -> np.ndarray:
    """η as an array over the anchors (a scalar is shared by all), validated >= 0."""
    e = np.asarray(eta, dtype=np.float64)
    if not np.all(np.isfinite(e)) or np.any(e < 0):
        raise ValueError(f"eta (the KL radius) must be finite and >= 0, got {eta!r}")
    try:
        return np.broadcast_to(e, lead_shape)
    except ValueError:
        raise ValueError(f"eta must be a scalar or have the anchors' shape {lead_shape}, got {e.shape}") from None


def _centre(f: np.ndarray, log_q0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores minus their Q0-mean (every KL quantity is shift-invariant; centring avoids cancellation)."""
    mean = np.sum(np.exp(log_q0) * f, axis=-1, keepdims=True)
    return f - mean, mean[..., 0]


def _tilt(fc: np.ndarray, log_q0: np.ndarray, tau: float):
    """log Q_τ ∝ log Q0 + f/τ, normalised; and log E_{Q0} e^{f/τ}."""
    a = log_q0 + fc / tau
    log_z = special.logsumexp(a, axis=-1, keepdims=True)
    return a - log_z, log_z[..., 0]


def _radius_centred(fc: np.ndarray, log_q0: np.ndarray, tau: float) -> np.ndarray:
    if math.isinf(tau):
        return np.zeros(fc.shape[:-1])
    log_q, log_z = _tilt(fc, log_q0, tau)
    q = np.exp(log_q)
    return np.maximum(np.sum(q * fc, axis=-1) / tau - log_z, 0.0)


def _max_radius(fc: np.ndarray, log_q0: np.ndarray) -> np.ndarray:
    """KL of Q0 restricted to the argmax set: the largest radius a tilt can reach (α → 0)."""
    top = fc >= fc.max(axis=-1, keepdims=True)
    mass = np.sum(np.where(top, np.exp(log_q0), 0.0), axis=-1)
    return -np.log(mass)


# --------------------------------------------------------------------------- KL ball
def worst_case_weights(neg_scores, tau: float, q0=None) -> np.ndarray:
    r"""Worst-case reweighting ``Q*(j) ∝ Q0(j) e^{f_j/τ}``: the softmax over the negatives.

    This is the maximiser of ``E_Q f − τ KL(Q‖Q0)`` (Gibbs variational principle), hence of
    the KL-ball problem at radius ``η(τ)``; InfoNCE's gradient weighs negatives by it.
    """
    f = _as_scores(neg_scores)
    tau = check_real("tau", tau, low=0.0, low_open=True, allow_inf=True, what="> 0")
    log_q0 = _as_log_q0(q0, f)
    if math.isinf(tau):
        return np.exp(log_q0)
    log_q, _ = _tilt(f, log_q0, tau)
    return np.exp(log_q)


def implied_radius(neg_scores, tau: float, q0=None):
    r"""KL radius ``η(τ)`` at which temperature ``τ`` is the optimal DRO multiplier.

    .. math:: η(τ) = \mathrm{KL}(Q^*\|Q_0) = \mathbb E_{Q^*} f/τ - \log \mathbb E_{Q_0} e^{f/τ}

    Decreasing in τ, from ``−log Q0(argmax f)`` (τ → 0) to 0 (τ → ∞).
    Wu et al. (2023), Theorem 1.
    """
    f = _as_scores(neg_scores)
    tau = check_real("tau", tau, low=0.0, low_open=True, allow_inf=True, what="> 0")
    log_q0 = _as_log_q0(q0, f)
    fc, _ = _centre(f, log_q0)
    out = _radius_centred(fc, log_q0, tau)
    return float(out) if out.ndim == 0 else out


def kl_dro_dual(neg_scores, alpha: float, eta: float, q0=None):
    r"""Dual objective of the KL-ball DRO problem at multiplier ``α`` (β minimised in closed form).

    .. math:: D(α) = αη + α \log \mathbb E_{Q_0} e^{f/α}, \qquad D(0) = \max f

    Convex in α; its minimum over ``α ≥ 0`` is :func:`kl_dro_value` and its minimiser is
    :func:`optimal_multiplier` (the temperature). Wu et al. (2023), Eq. (5).
    """
    f = _as_scores(neg_scores)
    alpha = check_real("alpha", alpha, low=0.0, what=">= 0 and finite")
    eta = _as_eta(eta, f.shape[:-1])
    log_q0 = _as_log_q0(q0, f)
    fc, mean = _centre(f, log_q0)
    if alpha == 0.0:
        top = np.where(np.isfinite(log_q0), fc, -np.inf).max(axis=-1)
        out = mean + top
    else:
        out = mean + alpha * eta + alpha * special.logsumexp(log_q0 + fc / alpha, axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def _solve_multiplier_1d(fc: np.ndarray, log_q0: np.ndarray, eta: float) -> float:
    """Root of η(α) = η in log α (η(α) decreasing); 0 or inf at the ends."""
    if eta == 0.0 or np.ptp(fc[np.isfinite(log_q0)]) == 0.0:
        return math.inf
    if eta >= _max_radius(fc, log_q0):
        return 0.0
    spread = float(np.max(np.abs(fc)))

    def g(u):
        return _radius_centred(fc, log_q0, math.exp(u)) - eta

    lo, hi = math.log(spread) - 2.0, math.log(spread) + 2.0
    while g(lo) < 0:  # small alpha -> large radius
        lo -= 2.0
    while g(hi) > 0:
        hi += 2.0
    u = optimize.brentq(g, lo, hi, xtol=_XTOL, rtol=4 * np.finfo(float).eps, maxiter=500)
    return math.exp(u)


def optimal_multiplier(neg_scores, eta: float, q0=None):
    r"""Minimiser ``α*`` of :func:`kl_dro_dual` over ``α ≥ 0``: the temperature of radius η.

    Stationarity ``dD/dα = η − KL(Q_α‖Q0) = 0`` with ``Q_α ∝ Q0 e^{f/α}``, so ``α*`` solves
    ``η(α*) = η``; found by a bracketed root solve in ``log α`` to ~1e-13 relative.
    ``η = 0`` gives ``inf`` (the mean); ``η ≥ −log Q0(argmax f)`` gives 0 (the max).
    """
    f = _as_scores(neg_scores)
    eta = _as_eta(eta, f.shape[:-1])
    log_q0 = _as_log_q0(q0, f)
    fc, _ = _centre(f, log_q0)
    flat_f = fc.reshape(-1, fc.shape[-1])
    flat_q = log_q0.reshape(-1, fc.shape[-1])
    out = np.array([_solve_multiplier_1d(a, b, float(e))
                    for a, b, e in zip(flat_f, flat_q, eta.reshape(-1))])
    out = out.reshape(fc.shape[:-1])
    return float(out) if out.ndim == 0 else out


def kl_dro_value(neg_scores, eta: float, q0=None):
    r"""Worst-case mean score over the KL ball: ``sup_{KL(Q‖Q0) ≤ η} E_Q f``.

    Computed in the **primal**: the maximiser is the tilt ``Q* ∝ Q0 e^{f/α*}`` whose KL
    equals η (:func:`optimal_multiplier`), and the value is ``E_{Q*} f``. By strong
    duality it equals ``min_α`` :func:`kl_dro_dual`, and at ``η = η(τ)`` it equals the
    InfoNCE form ``τ log E_{Q0} e^{f/τ} + τ η``. ``η = 0`` gives the mean; a radius
    beyond ``−log Q0(argmax f)`` gives ``max f``. Wu et al. (2023), Theorem 1.
    """
    f = _as_scores(neg_scores)
    eta = _as_eta(eta, f.shape[:-1])
    log_q0 = _as_log_q0(q0, f)
    fc, mean = _centre(f, log_q0)
    alpha = np.asarray(optimal_multiplier(f, eta, q0=None if q0 is None else np.exp(log_q0)))
    flat_f = fc.reshape(-1, fc.shape[-1])
    flat_q = log_q0.reshape(-1, fc.shape[-1])
    vals = []
    for a, lq, fr in zip(alpha.reshape(-1), flat_q, flat_f):
        if math.isinf(a):
            vals.append(float(np.sum(np.exp(lq) * fr)))
        elif a == 0.0:
            vals.append(float(fr[np.isfinite(lq)].max()))
        else:
            log_q, _ = _tilt(fr, lq, a)
            vals.append(float(np.sum(np.exp(log_q) * fr)))
    out = np.asarray(vals).reshape(fc.shape[:-1]) + mean
    return float(out) if out.ndim == 0 else out


def cl_dro_loss(pos_scores, neg_scores, eta: float, q0=None) -> float:
    r"""CL-DRO objective ``−mean_i [ f⁺_i − sup_{KL(Q‖Q0)≤η} E_Q f_i ]`` over anchors.

    ``pos_scores`` (A,), ``neg_scores`` (A, N), ``eta`` scalar or (A,). At each anchor's
    ``η_i = η_i(τ)`` it equals ``τ · mean_i[log E_{Q0} e^{f_i/τ} − f⁺_i/τ] + τ mean_i η_i``:
    τ times the positive-free InfoNCE loss (log-mean, not log-sum, over negatives) plus τη.
    So ``−loss/τ + mean η`` is the per-anchor DV bound at critic ``S/τ`` (math_spec §4c,
    which prints the sign of η wrongly).
    Wu et al. (2023), Eq. (4).
    """
    f = _as_scores(neg_scores)
    pos = _as_scores(np.atleast_1d(np.asarray(pos_scores, dtype=np.float64)), "pos_scores")
    if f.ndim != 2 or pos.shape != f.shape[:1]:
        raise ValueError(
            f"pos_scores must have shape (A,) and neg_scores (A, N); got {pos.shape} and {f.shape}"
        )
    return float(-np.mean(pos - np.asarray(kl_dro_value(f, eta, q0=q0))))


def variance_approximation(neg_scores, eta: float, q0=None):
    r"""The paper's mean–variance approximation of the optimal temperature, ``√(Var_{Q0}(f)/(2η))``.

    From the second-order cumulant expansion ``τ log E e^{f/τ} ≈ E f + Var f/(2τ)``, the
    dual becomes ``E f + τη + Var f/(2τ)``, minimised at ``τ = √(Var f/(2η))``. Exact for
    Gaussian scores; for cosine scores of random unit vectors in R^8 it is within 1% only
    for τ ≳ 1 (e.g. 0.118 at τ = 0.05). Wu et al. (2023), Theorem 2 / Eq. (7).
    """
    f = _as_scores(neg_scores)
    eta = _as_eta(eta, f.shape[:-1])
    if np.any(eta == 0):
        raise ValueError("eta must be > 0 for the variance approximation (it is sqrt(Var/(2 eta)))")
    log_q0 = _as_log_q0(q0, f)
    fc, _ = _centre(f, log_q0)
    var = np.sum(np.exp(log_q0) * fc * fc, axis=-1)
    out = np.sqrt(var / (2.0 * eta))
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- general φ ball
def _phi_conj(divergence, alpha):
    import torch

    from mi_estimators.divergences import get_divergence

    div = get_divergence(divergence, alpha)

    def conj(t: np.ndarray) -> np.ndarray:
        return div.conj(torch.from_numpy(np.asarray(t, dtype=np.float64))).numpy()

    return div, conj


def phi_dro_dual(neg_scores, alpha: float, eta: float, divergence: str = "kl", *, beta: float | None = None,
                 q0=None, divergence_alpha: float | None = None) -> float:
    r"""Dual of the φ-divergence-ball DRO problem at multiplier ``α`` (one anchor).

    .. math:: \sup_{D_φ(Q\|Q_0)\le η} \mathbb E_Q f = \min_{α \ge 0,\,β}\
              αη + β + α\,\mathbb E_{Q_0} φ^*\!\big((f-β)/α\big)

    With ``beta=None`` the inner minimum over β is solved numerically (1-D convex, bounded
    Brent, β above ``max f − α t_max`` where dom φ* ends at ``t_max``); for ``"kl"`` it is
    closed form and equals :func:`kl_dro_dual`. φ* is the conjugate over u ≥ 0 from
    :mod:`mi_estimators.divergences` (``+inf`` outside its domain); ``divergence_alpha`` is
    the Tsallis order. Wu et al. (2023), Eq. (3); Ben-Tal et al. (2013), Management Science.
    """
    f = _as_scores(neg_scores)
    if f.ndim != 1:
        raise ValueError(f"phi_dro_dual takes one anchor's negative scores, shape (N,), got {f.shape}")
    alpha = check_real("alpha", alpha, low=0.0, low_open=True, what="> 0 and finite")
    eta = check_real("eta", eta, low=0.0, what=">= 0 and finite")
    q = np.exp(_as_log_q0(q0, f))
    div, conj = _phi_conj(divergence, divergence_alpha)

    def objective(b: float) -> float:
        return alpha * eta + b + alpha * float(np.sum(q * conj((f - b) / alpha)))

    if beta is not None:
        return objective(float(beta))
    if div.name == "kl":
        return kl_dro_dual(f, alpha, eta, q0=q0)
    scale = float(np.ptp(f)) + alpha
    if math.isfinite(div.t_max):
        lo = float(f.max()) - alpha * div.t_max
        lo += 1e-12 * max(1.0, abs(lo))  # open end of the domain
    else:
        lo = float(f.min()) - 50.0 * scale
    hi = float(f.max()) + 50.0 * scale
    res = optimize.minimize_scalar(objective, bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-12, "maxiter": 2000})
    return float(min(res.fun, objective(hi)))


def phi_dro_value(neg_scores, eta: float, divergence: str = "kl", *, q0=None,
                  divergence_alpha: float | None = None) -> float:
    r"""``sup_{D_φ(Q‖Q0) ≤ η} E_Q f`` as ``min_α`` of :func:`phi_dro_dual` (bounded Brent in log α).

    A numerical cross-check of the dual for any φ (KL has the exact :func:`kl_dro_value`).
    For Pearson χ² (φ = (u−1)²) it is ``E f + √(η Var f)`` while the worst case
    ``Q ∝ Q0(1 + (f − E f)/√(Var f/η))`` stays nonnegative.
    """
    f = _as_scores(neg_scores)
    eta = check_real("eta", eta, low=0.0, low_open=True, what="> 0 and finite")
    scale = max(float(np.ptp(f)), 1e-300)
    res = optimize.minimize_scalar(
        lambda u: phi_dro_dual(f, math.exp(u), eta, divergence, q0=q0, divergence_alpha=divergence_alpha),
        bounds=(math.log(scale) - 30, math.log(scale) + 30), method="bounded",
        options={"xatol": 1e-10, "maxiter": 2000})
    return float(res.fun)
