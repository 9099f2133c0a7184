"""The faster forms of issue 20 give the answers of the slow ones: KSG's sorted one-column
counts and two-column rank counts, Mardia's skewness by the third-moment tensor, one-argsort
normal scores, and the copula test's seeded subsamples beyond its budget (recorded in the
result)."""
from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.special import digamma, ndtri
from scipy.stats import rankdata

from mi_estimators import copula, nonparametric, range_count


def _brute_counts(a: np.ndarray, radius: np.ndarray) -> np.ndarray:
    return (np.abs(a[None, :] - a[:, None]) <= radius[:, None]).sum(axis=1)


@pytest.mark.parametrize("kind", ["continuous", "ties", "offset"])
def test_sorted_counts_equal_the_trees_test_exactly(kind):
    rng = np.random.default_rng(3)
    a = rng.standard_normal(700)
    if kind == "ties":
        a = np.round(a * 2) / 2
    if kind == "offset":   # a + r rounds: the ends must be corrected one value at a time
        a = a * 1e-3 + 3e8
    radius = np.abs(rng.standard_normal(700)) * np.abs(a - a.mean()).mean()
    j = rng.integers(0, 700, 700)
    radius[::3] = np.abs(a[j] - a)[::3]                     # radii exactly at another point
    radius[1::3] = np.nextafter(np.abs(a[j] - a)[1::3], 0)  # and just below one
    np.testing.assert_array_equal(range_count.count_sorted(a, radius), _brute_counts(a, radius))


def _brute_square_counts(a: np.ndarray, radius: np.ndarray) -> np.ndarray:
    return (np.abs(a[None, :, :] - a[:, None, :]).max(-1) <= radius[:, None]).sum(axis=1)


@pytest.mark.parametrize("kind", ["continuous", "ties", "offset", "one-value-column"])
def test_two_column_rank_counts_equal_the_all_pairs_test_exactly(kind):
    rng = np.random.default_rng(5)
    n = 900
    a = rng.standard_normal((n, 2))
    a[:, 1] += 0.7 * a[:, 0]
    if kind == "ties":
        a = np.round(a * 3) / 3
    if kind == "offset":
        a = a * 1e-3 + np.array([3e8, -7e7])
    if kind == "one-value-column":
        a[:, 1] = 2.5
    radius = np.abs(rng.standard_normal(n)) * np.abs(a - a.mean(0)).mean()
    j = rng.integers(0, n, n)
    gap = np.abs(a[j] - a).max(1)
    radius[::3] = gap[::3]                        # radii exactly at another point's distance
    radius[1::3] = np.nextafter(gap[1::3], 0)     # and just below it
    radius[5] = 0.0
    expected = _brute_square_counts(a, radius)
    np.testing.assert_array_equal(range_count.count_in_squares(a, radius), expected)
    np.testing.assert_array_equal(range_count.count_within(a, radius), expected)


@pytest.mark.parametrize("n", [1, 2, 3, 64, 65])
def test_rectangle_counts_at_tiny_sizes_and_power_of_two_edges(n):
    rng = np.random.default_rng(n)
    seq = rng.permutation(n)
    lo = rng.integers(0, n + 1, 40)
    hi = np.maximum(lo, rng.integers(0, n + 1, 40))
    vlo = rng.integers(0, n + 1, 40)
    vhi = np.maximum(vlo, rng.integers(0, n + 1, 40))
    expected = [int(((seq[a:b] >= c) & (seq[a:b] < d)).sum()) for a, b, c, d in zip(lo, hi, vlo, vhi)]
    np.testing.assert_array_equal(range_count.count_in_rectangles(seq, lo, hi, vlo, vhi), expected)


def test_two_column_counts_equal_sklearns_kdtree_at_larger_n():
    from sklearn.neighbors import KDTree

    rng = np.random.default_rng(6)
    a = rng.standard_normal((20_000, 2))
    radius = np.abs(rng.standard_normal(20_000)) * 0.1
    tree = KDTree(a, metric="chebyshev")
    np.testing.assert_array_equal(range_count.count_in_squares(a, radius),
                                  tree.query_radius(a, radius, count_only=True))


def test_ksg_gives_the_same_answer_on_every_thread_count():
    rng = np.random.default_rng(7)
    n = range_count.PARALLEL_MIN_N * 10   # the two sides and the 10 blocks run in threads
    x = rng.standard_normal((n, 2))
    y = x + rng.standard_normal((n, 2))
    one = nonparametric.ksg_mi(x, y, workers=1, full_output=True)
    many = nonparametric.ksg_mi(x, y, workers=2, full_output=True)
    assert one["mi"] == many["mi"] and one["stderr"] == many["stderr"]
    assert one["details"]["block_estimates"] == many["details"]["block_estimates"]


