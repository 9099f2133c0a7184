r"""Non-neural reference estimators of KL mutual information (nats).

Four baselines, each usable on its own or through :func:`mi_estimators.estimate_mi`
(names ``"ksg"``, ``"cca"``, ``"gaussian-copula"``, ``"sklearn-mi"`` in
:data:`NONPARAMETRIC_ESTIMATORS`):

- :func:`ksg_mi` -- the joint multivariate k-nearest-neighbour estimator of Kraskov,
  Stögbauer & Grassberger (2004), "estimator 1" (KSG-1), on KD-trees: O(n log n).
- :func:`gaussian_mi` (alias :func:`cca_mi`) -- the Gaussian / canonical-correlation
  estimator :math:`-\tfrac12\sum_i\log(1-r_i^2)`, exact (unbiased) for Gaussians.
- ``"gaussian-copula"`` -- the same estimator on the normal scores of every column
  (GCMI, Ince et al. 2017): invariant under monotone maps of each coordinate, exact when the
  copula is Gaussian and a lower estimate otherwise (``auto`` reports it when its
  Gaussian-copula test passes).
- :func:`sklearn_mi` -- scikit-learn's ``mutual_info_regression`` applied feature by
  feature and summed. **A sum of per-feature MIs is not the joint MI** I(X; Y): it
  double-counts redundant features and misses synergistic ones; it is offered only to
  compare with what people commonly run.

The plain functions return a float (``full_output=True`` gives the registry's dict).
The registry entries all have the signature
``fn(x, y, *, seed=None, **options) -> {"mi": float, "stderr": float, "details": dict}`` (plus
``"warnings"``, a list of caveats about the value, where there are any).
This module imports numpy, scipy and scikit-learn only (no torch).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from mi_estimators._checks import as_rng, check_choice, check_int, check_xy
from mi_estimators.canonical import canonical_parts, whitened_rows
from mi_estimators.chunks import row_chunks
from mi_estimators.discrete import _discrete, _mixed_ksg
from mi_estimators.range_count import count_within, thread_count
from mi_estimators.result import Caveat, MIResult, emit_warnings, normal_interval, to_jsonable

__all__ = [
    "NONPARAMETRIC_ESTIMATORS",
    "estimate_nonparametric",
    "run_nonparametric",
    "NONPARAMETRIC",
    "ksg_mi",
    "gaussian_mi",
    "cca_mi",
    "sklearn_mi",
]

# Relative scale of the tie-breaking noise added to standardised data (sklearn uses 1e-10 too).
_TIE_NOISE = 1e-10


# ---------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------
def _standardise(a: np.ndarray) -> tuple[np.ndarray, int]:
    """(a - mean) / std per column; constant columns are only centred. Returns #constant."""
    a = a - a.mean(axis=0)
    sd = a.std(axis=0)
    const = sd == 0
    sd[const] = 1.0
    return a / sd, int(const.sum())


