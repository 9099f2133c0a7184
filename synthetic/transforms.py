r"""MI-invariant transforms: a wrapped task pushed through injective maps of x and/or y.

If f and g are injective (smooth, with smooth inverses on their images), then
(f(X), g(Y)) has the same KL-MI and the same φ-MI as (X, Y), and its pointwise MI is
the base one at the preimage: the Jacobians of p(f(x), g(y)), p(f(x)) and p(g(y))
cancel, so ``log_ratio(x', y') = base.log_ratio(f⁻¹(x'), g⁻¹(y'))``. A transformed task
is itself a task and its name composes: ``spiral-normal_cdf-<base name>``.

Maps (each elementwise unless said otherwise):

* ``cubic``: t ↦ t³ (Song & Ermon 2020 apply it to y);
* ``half_cube``: t ↦ t·|t|^{1/2} (Czyż et al. 2023);
* ``asinh``: t ↦ asinh t (tames Student-t tails);
* ``normal_cdf``: t ↦ Φ(t) (Gaussian → uniform marginals);
* ``wiggly``: t ↦ t + Σ a_i sin(ω_i t + φ_i), monotone (Σ|a_i ω_i| < 1), x and y use
  different waves as in bmi;
* ``spiral``: ℝ^n → ℝ^n, v ↦ exp(s‖v‖² A) v with A the generator of rotations in one
  coordinate plane ((0,1) for x; (1,2) for y when dim ≥ 3), s = speed / n;
* ``swissroll``: (0, 1) → ℝ², u ↦ (t cos t, t sin t)/21, t = 1.5π(1 + 2u) (an embedding;
  its left inverse reads u off the radius t = 21‖v‖);
* ``bimodal``: t ↦ F⁻¹(Φ(t)) for a two-component Gaussian-mixture CDF F (bmi's bimodal task).
"""
from __future__ import annotations

import math

import numpy as np

from synthetic.base import Task, check_choice, check_n


def _ndtr(t):
    from scipy import special  # lazy: keeps `import synthetic` light
    return special.ndtr(t)


def _ndtri(u):
    from scipy import special
    return special.ndtri(u)

# --------------------------------------------------------------------------- 1-D maps


def _bisect_inverse(f, z, lo, hi, iters: int = 80):
    """Vectorised bisection for the inverse of an increasing f with f(lo) ≤ z ≤ f(hi)."""
    lo = np.broadcast_to(np.asarray(lo, dtype=float), z.shape).copy()
    hi = np.broadcast_to(np.asarray(hi, dtype=float), z.shape).copy()
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = f(mid) < z
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _wiggly_x(t):
    return t + 0.4 * np.sin(1.0 * t) + 0.2 * np.sin(1.7 * t + 1) + 0.03 * np.sin(3.3 * t - 2.5)


def _wiggly_y(t):
    return t - 0.4 * np.sin(0.4 * t) + 0.17 * np.sin(1.3 * t + 3.5) + 0.02 * np.sin(4.3 * t - 2.5)


def _mixture_cdf(loc_a, loc_b, w_a):
    def cdf(t):
        return w_a * _ndtr(t - loc_a) + (1 - w_a) * _ndtr(t - loc_b)
    return cdf


_BIMODAL_X = _mixture_cdf(0.0, 5.0, 0.3)   # bmi: 0.3 Φ(t) + 0.7 Φ(t − 5)
_BIMODAL_Y = _mixture_cdf(-1.0, 3.0, 0.5)  # bmi: 0.5 Φ(t + 1) + 0.5 Φ(t − 3)


def _clip01(u):
    tiny = np.finfo(float).tiny
    return np.clip(u, tiny, 1.0 - np.finfo(float).epsneg)


class Map:
    """An injective map ℝ^d → ℝ^{d'} with its left inverse; ``side`` picks x or y variants."""

    def __init__(self, name, forward, inverse, out_dim=None):
        self.name, self.forward, self.inverse = name, forward, inverse
        self.out_dim = out_dim or (lambda d: d)


