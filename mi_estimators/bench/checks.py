"""Theory checks behind ``mi-bench validate``: the bounds and losses against known math.

:func:`validate_theory` runs each group and returns one record per check (value,
reference, tolerance, pass/fail): bounds never above their ceilings and tight at the
oracle critic, the DRO temperature as the KL ball's Lagrange multiplier, and DCL's
finite-N gap decaying like N^{-1/2}. Heavy modules are imported inside the checks.
"""
from __future__ import annotations

import math

__all__ = ["validate_theory"]

def _check(name: str, value: float, reference: float, tolerance: float, passed: bool, detail: str = "") -> dict:
    return dict(check=name, value=float(value), reference=float(reference), tolerance=float(tolerance),
                passed=bool(passed), detail=detail)


def _oracle_scores(task, batch: int, rng, shift: float = 0.0):
    """``S[i, j] = log r(x_i, y_j) + shift`` for one batch of the task (float64 torch)."""
    import torch

    x, y = task.sample(batch, seed=rng)
    s = task.log_ratio(x[:, None, :], y[None, :, :]) + shift
    return torch.as_tensor(s, dtype=torch.float64)


def _bound_checks(seed: int) -> list[dict]:
    """Ceilings and oracle tightness for the KL bounds of :mod:`mi_estimators.bounds`."""
    import numpy as np

    from mi_estimators import bounds as B
    from synthetic import CorrelatedGaussian

    checks = []
    rng = np.random.default_rng(seed)
    batch = 128
    # 1. Every bound with a ceiling (InfoNCE's log B, the alpha-bound's) stays below it,
    #    even at I >> log B (d = 10, rho = 0.9: I = 8.30 nats), at the oracle critic.
    high = CorrelatedGaussian(10, rho=0.9)
    batches = [_oracle_scores(high, batch, rng)[None] for _ in range(10)]
    for info in B.describe_bounds():
        ceiling = info.ceiling(batch)
        if ceiling is None:
            continue
        bound = B.get_bound(info.name)
        worst = max(float(bound.estimate(s).max()) for s in batches)
        checks.append(_check(f"{info.name} <= its ceiling (B={batch}, I={high.mi:.2f})", worst, ceiling, 0.0,
                             worst <= ceiling + 1e-9, "max over 10 oracle batches"))
    # 2. Oracle critics are tight (math_spec §7), d = 2, rho = 0.5, B = 256. NWJ at
    #    S = 1 + log r and JS (reported as NWJ(S + 1)) at S = log r are unbiased: mean within
    #    4 se of the truth. DV and InfoNCE take a log of a B-sample mean, biased by
    #    -Var_Q(r) / (2B) to first order (delta method; Var_Q(r) = e^{2I} - 1 for this
    #    Gaussian): allow 4 se + twice that, (e^{2I} - 1) / B.
    low = CorrelatedGaussian(2, rho=0.5)
    batch, reps = 256, 60
    gap = math.expm1(2 * low.mi) / batch
    for name, shift in (("nwj", 1.0), ("js", 0.0), ("dv", 0.0), ("infonce", 0.0)):
        bound = B.get_bound(name)
        est = np.array([float(bound.estimate(_oracle_scores(low, batch, rng, shift)[None]).reshape(-1)[0])
                        for _ in range(reps)])
        mean, se = est.mean(), est.std(ddof=1) / math.sqrt(reps)
        tol = 4 * se + (gap if name in ("infonce", "dv") else 0.0)
        checks.append(_check(f"{name} oracle critic tight (I={low.mi:.4f})", mean, low.mi, tol,
                             abs(mean - low.mi) <= tol, f"{reps} batches of {batch}; se {se:.4f}"))
    return checks


