"""Tasks and ground truths of the φ-MI benchmarks (phi_analysis.py, phi_accuracy.py).

Gaussians: ``task.phi_mi(divergence)`` (closed forms / quadrature). Mixtures (Gaussian
mixtures with exact log densities, :mod:`synthetic.mixtures`): a Monte Carlo truth
``I_φ = E_{p(x)p(y)} φ(r)`` over ``n`` product pairs (x from one joint draw, y from an
independent one), with its standard error, cached in ``docs/accuracy/phi_truth.json``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TRUTH_CACHE = REPO / "docs" / "accuracy" / "phi_truth.json"
MC_N = 400_000
MC_SEED = 20231

#: Tsallis is run at α = 0.5 (finite estimator variance for every ρ; α ≥ 2 behaves like χ²).
PARAMS = {"tsallis": {"alpha": 0.5}}
DIVERGENCES = ("kl", "hellinger", "js", "tv", "vlc", "chi2", "tsallis")


def get(name: str):
    from synthetic.registry import get_task

    return get_task(name)


def _phi_mc(task, divergence: str, n: int = MC_N, seed: int = MC_SEED):
    import torch

    from mi_estimators.divergences import get_divergence

    div = get_divergence(divergence, **PARAMS.get(divergence, {}))
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n // 50_000):
        xa, _ = task.sample(50_000, rng)
        _, yb = task.sample(50_000, rng)
        lr = torch.as_tensor(task.log_ratio(xa, yb), dtype=torch.float64)
        vals.append(div.f(torch.exp(lr)).numpy())
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))


def truth(name: str, divergence: str) -> tuple[float, float]:
    """(value, standard error) of the φ-MI of task ``name``: exact (se 0) for Gaussians."""
    task = get(name)
    try:
        return float(task.phi_mi(divergence, **PARAMS.get(divergence, {}))), 0.0
    except NotImplementedError:
        pass
    cache = json.loads(TRUTH_CACHE.read_text()) if TRUTH_CACHE.exists() else {}
    key = f"{name}|{divergence}|{MC_N}|{MC_SEED}"
    if divergence == "kl":
        cache.setdefault(key, [float(task.mi), float(task.mi_stderr)])
    if key not in cache:
        cache[key] = list(_phi_mc(task, divergence))
        TRUTH_CACHE.parent.mkdir(parents=True, exist_ok=True)
        TRUTH_CACHE.write_text(json.dumps(cache, indent=1, sort_keys=True))
    return tuple(cache[key])


#: Twin tasks: (a, b) that differ in one nearby parameter; the one with the smaller
#: sha256("issue22:" + name) goes to the choose half, the other to the report half.
TWINS = (
    [(f"gaussian:dim={d},mi=1", f"gaussian:dim={d},mi=1.2") for d in (2, 5, 10, 20)]
    + [(f"gaussian:dim={d},mi=0.5", f"gaussian:dim={d},mi=0.6") for d in (2, 10)]
    + [("mult-sparse-w-inliers-5-5-2-2.0-0.2", "mult-sparse-w-inliers-5-5-2-2.0-0.3"),
       ("1v1-AI", "1v1-X-0.9"),
       ("3v1-concentric_gaussians-5", "5v1-concentric_gaussians-10")]
)


def _first(a: str, b: str) -> bool:
    key = lambda s: hashlib.sha256(("issue22:" + s).encode()).hexdigest()  # noqa: E731
    return key(a) < key(b)


def halves() -> tuple[list[str], list[str]]:
    choose = [a if _first(a, b) else b for a, b in TWINS]
    report = [b if _first(a, b) else a for a, b in TWINS]
    return choose, report


#: Seeds of each half (data and critic seed).
CHOOSE_SEEDS = (100, 101)
REPORT_SEEDS = (0, 1, 2, 3, 4)
