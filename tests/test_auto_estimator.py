"""The "auto" estimator: copula normalisation, the choice by shape, the Gaussian-copula floor."""
import math

import numpy as np
import pytest

from mi_estimators.auto import KSG_MAX_DIM, NEURAL_TRANSFORM, choose_estimator, copula_normalize, estimate_auto


def _gaussian_pair(n, rho, seed, dim=1):
    """x, y in R^dim with coordinate-wise correlation rho; I = -dim/2 log(1 - rho^2) nats."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, dim))
    return x, y, -0.5 * dim * math.log(1 - rho**2)


def test_copula_normalize_is_invariant_to_monotone_maps_and_gives_normal_marginals():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1000, 3))
    warped = np.column_stack([np.exp(x[:, 0]), x[:, 1] ** 3, np.arctan(x[:, 2])])
    z = copula_normalize(x)
    np.testing.assert_array_equal(z, copula_normalize(warped))
    assert z.shape == (1000, 3)
    # normal scores of 1..n: mean exactly 0 by symmetry, sd just under 1
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-12)
    assert np.all((z.std(0) > 0.98) & (z.std(0) < 1.0))


def test_copula_normalize_averages_ties_and_rejects_bad_shapes():
    z = copula_normalize(np.array([1.0, 1.0, 2.0, 3.0]))
    assert z.shape == (4, 1) and z[0, 0] == z[1, 0] and z[1, 0] < z[2, 0] < z[3, 0]
    with pytest.raises(ValueError, match="n >= 2"):
        copula_normalize(np.zeros((1, 2)))


@pytest.mark.parametrize("dx, dy, method", [(1, 1, "ksg"), (2, 1, "ksg"), (2, 2, "infonce"), (5, 5, "infonce")])
def test_choice_follows_the_dimension_threshold_with_a_reason(dx, dy, method):
    rng = np.random.default_rng(1)
    name, options, reason = choose_estimator(rng.standard_normal((300, dx)), rng.standard_normal((300, dy)))
    assert name == method and KSG_MAX_DIM == 3
    # the options are what runs: the neural critic's input is NEURAL_TRANSFORM (whitened blocks)
    assert options.get("transform") == (NEURAL_TRANSFORM if method == "infonce" else None)
    assert f"d_x + d_y = {dx + dy}" in reason and str(KSG_MAX_DIM) in reason


def test_low_dimension_auto_is_plain_ksg_and_lands_on_the_truth():
    from mi_estimators import estimate_mi

    x, y, truth = _gaussian_pair(3000, 0.75, seed=2)
    res = estimate_auto(x, y, seed=0, copula_test=False)   # a Gaussian pair would pass the copula test
    assert res.estimator == "auto" and res.details["auto"]["method"] == "ksg"
    assert "d_x + d_y = 2" in res.config["auto_reason"]
    k = res.details["auto"]["options"]["k"]
    assert k in (1, 3) and res.mi == estimate_mi(x, y, estimator="ksg", k=k, seed=0).mi
    # KSG's block stderr understates the seed sd by 10-20% (docs/estimators/nonparametric.md);
    # 4 reported stderrs is still a >99.9% band for an unbiased estimate at rho = 0.75.
    assert abs(res.mi - truth) < 4 * res.stderr, (res.mi, truth, res.stderr)
    assert res.interval[0] < res.mi < res.interval[1]


def test_untrained_critic_is_floored_by_the_gaussian_copula_value():
    # one training step: InfoNCE is ~0 while the Gaussian-copula (CCA on normal scores) value is
    # ~ the truth, so auto must report the latter, and say why.
    x, y, truth = _gaussian_pair(2000, 0.6, seed=3, dim=2)
    fast = dict(steps=1, hidden=(8,), embed_dim=4, eval_every=1, copula_test=False)
    res = estimate_auto(x, y, seed=0, **fast)
    comps = res.details["auto"]["components"]
    assert comps["infonce"]["mi"] < 0.2 < comps["gcmi"]["mi"]
    assert res.details["auto"]["reported"] == "gcmi" and res.mi == comps["gcmi"]["mi"]
    assert "Gaussian-copula value" in res.details["auto"]["reason"]
    # the Gaussian-copula value sees normal scores only: monotone warps leave it unchanged, exactly
    warped = estimate_auto(np.exp(x), y**3 + 2 * y, seed=0, **fast)
    assert warped.details["auto"]["components"]["gcmi"]["mi"] == comps["gcmi"]["mi"]
    # the critic's input may be plain standardised data; the floor still uses normal scores
    std = estimate_auto(x, y, seed=0, neural_transform="standardize", **fast)
    assert std.details["auto"]["components"]["gcmi"]["mi"] == comps["gcmi"]["mi"]
    assert "standardised data" in std.details["auto"]["reason"]
    with pytest.raises(ValueError, match="valid choices"):
        estimate_auto(x, y, neural_transform="rank")
    # Wishart-corrected CCA on 2000 normal-score pairs: se ~ 0.02 nats
    assert abs(res.mi - truth) < 4 * res.stderr + 0.02, (res.mi, truth, res.stderr)


@pytest.mark.slow
def test_neural_path_trains_and_lands_near_the_truth_on_a_warped_gaussian():
    x, y, truth = _gaussian_pair(4000, 0.5, seed=4, dim=3)          # I = 0.4315 nats
    res = estimate_auto(np.tanh(x), np.exp(y), seed=0, steps=400, hidden=(64,), embed_dim=16, copula_test=False)
    auto = res.details["auto"]
    assert auto["method"] == "infonce" and set(auto["components"]) == {"gcmi", "infonce"}
    # held-out stderr ~0.03 here; InfoNCE(B=128) and GCMI are both ~unbiased at 0.43 nats on a
    # Gaussian copula, so 4 stderrs plus the InfoNCE batch bias bound (I/B ~ 0.004)
    assert abs(res.mi - truth) < 4 * res.stderr + 0.01, (res.mi, truth, res.stderr)


def test_same_seed_same_result_and_bad_input_is_a_clear_error():
    x, y, _ = _gaussian_pair(1500, 0.5, seed=5)
    assert estimate_auto(x, y, seed=3).mi == estimate_auto(x, y, seed=3).mi
    with pytest.raises(ValueError, match="same number of samples"):
        estimate_auto(x, y[:-1])
    bad = x.copy()
    bad[7, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        estimate_auto(bad, y)
    with pytest.raises(ValueError, match="valid choices"):
        estimate_auto(x, y, force="knn")


def test_estimate_mi_accepts_auto_and_returns_the_same_result():
    from mi_estimators import estimate_mi, list_estimators

    x, y, _ = _gaussian_pair(1500, 0.5, seed=6)
    assert "auto" in list_estimators()
    res = estimate_mi(x, y, estimator="auto", seed=2)
    assert res.estimator == "auto" and res.mi == estimate_auto(x, y, seed=2).mi
    assert res.details["auto"]["reason"].startswith("the Gaussian-copula test does not reject")
    ksg = estimate_mi(x, y, estimator="auto", seed=2, copula_test=False)
    assert ksg.details["auto"]["reason"].startswith("d_x + d_y = 2")


def test_low_dimension_auto_picks_k1_where_ksg_bias_shows_and_k3_where_it_does_not():
    import synthetic
    from mi_estimators.auto import KSG_BIAS_GAP

    # waves: the density bends within the 3rd-neighbour distance, KSG(k) falls with k
    task = synthetic.get_task("2v1-waves-12-5.0-3.0")
    x, y = task.sample(3000, seed=0)
    res = estimate_auto(x, y, seed=0)
    comps = res.details["auto"]["components"]
    assert comps["ksg_k1"]["mi"] - comps["ksg_k3"]["mi"] > KSG_BIAS_GAP
    assert res.details["auto"]["options"]["k"] == 1 and res.mi == comps["ksg_k1"]["mi"]
    assert abs(res.mi - task.mi) < abs(comps["ksg_k3"]["mi"] - task.mi) - 0.05, (res.mi, comps, task.mi)
    assert "k = 1" in res.details["auto"]["reason"]
    # a Gaussian pair at 0.4 nats: no bias to see, the low-variance k = 3 is kept
    g = synthetic.get_task("1v1-normal-0.75")
    gx, gy = g.sample(3000, seed=1)
    gres = estimate_auto(gx, gy, seed=0, copula_test=False)
    gc = gres.details["auto"]["components"]
    assert gc["ksg_k1"]["mi"] - gc["ksg_k3"]["mi"] <= KSG_BIAS_GAP
    assert gres.details["auto"]["options"]["k"] == 3 and gres.mi == gc["ksg_k3"]["mi"]


def test_reported_interval_is_the_sampling_interval_widened_by_the_calibrated_allowance():
    from mi_estimators.auto import BIAS_ALLOWANCE, calibrated_interval

    rng = np.random.default_rng(5)
    x = rng.standard_normal((1500, 1))
    y = x + rng.standard_normal((1500, 1))
    res = estimate_auto(x, y, seed=0)
    auto = res.details["auto"]
    lo, hi = auto["interval_sampling"]
    down, up = BIAS_ALLOWANCE[auto["reported"]]
    assert auto["bias_allowance"] == [down, up]
    assert res.interval == pytest.approx((lo - down * abs(res.mi), hi + up * abs(res.mi)))
    assert res.interval == pytest.approx(calibrated_interval(res.mi, (lo, hi), auto["reported"]))
    assert res.interval[0] <= lo < res.mi < hi <= res.interval[1]
    plain = estimate_auto(x, y, seed=0, interval="sampling")
    assert plain.mi == res.mi and plain.interval == pytest.approx((lo, hi))
    assert plain.details["auto"]["bias_allowance"] == [0.0, 0.0]
    with pytest.raises(ValueError, match="unknown interval 'wide'.*calibrated"):
        estimate_auto(x, y, interval="wide")
    with pytest.raises(ValueError, match="unknown method 'knn'"):
        calibrated_interval(0.5, (0.4, 0.6), "knn")


@pytest.fixture(scope="module")
def neural_run():
    """4-d data that auto sends to its neural path (copula test off), short training settings,
    and auto's default result on them (fitted once for the tests below)."""
    from mi_estimators import estimate_mi

    rng = np.random.default_rng(2)
    x = rng.standard_normal((700, 2))
    y = x + rng.standard_normal((700, 2))
    fast = dict(steps=4, eval_every=2, batch_size=64)
    return x, y, fast, estimate_mi(x, y, copula_test=False, **fast)


