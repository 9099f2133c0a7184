"""Bounds on score matrices: registry contract, oracle critics vs closed forms, stability, validation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mi_estimators.bounds import BOUNDS, describe_bounds, get_bound, list_bounds

CONTRACT_NAMES = ["dv", "mine", "nwj", "tuba", "infonce", "dv-per-anchor", "js", "smile", "alpha",
                  "fgan", "fmicl", "dro-dual"]


def test_registry_lists_exactly_the_contract_names():
    assert list_bounds() == CONTRACT_NAMES
    assert list(BOUNDS) == CONTRACT_NAMES
    infos = describe_bounds()
    assert [i.name for i in infos] == CONTRACT_NAMES
    for info in infos:
        assert info.target == "kl"
        assert info.paper and info.description
        assert isinstance(info.lower_bound, bool)


def test_every_bound_maps_a_batch_of_score_matrices_to_one_value_each():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 2, 16, 16, generator=gen, dtype=torch.float64)
    for name in list_bounds():
        bound = get_bound(name)
        assert bound.estimate(scores).shape == (3, 2)
        assert bound.loss(scores).shape == (3, 2)


# ---------------------------------------------------------------------------
# oracle critics (math_spec table 7) against closed-form / quadrature truth
# ---------------------------------------------------------------------------
from functools import lru_cache  # noqa: E402

from mi_estimators import bounds as B  # noqa: E402
from mi_estimators.divergences import get_divergence  # noqa: E402
from synthetic import CorrelatedGaussian  # noqa: E402


@lru_cache(maxsize=None)
def oracle_log_ratios(dim: int, rho: float, batch: int, reps: int, seed: int = 0) -> torch.Tensor:
    """(reps, B, B) float64 matrices log r(x_i, y_j) on independent seeded batches."""
    task = CorrelatedGaussian(dim, rho=rho)
    mats = []
    for r in range(reps):
        x, y = task.sample(batch, seed + r)
        mats.append(task.log_ratio(x[:, None, :], y[None, :, :]))
    return torch.tensor(np.stack(mats))


def assert_within_3_se(values: torch.Tensor, truth: float, label: str):
    v = values.detach().numpy()
    se = v.std(ddof=1) / math.sqrt(len(v))
    assert abs(v.mean() - truth) <= 3 * se, f"{label}: mean {v.mean():.4f} vs truth {truth:.4f} (se {se:.4f})"


KL_ORACLE = {  # bound -> oracle S as a function of L = log r (table 7)
    "dv": lambda L: L + 3.0, "mine": lambda L: L - 2.0, "nwj": lambda L: L + 1.0, "tuba": lambda L: L,
    "infonce": lambda L: L + 0.7, "dv-per-anchor": lambda L: L - 1.0, "js": lambda L: L,
    "smile": lambda L: L, "alpha": lambda L: L,
}
KL_SETTINGS = [(1, 0.5), (2, 0.5), (5, 0.3)]  # low MI: the batch biases are far below the se


@pytest.mark.parametrize("dim,rho", KL_SETTINGS)
def test_kl_bounds_with_oracle_critic_land_on_the_closed_form_mi(dim, rho):
    L = oracle_log_ratios(dim, rho, 256, 40)
    truth = CorrelatedGaussian(dim, rho=rho).mi
    for name, oracle in KL_ORACLE.items():
        assert_within_3_se(get_bound(name).estimate(oracle(L)), truth, f"{name} d={dim} rho={rho}")


def test_tuba_with_baseline_oracle_log_r_plus_b_lands_on_mi():
    L = oracle_log_ratios(2, 0.5, 256, 40)
    b = torch.linspace(-2.0, 2.0, 256, dtype=torch.float64).expand(40, 256)
    assert_within_3_se(get_bound("tuba").estimate(L + b[..., None], log_baseline=b), CorrelatedGaussian(2, rho=0.5).mi,
                       "tuba with baseline")


PHI_SETTINGS = [  # (dim, rho, divergences): chi2 / tsallis-1.5 / reverse-chi2 need small rho (spec §6)
    (2, 0.5, [("kl", {}), ("hellinger", {}), ("js", {}), ("tv", {}), ("vlc", {}), ("tsallis", {"alpha": 0.3})]),
    (1, 0.3, [("chi2", {}), ("tsallis", {"alpha": 1.5}), ("hellinger", {}), ("js", {})]),
    (1, 0.15, [("reverse-chi2", {})]),
]
PHI_CASES = [(d, r, n, p) for d, r, divs in PHI_SETTINGS for n, p in divs]


@pytest.mark.parametrize("dim,rho,name,params", PHI_CASES,
                         ids=[f"{n}{''.join(str(v) for v in p.values())}-d{d}-rho{r}" for d, r, n, p in PHI_CASES])
def test_phi_bounds_with_oracle_critics_land_on_the_phi_mi(dim, rho, name, params):
    """f-GAN at T = φ'(r), f-MICL at r̂ = r, DRO-dual (global and per-anchor) at φ'(r) + c."""
    L = oracle_log_ratios(dim, rho, 128, 30, seed=1000)
    truth = CorrelatedGaussian(dim, rho=rho).phi_mi(name, **params)
    div = get_divergence(name, **params)
    T = div.f_prime(L.exp())
    label = f"{name}{params} d={dim} rho={rho}"
    assert_within_3_se(get_bound("fgan", divergence=name, **params).estimate(T), truth, "fgan " + label)
    assert_within_3_se(get_bound("fmicl", divergence=name, **params).estimate(L), truth, "fmicl " + label)
    for per_anchor in (False, True):
        bound = get_bound("dro-dual", divergence=name, per_anchor=per_anchor, **params)
        assert_within_3_se(bound.estimate(T + 1.5), truth, f"dro-dual per_anchor={per_anchor} " + label)


def test_phi_mi_truths_agree_with_the_spec_closed_forms():
    """Cross-check synthetic's phi_mi against math_spec §6 (H_α formula, TV at d = 2, quadrature values)."""
    for d, rho in [(1, 0.3), (2, 0.5), (5, 0.3)]:
        task = CorrelatedGaussian(d, rho=rho)

        def H(a):
            return ((1 - rho**2) ** ((1 - a) / 2) * (1 - (1 - a) ** 2 * rho**2) ** -0.5) ** d

        assert task.phi_mi("kl") == pytest.approx(-d / 2 * math.log(1 - rho**2), rel=1e-9)
        assert task.phi_mi("chi2") == pytest.approx((1 - rho**2) ** -d - 1, rel=1e-9)
        assert task.phi_mi("hellinger") == pytest.approx(2 * (1 - H(0.5)), rel=1e-9)
        assert task.phi_mi("tsallis", alpha=1.5) == pytest.approx((H(1.5) - 1) / 0.5, rel=1e-9)
        if rho < 0.5:
            assert task.phi_mi("reverse-chi2") == pytest.approx(H(-1.0) - 1, rel=1e-9)
        else:
            assert task.phi_mi("reverse-chi2") == math.inf
    for rho in (0.3, 0.5):
        tv_d2 = (1 + rho) / 2 * (1 - rho**2) ** ((1 - rho) / rho) - 0.5 * (1 - rho**2) ** (1 / rho)
        assert CorrelatedGaussian(2, rho=rho).phi_mi("tv") == pytest.approx(tv_d2, rel=1e-6)
    task = CorrelatedGaussian(2, rho=0.5)
    assert task.phi_mi("js") == pytest.approx(0.071501, abs=2e-6)
    assert task.phi_mi("vlc") == pytest.approx(0.260263, abs=2e-6)