@pytest.mark.parametrize("dims", [(1, 1), (2, 1), (2, 2)])
def test_ksg_equals_the_all_pairs_estimate(dims):
    rng = np.random.default_rng(0)
    n, k = 400, 3
    x = rng.standard_normal((n, dims[0]))
    y = x[:, :1] + rng.standard_normal((n, dims[1]))
    dx = np.abs(x[:, None, :] - x[None, :, :]).max(-1)
    dy = np.abs(y[:, None, :] - y[None, :, :]).max(-1)
    eps = np.sort(np.maximum(dx, dy), axis=1)[:, k]
    nx, ny = (dx < eps[:, None]).sum(1) - 1, (dy < eps[:, None]).sum(1) - 1
    brute = digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))
    ours = nonparametric.ksg_mi(x, y, k=k, standardize=False, noise=0.0, stderr="pointwise")
    assert abs(ours - brute) < 1e-12


def test_mardia_skewness_by_tensor_equals_all_pairs():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((600, 6)) ** 2   # skewed, so b1 is far from 0
    pairs = float(np.sum((w @ w.T) ** 3)) / 600 ** 2
    n, d = w.shape
    assert copula._skew_cost(n, d)[1] == "tensor"
    assert copula._b1(w, 128) == pytest.approx(pairs, rel=1e-12)
    assert copula._skew_cost(20, d)[1] == "pairs"
    assert copula._b1(w[:20], 7) == pytest.approx(float(np.sum((w[:20] @ w[:20].T) ** 3)) / 400, rel=1e-12)


def test_normal_scores_equal_rankdata_with_and_without_ties():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((500, 3))
    x[:, 1] = np.round(x[:, 1], 1)
    np.testing.assert_array_equal(copula.copula_normalize(x), ndtri((rankdata(x, axis=0) - 0.5) / 500))


def test_copula_test_subsamples_beyond_its_budget_and_says_so(monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3000, 2))
    y = 0.6 * x + 0.8 * rng.standard_normal((3000, 2))
    full = copula.gaussian_copula_test(x, y)
    assert "skew_rows" not in full and full["pvalue"] >= 0.01
    monkeypatch.setattr(copula, "COPULA_SKEW_BUDGET", 1e5)
    monkeypatch.setattr(copula, "COPULA_REGRESSION_FLOATS", 7000)
    sub = copula.gaussian_copula_test(x, y)
    assert copula.COPULA_TEST_MIN_SAMPLES <= sub["skew_rows"] < 3000 and sub["regression_rows"] == 1000
    assert sub["p_kurt"] == full["p_kurt"]   # the kurtosis always uses every row
    assert sub["pvalue"] >= 0.01
    assert copula.gaussian_copula_test(x, y) == sub   # seeded: the same subsample every time
    t = x / np.sqrt(rng.chisquare(2, (3000, 1)) / 2)   # a t copula: rejected on the subsample too
    assert copula.gaussian_copula_test(t, y)["pvalue"] < 1e-6


