"""The ``"flow"`` estimator (mi_estimators/flow.py, flow_model.py): MIENF-style flows.

Small seeded problems (tiny flows, a few hundred steps); tolerances are z = 4 standard errors
of the estimate (or of a difference of two estimates), computed by the estimator itself.
"""
import math

import numpy as np
import pytest
import torch

from mi_estimators import estimate_mi
from mi_estimators.api import list_estimators, valid_options
from mi_estimators.flow import MIN_SAMPLES, canonical_premap, estimate_flow
from mi_estimators.flow_model import FlowPair, gaussian_pair_log_ratio, gaussian_pair_mi
from mi_estimators.options import TrainOptions

Z = 4.0
TINY = dict(flow_layers=1, flow_hidden=16)


def _gaussian(n, dim, mi, seed):
    """``dim`` independent pairs with equal correlation; total MI ``mi`` nats."""
    rho = math.sqrt(-math.expm1(-2.0 * mi / dim))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    y = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal((n, dim))
    return x, y


def _train(**kw):
    return TrainOptions(**{"steps": 200, "batch_size": 256, "lr": 2e-3, "eval_every": 50, "num_threads": 1, **kw})


def test_gaussian_pair_log_ratio_matches_the_bivariate_normal_density():
    theta = torch.tensor([[0.3, -1.7, 4.0]], dtype=torch.float64)
    a, b = torch.randn(1, 5, 3, dtype=torch.float64), torch.randn(1, 5, 3, dtype=torch.float64)
    rho = torch.tanh(theta)
    cov = torch.stack([torch.stack([torch.ones_like(rho), rho]), torch.stack([rho, torch.ones_like(rho)])])
    joint = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64), cov.permute(2, 3, 0, 1)[0])
    std = torch.distributions.Normal(0.0, 1.0)
    ref = (joint.log_prob(torch.stack([a, b], -1)) - std.log_prob(a) - std.log_prob(b)).sum(-1)
    assert torch.allclose(gaussian_pair_log_ratio(a, b, theta), ref, atol=1e-9)
    assert torch.allclose(gaussian_pair_mi(theta), -0.5 * torch.log1p(-rho ** 2).sum(-1))


def test_an_untrained_flow_pair_is_the_canonical_gaussian_model():
    x, y = _gaussian(3000, 3, 1.5, 0)
    xt, yt, _, _, canon = canonical_premap(x, y, [], [])
    assert np.allclose(np.corrcoef(xt.T, yt.T)[:3, 3:], np.diag(canon), atol=1e-8)
    model = FlowPair(3, 3, n_members=2, layers=2, hidden=8, theta0=np.arctanh(canon), dtype=torch.float64)
    ll, pmi = model.parts(torch.as_tensor(xt), torch.as_tensor(yt))
    assert ll.shape == pmi.shape == (2, 3000) and torch.isfinite(ll).all()
    # the couplings start at the identity and the monotone maps near it: the model MI is CCA's
    assert abs(float(model.mi().detach()[0]) - (-0.5 * np.log1p(-canon ** 2).sum())) < 1e-9


def test_gaussian_mi_within_four_standard_errors():
    x, y = _gaussian(2000, 2, 1.0, 1)
    res = estimate_flow(x, y, seed=0, train=_train(), n_members=2, **TINY)
    assert res.estimator == "flow" and res.stderr > 0
    assert abs(res.mi - 1.0) < Z * res.stderr, (res.mi, res.stderr)
    assert res.interval[0] < res.mi < res.interval[1]


def test_one_dimension_per_side_uses_the_monotone_layers_alone_and_warns():
    x, y = _gaussian(2000, 1, 0.5, 2)
    with pytest.warns(UserWarning, match="Gaussian copula"):
        res = estimate_mi(np.tanh(x) + x, y, "flow", steps=200, batch_size=256, lr=2e-3, n_critics=2, **TINY)
    assert abs(res.mi - 0.5) < Z * res.stderr, (res.mi, res.stderr)
    assert any("monotone" in w for w in res.warnings)   # a 1-D flow is a Gaussian copula: it says so


def test_invariance_under_invertible_maps_of_each_side():
    x, y = _gaussian(2000, 2, 1.0, 3)
    a = estimate_flow(x, y, seed=0, train=_train(), n_members=2, **TINY)
    mix = np.array([[1.0, 0.5], [-0.3, 2.0]])
    b = estimate_flow(x @ mix, y + 0.5 * np.sin(y), seed=0, train=_train(), n_members=2, **TINY)
    assert abs(a.mi - b.mi) < Z * math.hypot(a.stderr, b.stderr), (a.mi, b.mi, a.stderr, b.stderr)


