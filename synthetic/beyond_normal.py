"""The "Beyond Normal" benchmark (Czyż et al., NeurIPS 2023), rebuilt from the bmi package's
task definitions (benchmark-mi, cbg-ethz/bmi) under the same ids and with the same ground truth.

* 40 standard tasks (bmi's ``BENCHMARK_TASKS_LIST``): closed-form MI (Gaussians, Student-t,
  additive uniform noise) and MI-invariant transforms of them.
* 9 mixture tasks (bmi's ``tasks/mixtures.py``, from Czyż et al. 2023, "the mixtures and the
  neural critics"): MI by Monte Carlo of the exact pointwise MI, here with a smaller standard
  error than bmi's 100k-draw estimate.

Published values: ``synthetic/data/beyond_normal_truth.tsv`` (:func:`published_truth`).
Where bmi's code changed over time without changing MI, the choice is stated: the spiral uses
the later ``normalize_speed`` convention (speed 1/dim, identical to the earlier fixed 1/3 at
3 × 3).
"""
from __future__ import annotations

import functools
import math
from importlib import resources

import numpy as np

from synthetic.additive import AdditiveUniform
from synthetic.gaussian import MultivariateNormal
from synthetic.mixtures import GaussianMixture
from synthetic.student import MultivariateStudentT
from synthetic.transforms import (Map, Transformed, asinh, bimodal, half_cube, normal_cdf,
                                  spiral, swissroll_x, wiggly)


@functools.lru_cache(maxsize=1)
def published_truth() -> dict:
    """{task id: published MI (nats)} from bmi 0.1.3, as shipped in ``synthetic/data``."""
    text = resources.files("synthetic").joinpath("data/beyond_normal_truth.tsv").read_text()
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return {name: float(mi) for name, mi in rows}


# ------------------------------------------------------------------ covariance builders


def dense_covariance(dim_x: int, dim_y: int, off_diag: float = 0.5) -> np.ndarray:
    """bmi's dense matrix: 1 on the diagonal, ``off_diag`` everywhere else (within and across)."""
    return np.eye(dim_x + dim_y) * (1.0 - off_diag) + off_diag


def lvm_correlation(dim_x: int, dim_y: int, n_interacting: int, alpha: float, lambd: float,
                    beta: float = 0.0, eta: float = 0.0, epsilon: float = 1.0) -> np.ndarray:
    """Correlation matrix of bmi's ``GaussianLVMParametrization`` (latent-variable model).

    Latents U_all (weight α, shared by all), U_X / U_Y (β, within a side), Z_i (λ, shared by
    X_i and Y_i for i < n_interacting), E_i / F_i (ε, own noise), V_i / W_i (η, extra noise
    on the non-interacting coordinates so every variance is equal when η = λ).
    """
    n = dim_x + dim_y
    cov = np.full((n, n), alpha**2)
    cov[:dim_x, :dim_x] += beta**2
    cov[dim_x:, dim_x:] += beta**2
    cov[np.diag_indices(n)] += epsilon**2
    for i in range(n_interacting):
        j = dim_x + i
        cov[i, j] += lambd**2
        cov[j, i] += lambd**2
        cov[i, i] += lambd**2
        cov[j, j] += lambd**2
    for i in range(n_interacting, dim_x):
        cov[i, i] += eta**2
    for j in range(dim_x + n_interacting, n):
        cov[j, j] += eta**2
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def sparse_covariance(dim_x: int, dim_y: int, n_interacting: int = 2, strength: float = 2.0):
    """bmi's "sparse" (2-pair) matrix: corr(X_i, Y_i) = λ²/(1 + λ²) = 0.8 for i < 2, else 0."""
    return lvm_correlation(dim_x, dim_y, n_interacting, alpha=0.0, lambd=strength, beta=0.0,
                           eta=strength)


def canonical_covariance(rhos, additional_y: int = 0) -> np.ndarray:
    """bmi's ``canonical_correlation``: cov(X_i, Y_i) = ρ_i, unit variances, else 0."""
    dx = len(rhos)
    dy = dx + additional_y
    cov = np.eye(dx + dy)
    for i, r in enumerate(rhos):
        cov[i, dx + i] = cov[dx + i, i] = r
    return cov


# ------------------------------------------------------------------ standard tasks


def bivariate_normal(rho: float = 0.75) -> MultivariateNormal:
    return MultivariateNormal(canonical_covariance([rho]), 1, name=f"1v1-normal-{rho}")


def multinormal_dense(dim_x: int, dim_y: int, off_diag: float = 0.5) -> MultivariateNormal:
    return MultivariateNormal(dense_covariance(dim_x, dim_y, off_diag), dim_x,
                              name=f"multinormal-dense-{dim_x}-{dim_y}-{off_diag}")


