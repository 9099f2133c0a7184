r"""SimCLR-style contrastive learning on scikit-learn's digits: which contrastive loss wins?

A research experiment built on the package, not part of it. It trains a small CNN
encoder + projection head on the 1797 bundled 8×8 digit images (no download) with
SimCLR's recipe: two random augmentations of each image form a positive pair, the other
images of the batch are negatives. It compares five losses from
:mod:`mi_estimators.contrastive.losses`

- ``infonce``: InfoNCE / NT-Xent (Oord et al. 2018; Chen et al. 2020),
- ``dcl``: debiased contrastive loss (Chuang et al., NeurIPS 2020),
- ``hcl``: hard-negative contrastive loss (Robinson et al., ICLR 2021),
- ``adnce``: adjusted InfoNCE from the DRO view (Wu et al., NeurIPS 2023),
- ``fmicl``: f-MICL with the KL divergence and a Gaussian kernel (Lu et al., TMLR 2023),

by the test accuracy of a linear probe (standardised features, logistic regression) on
the frozen encoder, over several seeds, each with **standard** negatives (every other
image of the batch) and **label-aware** negatives (images of the same class removed
from the negatives: the "no sampling bias" oracle of the DCL paper). Two baselines say
what contrastive training buys: a probe on the raw pixels and a probe on the same
encoder at its random initialisation. Writes ``contrastive-digits.md`` (tables, verdict,
the command) and ``contrastive-digits.png`` into ``--out`` (default ``docs/experiments``).

Design: one job = (method, negatives, seed). Jobs are independent and run in a process
pool with one torch thread each. For a given seed every loss sees the same train/test
split, the same initial weights and the same stream of random augmentations (the
augmentation generator is consumed identically whatever the loss), so differences
between losses are *paired* and the report gives paired differences with their
standard error, not only per-loss spreads.

Run it from the project root (``--quick`` is the test's tiny configuration)::

    .venv/bin/python examples/contrastive_digits.py            # full run, < 10 min on 2 cores
    .venv/bin/python examples/contrastive_digits.py --quick --out /tmp/digits   # seconds

``tests/test_contrastive_digits.py`` loads this file by path and tests it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

LOSSES = ("infonce", "dcl", "hcl", "adnce", "fmicl")
NEGATIVES = ("standard", "label-aware")
BASELINES = ("raw-pixels", "random-init")

# Loss hyper-parameters and why: docs/experiments/contrastive-digits.md. One temperature
# for every loss, so the losses differ only in how they treat negatives.
LOSS_LABELS = {
    "infonce": "InfoNCE",
    "dcl": "DCL",
    "hcl": "HCL",
    "adnce": "ADNCE",
    "fmicl": "f-MICL (KL)",
}


@dataclass(frozen=True)
class DigitsConfig:
    """Every setting of one experiment run; a run is reproducible from it alone."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    losses: tuple[str, ...] = LOSSES
    negatives: tuple[str, ...] = NEGATIVES
    test_size: float = 0.3  # stratified train/test split, fixed by the seed
    n_train: int | None = None  # subsample the training split (quick mode)
    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-6
    feature_dim: int = 128  # encoder output = linear-probe features
    proj_dim: int = 64  # projection-head output = loss input
    width: int = 16  # channels of the first conv layer
    # augmentations
    max_rotation_deg: float = 15.0
    zoom: tuple[float, float] = (0.85, 1.2)  # >1 zooms in (a crop), <1 zooms out (padding)
    max_shift_px: float = 1.0
    noise_std: float = 0.05
    erase_prob: float = 0.5
    erase_size: tuple[int, int] = (2, 4)  # side of the erased rectangle, pixels, [lo, hi)
    # losses
    temperature: float = 0.5
    tau_plus: float = 0.1  # DCL and HCL class prior; digits has 10 balanced classes
    label_aware_tau_plus: float = 0.0  # negatives are true negatives: no class prior to correct
    hcl_beta: float = 1.0
    adnce_mu: float = 0.7  # ADNCE README CIFAR-10 setting
    adnce_sigma: float = 0.5
    fmicl_divergence: str = "kl"
    fmicl_kernel_width: float | None = None  # None: sqrt(temperature), see make_loss
    # probe
    probe_c: float = 1.0
    workers: int = 2


QUICK = DigitsConfig(
    seeds=(0,),
    n_train=160,
    epochs=2,
    batch_size=64,
    width=8,
    feature_dim=16,
    proj_dim=16,
    workers=1,
)


