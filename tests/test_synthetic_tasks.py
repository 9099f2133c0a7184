"""Non-Gaussian tasks: Student-t, additive uniform noise, Gaussian mixtures, transforms, staircase."""
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

import synthetic
from synthetic import (AdditiveUniform, CorrelatedGaussian, GaussianMixture, LatentClass,
                       MultivariateNormal, MultivariateStudentT, Transformed)
from synthetic import _montecarlo
from synthetic.transforms import MAPS


def _mean_se(v):
    return v.mean(), v.std() / math.sqrt(v.size)


# ----------------------------------------------------------------------------- Student-t


def test_student_t_log_ratio_matches_scipy_densities():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    disp = a @ a.T + np.eye(5)
    t = MultivariateStudentT(disp, 2, df=3.5)
    x, y = t.sample(300, seed=1)
    d = stats.multivariate_t
    expected = (d(np.zeros(5), disp, df=3.5).logpdf(np.hstack([x, y]))
                - d(np.zeros(2), disp[:2, :2], df=3.5).logpdf(x)
                - d(np.zeros(3), disp[2:, 2:], df=3.5).logpdf(y))
    np.testing.assert_allclose(t.log_ratio(x, y), expected, atol=1e-9)
    assert t.log_ratio(x[:, None], y[None]).shape == (300, 300)


def test_student_t_marginal_is_student_t_with_same_dof():
    t = MultivariateStudentT(np.eye(2), 1, df=1)
    x, y = t.sample(20_000, seed=2)
    assert stats.kstest(x[:, 0], stats.t(1).cdf).pvalue > 1e-3
    assert stats.kstest(y[:, 0], stats.t(1).cdf).pvalue > 1e-3


def test_student_t_mi_tends_to_gaussian_mi_as_dof_grows():
    cov = np.array([[1.0, 0.6], [0.6, 1.0]])
    gauss = MultivariateNormal(cov, 1).mi
    assert MultivariateStudentT(cov, 1, df=1e7).mi == pytest.approx(gauss, abs=1e-6)
    assert MultivariateStudentT(cov, 1, df=2).mi > gauss  # heavy tails add dependence


@pytest.mark.parametrize("df", [0, -1, float("inf"), float("nan")])
def test_student_t_rejects_bad_dof(df):
    with pytest.raises(ValueError, match="df"):
        MultivariateStudentT(np.eye(2), 1, df=df)


# ----------------------------------------------------------------------------- additive


@pytest.mark.parametrize("eps", [0.1, 0.5, 0.75, 2.0])
def test_additive_mi_equals_entropy_difference_by_quadrature(eps):
    t = AdditiveUniform(eps)
    p = lambda y: t._density_y(np.array(y))  # noqa: E731
    h_y = integrate.quad(lambda y: -special.xlogy(p(y), p(y)), -eps, 1 + eps,
                         points=sorted({eps, 1 - eps, -eps + 1, eps}), limit=200)[0]
    assert t.mi == pytest.approx(h_y - math.log(2 * eps), abs=1e-9)


def test_additive_noise_is_uniform_and_log_ratio_is_minus_inf_off_support():
    t = AdditiveUniform(0.3)
    x, y = t.sample(20_000, seed=3)
    assert stats.kstest((y - x)[:, 0], stats.uniform(-0.3, 0.6).cdf).pvalue > 1e-3
    assert stats.kstest(x[:, 0], "uniform").pvalue > 1e-3
    assert t.log_ratio(np.array([[0.1]]), np.array([[0.9]]))[0] == -np.inf
    assert np.isnan(t.log_ratio(np.array([[1.5]]), np.array([[0.9]]))[0])
    with pytest.raises(ValueError, match="epsilon"):
        AdditiveUniform(0.0)


# ----------------------------------------------------------------------------- mixtures


def _random_mixture(rng, k=3, dx=2, dy=1):
    d = dx + dy
    a = rng.standard_normal((k, d, d))
    covs = a @ a.transpose(0, 2, 1) + 0.3 * np.eye(d)
    return GaussianMixture(rng.dirichlet(np.ones(k)), 2 * rng.standard_normal((k, d)), covs, dx,
                           name="test-mixture", mc_target_stderr=0.004)


def test_mixture_log_densities_equal_sum_of_scipy_component_densities():
    rng = np.random.default_rng(4)
    m = _random_mixture(rng)
    x, y = m.sample(200, seed=5)
    z = np.hstack([x, y])
    mvn = stats.multivariate_normal
    lw = np.log(m.weights)
    joint = special.logsumexp([lw[k] + mvn(m.means[k], m.covs[k]).logpdf(z) for k in range(3)], axis=0)
    lx = special.logsumexp([lw[k] + mvn(m.means[k, :2], m.covs[k, :2, :2]).logpdf(x)
                            for k in range(3)], axis=0)
    ly = special.logsumexp([lw[k] + mvn(m.means[k, 2:], m.covs[k, 2:, 2:]).logpdf(y)
                            for k in range(3)], axis=0)
    np.testing.assert_allclose(m.log_joint(x, y), joint, atol=1e-9)
    np.testing.assert_allclose(m.log_ratio(x, y), joint - lx - ly, atol=1e-9)
    scores = m.log_ratio(x[:, None], y[None])
    assert scores.shape == (200, 200)
    np.testing.assert_allclose(np.diag(scores), m.log_ratio(x, y), atol=1e-12)


