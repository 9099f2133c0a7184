"""The plug-in φ-MI route (mi_estimators.phi_plugin) and the φ default (mi_estimators.phi_default).

Oracle checks in float64: the plug-in read from the exact log-ratio matrix of a correlated
Gaussian equals the closed form within 3 of its own (jackknife) standard errors; the jackknife
standard error matches the spread over independent replicates. Trained checks are small seeded
problems whose tolerance is a multiple of the reported standard error plus the measured bias
allowance of the φ default.
"""
import math

import numpy as np
import pytest
import torch

from mi_estimators import estimate_mi
from mi_estimators.phi_plugin import plugin_phi_mi, plugin_phi_mi_se, self_normalised_log_ratio
from synthetic import CorrelatedGaussian

BOUNDED = ["kl", "hellinger", "js", "tv", "vlc"]


def _oracle(task, m, seed):
    x, y = task.sample(m, seed=seed)
    return torch.as_tensor(task.log_ratio(x[:, None], y[None, :]), dtype=torch.float64)


@pytest.mark.parametrize("divergence", BOUNDED + ["tsallis"])
def test_plugin_at_the_oracle_ratio_equals_the_closed_form_within_3_se(divergence):
    task = CorrelatedGaussian(2, rho=0.5)
    params = {"alpha": 0.5} if divergence == "tsallis" else {}
    value, se = plugin_phi_mi_se(_oracle(task, 800, seed=1), divergence, **params)
    truth = task.phi_mi(divergence, **params)
    assert se < 0.1 * truth
    assert abs(value - truth) <= 3 * se, (value, truth, se)


def test_self_normalisation_removes_any_per_anchor_shift():
    """InfoNCE's optimum is log r + c(x): the plug-in must not depend on c(x)."""
    task = CorrelatedGaussian(2, rho=0.5)
    s = _oracle(task, 200, seed=2)
    shift = torch.linspace(-5, 7, 200, dtype=torch.float64)[:, None]
    for form in ("product", "joint", "dual"):
        a = plugin_phi_mi(s, "hellinger", form=form)
        b = plugin_phi_mi(s + shift, "hellinger", form=form)
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)
    r = self_normalised_log_ratio(s + shift).exp()
    off = ~torch.eye(200, dtype=torch.bool)
    assert torch.allclose((r * off).sum(1) / 199, torch.ones(200, dtype=torch.float64))


def test_jackknife_se_matches_the_spread_over_replicates():
    task = CorrelatedGaussian(2, rho=0.5)
    reps = [plugin_phi_mi_se(_oracle(task, 240, seed=100 + k), "hellinger", groups=12) for k in range(24)]
    values, ses = np.array([v for v, _ in reps]), np.array([s for _, s in reps])
    sd = values.std(ddof=1)
    # the sd of 24 replicates is itself uncertain by about sd/sqrt(2*23) ~ 15 %: allow 3 of those
    assert abs(ses.mean() / sd - 1) < 3 / math.sqrt(2 * 23), (ses.mean(), sd)


def test_bad_options_name_the_valid_choices():
    x, y = CorrelatedGaussian(1, rho=0.5).sample(400, seed=0)
    with pytest.raises(ValueError, match="valid choices"):
        estimate_mi(x, y, "phi-plugin", divergence="hellingr")
    with pytest.raises(ValueError, match="form"):
        estimate_mi(x, y, "phi-plugin", divergence="js", form="both")
    with pytest.raises(ValueError, match="own options are"):
        estimate_mi(x, y, "phi-plugin", divergence="js", clip=3)
    with pytest.raises(ValueError, match="square"):
        plugin_phi_mi(torch.zeros(3, 4), "js")


SMALL = dict(steps=300, hidden=(32, 32), embed_dim=16, n_critics=2, batch_size=128, lr=2e-3, seed=0)


def test_trained_plugin_is_reproducible_and_reads_one_critic_for_every_divergence():
    task = CorrelatedGaussian(2, rho=0.5)
    x, y = task.sample(2000, seed=3)
    a = estimate_mi(x, y, "phi-plugin", divergence="hellinger", **SMALL)
    b = estimate_mi(x, y, "phi-plugin", divergence="hellinger", **SMALL)
    assert a.mi == b.mi and a.target == "hellinger" and a.estimator == "phi-plugin"
    truth = task.phi_mi("hellinger")
    # a trained critic adds its own error to the sampling error: 3 se plus 10 % of the truth
    assert abs(a.mi - truth) <= 3 * a.stderr + 0.1 * truth, (a.mi, truth, a.stderr)
    assert a.interval[0] < a.mi < a.interval[1]


def test_phi_default_reads_the_gaussian_copula_when_its_test_passes():
    """Gaussian data: the copula test does not reject, the φ-MI of the Gaussian copula is reported
    and lands within 3 of its jackknife standard errors of the closed form (no training)."""
    task = CorrelatedGaussian(2, rho=0.5)
    x, y = task.sample(2000, seed=4)
    res = estimate_mi(x, y, divergence="hellinger")
    assert res.estimator == "auto" and res.target == "hellinger"
    assert res.details["auto"]["method"] == "gaussian-copula" and "does not reject" in res.details["auto"]["reason"]
    truth = task.phi_mi("hellinger")
    assert abs(res.mi - truth) <= 3 * res.stderr, (res.mi, truth, res.stderr)
    lo, hi = res.details["auto"]["interval_sampling"]
    assert res.interval[0] <= lo and res.interval[1] >= hi


def test_phi_default_trains_the_plugin_when_the_copula_is_not_gaussian_and_says_why():
    from synthetic.beyond_normal import task_x

    x, y = task_x(0.9).sample(2000, seed=5)       # an X-shaped mixture: zero correlation, I = 0.41 nats
    res = estimate_mi(x, y, divergence="js", steps=300, hidden=(32, 32), embed_dim=16, lr=2e-3)
    assert res.details["auto"]["method"] == "phi-plugin"
    assert "rejects" in res.details["auto"]["reason"] and "plug-in" in res.details["auto"]["reason"]
    x1, y1 = CorrelatedGaussian(1, rho=0.5).sample(1000, seed=4)   # 1 + 1 dims: auto's KSG, no training
    kl = estimate_mi(x1, y1, divergence="kl")
    assert kl.target == "kl" and kl.details["auto"]["reason"].startswith("KL: auto's own rules")


def test_phi_plugin_refuses_derangement_negatives_it_would_ignore():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 2))
    y = x + rng.standard_normal((600, 2))
    with pytest.raises(ValueError, match="does not apply to the φ plug-in"):
        estimate_mi(x, y, "phi-plugin", divergence="hellinger", negatives="derangement", steps=20)
