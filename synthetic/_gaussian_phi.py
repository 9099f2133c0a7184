r"""φ-mutual information of a jointly Gaussian (X, Y) from its canonical correlations.

Any Gaussian (X, Y) is, after invertible linear maps of X and of Y (which change no
φ-MI), a product of independent standard bivariate normal pairs with correlations
ρ_1..ρ_k (the canonical correlations) plus independent noise coordinates. The log
density ratio is then (math_spec §6, rotated by u = (x+y)/√2, v = (x−y)/√2)

.. math:: L = \log r = c + \sum_k \frac{\rho_k}{2}\Big(\frac{U_k^2}{1+\rho_k}
          - \frac{V_k^2}{1-\rho_k}\Big),\qquad c = -\tfrac12\sum_k\log(1-\rho_k^2),

a constant plus a weighted sum of independent χ²_1 variables under either law:
weights ρ_k/(2(1+ρ_k)), −ρ_k/(2(1−ρ_k)) under Q = P_X P_Y and ±ρ_k/2 under P = P_XY.
Its characteristic function is φ(ω) = e^{iωc} ∏_j (1 − 2 i w_j ω)^{−1/2}.

Closed forms (from H_α = E_Q r^α = ∏_k (1−ρ_k²)^{(1−α)/2} (1−(1−α)²ρ_k²)^{−1/2}):
KL, χ², reverse χ², squared Hellinger, Tsallis-α.

No closed form exists for JS, TV, VLC; each is written as an expectation of a bounded
(or linearly growing) function of L and evaluated by one 1-D integral of φ
(derived here; checked in tests against the spec's 2-D χ² quadrature and Monte Carlo):

* TV  = P(L > 0) − Q(L > 0) = (1/π) ∫_0^∞ [Im φ_P(ω) − Im φ_Q(ω)] / ω dω  (Gil-Pelaez);
* VLC = 2 − 4 E_Q σ(L) = −4 ∫_0^∞ Im φ_Q(ω) / sinh(πω) dω
  (from (u−1)²/(u+1) = u + 1 − 4u/(u+1) and E σ(L) = ½ + ∫_0^∞ Im φ(ω)/sinh(πω) dω,
  the Fourier transform of tanh);
* JS  = ½E_P[log 2 − softplus(−L)] + ½E_Q[log 2 − softplus(L)]
  = ¼(μ_P − μ_Q) − ½(J_P + J_Q), J = ∫_0^∞ (1 − Re φ(ω)) / (ω sinh(πω)) dω
  (softplus'' = σ(1−σ) has Fourier transform πω/sinh(πω)); μ_P = I, μ_Q = −KL(Q‖P).

The JS and VLC integrands decay like e^{−πω}: adaptive quadrature reaches ~1e-12. The TV
integrand decays like ω^{−1−k}; its quadrature error is below 1e-9 (``quad``'s estimate,
checked against the closed form at d = 2).
"""
from __future__ import annotations

import math

import numpy as np

from synthetic.base import check_phi_params

_TINY = 1e-300


def _weights(rhos: np.ndarray, law: str) -> np.ndarray:
    if law == "p":
        return np.concatenate([rhos / 2.0, -rhos / 2.0])
    return np.concatenate([rhos / (2.0 * (1.0 + rhos)), -rhos / (2.0 * (1.0 - rhos))])


def _log_cf(omega: float, c: float, w: np.ndarray) -> complex:
    """log E e^{iωL} for L = c + Σ w_j Z_j², Z_j iid N(0, 1) (principal branch: Re > 0)."""
    return 1j * omega * c - 0.5 * np.sum(np.log(1.0 - 2j * w * omega))


def _inv_sinh_pi(omega: float) -> float:
    """1 / sinh(πω) without overflow."""
    return 2.0 * math.exp(-math.pi * omega) / -math.expm1(-2.0 * math.pi * omega)


def _quad(fun, a, b, **kw) -> float:
    from scipy import integrate  # lazy: keeps `import synthetic` light

    val, _err = integrate.quad(fun, a, b, epsabs=1e-13, epsrel=1e-11, limit=500, **kw)
    return val


def _quad_split(fun, w: np.ndarray) -> float:
    """∫_0^30 fun, split where φ changes scale (ω ≈ 1/|w_j|) so no feature is missed."""
    aw = np.abs(w)
    pts = np.geomspace(0.25 / aw.max(), 4.0 / aw.min(), num=10)
    edges = [0.0] + [p for p in pts if p < 30.0] + [30.0]
    return sum(_quad(fun, a, b) for a, b in zip(edges[:-1], edges[1:]))


def log_h_alpha(rhos: np.ndarray, alpha: float) -> float:
    """log E_Q r^α; +inf when it diverges ((1−α)²ρ² ≥ 1 for some ρ)."""
    q = 1.0 - (1.0 - alpha) ** 2 * rhos**2
    if np.any(q <= 0):
        return math.inf
    return float(np.sum(0.5 * (1.0 - alpha) * np.log1p(-rhos**2) - 0.5 * np.log(q)))