def test_mixture_samples_have_the_mixture_mean_and_covariance():
    m = _random_mixture(np.random.default_rng(6))
    x, y, labels = m.sample_with_labels(100_000, seed=7)
    z = np.hstack([x, y])
    mean = m.weights @ m.means
    cov = sum(w * (c + np.outer(mu - mean, mu - mean)) for w, mu, c in zip(m.weights, m.means, m.covs))
    se_mean = np.sqrt(np.diag(cov) / z.shape[0])
    assert np.all(np.abs(z.mean(0) - mean) < 5 * se_mean)
    assert np.all(np.abs(np.bincount(labels) / labels.size - m.weights)
                  < 5 * np.sqrt(m.weights * (1 - m.weights) / labels.size))


def test_one_component_mixture_monte_carlo_mi_matches_gaussian_closed_form():
    cov = np.array([[1.0, 0.7, 0.1], [0.7, 1.0, 0.3], [0.1, 0.3, 1.0]])
    m = GaussianMixture([1.0], np.zeros((1, 3)), cov[None], 1, name="one-gaussian")
    assert m.mi_stderr < 0.005
    assert abs(m.mi - MultivariateNormal(cov, 1).mi) < 4 * m.mi_stderr


def test_monte_carlo_truth_is_computed_once_and_cached(monkeypatch):
    m = _random_mixture(np.random.default_rng(8))
    first = (m.mi, m.mi_stderr)
    monkeypatch.setattr(_montecarlo, "monte_carlo_mi", lambda *a, **k: pytest.fail("recomputed"))
    assert (m.mi, m.mi_stderr) == first
    assert repr(_random_mixture(np.random.default_rng(9)))  # repr computes nothing


def test_monte_carlo_truth_is_reproducible_from_its_seed():
    a, b = (_random_mixture(np.random.default_rng(10)) for _ in range(2))
    assert a.mi == b.mi and a.mi_stderr == b.mi_stderr


def test_latent_class_labels_negative_rate_and_mi_ceiling():
    t = LatentClass(n_classes=4, dim=3, noise=0.3)
    x, y, labels = t.sample_with_labels(40_000, seed=11)
    assert t.tau_plus == 0.25
    np.testing.assert_allclose((x - t.prototypes[labels]).std(0), 0.3, rtol=0.03)
    np.testing.assert_allclose((y - t.prototypes[labels]).std(0), 0.3, rtol=0.03)
    # a shuffled negative shares the anchor's class at rate 1/K
    same = labels == np.random.default_rng(0).permutation(labels)
    assert abs(same.mean() - 0.25) < 5 * math.sqrt(0.25 * 0.75 / labels.size)
    assert t.mi <= math.log(4) + 3 * t.mi_stderr
    lr = t.log_ratio(x, y)
    assert abs(lr.mean() - t.mi) < 4 * math.hypot(lr.std() / math.sqrt(lr.size), t.mi_stderr)
    with pytest.raises(ValueError, match="n_classes"):
        LatentClass(n_classes=1)


def test_mixture_has_no_phi_mi_ground_truth_except_kl():
    t = LatentClass(3, 2, 0.5, mc_target_stderr=0.005)
    assert t.phi_mi("kl") == t.mi
    with pytest.raises(NotImplementedError, match="no trusted ground truth"):
        t.phi_mi("js")
    with pytest.raises(ValueError, match="valid choices"):
        t.phi_mi("jensen")


def test_mixture_bad_input_raises():
    with pytest.raises(ValueError, match="positive definite"):
        GaussianMixture([1.0], np.zeros((1, 2)), np.zeros((1, 2, 2)), 1)
    with pytest.raises(ValueError, match="means"):
        GaussianMixture([0.5, 0.5], np.zeros((3, 2)), np.stack([np.eye(2)] * 2), 1)
    with pytest.raises(ValueError, match="weights"):
        GaussianMixture([-1.0], np.zeros((1, 2)), np.eye(2)[None], 1)


# ----------------------------------------------------------------------------- transforms


@pytest.mark.parametrize("kind", sorted(set(MAPS) - {"swissroll", "spiral"}))
def test_elementwise_maps_are_inverted_exactly(kind):
    v = np.random.default_rng(12).standard_normal((500, 3)) * 1.5
    for side in ("x", "y"):
        m = MAPS[kind](side, 3)
        np.testing.assert_allclose(m.inverse(m.forward(v)), v, atol=1e-7)


