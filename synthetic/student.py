"""Multivariate Student-t task with closed-form MI (Arellano-Valle et al., 2013)."""
from __future__ import annotations

import math

import numpy as np

from synthetic.base import Task, as_generator, check_n


def student_entropy(k: int, df: float) -> float:
    r"""Differential entropy (nats) of a standard k-variate Student-t with ``df`` degrees of freedom.

    .. math:: h = -\log\Gamma(\tfrac{\nu+k}2) + \log\Gamma(\tfrac\nu2) + \tfrac k2\log(\nu\pi)
              + \tfrac{\nu+k}2\left[\psi(\tfrac{\nu+k}2) - \psi(\tfrac\nu2)\right]

    Arellano-Valle, Contreras-Reyes & Genton (2013), Scand. J. Statist., Eq. (7).
    """
    from scipy import special

    a = 0.5 * (df + k)
    return float(-special.gammaln(a) + special.gammaln(0.5 * df) + 0.5 * k * math.log(df * math.pi)
                 + a * (special.digamma(a) - special.digamma(0.5 * df)))


def student_mi_correction(df: float, dim_x: int, dim_y: int) -> float:
    """MI excess of a Student-t over the Gaussian with the same dispersion: h_X + h_Y − h_XY
    of standard Student-t laws. Depends only on ν and the dimensions; → 0 as ν → ∞."""
    return student_entropy(dim_x, df) + student_entropy(dim_y, df) - student_entropy(dim_x + dim_y, df)


class MultivariateStudentT(Task):
    r"""(X, Y) ~ multivariate Student-t(mean, dispersion Σ, ν) with X the first ``dim_x`` coordinates.

    Sampled as mean + N(0, Σ) / sqrt(χ²_ν / ν); both marginals are Student-t with the same ν
    and the sub-blocks of Σ. Closed form

    .. math:: I = I_{\mathcal N}(\Sigma) + h_{\nu}(d_X) + h_{\nu}(d_Y) - h_{\nu}(d_X + d_Y)

    where I_N is the Gaussian MI of Σ and h_ν(k) the entropy of a standard k-variate t.
    Unlike a Gaussian, MI > 0 even for Σ = I (the shared χ² scale couples X and Y).
    Arellano-Valle et al. (2013); Czyż et al. (2023), "Beyond Normal", §3.
    """

    def __init__(self, dispersion, dim_x: int, df: float, mean=None, name: str | None = None):
        from scipy import special

        from synthetic.gaussian import MultivariateNormal

        if isinstance(df, bool) or not isinstance(df, (int, float, np.integer, np.floating)) \
                or not math.isfinite(df) or df <= 0:
            raise ValueError(f"df (degrees of freedom) must be a finite number > 0, got {df!r}")
        self._gauss = MultivariateNormal(dispersion, dim_x, mean=mean)
        self.df = float(df)
        self.dim_x, self.dim_y = self._gauss.dim_x, self._gauss.dim_y
        self.name = name or f"student-custom-{self.dim_x}-{self.dim_y}-{df:g}"
        g = self._gauss
        d = self.dim_x + self.dim_y
        sxx = g.cov[: self.dim_x, : self.dim_x]
        syy = g.cov[self.dim_x:, self.dim_x:]
        self._inv_x = np.linalg.inv(sxx)
        self._inv_y = np.linalg.inv(syy)
        self._inv = np.linalg.inv(g.cov)
        ld = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
        nu = self.df

        def const(k, logdet):
            return (special.gammaln(0.5 * (nu + k)) - special.gammaln(0.5 * nu)
                    - 0.5 * k * math.log(nu * math.pi) - 0.5 * logdet)
        self._c = const(d, ld(g.cov)) - const(self.dim_x, ld(sxx)) - const(self.dim_y, ld(syy))
        self._mi = g.mi + student_mi_correction(nu, self.dim_x, self.dim_y)

    @property
    def mi(self) -> float:
        return self._mi

    @property
    def dispersion(self) -> np.ndarray:
        return self._gauss.cov.copy()

    def sample(self, n: int, seed=None):
        n = check_n(n)
        rng = as_generator(seed)
        z = rng.standard_normal((n, self.dim_x + self.dim_y)) @ self._gauss._chol.T
        scale = np.sqrt(rng.chisquare(self.df, size=(n, 1)) / self.df)
        z = z / scale + self._gauss.mean
        return z[:, : self.dim_x].copy(), z[:, self.dim_x:].copy()

    def log_ratio(self, x, y):
        x = np.asarray(x, dtype=float) - self._gauss.mean[: self.dim_x]
        y = np.asarray(y, dtype=float) - self._gauss.mean[self.dim_x:]
        dx, nu, d = self.dim_x, self.df, self.dim_x + self.dim_y
        inv = self._inv
        qx = ((x @ self._inv_x) * x).sum(-1)
        qy = ((y @ self._inv_y) * y).sum(-1)
        q = ((x @ inv[:dx, :dx]) * x).sum(-1) + 2.0 * ((x @ inv[:dx, dx:]) * y).sum(-1) \
            + ((y @ inv[dx:, dx:]) * y).sum(-1)
        return (self._c - 0.5 * (nu + d) * np.log1p(q / nu)
                + 0.5 * (nu + dx) * np.log1p(qx / nu) + 0.5 * (nu + self.dim_y) * np.log1p(qy / nu))