def test_neural_path_uses_its_chosen_critic_size_unless_the_user_names_one(neural_run):
    from mi_estimators import estimate_mi
    from mi_estimators.auto import NEURAL_HIDDEN
    from mi_estimators.neural import DEFAULT_HIDDEN

    x, y, fast, res = neural_run
    assert res.details["auto"]["method"] == "infonce" and NEURAL_HIDDEN == (128, 128, 128)
    assert tuple(res.config["hidden"]) == NEURAL_HIDDEN
    assert tuple(estimate_mi(x, y, hidden=(16,), copula_test=False, **fast).config["hidden"]) == (16,)
    # a named bound keeps the package default
    assert tuple(estimate_mi(x, y, "infonce", **fast).config["hidden"]) == DEFAULT_HIDDEN == (256, 256)


def test_neural_path_trains_an_ensemble_and_reports_its_mean_score_critic(neural_run):
    from mi_estimators import estimate_mi
    from mi_estimators.auto import NEURAL_COMBINE, NEURAL_N_CRITICS

    x, y, fast, res = neural_run
    assert (NEURAL_N_CRITICS, NEURAL_COMBINE) == (4, "scores")
    assert res.config["n_critics"] == 4 and res.config["combine"] == "scores"
    # the reported value is the named-bound run with the same settings
    same = estimate_mi(x, y, "infonce", hidden=(128, 128, 128), n_critics=4, combine="scores",
                       standardize="whiten", **fast)
    assert res.details["auto"]["components"]["infonce"]["mi"] == same.mi
    # the user's choice wins
    one = estimate_mi(x, y, copula_test=False, n_critics=1, **fast)
    assert one.config["n_critics"] == 1
    with pytest.raises(ValueError, match="unknown combine 'mean'"):
        estimate_mi(x, y, combine="mean", **fast)   # refused before auto picks a path
    est = estimate_mi(x, y, copula_test=False, combine="estimates", **fast)
    same = estimate_mi(x, y, "infonce", hidden=(128, 128, 128), n_critics=4, standardize="whiten", **fast)
    assert est.config["combine"] == "estimates"
    assert est.details["auto"]["components"]["infonce"]["mi"] == same.mi == pytest.approx(same.per_critic.mean())