def test_spiral_preserves_norm_and_is_inverted():
    v = np.random.default_rng(13).standard_normal((500, 4))
    for side in ("x", "y"):
        m = MAPS["spiral"](side, 4)
        w = m.forward(v)
        np.testing.assert_allclose(np.linalg.norm(w, axis=1), np.linalg.norm(v, axis=1), atol=1e-12)
        np.testing.assert_allclose(m.inverse(w), v, atol=1e-12)
        assert not np.allclose(w, v)


def test_swissroll_embeds_the_unit_interval_on_a_curve():
    u = np.random.default_rng(14).uniform(size=(500, 1))
    m = MAPS["swissroll"]("x", 1)
    w = m.forward(u)
    assert w.shape == (500, 2)
    np.testing.assert_allclose(m.inverse(w), u, atol=1e-12)
    with pytest.raises(ValueError, match="swissroll"):
        MAPS["swissroll"]("x", 2)


TRANSFORMED = {
    "cubic": lambda b: synthetic.cubic(b), "half_cube": synthetic.half_cube,
    "asinh": synthetic.asinh, "normal_cdf": synthetic.normal_cdf, "wiggly": synthetic.wiggly,
    "spiral": synthetic.spiral, "bimodal": synthetic.bimodal,
}


@pytest.mark.parametrize("kind", sorted(TRANSFORMED))
def test_transform_keeps_mi_phi_mi_and_log_ratio_of_the_preimage(kind):
    base = CorrelatedGaussian(3, rho=0.6)
    t = TRANSFORMED[kind](base)
    assert t.name == f"{kind}-{base.name}"
    assert t.mi == base.mi and t.mi_stderr == 0
    for name in ("js", "tv", "hellinger"):
        assert t.phi_mi(name) == base.phi_mi(name)
    x, y = t.sample(2000, seed=15)
    bx, by = base.sample(2000, seed=15)
    np.testing.assert_allclose(t.log_ratio(x, y), base.log_ratio(bx, by), atol=1e-6)
    np.testing.assert_allclose(t.log_ratio(x[:50, None], y[None, :50]),
                               base.log_ratio(bx[:50, None], by[None, :50]), atol=1e-6)


def test_transformed_marginals_follow_the_pushforward_law():
    base = CorrelatedGaussian(1, rho=0.75)
    x, y = synthetic.normal_cdf(base).sample(20_000, seed=16)
    assert stats.kstest(x[:, 0], "uniform").pvalue > 1e-3
    x, y = synthetic.bimodal(base).sample(20_000, seed=17)
    cdf_x = lambda t: 0.3 * special.ndtr(t) + 0.7 * special.ndtr(t - 5)  # noqa: E731
    cdf_y = lambda t: 0.5 * special.ndtr(t + 1) + 0.5 * special.ndtr(t - 3)  # noqa: E731
    assert stats.kstest(x[:, 0], cdf_x).pvalue > 1e-3
    assert stats.kstest(y[:, 0], cdf_y).pvalue > 1e-3
    _, y = synthetic.cubic(base).sample(20_000, seed=18)
    assert stats.kstest(np.cbrt(y[:, 0]), "norm").pvalue > 1e-3


def test_transforms_compose_and_keep_labels():
    t = synthetic.spiral(synthetic.normal_cdf(LatentClass(3, 2, 0.5)))
    assert t.name == "spiral-normal_cdf-latent-class:classes=3,dim=2,noise=0.5,seed=0"
    x, y, labels = t.sample_with_labels(10, seed=0)
    assert x.shape == (10, 2) and labels.shape == (10,)
    with pytest.raises(ValueError, match="unknown transform"):
        Transformed(CorrelatedGaussian(2, rho=0.1), "cubbic")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        synthetic.spiral(CorrelatedGaussian(1, rho=0.1))


# ----------------------------------------------------------------------------- staircase


def test_staircase_steps_mi_and_keeps_one_task_per_level():
    s = synthetic.staircase(mis=(2, 4, 6), steps_per_level=10, dim=5, transform="cubic")
    assert len(s) == 30 and s.mis == (2.0, 4.0, 6.0)
    assert [s.mi_at(k) for k in (0, 9, 10, 29)] == [2.0, 2.0, 4.0, 6.0]
    assert s(3) is s(7) and s(3).name == "cubic-gaussian:dim=5,mi=2"
    assert [t.mi for t in s][::10] == [2.0, 4.0, 6.0]
    with pytest.raises(ValueError, match="step"):
        s(30)
    with pytest.raises(ValueError, match="transform"):
        synthetic.staircase(transform="cube")
    with pytest.raises(ValueError, match="mis"):
        synthetic.staircase(mis=(2, -1))
