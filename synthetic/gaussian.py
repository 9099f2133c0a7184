"""Gaussian tasks with closed-form ground truth (math_spec §6).

Every φ-MI of a Gaussian depends only on its canonical correlations; see
:mod:`synthetic._gaussian_phi` for the closed forms (KL, χ², reverse χ², squared
Hellinger, Tsallis) and the 1-D characteristic-function quadratures (JS, TV, VLC).
"""
from __future__ import annotations

import math

import numpy as np

from synthetic._gaussian_phi import gaussian_phi_mi
from synthetic.base import Task, as_generator, check_dim, check_n, check_phi_params


def _fmt(v: float) -> str:
    return f"{float(v):.6g}"


class _PhiCache:
    """Mixin: cache φ-MI values per (name, params) so quadratures run once per task."""

    def _canonical_correlations(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def phi_mi(self, name: str, **params) -> float:
        r"""φ-mutual information D_φ(P_XY ‖ P_X P_Y) of this Gaussian.

        ``name`` is one of :data:`synthetic.base.DIVERGENCES`. Closed forms for ``kl``,
        ``chi2`` (= e^{2I} − 1 for equal correlations), ``reverse-chi2``, ``hellinger``,
        ``tsallis`` (``alpha=``); ``js``, ``tv``, ``vlc`` by 1-D quadrature, absolute
        error below 1e-9. Returns ``math.inf`` (not an error) where the divergence is
        infinite: ``tsallis`` with α ≥ 1 + 1/max|ρ| and ``reverse-chi2`` with
        max|ρ| ≥ ½, because E_Q r^α diverges there (math_spec §6).
        """
        check_phi_params(name, params)
        key = (name, tuple(sorted(params.items())))
        cache = self.__dict__.setdefault("_phi_cache", {})
        if key not in cache:
            cache[key] = gaussian_phi_mi(self._canonical_correlations(), name, **params)
        return cache[key]


class CorrelatedGaussian(_PhiCache, Task):
    r"""X, Y ∈ ℝ^d with (X_k, Y_k) standard bivariate normal, correlation ρ, independent over k.

    The Poole et al. (2019) / Song & Ermon (2020) task. Give exactly one of ``rho`` or
    ``mi``: :math:`I = -\tfrac d2 \log(1-\rho^2)`, so ``rho = sqrt(1 - exp(-2 mi / d))``.
    Name: ``gaussian:dim=D,mi=M`` or ``gaussian:dim=D,rho=R`` (``synthetic.get_task`` parses it).
    """

    def __init__(self, dim: int, rho: float | None = None, mi: float | None = None):
        dim = check_dim("dim", dim)
        if (rho is None) == (mi is None):
            raise ValueError("give exactly one of rho (correlation in (-1, 1)) or mi (nats, >= 0)")
        if mi is not None:
            if isinstance(mi, bool) or not isinstance(mi, (int, float, np.floating, np.integer)) \
                    or not math.isfinite(mi) or mi < 0:
                raise ValueError(f"mi must be a finite number of nats >= 0, got {mi!r}")
            rho = math.sqrt(-math.expm1(-2.0 * mi / dim))
            if rho >= 1.0:
                raise ValueError(f"mi = {mi} nats in dim {dim} needs rho = 1 (degenerate); lower it")
            self.name = f"gaussian:dim={dim},mi={_fmt(mi)}"
        else:
            if isinstance(rho, bool) or not isinstance(rho, (int, float, np.floating, np.integer)) \
                    or not math.isfinite(rho) or not -1.0 < rho < 1.0:
                raise ValueError(f"rho must lie in the open interval (-1, 1), got {rho!r}")
            self.name = f"gaussian:dim={dim},rho={_fmt(rho)}"
        self.dim = dim
        self.dim_x = self.dim_y = dim
        self.rho = float(rho)
        self._mi = float(mi) if mi is not None else -0.5 * dim * math.log1p(-self.rho**2)

    @property
    def mi(self) -> float:
        return self._mi

    def _canonical_correlations(self) -> np.ndarray:
        return np.full(self.dim, abs(self.rho))

    def sample(self, n: int, seed=None):
        n = check_n(n)
        rng = as_generator(seed)
        x = rng.standard_normal((n, self.dim))
        eps = rng.standard_normal((n, self.dim))
        y = self.rho * x + math.sqrt(1.0 - self.rho**2) * eps
        return x, y

    def log_ratio(self, x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        r, s = self.rho, 1.0 - self.rho**2
        quad = (r * r * (x * x + y * y) - 2.0 * r * x * y).sum(axis=-1)
        return -0.5 * self.dim * math.log(s) - quad / (2.0 * s)


class MultivariateNormal(_PhiCache, Task):
    r"""(X, Y) ~ N(mean, cov) with X the first ``dim_x`` coordinates.

    .. math:: I = \tfrac12\left(\log\det\Sigma_{XX} + \log\det\Sigma_{YY} - \log\det\Sigma\right)
              = -\tfrac12 \sum_k \log(1 - \rho_k^2)

    with ρ_k the canonical correlations (singular values of
    Σ_XX^{-1/2} Σ_XY Σ_YY^{-1/2}). ``cov`` must be symmetric positive definite.
    """

    def __init__(self, cov, dim_x: int, mean=None, name: str | None = None):
        cov = np.array(cov, dtype=float)
        if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.shape[0] < 2:
            raise ValueError(f"cov must be a square matrix of size >= 2, got shape {cov.shape}")
        dim = cov.shape[0]
        dim_x = check_dim("dim_x", dim_x)
        if dim_x >= dim:
            raise ValueError(f"dim_x must be between 1 and {dim - 1} for a {dim}x{dim} cov, got {dim_x}")
        if not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12):
            raise ValueError("cov must be a finite symmetric matrix")
        cov = 0.5 * (cov + cov.T)
        try:
            chol = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError("cov must be positive definite (Cholesky failed)") from None
        if mean is None:
            mean = np.zeros(dim)
        mean = np.array(mean, dtype=float)
        if mean.shape != (dim,) or not np.all(np.isfinite(mean)):
            raise ValueError(f"mean must be a finite vector of length {dim}, got shape {mean.shape}")
        self.cov, self.mean, self._chol = cov, mean, chol
        self.dim_x, self.dim_y = dim_x, dim - dim_x
        self.name = name or f"multinormal-{self.dim_x}-{self.dim_y}-custom"
        sxx, syy, sxy = cov[:dim_x, :dim_x], cov[dim_x:, dim_x:], cov[:dim_x, dim_x:]
        lx, ly = np.linalg.cholesky(sxx), np.linalg.cholesky(syy)
        whitened = np.linalg.solve(lx, np.linalg.solve(ly, sxy.T).T)
        self._rhos = np.clip(np.linalg.svd(whitened, compute_uv=False), 0.0, None)
        logdet = lambda lower: 2.0 * np.sum(np.log(np.diag(lower)))  # noqa: E731
        self._mi = max(0.5 * (logdet(lx) + logdet(ly) - logdet(chol)), 0.0)
        # log r = I − ½[xᵀ(Λxx − Σxx⁻¹)x + 2 xᵀΛxy y + yᵀ(Λyy − Σyy⁻¹)y] on centred x, y
        prec = np.linalg.inv(cov)
        prec = 0.5 * (prec + prec.T)
        self._axx = prec[:dim_x, :dim_x] - np.linalg.inv(sxx)
        self._ayy = prec[dim_x:, dim_x:] - np.linalg.inv(syy)
        self._axy = prec[:dim_x, dim_x:]

    @property
    def mi(self) -> float:
        return self._mi

    @property
    def canonical_correlations(self) -> np.ndarray:
        """Canonical correlations ρ_k (descending), the task's φ-MI fingerprint."""
        return self._rhos.copy()

    def _canonical_correlations(self) -> np.ndarray:
        return self._rhos

    def sample(self, n: int, seed=None):
        n = check_n(n)
        rng = as_generator(seed)
        z = rng.standard_normal((n, self.cov.shape[0])) @ self._chol.T + self.mean
        return z[:, : self.dim_x].copy(), z[:, self.dim_x:].copy()

    def log_ratio(self, x, y):
        x = np.asarray(x, dtype=float) - self.mean[: self.dim_x]
        y = np.asarray(y, dtype=float) - self.mean[self.dim_x:]
        quad = ((x @ self._axx) * x).sum(-1) + 2.0 * ((x @ self._axy) * y).sum(-1) \
            + ((y @ self._ayy) * y).sum(-1)
        return self._mi - 0.5 * quad