# ----------------------------------------------------------------------------- the Gaussian-copula test
def test_gaussian_copula_test_keeps_its_level_on_warped_gaussians():
    from mi_estimators.copula import gaussian_copula_test

    # 40 warped Gaussian samples (copula Gaussian, marginals not): at level 0.01 the test may reject
    # ~0.4 of them (it is conservative); 4 or more rejections has probability < 0.001 under H0.
    rejected = 0
    for seed in range(40):
        x, y, _ = _gaussian_pair(600, 0.7, seed=100 + seed, dim=1 + seed % 2)
        p = gaussian_copula_test(np.exp(x), np.tanh(y) + y**3)["pvalue"]
        rejected += p < 0.01
    assert rejected <= 3, rejected


def test_gaussian_copula_test_keeps_its_level_when_d_is_large_against_n():
    from mi_estimators.copula import gaussian_copula_test

    # d = 100 at n = 1000: Mardia's asymptotic kurtosis moments d(d+2), 8d(d+2)/n put the null
    # z about -2.3 off and rejected 4 of 10 Gaussian samples; the exact small-sample moments
    # (Mardia 1974) must keep rejections near the level (P(>= 2 of 12 | 0.01) < 0.01).
    rejected = 0
    for seed in range(12):
        x, y, _ = _gaussian_pair(1000, 0.5, seed=300 + seed, dim=50)
        rejected += gaussian_copula_test(x, y)["pvalue"] < 0.01
    assert rejected <= 1, rejected


