"""Contrastive losses: official-code references, exact reductions to InfoNCE, DCL's N^-1/2 gap,
finite gradients at extreme scores, clear errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mi_estimators.contrastive import losses as L

DT = torch.float64


def _embeddings(B=6, d=3, seed=0, dtype=DT):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, d, generator=g, dtype=dtype), torch.randn(B, d, generator=g, dtype=dtype)


# ----------------------------------------------------------------------------- slow references
def _cos(a, b):
    a = [float(x) for x in a]
    b = [float(x) for x in b]
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def _rows(z1, z2, views, labels=None):
    """(anchor, positive, [negatives]) per row, built the way the official code does."""
    B = z1.shape[0]
    if views == "pairs":
        out = []
        for i in range(B):
            negs = [z2[j] for j in range(B) if j != i and (labels is None or labels[j] != labels[i])]
            out.append((z1[i], z2[i], negs))
        return out
    allz = [z1[i] for i in range(B)] + [z2[i] for i in range(B)]
    lab = None if labels is None else list(labels) + list(labels)
    out = []
    for a in range(2 * B):
        partner = (a + B) % (2 * B)
        negs = [allz[k] for k in range(2 * B)
                if k not in (a, partner) and (lab is None or lab[k] != lab[a])]
        out.append((allz[a], allz[partner], negs))
    return out


def ref_infonce(z1, z2, t, views, labels=None):
    tot = []
    for anc, p, negs in _rows(z1, z2, views, labels):
        pos = math.exp(_cos(anc, p) / t)
        ng = sum(math.exp(_cos(anc, n) / t) for n in negs)
        tot.append(-math.log(pos / (pos + ng)))
    return sum(tot) / len(tot)


def ref_dcl(z1, z2, t, tau_plus, views, labels=None, extra_pos=None):
    tot = []
    for r, (anc, p, negs) in enumerate(_rows(z1, z2, views, labels)):
        N = len(negs)
        pos = math.exp(_cos(anc, p) / t)
        if extra_pos is None:
            pos_mean = pos
        else:
            vs = extra_pos[r % z1.shape[0]]
            pos_mean = sum(math.exp(_cos(anc, v) / t) for v in vs) / len(vs)
        ng = (sum(math.exp(_cos(anc, n) / t) for n in negs) - tau_plus * N * pos_mean) / (1 - tau_plus)
        ng = max(ng, N * math.exp(-1 / t))
        tot.append(-math.log(pos / (pos + ng)))
    return sum(tot) / len(tot)


def ref_hcl(z1, z2, t, tau_plus, beta, views):
    tot = []
    for anc, p, negs in _rows(z1, z2, views):
        N = len(negs)
        pos = math.exp(_cos(anc, p) / t)
        neg = [math.exp(_cos(anc, n) / t) for n in negs]
        imp = [math.exp(beta * math.log(x)) for x in neg]
        reweight = sum(i * x for i, x in zip(imp, neg)) / (sum(imp) / N)
        ng = max((reweight - tau_plus * N * pos) / (1 - tau_plus), N * math.exp(-1 / t))
        tot.append(-math.log(pos / (pos + ng)))
    return sum(tot) / len(tot)


def ref_adnce(z1, z2, t, mu, sigma, views):
    tot = []
    for anc, p, negs in _rows(z1, z2, views):
        pos = math.exp(_cos(anc, p) / t)
        neg = [math.exp(_cos(anc, n) / t) for n in negs]
        w = [1 / (sigma * math.sqrt(2 * math.pi)) * math.exp(-((math.log(x) * t - mu) ** 2) / (2 * sigma ** 2))
             for x in neg]
        wm = sum(w) / len(w)
        ng = sum(x * wi / wm for x, wi in zip(neg, w))
        tot.append(-math.log(pos / (pos + ng)))
    return sum(tot) / len(tot)


@pytest.mark.parametrize("views", ["pairs", "simclr"])
def test_infonce_matches_slow_row_loop_reference(views):
    z1, z2 = _embeddings(seed=1)
    got = L.InfoNCELoss(temperature=0.3, views=views)(z1, z2)
    assert got.item() == pytest.approx(ref_infonce(z1, z2, 0.3, views), rel=1e-12)


@pytest.mark.parametrize("views", ["pairs", "simclr"])
@pytest.mark.parametrize("tau_plus", [0.0, 0.1, 0.4])
def test_dcl_matches_official_formula_loop_including_clamp(views, tau_plus):
    z1, z2 = _embeddings(seed=2)
    z2 = z1 + 0.3 * z2  # strong positives so that the clamp is active for some rows at tau_plus=.4
    got = L.DCLLoss(temperature=0.5, tau_plus=tau_plus, views=views)(z1, z2)
    assert got.item() == pytest.approx(ref_dcl(z1, z2, 0.5, tau_plus, views), rel=1e-12)


def test_dcl_clamp_is_exercised_by_the_reference_case():
    z1, z2 = _embeddings(seed=2)
    z2 = z1 + 0.3 * z2
    S = L.pair_scores(z1, z2, temperature=0.5, views="simclr")
    mask = L.negative_mask(6, views="simclr")
    raw = (torch.logsumexp(S.masked_fill(~mask, -math.inf), -1).exp() - 0.4 * 10 * S.diagonal().exp()) / 0.6
    assert bool((raw < 10 * math.exp(-2.0)).any())  # some rows clamp, so the loop test covers both branches


@pytest.mark.parametrize("views", ["pairs", "simclr"])
def test_dcl_with_m_extra_positives_matches_reference(views):
    z1, z2 = _embeddings(seed=3)
    g = torch.Generator().manual_seed(33)
    extra = z1[:, None, :] + 0.5 * torch.randn(6, 4, 3, generator=g, dtype=DT)
    got = L.DCLLoss(temperature=0.5, tau_plus=0.2, views=views)(z1, z2, positives=extra)
    assert got.item() == pytest.approx(ref_dcl(z1, z2, 0.5, 0.2, views, extra_pos=extra), rel=1e-12)


@pytest.mark.parametrize("views", ["pairs", "simclr"])
def test_label_aware_negatives_exclude_same_class_candidates(views):
    z1, z2 = _embeddings(B=8, seed=4)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 3])
    got = L.InfoNCELoss(temperature=0.5, views=views)(z1, z2, labels=labels)
    assert got.item() == pytest.approx(ref_infonce(z1, z2, 0.5, views, labels.tolist()), rel=1e-12)
    got = L.DCLLoss(temperature=0.5, tau_plus=0.1, views=views)(z1, z2, labels=labels)
    assert got.item() == pytest.approx(ref_dcl(z1, z2, 0.5, 0.1, views, labels.tolist()), rel=1e-12)


@pytest.mark.parametrize("views", ["pairs", "simclr"])
@pytest.mark.parametrize("beta", [0.0, 1.0, 6.0])
def test_hcl_matches_official_formula_loop(views, beta):
    z1, z2 = _embeddings(seed=5)
    got = L.HCLLoss(temperature=0.5, tau_plus=0.1, beta=beta, views=views)(z1, z2)
    assert got.item() == pytest.approx(ref_hcl(z1, z2, 0.5, 0.1, beta, views), rel=1e-12)


@pytest.mark.parametrize("views", ["pairs", "simclr"])
@pytest.mark.parametrize("mu,sigma", [(0.1, 1.0), (0.7, 0.5), (-0.3, 0.2)])
def test_adnce_matches_official_formula_loop(views, mu, sigma):
    z1, z2 = _embeddings(seed=6)
    got = L.ADNCELoss(temperature=0.4, mu=mu, sigma=sigma, views=views)(z1, z2)
    assert got.item() == pytest.approx(ref_adnce(z1, z2, 0.4, mu, sigma, views), rel=1e-12)


# ----------------------------------------------------------------------------- exact reductions
@pytest.mark.parametrize("views", ["pairs", "simclr"])
def test_dcl_tau_plus_0_hcl_beta_0_and_adnce_sigma_inf_equal_infonce_exactly(views):
    z1, z2 = _embeddings(B=16, d=5, seed=7)
    t = 0.2
    ref = L.InfoNCELoss(t, views=views, reduction="none")(z1, z2)
    dcl = L.DCLLoss(t, tau_plus=0.0, views=views, reduction="none")(z1, z2)
    hcl = L.HCLLoss(t, tau_plus=0.0, beta=0.0, views=views, reduction="none")(z1, z2)
    adn = L.ADNCELoss(t, mu=0.3, sigma=math.inf, views=views, reduction="none")(z1, z2)
    assert torch.equal(dcl, ref) and torch.equal(hcl, ref) and torch.equal(adn, ref)


def test_adnce_converges_to_infonce_as_sigma_grows():
    z1, z2 = _embeddings(B=16, d=5, seed=8)
    ref = L.InfoNCELoss(0.5, views="simclr")(z1, z2).item()
    gaps = [abs(L.ADNCELoss(0.5, mu=0.1, sigma=s)(z1, z2).item() - ref) for s in (1.0, 10.0, 100.0, 1000.0)]
    assert all(b < a for a, b in zip(gaps, gaps[1:]))
    # weights are 1 + O(1/sigma^2): the gap shrinks by ~100x per decade of sigma
    assert gaps[-1] < 1e-4 * gaps[1] * 10


def test_hcl_beta_0_equals_dcl():
    z1, z2 = _embeddings(B=10, seed=9)
    a = L.HCLLoss(0.5, tau_plus=0.1, beta=0.0)(z1, z2)
    b = L.DCLLoss(0.5, tau_plus=0.1)(z1, z2)
    assert torch.equal(a, b)


def test_infonce_pairs_loss_is_log_b_minus_the_infonce_bound():
    # InfoNCE bound (math_spec §2): log B + mean_i [S_ii − logsumexp_j S_ij] (row sum includes j=i)
    g = torch.Generator().manual_seed(10)
    S = torch.randn(3, 12, 12, generator=g, dtype=DT) * 3
    bound = math.log(12) + (S.diagonal(dim1=-2, dim2=-1) - torch.logsumexp(S, -1)).mean(-1)
    loss = torch.stack([L.infonce_loss(s) for s in S])
    torch.testing.assert_close(loss, math.log(12) - bound, rtol=0, atol=1e-13)
    try:
        from mi_estimators import bounds
    except ImportError:  # bounds lands separately; the closed form above is the contract
        return
    torch.testing.assert_close(L.infonce_loss(S[0]), math.log(12) - bounds.infonce(S[0]), rtol=0, atol=1e-12)


def test_adnce_weights_carry_no_gradient():
    z1, z2 = _embeddings(B=8, seed=11)
    S = L.pair_scores(z1, z2, temperature=0.5).requires_grad_(True)
    L.adnce_loss(S, mu=0.2, sigma=0.5, temperature=0.5).backward()
    # same loss with the normalised weights frozen as constants
    with torch.no_grad():
        mask = ~torch.eye(8, dtype=torch.bool)
        w = torch.exp(-((0.5 * S - 0.2) ** 2) / (2 * 0.25)) * mask
        w = w / (w.sum(-1, keepdim=True) / 7)
    S2 = S.detach().clone().requires_grad_(True)
    pos = S2.diagonal()
    ng = (w * S2.exp()).sum(-1)
    (-(pos - torch.log(pos.exp() + ng))).mean().backward()
    torch.testing.assert_close(S.grad, S2.grad, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- extreme scores
def _extreme_pairs(dtype):
    """|cos| = 1 everywhere: positives identical, negatives identical or antipodal."""
    e = torch.zeros(8, 4, dtype=dtype)
    e[:, 0] = torch.tensor([1, -1, 1, -1, 1, 1, -1, 1], dtype=dtype)
    same = e.clone()
    flipped = e.clone()
    flipped[::2] *= -1  # half the positives antipodal
    return [(e.clone(), same), (e.clone(), flipped), (e.clone(), -e.clone())]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("make", [
    lambda: L.InfoNCELoss(0.05), lambda: L.InfoNCELoss(0.05, views="simclr"),
    lambda: L.DCLLoss(0.05, 0.1), lambda: L.DCLLoss(0.05, 0.4, views="pairs"),
    lambda: L.HCLLoss(0.05, 0.1, 1.0), lambda: L.HCLLoss(0.05, 0.1, 6.0),
    lambda: L.ADNCELoss(0.05, 0.1, 1.0), lambda: L.ADNCELoss(0.05, 2.0, 0.05),
])
def test_loss_and_gradient_are_finite_at_temperature_005_and_unit_cosine(dtype, make):
    loss_fn = make()
    for a, b in _extreme_pairs(dtype):
        z1 = (a + 0.0).requires_grad_(True)
        z2 = (b + 0.0).requires_grad_(True)
        loss = loss_fn(z1, z2)
        loss.backward()
        assert torch.isfinite(loss) and loss.dtype == dtype
        assert torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all()


@pytest.mark.parametrize("fn", [L.infonce_loss, L.dcl_loss, L.hcl_loss, L.adnce_loss])
def test_functional_forms_stay_finite_on_unbounded_scores(fn):
    # a critic is not a cosine: scores of +-400 would overflow a naked exp even in float64
    g = torch.Generator().manual_seed(12)
    S = (400 * torch.randn(5, 7, 7, generator=g, dtype=torch.float32)).requires_grad_(True)
    loss = fn(S)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(S.grad).all()


# ----------------------------------------------------------------------------- DCL theorem 3
def _latent_class_gap(N, M, rows, gen, tau_plus=0.25, mu_pos=0.5, mu_neg=0.0, s=0.25):
    """|L^{N,M} − L̃^N| per anchor in a latent-class model with known E_{p⁻} e^S.

    p = τ⁺p⁺ + τ⁻p⁻ (4 equiprobable classes, τ⁺ = 1/4). A same-class candidate scores
    N(mu_pos, s²), another class N(mu_neg, s²), so E_{p⁻} e^S = exp(mu_neg + s²/2) exactly
    and L̃^N = softplus(log(N E_{p⁻}e^S) − S⁺). Each row of a (B×B) matrix is an independent
    anchor: its diagonal is the positive, its N = B−1 off-diagonal entries the samples u ~ p.
    """
    B = N + 1
    reps = max(1, rows // B)
    same = torch.rand(reps, B, B, generator=gen, dtype=DT) < tau_plus
    S = torch.where(same, mu_pos + s * torch.randn(reps, B, B, generator=gen, dtype=DT),
                    mu_neg + s * torch.randn(reps, B, B, generator=gen, dtype=DT))
    pos = mu_pos + s * torch.randn(reps, B, generator=gen, dtype=DT)
    S.diagonal(dim1=-2, dim2=-1).copy_(pos)
    extra = mu_pos + s * torch.randn(reps, B, M, generator=gen, dtype=DT)
    loss = L.dcl_loss(S, tau_plus=tau_plus, temperature=0.25, positive_scores=extra, reduction="none")
    ideal = torch.nn.functional.softplus(math.log(N) + mu_neg + s * s / 2 - pos)
    gap = (loss - ideal).abs().flatten()
    return gap.mean().item(), gap.std().item() / math.sqrt(gap.numel())


@pytest.mark.slow
def test_dcl_gap_to_infinite_sample_loss_decays_like_inverse_sqrt_n_and_m():
    """Theorem 3 of Chuang et al.: |L̃^N − L^{N,M}| = O(N^-1/2 + M^-1/2); here N = M.

    E|gap| = a N^-1/2 (1 + b N^-1/2 + ...), so log E|gap| = c + k log N + d N^-1/2 is fitted
    by weighted least squares (weights from each point's standard error, delta method);
    k must equal −1/2 within 3 standard errors of the fit.
    """
    gen = torch.Generator().manual_seed(2020)
    Ns = np.array([32, 128, 512, 2048])
    res = [_latent_class_gap(int(n), int(n), 4096, gen) for n in Ns]
    y = np.log([m for m, _ in res])
    se = np.array([s / m for m, s in res])
    X = np.stack([np.ones(len(Ns)), np.log(Ns), Ns ** -0.5], 1)
    W = 1 / se ** 2
    cov = np.linalg.inv(X.T @ (W[:, None] * X))
    k = (cov @ X.T @ (W * y))[1]
    k_se = math.sqrt(cov[1, 1])
    assert abs(k + 0.5) < 3 * k_se, (k, k_se)
    assert k_se < 0.05  # the fit is informative: a non-decaying (k = 0) or 1/N (k = −1) gap fails
    # and the gap really shrinks: 64x more samples, ~8x smaller gap
    assert res[-1][0] < res[0][0] / 6


# ----------------------------------------------------------------------------- API & errors
def test_reduction_modes_and_leading_batch_dimensions():
    g = torch.Generator().manual_seed(13)
    S = torch.randn(4, 9, 9, generator=g, dtype=DT)
    per = L.dcl_loss(S, reduction="none")
    assert per.shape == (4, 9)
    torch.testing.assert_close(L.dcl_loss(S), per.mean())
    torch.testing.assert_close(L.dcl_loss(S, reduction="sum"), per.sum())
    torch.testing.assert_close(per[2], L.dcl_loss(S[2], reduction="none"))


def test_module_defaults_are_the_official_codes():
    assert (L.DCLLoss().temperature, L.DCLLoss().tau_plus, L.DCLLoss().views) == (0.5, 0.1, "simclr")
    h = L.HCLLoss()
    assert (h.temperature, h.tau_plus, h.beta, h.views) == (0.5, 0.1, 1.0, "simclr")
    a = L.ADNCELoss()
    assert (a.temperature, a.mu, a.sigma, a.views) == (0.5, 0.1, 1.0, "simclr")
    assert (L.InfoNCELoss().temperature, L.InfoNCELoss().views) == (0.1, "pairs")


def test_simclr_mask_leaves_2b_minus_2_negatives():
    m = L.negative_mask(5, views="simclr")
    assert m.shape == (10, 10) and (m.sum(-1) == 8).all() and not m.diagonal().any()


@pytest.mark.parametrize("call,match", [
    (lambda z: L.InfoNCELoss(views="simclr2"), "unknown views 'simclr2'.*did you mean 'simclr'"),
    (lambda z: L.DCLLoss(tau_plus=1.0), "tau_plus must lie in"),
    (lambda z: L.InfoNCELoss(temperature=0.0), "temperature must lie in"),
    (lambda z: L.HCLLoss(beta=-1), "beta must lie in"),
    (lambda z: L.ADNCELoss(sigma=0.0), "sigma must lie in"),
    (lambda z: L.InfoNCELoss(reduction="avg"), "unknown reduction"),
    (lambda z: L.InfoNCELoss()(z[0], z[1][:4]), "same shape"),
    (lambda z: L.InfoNCELoss()(z[0][:1], z[1][:1]), "at least B = 2"),
    (lambda z: L.InfoNCELoss()(z[0], z[1], labels=torch.zeros(6)), "no negatives"),
    (lambda z: L.DCLLoss()(z[0], z[1], labels=torch.zeros(3)), r"labels must have shape \(B,\)"),
    (lambda z: L.dcl_loss(torch.full((3, 3), math.nan)), "NaN"),
    (lambda z: L.dcl_loss(torch.zeros(3, 4)), "square"),
    (lambda z: L.infonce_loss(torch.zeros(3, 3), neg_mask=torch.ones(3, 3, dtype=torch.bool)), "diagonal"),
    (lambda z: L.dcl_loss(torch.zeros(3, 3), positive_scores=torch.zeros(4, 2)), "positive_scores"),
])
def test_bad_input_raises_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call(_embeddings())


# ----------------------------------------------------------------------------- f-MICL
def _gen(name):
    """(f, f') of the generators, plain python (math_spec §1)."""
    if name == "kl":
        return (lambda u: u * math.log(u)), (lambda u: 1 + math.log(u))
    if name == "chi2":
        return (lambda u: (u - 1) ** 2), (lambda u: 2 * (u - 1))
    if name == "hellinger":
        return (lambda u: (math.sqrt(u) - 1) ** 2), (lambda u: 1 - u ** -0.5)
    if name == "js":
        return ((lambda u: 0.5 * (u * math.log(u) - (1 + u) * math.log((1 + u) / 2))),
                (lambda u: 0.5 * math.log(2 * u / (1 + u))))
    if name == "vlc":
        return (lambda u: (u - 1) ** 2 / (u + 1)), (lambda u: 1 - 4 / (1 + u) ** 2)
    if name == "tsallis":
        a = 1.5
        return (lambda u: (u ** a - u) / (a - 1)), (lambda u: (a * u ** (a - 1) - 1) / (a - 1))
    raise AssertionError(name)


FMICL_DIVS = ["kl", "chi2", "hellinger", "js", "vlc", "tsallis"]


@pytest.mark.parametrize("divergence", FMICL_DIVS)
@pytest.mark.parametrize("views", ["pairs", "simclr"])
def test_fmicl_module_matches_slow_gaussian_kernel_reference(divergence, views):
    z1, z2 = _embeddings(B=5, d=3, seed=14)
    sigma, b = 0.7, 0.3
    alpha = 1.5 if divergence == "tsallis" else None
    loss = L.FMICLLoss(divergence, kernel_width=sigma, alpha=alpha, views=views, bias=b)
    f, fp = _gen(divergence)

    def rhat(u, v):  # Gaussian kernel on the sphere times e^b
        return math.exp(-(2 - 2 * _cos(u, v)) / (2 * sigma ** 2) + b)

    tot = []
    for anc, p, negs in _rows(z1, z2, views):
        neg = sum(rhat(anc, n) * fp(rhat(anc, n)) - f(rhat(anc, n)) for n in negs) / len(negs)
        tot.append(neg - fp(rhat(anc, p)))
    assert loss(z1, z2).item() == pytest.approx(sum(tot) / len(tot), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("divergence", FMICL_DIVS)
def test_fmicl_loss_is_minus_the_fmicl_bound(divergence):
    from mi_estimators import bounds

    g = torch.Generator().manual_seed(15)
    S = torch.randn(2, 10, 10, generator=g, dtype=DT)
    alpha = 1.5 if divergence == "tsallis" else None
    torch.testing.assert_close(L.fmicl_loss(S[0], divergence=divergence, alpha=alpha),
                               -bounds.fmicl(S[0], divergence, alpha=alpha), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("divergence,truth", [
    ("kl", -math.log(1 - 0.25)),  # d=2, rho=.5: -(d/2) log(1-rho^2) = .287682
    ("hellinger", 2 * (1 - ((1 - 0.25) ** 0.25 * (1 - 0.25 / 4) ** -0.5) ** 2)),  # .152479
])
def test_fmicl_loss_at_the_oracle_ratio_recovers_the_f_mutual_information(divergence, truth):
    # correlated Gaussian, d=2, rho=.5; r̂ = r (exact log-ratio, math_spec §6); 40 batches of 128
    rho, d, B, reps = 0.5, 2, 128, 40
    rng = np.random.default_rng(16)
    vals = []
    for _ in range(reps):
        x = rng.standard_normal((B, d))
        y = rho * x + math.sqrt(1 - rho ** 2) * rng.standard_normal((B, d))
        X, Y = x[:, None, :], y[None, :, :]
        log_r = (-(d / 2) * math.log(1 - rho ** 2)
                 - ((rho ** 2) * (X ** 2 + Y ** 2) - 2 * rho * X * Y).sum(-1) / (2 * (1 - rho ** 2)))
        vals.append(-L.fmicl_loss(torch.from_numpy(log_r), divergence=divergence).item())
    mean, se = float(np.mean(vals)), float(np.std(vals, ddof=1) / math.sqrt(reps))
    assert abs(mean - truth) < 3 * se + 1e-12, (mean, se, truth)


def test_fmicl_gradient_finite_at_extreme_scores_and_bias_learnable():
    loss = L.FMICLLoss("js", kernel_width=0.05 ** 0.5, learn_bias=True)
    for a, b in _extreme_pairs(torch.float32):
        z1, z2 = a.requires_grad_(True), b.requires_grad_(True)
        out = loss(z1, z2)
        out.backward()
        assert torch.isfinite(out) and torch.isfinite(z1.grad).all() and torch.isfinite(loss.bias.grad)


def test_fmicl_rejects_unknown_divergence_with_choices():
    with pytest.raises(ValueError, match="unknown divergence 'hellinger2'"):
        L.FMICLLoss("hellinger2")
    with pytest.raises(ValueError, match="tsallis"):
        L.FMICLLoss("tsallis")


def test_old_module_paths_still_expose_the_public_names():
    # mi_estimators.losses and mi_estimators.theory are compatibility modules for user code
    import mi_estimators.losses as old_losses
    import mi_estimators.theory as old_theory
    from mi_estimators.contrastive import dro

    for old, new in ((old_losses, L), (old_theory, dro)):
        assert old.__all__ == new.__all__
        for name in new.__all__:
            assert getattr(old, name) is getattr(new, name), name