def _elementwise(name, fwd, inv):
    return lambda side, dim: Map(name, fwd, inv)


def _spiral_map(side: str, dim: int, speed: float = 1.0, normalize: bool = True) -> Map:
    if dim < 2:
        raise ValueError(f"spiral needs at least 2 dimensions on side {side!r}, got {dim}")
    i, j = (1, 2) if side == "y" and dim >= 3 else (0, 1)
    s = speed / dim if normalize else speed

    def rotate(v, sign):
        theta = sign * s * (v * v).sum(-1)
        c, sn = np.cos(theta), np.sin(theta)
        out = v.copy()
        out[..., i] = c * v[..., i] - sn * v[..., j]
        out[..., j] = sn * v[..., i] + c * v[..., j]
        return out
    return Map("spiral", lambda v: rotate(v, 1.0), lambda v: rotate(v, -1.0))


def _swissroll_map(side: str, dim: int) -> Map:
    if dim != 1:
        raise ValueError(f"swissroll embeds one coordinate in (0, 1); side {side!r} has {dim}")

    def fwd(u):
        t = 1.5 * np.pi * (1.0 + 2.0 * u[..., 0])
        return np.stack([t * np.cos(t), t * np.sin(t)], axis=-1) / 21.0

    def inv(v):
        t = 21.0 * np.sqrt((v * v).sum(-1))
        return ((t / (1.5 * np.pi) - 1.0) / 2.0)[..., None]
    return Map("swissroll", fwd, inv, out_dim=lambda d: 2)


def _wiggly_map(side: str, dim: int) -> Map:
    f = _wiggly_x if side == "x" else _wiggly_y
    return Map("wiggly", f, lambda z: _bisect_inverse(f, z, z - 1.0, z + 1.0))


def _bimodal_map(side: str, dim: int) -> Map:
    cdf = _BIMODAL_X if side == "x" else _BIMODAL_Y

    def fwd(t):
        u = _ndtr(t)
        return _bisect_inverse(cdf, u, np.full(u.shape, -40.0), np.full(u.shape, 45.0), iters=90)
    return Map("bimodal", fwd, lambda z: _ndtri(_clip01(cdf(z))))


MAPS = {
    "cubic": _elementwise("cubic", lambda t: t**3, np.cbrt),
    "half_cube": _elementwise("half_cube", lambda t: t * np.sqrt(np.abs(t)),
                              lambda z: np.sign(z) * np.abs(z) ** (2.0 / 3.0)),
    "asinh": _elementwise("asinh", np.arcsinh, np.sinh),
    "normal_cdf": _elementwise("normal_cdf", _ndtr, lambda u: _ndtri(_clip01(u))),
    "wiggly": _wiggly_map,
    "spiral": _spiral_map,
    "swissroll": _swissroll_map,
    "bimodal": _bimodal_map,
}


# --------------------------------------------------------------------------- the wrapper


