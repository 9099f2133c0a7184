"""How cost grows with n and d (issue 20): wall time and peak memory of four paths, one
subprocess per point, results appended to a JSON-lines file as they finish (a rerun resumes).

    python benchmarks/scaling.py                                   # the full grid, 300 s cap per point
    python benchmarks/scaling.py --paths default ksg --sizes 1000 10000 --dims 2 10
    python benchmarks/scaling.py --report                          # table + slopes + plot from the file

Paths (``estimate_mi`` with its defaults unless stated):

- ``default``: ``estimate_mi(x, y)`` (auto: the copula test, then KSG at d <= 3 or InfoNCE);
- ``ksg``: ``estimate_mi(x, y, "ksg")`` (k = 3, block standard error);
- ``gaussian-copula``: ``estimate_mi(x, y, "gaussian-copula")``;
- ``infonce``: ``estimate_mi(x, y, "infonce")`` (one separable critic, 2000 steps at most).

Data: ``synthetic.CorrelatedGaussian(d_x, mi=1)`` with d_x = ceil(d/2), d_y = floor(d/2) (for odd
d, y keeps the first d_y of its d_x columns; truth = d_y / d_x nats), drawn in the worker before
the clock starts. A point is one fresh interpreter that draws the data, warms up
(the same call on max(300, d + 100) rows, 5 training steps, so imports are not timed), runs the estimate once and
reports its wall time (``time.perf_counter`` around the call), the estimate,
and its own peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, data included;
the parent's ``RUSAGE_CHILDREN`` holds the maximum over all children, so each child reports its
own). BLAS, OpenMP and torch use ``--threads`` threads (default 1: the machine is shared).

A point that runs past ``--cap`` seconds is killed and recorded as ``timeout``; the larger n of
the same path and d are then recorded as ``skipped`` (say so in the table) instead of run. A point
whose data alone would pass ``--max-data-gib`` is skipped too. Every record holds the git commit
and the load average before and after it, so timings taken on a busy machine can be told apart.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "performance" / "scaling.jsonl"
PATHS = ("default", "ksg", "gaussian-copula", "infonce")
SIZES = (1_000, 10_000, 100_000, 1_000_000)
DIMS = (2, 10, 50, 500)
KSG_MAX_D = 50   # the issue: d = 500 for the non-KSG paths only

_WORKER = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
path, n, d, threads = {path!r}, {n}, {d}, {threads}
try:
    import torch
except ImportError:
    torch = None
if torch is not None and path in ("default", "infonce"):
    torch.set_num_threads(threads)
import numpy as np
from synthetic.gaussian import CorrelatedGaussian
from mi_estimators import estimate_mi
dx, dy = (d + 1) // 2, d // 2   # odd d: y drops the last of dx correlated columns
task = CorrelatedGaussian(dx, mi=1.0)
x, y = task.sample(n, seed=0)
y = y[:, :dy]
truth = task.mi * dy / dx
args = {{"default": (), "ksg": ("ksg",), "gaussian-copula": ("gaussian-copula",), "infonce": ("infonce",)}}[path]
import warnings
warnings.simplefilter("ignore")
# warm-up on 300 rows of the same shape (imports and lazy set-up are paid here, not timed)
fast = dict(steps=5) if path in ("default", "infonce") else {{}}
w = min(n, max(300, d + 100))   # the Gaussian paths need n > d
estimate_mi(x[:w], y[:w], *args, **fast)
t0 = time.perf_counter()
res = estimate_mi(x, y, *args)
seconds = time.perf_counter() - t0
auto = (res.details or {{}}).get("auto", {{}})
out = dict(seconds=seconds, mi=float(res.mi), truth=float(truth), maxrss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           method=auto.get("method"), reported=auto.get("reported"),
           copula_rows=[auto.get("components", {{}}).get("copula_test", {{}}).get(k) for k in ("skew_rows", "regression_rows")])
print("RESULT " + json.dumps(out))
"""


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def run_point(path: str, n: int, d: int, cap: float, threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    code = _WORKER.format(root=str(ROOT), path=path, n=n, d=d, threads=threads)
    rec = dict(path=path, n=n, d=d, threads=threads, commit=_commit(), load_before=_load(),
               started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=cap, env=env)
    except subprocess.TimeoutExpired:
        rec.update(status="timeout", process_seconds=round(time.perf_counter() - t0, 2), load_after=_load())
        return rec
    rec["process_seconds"] = round(time.perf_counter() - t0, 3)
    rec["load_after"] = _load()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        rec.update(status="error", error=(proc.stderr or proc.stdout)[-600:])
        return rec
    rec.update(status="ok", **json.loads(lines[-1][len("RESULT "):]))
    return rec


def load_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def run_grid(args) -> None:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["path"], r["n"], r["d"]) for r in load_records(out)   # errors are run again
            if r.get("tag", "") == args.tag and r["status"] != "error"}
    for path in args.paths:
        for d in args.dims:
            if path == "ksg" and d > KSG_MAX_D:
                continue
            blocked = None
            for n in sorted(args.sizes):
                key = (path, n, d)
                previous = [r for r in load_records(out) if (r["path"], r["n"], r["d"]) == key
                            and r.get("tag", "") == args.tag]
                if previous and previous[-1]["status"] in ("timeout", "skipped"):
                    blocked = blocked or f"n = {n} {previous[-1]['status']}"
                if key in done:
                    continue
                data_gib = 8.0 * n * d / 2 ** 30
                if blocked:
                    rec = dict(path=path, n=n, d=d, status="skipped", reason=f"a smaller n ({blocked}) passed the cap")
                elif data_gib > args.max_data_gib:
                    rec = dict(path=path, n=n, d=d, status="skipped",
                               reason=f"the data alone are {data_gib:.1f} GiB > --max-data-gib {args.max_data_gib}")
                else:
                    rec = run_point(path, n, d, args.cap, args.threads)
                    if rec["status"] == "timeout":
                        blocked = f"n = {n} ran past the {args.cap:g} s cap"
                rec["tag"] = args.tag
                rec["cap"] = args.cap
                with out.open("a") as fh:
                    fh.write(json.dumps(rec) + "\n")
                shown = f"{rec.get('seconds', float('nan')):8.2f} s {rec.get('maxrss_kib', 0) / 2**20:6.2f} GiB" \
                    if rec["status"] == "ok" else rec.get("reason", rec.get("error", ""))[-200:]
                print(f"{path:16s} d = {d:4d} n = {n:8d} {rec['status']:8s} {shown}  "
                      f"(load {rec.get('load_before', '-')} -> {rec.get('load_after', '-')})", flush=True)


