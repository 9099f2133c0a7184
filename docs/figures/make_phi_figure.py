"""Trained φ-MI estimators against the true φ-MI (a few CPU-minutes).

    python docs/figures/make_phi_figure.py               # train, write the CSV and the plot
    python docs/figures/make_phi_figure.py --plot-only   # redraw the plot from the CSV

For squared Hellinger and Jensen–Shannon MI of correlated Gaussians (d = 5 + 5, KL-MI
0.5, 1, 2 nats; the φ-MI ground truth is exact, see docs/tasks.md), trains f-MICL,
f-GAN (raw critic, and with ``output="bounded"``) and DRO-dual with ``estimate_mi`` (3 critics at once, n = 4096, 400 steps, a
2×64 separable critic) and writes docs/figures/phi_trained.csv and phi_trained.png:
the mean of the 3 critics' held-out estimates ± their sd, against the truth; a run whose
training diverged (f-GAN's raw critic leaving the conjugate's domain gives −∞) is recorded as
NaN and left out of the plot. Seeded.
"""
from __future__ import annotations

import csv
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import synthetic  # noqa: E402
from mi_estimators import estimate_mi  # noqa: E402
from mi_estimators.training import TrainingDivergedError  # noqa: E402

OUT = Path(__file__).resolve().parent
DIVERGENCES = ("hellinger", "js")
# label -> (registry name, extra bound options)
ESTIMATORS = {"fmicl": ("fmicl", {}), "fgan": ("fgan", {}), "fgan-bounded": ("fgan", {"output": "bounded"}),
              "dro-dual": ("dro-dual", {})}
LEVELS = (0.5, 1.0, 2.0)
SETTINGS = dict(n_critics=3, steps=400, batch_size=128, hidden=(64, 64), embed_dim=16, seed=0)


def read_rows() -> list:
    with open(OUT / "phi_trained.csv", newline="") as fh:
        return [[r["divergence"], float(r["kl_mi"]), r["estimator"], float(r["truth"]), float(r["mean"]),
                 float(r["sd_critics"]), float(r["stderr"])] for r in csv.DictReader(fh)]


def main() -> int:
    if "--plot-only" in sys.argv[1:]:  # redraw docs/figures/phi_trained.png from the CSV
        plot(read_rows())
        return 0
    rows = []
    for mi in LEVELS:
        task = synthetic.CorrelatedGaussian(5, mi=mi)
        x, y = task.sample(4096, seed=0)
        for div in DIVERGENCES:
            truth = task.phi_mi(div)
            for name, (registry_name, extra) in ESTIMATORS.items():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        res = estimate_mi(x, y, estimator=registry_name, divergence=div, **extra, **SETTINGS)
                except TrainingDivergedError as err:  # f-GAN's raw critic can leave dom φ*: −inf
                    rows.append([div, mi, name, truth, float("nan"), float("nan"), float("nan")])
                    print(f"{div:9s} I_KL={mi:.1f} {name:9s} truth {truth:.4f}  DIVERGED: {str(err)[:90]}", flush=True)
                    continue
                per = np.asarray(res.per_critic, dtype=float)
                rows.append([div, mi, name, truth, float(per.mean()), float(per.std(ddof=1)), res.stderr])
                print(f"{div:9s} I_KL={mi:.1f} {name:9s} truth {truth:.4f}  estimate {per.mean():.4f} "
                      f"(sd over critics {per.std(ddof=1):.4f}, stderr {res.stderr:.4f})", flush=True)
    with open(OUT / "phi_trained.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["divergence", "kl_mi", "estimator", "truth", "mean", "sd_critics", "stderr"])
        for r in rows:
            w.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in r])
    plot(rows)
    return 0


def plot(rows: list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(DIVERGENCES), figsize=(9, 3.8))
    for ax, div in zip(axes, DIVERGENCES):
        pts = [r for r in rows if r[0] == div]
        truths = sorted({r[3] for r in pts})
        ax.plot([0, max(truths) * 1.1], [0, max(truths) * 1.1], color="black", ls="--", lw=1, label="truth")
        for k, name in enumerate(ESTIMATORS):
            sel = [r for r in pts if r[2] == name and np.isfinite(r[4])]
            if not sel:
                continue
            off = (k - 1.5) * 0.01 * max(truths)
            ax.errorbar([r[3] + off for r in sel], [r[4] for r in sel], yerr=[r[5] for r in sel],
                        marker="o", ls="none", capsize=3, label=name)
        unit = " (nats)" if div in ("kl", "js") else ""
        failed = sorted({r[2] for r in pts if not np.isfinite(r[4])})
        note = f"; {', '.join(failed)}: training diverged" if failed else ""
        ax.set(xlabel=f"true I_{div}{unit}", ylabel=f"estimate{unit}",
               title=f"{div}: mean ± sd of 3 critics{note}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "phi_trained.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