@pytest.mark.parametrize("kind", ["student", "parabola", "x-shape", "uniform-noise"])
def test_gaussian_copula_test_rejects_non_gaussian_copulas(kind):
    from mi_estimators.copula import gaussian_copula_test

    rng = np.random.default_rng(7)
    n = 2000
    x = rng.standard_normal((n, 1))
    if kind == "student":          # Student-t copula, 1 degree of freedom: tail dependence
        z = rng.standard_normal((n, 2))
        z[:, 1] = 0.5 * z[:, 0] + math.sqrt(0.75) * z[:, 1]
        z /= np.sqrt(rng.chisquare(1, size=(n, 1)))
        x, y = z[:, :1], z[:, 1:]
    elif kind == "parabola":
        y = x**2 + 0.5 * rng.standard_normal((n, 1))
    elif kind == "x-shape":
        y = np.where(rng.random((n, 1)) < 0.5, x, -x) + 0.2 * rng.standard_normal((n, 1))
    else:                          # Y = X + U(-0.1, 0.1), X ~ U(0, 1): the suite's 1v1-additive
        x = rng.random((n, 1))
        y = x + rng.uniform(-0.1, 0.1, (n, 1))
    assert gaussian_copula_test(x, y)["pvalue"] < 1e-6


def test_a_missed_non_gaussian_copula_is_caught_by_the_check_against_ksg():
    import synthetic
    from mi_estimators.auto import COPULA_CHECK_Z

    # 2v1-waves at n = 300: the copula test has too little power and passes (p = 1.0 on this
    # draw), but KSG is far above the Gaussian-copula value (a lower bound), so KSG is kept
    task = synthetic.get_task("2v1-waves-12-5.0-3.0")
    x, y = task.sample(300, seed=0)
    res = estimate_auto(x, y, seed=0)
    auto = res.details["auto"]
    assert auto["components"]["copula_test"]["pvalue"] >= 0.01
    assert auto["reported"] == "ksg" and "cannot do" in auto["reason"]
    assert res.mi > auto["components"]["gcmi"]["mi"] + COPULA_CHECK_Z * auto["components"]["gcmi"]["stderr"]
    assert abs(res.mi - task.mi) < abs(auto["components"]["gcmi"]["mi"] - task.mi) - 0.3   # 0.86 vs 1.25 nats off


def test_gaussian_copula_test_is_rank_invariant_and_refuses_bad_input():
    from mi_estimators.copula import COPULA_TEST_MIN_SAMPLES, gaussian_copula_test

    x, y, _ = _gaussian_pair(500, 0.5, seed=8, dim=2)
    assert gaussian_copula_test(x, y) == gaussian_copula_test(np.exp(x), y**3)
    same = gaussian_copula_test(copula_normalize(x), copula_normalize(y), normalized=True)
    assert same == gaussian_copula_test(x, y)
    collinear = gaussian_copula_test(x[:, :1], np.exp(x[:, :1]))
    assert collinear["pvalue"] == 0.0 and "collinear" in collinear["reason"]
    with pytest.raises(ValueError, match=f"too few samples.*at least {COPULA_TEST_MIN_SAMPLES}"):
        gaussian_copula_test(x[:50], y[:50])
    bad = x.copy()
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or inf values \\(first at row 3, column 1\\)"):
        gaussian_copula_test(bad, y)
    with pytest.raises(ValueError, match="same number of samples"):
        gaussian_copula_test(x, y[:-1])