def test_same_seed_same_estimate_and_member_k_is_the_run_with_seed_plus_k():
    x, y = _gaussian(600, 2, 0.5, 4)
    kw = dict(train=_train(steps=60, batch_size=64, dtype="float64", patience=None), **TINY)
    both = estimate_flow(x, y, seed=5, n_members=2, **kw)
    again = estimate_flow(x, y, seed=5, n_members=2, **kw)
    assert both.mi == again.mi and np.array_equal(both.per_critic, again.per_critic)
    second = estimate_flow(x, y, seed=6, n_members=1,
                           train=_train(steps=60, batch_size=64, dtype="float64", patience=None, split_seed=5), **TINY)
    assert np.isclose(both.per_critic[1], second.per_critic[0], rtol=1e-6, atol=1e-8)


def test_refuses_discrete_or_constant_columns_and_too_few_samples_naming_the_alternative():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(500, 1)).astype(float)
    y = x + rng.standard_normal((500, 1))
    with pytest.raises(ValueError, match="discrete.*'discrete'.*'auto'"):
        estimate_mi(x, y, "flow")
    x, y = _gaussian(MIN_SAMPLES - 1, 1, 0.5, 0)
    with pytest.raises(ValueError, match="too few samples.*'ksg'.*'auto'"):
        estimate_mi(x, y, "flow")
    x, y = _gaussian(500, 2, 0.5, 0)
    with pytest.raises(ValueError, match=r"column\(s\) \[2\] of x are constant"):
        estimate_mi(np.c_[x, np.ones(500)], y, "flow")


def test_options_the_flow_does_not_use_are_refused():
    x, y = _gaussian(400, 1, 0.5, 0)
    with pytest.raises(ValueError, match="hidden"):
        estimate_mi(x, y, "flow", hidden=(8,))
    with pytest.raises(ValueError, match="flow_layerz"):
        estimate_mi(x, y, "flow", flow_layerz=2)
    with pytest.raises(ValueError, match="flow_layers"):
        estimate_mi(x, y, "flow", flow_layers=0)
    assert "flow" in list_estimators()
    assert {"flow_layers", "flow_hidden", "steps", "n_critics"} <= valid_options("flow")


def test_heavy_tails_give_a_finite_result_never_nan():
    rng = np.random.default_rng(1)
    z = rng.standard_cauchy((1000, 2))
    res = estimate_mi(z[:, :1], z[:, :1] + z[:, 1:], "flow", steps=100, batch_size=128, n_critics=2, **TINY)
    values = [res.mi, res.stderr, *res.interval, *res.per_critic]
    assert all(math.isfinite(v) for v in values) and res.mi >= 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graph_path_gives_a_finite_estimate():
    x, y = _gaussian(2000, 2, 1.0, 1)
    res = estimate_mi(x, y, "flow", device="cuda", cuda_graph=True, steps=100, batch_size=256, n_critics=2, **TINY)
    assert res.details["cuda_graph"] and math.isfinite(res.mi)


def test_early_stopping_reads_a_bounded_random_subset_and_the_readout_all_heldout_rows(monkeypatch):
    """Evaluations during training see at most SELECTION_HELDOUT_MAX held-out rows (their cost
    does not grow with n); the readout after training sees every held-out row."""
    from mi_estimators import flow, training

    monkeypatch.setattr(training, "SELECTION_HELDOUT_MAX", 64)
    seen = []
    real = flow._heldout_parts

    def spy(model, xh, yh):
        seen.append(xh.shape[0])
        return real(model, xh, yh)

    monkeypatch.setattr(flow, "_heldout_parts", spy)
    x, y = _gaussian(1000, 2, 0.6, seed=5)
    res = estimate_mi(x, y, "flow", steps=40, eval_every=20, patience=None, batch_size=128, seed=1, **TINY)
    assert np.isfinite(res.mi)
    n_heldout = res.config["n_heldout"]
    assert n_heldout == 200 and seen[:2] == [64, 64] and seen[-1] == n_heldout


def test_progress_shows_a_flow_bar_and_leaves_the_estimate_unchanged(capsys):
    x, y = _gaussian(600, 2, 0.5, 4)
    kw = dict(seed=5, n_members=1, **TINY)
    quiet = estimate_flow(x, y, train=_train(steps=60, batch_size=64, eval_every=20), **kw)
    shown = estimate_flow(x, y, train=_train(steps=60, batch_size=64, eval_every=20, progress=True), **kw)
    err = capsys.readouterr().err
    assert "training flow" in err and "mi=" in err
    assert shown.mi == quiet.mi