def multinormal_sparse(dim_x: int, dim_y: int, n_interacting: int = 2,
                       strength: float = 2.0) -> MultivariateNormal:
    return MultivariateNormal(sparse_covariance(dim_x, dim_y, n_interacting, strength), dim_x,
                              name=f"multinormal-sparse-{dim_x}-{dim_y}-{n_interacting}-{strength}")


def student_identity(dim_x: int, dim_y: int, df: int) -> MultivariateStudentT:
    return MultivariateStudentT(np.eye(dim_x + dim_y), dim_x, df,
                                name=f"student-identity-{dim_x}-{dim_y}-{df}")


def additive_noise(epsilon: float) -> AdditiveUniform:
    return AdditiveUniform(epsilon, name=f"1v1-additive-{epsilon}")


def bimodal_gaussians(rho: float = 0.75) -> Transformed:
    return bimodal(bivariate_normal(rho), name=f"1v1-bimodal-{rho}")


# ------------------------------------------------------------------ mixture tasks


def task_x(rho: float = 0.9) -> GaussianMixture:
    """"X": ½ N(0, [[1, ρ], [ρ, 1]]) + ½ N(0, [[1, −ρ], [−ρ, 1]])."""
    covs = np.stack([canonical_covariance([s * rho]) for s in (-1, 1)])
    return GaussianMixture([0.5, 0.5], np.zeros((2, 2)), covs, 1, name=f"1v1-X-{rho}")


