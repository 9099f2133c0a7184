"""Additive uniform noise, 1 × 1 (Czyż et al., 2023): closed-form MI on a bounded support."""
from __future__ import annotations

import math

import numpy as np

from synthetic.base import Task, as_generator, check_n


class AdditiveUniform(Task):
    r"""X ~ U(0, 1), N ~ U(−ε, ε) independent, Y = X + N.

    .. math:: I(X; Y) = \begin{cases} ε - \log(2ε) & ε ≤ ½ \\ 1/(4ε) & ε > ½ \end{cases}

    (h(Y) − h(N) with the trapezoidal density of Y). ``log_ratio`` is −inf for pairs
    with |y − x| > ε inside the support (p(x, y) = 0 while p(x)p(y) > 0) and NaN outside
    the support of the marginals; an oracle score matrix therefore holds −inf entries.
    """

    def __init__(self, epsilon: float, name: str | None = None):
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.integer, np.floating)) \
                or not math.isfinite(epsilon) or epsilon <= 0:
            raise ValueError(f"epsilon must be a finite number > 0, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.dim_x = self.dim_y = 1
        self.name = name or f"1v1-additive-{epsilon}"

    @property
    def mi(self) -> float:
        e = self.epsilon
        return 0.25 / e if e > 0.5 else e - math.log(2.0 * e)

    def sample(self, n: int, seed=None):
        n = check_n(n)
        rng = as_generator(seed)
        x = rng.uniform(0.0, 1.0, size=(n, 1))
        y = x + rng.uniform(-self.epsilon, self.epsilon, size=(n, 1))
        return x, y

    def _density_y(self, y):
        """p(y) = |[y−ε, y+ε] ∩ [0, 1]| / (2ε)."""
        e = self.epsilon
        overlap = np.clip(np.minimum(y + e, 1.0) - np.maximum(y - e, 0.0), 0.0, None)
        return overlap / (2.0 * e)

    def log_ratio(self, x, y):
        x = np.asarray(x, dtype=float)[..., 0]
        y = np.asarray(y, dtype=float)[..., 0]
        x, y = np.broadcast_arrays(x, y)
        e = self.epsilon
        py = self._density_y(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(np.abs(y - x) <= e, -math.log(2.0 * e) - np.log(py), -np.inf)
        outside = (x < 0) | (x > 1) | (py <= 0)
        return np.where(outside, np.nan, out)
