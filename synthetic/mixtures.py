r"""Gaussian mixtures in the joint (x, y) space, with exact log densities.

For p(x, y) = Σ_k w_k N((x, y); m_k, S_k) the joint and both marginals are mixtures of
Gaussians, so ``log_ratio`` = log p(x,y) − log p(x) − log p(y) is exact (each a
log-sum-exp over components). MI has no closed form; it is the Monte Carlo mean of
``log_ratio`` over joint draws, with a stated standard error (:mod:`synthetic._montecarlo`).

:class:`LatentClass` is the contrastive-learning setting of the DCL/HCL/DRO papers: a class
c ~ Uniform{1..K}; x and y are independent noisy views of the class prototype, so a
negative drawn from the marginal shares the anchor's class with probability τ⁺ = 1/K.
"""
from __future__ import annotations

import math

import numpy as np

from synthetic._montecarlo import DEFAULT_MC_SEED, DEFAULT_TARGET_STDERR, MonteCarloTruth
from synthetic.base import Task, as_generator, check_dim, check_n

_LOG_2PI = math.log(2.0 * math.pi)


class _Gaussians:
    """K Gaussians in ℝ^d: log densities for every component at once, broadcasting."""

    def __init__(self, means: np.ndarray, covs: np.ndarray):
        self.means = means
        chol = np.linalg.cholesky(covs)
        eye = np.broadcast_to(np.eye(means.shape[1]), covs.shape)
        self.whiten = np.linalg.solve(chol, eye)  # L_k^{-1}
        self.half_logdet = np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
        self.const = -0.5 * means.shape[1] * _LOG_2PI - self.half_logdet

    def log_pdf_centred(self, centred: np.ndarray) -> np.ndarray:
        """(..., K, d) residuals → (..., K) log densities."""
        u = np.einsum("ked,...kd->...ke", self.whiten, centred)
        return self.const - 0.5 * (u * u).sum(-1)

    def log_pdf(self, z: np.ndarray) -> np.ndarray:
        return self.log_pdf_centred(z[..., None, :] - self.means)