def test_js_reference_code_evaluation_is_one_over_e_low_at_the_optimum():
    """NWJ(S) at the JS optimum S = log r is I − 1/e; the js bound reports NWJ(S + 1)."""
    L = oracle_log_ratios(2, 0.5, 256, 40)
    gap = get_bound("js").estimate(L) - B.nwj(L)
    assert_within_3_se(gap, 1.0 / math.e, "NWJ(S+1) - NWJ(S)")
    assert torch.allclose(get_bound("js").estimate(L), B.nwj(L + 1.0), rtol=1e-12)


# ---------------------------------------------------------------------------
# structural facts
# ---------------------------------------------------------------------------
def _random_scores(*shape, scale=1.0, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=gen, dtype=dtype)


PHI_NAMES = [("kl", {}), ("chi2", {}), ("hellinger", {}), ("js", {}), ("tsallis", {"alpha": 1.5}),
             ("tsallis", {"alpha": 0.5}), ("tv", {}), ("vlc", {}), ("reverse-chi2", {})]


def test_infonce_never_exceeds_log_batch_size():
    n = 64
    cases = [_random_scores(20, n, n, scale=s, seed=i) for i, s in enumerate([0.1, 3.0, 100.0])]
    cases.append(oracle_log_ratios(10, 0.9, n, 20))  # I = 8.3 nats ≫ log 64
    cases.append(torch.diag_embed(torch.full((n,), 1e4, dtype=torch.float64)))  # perfect critic
    for S in cases:
        assert float(get_bound("infonce").estimate(S).max()) <= math.log(n) + 1e-12
    assert float(get_bound("infonce").estimate(cases[-1])) == pytest.approx(math.log(n), abs=1e-12)
    assert get_bound("infonce").info.ceiling(n) == math.log(n)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5, 1.0])