def _sigmoid_mean_minus_half(c: float, w: np.ndarray) -> float:
    """E σ(L) − ½ = ∫_0^∞ Im φ(ω) / sinh(πω) dω."""
    def f(om):
        if om == 0.0:
            return 0.0
        return (np.exp(_log_cf(om, c, w))).imag * _inv_sinh_pi(om)
    # integrand → E[L]/π at 0, negligible (< 1e-40 · |φ|) past ω = 30
    return _quad_split(f, w)


def _softplus_correction(c: float, w: np.ndarray) -> float:
    """J = ∫_0^∞ (1 − Re φ(ω)) / (ω sinh(πω)) dω = E softplus(L) − log 2 − E[L]/2."""
    def f(om):
        if om == 0.0:
            return 0.0
        # 1 − Re φ computed without cancellation for small ω: 1 − |φ| cos θ
        lc = _log_cf(om, c, w)
        one_minus = -math.expm1(lc.real) + math.exp(lc.real) * 2.0 * math.sin(lc.imag / 2.0) ** 2
        return one_minus * _inv_sinh_pi(om) / om
    return _quad_split(f, w)


def _prob_positive_difference(c: float, wp: np.ndarray, wq: np.ndarray) -> float:
    """P(L > 0) − Q(L > 0) = (1/π) ∫_0^∞ [Im φ_P − Im φ_Q](ω) / ω dω (Gil-Pelaez).

    φ(ω) = e^{iωc} ψ(ω) with ψ = ∏(1 − 2iw_jω)^{−1/2} smooth and slowly decaying, so
    Im φ = sin(cω) Re ψ + cos(cω) Im ψ; the tail is done by QUADPACK's Fourier
    integrator (QAWF) on the non-oscillating parts.
    """
    def psi(om, w):
        return np.exp(-0.5 * np.sum(np.log(1.0 - 2j * w * om)))

    def head(om):
        if om == 0.0:
            return float(np.sum(wp) - np.sum(wq))
        return (np.exp(_log_cf(om, c, wp)).imag - np.exp(_log_cf(om, c, wq)).imag) / om

    # ψ varies on the scales 1/|w_j|; past 8/min|w_j| it is a smooth power law
    aw = np.abs(np.concatenate([wp, wq]))
    edges = np.geomspace(0.5 / aw.max(), 8.0 / aw.min(), num=8)
    total, a = 0.0, 0.0
    for b in edges:
        total += _quad(head, a, b)
        a = b
    re_part = lambda om: (psi(om, wp).real - psi(om, wq).real) / om  # noqa: E731
    im_part = lambda om: (psi(om, wp).imag - psi(om, wq).imag) / om  # noqa: E731
    from scipy import integrate

    kw = dict(epsabs=1e-12, limlst=200)
    if c > 0:
        total += integrate.quad(re_part, a, math.inf, weight="sin", wvar=c, **kw)[0]
        total += integrate.quad(im_part, a, math.inf, weight="cos", wvar=c, **kw)[0]
    else:  # pragma: no cover - c = I > 0 whenever some ρ > 0
        total += _quad(im_part, a, math.inf)
    return total / math.pi


def gaussian_phi_mi(rhos, name: str, **params) -> float:
    """φ-MI of a Gaussian with canonical correlations ``rhos`` (each in [0, 1)).

    Returns ``math.inf`` where the divergence is infinite: ``tsallis`` with
    α ≥ 1 + 1/max ρ (E_Q r^α diverges) and ``reverse-chi2`` with max ρ ≥ ½.
    ``chi2`` (Tsallis-2) is finite for every ρ < 1.
    """
    check_phi_params(name, params)
    rhos = np.abs(np.asarray(rhos, dtype=float).ravel())
    rhos = rhos[rhos > 0]
    if rhos.size == 0:
        return 0.0
    if np.any(rhos >= 1):
        raise ValueError("canonical correlations must be < 1 (degenerate Gaussian has infinite MI)")
    kl = float(-0.5 * np.sum(np.log1p(-rhos**2)))
    if name == "kl":
        return kl
    if name == "tsallis":
        alpha = float(params["alpha"])
        if alpha == 1.0:
            return kl
        lh = log_h_alpha(rhos, alpha)
        if math.isinf(lh):
            return math.inf
        return math.expm1(lh) / (alpha - 1.0)
    if name == "chi2":
        return math.expm1(log_h_alpha(rhos, 2.0))
    if name == "reverse-chi2":
        lh = log_h_alpha(rhos, -1.0)
        return math.inf if math.isinf(lh) else math.expm1(lh)
    if name == "hellinger":
        return -2.0 * math.expm1(log_h_alpha(rhos, 0.5))
    wp, wq = _weights(rhos, "p"), _weights(rhos, "q")
    if name == "vlc":
        return max(-4.0 * _sigmoid_mean_minus_half(kl, wq), 0.0)
    if name == "tv":
        return min(max(_prob_positive_difference(kl, wp, wq), 0.0), 1.0)
    if name == "js":
        mu_p = kl
        mu_q = kl + float(np.sum(wq))
        val = 0.25 * (mu_p - mu_q) - 0.5 * (_softplus_correction(kl, wp) + _softplus_correction(kl, wq))
        return min(max(val, 0.0), math.log(2.0))
    raise AssertionError(name)  # pragma: no cover - check_phi_params covers every name
