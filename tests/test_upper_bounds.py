"""Upper and generative bounds (issue 21, item 3): club, l1out, ba, doe and the conditional-gaussian critic.

Oracle checks in float64 against closed forms for the correlated Gaussian (x, y standard normal per
coordinate, corr ρ, d coordinates): p(y|x) = N(ρx, (1 − ρ²) I), I = −d/2 log(1 − ρ²), and with the
true conditional CLUB's expectation is E_P log p(y|x) − E_{p(x)p(y)} log p(y|x) = d ρ²/(1 − ρ²)
(E_P (y − ρx)² = 1 − ρ², E_Q (y − ρx)² = 1 + ρ²). Tolerances: 3 standard errors over seeded batches.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mi_estimators import bounds as B
from mi_estimators.bounds import describe_bounds, get_bound
from mi_estimators.critics import ConditionalGaussianCritic, gaussian_entropy_bias, make_critic
from synthetic import CorrelatedGaussian


def _log_conditional(x, y, rho):
    """(B, B) log p(y_j | x_i) of the correlated Gaussian (rows x, columns y)."""
    s = 1.0 - rho * rho
    diff = y[None, :, :] - rho * x[:, None, :]
    return (-0.5 * math.log(2 * math.pi * s) - diff * diff / (2 * s)).sum(-1)


def _batches(dim, rho, batch, reps, seed=0):
    task = CorrelatedGaussian(dim, rho=rho)
    out = [task.sample(batch, seed + r) for r in range(reps)]
    return task, out


def _mean_se(values):
    v = np.asarray(values, dtype=float)
    return v.mean(), v.std(ddof=1) / math.sqrt(len(v))


def test_the_oracle_conditional_is_the_tasks_log_ratio_plus_log_p_y():
    task, [(x, y)] = _batches(3, 0.6, 16, 1)
    log_py = (-0.5 * math.log(2 * math.pi) - 0.5 * y * y).sum(-1)
    assert np.allclose(_log_conditional(x, y, 0.6) - log_py[None, :], task.log_ratio(x[:, None], y[None, :]))


def test_club_at_the_true_conditional_is_d_rho2_over_1_minus_rho2_above_the_mi():
    dim, rho = 2, 0.5
    task, data = _batches(dim, rho, 256, 40)
    shift = torch.linspace(-3, 3, 256, dtype=torch.float64)          # any column shift (reference m) cancels
    vals = [float(get_bound("club").estimate(torch.tensor(_log_conditional(x, y, rho)) + shift)) for x, y in data]
    mean, se = _mean_se(vals)
    oracle = dim * rho**2 / (1 - rho**2)                              # 0.667 vs I = 0.288
    assert abs(mean - oracle) <= 3 * se, (mean, oracle, se)
    assert mean - 3 * se > task.mi


def test_l1out_at_the_true_conditional_decreases_to_the_mi_from_above():
    """Same 40 x 256 samples cut into batches of 8 and of 256. To first order the excess is
    (e^{2I} − 1) / (2(B − 1)): 0.056 nats at B = 8, 0.0015 at B = 256."""
    dim, rho = 2, 0.5
    task, data = _batches(dim, rho, 256, 40, seed=100)
    small, large = [], []
    for x, y in data:
        S = torch.tensor(_log_conditional(x, y, rho))
        large.append(float(get_bound("l1out").estimate(S)))
        for k in range(0, 256, 8):
            small.append(float(get_bound("l1out").estimate(S[k:k + 8, k:k + 8])))
    m8, se8 = _mean_se(small)
    m256, se256 = _mean_se(large)
    excess = math.expm1(2 * task.mi) / (2 * 255)
    assert abs(m256 - task.mi - excess) <= 3 * se256, (m256, task.mi, se256)
    assert m8 - 3 * se8 > task.mi, (m8, se8)                          # an upper bound at small B
    assert m8 > m256


def test_l1out_is_column_wise_leave_one_out_and_ignores_the_reference_density():
    g = torch.Generator().manual_seed(0)
    S = torch.randn(2, 7, 7, generator=g, dtype=torch.float64)
    col = torch.randn(7, generator=g, dtype=torch.float64)
    want = torch.stack([S[:, j, j] - (torch.logsumexp(torch.cat([S[:, :j, j], S[:, j + 1:, j]], -1), -1) - math.log(6))
                        for j in range(7)], -1).mean(-1)
    assert torch.allclose(B.l1out(S), want, atol=1e-12)
    for name in ("club", "l1out"):
        bound = get_bound(name)
        assert torch.allclose(bound.estimate(S + col), bound.estimate(S), atol=1e-12)     # column shift: m(y_j)
    assert not torch.allclose(B.l1out(S + col[:, None]), B.l1out(S), atol=1e-3)         # a row shift is not


def test_ba_and_doe_with_exact_densities_land_on_the_mi():
    dim, rho = 2, 0.5
    task, data = _batches(dim, rho, 256, 40, seed=200)
    for name in ("ba", "doe"):
        vals = [float(get_bound(name).estimate(torch.tensor(task.log_ratio(x[:, None], y[None, :])))) for x, y in data]
        mean, se = _mean_se(vals)
        assert abs(mean - task.mi) <= 3 * se, (name, mean, task.mi, se)


def _oracle_critic(dim, rho, marginal="gaussian"):
    """The conditional-gaussian critic with hidden=() set to the true p(y | x) (float64)."""
    critic = ConditionalGaussianCritic(dim, dim, hidden=(), marginal=marginal, dtype=torch.float64)
    with torch.no_grad():
        w, b = critic.net.weights[0], critic.net.biases[0]
        w.zero_()
        w[0, :, :dim] = rho * torch.eye(dim, dtype=torch.float64)
        b.zero_()
        b[0, 0, dim:] = 20.0 * math.atanh(math.log(1 - rho * rho) / 20.0)
    return critic


def test_ba_with_the_batch_gaussian_entropy_is_unbiased_at_the_true_conditional():
    """d = 5, I = 2 nats, B = 128: without the log-det correction (−0.159 in log det, +0.080 nats in H)
    the mean would sit ~4 se high."""
    dim, mi = 5, 2.0
    task = CorrelatedGaussian(dim, mi=mi)
    critic = _oracle_critic(dim, task.rho)
    vals = []
    with torch.no_grad():
        for r in range(150):
            x, y = (torch.tensor(a) for a in task.sample(128, 300 + r))
            vals.append(float(get_bound("ba").estimate(critic(x, y))))
    mean, se = _mean_se(vals)
    assert abs(mean - mi) <= 3 * se, (mean, mi, se)
    assert -0.5 * gaussian_entropy_bias(128, dim) > 2 * se


@pytest.mark.filterwarnings("ignore:.*(upper bound on the MI|cross-entropy estimates)")
def test_the_generative_bounds_train_to_the_right_side_of_the_mi():
    """Trained on CorrelatedGaussian(2, .5) (I = 0.288) with the linear-Gaussian model (exact family):
    club at its oracle value 0.667, l1out above I, ba (Gaussian Y: a lower bound) below, doe above
    (both of its cross-entropies overestimate, H_q(Y|X) ≈ exact here), each within 3 reported se."""
    from mi_estimators import estimate_mi

    task = CorrelatedGaussian(2, rho=0.5)
    x, y = task.sample(3000, seed=5)
    kw = dict(steps=400, hidden=(), lr=5e-3, seed=0)
    res = {name: estimate_mi(x, y, name, **kw) for name in ("club", "l1out", "ba", "doe")}
    for r in res.values():
        assert r.config["critic"] == "conditional-gaussian" and math.isfinite(r.mi)
    club = res["club"]
    assert abs(club.mi - 2 * 0.25 / 0.75) <= 3 * club.stderr, (club.mi, club.stderr)
    assert res["l1out"].mi >= task.mi - 3 * res["l1out"].stderr
    assert res["ba"].mi <= task.mi + 3 * res["ba"].stderr
    assert res["doe"].mi >= task.mi - 3 * res["doe"].stderr
    assert res["doe"].config["critic_options"] == {"marginal": "mixture"}
    assert res["club"].details["bound_kind"] == "upper"


def test_the_registry_says_lower_upper_or_neither():
    kinds = {info.name: info.kind for info in describe_bounds()}
    assert {k for k, v in kinds.items() if v == "upper"} == {"club", "l1out"}
    assert {k for k, v in kinds.items() if v == "neither"} == {"smile", "ba", "doe"}
    for info in describe_bounds():
        assert info.kind in B.KINDS and info.lower_bound == (info.kind == "lower")
        assert (info.critic == "conditional-gaussian") == (info.name in ("club", "l1out", "ba", "doe"))


def test_bad_requests_are_refused_clearly():
    from mi_estimators import estimate_mi

    x, y = CorrelatedGaussian(2, rho=0.5).sample(600, seed=0)
    with pytest.raises(ValueError, match="needs a conditional density model.*'conditional-gaussian'.*'separable'"):
        estimate_mi(x, y, "club", critic="separable", steps=5)
    with pytest.raises(ValueError, match="marginal= is an option of the conditional-gaussian critic"):
        estimate_mi(x, y, "nwj", marginal="mixture", steps=5)
    with pytest.raises(ValueError, match="unknown conditional-gaussian marginal 'flow'.*gaussian, mixture"):
        make_critic("conditional-gaussian", 2, 2, marginal="flow")
    for name in ("ba", "doe"):
        with pytest.raises(ValueError, match="no negatives"):
            get_bound(name, negatives="derangement")
    with pytest.raises(ValueError, match="column-wise"):
        get_bound("l1out", negatives="derangement")
    assert get_bound("club", negatives="derangement").info.negatives == "derangement"
    critic = make_critic("conditional-gaussian", 2, 4)
    with pytest.raises(ValueError, match="batch_size > dim_y"):
        critic(torch.randn(4, 2), torch.randn(4, 4))


def test_the_mixture_marginal_learns_through_the_auxiliary_loss_only():
    critic = make_critic("conditional-gaussian", 2, 2, hidden=(8,), marginal="mixture", n_critics=2, seed=3)
    x, y = torch.randn(32, 2), torch.randn(32, 2)
    get_bound("doe").loss(critic(x, y)).sum().backward()
    assert critic.mix_means.grad is None or not critic.mix_means.grad.abs().any()   # scores carry no m-gradient
    critic.zero_grad()
    critic.auxiliary_loss(x, y).sum().backward()
    assert critic.mix_means.grad.abs().sum() > 0 and critic.net.weights[0].grad is None


def test_mi_bench_list_shows_whether_each_bound_is_lower_upper_or_neither(capsys):
    import json

    from mi_estimators.bench.cli import main

    assert main(["list", "estimators", "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)["estimators"]}
    assert entries["club"]["bound"] == "upper" and "upper bound" in entries["club"]["kind"]
    assert entries["ba"]["bound"] == "neither" and entries["nwj"]["bound"] == "lower"
    assert main(["list", "estimators"]) == 0
    text = capsys.readouterr().out
    assert "l1out: kl [neural, upper bound (under its stated condition); critic conditional-gaussian]" in text
    assert "infonce: kl [neural, lower bound]" in text and "smile: kl [neural, estimate (not a bound)]" in text


def test_generative_results_say_what_their_value_is_to_the_mi():
    from mi_estimators import estimate_mi

    x, y = CorrelatedGaussian(2, rho=0.5).sample(800, seed=1)
    kw = dict(steps=20, hidden=(), batch_size=64)
    with pytest.warns(UserWarning, match="club is an upper bound on the MI only when"):
        r = estimate_mi(x, y, "club", **kw)
    assert any("interval covers the bound's value, not the MI" in w for w in r.warnings)
    with pytest.warns(UserWarning, match="ba is a difference of two cross-entropy estimates.*Gaussian"):
        estimate_mi(x, y, "ba", **kw)


def test_club_and_l1out_ignore_the_reference_so_they_train_without_it_at_any_batch_size():
    x, y = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 3, dtype=torch.float64)
    with_m = make_critic("conditional-gaussian", 3, 3, hidden=(8,), seed=4, dtype=torch.float64)
    without = make_critic("conditional-gaussian", 3, 3, hidden=(8,), seed=4, marginal="none", dtype=torch.float64)
    for name in ("club", "l1out"):
        b = get_bound(name)
        assert torch.allclose(b.estimate(with_m(x, y)), b.estimate(without(x, y)), atol=1e-12)
        assert b.critic_defaults == {"marginal": "none"}
    wide = make_critic("conditional-gaussian", 3, 40, hidden=(8,), marginal="none")   # B = 16 <= dim_y = 40
    assert torch.isfinite(get_bound("club").estimate(wide(torch.randn(16, 3), torch.randn(16, 40)))).all()
