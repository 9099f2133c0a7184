"""Derangement negatives (issue 21, item 2): the mask, the bounds' formulas, oracle critics, validation, API."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mi_estimators import bounds as B
from mi_estimators.bounds import BOUNDS, get_bound, negatives_mask
from mi_estimators.options import NEGATIVES, TrainOptions
from synthetic import CorrelatedGaussian

TAKERS = ["dv", "mine", "nwj", "tuba", "js", "smile", "fgan", "fmicl", "dro-dual"]
ROW_WISE = ["infonce", "dv-per-anchor", "alpha"]


def _scores(*shape, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("n", [2, 3, 7, 64])
def test_the_derangement_mask_is_a_permutation_without_fixed_points(n):
    mask = negatives_mask(torch.zeros(n, n), "derangement")
    assert mask.sum(0).tolist() == [1] * n and mask.sum(1).tolist() == [1] * n
    assert not mask.diagonal().any()
    assert negatives_mask(torch.zeros(n, n), "all").sum() == n * (n - 1)


def test_derangement_bounds_equal_their_formulas_on_the_cyclic_pairs():
    S = _scores(3, 9, 9, seed=1)
    pos = S.diagonal(dim1=-2, dim2=-1).mean(-1)
    neg = torch.stack([S[:, i, (i + 1) % 9] for i in range(9)], dim=-1)          # (3, 9)
    lme = torch.logsumexp(neg, -1) - math.log(9)
    expected = {
        "dv": pos - lme,
        "nwj": pos - torch.exp(lme - 1.0),
        "js": 1.0 + pos - torch.exp(lme),
        "smile": pos - (torch.logsumexp(neg.clamp(-0.5, 0.5), -1) - math.log(9)),
    }
    hyper = {"smile": {"tau": 0.5}}
    for name, want in expected.items():
        got = get_bound(name, negatives="derangement", **hyper.get(name, {})).estimate(S)
        assert torch.allclose(got, want, atol=1e-12), name
    js_obj = -torch.nn.functional.softplus(-S.diagonal(dim1=-2, dim2=-1)).mean(-1) - \
        torch.nn.functional.softplus(neg).mean(-1)
    assert torch.allclose(get_bound("js", negatives="derangement").loss(S), -js_obj, atol=1e-12)
    # φ-bounds: the masked means run over the same B pairs (KL: f-GAN = NWJ, DRO-dual = DV)
    assert torch.allclose(get_bound("fgan", negatives="derangement").estimate(S), expected["nwj"], atol=1e-12)
    assert torch.allclose(get_bound("dro-dual", negatives="derangement").estimate(S), expected["dv"], atol=1e-12)
    assert torch.allclose(get_bound("fmicl", negatives="derangement").estimate(S), expected["js"], atol=1e-12)


@pytest.mark.parametrize("divergence", ["hellinger", "chi2", "js", "tv"])
def test_dro_dual_derangement_solves_the_inner_problem_over_the_b_pairs(divergence):
    """The derangement DRO-dual is the all-pairs DRO-dual of the B negatives: checked by building a
    matrix whose off-diagonal entries repeat the deranged scores (each one B − 1 times)."""
    n = 6
    S = _scores(n, n, seed=2, scale=0.5)
    neg = torch.stack([S[i, (i + 1) % n] for i in range(n)])
    # rows of T: the diagonal of S, and every off-diagonal entry of row i equal to neg[i]
    T = neg[:, None].expand(n, n).clone()
    T.diagonal().copy_(S.diagonal())
    got = get_bound("dro-dual", divergence=divergence, negatives="derangement").estimate(S)
    want = get_bound("dro-dual", divergence=divergence).estimate(T)
    assert float(got) == pytest.approx(float(want), abs=1e-9)


@pytest.mark.parametrize("name", TAKERS)
def test_with_equal_negative_scores_the_two_choices_agree(name):
    S = torch.full((2, 8, 8), -0.3, dtype=torch.float64)
    S.diagonal(dim1=-2, dim2=-1).copy_(_scores(2, 8, seed=3))
    hyper = {"fgan": {"divergence": "hellinger", "output": "bounded"}}.get(name, {})
    a = get_bound(name, **hyper).estimate(S)
    d = get_bound(name, negatives="derangement", **hyper).estimate(S)
    assert torch.allclose(a, d, atol=1e-12), name


def test_oracle_critics_with_derangement_negatives_land_on_the_closed_form_mi():
    """Unbiased bounds stay unbiased (NWJ at 1 + log r, JS's NWJ(S + 1) at log r, f-GAN-Hellinger at φ'(r)):
    mean over 40 batches of 256 within 3 se of the truth; the se is larger than with all pairs."""
    task = CorrelatedGaussian(2, rho=0.5)
    mats = []
    for r in range(40):
        x, y = task.sample(256, r)
        mats.append(task.log_ratio(x[:, None, :], y[None, :, :]))
    L = torch.tensor(np.stack(mats))
    cases = [("nwj", {}, L + 1.0, task.mi), ("js", {}, L, task.mi),
             ("fgan", {"divergence": "hellinger"}, None, task.phi_mi("hellinger"))]
    for name, hyper, S, truth in cases:
        if S is None:
            S = get_bound(name, **hyper).divergence.f_prime(L.exp())
        spread = {}
        for neg in NEGATIVES:
            v = get_bound(name, negatives=neg, **hyper).estimate(S).numpy()
            se = v.std(ddof=1) / math.sqrt(len(v))
            assert abs(v.mean() - truth) <= 3 * se, (name, neg, v.mean(), truth, se)
            spread[neg] = v.std(ddof=1)
        assert spread["derangement"] > spread["all"], (name, spread)


@pytest.mark.parametrize("name", ROW_WISE)
def test_row_wise_bounds_refuse_derangement_negatives_and_name_the_ones_that_take_them(name):
    with pytest.raises(ValueError, match=rf"bound '{name}' cannot use negatives='derangement'.*row-wise.*nwj"):
        get_bound(name, negatives="derangement")
    with pytest.raises(ValueError, match="per_anchor=True"):
        get_bound("dro-dual", per_anchor=True, negatives="derangement")


def test_the_registry_says_which_bounds_take_derangements():
    takers = {n for n, cls in BOUNDS.items() if get_bound(n).info.derangement}
    assert set(TAKERS) <= takers and not takers & set(ROW_WISE)
    assert get_bound("nwj", negatives="derangement").info.negatives == "derangement"
    assert repr(get_bound("nwj", negatives="derangement")) == "get_bound('nwj', negatives='derangement')"


@pytest.mark.parametrize("bad", ["derange", "none", None, 1])
def test_bad_negatives_values_are_refused_with_the_valid_choices(bad):
    with pytest.raises(ValueError, match="valid choices: all, derangement"):
        TrainOptions(negatives=bad)
    with pytest.raises(ValueError, match="valid choices: all, derangement"):
        get_bound("nwj", negatives=bad)


def test_estimate_mi_trains_with_derangements_and_records_them_in_the_config():
    from mi_estimators import estimate_mi

    x, y = CorrelatedGaussian(2, rho=0.5).sample(1200, seed=0)
    r = estimate_mi(x, y, "nwj", negatives="derangement", steps=150, batch_size=64, hidden=(32,), seed=1)
    assert r.config["negatives"] == "derangement"
    assert math.isfinite(r.mi) and r.interval[0] < r.mi < r.interval[1]
    with pytest.raises(ValueError, match="cannot use negatives='derangement'"):
        estimate_mi(x, y, "infonce", negatives="derangement", steps=10)
