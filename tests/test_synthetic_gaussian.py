"""Gaussian tasks: closed forms vs independent quadrature vs Monte Carlo (math_spec §6)."""
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from synthetic import CorrelatedGaussian, MultivariateNormal
from synthetic.base import DIVERGENCES

GENERATORS = {
    "kl": lambda u: special.xlogy(u, u),
    "chi2": lambda u: (u - 1.0) ** 2,
    "reverse-chi2": lambda u: (1.0 - u) ** 2 / u,
    "hellinger": lambda u: (np.sqrt(u) - 1.0) ** 2,
    "js": lambda u: 0.5 * (special.xlogy(u, u) - (1 + u) * np.log((1 + u) / 2)),
    "tv": lambda u: 0.5 * np.abs(u - 1.0),
    "vlc": lambda u: (u - 1.0) ** 2 / (u + 1.0),
    "tsallis": lambda u: (u**1.5 - u) / 0.5,
}


def _params(name):
    return {"alpha": 1.5} if name == "tsallis" else {}


def _quadrature_2d(d, rho, name):
    """The spec's route: E_Q f(e^L), L = c + (ρ/2)(A/(1+ρ) − B/(1−ρ)), with A = s², B = t²,
    s, t iid chi_d under Q, on a 600 × 600 Gauss–Legendre grid over [0, 14]² (smooth f only).
    TV uses the spec's 1-D χ² survival integrals instead (its generator has a kink)."""
    c = -0.5 * d * math.log1p(-rho * rho)
    if name == "tv":
        k = d / rho * math.log1p(-rho * rho)
        g, sf = stats.chi2(d).pdf, stats.chi2(d).sf
        p_pos = integrate.quad(lambda b: g(b) * sf(b + k), 0, np.inf, epsabs=1e-12, limit=200)[0]
        q_pos = integrate.quad(lambda b: g(b) * sf((1 + rho) * (b / (1 - rho) + k)), 0, np.inf,
                               epsabs=1e-12, limit=200)[0]
        return p_pos - q_pos
    nodes, weights = np.polynomial.legendre.leggauss(600)
    s, w = 7.0 * (nodes + 1.0), 7.0 * weights * stats.chi(d).pdf(7.0 * (nodes + 1.0))
    a, b = np.meshgrid(s * s, s * s, indexing="ij")
    vals = GENERATORS[name](np.exp(c + 0.5 * rho * (a / (1 + rho) - b / (1 - rho))))
    return float(w @ vals @ w)


@pytest.mark.parametrize(("d", "rho", "mi", "chi2", "sh", "tv"), [
    (1, 0.5, 0.1438, 0.3333, 0.0778, 0.1846),
    (5, 0.3, 0.2358, 0.6025, 0.1183, 0.2611),
    (10, 0.5, 1.4384, 16.758, 0.6547, 0.6175),
])
def test_phi_mi_matches_spec_reference_table(d, rho, mi, chi2, sh, tv):
    task = CorrelatedGaussian(d, rho=rho)
    assert task.mi == pytest.approx(mi, abs=6e-5)
    assert task.phi_mi("chi2") == pytest.approx(chi2, abs=6e-4)
    assert task.phi_mi("hellinger") == pytest.approx(sh, abs=6e-5)
    assert task.phi_mi("tv") == pytest.approx(tv, abs=6e-5)


def test_spec_d2_table_including_js_vlc_quadrature_values():
    task = CorrelatedGaussian(2, rho=0.5)
    expected = {"kl": .287682, "hellinger": .152479, "chi2": .777778, "tv": .281250,
                "js": .071501, "vlc": .260263}
    for name, value in expected.items():
        assert task.phi_mi(name) == pytest.approx(value, abs=6e-7)
    assert task.phi_mi("tsallis", alpha=1.5) == pytest.approx(.463361, abs=6e-7)


@pytest.mark.parametrize("rho", [0.2, 0.5, 0.9])
def test_tv_equals_closed_form_at_dimension_two(rho):
    closed = ((1 + rho) / 2) * (1 - rho**2) ** ((1 - rho) / rho) - 0.5 * (1 - rho**2) ** (1 / rho)
    assert CorrelatedGaussian(2, rho=rho).phi_mi("tv") == pytest.approx(closed, abs=1e-9)


