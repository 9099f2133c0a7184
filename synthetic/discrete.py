"""Discrete and discrete–continuous tasks with exact ground truth (issue 18, item 5).

* :class:`DiscreteTable` — ``discrete:kx=K,ky=L,seed=S[,alpha=A]``: a K × L joint pmf drawn
  from ``np.random.default_rng(S).dirichlet(A·1)``; MI, H(X), H(Y) by enumeration.
* :class:`DiscretePairs` — ``discrete-pairs:pairs=P,k=K,seed=S[,alpha=A]``: P independent
  pairs side by side; pair j is the table of ``discrete:kx=K,ky=K,seed=S+j[,alpha=A]``.
* :class:`MixedGaussian` — ``mixed:k=K,sigma=S[,seed=N]``: X uniform on K levels,
  Y | X=i ~ N(μ_i, S²); I = h(Y) − ½ log(2πe S²) with h(Y) by adaptive quadrature.
* :class:`ZeroInflatedGaussian` — ``zero-inflated:p=P,rho=R``: a standard bivariate normal
  with correlation R, replaced by the common point mass (0, 0) with probability P;
  I = H_b(P) + (1 − P)·(−½ log(1 − R²)) exactly.

Discrete values are integer-valued float64 columns (levels 0..K−1). ``log_ratio`` raises
ValueError for an x or y value that is not a level of the task (it has no density ratio there).
"""
from __future__ import annotations

import math

import numpy as np

from synthetic.base import Task, as_generator, check_n

#: Largest number of levels per variable the tables accept (the brief asks for ~20).
MAX_LEVELS = 200


def _fmt(v: float) -> str:
    return f"{float(v):.6g}"


def _check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def _check_float(name: str, value, lo: float, hi: float, *, lo_open=False, hi_open=False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) \
        and math.isfinite(value)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
    if not ok:
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return float(value)


def _xlogx_sum(p: np.ndarray) -> float:
    """Σ p log p with 0 log 0 = 0."""
    p = np.asarray(p, dtype=float).ravel()
    p = p[p > 0]
    return float(np.sum(p * np.log(p)))


def entropy(p) -> float:
    """Shannon entropy (nats) of a pmf given as an array of any shape."""
    return max(-_xlogx_sum(p), 0.0)


def dirichlet_pmf(shape, alpha: float, rng) -> np.ndarray:
    """A pmf of ``shape`` drawn from Dirichlet(alpha·1) over all cells, from generator ``rng``."""
    size = int(np.prod(shape))
    pmf = rng.dirichlet(np.full(size, alpha)).reshape(shape)
    return pmf / pmf.sum()


def levels(values, k: int, what: str) -> np.ndarray:
    """Integer level indices of ``values`` (floats equal to 0..k−1), else ValueError."""
    v = np.asarray(values, dtype=float)
    idx = np.rint(v)
    bad = ~np.isfinite(v) | (idx != v) | (idx < 0) | (idx > k - 1)
    if np.any(bad):
        first = v[bad].ravel()[0]
        raise ValueError(f"{what} values must be the integer levels 0..{k - 1} of this task; "
                         f"got {first!r} (no density ratio off the support)")
    return idx.astype(np.intp)


def _check_margins(pmf: np.ndarray, name: str) -> None:
    for axis in range(pmf.ndim):
        margin = pmf.sum(axis=tuple(a for a in range(pmf.ndim) if a != axis))
        if np.any(margin <= 0):
            raise ValueError(f"{name}: the Dirichlet draw left a level with zero probability; "
                             "use another seed or a larger alpha")