# --------------------------------------------------------------------------- data
def load_digits_split(seed: int, test_size: float = 0.3, n_train: int | None = None):
    """The digits images as float32 tensors (N, 1, 8, 8) in [0, 1] plus int64 labels.

    A stratified train/test split fixed by ``seed``; ``n_train`` keeps a stratified
    subset of the training split (quick mode). Returns ``x_train, y_train, x_test, y_test``.
    """
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None, :, :]
    y = data.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    if n_train is not None and n_train < len(y_tr):
        x_tr, _, y_tr, _ = train_test_split(
            x_tr, y_tr, train_size=n_train, random_state=seed, stratify=y_tr
        )
    return (torch.from_numpy(x_tr), torch.from_numpy(y_tr),
            torch.from_numpy(x_te), torch.from_numpy(y_te))


# ------------------------------------------------------------------ augmentations
def augment(x, generator, cfg: DigitsConfig = DigitsConfig()):
    """One random view of each image of ``x`` (N, C, H, W), vectorised over the batch.

    1. A random affine map in one ``grid_sample`` call: rotation in ±``max_rotation_deg``,
       zoom in ``zoom`` (zooming in is SimCLR's random crop, zooming out pads with zeros),
       translation in ±``max_shift_px`` pixels (a random shift with zero padding).
    2. Random erasing: with probability ``erase_prob`` a rectangle with sides in
       ``erase_size`` pixels is set to 0.
    3. Additive Gaussian noise with std ``noise_std``.

    All randomness comes from ``generator``, so a seed fixes the views exactly.
    """
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape

    def uniform(*shape, lo=0.0, hi=1.0):
        return lo + (hi - lo) * torch.rand(*shape, generator=generator)

    angle = uniform(n, lo=-1.0, hi=1.0) * math.radians(cfg.max_rotation_deg)
    zoom = uniform(n, lo=cfg.zoom[0], hi=cfg.zoom[1])
    # affine_grid maps output coordinates in [-1, 1] to input coordinates: one pixel is 2/size
    shift = uniform(n, 2, lo=-1.0, hi=1.0) * cfg.max_shift_px * torch.tensor([2.0 / w, 2.0 / h])
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    lo, hi = cfg.erase_size
    eh = torch.randint(lo, hi, (n,), generator=generator)
    ew = torch.randint(lo, hi, (n,), generator=generator)
    top = (uniform(n) * (h - eh + 1)).long()
    left = (uniform(n) * (w - ew + 1)).long()
    erase = uniform(n) < cfg.erase_prob
    rows = torch.arange(h)
    cols = torch.arange(w)
    in_rows = (rows >= top[:, None]) & (rows < (top + eh)[:, None])
    in_cols = (cols >= left[:, None]) & (cols < (left + ew)[:, None])
    mask = in_rows[:, :, None] & in_cols[:, None, :] & erase[:, None, None]
    out = out.masked_fill(mask[:, None, :, :], 0.0)

    return out + cfg.noise_std * torch.randn(out.shape, generator=generator)