@pytest.mark.parametrize(("d", "rho"), [(1, 0.3), (3, 0.7)])
@pytest.mark.parametrize("name", ["kl", "hellinger", "js", "tv", "vlc", "tsallis"])
def test_phi_mi_equals_independent_two_dimensional_quadrature(d, rho, name):
    value = CorrelatedGaussian(d, rho=rho).phi_mi(name, **_params(name))
    assert value == pytest.approx(_quadrature_2d(d, rho, name), abs=2e-6)


@pytest.mark.parametrize("name", DIVERGENCES)
def test_phi_mi_equals_monte_carlo_under_product_of_marginals(name):
    # rho = 0.25 < 1/3 keeps E_Q r^2 (chi2) of finite variance; reverse chi2 needs rho < 1/4
    rho = 0.2 if name == "reverse-chi2" else 0.25
    task = CorrelatedGaussian(2, rho=rho)
    rng = np.random.default_rng(0)
    n = 400_000
    x, y = rng.standard_normal((2, n, 2))
    vals = GENERATORS[name](np.exp(task.log_ratio(x, y)))
    se = vals.std() / math.sqrt(n)
    assert abs(vals.mean() - task.phi_mi(name, **_params(name))) < 4 * se


def test_divergences_are_ordered_and_inside_their_ranges():
    for rho in (0.1, 0.6, 0.99):
        t = CorrelatedGaussian(3, rho=rho)
        assert 0 < t.phi_mi("js") < math.log(2)
        assert 0 < t.phi_mi("tv") < 1
        assert 0 < t.phi_mi("hellinger") < 2 and 0 < t.phi_mi("vlc") < 2
        # Le Cam: H²/2... TV² ≤ H²(2 − H²/2)/... simple sandwich H²/2 ≤ TV ≤ H·sqrt(1 − H²/4)
        h2 = t.phi_mi("hellinger")
        assert h2 / 2 <= t.phi_mi("tv") <= math.sqrt(h2 * (1 - h2 / 4))


def test_infinite_phi_mi_is_returned_as_inf():
    t = CorrelatedGaussian(1, rho=0.5)
    assert t.phi_mi("tsallis", alpha=3.0) == math.inf  # 3 >= 1 + 1/0.5
    assert math.isfinite(t.phi_mi("tsallis", alpha=2.9))
    assert t.phi_mi("reverse-chi2") == math.inf
    assert CorrelatedGaussian(1, rho=0.4).phi_mi("reverse-chi2") == pytest.approx(0.4, abs=1e-12)
    assert t.phi_mi("tsallis", alpha=1) == t.mi
    assert t.phi_mi("chi2") == pytest.approx(math.expm1(2 * t.mi), rel=1e-12)


def test_phi_mi_is_cached():
    t = CorrelatedGaussian(4, rho=0.6)
    first = t.phi_mi("js")
    t._phi_cache[("js", ())] = -1.0
    assert t.phi_mi("js") == -1.0 and first > 0


def test_mi_and_rho_parametrisations_agree():
    a = CorrelatedGaussian(5, mi=2.0)
    b = CorrelatedGaussian(5, rho=a.rho)
    assert a.mi == 2.0 and b.mi == pytest.approx(2.0, rel=1e-12)
    assert CorrelatedGaussian(3, mi=0).rho == 0 and CorrelatedGaussian(3, mi=0).phi_mi("tv") == 0


@pytest.mark.parametrize("bad", [
    dict(dim=2, rho=1.0), dict(dim=2, rho=-1.0), dict(dim=2, rho=float("nan")), dict(dim=2, mi=-0.1),
    dict(dim=2), dict(dim=2, rho=0.1, mi=0.1), dict(dim=0, rho=0.1), dict(dim=2.5, rho=0.1),
    dict(dim=1, mi=50.0),
])
def test_bad_construction_raises_value_error(bad):
    with pytest.raises(ValueError):
        CorrelatedGaussian(**bad)


def test_unknown_divergence_lists_valid_names():
    t = CorrelatedGaussian(2, rho=0.3)
    with pytest.raises(ValueError, match="did you mean 'kl'.*valid choices: kl, chi2"):
        t.phi_mi("kll")
    with pytest.raises(ValueError, match="alpha"):
        t.phi_mi("tsallis")
    with pytest.raises(ValueError, match="alpha"):
        t.phi_mi("tsallis", alpha=-1)
    with pytest.raises(ValueError, match="no parameters"):
        t.phi_mi("js", alpha=2)
    with pytest.raises(ValueError, match="n must be"):
        t.sample(0)