class GaussianMixture(MonteCarloTruth, Task):
    r"""(X, Y) ~ Σ_k w_k N(m_k, S_k) in ℝ^{dim_x + dim_y}; X is the first ``dim_x`` coordinates.

    ``weights`` (K,), ``means`` (K, D), ``covs`` (K, D, D) positive definite. MI by Monte
    Carlo (``mi``, ``mi_stderr``, cached; ``mc_seed`` and ``mc_target_stderr`` set the draw).
    The y | x conditional of each component gives the joint density without inverting the
    full D × D block for every pair: log N(x, y) = log N(x) + log N(y | x).
    """

    def __init__(self, weights, means, covs, dim_x: int, name: str | None = None,
                 mc_seed: int = DEFAULT_MC_SEED, mc_target_stderr: float = DEFAULT_TARGET_STDERR):
        w = np.asarray(weights, dtype=float)
        means = np.asarray(means, dtype=float)
        covs = np.asarray(covs, dtype=float)
        if w.ndim != 1 or w.size < 1 or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be a non-empty vector of non-negative finite numbers")
        k = w.size
        if means.ndim != 2 or means.shape[0] != k:
            raise ValueError(f"means must have shape (K={k}, D), got {means.shape}")
        dim = means.shape[1]
        if covs.shape != (k, dim, dim):
            raise ValueError(f"covs must have shape (K={k}, D={dim}, D={dim}), got {covs.shape}")
        dim_x = check_dim("dim_x", dim_x)
        if dim_x >= dim:
            raise ValueError(f"dim_x must be between 1 and {dim - 1}, got {dim_x}")
        if not np.allclose(covs, np.swapaxes(covs, 1, 2)):
            raise ValueError("every covariance must be symmetric")
        covs = 0.5 * (covs + np.swapaxes(covs, 1, 2))
        try:
            self._chol = np.linalg.cholesky(covs)
        except np.linalg.LinAlgError:
            raise ValueError("every covariance must be positive definite (Cholesky failed)") from None
        if not isinstance(mc_seed, (int, np.integer)) or mc_target_stderr <= 0:
            raise ValueError("mc_seed must be an int and mc_target_stderr > 0")
        self.weights = w / w.sum()
        self.means, self.covs = means, covs
        self.dim_x, self.dim_y = dim_x, dim - dim_x
        self.n_components = k
        self.name = name or f"gmm-{self.dim_x}-{self.dim_y}-k{k}-custom"
        self.mc_seed, self.mc_target_stderr = int(mc_seed), float(mc_target_stderr)
        self._log_w = np.log(np.where(self.weights > 0, self.weights, 1e-300))
        dx = dim_x
        sxx, syy = covs[:, :dx, :dx], covs[:, dx:, dx:]
        syx = covs[:, dx:, :dx]
        self._gx = _Gaussians(means[:, :dx], sxx)
        self._gy = _Gaussians(means[:, dx:], syy)
        self._a = np.linalg.solve(sxx, np.swapaxes(syx, 1, 2)).swapaxes(1, 2)  # S_yx S_xx^{-1}
        cond = syy - self._a @ np.swapaxes(syx, 1, 2)
        self._gyx = _Gaussians(means[:, dx:], 0.5 * (cond + np.swapaxes(cond, 1, 2)))

    def sample_with_labels(self, n: int, seed=None):
        """(x, y, labels): joint draws and the index of the component each came from."""
        n = check_n(n)
        rng = as_generator(seed)
        labels = rng.choice(self.n_components, size=n, p=self.weights)
        eps = rng.standard_normal((n, self.means.shape[1]))
        z = self.means[labels] + np.einsum("nij,nj->ni", self._chol[labels], eps)
        return z[:, : self.dim_x].copy(), z[:, self.dim_x:].copy(), labels

    def sample(self, n: int, seed=None):
        x, y, _ = self.sample_with_labels(n, seed)
        return x, y

    def log_marginals(self, x, y):
        """(log p(x), log p(y)), each broadcast over its own leading dimensions."""
        from scipy import special

        lx = special.logsumexp(self._log_w + self._gx.log_pdf(np.asarray(x, dtype=float)), axis=-1)
        ly = special.logsumexp(self._log_w + self._gy.log_pdf(np.asarray(y, dtype=float)), axis=-1)
        return lx, ly

    def log_joint(self, x, y):
        """log p(x, y), broadcasting over leading dimensions."""
        from scipy import special

        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        xc = x[..., None, :] - self._gx.means
        lx = self._gx.log_pdf_centred(xc)
        resid = y[..., None, :] - self._gyx.means - np.einsum("ked,...kd->...ke", self._a, xc)
        return special.logsumexp(self._log_w + lx + self._gyx.log_pdf_centred(resid), axis=-1)

    def log_ratio(self, x, y):
        lx, ly = self.log_marginals(x, y)
        return self.log_joint(x, y) - lx - ly


class LatentClass(GaussianMixture):
    r"""K equiprobable classes; x, y ∈ ℝ^d are independent noisy views of the class prototype.

    Prototypes μ_c ~ N(0, I_d) (drawn once from ``class_seed``); x = μ_c + σ ε, y = μ_c + σ ε'.
    A negative drawn from the marginal shares the anchor's class with probability τ⁺ = 1/K
    (Chuang et al. 2020, Robinson et al. 2021, Wu et al. 2023). I ≤ log K, approached as
    σ → 0. :meth:`sample_with_labels` returns the classes. Name:
    ``latent-class:classes=K,dim=d,noise=σ,seed=s``.
    """

    def __init__(self, n_classes: int = 10, dim: int = 8, noise: float = 0.5, class_seed: int = 0,
                 mc_seed: int = DEFAULT_MC_SEED, mc_target_stderr: float = DEFAULT_TARGET_STDERR):
        k = check_dim("n_classes", n_classes)
        if k < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        dim = check_dim("dim", dim)
        if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)) \
                or not math.isfinite(noise) or noise <= 0:
            raise ValueError(f"noise must be a finite number > 0, got {noise!r}")
        protos = np.random.default_rng(class_seed).standard_normal((k, dim))
        means = np.hstack([protos, protos])
        covs = np.broadcast_to(noise**2 * np.eye(2 * dim), (k, 2 * dim, 2 * dim)).copy()
        name = f"latent-class:classes={k},dim={dim},noise={noise:g},seed={class_seed}"
        super().__init__(np.full(k, 1.0 / k), means, covs, dim, name=name,
                         mc_seed=mc_seed, mc_target_stderr=mc_target_stderr)
        self.n_classes, self.noise, self.class_seed = k, float(noise), class_seed
        self.prototypes = protos
        self.tau_plus = 1.0 / k
