r"""Conditional mutual information I(X; Y | Z) without training: k-NN and Gaussian-copula (nats).

- :func:`ksg_cmi` -- the k-nearest-neighbour estimator of Frenzel & Pompe (2007) (also
  Vejmelka & Paluš 2008), KSG's construction in the joint (x, y, z) space:

  .. math::
     \hat I(X; Y \mid Z) = \psi(k) - \big\langle \psi(n_{xz} + 1) + \psi(n_{yz} + 1)
                            - \psi(n_z + 1) \big\rangle,

  with :math:`\varepsilon_i` the max-norm distance to the k-th neighbour of point i in the
  joint space and :math:`n_{xz}, n_{yz}, n_z` the numbers of other points strictly closer than
  :math:`\varepsilon_i` in the (x, z), (y, z) and z subspaces.
- :func:`gaussian_copula_cmi` -- the conditional Gaussian-copula value (Ince et al. 2017):
  every column replaced by its normal scores, then the Gaussian formula

  .. math::
     I = \tfrac12\big[\log\det\Sigma_{xz} + \log\det\Sigma_{yz} - \log\det\Sigma_z
         - \log\det\Sigma_{xyz}\big],

  with the exact Wishart bias correction of each log-determinant and a sandwich (influence
  function) standard error. Exact when the copula of (X, Y, Z) is Gaussian; otherwise the
  CMI of the Gaussian with the same normal-score correlations.

Frenzel, S. & Pompe, B. (2007), "Partial mutual information for coupling analysis of
multivariate time series", Phys. Rev. Lett. 99, 204101. Ince, R. A. A. et al. (2017), Human
Brain Mapping 38(3). This module imports numpy, scipy and scikit-learn only (no torch).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from mi_estimators._checks import as_rng, check_choice, check_int
from mi_estimators.copula import copula_normalize
from mi_estimators.nonparametric import _standardise, _sum_digamma_half
from mi_estimators.range_count import count_within

__all__ = ["ksg_cmi", "gaussian_copula_cmi", "CMI_ESTIMATORS"]

_TIE_NOISE = 1e-10


def _ksg_cmi_terms(x, y, z, k: int) -> np.ndarray:
    """Frenzel–Pompe pointwise terms on prepared (standardised, tie-broken) data."""
    joint = np.concatenate([x, y, z], axis=1)
    dist, _ = cKDTree(joint).query(joint, k=k + 1, p=np.inf)
    radius = np.nextafter(dist[:, k], 0.0)       # strictly closer than eps
    n_xz = count_within(np.concatenate([x, z], axis=1), radius, 1) - 1
    n_yz = count_within(np.concatenate([y, z], axis=1), radius, 1) - 1
    n_z = count_within(z, radius, 1) - 1
    return digamma(k) - digamma(n_xz + 1) - digamma(n_yz + 1) + digamma(n_z + 1)


def _prepare(arrays, rng, noise: float):
    """z-score each block (constant columns only centred) and break ties with tiny noise."""
    out = []
    for a in arrays:
        a, _ = _standardise(a)
        out.append(a + noise * np.maximum(np.abs(a).mean(axis=0), 1.0) * rng.standard_normal(a.shape))
    return out


def ksg_cmi(x, y, z, *, k: int = 3, n_blocks: int = 10, noise: float = _TIE_NOISE, seed=None) -> dict:
    """Frenzel–Pompe k-NN estimate of I(X; Y | Z) on checked float64 arrays: ``{"mi", "stderr", "details"}``.

    ``stderr``: the sd of the estimate on ``n_blocks`` disjoint random blocks over
    sqrt(n_blocks) (as for KSG). Columns are standardised and ties broken by noise of relative
    size ``noise``; the raw estimate can be slightly negative (kept in ``details["mi_raw"]``).
    """
    n = x.shape[0]
    k = check_int("k", k, 1, n - 1, what=f"an integer in [1, {n - 1}] (k-NN CMI needs k < n = {n} samples)")
    n_blocks = check_int("n_blocks", n_blocks, 2)
    if n // n_blocks <= k:
        raise ValueError(f"too few samples: n = {n} in n_blocks = {n_blocks} blocks of {n // n_blocks} "
                         f"must exceed k = {k} per block; give more samples or lower n_blocks")
    rng = as_rng(seed)
    x, y, z = _prepare((x, y, z), rng, noise)
    terms = _ksg_cmi_terms(x, y, z, k)
    blocks = np.array_split(rng.permutation(n), n_blocks)
    est = np.array([_ksg_cmi_terms(x[b], y[b], z[b], k).mean() for b in blocks])
    mi = float(terms.mean())
    return {"mi": mi, "stderr": float(est.std(ddof=1) / math.sqrt(n_blocks)),
            "details": {"estimator": "ksg", "k": k, "n": n, "n_blocks": n_blocks, "mi_raw": mi,
                        "block_estimates": est.tolist(), "standardized": True}}


def _whitened_logdet(u: np.ndarray, name: str):
    """(log det of the plug-in covariance of ``u``, rowwise u_i' S^{-1} u_i) for centred ``u``."""
    n, p = u.shape
    if p == 0:
        return 0.0, np.zeros(n)
    q, r = np.linalg.qr(u)
    diag = np.abs(np.diag(r))
    if diag.min() <= 1e-10 * max(np.linalg.norm(u, axis=0).max(), 1e-300):
        raise ValueError(f"the covariance of {name} is singular (a column is constant or a linear "
                         f"combination of the others); drop redundant columns of {name}")
    logdet = float(2.0 * np.log(diag).sum() - p * math.log(n))
    return logdet, n * (q ** 2).sum(axis=1)


def gaussian_copula_cmi(x, y, z, *, bias_correction: bool = True, normalized: bool = False, seed=None) -> dict:
    """The conditional Gaussian-copula value of I(X; Y | Z) on checked float64 arrays (see the module)."""
    del seed   # deterministic
    n, dx, dy, dz = x.shape[0], x.shape[1], y.shape[1], z.shape[1]
    if n < dx + dy + dz + 2:
        raise ValueError(f"the Gaussian-copula CMI needs n >= d_x + d_y + d_z + 2 = {dx + dy + dz + 2} samples "
                         f"for a non-singular covariance, got n = {n}")
    if not normalized:
        x, y, z = copula_normalize(x), copula_normalize(y), copula_normalize(z)
    x, y, z = (a - a.mean(axis=0) for a in (x, y, z))
    parts = {"(x, z)": np.hstack([x, z]), "(y, z)": np.hstack([y, z]), "z": z, "(x, y, z)": np.hstack([x, y, z])}
    (ld_xz, q_xz), (ld_yz, q_yz), (ld_z, q_z), (ld_all, q_all) = (
        _whitened_logdet(a, name) for name, a in parts.items())
    mi_plugin = 0.5 * (ld_xz + ld_yz - ld_z - ld_all)
    nu = n - 1   # n S ~ Wishart(n - 1): E log det S_p = log det Σ_p + Σ ψ((nu-i+1)/2) + p log(2/nu)
    bias = 0.5 * (_sum_digamma_half(nu, dx + dz) + _sum_digamma_half(nu, dy + dz)
                  - _sum_digamma_half(nu, dz) - _sum_digamma_half(nu, dx + dy + dz))
    mi = mi_plugin - bias if bias_correction else mi_plugin
    influence = 0.5 * (q_all + q_z - q_xz - q_yz)   # pointwise Gaussian conditional log-ratio
    se = float(influence.std(ddof=1) / math.sqrt(n))
    return {"mi": float(mi), "stderr": se,
            "details": {"estimator": "gaussian-copula", "n": n, "mi_plugin": float(mi_plugin),
                        "bias_correction": bool(bias_correction), "gaussian_bias": float(bias),
                        "stderr_method": "sandwich (empirical influence function)", "mi_raw": float(mi)}}


def _cmi_entry(name: str, impl, options: tuple[str, ...]):
    def run(x, y, z, *, seed=None, **opts) -> dict:
        for key in opts:
            check_choice(f"option for CMI estimator {name!r}:", key, options)
        return impl(x, y, z, seed=seed, **opts)

    run.__name__ = f"{name.replace('-', '_')}_cmi"
    run.__doc__ = f"CMI registry entry {name!r} on checked arrays: fn(x, y, z, *, seed=None, **options). Options: {', '.join(options)}."
    run.options = options
    return run


#: Conditional MI estimators that train nothing: name -> fn(x, y, z, *, seed, **options) -> dict.
CMI_ESTIMATORS = {
    "ksg": _cmi_entry("ksg", ksg_cmi, ("k", "n_blocks", "noise")),
    "gaussian-copula": _cmi_entry("gaussian-copula", gaussian_copula_cmi, ("bias_correction",)),
}