def test_mi_bench_estimate_ksg_loads_neither_torch_nor_sklearn_nor_pandas(tmp_path):
    """`mi-bench estimate FILE -e ksg` on a 1 + 1 CSV: the whole command imports only numpy and
    scipy's spatial/special modules (torch, scikit-learn, pandas and scipy.stats cost seconds)."""
    import json
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    x = rng.standard_normal(300)
    np.savetxt(tmp_path / "pair.csv", np.c_[x, x + rng.standard_normal(300)], delimiter=",", header="x,y",
               comments="")
    code = ("import contextlib, io, json, sys\n"
            "from mi_estimators.bench.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main(['estimate', {str(tmp_path / 'pair.csv')!r}, '-e', 'ksg']) == 0\n"
            "print(json.dumps(sorted(m for m in ('torch', 'sklearn', 'pandas', 'scipy.stats', 'matplotlib')"
            " if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_all_cores_means_this_process_cores_capped_by_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert range_count.thread_count(-1) == 1
    assert range_count.thread_count(3) == 3   # an explicit number is kept
    assert range_count.thread_count(3, n=range_count.PARALLEL_MIN_N - 1) == 1   # too few points to share
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert range_count.thread_count(-1) == len(os.sched_getaffinity(0))
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert range_count.thread_count(-1) == len(os.sched_getaffinity(0))


def test_two_columns_past_the_wavelet_limit_use_the_tree_with_the_same_counts(monkeypatch):
    rng = np.random.default_rng(8)
    a = np.round(rng.standard_normal((500, 2)), 1)
    radius = np.abs(rng.standard_normal(500)) * 0.3
    expected = _brute_square_counts(a, radius)
    monkeypatch.setattr(range_count, "WAVELET_MAX_N", 499)
    np.testing.assert_array_equal(range_count.count_within(a, radius), expected)
    np.testing.assert_array_equal(range_count.count_within(a, radius, workers=2), expected)


@pytest.mark.parametrize("cols", [1, 2, 3])
def test_mixed_ksg_counts_equal_scipys_ball_counts_on_tied_data(cols):
    from scipy.spatial import cKDTree

    from mi_estimators import discrete

    rng = np.random.default_rng(9)
    a = rng.integers(0, 4, (2000, cols)).astype(float)
    a[:, 0] += np.where(rng.random(2000) < 0.5, 0.0, rng.standard_normal(2000))   # atoms and a continuum
    radius = np.where(rng.random(2000) < 0.3, 0.0, np.abs(rng.standard_normal(2000)) * 0.2)
    expected = cKDTree(a).query_ball_point(a, radius, p=np.inf, return_length=True) - 1
    np.testing.assert_array_equal(discrete._count_le(a, radius, 1), expected)


@pytest.mark.parametrize("bad, match", [
    (dict(radius=np.full(3, -1.0)), "radius must be >= 0"),
    (dict(radius=np.array([0.5, np.nan, 0.5])), "radius must be >= 0"),
    (dict(radius=np.full(5, 0.5)), "one entry per point"),
    (dict(a=np.array([[0.0], [np.nan], [1.0]])), "NaN or infinite"),
    (dict(a=np.array([[0.0, 1.0], [np.inf, 0.0], [1.0, 1.0]])), "NaN or infinite"),
])
def test_counts_refuse_what_has_no_count(bad, match):
    args = {"a": np.array([[0.0], [1.0], [2.0]]), "radius": np.full(3, 0.5), **bad}
    with pytest.raises(ValueError, match=match):
        range_count.count_within(args["a"], args["radius"])


def test_rounding_far_from_the_run_costs_log_n_not_n():
    """One far point whose a_i + r rounds far from the run's true end: found by binary search on
    the float test (the old walk moved one distinct value per round: quadratic)."""
    n = 20_000
    a = np.concatenate([[-1e15], np.linspace(0, 0.06, n - 1)])
    radius = np.zeros(n)
    radius[0] = 1e15
    counts = range_count.count_sorted(a, radius)
    assert counts[0] == int((np.abs(a - a[0]) <= 1e15).sum())
    np.testing.assert_array_equal(counts[1:], 1 + (np.abs(a[1:] - a[0]) <= 0))
    two = np.column_stack([a, a[::-1]])
    np.testing.assert_array_equal(range_count.count_in_squares(two, radius)[:1],
                                  [(np.abs(two - two[0]).max(1) <= 1e15).sum()])


def test_streamed_canonical_structure_equals_one_qr_of_all_rows(monkeypatch):
    from mi_estimators import canonical
    from mi_estimators.nonparametric import gaussian_mi

    rng = np.random.default_rng(10)
    z = rng.standard_normal((2500, 4))
    x = z * np.array([1e-40, 1.0, 1e40, 3.0]) + np.array([0.0, 5.0, 0.0, -2.0])   # columns of far scales
    y = np.column_stack([0.3 * z[:, :2] + rng.standard_normal((2500, 2)), rng.standard_normal(2500)])

    def basis(a):   # one QR of all rows of the centred, unit-norm columns
        c = a - a.mean(0)
        return np.linalg.qr(c / np.linalg.norm(c, axis=0))[0]

    direct = np.linalg.svd(basis(x).T @ basis(y), compute_uv=False)
    whole = gaussian_mi(x, y, full_output=True)
    from mi_estimators import chunks

    monkeypatch.setattr(chunks, "STREAM_ROWS", 300)   # 9 chunks
    assert len(list(chunks.row_chunks(2500, 7))) == 9
    np.testing.assert_allclose(canonical.canonical_correlations(x, y), direct, rtol=1e-12, atol=1e-14)
    chunked = gaussian_mi(x, y, full_output=True)
    assert chunked["mi"] == pytest.approx(whole["mi"], rel=1e-12)
    assert chunked["stderr"] == pytest.approx(whole["stderr"], rel=1e-10)


def test_normal_scores_a_few_columns_at_a_time_equal_all_at_once(monkeypatch):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((400, 7))
    x[:, 3] = np.round(x[:, 3], 1)
    whole = copula.copula_normalize(x)
    monkeypatch.setattr(copula, "_NORMALIZE_FLOATS", 800)   # two columns at a time
    np.testing.assert_array_equal(copula.copula_normalize(x), whole)
    np.testing.assert_array_equal(whole, ndtri((rankdata(x, axis=0) - 0.5) / 400))


def test_an_ill_conditioned_second_block_near_rho_one_keeps_its_canonical_correlations():
    """y spanning the same columns as y0 through an ill-conditioned basis (condition ~1e8) has
    the same canonical correlations: Q_x'Q_y is read from an orthonormal factor, not a solve."""
    from mi_estimators.canonical import canonical_correlations
    from mi_estimators.nonparametric import gaussian_mi

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 2))
    y0 = x + 1e-4 * rng.standard_normal((2000, 2))                 # 1 - rho about 5e-9
    y = np.column_stack([y0[:, 0], y0[:, 0] + 1e-8 * y0[:, 1]])
    np.testing.assert_allclose(1 - canonical_correlations(x, y), 1 - canonical_correlations(x, y0), rtol=1e-3)
    assert gaussian_mi(x, y) == pytest.approx(gaussian_mi(x, y0), rel=1e-6)
    assert gaussian_mi(y, x) == pytest.approx(gaussian_mi(x, y), rel=1e-6)
