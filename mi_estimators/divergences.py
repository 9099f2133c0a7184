r"""f-divergence generators φ for φ-mutual information (math_spec §1), in nats.

``I_φ = D_φ(P_XY ‖ P_X P_Y) = E_{P_X P_Y} φ(r)`` with ``r = p(x, y) / (p(x) p(y))``,
φ convex and φ(1) = 0. Each :class:`Divergence` gives

* ``f(u)``, ``f_prime(u)`` – the generator and its derivative (``φ'(r)`` is the optimal
  f-GAN critic);
* ``conj(t)`` – the convex conjugate ``φ*(t) = sup_{u ≥ 0} tu − φ(u)``, ``+inf`` outside its
  domain ``t < t_max`` (or ``t ≤ t_max`` when ``t_max_closed``);
* ``conj_grad(t)`` – ``(φ*)'(t)``, the maximising ``u`` (the implied density ratio);
* log-space means used by the bounds: ``mean_conj`` (f-GAN), ``mean_f_prime_exp`` and
  ``mean_conj_f_prime_exp`` (f-MICL, where ``u = e^s`` and ``φ*(φ'(u)) = uφ'(u) − φ(u)``).
  They never exponentiate a score directly: every exponential of a score goes through a
  log-mean-exp and :func:`safe_exp`, so scores up to ``|s| = 1e4`` give finite values
  and gradients.

The divergences: ``kl`` (u log u), ``chi2`` (Pearson, (u−1)²), ``hellinger`` (squared
Hellinger (√u−1)², in [0, 2]), ``js`` (Jensen–Shannon with the ½ generator, in
[0, log 2]), ``tsallis`` (``alpha > 0``, ``≠ 1``: (u^α − u)/(α−1)), ``tv`` (½|u−1|, in
[0, 1]), ``vlc`` (Vincze–Le Cam (u−1)²/(u+1), in [0, 2]) and ``reverse-chi2`` (Neyman,
(1−u)²/u). Conjugates are taken over u ≥ 0 (the restricted χ² conjugate, tighter than
the f-GAN paper's t + t²/4).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from mi_estimators._checks import check_choice

__all__ = [
    "Divergence",
    "DIVERGENCES",
    "get_divergence",
    "list_divergences",
    "safe_exp",
    "masked_mean",
    "masked_log_mean_exp",
]

#: Slack kept below log(finfo.max) so that safe_exp's linear tail stays finite.
_EXP_HEADROOM = 20.0


# ---------------------------------------------------------------------------
# numerics shared by the bounds
# ---------------------------------------------------------------------------
def safe_exp(z: Tensor) -> Tensor:
    r"""``exp(z)``, exact for ``z ≤ z_max``, continued linearly (C¹) above.

    ``z_max = log(finfo(dtype).max) − 20`` (≈ 68.7 in float32, ≈ 689.8 in float64), so
    ``safe_exp(z) = e^{z_max} (1 + z − z_max)`` for larger z: finite for any finite z up
    to ~1e8 with a finite, positive gradient. Only values that exp cannot represent
    anyway are changed. Used for every ``exp(log-mean-exp)`` in the bounds.
    """
    z_max = math.log(torch.finfo(z.dtype).max) - _EXP_HEADROOM
    return torch.exp(z.clamp(max=z_max)) * (1.0 + torch.relu(z - z_max))


def _reduce_dims(dim) -> tuple[int, ...]:
    return (dim,) if isinstance(dim, int) else tuple(dim)


def masked_mean(x: Tensor, mask: Tensor | None = None, dim=-1) -> Tensor:
    """Mean of ``x`` over ``dim`` restricted to entries where ``mask`` (broadcastable) is True."""
    dims = _reduce_dims(dim)
    if mask is None:
        return x.mean(dim=dims)
    mask = mask.expand_as(x) if mask.shape != x.shape else mask
    count = mask.sum(dim=dims).to(x.dtype)
    return torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device)).sum(dim=dims) / count


def masked_log_mean_exp(z: Tensor, mask: Tensor | None = None, dim=-1) -> Tensor:
    """``log mean exp(z)`` over ``dim`` restricted to ``mask``; ``-inf`` entries allowed.

    Entries of ``z`` equal to ``-inf`` contribute 0 to the mean (and no NaN gradient);
    if every selected entry is ``-inf`` the result is a huge negative finite number.
    """
    dims = _reduce_dims(dim)
    sentinel = torch.finfo(z.dtype).min / 4  # exp(sentinel - anything finite) == 0
    keep = torch.isfinite(z) | (z > 0)  # +inf stays +inf
    if mask is not None:
        mask = mask.expand_as(z) if mask.shape != z.shape else mask
        n = mask.sum(dim=dims).to(z.dtype)
        keep = keep & mask
    else:
        n = torch.tensor(float(math.prod(z.shape[d] for d in dims)), dtype=z.dtype, device=z.device)
    z = torch.where(keep, z, torch.full((), sentinel, dtype=z.dtype, device=z.device))
    return torch.logsumexp(z, dim=dims) - torch.log(n)


def _f64(x: float | Tensor) -> Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


class _Means:
    """The two reductions every log-space formula needs, over one fixed selection."""

    def __init__(self, mask, dim):
        self.mask, self.dim = mask, dim

    def __call__(self, x: Tensor) -> Tensor:  # mean of x
        return masked_mean(x, self.mask, self.dim)

    def exp(self, z: Tensor) -> Tensor:  # mean of e^z, computed in log space
        return safe_exp(masked_log_mean_exp(z, self.mask, self.dim))


def _where_safe(cond: Tensor, x: Tensor, safe_value: float) -> Tensor:
    """``x`` where ``cond``, else a harmless constant (so the other branch has no NaN grads)."""
    return torch.where(cond, x, torch.full((), safe_value, dtype=x.dtype, device=x.device))


# ---------------------------------------------------------------------------
# the generators
# ---------------------------------------------------------------------------
class Divergence:
    """An f-divergence generator φ (convex, φ(1) = 0). Subclasses implement the formulas.

    Attributes: ``name`` (registry string), ``params`` (e.g. ``{"alpha": 1.5}``),
    ``t_max`` (sup of dom φ*; ``inf`` when dom φ* = ℝ), ``t_max_closed`` (whether
    ``t_max`` itself is in the domain), ``trainable`` (False when φ' is piecewise
    constant, as for TV: the f-MICL critic then gets zero gradients).
    """

    name: str = ""
    t_max: float = math.inf
    t_max_closed: bool = False
    trainable: bool = True
    conj_grad_convex: bool = True  # (φ*)' convex on its domain (False: Tsallis α > 2)
    description: str = ""

    @property
    def params(self) -> dict:
        return {}

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"get_divergence({self.name!r}{extra})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.params == other.params

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.params.items()))))

    # --- elementwise formulas (u ≥ 0, t real) ---------------------------------
    def f(self, u: Tensor) -> Tensor:
        raise NotImplementedError

    def f_prime(self, u: Tensor) -> Tensor:
        raise NotImplementedError

    def conj(self, t: Tensor) -> Tensor:
        """φ*(t); ``+inf`` outside the domain."""
        raise NotImplementedError

    def conj_grad(self, t: Tensor) -> Tensor:
        """(φ*)'(t) = argmax_u (tu − φ(u)) ≥ 0, ``+inf`` at an unattained boundary."""
        raise NotImplementedError

    def conj_hess(self, t: Tensor) -> Tensor:
        """(φ*)''(t) = 1/φ''(u) at u = (φ*)'(t) ≥ 0 (used by the DRO-dual Newton solver)."""
        raise NotImplementedError

    def conj_grad_hess(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """``(conj_grad(t), conj_hess(t))`` in one pass (subclasses share the work)."""
        return self.conj_grad(t), self.conj_hess(t)

    def in_domain(self, t: Tensor) -> Tensor:
        if math.isinf(self.t_max):
            return torch.ones_like(t, dtype=torch.bool)
        return t <= self.t_max if self.t_max_closed else t < self.t_max

    def f_prime_scalar(self, u: float) -> float:
        """φ'(u) for a python number (used for brackets and constants)."""
        return float(self.f_prime(_f64(u)))

    # --- means, stable in log space ---------------------------------------------
    def _log_conj(self, t: Tensor) -> Tensor | None:
        """log φ*(t) when φ* = e^{(...)} grows exponentially (KL, Tsallis α > 1), else None."""
        return None

    def mean_conj(self, t: Tensor, mask: Tensor | None = None, dim=-1, *, extend: bool = False) -> Tensor:
        r"""Mean of φ*(t) over ``dim`` (restricted to ``mask``).

        Exact by default: ``+inf`` if any selected entry lies outside dom φ* (the f-GAN
        bound is then ``-inf``). With ``extend=True`` (training losses), φ* is replaced
        above ``t_c = φ'(e^{10})`` by its tangent line, i.e. by the conjugate of φ
        restricted to ``u ≤ e^{10}``: identical wherever the implied ratio is below
        e^{10}, finite everywhere, with a gradient that pushes scores back into the domain.
        """
        means = _Means(mask, dim)
        if mask is not None:  # unselected entries -> 0 (inside every domain): no 0·inf = NaN gradients
            t = torch.where(mask, t, torch.zeros((), dtype=t.dtype, device=t.device))
        log_conj = self._log_conj(t)
        if log_conj is not None:
            return means.exp(log_conj)
        if extend and not math.isinf(self.t_max):
            u_c = math.exp(10.0)
            t_c = self.f_prime_scalar(u_c)
            c0 = u_c * t_c - float(self.f(_f64(u_c)))
            inside = self.conj(t.clamp(max=t_c))
            return means(torch.where(t <= t_c, inside, c0 + u_c * (t - t_c)))
        return means(self.conj(t))

    def mean_f_prime_exp(self, s: Tensor, mask: Tensor | None = None, dim=-1) -> Tensor:
        """Mean of φ'(e^s) over ``dim`` (restricted to ``mask``), in log space."""
        raise NotImplementedError

    def mean_conj_f_prime_exp(self, s: Tensor, mask: Tensor | None = None, dim=-1) -> Tensor:
        """Mean of φ*(φ'(e^s)) = e^s φ'(e^s) − φ(e^s) over ``dim`` (restricted to ``mask``)."""
        raise NotImplementedError


class KL(Divergence):
    name = "kl"
    description = "Kullback–Leibler, φ(u) = u log u: KL mutual information"

    def f(self, u):
        return torch.xlogy(u, u)

    def f_prime(self, u):
        return 1.0 + torch.log(u)

    def conj(self, t):
        return safe_exp(t - 1.0)

    def conj_grad(self, t):
        return safe_exp(t - 1.0)

    def conj_hess(self, t):
        return safe_exp(t - 1.0)

    def _log_conj(self, t):
        return t - 1.0

    def mean_f_prime_exp(self, s, mask=None, dim=-1):
        return 1.0 + masked_mean(s, mask, dim)

    def mean_conj_f_prime_exp(self, s, mask=None, dim=-1):
        return _Means(mask, dim).exp(s)


class PearsonChi2(Divergence):
    name = "chi2"
    description = "Pearson χ², φ(u) = (u − 1)²; estimators of it have infinite variance unless ρ < 1/3 (Gaussians)"

    def f(self, u):
        return (u - 1.0) ** 2

    def f_prime(self, u):
        return 2.0 * (u - 1.0)

    def conj(self, t):
        return torch.where(t >= -2.0, t + 0.25 * t * t, torch.full_like(t, -1.0))

    def conj_grad(self, t):
        return torch.relu(1.0 + 0.5 * t)

    def conj_hess(self, t):
        return 0.5 * (t > -2.0).to(t.dtype)

    def mean_f_prime_exp(self, s, mask=None, dim=-1):
        return 2.0 * (_Means(mask, dim).exp(s) - 1.0)

    def mean_conj_f_prime_exp(self, s, mask=None, dim=-1):
        return _Means(mask, dim).exp(2.0 * s) - 1.0


class Tsallis(Divergence):
    name = "tsallis"

    def __init__(self, alpha: float):
        self.alpha = float(alpha)
        a = self.alpha
        if a < 1.0:
            self.t_max = 1.0 / (1.0 - a)
        self.conj_grad_convex = a <= 2.0  # (φ*)' = A^{1/(α−1)}
        self.description = f"Tsallis-α (α = {a:g}), φ(u) = (u^α − u)/(α − 1)"

    @property
    def params(self):
        return {"alpha": self.alpha}

    def f(self, u):
        a = self.alpha
        return (u**a - u) / (a - 1.0)

    def f_prime(self, u):
        a = self.alpha
        return (a * u ** (a - 1.0) - 1.0) / (a - 1.0)

    def _A(self, t):
        a = self.alpha
        return ((a - 1.0) * t + 1.0) / a

    def _A_power(self, t, exponent: float, scale: float = 1.0):
        """``scale · A(t)^exponent`` where A(t) > 0; outside: 0 for α > 1, +∞ for α < 1."""
        a = self.alpha
        A = self._A(t)
        pos = A > 0
        value = scale * _where_safe(pos, A, 1.0) ** exponent
        outside = torch.zeros_like(t) if a > 1.0 else torch.full_like(t, math.inf)
        return torch.where(pos, value, outside)

    def conj(self, t):
        a = self.alpha
        return self._A_power(t, a / (a - 1.0))

    def conj_grad(self, t):
        return self._A_power(t, 1.0 / (self.alpha - 1.0))

    def conj_hess(self, t):
        a = self.alpha
        return self._A_power(t, (2.0 - a) / (a - 1.0), scale=1.0 / a)

    def _log_conj(self, t):
        a = self.alpha
        if a < 1.0:
            return None
        A = self._A(t)
        pos = A > 0
        log_value = (a / (a - 1.0)) * torch.log(_where_safe(pos, A, 1.0))
        return torch.where(pos, log_value, torch.full_like(t, -math.inf))

    def mean_f_prime_exp(self, s, mask=None, dim=-1):
        a = self.alpha
        return (a * _Means(mask, dim).exp((a - 1.0) * s) - 1.0) / (a - 1.0)

    def mean_conj_f_prime_exp(self, s, mask=None, dim=-1):
        return _Means(mask, dim).exp(self.alpha * s)


class SquaredHellinger(Divergence):
    name = "hellinger"
    t_max = 1.0
    description = "squared Hellinger, φ(u) = (√u − 1)² (= Tsallis-½), in [0, 2]"

    def f(self, u):
        return (torch.sqrt(u) - 1.0) ** 2

    def f_prime(self, u):
        return 1.0 - torch.rsqrt(u)

    def conj(self, t):
        ok = t < 1.0
        return torch.where(ok, t / (1.0 - _where_safe(ok, t, 0.0)), torch.full_like(t, math.inf))

    def conj_grad(self, t):
        ok = t < 1.0
        return torch.where(ok, (1.0 - _where_safe(ok, t, 0.0)) ** -2, torch.full_like(t, math.inf))

    def conj_hess(self, t):
        ok = t < 1.0
        return torch.where(ok, 2.0 * (1.0 - _where_safe(ok, t, 0.0)) ** -3, torch.full_like(t, math.inf))

    def conj_grad_hess(self, t):
        u = self.conj_grad(t)
        return u, 2.0 * u * torch.sqrt(u)

    def mean_f_prime_exp(self, s, mask=None, dim=-1):
        return 1.0 - _Means(mask, dim).exp(-0.5 * s)

    def mean_conj_f_prime_exp(self, s, mask=None, dim=-1):
        return _Means(mask, dim).exp(0.5 * s) - 1.0


class JensenShannon(Divergence):
    name = "js"
    t_max = 0.5 * math.log(2.0)
    description = "Jensen–Shannon, φ(u) = ½[u log u − (1+u) log((1+u)/2)], in [0, log 2]"

    def f(self, u):
        return 0.5 * (torch.xlogy(u, u) - (1.0 + u) * torch.log((1.0 + u) / 2.0))

    def f_prime(self, u):
        return 0.5 * (math.log(2.0) + torch.log(u) - torch.log1p(u))

    def conj(self, t):
        ok = t < self.t_max
        x = 2.0 * _where_safe(ok, t, 0.0) - math.log(2.0)  # < 0 inside the domain
        value = -0.5 * (math.log(2.0) + torch.log(-torch.expm1(x)))
        return torch.where(ok, value, torch.full_like(t, math.inf))

    def conj_grad(self, t):
        ok = t < self.t_max
        x = math.log(2.0) - 2.0 * _where_safe(ok, t, 0.0)  # > 0 inside the domain
        return torch.where(ok, 1.0 / torch.expm1(x), torch.full_like(t, math.inf))

    def conj_hess(self, t):
        u = self.conj_grad(t)
        return 2.0 * u * (1.0 + u)

    def conj_grad_hess(self, t):
        u = self.conj_grad(t)
        return u, 2.0 * u * (1.0 + u)

    def mean_f_prime_exp(self, s, mask=None, dim=-1):
        # ½ log(2u/(1+u)) = ½ (log 2 − softplus(−s))
        return 0.5 * (math.log(2.0) - masked_mean(torch.nn.functional.softplus(-s), mask, dim))

    def mean_conj_f_prime_exp(self, s, mask=None, dim=-1):
        # ½ log((1+u)/2) = ½ (softplus(s) − log 2)
        return 0.5 * (masked_mean(torch.nn.functional.softplus(s), mask, dim) - math.log(2.0))


class TotalVariation(Divergence):
    name = "tv"
    t_max = 0.5
    t_max_closed = True
    trainable = False
    description = (
        "total variation, φ(u) = ½|u − 1|, in [0, 1]; φ' is piecewise constant, so "
        "f-MICL-TV gives zero gradients (evaluate with it, do not train with it)"
    )

    def f(self, u):
        return 0.5 * torch.abs(u - 1.0)

    def f_prime(self, u):
        return 0.5 * torch.sign(u - 1.0)

    def conj(self, t):
        return torch.where(t <= 0.5, torch.clamp(t, min=-0.5), torch.full_like(t, math.inf))

    def conj_grad(self, t):
        inside = (t > -0.5).to(t.dtype)
        return torch.where(t < 0.5, inside, torch.full_like(t, math.inf))

    def conj_hess(self, t):
        return torch.where(t < 0.5, torch.zeros_like(t), torch.full_like(t, math.inf))

    def mean_f_prime_exp(self, s, mask=None, dim=-1):
        return 0.5 * masked_mean(torch.sign(s), mask, dim)

    def mean_conj_f_prime_exp(self, s, mask=None, dim=-1):
        return 0.5 * masked_mean(torch.sign(s), mask, dim)


class VinczeLeCam(Divergence):
    name = "vlc"
    t_max = 1.0
    t_max_closed = True  # φ*(1) = 3 (sup not attained)
    description = "Vincze–Le Cam (triangular discrimination), φ(u) = (u − 1)²/(u + 1), in [0, 2]"

    def f(self, u):
        return (u - 1.0) ** 2 / (u + 1.0)

    def f_prime(self, u):
        return 1.0 - 4.0 / (1.0 + u) ** 2

    def conj(self, t):
        ok = t <= 1.0
        ts = _where_safe(ok, t, 0.0)
        value = torch.where(ts >= -3.0, 4.0 - ts - 4.0 * torch.sqrt(1.0 - ts), torch.full_like(t, -1.0))
        return torch.where(ok, value, torch.full_like(t, math.inf))

    def conj_grad(self, t):
        ok = t < 1.0
        ts = _where_safe(ok, t, 0.0)
        value = torch.relu(2.0 * torch.rsqrt(1.0 - ts) - 1.0)
        return torch.where(ok, value, torch.full_like(t, math.inf))

    def conj_hess(self, t):
        ok = t < 1.0
        ts = _where_safe(ok, t, 0.0)
        value = torch.where(ts >= -3.0, (1.0 - ts) ** -1.5, torch.zeros_like(t))
        return torch.where(ok, value, torch.full_like(t, math.inf))

    def conj_grad_hess(self, t):
        u = self.conj_grad(t)  # 2 (1 − t)^{-1/2} − 1, so (1 − t)^{-3/2} = ((u + 1)/2)^3
        return u, torch.where(u > 0, (0.5 * (u + 1.0)) ** 3, torch.zeros_like(u))

    def mean_f_prime_exp(self, s, mask=None, dim=-1):
        # 1 − 4/(1+u)² = 1 − 4 σ(−s)²
        return 1.0 - 4.0 * masked_mean(torch.sigmoid(-s) ** 2, mask, dim)

    def mean_conj_f_prime_exp(self, s, mask=None, dim=-1):
        # (u−1)(3u+1)/(u+1)² = tanh(s/2) (1 + 2σ(s))
        return masked_mean(torch.tanh(0.5 * s) * (1.0 + 2.0 * torch.sigmoid(s)), mask, dim)


class ReverseChi2(Divergence):
    name = "reverse-chi2"
    t_max = 1.0
    t_max_closed = True  # φ*(1) = 2 (sup not attained)
    description = "reverse (Neyman) χ², φ(u) = (1 − u)²/u; infinite for Gaussians with ρ ≥ ½"

    def f(self, u):
        return (1.0 - u) ** 2 / u

    def f_prime(self, u):
        return 1.0 - u**-2

    def conj(self, t):
        ok = t <= 1.0
        value = 2.0 - 2.0 * torch.sqrt(1.0 - _where_safe(ok, t, 0.0))
        return torch.where(ok, value, torch.full_like(t, math.inf))

    def conj_grad(self, t):
        ok = t < 1.0
        value = torch.rsqrt(1.0 - _where_safe(ok, t, 0.0))
        return torch.where(ok, value, torch.full_like(t, math.inf))

    def conj_hess(self, t):
        ok = t < 1.0
        value = 0.5 * (1.0 - _where_safe(ok, t, 0.0)) ** -1.5
        return torch.where(ok, value, torch.full_like(t, math.inf))

    def conj_grad_hess(self, t):
        u = self.conj_grad(t)
        return u, 0.5 * u**3

    def mean_f_prime_exp(self, s, mask=None, dim=-1):
        return 1.0 - _Means(mask, dim).exp(-2.0 * s)

    def mean_conj_f_prime_exp(self, s, mask=None, dim=-1):
        return 2.0 - 2.0 * _Means(mask, dim).exp(-s)


DIVERGENCES: dict[str, type[Divergence]] = {
    cls.name: cls
    for cls in (KL, PearsonChi2, SquaredHellinger, JensenShannon, Tsallis, TotalVariation, VinczeLeCam, ReverseChi2)
}


def list_divergences() -> list[str]:
    """Names accepted by :func:`get_divergence` (and by the φ-bounds' ``divergence=``)."""
    return sorted(DIVERGENCES)


def get_divergence(name: str | Divergence, alpha: float | None = None) -> Divergence:
    """The generator called ``name``; ``tsallis`` needs ``alpha`` (> 0, ≠ 1), others refuse it.

    >>> get_divergence("tsallis", alpha=1.5)
    get_divergence('tsallis', alpha=1.5)
    """
    if isinstance(name, Divergence):
        if alpha is not None and name.params.get("alpha") != alpha:
            raise ValueError(f"alpha={alpha!r} given together with the divergence object {name!r}")
        return name
    check_choice("divergence", name, DIVERGENCES)
    if name == "tsallis":
        if alpha is None:
            raise ValueError("divergence 'tsallis' needs alpha= (a number > 0 and != 1, e.g. alpha=1.5)")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha):
            raise ValueError(f"tsallis alpha must be a finite number > 0 and != 1, got {alpha!r}")
        if alpha <= 0 or alpha == 1:
            raise ValueError(
                f"tsallis alpha must be > 0 and != 1 (alpha = 1 is KL: use divergence='kl'), got {alpha!r}"
            )
        return Tsallis(alpha)
    if alpha is not None:
        raise ValueError(f"alpha= only applies to divergence 'tsallis', not {name!r}")
    return DIVERGENCES[name]()
