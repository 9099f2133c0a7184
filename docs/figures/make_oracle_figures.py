"""Figures and tables of the bounds at the *oracle* critic (no training: seconds of CPU).

    python docs/figures/make_oracle_figures.py

At the oracle critic (the exact log density ratio of a correlated Gaussian, math_spec §7)
every difference between a bound and the truth is the bound's own batch bias or variance,
not an optimisation failure. Writes into docs/figures/:

* ``oracle_kl_bounds.png`` and ``oracle_kl_bounds.csv``: mean and standard deviation over
  batches (B = 128) of DV, NWJ (= JS's report NWJ(S + 1) at its own optimum), InfoNCE, SMILE(τ = 5) and
  per-anchor DV against the true MI, d = 10;
* ``infonce_ceiling.png`` and ``infonce_ceiling.csv``: InfoNCE at the oracle critic against
  the true MI for B = 16, 64, 256, 1024, with the ceilings log B;
* ``oracle_phi.csv``: f-MICL, DRO-dual and f-GAN at their oracle critics against the
  closed-form / quadrature φ-MI, d = 2, ρ = 0.5 (χ² and Tsallis-2 at ρ = 0.3, where their
  estimators have finite variance).

Seeded: the same run writes the same numbers.
"""
from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import synthetic  # noqa: E402
from mi_estimators import bounds  # noqa: E402

OUT = Path(__file__).resolve().parent
SEED = 0


def oracle_scores(task, batch: int, rng) -> torch.Tensor:
    x, y = task.sample(batch, seed=rng)
    return torch.as_tensor(task.log_ratio(x[:, None, :], y[None, :, :]), dtype=torch.float64)


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in r])


# ----------------------------------------------------------------------------- KL bounds
KL_BOUNDS = [  # label, bound name, hyper, shift of the oracle log r (math_spec §7)
    ("DV", "dv", {}, 0.0),
    # NWJ at S = 1 + log r is the same number as JS's report NWJ(S + 1) at S = log r
    ("NWJ (= JS report)", "nwj", {}, 1.0),
    ("InfoNCE", "infonce", {}, 0.0),
    ("SMILE tau=5", "smile", {"tau": 5.0}, 0.0),
    ("per-anchor DV", "dv-per-anchor", {}, 0.0),
]


def kl_bounds(levels=(0.5, 1, 2, 4, 6, 8, 10), dim=10, batch=128, reps=200):
    rng = np.random.default_rng(SEED)
    rows = []
    for mi in levels:
        task = synthetic.CorrelatedGaussian(dim, mi=mi)
        batches = torch.stack([oracle_scores(task, batch, rng) for _ in range(reps)])
        for label, name, hyper, shift in KL_BOUNDS:
            est = bounds.get_bound(name, **hyper).estimate(batches + shift).numpy()
            rows.append([label, float(mi), batch, reps, float(est.mean()), float(est.std(ddof=1)),
                         float(est.std(ddof=1) / math.sqrt(reps))])
    write_csv(OUT / "oracle_kl_bounds.csv", ["bound", "true_mi", "batch", "batches", "mean", "sd", "se_mean"], rows)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for label, *_ in KL_BOUNDS:
        pts = [r for r in rows if r[0] == label]
        t = [r[1] for r in pts]
        a.plot(t, [r[4] for r in pts], marker="o", label=label)
        b.plot(t, [r[5] for r in pts], marker="o", label=label)
    lim = max(levels)
    a.plot([0, lim], [0, lim], color="black", lw=1, ls="--", label="truth")
    a.axhline(math.log(batch), color="grey", lw=0.8, ls=":")
    a.text(0.2, math.log(batch) + 0.15, f"log B = {math.log(batch):.2f}", color="grey", fontsize=8)
    a.set(xlabel="true I(X; Y) (nats)", ylabel="mean estimate (nats)", ylim=(0, 14),
          title=f"Oracle critic, d = {dim}, B = {batch}: mean of {reps} batches")
    b.set(xlabel="true I(X; Y) (nats)", ylabel="sd over batches (nats)", yscale="log",
          title="Batch-to-batch standard deviation")
    a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "oracle_kl_bounds.png", dpi=110)
    plt.close(fig)
    return rows


# ----------------------------------------------------------------------------- InfoNCE ceiling
def infonce_ceiling(levels=(0.5, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12), dim=10, sizes=(16, 64, 256, 1024)):
    rng = np.random.default_rng(SEED + 1)
    rows = []
    for batch in sizes:
        reps = max(4, 4096 // batch)
        for mi in levels:
            task = synthetic.CorrelatedGaussian(dim, mi=mi)
            est = np.array([float(bounds.infonce(oracle_scores(task, batch, rng))) for _ in range(reps)])
            rows.append([batch, float(mi), reps, float(est.mean()), float(est.std(ddof=1) / math.sqrt(reps)),
                         math.log(batch)])
    write_csv(OUT / "infonce_ceiling.csv", ["batch", "true_mi", "batches", "mean", "se_mean", "log_batch"], rows)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for batch in sizes:
        pts = [r for r in rows if r[0] == batch]
        (line,) = ax.plot([r[1] for r in pts], [r[3] for r in pts], marker="o", label=f"B = {batch}")
        ax.axhline(math.log(batch), color=line.get_color(), lw=0.8, ls=":")
    ax.plot([0, max(levels)], [0, max(levels)], color="black", lw=1, ls="--", label="truth")
    ax.set(xlabel="true I(X; Y) (nats)", ylabel="InfoNCE at the oracle critic (nats)",
           title=f"InfoNCE saturates at log B (dotted), d = {dim}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "infonce_ceiling.png", dpi=110)
    plt.close(fig)
    return rows


# ----------------------------------------------------------------------------- φ-MI
PHI_CASES = [("kl", {}, 0.5), ("hellinger", {}, 0.5), ("js", {}, 0.5), ("tv", {}, 0.5), ("vlc", {}, 0.5),
             ("tsallis", {"alpha": 1.5}, 0.5), ("chi2", {}, 0.3), ("tsallis", {"alpha": 2.0}, 0.3)]


def phi_oracles(dim=2, batch=256, reps=40):
    from mi_estimators.divergences import get_divergence

    rng = np.random.default_rng(SEED + 2)
    rows = []
    for div, params, rho in PHI_CASES:
        task = synthetic.CorrelatedGaussian(dim, rho=rho)
        truth = task.phi_mi(div, **params)
        d = get_divergence(div, params.get("alpha"))
        log_r = torch.stack([oracle_scores(task, batch, rng) for _ in range(reps)])
        r = torch.exp(log_r)
        t_star = d.f_prime(r)  # the f-GAN optimum T = φ'(r)
        label = div + (f" (alpha={params['alpha']})" if params else "")
        for name, scores in (("fmicl", log_r), ("dro-dual", t_star + 2.0), ("fgan", t_star)):
            est = bounds.get_bound(name, divergence=div, alpha=params.get("alpha")).estimate(scores).numpy()
            rows.append([label, rho, name, float(truth), float(est.mean()), float(est.std(ddof=1) / math.sqrt(reps))])
    write_csv(OUT / "oracle_phi.csv", ["divergence", "rho", "estimator", "truth", "mean", "se_mean"], rows)
    return rows


def main() -> int:
    torch.manual_seed(SEED)
    for label, rows in (("KL bounds", kl_bounds()), ("InfoNCE ceiling", infonce_ceiling()), ("phi", phi_oracles())):
        print(f"== {label}")
        for r in rows:
            print("  " + "  ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
