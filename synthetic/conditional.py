"""Tasks with exact conditional mutual information I(X; Y | Z) (issue 18, item 5).

These are *not* :class:`synthetic.base.Task` objects: their ``sample(n, seed)`` returns
three arrays ``(x, y, z)``, so sweeps over two-variable tasks must not receive them. The
registry lists them under their own family key (``synthetic.list_tasks("cmi")``) and keeps
them out of the default ``list_tasks()``.

* :class:`GaussianCMI` — ``gaussian-cmi:dx=A,dy=B,dz=C,cmi=M[,mix=S]``: closed form.
* :class:`DiscreteCMI` — ``discrete-cmi:kx=K,ky=L,kz=M,seed=S[,alpha=A][,ci=1]``: exact by
  enumeration; ``ci=1`` builds p(x, y | z) = p(x | z) p(y | z), CMI exactly 0.
"""
from __future__ import annotations

import abc
import math

import numpy as np

from synthetic.base import as_generator, check_n
from synthetic.discrete import (MAX_LEVELS, _check_float, _check_int, _check_margins, _fmt,
                                dirichlet_pmf, entropy, levels)


class CMITask(abc.ABC):
    """A joint law p(x, y, z) with known conditional mutual information I(X; Y | Z).

    Attributes: ``name`` (stable string id, ``synthetic.get_task(name)`` rebuilds it),
    ``dim_x``, ``dim_y``, ``dim_z``, ``cmi`` (I(X; Y | Z) in nats), ``cmi_stderr`` (0 for
    closed forms and enumeration), ``mi`` (the unconditional I(X; Y) in nats where known,
    else NotImplementedError), ``mi_stderr``.
    ``sample(n, seed)`` returns float64 arrays ``(x, y, z)`` of shapes (n, dim_x), (n, dim_y),
    (n, dim_z). ``log_ratio(x, y, z)`` is the pointwise log p(x, y | z) / (p(x | z) p(y | z)),
    whose mean under the joint is ``cmi``; it broadcasts over leading dimensions.
    """

    name: str
    dim_x: int
    dim_y: int
    dim_z: int

    @property
    @abc.abstractmethod
    def cmi(self) -> float:
        """Conditional mutual information I(X; Y | Z) in nats."""

    @property
    def cmi_stderr(self) -> float:
        """Standard error of :attr:`cmi`: 0 for closed forms and exact enumeration."""
        return 0.0

    @property
    def mi(self) -> float:
        """Unconditional I(X; Y) in nats, where this task knows it."""
        raise NotImplementedError(f"{type(self).__name__} {self.name!r} has no known I(X; Y)")

    @property
    def mi_stderr(self) -> float:
        return 0.0

    @abc.abstractmethod
    def sample(self, n: int, seed=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n joint draws: float arrays of shape (n, dim_x), (n, dim_y), (n, dim_z)."""

    @abc.abstractmethod
    def log_ratio(self, x, y, z) -> np.ndarray:
        """Pointwise log p(x, y | z) / (p(x | z) p(y | z)); its joint mean is :attr:`cmi`."""

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.name}: dim_x={self.dim_x}, dim_y={self.dim_y}, "
                f"dim_z={self.dim_z}>")


def _logdet(m: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(m)
    if sign <= 0:  # pragma: no cover - covariances here are positive definite by construction
        raise ValueError("covariance is not positive definite")
    return float(value)


class GaussianCMI(CMITask):
    r"""Z ~ N(0, I_dz); X = A Z + e_x, Y = B Z + e_y; (e_x, e_y) independent of Z.

    Loadings: ``L = np.random.default_rng([dx, dy, dz]).standard_normal((max(dx, dy), dz))``
    with each row scaled to unit norm, A = mix · L[:dx], B = mix · L[:dy]: coordinate k of X
    and of Y load on the *same* direction of Z, so a large ``mix`` makes Z explain most of the
    X–Y dependence (I(X; Y) ≫ I(X; Y | Z)), the hard case for CMI estimators.
    Noise: e_x ~ N(0, I), e_y ~ N(0, I) with corr(e_x,k, e_y,k) = ρ for k < m = min(dx, dy)
    and 0 otherwise, ρ = sqrt(1 − exp(−2M/m)), so

    .. math:: I(X; Y | Z) = -\tfrac m2 \log(1-\rho^2) = M

    exactly, and the unconditional I(X; Y) = ½(log det Σ_XX + log det Σ_YY − log det Σ_(X,Y))
    with Σ_XX = AAᵀ + I, Σ_YY = BBᵀ + I, Σ_XY = ABᵀ + C (C = ρ on the first m diagonal
    entries). ``cov`` is the full (dx+dy+dz)² covariance of (X, Y, Z).
    """

    def __init__(self, dx: int, dy: int, dz: int, cmi: float, mix: float = 1.0):
        self.dim_x = _check_int("dx", dx, 1, 64)
        self.dim_y = _check_int("dy", dy, 1, 64)
        self.dim_z = _check_int("dz", dz, 1, 10)
        self._cmi = _check_float("cmi", cmi, 0.0, 1e3)
        self.mix = _check_float("mix", mix, 0.0, 100.0)
        m = min(self.dim_x, self.dim_y)
        self.rho = math.sqrt(-math.expm1(-2.0 * self._cmi / m))
        if self.rho >= 1.0:
            raise ValueError(f"cmi = {cmi} nats over {m} noise pairs needs rho = 1 (degenerate); lower it")
        self.name = (f"gaussian-cmi:dx={self.dim_x},dy={self.dim_y},dz={self.dim_z},cmi={_fmt(self._cmi)}"
                     + ("" if self.mix == 1.0 else f",mix={_fmt(self.mix)}"))
        rows = np.random.default_rng([self.dim_x, self.dim_y, self.dim_z]).standard_normal(
            (max(self.dim_x, self.dim_y), self.dim_z))
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        self.A = self.mix * rows[:self.dim_x]
        self.B = self.mix * rows[:self.dim_y]
        dx_, dy_, dz_ = self.dim_x, self.dim_y, self.dim_z
        c = np.zeros((dx_, dy_))
        c[np.arange(m), np.arange(m)] = self.rho
        cov = np.zeros((dx_ + dy_ + dz_,) * 2)
        ix, iy, iz = slice(0, dx_), slice(dx_, dx_ + dy_), slice(dx_ + dy_, None)
        cov[ix, ix] = self.A @ self.A.T + np.eye(dx_)
        cov[iy, iy] = self.B @ self.B.T + np.eye(dy_)
        cov[ix, iy] = self.A @ self.B.T + c
        cov[iy, ix] = cov[ix, iy].T
        cov[ix, iz], cov[iz, ix] = self.A, self.A.T
        cov[iy, iz], cov[iz, iy] = self.B, self.B.T
        cov[iz, iz] = np.eye(dz_)
        self.cov = cov
        sxy = cov[:dx_ + dy_, :dx_ + dy_]
        mi = 0.5 * (_logdet(cov[ix, ix]) + _logdet(cov[iy, iy]) - _logdet(sxy))
        self._mi = max(mi, 0.0)

    @property
    def cmi(self) -> float:
        return self._cmi

    @property
    def mi(self) -> float:
        return self._mi

    def sample(self, n: int, seed=None):
        n = check_n(n)
        rng = as_generator(seed)
        m, r = min(self.dim_x, self.dim_y), self.rho
        z = rng.standard_normal((n, self.dim_z))
        ex = rng.standard_normal((n, self.dim_x))
        ey = rng.standard_normal((n, self.dim_y))
        ey[:, :m] = r * ex[:, :m] + math.sqrt(1.0 - r * r) * ey[:, :m]
        return z @ self.A.T + ex, z @ self.B.T + ey, z

    def log_ratio(self, x, y, z):
        x, y, z = (np.asarray(a, dtype=float) for a in (x, y, z))
        m, r = min(self.dim_x, self.dim_y), self.rho
        a = (x - z @ self.A.T)[..., :m]
        b = (y - z @ self.B.T)[..., :m]
        s = 1.0 - r * r
        quad = (r * r * (a * a + b * b) - 2.0 * r * a * b).sum(axis=-1)
        return -0.5 * m * math.log(s) - quad / (2.0 * s)


class NonlinearCMI(GaussianCMI):
    r"""As :class:`GaussianCMI`, but Z acts through a non-monotone map: X = w(A Z) + e_x,
    Y = w(B Z) + e_y with :math:`w(u) = u + 2\sin(2u)` applied coordinate-wise.

    Given Z, X and Y are shifts of the same (e_x, e_y), so I(X; Y | Z) = M exactly, but the
    copula of (X, Y, Z) is not Gaussian (the conditional means bend), so the Gaussian-copula
    value is no longer exact. The unconditional I(X; Y) has no closed form (``mi`` raises).
    """

    def __init__(self, dx: int, dy: int, dz: int, cmi: float, mix: float = 1.0):
        super().__init__(dx, dy, dz, cmi, mix)
        self.name = "nonlinear-" + self.name[len("gaussian-"):]

    @staticmethod
    def warp(u):
        return u + 2.0 * np.sin(2.0 * u)

    @property
    def mi(self) -> float:
        raise NotImplementedError(f"{self.name}: the unconditional I(X; Y) has no closed form here")

    def sample(self, n: int, seed=None):
        x, y, z = super().sample(n, seed)
        return (x - z @ self.A.T + self.warp(z @ self.A.T), y - z @ self.B.T + self.warp(z @ self.B.T), z)

    def log_ratio(self, x, y, z):
        x, y, z = (np.asarray(a, dtype=float) for a in (x, y, z))
        za, zb = z @ self.A.T, z @ self.B.T
        return super().log_ratio(x - self.warp(za) + za, y - self.warp(zb) + zb, z)


class DiscreteCMI(CMITask):
    r"""X, Y, Z on K, L, M levels with a seeded Dirichlet joint pmf; exact by enumeration.

    ``rng = np.random.default_rng(seed)``. Default: p(x, y, z) = ``rng.dirichlet(alpha·1_{KLM})``.
    ``ci=1``: p(z) = ``rng.dirichlet(alpha·1_M)``, then p(x | z) for every z
    (``rng.dirichlet(alpha·1_K, size=M)``), then p(y | z) likewise, and
    p(x, y, z) = p(z) p(x | z) p(y | z): X ⊥ Y | Z, so ``cmi`` is exactly 0.0 (while I(X; Y)
    is generally > 0).

    .. math:: I(X;Y|Z) = \sum p(x,y,z)\log\frac{p(x,y,z)\,p(z)}{p(x,z)\,p(y,z)}

    ``mi`` is the unconditional I(X; Y), also by enumeration; ``hx``, ``hy``, ``hz`` are the
    entropies. ``sample`` returns integer-valued float columns (one each).
    """

    def __init__(self, kx: int, ky: int, kz: int, seed: int = 0, alpha: float = 1.0, ci: int = 0):
        self.kx = _check_int("kx", kx, 2, MAX_LEVELS)
        self.ky = _check_int("ky", ky, 2, MAX_LEVELS)
        self.kz = _check_int("kz", kz, 2, MAX_LEVELS)
        self.seed = _check_int("seed", seed, 0, 2**32 - 1)
        self.alpha = _check_float("alpha", alpha, 0.01, 1e4)
        self.ci = _check_int("ci", ci, 0, 1)
        self.dim_x = self.dim_y = self.dim_z = 1
        self.name = (f"discrete-cmi:kx={self.kx},ky={self.ky},kz={self.kz},seed={self.seed}"
                     + ("" if self.alpha == 1.0 else f",alpha={_fmt(self.alpha)}")
                     + (",ci=1" if self.ci else ""))
        rng = np.random.default_rng(self.seed)
        if self.ci:
            pz = rng.dirichlet(np.full(self.kz, self.alpha))
            px_z = rng.dirichlet(np.full(self.kx, self.alpha), size=self.kz)
            py_z = rng.dirichlet(np.full(self.ky, self.alpha), size=self.kz)
            pmf = np.einsum("z,zx,zy->xyz", pz, px_z, py_z)
            pmf = pmf / pmf.sum()
        else:
            pmf = dirichlet_pmf((self.kx, self.ky, self.kz), self.alpha, rng)
        _check_margins(pmf, self.name)
        self.pmf = pmf
        pxz, pyz, pz = pmf.sum(axis=1), pmf.sum(axis=0), pmf.sum(axis=(0, 1))
        pxy = pmf.sum(axis=2)
        px, py = pxy.sum(axis=1), pxy.sum(axis=0)
        with np.errstate(divide="ignore"):
            self._table = (np.log(pmf) + np.log(pz)[None, None, :]
                           - np.log(pxz)[:, None, :] - np.log(pyz)[None, :, :])
            mi_table = np.log(pxy) - np.log(px)[:, None] - np.log(py)[None, :]
        pos = pmf > 0
        self.hx, self.hy, self.hz = entropy(px), entropy(py), entropy(pz)
        cmi = float(np.sum(pmf[pos] * self._table[pos]))
        self._cmi = 0.0 if self.ci else min(max(cmi, 0.0), self.hx, self.hy)
        pos = pxy > 0
        self._mi = min(max(float(np.sum(pxy[pos] * mi_table[pos])), 0.0), self.hx, self.hy)

    @property
    def cmi(self) -> float:
        return self._cmi

    @property
    def mi(self) -> float:
        return self._mi

    def sample(self, n: int, seed=None):
        n = check_n(n)
        rng = as_generator(seed)
        idx = rng.choice(self.pmf.size, size=n, p=self.pmf.ravel())
        xi, yi, zi = np.unravel_index(idx, self.pmf.shape)
        return tuple(v.astype(float)[:, None] for v in (xi, yi, zi))

    def log_ratio(self, x, y, z):
        x, y, z = np.broadcast_arrays(*(np.asarray(a, dtype=float)[..., 0] for a in (x, y, z)))
        return self._table[levels(x, self.kx, "x"), levels(y, self.ky, "y"), levels(z, self.kz, "z")]
