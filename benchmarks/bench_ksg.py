"""Time the joint KSG estimator against an O(n²) brute force and sklearn's per-feature MI.

    python benchmarks/bench_ksg.py                 # n = 10,000; dims 1+1, 5+5, 10+10
    python benchmarks/bench_ksg.py --n 20000 --dims 5 --workers -1

Every method runs on the same correlated-Gaussian sample (X_k, Y_k correlated rho, so the
true MI is -(d/2) log(1 - rho²) nats). Times are seconds (wall-clock, or CPU time with
``--clock cpu``), the best of ``--repeats`` runs, measured in this run on this machine. The brute force is the same
KSG-1 estimate computed from chunked all-pairs max-norm distances; the script checks
that it agrees with the KD-tree version to 1e-12 nats. Not a test: timings depend on the
machine and its load.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import digamma

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mi_estimators.nonparametric import gaussian_mi, ksg_mi, sklearn_mi  # noqa: E402
from synthetic.gaussian import CorrelatedGaussian  # noqa: E402


def ksg_bruteforce(x: np.ndarray, y: np.ndarray, k: int = 3, chunk: int = 64) -> float:
    """KSG-1 from all n² max-norm distances, computed ``chunk`` rows at a time: O(n² d)."""
    n = x.shape[0]
    n_x = np.empty(n, dtype=np.int64)
    n_y = np.empty(n, dtype=np.int64)
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        dist_x = np.zeros((rows.stop - rows.start, n))
        dist_y = np.zeros_like(dist_x)
        for dist, a in ((dist_x, x), (dist_y, y)):
            for j in range(a.shape[1]):
                np.maximum(dist, np.abs(a[rows, j, None] - a[None, :, j]), out=dist)
        dist_z = np.maximum(dist_x, dist_y)
        eps = np.partition(dist_z, k, axis=1)[:, k]  # index 0 is the point itself (distance 0)
        n_x[rows] = (dist_x < eps[:, None]).sum(axis=1) - 1
        n_y[rows] = (dist_y < eps[:, None]).sum(axis=1) - 1
    return float(digamma(k) + digamma(n) - np.mean(digamma(n_x + 1) + digamma(n_y + 1)))


CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def best_time(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = _clock()
        out = fn()
        best = min(best, _clock() - t0)
    return best, out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="samples (default 10000)")
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 5, 10], help="d = dim_x = dim_y")
    parser.add_argument("--rho", type=float, default=0.5, help="per-coordinate correlation")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="threads for the KD-tree queries")
    parser.add_argument(
        "--clock", choices=sorted(CLOCK), default="wall",
        help="wall-clock, or CPU time of this process (steadier on a loaded machine; "
        "sums over threads, so use it with --workers 1)",
    )
    parser.add_argument("--no-brute", action="store_true", help="skip the O(n²) brute force")
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCK[args.clock]

    print(
        f"KSG benchmark: n = {args.n}, k = {args.k}, rho = {args.rho}, workers = {args.workers}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"MI in nats, {args.clock} time in seconds (best of {args.repeats})"
    )
    header = (
        f"{'dims':>7} {'truth':>7} | {'ksg':>7} {'t_ksg':>7} | {'ksg+se':>7} | "
        f"{'brute':>7} {'t_brute':>8} {'x':>6} | {'skl-sum':>7} {'t_skl':>7} {'x':>6} | {'cca':>7} {'t_cca':>6}"
    )
    # warm-up: import sklearn's trees and scipy's digamma outside the timed region
    ksg_mi(*CorrelatedGaussian(1, rho=0.5).sample(100, seed=0), stderr="pointwise")
    sklearn_mi(*CorrelatedGaussian(1, rho=0.5).sample(100, seed=0), n_blocks=0)
    print(header)
    print("-" * len(header))
    for d in args.dims:
        task = CorrelatedGaussian(d, rho=args.rho)
        x, y = task.sample(args.n, seed=0)
        t_ksg, mi_ksg = best_time(
            lambda: ksg_mi(x, y, k=args.k, stderr="pointwise", workers=args.workers), args.repeats
        )
        t_full, _ = best_time(lambda: ksg_mi(x, y, k=args.k, workers=args.workers), args.repeats)
        if args.no_brute:
            t_brute, brute_col = float("nan"), f"{'-':>7} {'-':>8} {'-':>6}"
        else:
            # same data for both: no standardising, no noise (continuous data, no ties)
            t_brute, mi_brute = best_time(lambda: ksg_bruteforce(x, y, args.k), 1)
            mi_raw = ksg_mi(x, y, k=args.k, standardize=False, noise=0.0, stderr="pointwise")
            if abs(mi_brute - mi_raw) > 1e-12:
                raise SystemExit(f"brute force {mi_brute!r} != KD-tree {mi_raw!r} at d = {d}")
            brute_col = f"{mi_brute:7.4f} {t_brute:8.2f} {t_brute / t_ksg:6.1f}"
        t_skl, mi_skl = best_time(lambda: sklearn_mi(x, y, k=args.k, n_blocks=0), args.repeats)
        t_cca, mi_cca = best_time(lambda: gaussian_mi(x, y), args.repeats)
        print(
            f"{d:>3}+{d:<3} {task.mi:7.4f} | {mi_ksg:7.4f} {t_ksg:7.2f} | {t_full:7.2f} | {brute_col} | "
            f"{mi_skl:7.4f} {t_skl:7.2f} {t_skl / t_ksg:6.1f} | {mi_cca:7.4f} {t_cca:6.3f}"
        )
    print(
        "columns: ksg = joint KSG-1 on KD-trees (estimate only); ksg+se = with the default block "
        "stderr; brute = same estimate from all n² distances (x = its time / t_ksg); skl-sum = "
        "sum of sklearn per-feature MI (NOT the joint MI; x = its time / t_ksg); cca = Gaussian MI."
    )


if __name__ == "__main__":
    main()
