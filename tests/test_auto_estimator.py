"""The "auto" estimator: copula normalisation, the choice by shape, the Gaussian-copula floor."""
import math

import numpy as np
import pytest

from mi_estimators.auto import KSG_MAX_DIM, choose_estimator, copula_normalize, estimate_auto


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
    assert (options.get("transform") == "copula") == (method == "infonce")
    assert f"d_x + d_y = {dx + dy}" in reason and str(KSG_MAX_DIM) in reason


def test_low_dimension_auto_is_plain_ksg_and_lands_on_the_truth():
    from mi_estimators import estimate_mi

    x, y, truth = _gaussian_pair(3000, 0.75, seed=2)
    res = estimate_auto(x, y, seed=0)
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
    res = estimate_auto(x, y, seed=0, steps=1, hidden=(8,), embed_dim=4, eval_every=1)
    comps = res.details["auto"]["components"]
    assert comps["infonce"]["mi"] < 0.2 < comps["gcmi"]["mi"]
    assert res.details["auto"]["reported"] == "gcmi" and res.mi == comps["gcmi"]["mi"]
    assert "Gaussian-copula value" in res.details["auto"]["reason"]
    # the Gaussian-copula value sees normal scores only: monotone warps leave it unchanged, exactly
    warped = estimate_auto(np.exp(x), y**3 + 2 * y, seed=0, steps=1, hidden=(8,), embed_dim=4, eval_every=1)
    assert warped.details["auto"]["components"]["gcmi"]["mi"] == comps["gcmi"]["mi"]
    # the critic's input may be plain standardised data; the floor still uses normal scores
    std = estimate_auto(x, y, seed=0, steps=1, hidden=(8,), embed_dim=4, eval_every=1,
                        neural_transform="standardize")
    assert std.details["auto"]["components"]["gcmi"]["mi"] == comps["gcmi"]["mi"]
    assert "standardised data" in std.details["auto"]["reason"]
    with pytest.raises(ValueError, match="valid choices"):
        estimate_auto(x, y, neural_transform="rank")
    # Wishart-corrected CCA on 2000 normal-score pairs: se ~ 0.02 nats
    assert abs(res.mi - truth) < 4 * res.stderr + 0.02, (res.mi, truth, res.stderr)


@pytest.mark.slow
def test_neural_path_trains_and_lands_near_the_truth_on_a_warped_gaussian():
    x, y, truth = _gaussian_pair(4000, 0.5, seed=4, dim=3)          # I = 0.4315 nats
    res = estimate_auto(np.tanh(x), np.exp(y), seed=0, steps=400, hidden=(64,), embed_dim=16)
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
    assert res.details["auto"]["reason"].startswith("d_x + d_y = 2")


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
    gres = estimate_auto(gx, gy, seed=0)
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


def test_neural_path_uses_its_chosen_critic_size_unless_the_user_names_one():
    from mi_estimators import estimate_mi
    from mi_estimators.auto import NEURAL_HIDDEN
    from mi_estimators.estimator import DEFAULT_HIDDEN

    rng = np.random.default_rng(2)
    x = rng.standard_normal((700, 2))
    y = x + rng.standard_normal((700, 2))
    fast = dict(steps=4, eval_every=2, batch_size=64)
    res = estimate_mi(x, y, **fast)
    assert res.details["auto"]["method"] == "infonce" and NEURAL_HIDDEN == (128, 128, 128)
    assert tuple(res.config["hidden"]) == NEURAL_HIDDEN
    assert tuple(estimate_mi(x, y, hidden=(16,), **fast).config["hidden"]) == (16,)
    # a named bound keeps the package default
    assert tuple(estimate_mi(x, y, "infonce", **fast).config["hidden"]) == DEFAULT_HIDDEN == (256, 256)
