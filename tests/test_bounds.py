"""Bounds on score matrices: registry contract, oracle critics vs closed forms, stability, validation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mi_estimators.bounds import BOUNDS, describe_bounds, get_bound, list_bounds

CONTRACT_NAMES = ["dv", "mine", "nwj", "tuba", "infonce", "dv-per-anchor", "js", "smile", "alpha",
                  "fgan", "fmicl", "dro-dual", "club", "l1out", "ba", "doe"]


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


# ---------------------------------------------------------------------------
# numerical stability
# ---------------------------------------------------------------------------
def _all_bounds():
    """Every registry entry, every divergence for the φ-bounds, both DRO variants."""
    out = [(name, {}) for name in list_bounds() if name not in ("fgan", "fmicl", "dro-dual")]
    for name, params in PHI_NAMES:
        out.append(("fgan", {"divergence": name, **params}))
        out.append(("fmicl", {"divergence": name, **params}))
        out.append(("dro-dual", {"divergence": name, **params}))
        out.append(("dro-dual", {"divergence": name, "per_anchor": True, **params}))
    return out


def _value_and_grad(bound, S, **inputs):
    S = S.detach().clone().requires_grad_(True)
    value = bound.estimate(S, **inputs)
    if bound.name == "fmicl" and not bound.divergence.trainable:
        (grad,) = torch.autograd.grad(value.sum(), S)
    else:
        (grad,) = torch.autograd.grad(bound.loss(S, **inputs).sum(), S)
    return value, grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_bound_is_finite_with_finite_gradients_for_scores_up_to_1e4(dtype):
    n = 16
    gen = torch.Generator().manual_seed(7)
    signs = torch.randint(0, 2, (2, n, n), generator=gen).to(dtype) * 2 - 1
    S = 1e4 * signs * torch.rand(2, n, n, generator=gen, dtype=dtype)
    S[0].diagonal().fill_(1e4)
    S[1, 0, 1] = 1e4
    for name, hyper in _all_bounds():
        bound = get_bound(name, **hyper)
        scores = S
        if name == "fgan":
            div = bound.divergence  # f-GAN's raw critic must stay inside dom φ* (else -inf, tested below)
            if math.isfinite(div.t_max):
                scores = S.clamp(max=div.t_max - 0.25)
        value, grad = _value_and_grad(bound, scores)
        assert value.dtype == dtype and value.shape == (2,)
        assert bool(torch.isfinite(value).all()), (name, hyper, value)
        assert bool(torch.isfinite(grad).all()), (name, hyper)


def test_every_bound_is_finite_at_20_nats_with_the_oracle_critic():
    """d = 20, I = 20 nats (ρ ≈ 0.93): log r spans hundreds of nats; no overflow anywhere."""
    L = oracle_log_ratios(20, math.sqrt(-math.expm1(-2.0)), 64, 2)
    assert CorrelatedGaussian(20, mi=20.0).mi == pytest.approx(20.0)
    for name, hyper in _all_bounds():
        bound = get_bound(name, **hyper)
        if name in ("fgan", "dro-dual"):
            S = bound.divergence.f_prime(L.exp())
        else:
            S = L
        value, grad = _value_and_grad(bound, S)
        assert bool(torch.isfinite(value).all()), (name, hyper, value)
        assert bool(torch.isfinite(grad).all()), (name, hyper)
    assert float(get_bound("infonce").estimate(L).max()) <= math.log(64)


def test_fgan_outside_the_conjugate_domain_is_exactly_minus_inf_but_its_loss_stays_trainable():
    S = oracle_log_ratios(2, 0.5, 32, 2).clone()
    for name, params in PHI_NAMES:
        div = get_divergence(name, **params)
        if math.isinf(div.t_max):
            continue
        T = div.f_prime(S.exp()).clone()
        T[:, 0, 1] = div.t_max + 0.5  # one negative pair escapes the domain
        bound = get_bound("fgan", divergence=name, **params)
        assert bool((bound.estimate(T) == -math.inf).all()), name
        T.requires_grad_(True)
        loss = bound.loss(T)
        (grad,) = torch.autograd.grad(loss.sum(), T)
        assert bool(torch.isfinite(loss).all()) and bool(torch.isfinite(grad).all()), name
        assert float(grad[0, 0, 1]) > 0, name  # gradient descent pushes the escaped score down


# ---------------------------------------------------------------------------
# losses: what each bound trains on
# ---------------------------------------------------------------------------
def _grad(fn, S):
    S = S.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(S).sum(), S)
    return g


def test_loss_is_minus_estimate_except_for_js_smile_and_mine():
    S = _random_scores(3, 12, 12, seed=11)
    for name, hyper in _all_bounds():
        bound = get_bound(name, **hyper)
        if name in ("js", "smile", "mine") or (name == "fmicl" and hyper["divergence"] == "tv"):
            continue
        if name in ("club", "l1out"):   # generative upper bounds train q by likelihood (tests/test_upper_bounds.py)
            continue
        scores = S - 3.0 if name == "fgan" else S  # inside every dom φ*: the tangent extension is unused
        assert torch.allclose(bound.loss(scores), -bound.estimate(scores), atol=1e-10), (name, hyper)
        assert torch.allclose(_grad(bound.loss, scores), -_grad(bound.estimate, scores), atol=1e-9), (name, hyper)


def test_js_trains_on_the_fgan_objective_and_smile_has_js_gradients_and_smile_value():
    S = _random_scores(3, 12, 12, scale=3.0, seed=12)
    js, sm = get_bound("js"), get_bound("smile", tau=1.0)
    assert torch.allclose(js.loss(S), -B.js_fgan_objective(S))
    assert torch.allclose(sm.loss(S), -B.smile(S, 1.0))
    assert torch.allclose(_grad(sm.loss, S), _grad(js.loss, S), atol=1e-12)
    assert not torch.allclose(_grad(sm.estimate, S), _grad(js.estimate, S), atol=1e-3)
    assert sm.info.lower_bound is False and js.info.lower_bound is True


def test_mine_value_is_dv_and_its_gradient_uses_the_per_member_moving_average():
    S1, S2 = _random_scores(3, 10, 10, seed=13), _random_scores(3, 10, 10, scale=2.0, seed=14)
    mine = get_bound("mine", momentum=0.9)
    assert mine.state is None
    assert torch.allclose(mine.estimate(S1), B.dv(S1)) and mine.state is None  # estimate never updates
    # first step: the average is this batch, so the gradient is DV's
    assert torch.allclose(_grad(mine.loss, S1), -_grad(B.dv, S1), atol=1e-12)
    first = B.log_mean_exp_off_diagonal(S1)
    assert mine.state.shape == (3,) and torch.allclose(mine.state, first)
    # second step: ∇ = −(∇ mean S_ii − ∇E_Q e^S / ema), ema = .9 ema + .1 E_Q e^S
    ema = 0.9 * first.exp() + 0.1 * B.log_mean_exp_off_diagonal(S2).exp()
    expected = _grad(lambda S: -(B._diag_mean(S) - B.log_mean_exp_off_diagonal(S).exp() / ema), S2)
    before = mine.state.clone()
    got = _grad(mine.loss, S2)
    assert torch.allclose(got, expected, atol=1e-12)
    assert torch.allclose(mine.state, ema.log()) and not torch.allclose(mine.state, before)
    assert torch.allclose(mine.loss(S2), -B.dv(S2))
    with pytest.raises(ValueError, match="reset"):
        mine.loss(S2[:2])
    mine.reset()
    assert mine.state is None
    assert mine.loss(S2[:2]).shape == (2,)


def test_fmicl_tv_cannot_be_trained_and_says_why():
    bound = get_bound("fmicl", divergence="tv")
    assert "zero gradient" in bound.info.description
    with pytest.raises(ValueError, match="zero"):
        bound.loss(_random_scores(8, 8))
    assert bool(torch.isfinite(bound.estimate(_random_scores(8, 8))))


def test_float32_estimates_match_float64():
    S = oracle_log_ratios(2, 0.5, 64, 3)
    for name, hyper in _all_bounds():
        bound = get_bound(name, **hyper)
        if name in ("fgan", "dro-dual"):
            S64 = bound.divergence.f_prime(S.exp())
        else:
            S64 = S
        v64, v32 = bound.estimate(S64), bound.estimate(S64.float())
        assert v32.dtype == torch.float32
        assert torch.allclose(v32.double(), v64, rtol=1e-4, atol=1e-4), (name, hyper, v32, v64)


# ---------------------------------------------------------------------------
# registry and validation
# ---------------------------------------------------------------------------
def test_bound_info_describes_target_ceiling_hyper_and_paper():
    info = get_bound("dro-dual", divergence="tsallis", alpha=1.5, per_anchor=True).info
    assert info.target == "tsallis" and info.target_params == {"alpha": 1.5}
    assert info.hyper == {"divergence": "tsallis", "alpha": 1.5, "per_anchor": True}
    assert info.lower_bound and "Wu" in info.paper
    assert get_bound("fmicl", divergence="js").info.target == "js"
    assert get_bound("alpha", alpha=1.0).info.ceiling(65) == pytest.approx(math.log(64))
    assert get_bound("dv").info.ceiling(64) is None
    assert get_bound("smile").info.hyper == {"tau": 5.0}
    with pytest.raises(ValueError, match="batch_size"):
        get_bound("infonce").info.ceiling(1)


@pytest.mark.parametrize(
    "name,hyper,match",
    [
        ("infonse", {}, r"unknown bound 'infonse' \(did you mean 'infonce'\?\); valid choices: .*dro-dual"),
        ("smile", {"temperature": 1.0}, "unknown hyper-parameter.*'temperature'.*valid: tau"),
        ("smile", {"tau": 0.0}, "tau must be a finite number > 0"),
        ("smile", {"tau": -1.0}, "tau must be a finite number > 0"),
        ("alpha", {"alpha": 1.5}, r"alpha must be a number in \[0, 1\]"),
        ("alpha", {"alpha": -0.1}, r"alpha must be a number in \[0, 1\]"),
        ("mine", {"momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
        ("fgan", {"divergence": "hellinger2"}, "unknown divergence 'hellinger2'.*valid choices: .*vlc"),
        ("fmicl", {"divergence": "tsallis", "alpha": 1.0}, "alpha must be > 0 and != 1"),
        ("fmicl", {"divergence": "tsallis", "alpha": 0.0}, "alpha must be > 0 and != 1"),
        ("dro-dual", {"divergence": "tsallis"}, "needs alpha"),
        ("dro-dual", {"per_anchor": "yes"}, "per_anchor must be True or False"),
        ("dv", {"tau": 1.0}, "unknown hyper-parameter.*valid: none"),
    ],
)
def test_bad_bound_requests_raise_value_errors_naming_the_valid_choices(name, hyper, match):
    with pytest.raises(ValueError, match=match):
        get_bound(name, **hyper)


@pytest.mark.parametrize("method", ["estimate", "loss"])
def test_bad_score_matrices_raise_clear_value_errors(method):
    for name, hyper in _all_bounds():
        call = getattr(get_bound(name, **hyper), method)
        with pytest.raises(ValueError, match="square"):
            call(torch.zeros(4, 5))
        with pytest.raises(ValueError, match="at least B = 2"):
            call(torch.zeros(1, 1))
        with pytest.raises(ValueError, match="torch.Tensor"):
            call(np.zeros((4, 4)))
    bad = torch.zeros(4, 4)
    bad[1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        get_bound("dv").estimate(bad)
    with pytest.raises(ValueError, match="unexpected input.*'log_baseline'"):
        get_bound("dv").estimate(torch.zeros(4, 4), log_baseline=torch.zeros(4))
    with pytest.raises(ValueError, match=r"log_baseline must have shape \(\.\.\., B\)"):
        get_bound("tuba").estimate(torch.zeros(4, 4), log_baseline=torch.zeros(3))


@pytest.mark.parametrize("name,params", [("hellinger", {}), ("js", {}), ("chi2", {}), ("tsallis", {"alpha": 3.0}),
                                         ("vlc", {}), ("reverse-chi2", {})])
def test_dro_dual_gradient_through_the_inner_minimum_matches_finite_differences(name, params):
    """Envelope theorem: evaluating at the detached β* gives the exact gradient of the min."""
    S = (get_divergence(name, **params).f_prime(oracle_log_ratios(2, 0.5, 6, 1).exp())
         + _random_scores(1, 6, 6, scale=0.1, seed=21)).requires_grad_(True)
    for per_anchor in (False, True):
        assert torch.autograd.gradcheck(lambda s: B.dro_dual(s, name, per_anchor=per_anchor, **params), (S,),
                                        eps=1e-6, atol=1e-6, rtol=1e-5)


def test_alpha_bound_and_fmicl_gradients_match_finite_differences():
    S = _random_scores(1, 6, 6, scale=2.0, seed=22).requires_grad_(True)
    q = _random_scores(1, 6, seed=23)
    assert torch.autograd.gradcheck(lambda s: B.interpolated(s, 0.5, q), (S,), eps=1e-6, atol=1e-6)
    S = S.detach().mul(0.5).requires_grad_(True)  # keeps e^{2S} (χ²) small enough for finite differences
    for name, params in PHI_NAMES:
        if name != "tv":
            assert torch.autograd.gradcheck(lambda s: B.fmicl(s, name, **params), (S,), eps=1e-6, atol=1e-6), name


@pytest.mark.parametrize("name", list_bounds())
def test_estimate_with_check_finite_false_gives_the_same_value_and_skips_only_the_finite_check(name):
    bound = get_bound(name)
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 16, 16, generator=g, dtype=torch.float64) + 2.0 * torch.eye(16, dtype=torch.float64)
    assert torch.equal(bound.estimate(s, check_finite=False), bound.estimate(s))
    bad = s.clone()
    bad[0, 1, 2] = math.nan
    with pytest.raises(ValueError, match="NaN/inf"):
        bound.estimate(bad)
    bound.estimate(bad, check_finite=False)             # no check, no host sync: the caller checks
    with pytest.raises(ValueError, match="square"):
        bound.estimate(s[..., :3], check_finite=False)  # shapes are still checked
