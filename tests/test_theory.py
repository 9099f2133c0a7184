"""The DRO view of contrastive learning (Wu et al., 2023): each test is a closed form or a paper statement."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import optimize, special

from mi_estimators.contrastive import dro as T

TAUS = [0.05, 0.2, 0.5, 1.0, 2.0]


def _negatives(kind, n=64, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return rng.normal(0.3, 1.0, size=n)
    if kind == "cosine":  # cosines of random unit vectors in R^8
        u = rng.standard_normal((n, 8))
        v = rng.standard_normal(8)
        return (u @ v) / np.linalg.norm(u, axis=1) / np.linalg.norm(v)
    raise AssertionError(kind)


def _log_mean_exp(x):
    return special.logsumexp(x) - math.log(len(x))


@pytest.mark.parametrize("kind", ["gaussian", "cosine"])
@pytest.mark.parametrize("tau", TAUS)
def test_optimal_multiplier_of_the_implied_radius_is_the_temperature(kind, tau):
    f = _negatives(kind)
    eta = T.implied_radius(f, tau)
    assert T.optimal_multiplier(f, eta) == pytest.approx(tau, rel=1e-10)


@pytest.mark.parametrize("tau", TAUS)
def test_numeric_argmin_of_the_dual_equals_the_temperature(tau):
    # an independent black-box minimisation of D(α) = αη + α log E e^{f/α} in log α;
    # a minimiser is located to ~sqrt(machine eps) relative, hence 1e-6
    f = _negatives("cosine", seed=1)
    eta = T.implied_radius(f, tau)
    res = optimize.minimize_scalar(lambda u: T.kl_dro_dual(f, math.exp(u), eta),
                                   bounds=(math.log(tau) - 3, math.log(tau) + 3), method="bounded",
                                   options={"xatol": 1e-12})
    assert math.exp(res.x) == pytest.approx(tau, rel=1e-6)


@pytest.mark.parametrize("kind", ["gaussian", "cosine"])
@pytest.mark.parametrize("tau", TAUS)
def test_kl_dro_value_equals_the_infonce_form_and_the_dual_at_the_temperature(kind, tau):
    # primal value E_{Q*} f (root solve) vs τ log mean e^{f/τ} + τ η(τ) (closed form) vs D(τ)
    f = _negatives(kind, seed=2)
    eta = T.implied_radius(f, tau)
    infonce_form = tau * _log_mean_exp(f / tau) + tau * eta
    assert T.kl_dro_value(f, eta) == pytest.approx(infonce_form, rel=1e-12, abs=1e-12)
    assert T.kl_dro_dual(f, tau, eta) == pytest.approx(infonce_form, rel=1e-12, abs=1e-12)


def test_cl_dro_objective_is_tau_times_infonce_plus_tau_eta_and_gives_per_anchor_dv():
    # math_spec §4b-c on a score matrix: anchors = rows, positive = diagonal
    g = torch.Generator().manual_seed(3)
    S = torch.randn(12, 12, generator=g, dtype=torch.float64).clamp(-1, 1)
    tau = 0.3
    pos = S.diagonal().numpy()
    neg = np.stack([np.delete(S[i].numpy(), i) for i in range(12)])
    eta = T.implied_radius(neg, tau)  # one radius per anchor
    loss = T.cl_dro_loss(pos, neg, eta)
    positive_free_infonce = np.mean([_log_mean_exp(neg[i] / tau) - pos[i] / tau for i in range(12)])
    assert loss == pytest.approx(tau * positive_free_infonce + tau * eta.mean(), rel=1e-12)
    try:
        from mi_estimators import bounds
    except ImportError:
        return
    # math_spec §4c writes "−L/τ − η"; the sign of η there is a typo: L = τ·InfoNCE + τη
    assert -loss / tau + eta.mean() == pytest.approx(float(bounds.dv_per_anchor(S / tau)), rel=1e-12)


@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_worst_case_weights_are_the_softmax_over_negatives_and_attain_the_sup(tau):
    f = _negatives("cosine", n=40, seed=4)
    q = T.worst_case_weights(f, tau)
    np.testing.assert_allclose(q, torch.softmax(torch.from_numpy(f / tau), 0).numpy(), rtol=1e-13, atol=0)
    eta = T.implied_radius(f, tau)
    # KL(Q*||Q0) computed directly is the implied radius, and E_{Q*} f is the DRO value
    assert np.sum(q * np.log(q * len(f))) == pytest.approx(eta, rel=1e-11)
    assert np.sum(q * f) == pytest.approx(T.kl_dro_value(f, eta), rel=1e-12)
    # no distribution inside the ball does better (random Q pulled into the ball)
    rng = np.random.default_rng(5)
    best = T.kl_dro_value(f, eta)
    for _ in range(300):
        p = rng.dirichlet(np.full(len(f), 0.3))
        lo, hi = 0.0, 1.0  # largest mixture weight λ with KL(λp + (1−λ)Q0 || Q0) <= eta
        for _ in range(60):
            lam = (lo + hi) / 2
            m = lam * p + (1 - lam) / len(f)
            lo, hi = (lam, hi) if np.sum(m * np.log(m * len(f))) <= eta else (lo, lam)
        m = lo * p + (1 - lo) / len(f)
        assert np.sum(m * f) <= best + 1e-12


def test_radius_and_value_limits():
    f = _negatives("gaussian", n=50, seed=6)
    # η = 0: the mean (α* = ∞); η ≥ log N: the max (α* = 0, point mass on the argmax)
    assert T.kl_dro_value(f, 0.0) == pytest.approx(f.mean(), rel=1e-14)
    assert T.optimal_multiplier(f, 0.0) == math.inf
    assert T.kl_dro_value(f, math.log(50)) == f.max()
    assert T.optimal_multiplier(f, math.log(50) + 1) == 0.0
    assert T.kl_dro_dual(f, 0.0, 0.3) == pytest.approx(f.max(), rel=1e-14)
    radii = [T.implied_radius(f, t) for t in (0.01, 0.1, 1.0, 10.0, 100.0)]
    assert all(a > b for a, b in zip(radii, radii[1:]))  # η(τ) decreasing
    assert radii[0] == pytest.approx(math.log(50), rel=1e-6) and radii[-1] < 1e-3


def test_variance_approximation_is_exact_for_gaussian_scores():
    # Q0 = N(m, s²) via Gauss–Hermite quadrature: log E e^{f/τ} = m/τ + s²/(2τ²) exactly,
    # so η(τ) = s²/(2τ²) and √(Var/2η) = τ
    x, w = special.roots_hermitenorm(120)
    m, s = 0.4, 0.7
    f, q0 = m + s * x, w / w.sum()
    for tau in TAUS[1:]:
        eta = T.implied_radius(f, tau, q0=q0)
        assert eta == pytest.approx(s * s / (2 * tau * tau), rel=1e-9)
        assert T.variance_approximation(f, eta, q0=q0) == pytest.approx(tau, rel=1e-9)


def test_variance_approximation_table_for_bounded_cosine_scores():
    # math_spec §4b: τ = .05/.2/.5/1/2 → √(Var/2η) = .118/.239/.518/1.009/2.005. Reconstructed
    # setting: Q0 = law of the cosine of two independent uniform unit vectors in R^8, density
    # ∝ (1−c²)^{5/2} on [−1, 1] — integrated exactly by Gauss–Jacobi(5/2, 5/2) quadrature.
    c, w = special.roots_jacobi(200, 2.5, 2.5)
    q0 = w / w.sum()
    assert np.sum(q0 * c * c) == pytest.approx(1 / 8, rel=1e-12)  # Var cos = 1/d
    got = [T.variance_approximation(c, T.implied_radius(c, tau, q0=q0), q0=q0) for tau in TAUS]
    assert [round(v, 3) for v in got] == [0.118, 0.239, 0.518, 1.009, 2.005]


def test_variance_approximation_table_holds_for_monte_carlo_cosines():
    # same setting by sampling 200k pairs of unit vectors: the quadrature values within 4 se
    # (se of the plug-in by the delta method is hard; use 8 independent blocks instead)
    rng = np.random.default_rng(7)
    blocks = []
    for _ in range(8):
        u = rng.standard_normal((25_000, 8))
        v = rng.standard_normal((25_000, 8))
        cos = np.sum(u * v, 1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
        blocks.append([T.variance_approximation(cos, T.implied_radius(cos, tau)) for tau in (0.2, 1.0)])
    blocks = np.array(blocks)
    mean, se = blocks.mean(0), blocks.std(0, ddof=1) / math.sqrt(len(blocks))
    c, w = special.roots_jacobi(200, 2.5, 2.5)
    q0 = w / w.sum()
    exact = np.array([T.variance_approximation(c, T.implied_radius(c, t, q0=q0), q0=q0) for t in (0.2, 1.0)])
    assert np.all(np.abs(mean - exact) < 4 * se), (mean, se, exact)


# ----------------------------------------------------------------------------- general φ ball
def test_phi_dro_dual_reduces_to_the_kl_closed_form():
    f = _negatives("cosine", n=30, seed=8)
    for alpha in (0.1, 1.0):
        beta_star = alpha * _log_mean_exp(f / alpha) - alpha  # argmin β of the KL inner problem
        assert T.phi_dro_dual(f, alpha, 0.2, "kl", beta=beta_star) == pytest.approx(
            T.kl_dro_dual(f, alpha, 0.2), rel=1e-12)
    assert T.phi_dro_value(f, 0.2, "kl") == pytest.approx(T.kl_dro_value(f, 0.2), rel=1e-8)


def test_chi2_ball_value_is_mean_plus_sqrt_eta_var():
    # Pearson χ²: sup_{E(q−1)² ≤ η} E_Q f = E f + √(η Var f) while 1 + (f − Ef)√(η/Var) ≥ 0
    f = _negatives("cosine", n=30, seed=9)
    eta = 0.05
    assert np.all(1 + (f - f.mean()) * math.sqrt(eta / f.var()) >= 0)
    assert T.phi_dro_value(f, eta, "chi2") == pytest.approx(f.mean() + math.sqrt(eta * f.var()), rel=1e-8)


def test_tv_ball_value_moves_eta_mass_from_the_lowest_to_the_highest_score():
    # TV = ½ Σ|q − q0| ≤ η, η < 1/N: shift mass η from argmin to argmax
    f = _negatives("gaussian", n=40, seed=10)
    eta = 0.01
    assert T.phi_dro_value(f, eta, "tv") == pytest.approx(f.mean() + eta * (f.max() - f.min()), rel=1e-7)


@pytest.mark.parametrize("divergence", ["kl", "chi2", "hellinger", "js", "tv"])
def test_phi_dual_upper_bounds_any_feasible_reweighting(divergence):
    # weak duality: for any α > 0, β, the dual is ≥ E_Q f of a Q inside the ball (here Q0 itself)
    f = _negatives("gaussian", n=25, seed=11)
    for alpha in (0.3, 2.0):
        for beta in (f.max() + 0.5 * alpha, f.max() + 3.0):
            assert T.phi_dro_dual(f, alpha, 0.1, divergence, beta=beta) >= f.mean() - 1e-12


# ----------------------------------------------------------------------------- errors & inputs
def test_torch_input_and_batched_anchors():
    f = torch.from_numpy(np.stack([_negatives("gaussian", n=20, seed=s) for s in range(3)]))
    eta = T.implied_radius(f, 0.5)
    assert eta.shape == (3,)
    np.testing.assert_allclose(T.optimal_multiplier(f, eta), 0.5, rtol=1e-10)
    assert T.worst_case_weights(f, 0.5).shape == (3, 20)


@pytest.mark.parametrize("call,match", [
    (lambda f: T.kl_dro_value(f, -0.1), "eta"),
    (lambda f: T.implied_radius(f, 0.0), "tau must be > 0"),
    (lambda f: T.kl_dro_dual(f, -1.0, 0.1), "alpha must be >= 0"),
    (lambda f: T.implied_radius(f, 0.5, q0=np.ones(5)), "broadcast"),
    (lambda f: T.implied_radius(f, 0.5, q0=np.ones(10)), "sum to one"),
    (lambda f: T.implied_radius(np.array([1.0, np.nan]), 0.5), "finite"),
    (lambda f: T.variance_approximation(f, 0.0), "eta must be > 0"),
    (lambda f: T.phi_dro_dual(f, 1.0, 0.1, "hellinger2"), "unknown divergence"),
    (lambda f: T.cl_dro_loss(np.zeros(3), f, 0.1), "shape"),
])
def test_bad_input_raises_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.linspace(-1, 1, 10))


def test_self_consistency_checks_pass_for_auto_and_catch_a_broken_estimator(monkeypatch):
    from mi_estimators.bench import consistency

    checks = consistency.validate_consistency(seed=0, methods=("auto",))
    assert len(checks) == 8 and all(c["passed"] for c in checks), [c for c in checks if not c["passed"]]
    assert any(c["check"].startswith("phi-plugin (Hellinger)") for c in checks)   # the trained φ-MI check
    # an estimator that is not additive (it returns 0.5 nats whatever the data) must fail a check
    import mi_estimators
    from mi_estimators.result import MIResult

    fake = MIResult(mi=0.5, stderr=0.001, interval=(0.498, 0.502), per_critic=np.array([0.5]), estimator="x",
                    target="kl", n_samples=1, seconds=0.0, config={})
    monkeypatch.setattr(mi_estimators, "estimate_mi", lambda *a, **k: fake)
    failed = [c["check"] for c in consistency.validate_consistency(seed=0, methods=("auto",)) if not c["passed"]]
    assert any("additive" in name for name in failed) and any("independent" in name for name in failed)
