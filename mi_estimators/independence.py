r"""Permutation tests of independence, X ⊥ Y, and of conditional independence, X ⊥ Y | Z.

The statistic is an MI (or CMI) estimate; its null distribution is drawn by re-pairing the
samples so that the hypothesis holds by construction:

- **X ⊥ Y**: y's rows are permuted uniformly. Under independence every permutation is equally
  likely, so the test is exact at any n: :math:`p = (1 + \#\{b : T_b \ge T\}) / (1 + B)`.
- **X ⊥ Y | Z**, continuous Z: the *local* permutation of Runge (2018): each y is replaced by
  the y of one of the ``k_perm`` nearest neighbours of its z (drawn without replacement as far
  as possible), which keeps p(y | z) and breaks any X–Y link given Z. Valid when p(y | z)
  varies little within the neighbourhoods (asymptotically exact; its size is measured in
  docs/independence.md).
- **X ⊥ Y | Z**, discrete Z: y is permuted within each stratum of z (exact).

Statistics: ``"ksg"`` (KSG-1 for MI, Frenzel–Pompe for CMI; the tie-breaking noise is drawn
once, so every null draw sees the same data), ``"discrete"`` (plug-in MI / CMI on the rows'
joint symbols), ``"gaussian-copula"`` (GCMI on normal scores, MI only), ``"auto"``
(``"discrete"`` when every column is discrete, else ``"ksg"``).

Runge, J. (2018), "Conditional independence testing based on a nearest-neighbor estimator of
conditional mutual information", AISTATS (PMLR 84).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from mi_estimators._checks import check_choice, check_int, check_xy, check_xyz
from mi_estimators.discrete import all_discrete, encode_rows, plugin_mi
from mi_estimators.result import to_jsonable

__all__ = ["independence_test", "IndependenceResult", "TEST_STATISTICS"]

#: From this many continuous conditioning columns the local permutation warns that its size
#: may be inflated (measured in docs/independence.md).
LOCAL_PERMUTATION_MAX_DZ = 3

#: Statistics an independence test can use.
TEST_STATISTICS = ("auto", "ksg", "discrete", "gaussian-copula")


@dataclass
class IndependenceResult:
    """A permutation test's outcome: ``statistic`` (the MI or CMI estimate on the data, nats),
    ``pvalue``, ``null`` (the statistic on each of the ``n_permutations`` re-pairings),
    ``method`` (the statistic used), ``conditional`` (whether Z was given), ``scheme`` (how
    the null was drawn), ``details`` and ``warnings`` (why the p-value may be off)."""

    statistic: float
    pvalue: float
    null: np.ndarray
    method: str
    conditional: bool
    scheme: str
    n_permutations: int
    details: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return to_jsonable(dict(statistic=self.statistic, pvalue=self.pvalue, null=self.null, method=self.method,
                                conditional=self.conditional, scheme=self.scheme,
                                n_permutations=self.n_permutations, details=self.details, warnings=self.warnings))

    def __str__(self) -> str:
        what = "X ⊥ Y | Z" if self.conditional else "X ⊥ Y"
        return (f"{what}: statistic {self.statistic:.4g} nats ({self.method}), p = {self.pvalue:.3g} "
                f"({self.n_permutations} {self.scheme} permutations)")


# ------------------------------------------------------------------------------ statistics
def _statistic(method: str, x, y, z, rng, k: int):
    """``(stat(y_rows) -> float, data description)``: the statistic as a function of y's row order."""
    from mi_estimators import conditional, nonparametric

    if method == "discrete":
        cx, cy = encode_rows(x)[0], encode_rows(y)[0]
        if z is None:
            return lambda order: plugin_mi(cx, cy[order])
        cz = encode_rows(z)[0]
        strata = [np.flatnonzero(cz == level) for level in np.unique(cz)]

        def cmi(order):   # I(X; Y | Z) = sum_z p(z) I(X; Y | Z = z)
            return sum(idx.size / cx.size * plugin_mi(cx[idx], cy[order][idx]) for idx in strata)
        return cmi
    if method == "gaussian-copula":
        from mi_estimators.copula import copula_normalize

        nx, ny = copula_normalize(x), copula_normalize(y)
        return lambda order: nonparametric._gaussian(nx, ny[order], bias_correction=False)["mi"]
    if z is None:
        (xs, ys) = conditional._prepare((x, y), rng, conditional._TIE_NOISE)
        return lambda order: nonparametric._ksg_estimate(xs, ys[order], k, 1)[0]
    xs, ys, zs = conditional._prepare((x, y, z), rng, conditional._TIE_NOISE)
    return lambda order: float(conditional._ksg_cmi_terms(xs, ys[order], zs, k).mean())


