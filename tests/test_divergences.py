"""f-divergence generators: conjugates, derivatives and the log-space means the bounds use."""
from __future__ import annotations

import math

import pytest
import torch

from mi_estimators.divergences import get_divergence, list_divergences, masked_log_mean_exp, safe_exp

CASES = [("kl", {}), ("chi2", {}), ("hellinger", {}), ("js", {}), ("tsallis", {"alpha": 1.5}),
         ("tsallis", {"alpha": 0.3}), ("tsallis", {"alpha": 3.0}), ("tv", {}), ("vlc", {}), ("reverse-chi2", {})]
IDS = [n + "".join(f"-{v}" for v in p.values()) for n, p in CASES]
U = torch.logspace(-4, 4, 401, dtype=torch.float64)


def test_list_divergences_names_the_issue_contract():
    assert {"kl", "chi2", "hellinger", "js", "tsallis", "tv", "vlc"} <= set(list_divergences())


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_generator_is_convex_and_zero_at_one(name, params):
    div = get_divergence(name, **params)
    assert float(div.f(torch.tensor(1.0, dtype=torch.float64))) == pytest.approx(0.0, abs=1e-15)
    f = div.f(U)
    # convexity on the log grid: the chord slopes increase
    slopes = torch.diff(f) / torch.diff(U)
    assert bool((torch.diff(slopes) >= -1e-9 * (1 + slopes[1:].abs())).all())


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_conjugate_at_derivative_is_u_fprime_minus_f(name, params):
    """Fenchel–Young equality φ*(φ'(u)) = uφ'(u) − φ(u) (the table's last column)."""
    div = get_divergence(name, **params)
    u = U[(U - 1).abs() > 1e-3] if name == "tv" else U
    t = div.f_prime(u)
    assert torch.allclose(div.conj(t), u * t - div.f(u), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_conjugate_dominates_every_affine_minorant(name, params):
    """Fenchel–Young inequality φ*(t) ≥ tu − φ(u) for all u ≥ 0, on a grid of t in the domain."""
    div = get_divergence(name, **params)
    t_hi = div.t_max - 1e-3 if math.isfinite(div.t_max) else 5.0
    t = torch.linspace(-6.0, t_hi, 97, dtype=torch.float64)
    u = torch.cat([torch.zeros(1, dtype=torch.float64), U])
    gap = div.conj(t)[:, None] - (t[:, None] * u[None, :] - div.f(u)[None, :])
    assert float(gap.min()) >= -1e-9


@pytest.mark.parametrize("name,params", [c for c in CASES if c[0] != "tv"], ids=[i for i in IDS if i != "tv"])
def test_conj_grad_inverts_fprime_and_conj_hess_is_its_derivative(name, params):
    div = get_divergence(name, **params)
    u = U[(U > 1e-3) & (U < 1e3)]
    t = div.f_prime(u)
    assert torch.allclose(div.conj_grad(t), u, rtol=1e-8)
    u = u[(u > 1e-2) & (u < 1e2)]
    t = div.f_prime(u)
    h = 1e-7 * (1.0 + t.abs())
    numeric = (div.conj_grad(t + h) - div.conj_grad(t - h)) / (2 * h)
    assert torch.allclose(div.conj_hess(t), numeric, rtol=1e-5)


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_conjugate_is_infinite_outside_its_domain(name, params):
    div = get_divergence(name, **params)
    if math.isinf(div.t_max):
        assert bool(torch.isfinite(div.conj(torch.tensor([1e3], dtype=torch.float64))).all())
        return
    beyond = torch.tensor([div.t_max + 1e-6, div.t_max + 1.0, 1e4], dtype=torch.float64)
    assert bool(torch.isinf(div.conj(beyond)).all())
    assert not bool(div.in_domain(beyond).any())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_log_space_means_match_direct_means_and_stay_finite_at_1e4(name, params, dtype):
    div = get_divergence(name, **params)
    gen = torch.Generator().manual_seed(1)
    s = torch.randn(3, 50, generator=gen, dtype=torch.float64)
    u = s.exp()
    assert torch.allclose(div.mean_f_prime_exp(s), div.f_prime(u).mean(-1), rtol=1e-10, atol=1e-12)
    assert torch.allclose(div.mean_conj_f_prime_exp(s), (u * div.f_prime(u) - div.f(u)).mean(-1),
                          rtol=1e-10, atol=1e-12)
    extreme = torch.tensor([[-1e4, -30.0, 0.5, 30.0, 1e4]], dtype=dtype, requires_grad=True)
    value = div.mean_f_prime_exp(extreme) - div.mean_conj_f_prime_exp(extreme)
    (grad,) = torch.autograd.grad(value.sum(), extreme)
    assert bool(torch.isfinite(value).all()) and bool(torch.isfinite(grad).all())


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_mean_conj_extension_is_exact_inside_and_finite_beyond(name, params):
    div = get_divergence(name, **params)
    t = torch.linspace(-5.0, min(div.t_max - 0.05, 3.0), 40, dtype=torch.float64)
    assert torch.allclose(div.mean_conj(t, extend=True), div.conj(t).mean(), rtol=1e-12)
    far = torch.tensor([-1e4, 0.0, 1e4], dtype=torch.float64, requires_grad=True)
    value = div.mean_conj(far, extend=True)
    (grad,) = torch.autograd.grad(value, far)
    assert bool(torch.isfinite(value)) and bool(torch.isfinite(grad).all())
    assert float(grad[-1]) > 0  # the loss pushes an escaped score back down


def test_squared_hellinger_equals_tsallis_half_up_to_a_linear_term():
    sh, ts = get_divergence("hellinger"), get_divergence("tsallis", alpha=0.5)
    assert torch.allclose(sh.f(U) - ts.f(U), 1.0 - U, rtol=1e-10, atol=1e-10)


def test_safe_exp_is_exact_where_representable_and_finite_beyond():
    z = torch.tensor([-1e4, -5.0, 0.0, 60.0, 1e4], dtype=torch.float32, requires_grad=True)
    y = safe_exp(z)
    assert torch.allclose(y[:4], torch.exp(z[:4].detach()), rtol=1e-6)
    y.sum().backward()
    assert bool(torch.isfinite(y).all()) and bool(torch.isfinite(z.grad).all()) and float(z.grad[-1]) > 0


def test_masked_log_mean_exp_ignores_minus_inf_entries_without_nan_gradients():
    z = torch.tensor([0.0, -math.inf, math.log(3.0)], requires_grad=True)
    value = masked_log_mean_exp(z)
    value.backward()
    assert float(value.detach()) == pytest.approx(math.log(4.0 / 3.0))
    assert bool(torch.isfinite(z.grad).all())


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"name": "hellinger2"}, "unknown divergence 'hellinger2'.*did you mean 'hellinger'.*valid choices"),
        ({"name": "tsallis"}, "needs alpha"),
        ({"name": "tsallis", "alpha": 1}, "alpha must be > 0 and != 1"),
        ({"name": "tsallis", "alpha": -0.5}, "alpha must be > 0 and != 1"),
        ({"name": "tsallis", "alpha": float("nan")}, "finite number"),
        ({"name": "kl", "alpha": 2.0}, "only applies to divergence 'tsallis'"),
    ],
)
def test_bad_divergence_requests_raise_clear_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_divergence(**kwargs)