# -------------------------------------------------------------------------- model
def build_model(cfg: DigitsConfig, seed: int):
    """Encoder (small CNN → ``feature_dim``) and projection head (MLP → ``proj_dim``).

    The encoder's output feeds the linear probe; the head's output feeds the loss, as in
    SimCLR (the probe on pre-head features is the better one, Chen et al. 2020 §4.2).
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    c = cfg.width
    encoder = nn.Sequential(
        nn.Conv2d(1, c, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),  # 8x8 -> 4x4
        nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(2 * c * 16, cfg.feature_dim), nn.ReLU(),
    )
    head = nn.Sequential(
        nn.Linear(cfg.feature_dim, cfg.feature_dim), nn.ReLU(),
        nn.Linear(cfg.feature_dim, cfg.proj_dim),
    )
    return encoder, head


def make_loss(name: str, cfg: DigitsConfig, negatives: str = "standard"):
    """The loss module from :mod:`mi_estimators.contrastive.losses` with this experiment's settings.

    Every loss uses SimCLR's 2B-view layout (``views="simclr"``: 2B−2 negatives per anchor)
    and the same temperature. With label-aware negatives the negatives are true negatives,
    so the class prior that DCL and HCL correct for is τ⁺ = 0 (``label_aware_tau_plus``):
    DCL then *is* InfoNCE with label-aware negatives, the oracle of the DCL paper.
    """
    from mi_estimators.contrastive import losses
    from mi_estimators._checks import check_choice

    check_choice("loss", name, LOSSES)
    check_choice("negatives", negatives, NEGATIVES)
    t = cfg.temperature
    tau_plus = cfg.tau_plus if negatives == "standard" else cfg.label_aware_tau_plus
    if name == "infonce":
        return losses.InfoNCELoss(temperature=t, views="simclr")
    if name == "dcl":
        return losses.DCLLoss(temperature=t, tau_plus=tau_plus, views="simclr")
    if name == "hcl":
        return losses.HCLLoss(temperature=t, tau_plus=tau_plus, beta=cfg.hcl_beta, views="simclr")
    if name == "adnce":
        return losses.ADNCELoss(temperature=t, mu=cfg.adnce_mu, sigma=cfg.adnce_sigma, views="simclr")
    width = math.sqrt(t) if cfg.fmicl_kernel_width is None else cfg.fmicl_kernel_width
    return losses.FMICLLoss(divergence=cfg.fmicl_divergence, kernel_width=width, views="simclr")


# ----------------------------------------------------------------------- training
def train_contrastive(x, y, method: str, negatives: str, seed: int, cfg: DigitsConfig):
    """Train encoder + head with ``method``; returns ``(encoder, per-epoch mean losses)``.

    ``negatives="label-aware"`` passes the batch labels to the loss, which then drops
    same-class samples from the negatives (the oracle without sampling bias).
    """
    import torch
    import torch.nn.functional as F

    from mi_estimators._checks import check_choice

    check_choice("negatives", negatives, NEGATIVES)
    encoder, head = build_model(cfg, seed)
    loss_fn = make_loss(method, cfg, negatives)
    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    history = []
    n = len(y)
    for _ in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        total, count = 0.0, 0
        for idx in perm.split(cfg.batch_size):
            if len(idx) < 2:
                continue
            xb = x[idx]
            views = augment(torch.cat([xb, xb]), gen, cfg)
            z = F.normalize(head(encoder(views)), dim=1)
            z1, z2 = z.split(len(idx))
            if negatives == "label-aware":
                loss = loss_fn(z1, z2, labels=y[idx])
            else:
                loss = loss_fn(z1, z2)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"{method} loss became {loss.item()} (seed {seed}, negatives {negatives})"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
        history.append(total / count)
    return encoder, history


def encode(encoder, x, batch: int = 1024) -> np.ndarray:
    import torch

    encoder.eval()
    with torch.no_grad():
        out = torch.cat([encoder(chunk) for chunk in x.split(batch)])
    encoder.train()
    return out.double().numpy()


def linear_probe(f_train, y_train, f_test, y_test, c: float = 1.0) -> float:
    """Test accuracy of a logistic regression on standardised frozen features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
    probe.fit(f_train, np.asarray(y_train))
    return float(probe.score(f_test, np.asarray(y_test)))


# ---------------------------------------------------------------------------- jobs
def run_job(job: dict, cfg: DigitsConfig) -> dict:
    """One (method, negatives, seed) cell → one tidy result row."""
    import torch

    wall0, cpu0 = time.perf_counter(), time.process_time()
    method, negatives, seed = job["method"], job["negatives"], job["seed"]
    x_tr, y_tr, x_te, y_te = load_digits_split(seed, cfg.test_size, cfg.n_train)
    history: list[float] = []
    if method == "raw-pixels":
        f_tr, f_te = x_tr.flatten(1).double().numpy(), x_te.flatten(1).double().numpy()
    elif method == "random-init":
        encoder, _ = build_model(cfg, seed)
        f_tr, f_te = encode(encoder, x_tr), encode(encoder, x_te)
    else:
        encoder, history = train_contrastive(x_tr, y_tr, method, negatives, seed, cfg)
        f_tr, f_te = encode(encoder, x_tr), encode(encoder, x_te)
    acc = linear_probe(f_tr, y_tr, f_te, y_te, cfg.probe_c)
    return {
        "method": method,
        "negatives": negatives,
        "seed": seed,
        "test_accuracy": acc,
        "n_train": int(len(y_tr)),
        "n_test": int(len(y_te)),
        "first_epoch_loss": history[0] if history else None,
        "final_loss": history[-1] if history else None,
        "wall_s": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
        "torch_threads": torch.get_num_threads(),
    }


def make_jobs(cfg: DigitsConfig) -> list[dict]:
    """Contrastive jobs first (longest), then the cheap baselines."""
    jobs = [
        {"method": m, "negatives": neg, "seed": s}
        for s in cfg.seeds for m in cfg.losses for neg in cfg.negatives
    ]
    jobs += [{"method": b, "negatives": "n/a", "seed": s} for s in cfg.seeds for b in BASELINES]
    return jobs


