"""High-MI staircase figure (issue 21, item 6): every estimator's estimate vs the truth, 2-20 nats.

One command regenerates the figure and the table:

    .venv/bin/python benchmarks/highmi_staircase.py            # run what is missing, then draw
    .venv/bin/python benchmarks/highmi_staircase.py --plot-only

Tasks: for each warp (default the spiral) and MI level (2, 4, 6, 8, 10, 16, 20 nats), the
report-half twin of ``highmi-<warp>:dim=5,mi=M`` (``synthetic.report_tasks("highmi")``), one
run seed (default 2, the first report seed), n = 5000. Each (task, estimator) is one
``mi-bench run`` job (``bench.sweep.run_job``: the data and estimator seeds come from the run
seed, so the samples are those of any sweep of the same task and seed), run serially on one
torch thread into ``results/highmi_staircase`` (one file per finished run: an interrupted run
resumes where it stopped). Estimators: KSG, the Gaussian-copula value, CCA, the default
``auto``, the named neural bounds, and ``flow``, ``club``, ``l1out``, ``ba``, ``doe`` whenever
``mi_estimators.list_estimators()`` has them. ``--rerun flow`` redoes one estimator's runs
(after it changed); ``--warps spiral,half_cube-rot`` adds panels.

Writes ``docs/figures/highmi_staircase.png``, ``docs/accuracy/highmi_staircase.md`` (estimates,
|error|, intervals, seconds) and ``docs/accuracy/highmi_staircase.csv`` (one row per run). nats.
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import _harness as H  # noqa: E402  (imports neither torch nor mi_estimators)

BASE = ["ksg", "gaussian-copula", "cca", "auto", "infonce", "nwj", "smile", "mine", "dv", "js", "tuba"]
OPTIONAL = ["flow", "club", "l1out", "ba", "doe"]
LEVELS = (2, 4, 6, 8, 10, 16, 20)
COLUMNS = ("task", "warp", "dim", "truth", "label", "estimate", "ci_low", "ci_high", "abs_error",
           "time_s", "status", "reported", "warnings")


def estimators(requested: str | None) -> list[str]:
    """The requested comma list, else BASE plus whichever OPTIONAL names the registry has now."""
    from mi_estimators import list_estimators

    have = set(list_estimators())
    if requested:
        return requested.split(",")
    return [e for e in BASE if e in have] + [e for e in OPTIONAL if e in have]


def report_task(warp: str, dim: int, mi: float) -> str:
    """The report-half member of the (warp, dim, mi) twin pair."""
    import synthetic

    point = f"highmi-{warp}:dim={dim},mi={mi:g},"
    (name,) = [t for t in synthetic.report_tasks("highmi") if t.startswith(point)]
    return name


def run(tasks: list[str], ests: list[str], n: int, seed: int, out: Path, rerun: list[str]) -> None:
    """One job per (task, estimator), serially, skipping those already in ``out`` unless the
    estimator is in ``rerun`` (its finished runs are deleted first, e.g. after it changed)."""
    from mi_estimators.bench.sweep import Job, run_sweep

    jobs = [Job(t, e, n, seed) for t in tasks for e in ests]
    for job in jobs:
        if job.estimator in rerun:
            (out / "runs" / f"{job.run_id}.json").unlink(missing_ok=True)
    t0 = time.perf_counter()
    run_sweep(jobs, out, executor="serial", extend=True, progress=False)
    print(f"{len(jobs)} jobs done in {time.perf_counter() - t0:.0f} s (resumed runs not re-run)", file=sys.stderr)


def _reported(row: dict) -> str:
    import json

    cfg = json.loads(row.get("config") or "{}")
    auto = cfg.get("auto_details") or {}
    return str(auto.get("reported", auto.get("method", ""))) if auto else ""


def collect(out: Path, tasks: list[str], ests: list[str]) -> list[dict]:
    from mi_estimators.bench.store import load_runs

    keep = set(tasks)
    rows = []
    for r in load_runs(out):
        if r["task"] not in keep or r["label"] not in ests:
            continue
        warp = r["task"].split(":")[0].removeprefix("highmi-")
        est = float(r["estimate"]) if r["status"] == "ok" else math.nan
        rows.append(dict(task=r["task"], warp=warp, dim=int(r["dim_x"]), truth=float(r["truth"]),
                         label=r["label"], estimate=est, ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]),
                         abs_error=abs(est - float(r["truth"])), time_s=float(r["time_s"]), status=r["status"],
                         reported=_reported(r), warnings=str(r.get("warnings") or "")[:300]))
    order = {e: i for i, e in enumerate(ests)}
    return sorted(rows, key=lambda r: (r["warp"], r["truth"], order[r["label"]]))


#: Line styles by kind: baselines dashed grey-ish, lower bounds thin, upper bounds (club, l1out)
#: down-triangles, generative estimates (ba, doe) crosses, auto and flow thick.
STYLE = {"ksg": ("#555555", "--", "s"), "gaussian-copula": ("#999999", "--", "D"), "cca": ("#bbbbbb", ":", "^"),
         "auto": ("#d62728", "-", "o"), "flow": ("#2ca02c", "-", "o"), "club": ("#000080", "-.", "v"),
         "l1out": ("#6a5acd", "-.", "v"), "ba": ("#b8860b", "-.", "x"), "doe": ("#ff1493", "-.", "x")}
#: Colours of the other (lower-bound) estimators, in order of appearance.
PALETTE = ("#1f77b4", "#9467bd", "#e377c2", "#bcbd22", "#ff7f0e", "#17becf", "#8c564b", "#7f7f7f")


def plot(rows: list[dict], path: Path, n: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    warps = list(dict.fromkeys(r["warp"] for r in rows))
    labels = list(dict.fromkeys(r["label"] for r in rows))
    fig, axes = plt.subplots(1, len(warps), figsize=(5.6 * len(warps) + 2.2, 5.2), squeeze=False)
    others = [lab for lab in labels if lab not in STYLE]
    for ax, warp in zip(axes[0], warps):
        top = max(r["truth"] for r in rows if r["warp"] == warp)
        ax.plot([0, top], [0, top], color="black", lw=1.5, label="truth")
        for lab in labels:
            pts = [r for r in rows if r["warp"] == warp and r["label"] == lab and math.isfinite(r["estimate"])]
            if not pts:
                continue
            color, ls, marker = STYLE.get(lab) or (PALETTE[others.index(lab) % len(PALETTE)], "-", ".")
            t = [p["truth"] for p in pts]
            e = [min(p["estimate"], top + 4) for p in pts]   # off-scale values drawn at the top edge
            lo = [max(p["estimate"] - p["ci_low"], 0) if math.isfinite(p["ci_low"]) and p["estimate"] <= top + 4 else 0
                  for p in pts]
            hi = [max(p["ci_high"] - p["estimate"], 0) if math.isfinite(p["ci_high"]) and p["estimate"] <= top + 4 else 0
                  for p in pts]
            lw = 2.8 if lab in ("auto", "flow") else 1.2
            ax.errorbar(t, e, yerr=[lo, hi], color=color, ls=ls, marker=marker, lw=lw, ms=5 if lw > 2 else 4,
                        capsize=2, label=lab)
        dim = next(r["dim"] for r in rows if r["warp"] == warp)
        ax.set(title=f"highmi-{warp}, d = {dim} per side, n = {n}", xlabel="true MI (nats)",
               ylabel="estimate (nats; bars: reported interval)", xlim=(0, top + 1), ylim=(0, top + 4))
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(rows: list[dict], n: int, seed: int) -> str:
    labels = list(dict.fromkeys(r["label"] for r in rows))
    lines = [f"# High-MI staircase: estimate vs truth (nats)", "",
             f"Generated by `.venv/bin/python benchmarks/highmi_staircase.py` (n = {n}, run seed {seed}, "
             "one run per cell, the report-half twin of each level; 2 shared CPU cores, one torch thread). "
             "Cell: estimate (|error|); `-` not run; `err` the estimator failed. Figure: "
             "[highmi_staircase.png](../figures/highmi_staircase.png).", ""]
    lines += H.task_label_table(rows, lambda r, truth: "err" if r["status"] != "ok"
                                else f"{r['estimate']:.2f} ({r['abs_error']:.2f})")

    def mean(vals):
        vals = [v for v in vals if math.isfinite(v)]
        return sum(vals) / len(vals) if vals else math.nan

    def stat(lab, fn):
        return mean([fn(r) for r in rows if r["label"] == lab and r["status"] == "ok"])

    rel = [stat(lab, lambda r: r["abs_error"] / r["truth"]) for lab in labels]
    cover = [stat(lab, lambda r: float(r["ci_low"] <= r["truth"] <= r["ci_high"])
                  if math.isfinite(r["ci_low"]) else math.nan) for lab in labels]
    secs = [stat(lab, lambda r: r["time_s"]) for lab in labels]
    lines.append("| mean relative error | | " + " | ".join(f"{v:.0%}" for v in rel) + " |")
    lines.append("| interval covers truth | | " + " | ".join("-" if math.isnan(v) else f"{v:.0%}" for v in cover) + " |")
    lines.append("| mean seconds per estimate | | " + " | ".join(f"{v:.1f}" for v in secs) + " |")
    auto = [r for r in rows if r["label"] == "auto" and r["reported"]]
    if auto:
        lines += ["", "What `auto` reported: " + "; ".join(f"{r['truth']:g} nats: {r['reported']}" for r in auto) + "."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--warps", default="spiral", help="comma list of synthetic.highmi.WARPS (default spiral)")
    p.add_argument("--dim", type=int, default=5)
    p.add_argument("--levels", default=",".join(map(str, LEVELS)))
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--seed", type=int, default=2, help="run seed (default 2, the first report seed)")
    p.add_argument("--estimators", default=None, help="comma list (default: every estimator, see module doc)")
    p.add_argument("--results", default=str(REPO / "results" / "highmi_staircase"))
    p.add_argument("--plot-only", action="store_true", help="draw from the finished runs, run nothing")
    p.add_argument("--rerun", default="", help="comma list of estimators whose finished runs are redone")
    p.add_argument("--name", default="highmi_staircase", help="stem of the figure / table / csv files")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    levels = [float(v) for v in args.levels.split(",")]
    tasks = [report_task(w, args.dim, m) for w in args.warps.split(",") for m in levels]
    ests = estimators(args.estimators)
    out = Path(args.results)
    if not args.plot_only:
        run(tasks, ests, args.n, args.seed, out, [e for e in args.rerun.split(",") if e])
    rows = collect(out, tasks, ests)
    if not rows:
        print("no finished runs to draw", file=sys.stderr)
        return 1
    plot(rows, REPO / "docs" / "figures" / f"{args.name}.png", args.n)
    (REPO / "docs" / "accuracy" / f"{args.name}.md").write_text(table(rows, args.n, args.seed))
    with open(REPO / "docs" / "accuracy" / f"{args.name}.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    print(table(rows, args.n, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
