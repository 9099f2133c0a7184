"""Gaussian tasks with closed-form ground truth (math_spec §6)."""
from __future__ import annotations

import math

import numpy as np

from synthetic.base import Task, as_generator


class CorrelatedGaussian(Task):
    r"""X, Y ∈ ℝ^d with (X_k, Y_k) standard bivariate normal, correlation ρ, independent over k.

    The Poole et al. (2019) / Song & Ermon (2020) task. Give exactly one of ``rho`` or
    ``mi``: :math:`I = -\tfrac d2 \log(1-\rho^2)`, so ``rho = sqrt(1 - exp(-2 mi / d))``.
    """

    def __init__(self, dim: int, rho: float | None = None, mi: float | None = None):
        if not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if (rho is None) == (mi is None):
            raise ValueError("give exactly one of rho (correlation in (-1, 1)) or mi (nats, >= 0)")
        if mi is not None:
            if not np.isfinite(mi) or mi < 0:
                raise ValueError(f"mi must be a finite number of nats >= 0, got {mi!r}")
            rho = math.sqrt(-math.expm1(-2.0 * mi / dim))
            if rho >= 1.0:
                raise ValueError(f"mi = {mi} nats in dim {dim} needs rho = 1 (degenerate); lower it")
        if not np.isfinite(rho) or not -1.0 < rho < 1.0:
            raise ValueError(f"rho must lie in the open interval (-1, 1), got {rho!r}")
        self.dim = int(dim)
        self.dim_x = self.dim_y = self.dim
        self.rho = float(rho)
        self.name = f"gaussian-{self.dim}-rho{self.rho:.6g}"

    @property
    def mi(self) -> float:
        return -0.5 * self.dim * math.log1p(-self.rho**2)

    def sample(self, n: int, seed=None):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
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