def test_alpha_bound_stays_below_its_ceiling(alpha):
    n = 32
    bound = get_bound("alpha", alpha=alpha)
    ceiling = bound.info.ceiling(n)
    for i, s in enumerate([0.5, 5.0, 50.0]):
        S = _random_scores(10, n, n, scale=s, seed=i) + torch.diag_embed(torch.full((n,), 3 * s, dtype=torch.float64))
        values = bound.estimate(S)
        if ceiling is None:
            assert alpha == 0.0
        else:
            assert float(values.max()) <= ceiling + 1e-9


def test_shift_leaves_dv_infonce_and_dro_dual_unchanged_and_changes_nwj_and_fgan():
    S = oracle_log_ratios(2, 0.5, 64, 4)
    for c in (-3.0, 0.25, 7.0):
        for name in ("dv", "infonce", "dv-per-anchor", "mine", "smile"):
            if name == "smile":
                continue  # the clip breaks shift invariance, by design
            assert torch.allclose(get_bound(name).estimate(S + c), get_bound(name).estimate(S), atol=1e-10), name
        for name, params in PHI_NAMES:
            T = get_divergence(name, **params).f_prime(S.exp())
            for per_anchor in (False, True):
                bound = get_bound("dro-dual", divergence=name, per_anchor=per_anchor, **params)
                assert torch.allclose(bound.estimate(T + c), bound.estimate(T), atol=1e-8), (name, params, per_anchor)
        assert not torch.allclose(get_bound("nwj").estimate(S + c), get_bound("nwj").estimate(S), atol=1e-3)
    for name, params in PHI_NAMES:
        T = get_divergence(name, **params).f_prime(S.exp())
        fgan = get_bound("fgan", divergence=name, **params)
        assert not torch.allclose(fgan.estimate(T - 0.25), fgan.estimate(T), atol=1e-3), (name, params)