def test_correlated_gaussian_samples_have_the_stated_correlation():
    t = CorrelatedGaussian(3, rho=0.7)
    x, y = t.sample(50_000, seed=1)
    assert x.shape == y.shape == (50_000, 3)
    # Fisher z standard error 1/sqrt(n-3)
    for k in range(3):
        r = np.corrcoef(x[:, k], y[:, k])[0, 1]
        assert abs(np.arctanh(r) - np.arctanh(0.7)) < 4 / math.sqrt(50_000 - 3)
        assert stats.kstest(x[:, k], "norm").pvalue > 1e-3
    np.testing.assert_array_equal(t.sample(10, seed=3)[1], t.sample(10, seed=3)[1])


def _random_cov(rng, dx, dy):
    a = rng.standard_normal((dx + dy, dx + dy))
    return a @ a.T + 0.5 * np.eye(dx + dy)


def test_multivariate_normal_mi_and_log_ratio_match_scipy_densities():
    rng = np.random.default_rng(2)
    cov = _random_cov(rng, 3, 2)
    mean = rng.standard_normal(5)
    t = MultivariateNormal(cov, 3, mean=mean)
    ld = lambda c: np.linalg.slogdet(c)[1]  # noqa: E731
    assert t.mi == pytest.approx(0.5 * (ld(cov[:3, :3]) + ld(cov[3:, 3:]) - ld(cov)), rel=1e-12)
    assert t.mi == pytest.approx(-0.5 * np.sum(np.log1p(-t.canonical_correlations**2)), rel=1e-10)
    x, y = t.sample(200, seed=0)
    expected = (stats.multivariate_normal(mean, cov).logpdf(np.hstack([x, y]))
                - stats.multivariate_normal(mean[:3], cov[:3, :3]).logpdf(x)
                - stats.multivariate_normal(mean[3:], cov[3:, 3:]).logpdf(y))
    np.testing.assert_allclose(t.log_ratio(x, y), expected, atol=1e-9)
    scores = t.log_ratio(x[:, None], y[None, :])
    assert scores.shape == (200, 200)
    np.testing.assert_allclose(np.diag(scores), t.log_ratio(x, y), atol=1e-12)


def test_multivariate_normal_samples_have_the_stated_covariance():
    rng = np.random.default_rng(4)
    cov = _random_cov(rng, 2, 2)
    x, y = MultivariateNormal(cov, 2).sample(100_000, seed=5)
    emp = np.cov(np.hstack([x, y]).T)
    # se of a sample covariance entry: sqrt((s_ii s_jj + s_ij^2) / n)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / 100_000)
    assert np.all(np.abs(emp - cov) < 5 * se)


def test_multivariate_normal_phi_mi_is_invariant_to_linear_maps_of_each_side():
    rng = np.random.default_rng(6)
    base = CorrelatedGaussian(3, rho=0.6)
    cov = np.block([[np.eye(3), 0.6 * np.eye(3)], [0.6 * np.eye(3), np.eye(3)]])
    a, b = rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal((3, 3)) + 3 * np.eye(3)
    m = np.block([[a, np.zeros((3, 3))], [np.zeros((3, 3)), b]])
    t = MultivariateNormal(m @ cov @ m.T, 3)
    for name in DIVERGENCES:
        p = _params(name)
        assert t.phi_mi(name, **p) == pytest.approx(base.phi_mi(name, **p), rel=1e-8, abs=1e-10)


def test_log_ratio_averages_to_mi_over_joint_samples():
    rng = np.random.default_rng(8)
    for t in (CorrelatedGaussian(4, mi=1.5), MultivariateNormal(_random_cov(rng, 2, 3), 2)):
        lr = t.log_ratio(*t.sample(200_000, seed=9))
        assert abs(lr.mean() - t.mi) < 4 * lr.std() / math.sqrt(lr.size)


@pytest.mark.parametrize(("cov", "dim_x", "match"), [
    (np.eye(3), 3, "dim_x"), (np.eye(3), 0, "dim_x"), (np.ones((3, 3)), 1, "positive definite"),
    (np.array([[1, .5], [0, 1]]), 1, "symmetric"), (np.eye(3)[:2], 1, "square"),
])
def test_multivariate_normal_bad_input_raises(cov, dim_x, match):
    with pytest.raises(ValueError, match=match):
        MultivariateNormal(cov, dim_x)