# ---------------------------------------------------------------------------------------
# KSG
# ---------------------------------------------------------------------------------------
def _ksg_pointwise(
    x: np.ndarray, y: np.ndarray, k: int, workers: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """KSG-1 neighbour statistics: (eps, n_x, n_y) for every sample, with O(n log n) trees.

    ``eps[i]`` is the max-norm distance from z_i = (x_i, y_i) to its k-th nearest neighbour
    in the joint space; ``n_x[i] = #{j != i : ||x_j - x_i||_inf < eps[i]}`` (strict), and
    likewise ``n_y``. The strict inequality is a count within radius nextafter(eps, 0): the
    joint KD-tree and the marginal counts (:func:`mi_estimators.range_count.count_within`) test
    the same float subtractions per column, so the comparison is exact. Where ``eps[i] = 0``
    (duplicated points) no radius is below it: the count is then of the exact duplicates, not 0,
    and :func:`ksg_mi` warns that the data hold ties.

    The points are queried in the tree's own order (``cKDTree.indices``: neighbouring queries
    visit the same nodes, so they hit the cache); the answers are put back in sample order.
    At n = 10^6, 1 + 1 dims this halved the joint query (2.1 s -> 0.95 s, same distances).
    """
    z = np.concatenate([x, y], axis=1)
    tree = cKDTree(z, balanced_tree=False, compact_nodes=False)   # faster to build; the same distances
    order = tree.indices
    n_threads = thread_count(workers, z.shape[0])
    dist, _ = tree.query(z[order], k=[k + 1], p=np.inf, workers=n_threads)   # the (k+1)-th only (self is 1st)
    eps = np.empty(z.shape[0])
    eps[order] = dist[:, 0]
    radius = np.nextafter(eps, 0.0)
    if n_threads > 1:   # the two sides at once (numpy and the trees release the GIL)
        with ThreadPoolExecutor(2) as pool:
            sides = list(pool.map(lambda a: count_within(a, radius, max(1, n_threads // 2)), (x, y)))
    else:
        sides = [count_within(a, radius, 1) for a in (x, y)]
    return eps, sides[0] - 1, sides[1] - 1


def _ksg_estimate(x: np.ndarray, y: np.ndarray, k: int, workers: int) -> tuple[float, np.ndarray, np.ndarray]:
    """KSG-1 estimate on prepared data, and its pointwise terms and eps."""
    n = x.shape[0]
    eps, n_x, n_y = _ksg_pointwise(x, y, k, workers)
    terms = digamma(k) + digamma(n) - digamma(n_x + 1) - digamma(n_y + 1)
    return float(terms.mean()), terms, eps


_KSG_STDERR = ("blocks", "pointwise")


def _ksg(
    x,
    y,
    *,
    k: int = 3,
    standardize: bool = True,
    noise: float = _TIE_NOISE,
    stderr: str = "blocks",
    n_blocks: int = 10,
    workers: int = -1,
    seed=None,
) -> dict:
    n = x.shape[0]
    k = check_int("k", k, 1, n - 1, what=f"an integer in [1, {n - 1}] (KSG needs k < n = {n} samples)")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0 (relative scale), got {noise!r}")
    if not isinstance(standardize, (bool, np.bool_)):
        raise ValueError(f"standardize must be True or False, got {standardize!r}")
    workers = check_int("workers", workers, -1)
    if workers == 0:
        raise ValueError("workers must be -1 (all cores) or a positive integer, got 0")
    stderr = check_choice("KSG stderr method", stderr, _KSG_STDERR)
    if stderr == "blocks":
        n_blocks = check_int("n_blocks", n_blocks, 2)
        if n // n_blocks <= k:
            raise ValueError(
                f"stderr='blocks' splits the n = {n} samples into n_blocks = {n_blocks} blocks of "
                f"{n // n_blocks}, which must exceed k = {k}; lower n_blocks or use stderr='pointwise'"
            )
    rng = as_rng(seed)

    n_const = 0
    if standardize:
        x, cx = _standardise(x)
        y, cy = _standardise(y)
        n_const = cx + cy
    if noise > 0:
        # Scale of each column (1 after standardising): like sklearn, noise relative to it.
        sx = np.maximum(np.abs(x).mean(axis=0), 1.0)
        sy = np.maximum(np.abs(y).mean(axis=0), 1.0)
        x = x + noise * sx * rng.standard_normal(x.shape)
        y = y + noise * sy * rng.standard_normal(y.shape)

    mi, terms, eps = _ksg_estimate(x, y, k, workers)

    details = {
        "estimator": "ksg",
        "k": k,
        "n": n,
        "standardized": bool(standardize),
        "noise": float(noise),
        "stderr_method": stderr,
        "stderr_pointwise": float(terms.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
        "median_eps": float(np.median(eps)),
    }
    if n_const:
        details["constant_columns"] = n_const
    # Ties that the noise had to break: with noise 1e-10 an eps this small means duplicates.
    scale = max(np.abs(x).mean(axis=0).max(), np.abs(y).mean(axis=0).max(), 1.0)
    n_tied = int((eps <= 1e4 * noise * scale).sum())
    caveats = []
    if n_tied:
        details["tied_points"] = n_tied
        caveats.append(Caveat(
            f"KSG: {n_tied} of {n} samples have their neighbour number {k} at (near) zero distance, "
            "i.e. the data hold duplicates or are discrete; KSG assumes continuous densities and "
            "its estimate is then unreliable (estimator='discrete' or 'mixed-ksg' handle such data)",
            RuntimeWarning))

    if stderr == "pointwise":
        se = details["stderr_pointwise"]
    else:
        # Disjoint random blocks of ~n/m samples; Var(I_n) ~ Var(I_{n/m}) / m assumes the
        # variance scales like 1/n (Holmes & Nemenman 2019), so se = sd(block estimates)/sqrt(m).
        perm = rng.permutation(n)
        blocks = np.array_split(perm, n_blocks)
        with ThreadPoolExecutor(thread_count(workers, n)) as pool:   # one thread per block at a time
            est = np.array(list(pool.map(lambda b: _ksg_estimate(x[b], y[b], k, 1)[0], blocks)))
        se = float(est.std(ddof=1) / math.sqrt(n_blocks))
        details["n_blocks"] = n_blocks
        details["block_estimates"] = est.tolist()
    return {"mi": mi, "stderr": se, "details": details, "warnings": caveats}


def ksg_mi(
    x,
    y,
    k: int = 3,
    *,
    standardize: bool = True,
    noise: float = _TIE_NOISE,
    stderr: str = "blocks",
    n_blocks: int = 10,
    workers: int = -1,
    seed=None,
    full_output: bool = False,
):
    r"""Kraskov–Stögbauer–Grassberger k-NN estimate of I(X; Y) in nats (KSG estimator 1).

    .. math::
        \hat I = \psi(k) + \psi(n) - \frac1n\sum_{i=1}^n\big[\psi(n_x(i)+1) + \psi(n_y(i)+1)\big]

    where :math:`\varepsilon_i` is the max-norm distance from :math:`z_i = (x_i, y_i)` to
    its k-th nearest neighbour in the joint space, and :math:`n_x(i)` counts the
    :math:`j \ne i` with :math:`\|x_j - x_i\|_\infty < \varepsilon_i` (strict), likewise
    :math:`n_y(i)`. The k-NN search uses ``scipy.spatial.cKDTree``; the counts use a sorted
    search for a one-column side, a wavelet matrix over the two columns' ranks for a two-column
    side and ``sklearn.neighbors.KDTree`` otherwise (:mod:`mi_estimators.range_count`):
    O(n log n) in low dimension (KD-trees degrade towards O(n²) as the dimension grows).

    Parameters
    ----------
    x, y : arrays (n, dx), (n, dy) (1-D arrays are one feature).
    k : neighbours (3 is Kraskov's default; larger k lowers variance, raises bias).
    standardize : centre and scale every column to unit variance first (default). KSG is
        not invariant to rescaling one block against the other (the max-norm mixes them);
        MI is, so standardising removes an arbitrary choice.
    noise : relative scale of seeded Gaussian noise added to break ties (sklearn adds 1e-10
        too). Duplicated or discrete data trigger a RuntimeWarning: KSG assumes densities.
    stderr : ``"blocks"`` (default): KSG on ``n_blocks`` disjoint random blocks, se =
        sd(block estimates)/sqrt(n_blocks), assuming Var ∝ 1/n (Holmes & Nemenman 2019);
        it captures the dependence between the pointwise terms and costs about one more
        estimate. ``"pointwise"``: sd of the n pointwise terms / sqrt(n), free but it
        ignores that the terms share neighbours. Against the Monte Carlo sd over seeds,
        blocks gave 0.8-0.9x and pointwise 0.7-0.85x (docs/estimators/nonparametric.md):
        both under-state it by ~10-20%. Neither includes the bias, which dominates at large MI.
    workers : threads for the joint tree query, the two sides' counts (run at once) and the
        blocks of ``stderr="blocks"`` (run in parallel). -1 (default): the cores this process
        may use, capped by ``OMP_NUM_THREADS`` where it is set (``mi-bench``'s worker processes
        set 1); the answer does not depend on it.
    seed : seed of the tie-breaking noise and the block split; None means 0 (deterministic).
    full_output : return ``{"mi", "stderr", "details"}`` instead of the float.

    Failure modes
    -------------
    Under-estimates large MI: the bias grows roughly exponentially in I — reaching I needs
    n of order e^I samples (Gao, Ver Steeg & Galstyan 2015). Collapses in high dimension
    and for sparse interactions (few informative coordinates among many), where k-NN
    distances concentrate (Czyż et al. 2023, "Beyond Normal"). Not for discrete data.

    Kraskov, Stögbauer & Grassberger (2004), Phys. Rev. E 69, 066138.
    """
    x, y = check_xy(x, y)
    out = _ksg(
        x, y, k=k, standardize=standardize, noise=noise, stderr=stderr, n_blocks=n_blocks,
        workers=workers, seed=seed,
    )
    emit_warnings(out["warnings"])
    return out if full_output else out["mi"]


# ---------------------------------------------------------------------------------------
# Gaussian / CCA
# ---------------------------------------------------------------------------------------
def _sum_digamma_half(nu: int, p: int) -> float:
    """sum_{i=1}^p psi((nu - i + 1) / 2): E log det of a Wishart W_p(nu, I) minus p log 2."""
    return float(digamma((nu - np.arange(p)) / 2.0).sum())


def _gaussian(x, y, *, bias_correction: bool = True, seed=None) -> dict:
    del seed  # deterministic
    n, dx = x.shape
    dy = y.shape[1]
    if n < dx + dy + 2:
        raise ValueError(
            f"the Gaussian/CCA estimator needs n >= dx + dy + 2 = {dx + dy + 2} samples for a "
            f"non-singular covariance, got n = {n}"
        )
    # The canonical correlations from one streamed QR of the centred columns (numerically
    # stabler than inverting Sxx; memory O(chunk x d) whatever n).
    parts = canonical_parts(x, y, " before using the Gaussian/CCA estimator")
    rho = np.clip(parts["rho"], 0.0, 1.0)
    one_minus = (1.0 - rho) * (1.0 + rho)
    if one_minus.min() <= 1e-12:
        raise ValueError(
            "the joint covariance of (x, y) is singular: y is (numerically) a linear function "
            "of x, so the Gaussian MI is infinite"
        )
    mi_plugin = float(-0.5 * np.log(one_minus).sum())

    # Exact bias for Gaussian data: n·S ~ W(nu = n - 1, Σ) in each block, and
    # E log det S_p = log det Σ_p + sum_i ψ((nu - i + 1)/2) + p log(2/nu); the log terms
    # cancel between ½[log det Sxx + log det Syy - log det S].
    nu = n - 1
    bias = 0.5 * (_sum_digamma_half(nu, dx) + _sum_digamma_half(nu, dy) - _sum_digamma_half(nu, dx + dy))
    mi = mi_plugin - bias if bias_correction else mi_plugin

    # Delta method. The influence function of ½[log det Σxx + log det Σyy - log det Σ] at
    # z is ½[x'Σxx⁻¹x + y'Σyy⁻¹y - z'Σ⁻¹z] (centred): the pointwise Gaussian log-ratio.
    # Its empirical sd / sqrt(n) is a sandwich stderr valid for any law with 4 moments;
    # under Gaussianity its variance is sum_i rho_i² (the Gaussian formula, in details).
    # Whitened rows u (u'u = x'Sxx⁻¹x), read in chunks; z'Σ⁻¹z in whitened coordinates, with
    # joint covariance [[I, c], [c', I]], c the cross-correlation of the whitened blocks.
    c = parts["cross"]
    joint = np.block([[np.eye(dx), c], [c.T, np.eye(dy)]])
    influence = np.empty(n)
    for rows in row_chunks(n, dx + dy):
        ux = whitened_rows(x, parts, "x", rows) * math.sqrt(n)
        uy = whitened_rows(y, parts, "y", rows) * math.sqrt(n)
        uz = np.concatenate([ux, uy], axis=1)
        quad_joint = np.einsum("ij,ij->i", uz, np.linalg.solve(joint, uz.T).T)
        influence[rows] = 0.5 * ((ux**2).sum(axis=1) + (uy**2).sum(axis=1) - quad_joint)
    se_sandwich = float(influence.std(ddof=1) / math.sqrt(n))
    se_gauss = float(math.sqrt((rho**2).sum() / n))
    details = {
        "estimator": "cca",
        "n": n,
        "canonical_correlations": rho.tolist(),
        "mi_plugin": mi_plugin,
        "bias_correction": bool(bias_correction),
        "gaussian_bias": float(bias),
        "stderr_method": "sandwich (empirical influence function)",
        "stderr_gaussian": se_gauss,
    }
    return {"mi": float(mi), "stderr": se_sandwich, "details": details}


def _gaussian_copula(x, y, *, bias_correction: bool = True, seed=None) -> dict:
    """The Gaussian-copula value: :func:`_gaussian` on the normal scores of every column."""
    from mi_estimators.copula import copula_normalize

    out = _gaussian(copula_normalize(x), copula_normalize(y), bias_correction=bias_correction, seed=seed)
    out["details"].update(estimator="gaussian-copula", transform="normal scores (per-column ranks)")
    return out


def gaussian_mi(x, y, *, bias_correction: bool = True, full_output: bool = False):
    r"""Gaussian (canonical-correlation) estimate of I(X; Y) in nats.

    .. math::
        \hat I = -\tfrac12 \sum_i \log(1 - r_i^2)
               = \tfrac12\left[\log\det S_{xx} + \log\det S_{yy} - \log\det S\right]

    with :math:`r_i` the sample canonical correlations of x and y. This is the MI of the
    Gaussian with the sample covariance. For Gaussian data it is exact up to sampling
    error; with ``bias_correction`` (default) the Wishart bias
    :math:`\tfrac12[b(d_x)+b(d_y)-b(d_x+d_y)]`, :math:`b(p)=\sum_{i=1}^p\psi(\tfrac{n-i}{2})`,
    is subtracted, which makes it exactly unbiased for Gaussians (Misra, Singh & Demchuk
    2005, UMVUE of Gaussian entropy); it can then be slightly negative under independence.

    ``stderr`` (with ``full_output=True``) is the delta-method sandwich: the sample sd of the
    influence function :math:`\tfrac12[x^\top S_{xx}^{-1}x + y^\top S_{yy}^{-1}y - z^\top S^{-1}z]`
    over sqrt(n), valid beyond Gaussians; ``details["stderr_gaussian"]`` is the Gaussian
    formula :math:`\sqrt{\sum_i r_i^2 / n}`.

    Raises ValueError when n < dx + dy + 2, when a block's covariance is singular, or when
    y is a linear function of x (infinite Gaussian MI).

    Failure mode: it measures linear (second-moment) dependence only. It is exact only for
    Gaussians; otherwise it is neither a lower nor an upper bound on I (y = x² with
    symmetric x gives 0; a deterministic but non-linear y keeps it finite).
    Invariant under invertible affine maps of x and of y.
    """
    x, y = check_xy(x, y)
    out = _gaussian(x, y, bias_correction=bias_correction)
    return out if full_output else out["mi"]


cca_mi = gaussian_mi


# ---------------------------------------------------------------------------------------
# scikit-learn per-feature MI
# ---------------------------------------------------------------------------------------
_SKLEARN_REDUCE = ("sum", "max", "mean")


def _sklearn_matrix(x: np.ndarray, y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    from sklearn.feature_selection import mutual_info_regression

    out = np.empty((x.shape[1], y.shape[1]))
    for j in range(y.shape[1]):
        state = int(rng.integers(2**31 - 1))
        out[:, j] = mutual_info_regression(x, y[:, j], n_neighbors=k, random_state=state)
    return out


def _reduce(matrix: np.ndarray, how: str) -> float:
    return float({"sum": np.sum, "max": np.max, "mean": np.mean}[how](matrix))


#: Most (x feature, y feature) pairs sklearn-mi runs without being asked (``max_pairs``): each
#: pair is one k-NN estimate (measured ~4 ms CPU at n = 400, ~10 ms at n = 2000, twice with the
#: block stderr), so 10,000 pairs is minutes and d_x = d_y = 1000 (1e6 pairs) would be hours.
SKLEARN_MAX_PAIRS = 10_000


def _sklearn(x, y, *, k: int = 3, reduce: str = "sum", n_blocks: int = 10, max_pairs: int = SKLEARN_MAX_PAIRS,
             seed=None) -> dict:
    n = x.shape[0]
    max_pairs = check_int("max_pairs", max_pairs, 1)
    pairs = x.shape[1] * y.shape[1]
    if pairs > max_pairs:
        raise ValueError(
            f"sklearn-mi runs one k-NN estimate per (x feature, y feature) pair: {x.shape[1]} x {y.shape[1]} = "
            f"{pairs:,} pairs here, more than max_pairs = {max_pairs:,} (about 10 ms each at n = 2000, twice "
            "with the block stderr), and their sum is not the joint MI anyway. Use 'ksg', 'cca' or a neural "
            f"estimator for I(X; Y), or pass max_pairs={pairs} to run it regardless"
        )
    k = check_int("k", k, 1, n - 1, what=f"an integer in [1, {n - 1}] (k-NN MI needs k < n = {n} samples)")
    reduce = check_choice("reduction", reduce, _SKLEARN_REDUCE)
    n_blocks = check_int("n_blocks", n_blocks, 0)
    if n_blocks == 1 or (n_blocks and n // n_blocks <= k):
        raise ValueError(
            f"n_blocks must be 0 (no stderr) or >= 2 with n // n_blocks > k = {k}; "
            f"got n_blocks = {n_blocks} for n = {n}"
        )
    rng = as_rng(seed)
    matrix = _sklearn_matrix(x, y, k, rng)
    mi = _reduce(matrix, reduce)
    details = {
        "estimator": "sklearn-mi",
        "k": k,
        "n": n,
        "reduce": reduce,
        "standardized": True,  # mutual_info_regression scales every feature and y to unit variance
        "per_feature_mi": matrix.tolist(),
        "warning": "sum of per-feature MI I(x_i; y_j), not the joint MI I(X; Y)",
    }
    if n_blocks:
        perm = rng.permutation(n)
        est = np.array([_reduce(_sklearn_matrix(x[b], y[b], k, rng), reduce) for b in np.array_split(perm, n_blocks)])
        se = float(est.std(ddof=1) / math.sqrt(n_blocks))
        details.update(stderr_method="blocks", n_blocks=n_blocks, block_estimates=est.tolist())
    else:
        se = float("nan")
        details["stderr_method"] = "none (n_blocks=0)"
    return {"mi": mi, "stderr": se, "details": details}


def sklearn_mi(
    x, y, k: int = 3, *, reduce: str = "sum", n_blocks: int = 10, max_pairs: int = SKLEARN_MAX_PAIRS, seed=None,
    full_output: bool = False
):
    r"""Per-feature MI from ``sklearn.feature_selection.mutual_info_regression``, reduced.

    Computes the matrix :math:`M_{ij} = \hat I(X_i; Y_j)` (scikit-learn's 2-D KSG, clipped
    at 0, with its own 1e-10 tie-breaking noise) and returns its ``reduce`` ("sum",
    "max" or "mean").

    **This is not the joint MI.** :math:`\sum_{ij} I(X_i; Y_j)` double-counts information
    that several features share (it can exceed I(X; Y)) and misses information carried
    only jointly (XOR-like synergy; it can fall far below). It equals I(X; Y) only when
    the pairs (X_i, Y_j) carrying information are mutually independent, as in the
    coordinate-wise correlated Gaussian. Offered to compare with common practice; use
    :func:`ksg_mi` for a joint k-NN estimate.

    ``stderr`` (``full_output=True``): the same computation on ``n_blocks`` disjoint blocks,
    sd / sqrt(n_blocks) (``n_blocks=0`` skips it and reports NaN); it includes the clipping
    at 0, which inflates small-MI block estimates. ``seed`` drives sklearn's noise and the
    split; None means 0. More than ``max_pairs`` feature pairs (default 10,000, minutes of
    work) raises ``ValueError`` instead of running for hours.

    Ross (2014), PLoS ONE 9(2): e87357; Kraskov et al. (2004).
    """
    x, y = check_xy(x, y)
    out = _sklearn(x, y, k=k, reduce=reduce, n_blocks=n_blocks, max_pairs=max_pairs, seed=seed)
    return out if full_output else out["mi"]


# ---------------------------------------------------------------------------------------
# registry used by estimate_mi / MIEstimator
# ---------------------------------------------------------------------------------------
def _entry(name: str, impl: Callable[..., dict], options: tuple[str, ...]) -> Callable[..., dict]:
    def run(x, y, *, seed=None, **opts) -> dict:
        for key in opts:
            check_choice(f"option for estimator {name!r}:", key, options)
        x, y = check_xy(x, y)
        out = impl(x, y, seed=seed, **opts)
        emit_warnings(out.get("warnings", []))
        return out

    run.__name__ = f"{name.replace('-', '_')}_estimator"
    run.__doc__ = (
        f"Registry entry {name!r}: fn(x, y, *, seed=None, **options) -> dict(mi, stderr, details). "
        f"Options: {', '.join(options)}."
    )
    run.options = options
    run.impl = impl          # on checked float64 arrays (what estimate_nonparametric calls)
    return run


NONPARAMETRIC_ESTIMATORS: dict[str, Callable[..., dict]] = {
    "ksg": _entry("ksg", _ksg, ("k", "standardize", "noise", "stderr", "n_blocks", "workers")),
    "cca": _entry("cca", _gaussian, ("bias_correction",)),
    "gaussian-copula": _entry("gaussian-copula", _gaussian_copula, ("bias_correction",)),
    "sklearn-mi": _entry("sklearn-mi", _sklearn, ("k", "reduce", "n_blocks", "max_pairs")),
    "discrete": _entry("discrete", _discrete, ("correction", "max_levels")),
    "mixed-ksg": _entry("mixed-ksg", _mixed_ksg, ("k", "formula", "standardize", "n_blocks", "workers")),
}


#: The nonparametric estimators' names.
NONPARAMETRIC = tuple(NONPARAMETRIC_ESTIMATORS)


def run_nonparametric(name: str, x: np.ndarray, y: np.ndarray, *, seed, train=None, critic=None,
                      options: dict) -> MIResult:
    """The nonparametric family's runner for :func:`mi_estimators.estimate_mi` (it trains
    nothing: ``train`` and ``critic`` are not used)."""
    return estimate_nonparametric(name, x, y, seed=seed, options=options)


def estimate_nonparametric(name: str, x: np.ndarray, y: np.ndarray, *, seed, options: dict) -> MIResult:
    """Run the registry entry ``name`` on samples already checked by
    :func:`mi_estimators._checks.check_xy` and return an :class:`MIResult` (nats).

    Caveats an implementation returns (``out["warnings"]``) are kept in ``result.warnings``
    (the public entry points issue them as Python warnings). The interval is the estimator's own (``details["interval"]``, e.g. the discrete estimator's,
    clipped to [0, min(H(X), H(Y))]) or the normal 95 % interval ``mi ± 1.96 stderr`` (NaN ends without a
    standard error). Unknown options are a ``ValueError`` naming the valid ones.
    """
    import time

    from mi_estimators import __version__

    t0 = time.perf_counter()
    entry = NONPARAMETRIC_ESTIMATORS[name]
    for key in options:
        check_choice(f"option for estimator {name!r}:", key, entry.options)
    try:
        out = entry.impl(x, y, seed=seed, **options)
    except TypeError as exc:
        raise ValueError(f"invalid option(s) {sorted(options)} for estimator {name!r}: {exc}") from None
    mi, se = float(out["mi"]), float(out.get("stderr", float("nan")))
    config = dict(estimator=name, seed=seed, options=options, version=__version__)
    interval = tuple(out["details"]["interval"]) if "interval" in out.get("details", {}) else normal_interval(mi, se)
    msgs = list(out.get("warnings", []))
    return MIResult(mi=mi, stderr=se, interval=interval, per_critic=np.array([mi]), warnings=msgs,
                    estimator=name, target="kl", n_samples=x.shape[0], seconds=time.perf_counter() - t0,
                    config=to_jsonable(config), details=to_jsonable(out.get("details", {})))