def test_auto_reports_the_gaussian_copula_value_when_the_test_does_not_reject():
    from mi_estimators import estimate_mi
    from mi_estimators.auto import COPULA_TEST_LEVEL

    x, y, truth = _gaussian_pair(3000, 0.6, seed=9, dim=2)            # I = 0.446 nats
    res = estimate_auto(np.exp(x), np.tanh(y), seed=0)
    auto = res.details["auto"]
    assert auto["method"] == auto["reported"] == "gaussian-copula"
    assert auto["components"]["copula_test"]["pvalue"] >= COPULA_TEST_LEVEL
    assert res.mi == estimate_mi(copula_normalize(x), copula_normalize(y), "cca").mi
    assert abs(res.mi - truth) < 4 * res.stderr, (res.mi, truth, res.stderr)
    # the shape-based method ran as a check and did not contradict the test
    from mi_estimators.auto import COPULA_CHECK_Z
    check = auto["components"]["infonce"]
    assert check["mi"] <= res.mi + COPULA_CHECK_Z * math.hypot(check["stderr"], res.stderr)
    # the gate can be switched off, and the path forced
    off = estimate_auto(x, y, seed=0, copula_test=False, steps=4, eval_every=2)
    assert "copula_test" not in off.details["auto"]["components"]
    assert off.details["auto"]["method"] == "infonce" and "copula_test" not in off.details["auto"]["components"]
    xp = np.random.default_rng(3).standard_normal((600, 1))
    yp = xp**2 + 0.5 * np.random.default_rng(4).standard_normal((600, 1))
    assert estimate_auto(xp, yp).details["auto"]["method"] == "ksg"
    assert estimate_auto(xp, yp, force="gaussian-copula").details["auto"]["reported"] == "gaussian-copula"
    with pytest.raises(ValueError, match="copula_test must be True or False"):
        estimate_auto(xp, yp, copula_test="yes")
    with pytest.warns(RuntimeWarning, match="Gaussian-copula value.*n_critics"):
        estimate_auto(np.exp(x), np.tanh(y), n_critics=4)


def test_auto_routes_discrete_and_mixed_data_and_says_why():
    import synthetic

    rng = np.random.default_rng(0)
    xi = rng.integers(0, 5, (1000, 1))
    yi = rng.integers(0, 5, (1000, 1))
    res = estimate_auto(xi, yi)
    assert res.details["auto"]["method"] == "discrete" and res.interval[0] == 0.0 and res.mi >= 0
    assert res.interval[1] < 0.02                                  # independent integers: a short interval at 0
    label = rng.integers(0, 2, (1000, 1))
    same = estimate_auto(label, label.astype(float))
    assert same.interval[1] <= math.log(2) + 1e-12                 # never above H(label)
    mixed = synthetic.get_task("mixed:k=5,sigma=0.3")
    mx, my = mixed.sample(4000, seed=1)
    mres = estimate_auto(mx, my)
    assert mres.details["auto"]["method"] == "mixed-ksg" and "discrete" in mres.details["auto"]["reason"]
    assert abs(mres.mi - mixed.mi) < 4 * mres.stderr + 0.03, (mres.mi, mixed.mi, mres.stderr)
    # a point mass in continuous columns stays on the continuous path (chosen on the choose half)
    zi = synthetic.get_task("zero-inflated:p=0.1,rho=0.9")
    zx, zy = zi.sample(4000, seed=2)
    assert estimate_auto(zx, zy).details["auto"]["method"] not in ("discrete", "mixed-ksg")


def test_small_n_trains_critics_with_a_lowered_batch_instead_of_a_silent_copula_fallback():
    """n = 1000 with d > 3 and a rejected copula test: auto used to report the Gaussian-copula value
    with no warning (a lower estimate there); now its critics train with batch 64 and it says so."""
    import warnings as _w

    import synthetic

    task = synthetic.get_task("spiral-multinormal-sparse-3-3-2-2.0")
    x, y = task.sample(1000, seed=0)
    with _w.catch_warnings():
        _w.simplefilter("ignore")
        res = estimate_auto(x, y, steps=60, eval_every=20)
    assert res.config["batch_size"] == 64 and res.details["auto"]["components"]["copula_test"]["pvalue"] < 0.01
    assert any("batch_size lowered from 128 to 64" in m for m in res.warnings)
    # far too few samples for any batch: the copula value, with a warning that it is only a lower estimate
    with pytest.warns(UserWarning, match="only a lower estimate"):
        small = estimate_auto(x[:150], y[:150])
    assert small.details["auto"]["reported"] == "gcmi"
