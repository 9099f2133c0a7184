"""Conditional MI (estimate_cmi), units, and the permutation tests of (conditional) independence."""
import math

import numpy as np
import pytest

from mi_estimators import estimate_cmi, estimate_mi
from mi_estimators.independence import independence_test


def gaussian_cmi_data(n, dz, rho, seed, dx=1, dy=1, mix=1.0):
    """X = A Z + e_x, Y = B Z + e_y, (e_x, e_y) coordinate-wise correlated (rho), independent of Z:
    I(X; Y | Z) = -min(dx, dy)/2 log(1 - rho^2) exactly (I(X; Y) differs: Z drives both)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, dz))
    a, b = mix * rng.standard_normal((dz, dx)), mix * rng.standard_normal((dz, dy))
    ex = rng.standard_normal((n, dx))
    ey = rng.standard_normal((n, dy))
    m = min(dx, dy)
    ey[:, :m] = rho * ex[:, :m] + math.sqrt(1 - rho ** 2) * ey[:, :m]
    return z @ a + ex, z @ b + ey, z, -0.5 * m * math.log(1 - rho ** 2)


@pytest.mark.parametrize("dz", [1, 3, 10])
def test_gaussian_copula_cmi_lands_on_the_closed_form_and_ignores_monotone_maps(dz):
    x, y, z, truth = gaussian_cmi_data(4000, dz, 0.6, seed=dz)
    res = estimate_cmi(x, y, z, "gaussian-copula")
    assert abs(res.mi - truth) < 4 * res.stderr + 0.005, (res.mi, truth, res.stderr)
    assert res.interval[0] <= res.mi <= res.interval[1]
    warped = estimate_cmi(np.exp(x), y ** 3, np.tanh(z), "gaussian-copula")
    assert warped.mi == pytest.approx(res.mi, abs=1e-12)
    # the chain rule on the same normal scores: I(X; Y | Z) = I(X; Y,Z) - I(X; Z) (plug-in values)
    full = estimate_mi(x, np.hstack([y, z]), "gaussian-copula", bias_correction=False).mi
    part = estimate_mi(x, z, "gaussian-copula", bias_correction=False).mi
    plain = estimate_cmi(x, y, z, "gaussian-copula", bias_correction=False).mi
    assert plain == pytest.approx(full - part, abs=1e-10)


def test_conditional_independence_gives_an_interval_at_zero_and_never_a_negative_value():
    x, y, z, truth = gaussian_cmi_data(3000, 2, 0.0, seed=7)
    assert truth == 0.0
    res = estimate_cmi(x, y, z, "gaussian-copula")
    assert res.mi >= 0 and res.interval[0] == 0.0 < res.interval[1] < 0.05, res
    assert "mi_raw" in res.details and "interval_raw" in res.details
    # k-NN CMI carries a small positive bias at d = 4 (0.011 nats here): within 4 se + 0.02
    knn = estimate_cmi(x, y, z, "ksg")
    assert 0.0 <= knn.mi < 4 * knn.stderr + 0.02 and knn.interval[0] >= 0.0, knn


def test_ksg_cmi_in_low_dimension_within_its_block_error():
    x, y, z, truth = gaussian_cmi_data(3000, 1, 0.7, seed=11)
    res = estimate_cmi(x, y, z, "ksg", k=3)
    assert abs(res.mi - truth) < 4 * res.stderr + 0.02, (res.mi, truth, res.stderr)


def test_auto_routes_by_the_data_and_says_why():
    x, y, z, truth = gaussian_cmi_data(2000, 2, 0.5, seed=3)
    res = estimate_cmi(x, y, z)
    assert res.estimator == "auto" and res.details["auto"]["method"] == "gaussian-copula"
    assert "Gaussian-copula test does not reject" in res.details["auto"]["reason"]
    rng = np.random.default_rng(0)
    xd = rng.integers(0, 3, (1500, 1))
    yd = (xd + rng.integers(0, 2, (1500, 1))) % 3
    zd = rng.integers(0, 2, (1500, 1))
    disc = estimate_cmi(xd, yd, zd)
    assert disc.details["auto"]["method"] == "discrete"
    assert abs(disc.mi - (math.log(3) - math.log(2))) < 4 * disc.stderr + 0.01
    # a non-Gaussian copula in low dimension: k-NN CMI
    zc = rng.standard_normal((2000, 1))
    xc = zc + 0.3 * rng.standard_normal((2000, 1))
    yc = np.sin(3 * xc) + 0.3 * rng.standard_normal((2000, 1))
    ksg = estimate_cmi(xc, yc, zc)
    assert ksg.details["auto"]["method"] == "ksg" and "rejects" in ksg.details["auto"]["reason"]


def test_units_bits_divide_by_log_two_everywhere():
    x, y, z, _ = gaussian_cmi_data(2000, 1, 0.6, seed=5)
    nats = estimate_cmi(x, y, z, "gaussian-copula")
    bits = estimate_cmi(x, y, z, "gaussian-copula", units="bits")
    assert bits.units == "bits" and bits.config["units"] == "bits" and "bits" in str(bits)
    assert bits.mi == pytest.approx(nats.mi / math.log(2))
    assert bits.interval == pytest.approx(tuple(v / math.log(2) for v in nats.interval))
    mi_bits = estimate_mi(x, y, "ksg", units="bits")
    assert mi_bits.mi == pytest.approx(estimate_mi(x, y, "ksg").mi / math.log(2))
    with pytest.raises(ValueError, match="unknown units 'bytes'"):
        estimate_mi(x, y, "ksg", units="bytes")


def test_bad_conditioning_input_is_a_clear_error():
    x, y, z, _ = gaussian_cmi_data(500, 2, 0.5, seed=1)
    with pytest.raises(ValueError, match="z must have the same number of samples"):
        estimate_cmi(x, y, z[:-1])
    with pytest.raises(ValueError, match="every column of z is constant"):
        estimate_cmi(x, y, np.ones((500, 2)))
    with pytest.raises(ValueError, match="z is required"):
        estimate_cmi(x, y, None)
    with pytest.raises(ValueError, match="unknown CMI method 'knn'"):
        estimate_cmi(x, y, z, "knn")
    with pytest.raises(ValueError, match="trains no critic"):
        estimate_cmi(x, y, z, "ksg", steps=10)


def test_neural_chain_rule_reports_both_terms():
    x, y, z, truth = gaussian_cmi_data(1500, 2, 0.6, seed=9, dx=2, dy=2)
    res = estimate_cmi(x, y, z, "neural", steps=20, eval_every=10, batch_size=64)
    chain = res.details["chain_rule"]
    raw = chain["I(X; Y,Z)"]["mi"] - chain["I(X; Z)"]["mi"]
    assert res.details["mi_raw"] == pytest.approx(raw) and res.mi == max(raw, 0.0)


# ------------------------------------------------------------------------ independence tests
def test_permutation_p_value_is_the_rank_of_the_statistic_among_the_null_draws():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 1))
    y = x + rng.standard_normal((400, 1))
    res = independence_test(x, y, n_permutations=99, seed=1)
    assert res.pvalue == (1 + np.sum(res.null >= res.statistic)) / 100 == 0.01
    assert res.null.shape == (99,) and res.scheme == "full" and res.method == "ksg"
    again = independence_test(x, y, n_permutations=99, seed=1)
    np.testing.assert_array_equal(again.null, res.null)


def test_independence_test_holds_its_size_under_the_null():
    # 60 independent datasets at the 10 % level: rejections ~ Binomial(60, 0.1), mean 6, sd 2.3
    rejections = 0
    for s in range(60):
        rng = np.random.default_rng(100 + s)
        res = independence_test(rng.standard_normal((150, 1)), rng.standard_normal((150, 1)),
                                 n_permutations=49, seed=s)
        rejections += res.pvalue <= 0.1
    assert rejections <= 6 + 3 * 2.3, rejections


def test_conditional_test_separates_a_common_cause_from_a_direct_link():
    # x and y share the cause z only: X ⊥ Y | Z holds although X and Y are dependent
    p_null, p_alt = [], []
    for s in range(8):
        rng = np.random.default_rng(s)
        z = rng.standard_normal((300, 1))
        x = z + 0.5 * rng.standard_normal((300, 1))
        y = z + 0.5 * rng.standard_normal((300, 1))
        p_null.append(independence_test(x, y, z, n_permutations=49, seed=s).pvalue)
        p_alt.append(independence_test(x, y + 0.8 * x, z, n_permutations=49, seed=s).pvalue)
    assert independence_test(x, y, n_permutations=49).pvalue <= 0.02   # marginally dependent
    assert np.median(p_null) > 0.2 and max(p_alt) <= 0.02, (p_null, p_alt)


def test_discrete_conditioning_permutes_within_strata():
    rng = np.random.default_rng(2)
    z = rng.integers(0, 3, (600, 1))
    x = (z + rng.integers(0, 2, (600, 1))) % 3
    y = (z + rng.integers(0, 2, (600, 1))) % 3
    res = independence_test(x, y, z, n_permutations=99, seed=0)
    assert res.scheme == "within-strata" and res.method == "discrete" and res.pvalue > 0.01
    assert independence_test(x, y, n_permutations=99, seed=0).pvalue == 0.01


def test_knn_cmi_in_high_dimension_warns_that_it_is_biased():
    x, y, z, truth = gaussian_cmi_data(1500, 10, 0.6, seed=2)
    with pytest.warns(UserWarning, match="dimensions is biased"):
        res = estimate_cmi(x, y, z, "ksg")
    assert res.mi < truth / 2 and any("dimensions is biased" in w for w in res.warnings)


def test_cli_estimates_cmi_and_tests_independence(tmp_path, capsys):
    import json

    from mi_estimators.bench.cli import main

    x, y, z, truth = gaussian_cmi_data(1000, 1, 0.6, seed=4)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.hstack([x, y, z]), delimiter=",", header="a,b,c", comments="")
    assert main(["estimate", str(path), "--x", "a", "--y", "b", "--z", "c", "-e", "gaussian-copula",
                 "--units", "bits", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["units"] == "bits" and abs(out["mi"] * math.log(2) - truth) < 0.06
    assert main(["test", str(path), "--x", "a", "--y", "b", "--z", "c", "--permutations", "19", "--json"]) == 0
    test = json.loads(capsys.readouterr().out)
    assert test["conditional"] and test["scheme"] == "local" and test["pvalue"] == 0.05
    assert main(["test", str(path), "--x", "a", "--y", "b", "--permutations", "19"]) == 0
    assert "X ⊥ Y: statistic" in capsys.readouterr().out


def test_auto_cmi_with_too_few_samples_for_critics_uses_knn_and_warns_instead_of_the_copula_value():
    """nonlinear-cmi (non-Gaussian copula), d = 9, n = 1000: the chain rule's terms could not train
    critics and would report Gaussian-copula values (biased +0.34 nats at this task's truth 0)."""
    import synthetic

    task = synthetic.get_task("nonlinear-cmi:dx=2,dy=2,dz=5,cmi=0")
    x, y, z = task.sample(1000, seed=0)
    with pytest.warns(UserWarning, match="dimensions is biased"):
        res = estimate_cmi(x, y, z)
    assert res.details["auto"]["method"] == "ksg" and "too few to train critics" in res.details["auto"]["reason"]
    # the chain rule asked for by name trains its critics with a lowered batch, and says so
    with pytest.warns(UserWarning, match="batch_size lowered from 128 to 64"):
        estimate_cmi(x, y, z, "neural", steps=20, eval_every=10)