def _init_worker() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - sklearn depends on threadpoolctl
        pass


def _job_key(row: dict) -> tuple:
    return (row["method"], row["negatives"], int(row["seed"]))


def run_experiment(cfg: DigitsConfig, rows_path: Path | None = None, progress=print) -> list[dict]:
    """Run every job of ``cfg`` (``cfg.workers`` processes); return the result rows.

    With ``rows_path`` each finished row is appended there at once (JSON lines) and rows
    already in the file for the same config are reused, so an interrupted run resumes.
    """
    from mi_estimators._checks import check_choice

    for m in cfg.losses:
        check_choice("loss", m, LOSSES)
    for neg in cfg.negatives:
        check_choice("negatives", neg, NEGATIVES)
    if not cfg.seeds:
        raise ValueError("seeds must name at least one seed")
    if cfg.workers < 1:
        raise ValueError(f"workers must be >= 1, got {cfg.workers}")

    config = _config_dict(cfg)
    wanted = {_job_key(j) for j in make_jobs(cfg)}
    done: dict[tuple, dict] = {}
    if rows_path is not None and rows_path.exists():
        for line in rows_path.read_text().splitlines():
            row = json.loads(line)
            if "invocation" not in row and row.get("config") == config and _job_key(row) in wanted:
                done[_job_key(row)] = row
    jobs = [j for j in make_jobs(cfg) if _job_key(j) not in done]
    rows = list(done.values())
    total = len(rows) + len(jobs)
    if done:
        progress(f"resuming: {len(done)} rows reused from {rows_path}")

    def finish(row: dict) -> None:
        row["config"] = config
        rows.append(row)
        if rows_path is not None:
            rows_path.parent.mkdir(parents=True, exist_ok=True)
            with rows_path.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
        progress(
            f"[{len(rows)}/{total}] {row['method']:>11s} "
            f"{row['negatives']:>11s} seed {row['seed']}: accuracy {row['test_accuracy']:.4f} "
            f"({row['wall_s']:.1f} s)"
        )

    if cfg.workers == 1:
        _init_worker()
        for job in jobs:
            finish(run_job(job, cfg))
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(
            max_workers=cfg.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker
        ) as pool:
            futures = [pool.submit(run_job, job, cfg) for job in jobs]
            for fut in as_completed(futures):
                finish(fut.result())
    return rows


def _config_dict(cfg: DigitsConfig) -> dict:
    d = dataclasses.asdict(cfg)
    # a row depends on neither the number of processes nor the other seeds of the run
    d.pop("workers")
    d.pop("seeds")
    return json.loads(json.dumps(d))


# ------------------------------------------------------------------------- summary
def _accuracies(rows, method, negatives) -> dict[int, float]:
    return {
        int(r["seed"]): r["test_accuracy"]
        for r in rows
        if r["method"] == method and r["negatives"] == negatives
    }