class Transformed(Task):
    """``base`` pushed through per-side maps: (f(X), g(Y)). Same ``mi``, ``mi_stderr``, ``phi_mi``.

    ``transform_x`` / ``transform_y``: a name in :data:`MAPS`, a :class:`Map`, or None (identity). ``prefix``
    names the result ``f"{prefix}-{base.name}"`` (default: the transform name); ``name``
    overrides it.
    """

    def __init__(self, base: Task, transform_x: str | None = None, transform_y: str | None = None,
                 prefix: str | None = None, name: str | None = None, **map_params):
        if not isinstance(base, Task):
            raise ValueError(f"base must be a synthetic.Task, got {type(base).__name__}")
        if transform_x is None and transform_y is None:
            raise ValueError("give transform_x and/or transform_y")
        self.base = base
        self._fx = self._make(transform_x, "x", base.dim_x, map_params)
        self._fy = self._make(transform_y, "y", base.dim_y, map_params)
        self.dim_x = self._fx.out_dim(base.dim_x) if self._fx else base.dim_x
        self.dim_y = self._fy.out_dim(base.dim_y) if self._fy else base.dim_y
        self.transform_x, self.transform_y = transform_x, transform_y
        if name is None and prefix is None and not all(isinstance(k, (str, type(None)))
                                                       for k in (transform_x, transform_y)):
            raise ValueError("a task transformed by custom Map objects needs a name")
        self.name = name or f"{prefix or transform_x or transform_y}-{base.name}"

    @staticmethod
    def _make(kind, side, dim, params):
        if kind is None or isinstance(kind, Map):
            return kind
        check_choice("transform", kind, MAPS)
        return MAPS[kind](side, dim, **params) if params and kind == "spiral" else MAPS[kind](side, dim)

    @property
    def mi(self) -> float:
        return self.base.mi

    @property
    def mi_stderr(self) -> float:
        return self.base.mi_stderr

    def phi_mi(self, name: str, **params) -> float:
        """φ-MI is invariant under injective maps of x and of y: the base task's value."""
        return self.base.phi_mi(name, **params)

    def sample(self, n: int, seed=None):
        x, y = self.base.sample(check_n(n), seed)
        if self._fx:
            x = self._fx.forward(x)
        if self._fy:
            y = self._fy.forward(y)
        return x, y

    def inverse(self, x, y):
        """Map observed (x', y') back to the base task's space."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        return (self._fx.inverse(x) if self._fx else x), (self._fy.inverse(y) if self._fy else y)

    def log_ratio(self, x, y):
        return self.base.log_ratio(*self.inverse(x, y))

    def sample_with_labels(self, n: int, seed=None):
        """Labels from the base task (only when it has them, e.g. a latent-class mixture)."""
        if not hasattr(self.base, "sample_with_labels"):
            raise AttributeError(f"{self.base.name} has no labels")
        x, y, labels = self.base.sample_with_labels(n, seed)
        return (self._fx.forward(x) if self._fx else x), (self._fy.forward(y) if self._fy else y), labels


# ---------------------------------------------------------------- named constructors


def cubic(task: Task, side: str = "y") -> Transformed:
    """t ↦ t³ on ``side`` ('x', 'y' or 'both'); Song & Ermon (2020) use side='y'."""
    check_choice("side", side, ("x", "y", "both"))
    return Transformed(task, "cubic" if side in ("x", "both") else None,
                       "cubic" if side in ("y", "both") else None, prefix="cubic")


def _both(kind):
    def wrap(task: Task) -> Transformed:
        return Transformed(task, kind, kind, prefix=kind)
    wrap.__name__ = kind
    wrap.__doc__ = f"Apply the ``{kind}`` map to both x and y (see module docstring)."
    return wrap


half_cube = _both("half_cube")
asinh = _both("asinh")
normal_cdf = _both("normal_cdf")
wiggly = _both("wiggly")


def spiral(task: Task, speed: float = 1.0) -> Transformed:
    """bmi's spiral on both sides, speed normalised by dimension (speed / dim)."""
    if not math.isfinite(speed):
        raise ValueError(f"speed must be finite, got {speed!r}")
    return Transformed(task, "spiral", "spiral", prefix="spiral", speed=speed)


def swissroll_x(task: Task) -> Transformed:
    """Embed the one-dimensional x ∈ (0, 1) as a Swiss roll in ℝ² (bmi's ``swissroll_x``)."""
    return Transformed(task, "swissroll", None, prefix="swissroll_x")


def bimodal(task: Task, name: str | None = None) -> Transformed:
    """bmi's bimodal marginals: t ↦ F⁻¹(Φ(t)) with mixture CDFs for x and y."""
    return Transformed(task, "bimodal", "bimodal", prefix="bimodal", name=name)


#: prefix in a composed task name → constructor
PREFIXES = {
    "cubic": cubic, "half_cube": half_cube, "asinh": asinh, "normal_cdf": normal_cdf,
    "wiggly": wiggly, "spiral": spiral, "swissroll_x": swissroll_x, "bimodal": bimodal,
}
