"""Sample canonical correlations, their Wishart simulation, and the φ default's bias correction."""
import math

import numpy as np
import pytest

from mi_estimators.canonical import canonical_correlations, simulated_canonical_correlations, wishart_identity_draws
from mi_estimators.phi_default import gaussian_copula_phi, gaussian_copula_phi_parts


def gaussian_blocks(rho, dx, dy, n, rng):
    """n samples whose population canonical correlations are ``rho`` (x = z, y_i = ρ_i z_i + ...)."""
    x = rng.standard_normal((n, dx))
    y = rng.standard_normal((n, dy))
    y[:, :len(rho)] = np.asarray(rho) * x[:, :len(rho)] + np.sqrt(1 - np.square(rho)) * y[:, :len(rho)]
    return x, y


def test_wishart_draws_have_mean_dof_times_identity():
    w = wishart_identity_draws(10, 3, 4000, seed=0)
    # Var(W_ij) = dof (1 + δ_ij): four standard errors of the mean of 4000 draws
    tol = 4 * np.sqrt(10 * (1 + np.eye(3)) / 4000)
    assert np.all(np.abs(w.mean(0) - 10 * np.eye(3)) < tol)
    assert np.allclose(w, w.transpose(0, 2, 1))


def test_wishart_refuses_too_few_degrees_of_freedom():
    with pytest.raises(ValueError, match="dof >= dim"):
        wishart_identity_draws(2, 3, 4, seed=0)


def test_simulated_canonical_correlations_match_those_of_real_samples():
    rho, dx, dy, n, reps = [0.6, 0.2, 0.0], 3, 4, 150, 600
    rng = np.random.default_rng(1)
    data = np.array([canonical_correlations(*gaussian_blocks(rho, dx, dy, n, rng)) for _ in range(reps)])
    sim = simulated_canonical_correlations(np.array(rho), dx, dy, wishart_identity_draws(n - 1, dx + dy, reps, 2))
    se = np.sqrt(data.var(0) / reps + sim.var(0) / reps)
    assert np.all(np.abs(data.mean(0) - sim.mean(0)) < 4 * se)
    assert np.all(np.diff(sim, axis=1) <= 0)            # sorted, decreasing
    assert data.mean(0)[2] > 0.05                       # the null pair is biased up (what the correction is for)


def test_copula_phi_bias_correction_removes_the_upward_bias_in_many_dimensions():
    # 15 + 15 dims, 15 equal canonical correlations, I = 0.5 nats, n = 1500: the plug-in is ~+15 % high
    dim, n, mi = 15, 1500, 0.5
    rho = np.full(dim, np.sqrt(-np.expm1(-2 * mi / dim)))
    rng = np.random.default_rng(3)
    plug, corr = [], []
    for s in range(8):
        out = gaussian_copula_phi_parts(*gaussian_blocks(rho, dim, dim, n, rng), "kl", seed=s)
        plug.append(out["plugin"])
        corr.append(out["value"])
        assert out["debiased"] and out["bias"] > 0
        assert out["stderr_plugin"] >= out["stderr_jackknife"] and out["interval"][0] < out["value"] < out["interval"][1]
        assert 0.0 <= out["noise_floor"] and out["value"] < out["plugin"]
    se = np.std(corr, ddof=1) / np.sqrt(len(corr))
    assert abs(np.mean(corr) - mi) < 3.5 * se
    assert np.mean(plug) - mi > 3.5 * np.std(plug, ddof=1) / np.sqrt(len(plug))


def test_copula_phi_refuses_too_few_rows_and_dependent_columns():
    rng = np.random.default_rng(4)
    x, y = gaussian_blocks([0.5], 3, 3, 6, rng)        # n - 1 < d_x + d_y: every canonical correlation is 1
    with pytest.raises(ValueError, match="n > d_x \\+ d_y"):
        gaussian_copula_phi_parts(x, y, "hellinger", groups=3)
    x, y = gaussian_blocks([0.5], 3, 3, 300, rng)
    with pytest.raises(ValueError, match="columns of x are linearly dependent"):
        canonical_correlations(np.column_stack([x, x[:, 0]]), y)
    with pytest.raises(ValueError, match="columns of y are linearly dependent"):
        canonical_correlations(x, np.column_stack([y, np.ones(300)]))
    assert gaussian_copula_phi(x, y, "hellinger", debias=False)[0] == gaussian_copula_phi_parts(x, y, "hellinger")["plugin"]


def test_copula_phi_of_independent_blocks_in_many_dimensions_covers_zero():
    """The case a first-order correction missed: TV is like |rho| near 0, so independent 20 + 20
    blocks (n = 5000) gave 0.066 (se 0.006) after subtracting the bias estimated at rho-hat; the
    interval now inverts the simulated match and reaches 0."""
    rng = np.random.default_rng(6)
    for s in range(2):
        x, y = rng.standard_normal((2000, 20)), rng.standard_normal((2000, 20))
        for div in ("tv", "hellinger"):
            out = gaussian_copula_phi_parts(x, y, div, seed=s)
            assert out["plugin"] > 0.04 and out["interval"][0] == 0.0, (div, out["value"], out["interval"])


def test_infinite_phi_is_reported_as_infinite_not_nan():
    rng = np.random.default_rng(7)
    x, y = gaussian_blocks([0.9], 1, 1, 500, rng)
    out = gaussian_copula_phi_parts(x, y, "tsallis", alpha=4.0)
    assert out["value"] == math.inf and out["stderr"] == math.inf


def test_near_the_pole_of_reverse_chi2_the_value_is_finite_or_infinite_never_nan_and_it_warns():
    from mi_estimators import estimate_mi

    rng = np.random.default_rng(1)
    x, y = gaussian_blocks([0.45], 2, 2, 300, rng)        # reverse χ² is infinite from rho = 0.5
    res = estimate_mi(x, y, divergence="reverse-chi2")
    assert res.details["auto"]["method"] == "gaussian-copula" and not math.isnan(res.mi)
    assert res.interval[0] <= res.mi <= res.interval[1]
    assert any("near its pole" in str(w) for w in res.warnings)


def test_correlations_near_one_warn_about_the_normal_scores_attenuation():
    from mi_estimators.phi_default import _copula_result

    rng = np.random.default_rng(2)
    x, y = gaussian_blocks([0.9995], 1, 1, 3000, rng)
    res = _copula_result(x, y, "hellinger", None, 0)
    assert any("pull correlations this close to 1 down" in str(w) for w in res.warnings)