def _mean_std(values) -> tuple[float, float]:
    v = np.asarray(list(values), dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan")


def paired_difference(a: dict[int, float], b: dict[int, float]) -> tuple[float, float, int]:
    """Mean and standard error of a − b over the seeds both have (paired design)."""
    seeds = sorted(set(a) & set(b))
    d = np.array([a[s] - b[s] for s in seeds])
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else float("nan")
    return float(d.mean()), se, len(d)


def summarise(rows: list[dict], cfg: DigitsConfig) -> dict:
    """Means, spreads and paired differences the report is written from."""
    cells = {}
    for m in cfg.losses:
        for neg in cfg.negatives:
            acc = _accuracies(rows, m, neg)
            if acc:
                cells[(m, neg)] = (*_mean_std(acc.values()), len(acc))
    baselines = {}
    for b in BASELINES:
        acc = _accuracies(rows, b, "n/a")
        if acc:
            baselines[b] = (*_mean_std(acc.values()), len(acc))
    return {"cells": cells, "baselines": baselines}


def _n_seeds(n: int) -> str:
    return f"{n} seed" + ("" if n == 1 else "s")


def _pct(mean, std) -> str:
    return f"{100 * mean:.2f}" + ("" if math.isnan(std) else f" ± {100 * std:.2f}")


def _pct_diff(mean, se) -> str:
    return f"{100 * mean:+.2f}" + ("" if math.isnan(se) else f" ± {100 * se:.2f}")


def paired_p_value(d: float, se: float, n: int) -> float:
    """Two-sided p-value of a paired t-test (n − 1 degrees of freedom) for mean difference ``d``."""
    from scipy import stats

    if n < 2 or math.isnan(se):
        return float("nan")
    if se == 0.0:
        return 1.0 if d == 0.0 else 0.0
    return float(2.0 * stats.t.sf(abs(d / se), n - 1))


def _pct_diff_p(a: dict[int, float], b: dict[int, float]) -> str:
    d, se, n = paired_difference(a, b)
    p = paired_p_value(d, se, n)
    return _pct_diff(d, se) + ("" if math.isnan(p) else f" (p = {p:.2g})")


def verdict(rows: list[dict], cfg: DigitsConfig, negatives: str) -> str:
    """One honest sentence: which loss has the best mean and whether its lead is within noise.

    The lead over the runner-up is tested with a paired t-test over seeds (n − 1 degrees
    of freedom; with 3 seeds a difference needs about 4.3 standard errors for p < 0.05).
    """
    means = {m: _mean_std(_accuracies(rows, m, negatives).values())[0]
             for m in cfg.losses if _accuracies(rows, m, negatives)}
    if len(means) < 2:
        return ""
    order = sorted(means, key=means.get, reverse=True)
    best, second = order[0], order[1]
    d, se, n = paired_difference(_accuracies(rows, best, negatives),
                                 _accuracies(rows, second, negatives))
    p = paired_p_value(d, se, n)
    lead = (f"With {negatives} negatives, {LOSS_LABELS[best]} has the best mean accuracy "
            f"({100 * means[best]:.2f} %), ahead of {LOSS_LABELS[second]} by "
            f"{_pct_diff(d, se)} points (mean ± standard error of the paired difference over {_n_seeds(n)}")
    if math.isnan(p):
        return lead + "): too few seeds to tell signal from noise."
    if p >= 0.05:
        return lead + f"; paired t-test p = {p:.2g}): **within noise** at the 5 % level."
    return lead + f"; paired t-test p = {p:.2g}): significant at the 5 % level on this benchmark."


def write_plot(rows: list[dict], cfg: DigitsConfig, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    colors = {"standard": "tab:blue", "label-aware": "tab:orange"}
    offsets = {"standard": -0.15, "label-aware": 0.15}
    for neg in cfg.negatives:
        for k, m in enumerate(cfg.losses):
            acc = _accuracies(rows, m, neg)
            if not acc:
                continue
            v = 100 * np.array(list(acc.values()))
            xpos = k + offsets.get(neg, 0.0)
            ax.scatter(np.full(len(v), xpos), v, s=12, alpha=0.45, color=colors.get(neg))
            mean, std = v.mean(), (v.std(ddof=1) if len(v) > 1 else 0.0)
            ax.errorbar(xpos, mean, yerr=std, fmt="o", color=colors.get(neg), capsize=4,
                        label=f"{neg} negatives" if k == 0 else None)
    styles = {"raw-pixels": ("k", "--", "raw pixels"), "random-init": ("gray", ":", "random-init encoder")}
    for b in BASELINES:
        acc = _accuracies(rows, b, "n/a")
        if acc:
            color, ls, label = styles[b]
            ax.axhline(100 * np.mean(list(acc.values())), color=color, ls=ls, lw=1,
                       label=f"{label} (mean)")
    ax.set_xticks(range(len(cfg.losses)), [LOSS_LABELS[m] for m in cfg.losses])
    ax.set_ylabel("linear-probe test accuracy (%)")
    ax.set_title(f"SimCLR on sklearn digits: {_n_seeds(len(cfg.seeds))}, mean ± std, dots = seeds")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


END_OF_GENERATED = "<!-- end of generated report: text below this line is hand-written and kept on re-runs -->"


def write_markdown(rows: list[dict], cfg: DigitsConfig, path: Path, *, command: str,
                   wall_s: float, cpu_s: float, plot_name: str) -> str:
    """The report: setup, result tables, paired differences, verdict, per-seed rows."""
    summary = summarise(rows, cfg)
    cells, baselines = summary["cells"], summary["baselines"]
    n_tr = rows[0]["n_train"] if rows else "?"
    n_te = rows[0]["n_test"] if rows else "?"
    lines = [
        "# Contrastive learning on sklearn digits: InfoNCE vs DCL vs HCL vs ADNCE vs f-MICL",
        "",
        "SimCLR-style training of a small CNN on scikit-learn's bundled 8×8 digits "
        f"({n_tr} train / {n_te} test images, stratified split fixed by the seed), scored by the "
        "test accuracy of a linear probe (standardised features, logistic regression "
        f"C = {cfg.probe_c}) on the frozen encoder. Accuracies are in percent; "
        f"mean ± standard deviation over {_n_seeds(len(cfg.seeds))} ({', '.join(map(str, cfg.seeds))}).",
        "",
        "Made by (from the repository root):",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Wall time {wall_s:.0f} s, CPU time {cpu_s:.0f} s ({cfg.workers} worker process(es), "
        f"1 torch thread each; {platform.machine()}, {os.cpu_count()} logical CPUs visible, "
        f"Python {platform.python_version()}, torch {_torch_version()}). CPU time is the sum of every job's "
        "own CPU time plus the main process; the workers' start-up (importing torch, a few seconds each) is "
        "not counted. Wall time depends on what else the machine runs; CPU time does not, much.",
        "",
        *(["**Smoke-test configuration** (subsampled data or < 10 epochs): it checks the plumbing; "
            "its accuracies say nothing about the losses.", ""]
          if cfg.n_train is not None or cfg.epochs < 10 else []),
        f"![linear-probe accuracy per loss]({plot_name})",
        "",
        "## Linear-probe test accuracy (%)",
        "",
        "| loss | " + " | ".join(f"{neg} negatives" for neg in cfg.negatives)
        + (" | label-aware − standard (paired, ± se, t-test p) |" if len(cfg.negatives) == 2 else " |"),
        "|---|" + "---|" * len(cfg.negatives) + ("---|" if len(cfg.negatives) == 2 else ""),
    ]
    for m in cfg.losses:
        row = f"| {LOSS_LABELS[m]} | "
        row += " | ".join(_pct(*cells[(m, neg)][:2]) if (m, neg) in cells else "—"
                          for neg in cfg.negatives)
        if len(cfg.negatives) == 2:
            row += " | " + _pct_diff_p(_accuracies(rows, m, "label-aware"), _accuracies(rows, m, "standard"))
        lines.append(row + " |")
    lines += ["", "Baselines (no contrastive training):", "", "| features | accuracy |", "|---|---|"]
    names = {"raw-pixels": "raw pixels (64-d)", "random-init": f"random-init encoder ({cfg.feature_dim}-d)"}
    for b, (mean, std, _) in baselines.items():
        lines.append(f"| {names[b]} | {_pct(mean, std)} |")

    if "infonce" in cfg.losses:
        lines += ["", "## Paired difference to InfoNCE (percentage points, mean ± standard error over seeds, paired t-test p)", "",
                  "| loss | " + " | ".join(f"{neg}" for neg in cfg.negatives) + " |",
                  "|---|" + "---|" * len(cfg.negatives)]
        for m in cfg.losses:
            if m == "infonce":
                continue
            parts = [_pct_diff_p(_accuracies(rows, m, neg), _accuracies(rows, "infonce", neg))
                     for neg in cfg.negatives]
            lines.append(f"| {LOSS_LABELS[m]} | " + " | ".join(parts) + " |")
        lines += ["", "Contrastive vs raw pixels (paired, percentage points):", ""]
        for neg in cfg.negatives:
            best = max(cfg.losses, key=lambda m: cells.get((m, neg), (-1,))[0])
            diff = _pct_diff_p(_accuracies(rows, best, neg), _accuracies(rows, "raw-pixels", "n/a"))
            lines.append(f"- best loss with {neg} negatives ({LOSS_LABELS[best]}) − raw pixels: {diff}")

    lines += ["", "## Verdict", ""]
    for neg in cfg.negatives:
        v = verdict(rows, cfg, neg)
        if v:
            lines.append(f"- {v}")
    lines += ["", "## Setup and choices", "", *_setup_text(cfg), "", "## Per-seed results", "",
              "| method | negatives | seed | accuracy (%) | final train loss | wall s | CPU s |",
              "|---|---|---|---|---|---|---|"]
    order = {m: k for k, m in enumerate([*cfg.losses, *BASELINES])}
    for r in sorted(rows, key=lambda r: (order.get(r["method"], 99), r["negatives"], r["seed"])):
        loss = "—" if r["final_loss"] is None else f"{r['final_loss']:.4f}"
        lines.append(f"| {r['method']} | {r['negatives']} | {r['seed']} | {100 * r['test_accuracy']:.2f} "
                     f"| {loss} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} |")
    lines += ["", END_OF_GENERATED]
    text = "\n".join(lines) + "\n"
    # hand-written notes below the marker in an existing report survive a re-run
    if path.exists():
        old = path.read_text()
        if END_OF_GENERATED in old:
            text += old.split(END_OF_GENERATED, 1)[1].lstrip("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def _torch_version() -> str:
    import torch

    return torch.__version__


def _setup_text(cfg: DigitsConfig) -> list[str]:
    return [
        f"- **Data**: `sklearn.datasets.load_digits` (1797 images, 10 balanced classes), pixels / 16 → [0, 1]; "
        f"stratified {int(100 * (1 - cfg.test_size))}/{int(100 * cfg.test_size)} train/test split with the run's seed. "
        "Contrastive training and the probe use only the training split; accuracy is on the test split.",
        f"- **Augmentations** (vectorised torch, one `grid_sample` per batch): random rotation ±{cfg.max_rotation_deg:g}°, "
        f"zoom {cfg.zoom[0]:g}–{cfg.zoom[1]:g} (zoom-in = random crop, zoom-out = zero padding), shift "
        f"±{cfg.max_shift_px:g} px; random erasing of a {cfg.erase_size[0]}–{cfg.erase_size[1] - 1} px rectangle with "
        f"probability {cfg.erase_prob:g}; Gaussian noise std {cfg.noise_std:g}. No flips (digits are not mirror-symmetric).",
        f"- **Model**: CNN conv3×3({cfg.width})–conv3×3({2 * cfg.width})–maxpool–conv3×3({2 * cfg.width})–"
        f"linear({cfg.feature_dim}) encoder (probe features), MLP projection head {cfg.feature_dim}→{cfg.feature_dim}→"
        f"{cfg.proj_dim}, L2-normalised outputs into the loss.",
        f"- **Training**: Adam lr {cfg.lr:g}, weight decay {cfg.weight_decay:g} (the DCL/ADNCE code defaults), batch "
        f"{cfg.batch_size} images (2×{cfg.batch_size} views), {cfg.epochs} epochs. For a given seed every loss starts "
        "from the same weights and sees the same augmentation stream, so loss differences are paired.",
        f"- **Losses** (all from `mi_estimators.contrastive.losses`, all in SimCLR's 2B-view layout `views=\"simclr\"`, i.e. "
        f"2×{cfg.batch_size}−2 negatives per anchor, and one temperature t = {cfg.temperature:g} for all so that they "
        "differ only in how they treat negatives; t = 0.5 is the DCL, HCL and ADNCE code default):",
        "  - InfoNCE (NT-Xent): `InfoNCELoss(temperature=t, views=\"simclr\")` (the class defaults, t = 0.1 and the "
        "B×B \"pairs\" layout, are CPC's MI-bound setting, not SimCLR's).",
        f"  - DCL: τ⁺ = {cfg.tau_plus:g}, the code default and the true class prior of digits (10 balanced classes).",
        f"  - HCL: τ⁺ = {cfg.tau_plus:g}, β = {cfg.hcl_beta:g} (code default and the README's best β).",
        f"  - ADNCE: μ = {cfg.adnce_mu:g}, σ = {cfg.adnce_sigma:g}, the ADNCE README's CIFAR-10 setting (the tuned image "
        "SimCLR setting; the argparse default μ = 0.1, σ = 1 makes the weights almost flat, i.e. nearly InfoNCE). "
        "We keep t = 0.5 rather than the README's 0.4 so that only the weighting differs from InfoNCE.",
        "  - f-MICL: KL divergence with the Gaussian kernel, S = −‖u−v‖²/(2σ²) on the unit sphere = (cos − 1)/σ², "
        + ("with σ = √t so that its scores equal the other losses' cos/t up to a constant (the class default σ = 1 "
           "would be a temperature of 1)" if cfg.fmicl_kernel_width is None else f"with σ = {cfg.fmicl_kernel_width:g}")
        + "; the official code was not found, so its defaults are unknown (math spec §3c). With KL this is Wang–Isola "
        "alignment plus a Gaussian-potential uniformity term without the log.",
        "- **Label-aware negatives**: the batch labels go to the loss, which removes same-class samples from each "
        "anchor's negatives: the \"no sampling bias\" oracle of the DCL paper (an upper reference, not a usable method, "
        f"since it needs labels). The negatives are then true negatives, so DCL and HCL use τ⁺ = {cfg.label_aware_tau_plus:g} "
        "(the class prior they correct for is gone): DCL with label-aware negatives is then the same objective as InfoNCE "
        "with label-aware negatives, and any gap between those two cells is run-to-run numerical noise (different float "
        "rounding → different trajectories), a free estimate of the noise floor.",
        "- **Baselines**: the same probe on raw pixels, and on the encoder at its random initialisation (same seed).",
    ]


# ---------------------------------------------------------------------------- CLI
def parse_args(argv: Sequence[str] | None):
    p = argparse.ArgumentParser(
        prog="contrastive_digits",
        description="SimCLR-style contrastive learning on sklearn digits: compare InfoNCE, DCL, HCL, "
        "ADNCE and f-MICL by linear-probe accuracy (standard vs label-aware negatives).",
    )
    p.add_argument("--quick", action="store_true", help="tiny data, few steps (the test's configuration)")
    p.add_argument("--seeds", type=int, nargs="+", help="seeds (default: 0 1 2 3 4; quick: 0)")
    p.add_argument("--losses", nargs="+", help=f"subset of {', '.join(LOSSES)}")
    p.add_argument("--negatives", nargs="+", help=f"subset of {', '.join(NEGATIVES)}")
    p.add_argument("--epochs", type=int, help="training epochs per run")
    p.add_argument("--workers", type=int, help="processes (default 2; quick 1)")
    p.add_argument("--out", type=Path, default=Path("docs/experiments"),
                   help="folder for contrastive-digits.md and .png (default docs/experiments)")
    p.add_argument("--rows", type=Path, default=None,
                   help="JSON-lines file: append each finished row, reuse rows found (resume)")
    return p.parse_args(argv)


def config_from_args(args) -> DigitsConfig:
    cfg = QUICK if args.quick else DigitsConfig()
    changes = {}
    if args.seeds:
        changes["seeds"] = tuple(args.seeds)
    if args.losses:
        changes["losses"] = tuple(args.losses)
    if args.negatives:
        changes["negatives"] = tuple(args.negatives)
    if args.epochs is not None:
        if args.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {args.epochs}")
        changes["epochs"] = args.epochs
    if args.workers is not None:
        changes["workers"] = args.workers
    return dataclasses.replace(cfg, **changes)


def _past_invocations(rows_path: Path | None, cfg: DigitsConfig) -> list[dict]:
    if rows_path is None or not rows_path.exists():
        return []
    config = _config_dict(cfg)
    records = [json.loads(line) for line in rows_path.read_text().splitlines()]
    return [r["invocation"] for r in records if "invocation" in r and r["invocation"]["config"] == config]


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Run the experiment and write ``contrastive-digits.md`` and ``.png`` into ``--out``.

    The report's wall time is that of this call plus, when ``--rows`` resumed earlier
    calls, the wall time those calls recorded (each call appends one ``invocation`` line
    to the rows file); its CPU time is the sum of every row's own CPU time plus the time
    the main processes spent writing reports.
    """
    args = parse_args(argv)
    cfg = config_from_args(args)
    past = _past_invocations(args.rows, cfg)
    wall0 = time.perf_counter()
    cpu0 = time.process_time()
    rows = run_experiment(cfg, args.rows)
    argv_list = list(sys.argv[1:] if argv is None else argv)
    if "--rows" in argv_list:  # resuming changes no number: leave the scratch file out of the command
        k = argv_list.index("--rows")
        del argv_list[k:k + 2]
    command = " ".join([".venv/bin/python examples/contrastive_digits.py", *argv_list])
    plot_name = "contrastive-digits.png"
    write_plot(rows, cfg, args.out / plot_name)
    wall_here = time.perf_counter() - wall0
    main_cpu_here = time.process_time() - cpu0
    wall_s = wall_here + sum(p["wall_s"] for p in past)
    cpu_s = main_cpu_here + sum(p["main_cpu_s"] for p in past) + sum(r["cpu_s"] for r in rows)
    write_markdown(rows, cfg, args.out / "contrastive-digits.md", command=command,
                   wall_s=wall_s, cpu_s=cpu_s, plot_name=plot_name)
    if args.rows is not None:
        with args.rows.open("a") as fh:
            fh.write(json.dumps({"invocation": {"config": _config_dict(cfg), "wall_s": wall_here,
                                                "main_cpu_s": main_cpu_here}}) + "\n")
    print(f"wrote {args.out / 'contrastive-digits.md'} and {args.out / plot_name} "
          f"(wall {wall_s:.0f} s, CPU {cpu_s:.0f} s)")
    return rows


if __name__ == "__main__":  # pragma: no cover
    main()