@pytest.mark.parametrize("name,params", PHI_NAMES, ids=[n + "".join(str(v) for v in p.values()) for n, p in PHI_NAMES])
def test_dro_dual_inner_minimum_is_exact_and_dominates_fgan(name, params):
    from scipy.optimize import minimize_scalar

    div = get_divergence(name, **params)
    S = div.f_prime(oracle_log_ratios(2, 0.3, 24, 3).exp()) + _random_scores(3, 24, 24, scale=0.2, seed=5)
    value = get_bound("dro-dual", divergence=name, **params).estimate(S)
    assert bool((value >= get_bound("fgan", divergence=name, **params).estimate(S) - 1e-12).all())
    off = ~torch.eye(24, dtype=torch.bool)
    for k in range(3):
        entries = S[k][off]
        lo = float(entries.max()) - (div.t_max if math.isfinite(div.t_max) else 50.0)

        def g(beta):
            return beta + float(div.conj(entries - beta).mean())

        res = minimize_scalar(g, bounds=(lo, lo + 60.0), method="bounded", options={"xatol": 1e-12})
        brute = float(S[k].diagonal().mean()) - res.fun
        assert float(value[k]) == pytest.approx(brute, abs=1e-7)
        assert float(value[k]) >= brute - 1e-9  # ours is the exact minimum


def test_closed_form_identities_between_bounds():
    S = _random_scores(5, 40, 40, scale=2.0, seed=3)
    assert torch.allclose(B.dro_dual(S, "kl"), B.dv(S), atol=1e-12)
    assert torch.allclose(B.dro_dual(S, "kl", per_anchor=True), B.dv_per_anchor(S), atol=1e-12)
    assert torch.allclose(B.fmicl(S, "kl"), B.js_estimate(S), atol=1e-12)  # f-MICL-KL = NWJ(S + 1)
    # f-MICL is f-GAN at T = φ'(e^S), and is invariant to φ → φ + c(u − 1) (SH = Tsallis-½ − (u − 1))
    for name, params in PHI_NAMES:
        T = get_divergence(name, **params).f_prime(S.exp())
        assert torch.allclose(B.fmicl(S, name, **params), B.fgan(T, name, **params), atol=1e-9), name
    assert torch.allclose(B.fmicl(S, "hellinger"), B.fmicl(S, "tsallis", alpha=0.5), atol=1e-12)
    # DRO-dual too: φ + c(u − 1) has conjugate φ*(t − c) + c, absorbed by β
    assert torch.allclose(B.dro_dual(S, "hellinger"), B.dro_dual(S, "tsallis", alpha=0.5), atol=1e-9)
    # TUBA with the per-anchor batch baseline a(x_i) = mean_{j≠i} e^{S_ij} is per-anchor DV
    b = B.log_mean_exp_rows_off_diagonal(S)
    assert torch.allclose(B.tuba(S, b), B.dv_per_anchor(S), atol=1e-12)
    # α-bound: α = 0 is TUBA with the same baseline; α = 1 is leave-one-out InfoNCE
    q = _random_scores(5, 40, seed=4)
    assert torch.allclose(B.interpolated(S, 0.0, q), B.tuba(S, q), atol=1e-12)
    n = 40
    loo = torch.stack([torch.logsumexp(S[..., torch.arange(n) != j], dim=-1) for j in range(n)], dim=-1)
    naive = (S.diagonal(dim1=-2, dim2=-1)[..., :, None] - loo + math.log(n - 1))
    assert torch.allclose(B.interpolated(S, 1.0), B.mean_off_diagonal(naive), atol=1e-10)
    # SMILE with τ → ∞ is DV
    assert torch.allclose(B.smile(S, 1e6), B.dv(S), atol=1e-12)


def test_leave_one_out_log_mean_exp_is_accurate_when_one_entry_dominates():
    S = torch.tensor([[0.0, 800.0, -5.0, 1.0], [3.0, 3.0, 3.0, 3.0]], dtype=torch.float64)
    got = B._log_loo_mean_exp_rows(S.unsqueeze(0)).squeeze(0)
    for i in range(2):
        for j in range(4):
            keep = [k for k in range(4) if k != j]
            assert float(got[i, j]) == pytest.approx(float(torch.logsumexp(S[i, keep], 0)) - math.log(3), abs=1e-12)
