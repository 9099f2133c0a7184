r"""Max-norm neighbour counts for k-NN estimators: how many points lie within a radius of each.

``count_within(a, radius)[i] = #{j : ||a_j - a_i||_inf <= radius[i]}`` (self included), decided
with the same float test a KD-tree makes (``fabs(a_j[c] - a_i[c]) <= r`` per column), so the
counts are exactly those of the all-pairs test and, wherever the differences are finite (no
overflow to inf), of ``sklearn.neighbors.KDTree(a, metric="chebyshev").query_radius(...,
count_only=True)``. Points must be finite and radii >= 0 (a ValueError otherwise).

- One column (:func:`count_sorted`): the passing points are one run of the sorted values;
  binary search of the rounded ends ``a_i ± r`` places it, and an end that rounding put wrong
  is found again by binary search on the float test itself. O(n log n).
- Two columns (:func:`count_in_squares`): each column's run is an interval of that column's
  sorted positions, so a point passes both tests when its (position in column 1, position in
  column 2) lies in a rectangle of the rank grid. The rectangles are counted exactly by a
  wavelet matrix over the permutation (Claude, Navarro & Ordóñez 2015, "The wavelet matrix",
  Information Systems 47): O(n log n) time and O(n log n) int32 memory, independent of how
  many points each square holds (a tree's count grows with them).
- More columns: ``sklearn.neighbors.KDTree``, which counts whole nodes inside the ball.

This module imports numpy and scikit-learn only.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["count_within", "count_sorted", "count_in_squares", "sorted_runs", "count_in_rectangles",
           "thread_count", "PARALLEL_MIN_N", "WAVELET_MAX_N"]

#: Above this many points two columns are counted by the KD-tree: the wavelet matrix needs
#: 4 bytes per point and bit of n (76 MiB at 10^6, 368 MiB at 2^22 points).
WAVELET_MAX_N = 1 << 22

#: Below this many points one thread is faster than starting more (KSG 2+2 at n = 2000: 17.2 ms
#: on one thread, 18.1 ms on two; at 5000: 39 vs 31 ms).
PARALLEL_MIN_N = 4096


def thread_count(workers: int, n: int | None = None) -> int:
    """Threads meant by a ``workers`` option: the number itself, or for -1 the cores this process
    may run on (its CPU affinity), capped by ``OMP_NUM_THREADS`` where that is set (as
    ``mi-bench``'s worker processes set it to 1), so that parallel jobs do not oversubscribe.
    For ``n`` points below :data:`PARALLEL_MIN_N`: 1, whatever ``workers`` says."""
    if n is not None and n < PARALLEL_MIN_N:
        return 1
    if workers != -1:
        return workers
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        cores = os.cpu_count() or 1
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and int(omp) > 0:
        cores = min(cores, int(omp))
    return max(cores, 1)


def _checked(a, radius, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """``a`` as a finite float array of ``ndim`` dimensions and ``radius`` as n non-negative floats
    (inf allowed), or a ValueError that names the problem."""
    a = np.asarray(a, dtype=float)
    radius = np.asarray(radius, dtype=float)
    if a.ndim != ndim:
        raise ValueError(f"expected points of shape {'(n,)' if ndim == 1 else '(n, d)'}, got {a.shape}")
    if radius.shape != (a.shape[0],):
        raise ValueError(f"radius must have one entry per point, shape ({a.shape[0]},); got {radius.shape}")
    if not np.isfinite(a).all():
        raise ValueError("the points hold NaN or infinite values: distances to them are undefined")
    if np.isnan(radius).any() or (radius < 0).any():
        raise ValueError("every radius must be >= 0 (inf is allowed); got a negative or NaN radius")
    return a, radius


def _first_failing(passes, idx: np.ndarray, n: int) -> np.ndarray:
    """For each query ``q`` in ``idx``: the first sorted position j in [0, n] where ``passes(j, q)``
    is False, given that it is True on a prefix of positions and False after (a vectorised
    binary search on the float test itself: exact, O(log n) rounds)."""
    lo = np.zeros(idx.size, dtype=np.int64)
    hi = np.full(idx.size, n, dtype=np.int64)
    while True:
        active = np.flatnonzero(lo < hi)
        if active.size == 0:
            return lo
        mid = (lo[active] + hi[active]) // 2
        ok = passes(mid, idx[active])
        lo[active[ok]] = mid[ok] + 1
        hi[active[~ok]] = mid[~ok]


def sorted_runs(a: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The run of sorted positions within ``radius[i]`` of each ``a[i]`` (one column ``a``, (n,)).

    Returns ``(order, lo, hi)``: ``order`` is the stable argsort of ``a``; for the point at sorted
    position q (sample ``order[q]``), the points j with ``fabs(a_j - a_i) <= r`` are exactly
    those at sorted positions ``lo[q] <= p < hi[q]``. ``fl(s_j - a_i)`` is non-decreasing along
    the sorted values ``s``, so they form one run. Binary search of the rounded sums
    ``a_i ± r`` places its ends; each end is then checked with the float test itself, and the
    few that rounding put wrong are found again by a binary search on that test (exact, and
    O(n log n) whatever the data).
    """
    a, radius = _checked(a, radius, 1)
    return _sorted_runs(a, radius)


def _sorted_runs(a: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`sorted_runs` on checked input."""
    order = np.argsort(a, kind="stable")
    s = a[order]
    r = radius[order]
    n = s.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):   # a ± r may overflow: the check corrects it
        hi = np.searchsorted(s, s + r, side="right")       # queries in sorted order: cache friendly
        lo = np.searchsorted(s, s - r, side="left")

    def within_above(j, q):   # True on a prefix of j: s_j is not too far above s_q
        return s[j] - s[q] <= r[q]

    def below(j, q):          # True on a prefix of j: s_j is too far below s_q
        return s[j] - s[q] < -r[q]

    with np.errstate(over="ignore"):
        for ends, passes in ((hi, within_above), (lo, below)):
            q = np.arange(n)
            right_ok = (ends == n) | ~passes(np.minimum(ends, n - 1), q)
            left_ok = (ends == 0) | passes(np.maximum(ends - 1, 0), q)
            wrong = np.flatnonzero(~(right_ok & left_ok))
            if wrong.size:
                ends[wrong] = _first_failing(passes, wrong, n)
    return order, lo, hi


def count_sorted(a: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """#{j : |a_j - a_i| <= radius[i]} for one column ``a`` (n,), exactly as a tree decides it."""
    return _count_sorted(*_checked(a, radius, 1))


def _count_sorted(a: np.ndarray, radius: np.ndarray) -> np.ndarray:
    order, lo, hi = _sorted_runs(a, radius)
    counts = np.empty(order.shape[0], dtype=np.int64)
    counts[order] = hi - lo
    return counts


def count_in_rectangles(seq: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                        vlo: np.ndarray, vhi: np.ndarray) -> np.ndarray:
    """#{p : lo[q] <= p < hi[q] and vlo[q] <= seq[p] < vhi[q]} for every query q.

    ``seq`` holds integers in [0, n); a wavelet matrix over it answers each query in
    2 log2(n) + 2 vectorised steps (Claude, Navarro & Ordóñez 2015): at each bit, from the
    highest, the prefix counts of ones route the query's range to the half holding the values
    that share the bound's bits so far, adding the range's size in the lower half when the
    bound's bit is 1.
    """
    n = seq.shape[0]
    levels = max(int(n).bit_length(), 1)   # bounds reach n: n < 2**levels
    dt = np.int32 if n < np.iinfo(np.int32).max else np.int64
    ones = np.zeros((levels, n + 1), dtype=dt)   # ones[l, p]: ones among the first p at level l
    zeros = np.empty(levels, dtype=dt)
    cur = seq.astype(dt)
    for lev in range(levels):
        bit = ((cur >> (levels - 1 - lev)) & 1).astype(bool)
        np.cumsum(bit, out=ones[lev, 1:])
        zeros[lev] = n - ones[lev, n]
        cur = np.concatenate([cur[~bit], cur[bit]])   # stable: zeros first

    def count_less(bound: np.ndarray) -> np.ndarray:
        left, right = lo.astype(dt), hi.astype(dt)
        bound = bound.astype(dt)
        out = np.zeros(lo.shape[0], dtype=dt)
        for lev in range(levels):
            b = ((bound >> (levels - 1 - lev)) & 1).astype(bool)
            ones_l, ones_r = ones[lev][left], ones[lev][right]
            left0, right0 = left - ones_l, right - ones_r
            out += np.where(b, right0 - left0, 0)
            left = np.where(b, zeros[lev] + ones_l, left0)
            right = np.where(b, zeros[lev] + ones_r, right0)
        return out

    return (count_less(vhi) - count_less(vlo)).astype(np.int64)


def count_in_squares(a: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """#{j : ||a_j - a_i||_inf <= radius[i]} for two columns ``a`` (n, 2), by ranks (exact)."""
    a, radius = _checked(a, radius, 2)
    if a.shape[1] != 2:
        raise ValueError(f"count_in_squares counts two columns; got {a.shape[1]} (use count_within)")
    return _count_in_squares(a, radius)


def _count_in_squares(a: np.ndarray, radius: np.ndarray) -> np.ndarray:
    n = a.shape[0]
    order1, lo1, hi1 = _sorted_runs(a[:, 0], radius)
    order2, lo2, hi2 = _sorted_runs(a[:, 1], radius)
    pos2 = np.empty(n, dtype=np.int64)
    pos2[order2] = np.arange(n)
    lo2_by_sample = np.empty(n, dtype=np.int64)
    hi2_by_sample = np.empty(n, dtype=np.int64)
    lo2_by_sample[order2] = lo2
    hi2_by_sample[order2] = hi2
    # queries in column-1 order (their ranges then move monotonically: cache friendly)
    counts = count_in_rectangles(pos2[order1], lo1, hi1, lo2_by_sample[order1], hi2_by_sample[order1])
    out = np.empty(n, dtype=np.int64)
    out[order1] = counts
    return out


def count_within(a: np.ndarray, radius: np.ndarray, workers: int = 1) -> np.ndarray:
    """#{j : ||a_j - a_i||_inf <= radius[i]} for every i (self included); ``a`` is (n, d).

    d = 1: :func:`count_sorted`; d = 2 (n <= :data:`WAVELET_MAX_N`): :func:`count_in_squares`;
    otherwise sklearn's KDTree, queried in its own point order (cache friendly) and chunked over
    ``workers`` threads (-1: :func:`thread_count`; the tree releases the GIL).
    """
    a, radius = _checked(a, radius, 2)
    if a.shape[1] == 1:
        return _count_sorted(a[:, 0], radius)
    if a.shape[1] == 2 and a.shape[0] <= WAVELET_MAX_N:
        return _count_in_squares(a, radius)
    from sklearn.neighbors import KDTree

    tree = KDTree(a, metric="chebyshev")
    order = tree.get_arrays()[1]   # the tree's own order of the points (its idx_array)
    a_o, r_o = a[order], radius[order]
    n_threads = thread_count(workers, a.shape[0])
    if n_threads <= 1:
        counts = tree.query_radius(a_o, r_o, count_only=True)
    else:
        from concurrent.futures import ThreadPoolExecutor

        chunks = np.array_split(np.arange(a.shape[0]), n_threads)
        with ThreadPoolExecutor(n_threads) as pool:
            parts = pool.map(lambda idx: tree.query_radius(a_o[idx], r_o[idx], count_only=True), chunks)
            counts = np.concatenate(list(parts))
    out = np.empty(a.shape[0], dtype=np.int64)
    out[order] = counts
    return out