def fit_slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(seconds) on log(n) over points with t >= 0.05 s (start-up noise below)."""
    pts = [(math.log(n), math.log(t)) for n, t in points if t >= 0.05]
    if len(pts) < 2:
        return float("nan")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx else float("nan")


def report(args) -> None:
    recs = [r for r in load_records(Path(args.out)) if r.get("tag", "") == args.tag]
    latest = {}
    for r in recs:
        latest[r["path"], r["n"], r["d"]] = r
    sizes = sorted({k[1] for k in latest})
    print(f"| path | d | " + " | ".join(f"n = {n:.0e}".replace("e+0", "e") for n in sizes) + " | slope |")
    print("|---|---|" + "---|" * len(sizes) + "---|")
    slopes = {}
    for path in PATHS:
        for d in sorted({k[2] for k in latest if k[0] == path}):
            cells, pts = [], []
            for n in sizes:
                r = latest.get((path, n, d))
                if r is None:
                    cells.append("")
                elif r["status"] == "ok":
                    cells.append(f"{r['seconds']:.2f} s, {r['maxrss_kib'] / 2**20:.2f} GiB")
                    pts.append((n, r["seconds"]))
                elif r["status"] == "timeout":
                    cells.append(f"> {r.get('cap', args.cap):g} s")
                else:
                    cells.append(r["status"])
            slopes[path, d] = s = fit_slope(pts)
            print(f"| {path} | {d} | " + " | ".join(cells) + f" | {s:.2f} |")
    loads = [r[k] for r in recs for k in ("load_before", "load_after") if k in r]
    if loads:
        print(f"\nload average over the run: {min(loads)} to {max(loads)}; commits {sorted({r.get('commit') for r in recs if 'commit' in r})}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        dims = sorted({k[2] for k in latest})
        fig, axes = plt.subplots(1, len(dims), figsize=(4 * len(dims), 3.6), sharey=True, squeeze=False)
        for ax, d in zip(axes[0], dims):
            for path in PATHS:
                pts = [(n, latest[path, n, d]["seconds"]) for n in sizes
                       if (path, n, d) in latest and latest[path, n, d]["status"] == "ok"]
                if pts:
                    slope = slopes[path, d]
                    ax.loglog(*zip(*pts), "o-", color=f"C{PATHS.index(path)}",   # one colour per path in every panel
                              label=f"{path} (slope {slope:.2f})" if math.isfinite(slope) else f"{path} (slope: too few points >= 0.05 s)")
            ax.set_title(f"d = d_x + d_y = {d}")
            ax.set_xlabel("n")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        axes[0][0].set_ylabel("wall seconds (one estimate)")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f"plot: {args.plot}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    p.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    p.add_argument("--dims", nargs="+", type=int, default=list(DIMS), help="d = d_x + d_y")
    p.add_argument("--cap", type=float, default=300.0, help="seconds per point before it is killed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-data-gib", type=float, default=4.0)
    p.add_argument("--out", default=str(DEFAULT_OUT), help="JSON-lines results file (appended; resumes)")
    p.add_argument("--tag", default="", help="a label kept with each record; a run resumes only its own tag")
    p.add_argument("--report", action="store_true", help="print the table from --out and stop")
    p.add_argument("--plot", default=None, help="with --report: write a log-log plot here")
    args = p.parse_args(argv)
    if args.report:
        report(args)
    else:
        run_grid(args)


if __name__ == "__main__":
    main()