def _dro_checks(seed: int) -> list[dict]:
    """DRO: the temperature is the Lagrange multiplier of the KL ball (Wu et al., 2023)."""
    import numpy as np
    from scipy import optimize

    from mi_estimators.contrastive import dro

    checks = []
    f = np.random.default_rng(seed).standard_normal(256)
    for tau in (0.5, 1.0, 2.0):
        eta = dro.implied_radius(f, tau)
        # independent of dro's root solve: minimise the dual D(alpha) numerically (Brent in log alpha)
        res = optimize.minimize_scalar(lambda la: dro.kl_dro_dual(f, math.exp(la), eta),
                                       bounds=(math.log(tau) - 3, math.log(tau) + 3), method="bounded",
                                       options={"xatol": 1e-10})
        alpha = math.exp(res.x)
        checks.append(_check(f"DRO argmin_alpha dual = tau (tau={tau})", alpha, tau, 1e-4 * tau,
                             abs(alpha - tau) <= 1e-4 * tau, f"eta(tau) = {eta:.4f}; Brent on the dual"))
    return checks


def _dcl_checks(seed: int) -> list[dict]:
    r"""DCL's debiased negative term converges at rate N^{-1/2} (Chuang et al., 2020, Thm 3).

    Anchors with a fixed positive score s⁺ = −3 (so the loss is ≈ log Ng − s⁺ and its gap
    is the relative error of g), negatives drawn from τ⁺ N(1, .3²) + τ⁻ N(0, .3²), and
    M = N extra positives from N(1, .3²): the mean |L^{N,M} − L̃| over many anchors is
    fitted against N on a log–log scale; the slope must be −1/2 within 4 standard errors
    (bootstrap over anchors).
    """
    import numpy as np
    import torch

    from mi_estimators.contrastive.losses import dcl_loss

    rng = np.random.default_rng(seed)
    tau_plus, sd, s_pos = 0.2, 0.3, -3.0
    e_neg = math.exp(0.0 + sd**2 / 2)  # E_{p-} e^S for S ~ N(0, sd^2)
    sizes = [16, 64, 256, 1024]
    anchors = 2048
    gaps = []
    for n_neg in sizes:
        b = n_neg + 1
        errs = []
        for _ in range(max(1, anchors // b)):
            is_pos = rng.random((b, b)) < tau_plus
            scores = np.where(is_pos, 1.0, 0.0) + sd * rng.standard_normal((b, b))
            np.fill_diagonal(scores, s_pos)
            extra = 1.0 + sd * rng.standard_normal((b, n_neg))
            loss = dcl_loss(torch.as_tensor(scores), tau_plus=tau_plus, temperature=0.5,
                            positive_scores=torch.as_tensor(extra), reduction="none").numpy()
            ideal = np.logaddexp(0.0, math.log(n_neg * e_neg) - s_pos)
            errs.append(np.abs(loss - ideal))
        gaps.append(np.concatenate(errs))
    logn = np.log(sizes)

    def slope(samples):
        return np.polyfit(logn, np.log([g.mean() for g in samples]), 1)[0]

    est = slope(gaps)
    boot = [slope([g[rng.integers(0, len(g), len(g))] for g in gaps]) for _ in range(200)]
    se = float(np.std(boot, ddof=1))
    tol = 4 * se
    return [_check("DCL gap |L^{N,M} - L| ~ N^-1/2 (log-log slope)", est, -0.5, tol, abs(est + 0.5) <= tol,
                   f"N = {sizes}, {anchors} anchors each; bootstrap se {se:.3f}")]


def validate_theory(seed: int = 0, progress: bool = False) -> list[dict]:
    """Run the theory checks; return one dict per check (check, value, reference, tolerance, passed, detail).

    - bounds never above their ceilings (InfoNCE ≤ log B at I ≫ log B);
    - oracle critics tight (NWJ, DV, InfoNCE, JS at the optimal critic of math_spec §7);
    - DRO: the argmin of the KL-ball dual is the temperature (Wu et al., 2023);
    - DCL: the debiased loss's finite-N gap decays like N^{-1/2} (Chuang et al., 2020).
    """
    groups = [("bounds", _bound_checks), ("dro", _dro_checks), ("dcl", _dcl_checks)]
    checks = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(groups), unit="group", desc="validate", leave=False)
    for name, fn in groups:
        try:
            checks.extend(fn(seed))
        except ImportError as err:
            checks.append(_check(f"{name}: module missing", math.nan, math.nan, math.nan, False, str(err)))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return checks