class DiscreteTable(Task):
    r"""X ∈ {0..K−1}, Y ∈ {0..L−1} with joint pmf p drawn from a seeded Dirichlet.

    ``p = np.random.default_rng(seed).dirichlet(alpha · 1_{K·L}).reshape(K, L)``, so the name
    ``discrete:kx=K,ky=L,seed=S[,alpha=A]`` determines the law (alpha defaults to 1; smaller
    alpha gives sparser tables and larger MI).

    .. math:: I = \sum_{x,y} p(x,y) \log\frac{p(x,y)}{p(x)p(y)} \le \min(H(X), H(Y))

    by enumeration (exact). ``hx``, ``hy``, ``hxy`` are the entropies in nats; ``pmf``,
    ``px``, ``py`` the tables. ``log_ratio`` looks each pair up (−inf where p(x, y) = 0
    but p(x)p(y) > 0; ValueError for a value that is not a level).
    """

    def __init__(self, kx: int, ky: int, seed: int = 0, alpha: float = 1.0):
        self.kx = _check_int("kx", kx, 2, MAX_LEVELS)
        self.ky = _check_int("ky", ky, 2, MAX_LEVELS)
        self.seed = _check_int("seed", seed, 0, 2**32 - 1)
        self.alpha = _check_float("alpha", alpha, 0.01, 1e4)
        self.dim_x = self.dim_y = 1
        self.name = f"discrete:kx={self.kx},ky={self.ky},seed={self.seed}" + \
            ("" if self.alpha == 1.0 else f",alpha={_fmt(self.alpha)}")
        self.pmf = dirichlet_pmf((self.kx, self.ky), self.alpha, np.random.default_rng(self.seed))
        _check_margins(self.pmf, self.name)
        self.px, self.py = self.pmf.sum(axis=1), self.pmf.sum(axis=0)
        with np.errstate(divide="ignore"):
            self._table = np.log(self.pmf) - np.log(self.px)[:, None] - np.log(self.py)[None, :]
        self.hx, self.hy, self.hxy = entropy(self.px), entropy(self.py), entropy(self.pmf)
        pos = self.pmf > 0
        mi = float(np.sum(self.pmf[pos] * self._table[pos]))
        self._mi = min(max(mi, 0.0), self.hx, self.hy)

    @property
    def mi(self) -> float:
        return self._mi

    def sample_levels(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """n joint draws as integer level arrays (x, y), from the generator ``rng``."""
        idx = rng.choice(self.kx * self.ky, size=n, p=self.pmf.ravel())
        return np.divmod(idx, self.ky)

    def sample(self, n: int, seed=None):
        n = check_n(n)
        xi, yi = self.sample_levels(n, as_generator(seed))
        return xi.astype(float)[:, None], yi.astype(float)[:, None]

    def log_ratio_levels(self, x, y) -> np.ndarray:
        """log p(x,y)/(p(x)p(y)) for level values x, y (any broadcastable shapes)."""
        return self._table[levels(x, self.kx, "x"), levels(y, self.ky, "y")]

    def log_ratio(self, x, y):
        x = np.asarray(x, dtype=float)[..., 0]
        y = np.asarray(y, dtype=float)[..., 0]
        return self.log_ratio_levels(*np.broadcast_arrays(x, y))


class DiscretePairs(Task):
    """P independent discrete pairs side by side: x and y have P columns, column j of each
    from pair j = ``discrete:kx=K,ky=K,seed=S+j[,alpha=A]``. I = Σ_j I_j, H(X) = Σ_j H(X_j).

    Name ``discrete-pairs:pairs=P,k=K,seed=S[,alpha=A]``.
    """

    def __init__(self, pairs: int, k: int, seed: int = 0, alpha: float = 1.0):
        self.n_pairs = _check_int("pairs", pairs, 1, 64)
        self.k = _check_int("k", k, 2, MAX_LEVELS)
        self.seed = _check_int("seed", seed, 0, 2**32 - 1 - self.n_pairs)
        self.alpha = _check_float("alpha", alpha, 0.01, 1e4)
        self.pairs = [DiscreteTable(self.k, self.k, self.seed + j, self.alpha)
                      for j in range(self.n_pairs)]
        self.dim_x = self.dim_y = self.n_pairs
        self.name = f"discrete-pairs:pairs={self.n_pairs},k={self.k},seed={self.seed}" + \
            ("" if self.alpha == 1.0 else f",alpha={_fmt(self.alpha)}")
        self.hx = float(sum(p.hx for p in self.pairs))
        self.hy = float(sum(p.hy for p in self.pairs))
        self._mi = float(sum(p.mi for p in self.pairs))

    @property
    def mi(self) -> float:
        return self._mi

    def sample(self, n: int, seed=None):
        n = check_n(n)
        rng = as_generator(seed)
        cols = [pair.sample_levels(n, rng) for pair in self.pairs]
        x = np.stack([c[0] for c in cols], axis=1).astype(float)
        y = np.stack([c[1] for c in cols], axis=1).astype(float)
        return x, y

    def log_ratio(self, x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if x.shape[-1] != self.n_pairs or y.shape[-1] != self.n_pairs:
            raise ValueError(f"x and y need {self.n_pairs} columns, got {x.shape} and {y.shape}")
        x, y = np.broadcast_arrays(x, y)
        return sum(pair.log_ratio_levels(x[..., j], y[..., j]) for j, pair in enumerate(self.pairs))


class MixedGaussian(Task):
    r"""X uniform on {0..K−1}; Y | X=i ~ N(μ_i, σ²). Name ``mixed:k=K,sigma=S[,seed=N]``.

    μ_i = i without a seed; with ``seed=N``, μ_i = i + U(−0.3, 0.3) drawn from
    ``np.random.default_rng(N)`` (neighbouring means stay ≥ 0.4 apart).

    .. math:: I = h(Y) - \tfrac12\log(2\pi e\sigma^2) \le \log K,\qquad
              p(y) = \tfrac1K\sum_i \varphi_\sigma(y-\mu_i)

    with h(Y) = −∫ p log p by ``scipy.integrate.quad`` between consecutive breakpoints (the
    sorted means and their midpoints, ±14σ beyond the extremes), ``epsabs=1e-13``,
    ``epsrel=1e-12``. ``mi_stderr`` is the sum of quad's absolute error estimates (≈1e-12 or
    below); the tails cut off past ±14σ hold < 1e-40 nats. Computed on first access of ``mi``.
    ``log_ratio(x, y) = log φ_σ(y − μ_x) − log p(y)`` exactly.
    """

    def __init__(self, k: int, sigma: float, seed: int | None = None):
        self.k = _check_int("k", k, 2, MAX_LEVELS)
        self.sigma = _check_float("sigma", sigma, 1e-3, 1e3)
        self.seed = None if seed is None else _check_int("seed", seed, 0, 2**32 - 1)
        self.means = np.arange(self.k, dtype=float)
        if self.seed is not None:
            self.means = self.means + np.random.default_rng(self.seed).uniform(-0.3, 0.3, self.k)
        self.dim_x = self.dim_y = 1
        self.hx = math.log(self.k)
        self.name = f"mixed:k={self.k},sigma={_fmt(self.sigma)}" + \
            ("" if self.seed is None else f",seed={self.seed}")
        self._truth = None

    def log_py(self, y) -> np.ndarray:
        """log p(y) of the Gaussian mixture (log-sum-exp)."""
        y = np.asarray(y, dtype=float)
        z = (y[..., None] - self.means) / self.sigma
        a = -0.5 * z * z
        m = a.max(axis=-1)
        return m + np.log(np.exp(a - m[..., None]).sum(axis=-1)) \
            - math.log(self.k) - math.log(self.sigma) - 0.5 * math.log(2 * math.pi)

    def _quadrature(self) -> tuple[float, float]:
        from scipy.integrate import quad

        mu = np.sort(self.means)
        pts = np.concatenate([mu, 0.5 * (mu[1:] + mu[:-1])])
        pts = np.unique(np.concatenate([[mu[0] - 14 * self.sigma], pts, [mu[-1] + 14 * self.sigma]]))

        def integrand(t):
            lp = float(self.log_py(t))
            return -math.exp(lp) * lp

        h, err = 0.0, 0.0
        for a, b in zip(pts[:-1], pts[1:]):
            val, e = quad(integrand, a, b, epsabs=1e-13, epsrel=1e-12, limit=200)
            h, err = h + val, err + e
        mi = h - 0.5 * math.log(2 * math.pi * math.e * self.sigma**2)
        return min(max(mi, 0.0), self.hx), err

    @property
    def mi(self) -> float:
        if self._truth is None:
            self._truth = self._quadrature()
        return self._truth[0]

    @property
    def mi_stderr(self) -> float:
        if self._truth is None:
            self._truth = self._quadrature()
        return self._truth[1]

    def sample(self, n: int, seed=None):
        n = check_n(n)
        rng = as_generator(seed)
        xi = rng.integers(0, self.k, size=n)
        y = self.means[xi] + self.sigma * rng.standard_normal(n)
        return xi.astype(float)[:, None], y[:, None]

    def log_ratio(self, x, y):
        x = np.asarray(x, dtype=float)[..., 0]
        y = np.asarray(y, dtype=float)[..., 0]
        x, y = np.broadcast_arrays(x, y)
        mu = self.means[levels(x, self.k, "x")]
        z = (y - mu) / self.sigma
        log_cond = -0.5 * z * z - math.log(self.sigma) - 0.5 * math.log(2 * math.pi)
        return log_cond - self.log_py(y)


class ZeroInflatedGaussian(Task):
    r"""(X, Y) standard bivariate normal with correlation ρ, replaced by exactly (0, 0) with
    probability p (the common point mass of Gao et al., 2017). Name ``zero-inflated:p=P,rho=R``.

    dP_XY / d(P_X ⊗ P_Y) is 1/p at the atom (0, 0) (mass p against p·p), and
    φ_ρ(x, y) / ((1 − p) φ(x) φ(y)) off the axes; on the axes x = 0 xor y = 0 P_XY has no
    mass while P_X ⊗ P_Y does, so ``log_ratio`` is −inf there. Hence

    .. math:: I = -p\log p - (1-p)\log(1-p) + (1-p)\left(-\tfrac12\log(1-\rho^2)\right)

    exactly (equivalently: B = 1[X = 0] = 1[Y = 0] a.s., so I = H(B) + I(X; Y | B)).
    """

    def __init__(self, p: float, rho: float):
        self.p = _check_float("p", p, 0.0, 1.0, lo_open=True, hi_open=True)
        self.rho = _check_float("rho", rho, -1.0, 1.0, lo_open=True, hi_open=True)
        self.dim_x = self.dim_y = 1
        self.name = f"zero-inflated:p={_fmt(self.p)},rho={_fmt(self.rho)}"
        p, r = self.p, self.rho
        self.gaussian_mi = -0.5 * math.log1p(-r * r)
        self._mi = -p * math.log(p) - (1 - p) * math.log1p(-p) + (1 - p) * self.gaussian_mi

    @property
    def mi(self) -> float:
        return self._mi

    def sample(self, n: int, seed=None):
        n = check_n(n)
        rng = as_generator(seed)
        x = rng.standard_normal(n)
        y = self.rho * x + math.sqrt(1 - self.rho**2) * rng.standard_normal(n)
        atom = rng.random(n) < self.p
        x[atom] = 0.0
        y[atom] = 0.0
        return x[:, None], y[:, None]

    def log_ratio(self, x, y):
        x = np.asarray(x, dtype=float)[..., 0]
        y = np.asarray(y, dtype=float)[..., 0]
        x, y = np.broadcast_arrays(x, y)
        r, s = self.rho, 1.0 - self.rho**2
        cont = -0.5 * math.log(s) - (r * r * (x * x + y * y) - 2 * r * x * y) / (2 * s) \
            - math.log1p(-self.p)
        x0, y0 = x == 0, y == 0
        return np.where(x0 & y0, -math.log(self.p), np.where(x0 ^ y0, -np.inf, cont))