def task_ai() -> GaussianMixture:
    """"AI": six 2-D Gaussians drawing the letters A and I."""
    corr, var_x = 0.95, 0.04
    c = math.sqrt(var_x * 0.2) * corr
    means = [[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [-0.8, -0.2], [-1.2, 0.0], [-0.4, 0.0]]
    covs = [np.diag([0.01, 0.2]), np.diag([0.05, 0.001]), np.diag([0.05, 0.001]),
            np.diag([0.03, 0.001]), [[var_x, c], [c, 0.2]], [[var_x, -c], [-c, 0.2]]]
    return GaussianMixture(np.full(6, 1 / 6), means, np.array(covs, dtype=float), 1, name="1v1-AI")


def task_galaxy(speed: float = 0.5, distance: float = 3.0) -> Transformed:
    """"Galaxy": two unit balls in ℝ³ at ±(d/2)(1, 1, 1), x = first two coordinates, spiralled
    by v ↦ exp(s‖v‖² A) v with A the planar rotation generator (speed not normalised)."""
    means = np.array([[-1.0] * 3, [1.0] * 3]) * distance / 2
    base = GaussianMixture([0.5, 0.5], means, np.stack([np.eye(3)] * 2), 2,
                           name=f"2v1-balls-{distance}")
    return Transformed(base, "spiral", None, name=f"2v1-galaxy-{speed}-{distance}",
                       speed=speed, normalize=False)


def _waves_map(amplitude: float, frequency: float) -> Map:
    def fwd(v):
        out = np.empty_like(v)
        out[..., 0] = 0.1 * (v[..., 0] + amplitude * np.sin(frequency * v[..., 1])) - 0.8
        out[..., 1] = 0.5 * v[..., 1]
        return out

    def inv(z):
        out = np.empty_like(z)
        out[..., 1] = z[..., 1] / 0.5
        out[..., 0] = (z[..., 0] + 0.8) / 0.1 - amplitude * np.sin(frequency * out[..., 1])
        return out
    return Map("waves", fwd, inv)


def task_waves(n_components: int = 12, amplitude: float = 5.0, frequency: float = 3.0):
    """"Waves": K Gaussians diag(0.1, 1, 0.1) at 1.5·(k, 0, k mod 4), x = first two coordinates
    sheared by x₀ += a sin(f x₁) and rescaled to (0.1 x₀ − 0.8, 0.5 x₁)."""
    k = np.arange(n_components, dtype=float)
    means = 1.5 * np.stack([k, np.zeros_like(k), k % 4], axis=1)
    covs = np.stack([np.diag([0.1, 1.0, 0.1])] * n_components)
    base = GaussianMixture(np.full(n_components, 1.0 / n_components), means, covs, 2,
                           name=f"2v1-wavesbase-{n_components}")
    return Transformed(base, _waves_map(amplitude, frequency), None,
                       name=f"2v1-waves-{n_components}-{amplitude}-{frequency}")


def task_concentric(dim_x: int, n_components: int = 3) -> GaussianMixture:
    """"Concentric": y ≈ i (sd 0.01) and x ~ N(0, i² I), i = 1..K equiprobable."""
    i = np.arange(1, n_components + 1, dtype=float)
    means = np.zeros((n_components, dim_x + 1))
    means[:, -1] = i
    covs = np.stack([np.diag([v**2] * dim_x + [1e-4]) for v in i])
    return GaussianMixture(np.full(n_components, 1.0 / n_components), means, covs, dim_x,
                           name=f"{dim_x}v1-concentric_gaussians-{n_components}")


def task_sparse_with_inliers(dim_x: int, dim_y: int, n_interacting: int = 2,
                             strength: float = 2.0, inlier_fraction: float = 0.2):
    """Sparse multinormal mixed with its own product of marginals (weight ``inlier_fraction``)."""
    if not 0.0 <= inlier_fraction <= 1.0:
        raise ValueError(f"inlier_fraction must lie in [0, 1], got {inlier_fraction}")
    cov = sparse_covariance(dim_x, dim_y, n_interacting, strength)
    product = cov.copy()
    product[:dim_x, dim_x:] = 0.0
    product[dim_x:, :dim_x] = 0.0
    return GaussianMixture([1 - inlier_fraction, inlier_fraction],
                           np.zeros((2, dim_x + dim_y)), np.stack([cov, product]), dim_x,
                           name=(f"mult-sparse-w-inliers-{dim_x}-{dim_y}-{n_interacting}-"
                                 f"{strength}-{inlier_fraction}"))


# ------------------------------------------------------------------ the suite


def _standard():
    binormal = lambda: bivariate_normal(0.75)  # noqa: E731
    uniform = lambda: normal_cdf(binormal())  # noqa: E731
    sp = multinormal_sparse
    tasks = {
        "1v1-normal-0.75": binormal,
        "normal_cdf-1v1-normal-0.75": uniform,
        "1v1-additive-0.1": lambda: additive_noise(0.1),
        "1v1-additive-0.75": lambda: additive_noise(0.75),
        "1v1-bimodal-0.75": lambda: bimodal_gaussians(0.75),
        "wiggly-1v1-normal-0.75": lambda: wiggly(binormal()),
        "half_cube-1v1-normal-0.75": lambda: half_cube(binormal()),
        "student-identity-1-1-1": lambda: student_identity(1, 1, 1),
        "asinh-student-identity-1-1-1": lambda: asinh(student_identity(1, 1, 1)),
        "swissroll_x-normal_cdf-1v1-normal-0.75": lambda: swissroll_x(uniform()),
    }
    for d in (2, 3, 5, 25, 50):
        tasks[f"multinormal-dense-{d}-{d}-0.5"] = functools.partial(multinormal_dense, d, d, 0.5)
    for d in (2, 3, 5, 25):
        tasks[f"multinormal-sparse-{d}-{d}-2-2.0"] = functools.partial(sp, d, d, 2, 2.0)
    for d, df in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3)):
        tasks[f"student-identity-{d}-{d}-{df}"] = functools.partial(student_identity, d, d, df)
    for wrap, prefix in ((normal_cdf, "normal_cdf"), (half_cube, "half_cube"), (spiral, "spiral")):
        for d in (3, 5, 25):
            tasks[f"{prefix}-multinormal-sparse-{d}-{d}-2-2.0"] = \
                functools.partial(lambda w, d: w(sp(d, d, 2, 2.0)), wrap, d)
    for d in (3, 5, 25):
        tasks[f"spiral-normal_cdf-multinormal-sparse-{d}-{d}-2-2.0"] = \
            functools.partial(lambda d: spiral(normal_cdf(sp(d, d, 2, 2.0))), d)
    for d, df in ((2, 1), (3, 2), (5, 2)):
        tasks[f"asinh-student-identity-{d}-{d}-{df}"] = \
            functools.partial(lambda d, df: asinh(student_identity(d, d, df)), d, df)
    return tasks


def _mixtures():
    return {
        "1v1-X-0.9": lambda: task_x(0.9),
        "1v1-AI": task_ai,
        "2v1-galaxy-0.5-3.0": lambda: task_galaxy(0.5, 3.0),
        "2v1-waves-12-5.0-3.0": lambda: task_waves(12, 5.0, 3.0),
        "3v1-concentric_gaussians-5": lambda: task_concentric(3, 5),
        "5v1-concentric_gaussians-10": lambda: task_concentric(5, 10),
        "25v1-concentric_gaussians-5": lambda: task_concentric(25, 5),
        "mult-sparse-w-inliers-5-5-2-2.0-0.2": lambda: task_sparse_with_inliers(5, 5, 2, 2.0, 0.2),
        "mult-sparse-w-inliers-25-25-2-2.0-0.5": lambda: task_sparse_with_inliers(25, 25, 2, 2.0, 0.5),
    }


#: id → zero-argument constructor, in the published order (40 standard, then 9 mixtures).
STANDARD_TASKS = _standard()
MIXTURE_TASKS = _mixtures()
SUITE = {**STANDARD_TASKS, **MIXTURE_TASKS}