# ------------------------------------------------------------------------------ null draws
def _local_permutation(z: np.ndarray, k_perm: int, rng) -> np.ndarray:
    """Runge (2018): row i takes y from one of the k_perm nearest z-neighbours of z_i, chosen at
    random among those not yet used (any of them when all are used)."""
    n = z.shape[0]
    _, neighbours = cKDTree(z).query(z, k=min(k_perm, n), p=np.inf)
    neighbours = neighbours.reshape(n, -1)
    used = np.zeros(n, dtype=bool)
    order = np.empty(n, dtype=np.int64)
    for i in rng.permutation(n):
        cand = neighbours[i][rng.permutation(neighbours.shape[1])]
        free = cand[~used[cand]]
        j = free[0] if free.size else cand[0]
        used[j] = True
        order[i] = j
    return order


def _strata_permutation(z: np.ndarray, rng) -> np.ndarray:
    """y permuted within each stratum of a discrete z."""
    cz = encode_rows(z)[0]
    order = np.arange(cz.size)
    for level in np.unique(cz):
        idx = np.flatnonzero(cz == level)
        order[idx] = idx[rng.permutation(idx.size)]
    return order


def independence_test(x, y, z=None, *, n_permutations: int = 199, seed: int = 0, method: str = "auto",
                      k: int = 3, k_perm: int = 5) -> IndependenceResult:
    """Permutation test of X ⊥ Y (``z=None``) or X ⊥ Y | Z with an MI / CMI statistic (see the module).

    ``n_permutations`` null draws (``seed`` makes them reproducible); ``method``: the statistic
    (:data:`TEST_STATISTICS`); ``k``: the k-NN statistic's neighbours; ``k_perm``: the
    neighbourhood of the local permutation for continuous Z. Returns an
    :class:`IndependenceResult` with the statistic (nats), the p-value
    ``(1 + #{null >= statistic}) / (1 + n_permutations)`` and the null draws.
    """
    method = check_choice("independence test statistic", method, TEST_STATISTICS)
    n_permutations = check_int("n_permutations", n_permutations, 1)
    k_perm = check_int("k_perm", k_perm, 1)
    if z is None:
        x, y = check_xy(x, y)
    else:
        x, y, z = check_xyz(x, y, z)
    k = check_int("k", k, 1, x.shape[0] - 1, what=f"an integer in [1, {x.shape[0] - 1}] (k < n)")
    arrays = (x, y) if z is None else (x, y, z)
    if method == "auto":
        method = "discrete" if all_discrete(*arrays) else "ksg"
    if method == "gaussian-copula" and z is not None:
        raise ValueError("the 'gaussian-copula' statistic is for X ⊥ Y only; use method='ksg' or 'discrete' with z")
    rng = np.random.default_rng(seed)
    stat_fn = _statistic(method, x, y, z, rng, k)
    identity = np.arange(x.shape[0])
    statistic = float(stat_fn(identity))
    if z is None:
        scheme, draw = "full", lambda: rng.permutation(x.shape[0])
    elif all_discrete(z):
        scheme, draw = "within-strata", lambda: _strata_permutation(z, rng)
    else:
        scheme, draw = "local", lambda: _local_permutation(z, k_perm, rng)
    null = np.array([stat_fn(draw()) for _ in range(n_permutations)])
    pvalue = float((1 + np.sum(null >= statistic)) / (1 + n_permutations))
    msgs = []
    if scheme == "local" and z.shape[1] >= LOCAL_PERMUTATION_MAX_DZ:
        msgs.append(f"the local permutation keeps p(y | z) only within neighbourhoods of z, which grow with d_z = "
                    f"{z.shape[1]}: at d_z = 5, n = 300 it rejected 10 of 10 conditionally independent datasets of "
                    "a non-Gaussian task (docs/independence.md), so p-values may be too small; more samples or "
                    "fewer conditioning columns help")
        warnings.warn(msgs[-1], UserWarning, stacklevel=2)
    details = dict(k=k, k_perm=k_perm if scheme == "local" else None, n=x.shape[0],
                   null_mean=float(null.mean()), null_sd=float(null.std(ddof=1)) if null.size > 1 else math.nan)
    return IndependenceResult(statistic=statistic, pvalue=pvalue, null=null, method=method,
                              conditional=z is not None, scheme=scheme, n_permutations=n_permutations,
                              details=details, warnings=msgs)
