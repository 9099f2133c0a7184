"""Accuracy benchmark on the Beyond-Normal suite: sweeps, choose/report split, tables.

The sweeps are ``mi-bench run``'s (``mi_estimators.bench.sweep.run_sweep`` with its job
function: one atomic file per finished run), plus task-half, seed and label filters; the
configs also run with plain ``mi-bench run``.

Split rule (fixed, documented in docs/accuracy.md): the 49 Beyond-Normal task ids sorted
alphabetically; even positions (0, 2, ...) form the **choose** half (defaults are tuned on
it, seeds 0-1), odd positions the **report** half (numbers are published from it, seeds 2-4).

    python benchmarks/accuracy.py split                         # print the two halves
    python benchmarks/accuracy.py run benchmarks/configs/accuracy_choose.toml --out results/accuracy_choose
    python benchmarks/accuracy.py analyze results/accuracy_report --out docs/accuracy --name report
    python benchmarks/accuracy.py calibrate results/accuracy_calibrate --out docs/accuracy/calibration.json
    python benchmarks/accuracy.py timing --out docs/accuracy/timing.json   # seconds per estimate
    python benchmarks/accuracy.py sweep-neural --out results/neural_sweep.json --table docs/accuracy/choose_neural_sweep.md
    python benchmarks/accuracy.py sweep-ksg --table docs/accuracy/choose_ksg_k.md
    python benchmarks/accuracy.py sweep-combine --out results/combine.json --table docs/accuracy/choose_combine.md
    python benchmarks/accuracy.py retire results/OLD results/NEW --label auto --as auto-v3 --prefix v3-

All values are in nats.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

SPLIT_FAMILY = "beyond-normal"
CHOOSE_SEEDS = (0, 1)
REPORT_SEEDS = (2, 3, 4)


def split_tasks() -> tuple[list[str], list[str]]:
    """(choose, report): the sorted Beyond-Normal ids at even / odd positions."""
    import synthetic

    ids = sorted(synthetic.list_tasks(SPLIT_FAMILY))
    return ids[0::2], ids[1::2]


def choose_tasks_by_dim(high: bool) -> list[str]:
    """Choose-half ids with d_x + d_y > 3 (``high``: where auto trains critics) or <= 3 (auto's KSG path)."""
    from mi_estimators.bench.sweep import get_task

    return [t for t in split_tasks()[0] if (get_task(t).dim_x + get_task(t).dim_y > 3) == high]


def sample_run(task_id: str, seed: int, n: int = 5000):
    """``(task, x, y, model_seed)`` exactly as a sweep run of (task, seed) draws them (bench.sweep._seeds)."""
    from mi_estimators.bench.sweep import _seeds, get_task

    task = get_task(task_id)
    data_seed, model_seed = _seeds(seed)
    x, y = task.sample(n, seed=data_seed)
    return task, x, y, model_seed


def run_one(job) -> dict:
    """One run's row: ``bench.sweep.run_job`` (the job function of ``mi-bench run``), whose rows
    keep ``auto``'s components and reported method in the config."""
    from mi_estimators.bench.sweep import run_job

    return run_job(job)


def load(path):
    from mi_estimators.bench.config import load_config

    return load_config(path, check_names=False)


def cmd_run(args) -> int:
    from mi_estimators.bench.executors import get_executor
    from mi_estimators.bench.sweep import run_sweep

    config = load(args.config)
    jobs = config.jobs()
    if args.only:
        jobs = [j for j in jobs if j.label in args.only.split(",")]
    if args.seeds:
        jobs = [j for j in jobs if j.seed in {int(s) for s in args.seeds.split(",")}]
    if args.min_dim:
        from mi_estimators.bench.sweep import get_task

        jobs = [j for j in jobs if get_task(j.task).dim_x + get_task(j.task).dim_y >= args.min_dim]
    out = Path(args.out)
    print(f"{config.name}: {len(jobs)} runs -> {out}", file=sys.stderr)
    with get_executor(args.executor, n_workers=args.workers) as ex:
        rows = run_sweep(jobs, out, executor=ex, config=config.to_dict(), extend=True, fn=run_one,
                         progress=sys.stderr.isatty())
    bad = [r for r in rows if r["status"] != "ok"]
    print(f"{len(rows)} runs, {len(bad)} failed" + (f"; first: {bad[0]['error']}" if bad else ""))
    return 0


# --------------------------------------------------------------------------- analysis
def summarise(rows):
    """Per (task, label): mean estimate, mean |error|, seed sd, mean seconds, coverage, runs."""
    import numpy as np

    groups = {}
    for r in rows:
        if r["status"] == "ok":
            groups.setdefault((r["task"], r["label"]), []).append(r)
    out = []
    for (task, label), rs in sorted(groups.items()):
        est = np.array([r["estimate"] for r in rs])
        truth = rs[0]["truth"]
        cover = [r["ci_low"] <= truth <= r["ci_high"] for r in rs
                 if math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"])]
        out.append(dict(task=task, label=label, truth=truth, dim=rs[0]["dim_x"] + rs[0]["dim_y"],
                        runs=len(rs), mean=float(est.mean()), abs_error=float(np.abs(est - truth).mean()),
                        seed_sd=float(est.std(ddof=1)) if len(rs) > 1 else math.nan,
                        seconds=float(np.mean([r["time_s"] for r in rs])),
                        coverage=float(np.mean(cover)) if cover else math.nan))
    return out


def wins(summary, label, against):
    """Tasks where ``label``'s mean |error| is below the best of ``against`` (strictly)."""
    by = {}
    for s in summary:
        by.setdefault(s["task"], {})[s["label"]] = s
    res = []
    for task, d in sorted(by.items()):
        if label not in d or not all(a in d for a in against):
            continue
        best = min(d[a]["abs_error"] for a in against)
        res.append((task, d[label]["abs_error"], best, d[label]["abs_error"] < best))
    return res


def derived_auto_rows(rows, ksg_max_dim: int, floor: bool = True, label: str | None = None,
                      ksg_label: str = "ksg", nn_label: str = "infonce-copula"):
    """Rows of the auto rule rebuilt from its component runs (choose half): ``ksg_label`` when
    d_x + d_y <= ``ksg_max_dim``, else ``infonce-copula`` floored by ``gcmi`` (the rule of
    :func:`mi_estimators.auto.estimate_auto`, same seeds, so the same numbers)."""
    from mi_estimators.auto import floor_applies

    by = {}
    for r in rows:
        if r["status"] == "ok":
            by[(r["task"], r["seed"], r["label"])] = r
    out = []
    for (task, seed, lab), r in sorted(by.items()):
        if lab != "gcmi":
            continue
        d = r["dim_x"] + r["dim_y"]
        if d <= ksg_max_dim:
            pick = by.get((task, seed, ksg_label))
        else:
            nn = by.get((task, seed, nn_label))
            pick = nn
            if nn is not None and floor:
                pick = r if floor_applies(nn["estimate"], nn["stderr"], r["estimate"], r["stderr"]) else nn
        if pick is not None:
            out.append(dict(pick, label=label or f"auto({ksg_label}<={ksg_max_dim}, {nn_label}{' + floor' if floor else ''})"))
    return out


def cmd_retire(args) -> int:
    """Copy a results folder's runs into a new folder, relabelling one label's rows (e.g. the
    shipped ``auto`` rows become ``auto-v3`` before the next round's ``auto`` is run there).
    Relabelled rows get the run id ``<prefix><old id>`` (file name to match), so the next
    round's runs of the old label, whose ids are the old ones, are not taken as done."""
    import shutil

    src, dst = Path(args.src), Path(args.dst)
    if (dst / "runs").exists():
        raise SystemExit(f"{dst}/runs exists: retire writes a new folder")
    (dst / "runs").mkdir(parents=True)
    moved = copied = 0
    for f in sorted((src / "runs").glob("*.json")):
        row = json.loads(f.read_text())
        if row.get("label") == args.label:
            row["label"] = args.as_label
            row["run_id"] = args.prefix + row["run_id"]
            (dst / "runs" / f"{row['run_id']}.json").write_text(json.dumps(row, indent=1, sort_keys=True))
            moved += 1
        else:
            shutil.copy(f, dst / "runs" / f.name)
            copied += 1
    if (src / "manifest.json").exists():
        shutil.copy(src / "manifest.json", dst / "manifest.json")
    print(f"{moved} rows {args.label} -> {args.as_label}, {copied} rows copied -> {dst}")
    return 0


def cmd_analyze(args) -> int:
    from mi_estimators.bench.store import load_runs

    rows = [r for d in args.dirs for r in load_runs(d)]
    if args.relabel:
        mapping = dict(pair.split("=", 1) for pair in args.relabel.split(","))
        rows = [dict(r, label=mapping.get(r["label"], r["label"])) for r in rows]
    if args.seeds:
        keep_seeds = {int(v) for v in args.seeds.split(",")}
        rows = [r for r in rows if r["seed"] in keep_seeds]
    if args.labels:
        keep = args.labels.split(",")
        rows = [r for r in rows if r["label"] in keep]
    for spec in args.derive or []:
        dim, *flags = spec.split(":")
        rows += derived_auto_rows(rows, int(dim), floor="nofloor" not in flags,
                                  ksg_label="ksg-copula" if "copula" in flags else "ksg",
                                  nn_label="infonce" if "std" in flags else "infonce-copula")
    summary = summarise(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    labels = list(dict.fromkeys(s["label"] for s in summary))
    tasks = sorted({s["task"] for s in summary})
    cell = {(s["task"], s["label"]): s for s in summary}

    # long CSV
    import csv

    with open(out / f"{args.name}_table.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)

    # Markdown: per task, mean (|err|) per label
    lines = [f"Mean estimate and mean |error| in nats over seeds ({args.name} half). "
             "Cell: `mean (|err|, sd)`; truth in nats.", "",
             "| task | d | truth | " + " | ".join(labels) + " |",
             "|---|---|---|" + "---|" * len(labels)]
    for t in tasks:
        c0 = next(cell[(t, lab)] for lab in labels if (t, lab) in cell)
        cells = []
        for lab in labels:
            s = cell.get((t, lab))
            cells.append("not run" if s is None else f"{s['mean']:.3f} ({s['abs_error']:.3f}, {s['seed_sd']:.3f})")
        lines.append(f"| {t} | {c0['dim']} | {c0['truth']:.3f} | " + " | ".join(cells) + " |")
    from mi_estimators.neural import UNSTABLE_STDERR

    def warned(r):   # what estimate_mi warns about: a neural estimator's held-out stderr above the limit
        return r["estimator"] not in ("ksg", "cca", "sklearn-mi", "auto") and r["stderr"] > UNSTABLE_STDERR

    stable_cell = {(x["task"], x["label"]): x for x in summarise(
        [r for r in rows if r["status"] == "ok" and not warned(r)])}
    lines += ["", "| estimator | tasks | mean abs error (nats) | median abs error | mean seconds | 95% CI coverage "
              f"| neural runs with stderr > {UNSTABLE_STDERR} (warned) | mean abs error without them |",
              "|---|---|---|---|---|---|---|---|"]
    import numpy as np

    agg = {}
    for lab in labels:
        ss = [s for s in summary if s["label"] == lab]
        errs = np.array([s["abs_error"] for s in ss])
        cov_rows = [r for r in rows if r["label"] == lab and r["status"] == "ok"
                    and math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"])]
        cov = np.mean([r["ci_low"] <= r["truth"] <= r["ci_high"] for r in cov_rows]) if cov_rows else math.nan
        unstable = sum(1 for r in rows if r["label"] == lab and r["status"] == "ok" and warned(r))
        stable = [v["abs_error"] for (t_, l_), v in stable_cell.items() if l_ == lab]
        agg[lab] = dict(tasks=len(ss), mean_abs_error=float(errs.mean()), median_abs_error=float(np.median(errs)),
                        seconds=float(np.mean([s["seconds"] for s in ss])), coverage=float(cov),
                        coverage_runs=len(cov_rows), unstable_runs=unstable,
                        mean_abs_error_stable=float(np.mean(stable)) if stable else math.nan,
                        stable_tasks=len(stable))
        a = agg[lab]
        big = lambda v: f"{v:.4f}" if abs(v) < 1e3 else f"{v:.2g}"
        lines.append(f"| {lab} | {a['tasks']} | {big(a['mean_abs_error'])} | {a['median_abs_error']:.4f} | "
                     f"{a['seconds']:.1f} | {a['coverage']:.2f} ({a['coverage_runs']} runs) | {unstable} | "
                     f"{big(a['mean_abs_error_stable'])} ({a['stable_tasks']} tasks) |")
    if args.default and args.baselines:
        base = args.baselines.split(",")
        res = wins(summary, args.default, base)
        n_win = sum(r[3] for r in res)
        # a loss within noise: the gap in mean |error| is below the standard error of the
        # difference of the two means (seed sd / sqrt(runs), added in quadrature)
        n_tie = 0
        for task, mine, best, won in res:
            if won:
                continue
            a = cell[(task, args.default)]
            b = min((cell[(task, x)] for x in base), key=lambda c: c["abs_error"])
            se = math.sqrt(sum((c["seed_sd"] if math.isfinite(c["seed_sd"]) else 0.0) ** 2 / c["runs"] for c in (a, b)))
            n_tie += (mine - best) <= se
        lines += ["", f"`{args.default}` beats the better of {', '.join(base)} on {n_win}/{len(res)} tasks "
                      f"by mean |error|; of the other {len(res) - n_win}, {n_tie} lose by less than the standard "
                      f"error of the difference (a tie within seed noise)."]
        agg["_wins"] = dict(default=args.default, against=base, wins=n_win, ties_within_noise=n_tie, tasks=len(res))
    if args.default:
        by_method = {}
        for r in rows:
            if r["label"] != args.default or r["status"] != "ok":
                continue
            by_method.setdefault(reported_and_sampling_interval(r)[0], []).append(r)
        if by_method:
            lines += ["", f"Coverage of `{args.default}`'s 95% interval by the method it reported:", "",
                      "| method | runs | coverage | mean abs error (nats) | mean stderr (nats) |", "|---|---|---|---|---|"]
            for m, rs in sorted(by_method.items()):
                cov = float(np.mean([r["ci_low"] <= r["truth"] <= r["ci_high"] for r in rs]))
                e = float(np.mean([abs(r["estimate"] - r["truth"]) for r in rs]))
                se = float(np.mean([r["stderr"] for r in rs]))
                lines.append(f"| {m} | {len(rs)} | {cov:.2f} | {e:.4f} | {se:.4f} |")
                agg[f"_coverage_{m}"] = dict(runs=len(rs), coverage=cov, abs_error=e, stderr=se)
    for other in (args.paired or "").split(","):
        if not other or not args.default:
            continue
        ok = {(r["task"], r["seed"], r["label"]): r for r in rows if r["status"] == "ok"}
        pairs = [(ok[(t, s, args.default)], r) for (t, s, lab), r in ok.items()
                 if lab == other and (t, s, args.default) in ok]
        if pairs:
            tasks_p = sorted({a["task"] for a, _ in pairs})
            err = lambda rs: float(np.mean([abs(r["estimate"] - r["truth"]) for r in rs]))
            e_def, e_oth = err([a for a, _ in pairs]), err([b for _, b in pairs])
            lines += ["", f"Paired with `{other}` on the same samples ({len(pairs)} runs, {len(tasks_p)} tasks): "
                          f"mean |error| `{args.default}` {e_def:.4f} vs `{other}` {e_oth:.4f} nats "
                          f"(ratio {e_def / e_oth:.2f})."]
            agg[f"_paired_{other}"] = dict(runs=len(pairs), tasks=len(tasks_p), default=e_def, other=e_oth,
                                           ratio=e_def / e_oth)
    (out / f"{args.name}_table.md").write_text("\n".join(lines) + "\n")
    (out / f"{args.name}_aggregate.json").write_text(json.dumps(agg, indent=2) + "\n")
    print("\n".join(lines[-(len(labels) + 16):]))
    if args.plot:
        plot(summary, labels, out / f"{args.name}_estimate_vs_truth.png", args.name)
    return 0


def plot(summary, labels, path, name):
    """Mean estimate vs truth: one panel for up to 6 labels, else one small panel per label.
    The y range is the truth's range plus a margin; estimates outside it (exploding bounds on
    heavy tails) are drawn as triangles on the border and counted in the panel title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = max(s["truth"] for s in summary)
    lo_lim, hi_lim = -0.5, top * 1.25 + 0.2
    markers = "osD^v<>phx+*"
    grid = len(labels) > 6
    ncols = 5 if grid else 1
    nrows = math.ceil(len(labels) / ncols) if grid else 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols + 0.5, 2.8 * nrows + 0.5) if grid else (6.5, 5.5),
                             dpi=110, squeeze=False, sharex=True, sharey=True)
    flat = list(axes.flat)
    for i, lab in enumerate(labels):
        ax = flat[i] if grid else flat[0]
        ss = [s for s in summary if s["label"] == lab]
        inside = [s for s in ss if lo_lim <= s["mean"] <= hi_lim]
        out = [s for s in ss if not lo_lim <= s["mean"] <= hi_lim]
        ax.plot([0, hi_lim], [0, hi_lim], color="0.5", lw=1, ls="--")
        ax.errorbar([s["truth"] for s in inside], [s["mean"] for s in inside],
                    yerr=[0 if math.isnan(s["seed_sd"]) else s["seed_sd"] for s in inside],
                    fmt=markers[i % len(markers)], ms=4, alpha=0.75, label=lab, capsize=2)
        for s_ in out:
            up = s_["mean"] > hi_lim
            ax.plot(s_["truth"], hi_lim if up else lo_lim, marker="^" if up else "v", color="crimson", ms=6,
                    clip_on=False)
        if grid:
            ax.set_title(lab + (f" ({len(out)} off-scale)" if out else ""), fontsize=9)
    for ax in flat[len(labels):] if grid else []:
        ax.axis("off")
    for ax in flat[:len(labels)] if grid else flat[:1]:
        ax.set_xlim(0, hi_lim)
        ax.set_ylim(lo_lim, hi_lim)
    if grid:
        fig.supxlabel("true MI (nats)")
        fig.supylabel("mean estimate over seeds (nats)")
        fig.suptitle(f"Beyond-Normal suite ({name}), n = 5000; dashed: truth; red: off-scale estimates")
    else:
        flat[0].set_xlabel("true MI (nats)")
        flat[0].set_ylabel("mean estimate over seeds (nats), bar = seed sd")
        flat[0].set_title(f"Beyond-Normal suite ({name}), n = 5000")
        flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def reported_and_sampling_interval(row) -> tuple[str, float, float]:
    """The method a run's estimate came from and its sampling interval: auto's recorded
    ``auto_details`` (or the older top-level ``auto_reported`` / ``auto_interval_sampling``),
    else the estimator itself and the row's interval (every other estimator's interval is its
    sampling interval)."""
    cfg = json.loads(row["config"] or "{}")
    det = cfg.get("auto_details", {})
    lo, hi = det.get("interval_sampling", cfg.get("auto_interval_sampling", (row["ci_low"], row["ci_high"])))
    return det.get("reported", cfg.get("auto_reported", row["estimator"])), lo, hi


def calibrate_allowance(rows, target: float = 0.95, step: float = 0.02, top: float = 0.4) -> dict:
    """Per method auto reported: the narrowest bias allowance ``(down, up)`` (fractions of |I| on a
    grid of ``step``) whose widened sampling interval covers the truth in >= ``target`` of ``rows``.

    Uses each row's sampling interval (``auto_details.interval_sampling`` when present, else the
    row's interval, which is the sampling one for rows written before the calibration existed).
    Narrowest = smallest mean width; ties go to the smaller ``up`` then ``down``."""
    import numpy as np

    by = {}
    for r in rows:
        if r["status"] != "ok":
            continue
        method, lo, hi = reported_and_sampling_interval(r)
        by.setdefault(method, []).append((r["estimate"], lo, hi, r["truth"]))
    grid = np.round(np.arange(0.0, top + step / 2, step), 6)
    out = {}
    for method, vals in sorted(by.items()):
        est, lo, hi, tr = (np.array(v, dtype=float) for v in zip(*vals))
        a = np.abs(est)
        base = float(np.mean((lo <= tr) & (tr <= hi)))
        best = None
        for up in grid:
            for down in grid:
                cov = float(np.mean((lo - down * a <= tr) & (tr <= hi + up * a)))
                width = float(np.mean(hi - lo + (down + up) * a))
                if cov >= target and (best is None or width < best["mean_width"] - 1e-12):
                    best = dict(down=float(down), up=float(up), coverage=cov, mean_width=width)
        out[method] = dict(runs=len(vals), sampling_coverage=base,
                           sampling_mean_width=float(np.mean(hi - lo)), **(best or {}))
    return out


def cmd_calibrate(args) -> int:
    from mi_estimators.bench.store import load_runs

    rows = [r for d in args.dirs for r in load_runs(d) if r["label"] == args.label]
    res = calibrate_allowance(rows, target=args.target)
    res["_meta"] = dict(dirs=[str(d) for d in args.dirs], label=args.label, target=args.target,
                        tasks=len({r["task"] for r in rows}), seeds=sorted({r["seed"] for r in rows}))
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0


#: Neural-path settings compared on the choose half (InfoNCE on standardised inputs, the
#: Gaussian-copula floor applied afterwards from the choose run's gcmi rows); "base" is the
#: package default (separable 256-256, 32-d embedding, batch 128, lr 5e-4, <= 2000 steps).
NEURAL_SWEEP = {
    "base": {},
    "eval500": dict(eval_batch_size=500),
    "lr1e-3": dict(lr=1e-3),
    "steps4000": dict(steps=4000, patience=10),
    "h512": dict(hidden=(512, 512)),
    "bs256": dict(batch_size=256),
    "h128": dict(hidden=(128, 128)),
    "h64": dict(hidden=(64, 64)),
    "wd1e-3": dict(weight_decay=1e-3),
    "bs64": dict(batch_size=64),
    "emb64": dict(embed_dim=64),
    "h128x3": dict(hidden=(128, 128, 128)),
    "h256x3": dict(hidden=(256, 256, 256)),
    "h128x4": dict(hidden=(128, 128, 128, 128)),
    "h64x3": dict(hidden=(64, 64, 64)),
    # round 4: ensembles of the 128x3 critic, their mean score matrix as one critic ("scores")
    # or the mean of their estimates ("estimates")
    "h128x3-k2-scores": dict(hidden=(128, 128, 128), n_critics=2, combine="scores"),
    "h128x3-k4-scores": dict(hidden=(128, 128, 128), n_critics=4, combine="scores"),
    "h128x3-k8-scores": dict(hidden=(128, 128, 128), n_critics=8, combine="scores"),
    "h128x3-k4-estimates": dict(hidden=(128, 128, 128), n_critics=4, combine="estimates"),
    "h64x3-k4-scores": dict(hidden=(64, 64, 64), n_critics=4, combine="scores"),
}


def cmd_sweep_neural(args) -> int:
    """Run NEURAL_SWEEP settings on the choose tasks with d > 3 (resumable JSON), then tabulate
    mean |error| after the floor and the paired difference to ``base`` (nats)."""
    import numpy as np

    import torch

    from mi_estimators import estimate_mi
    from mi_estimators.bench.store import load_runs
    from mi_estimators.auto import floor_applies

    torch.set_num_threads(1)
    gc = {(r["task"], r["seed"]): r for r in load_runs(args.gcmi) if r["label"] == "gcmi" and r["status"] == "ok"}
    tasks = choose_tasks_by_dim(high=True)
    seeds = [int(v) for v in args.seeds.split(",")]
    path = Path(args.out)
    res = json.loads(path.read_text()) if path.exists() else {}
    names = args.only.split(",") if args.only else list(NEURAL_SWEEP)
    for name in names:
        for t in tasks:
            for seed in seeds:
                key = f"{name}|{t}|{seed}"
                if key in res:
                    continue
                task, x, y, model_seed = sample_run(t, seed)
                c0 = time.process_time()
                r = estimate_mi(x, y, "infonce", seed=model_seed, **NEURAL_SWEEP[name])
                g = gc[(t, seed)]
                floor = floor_applies(r.mi, r.stderr, g["estimate"], g["stderr"])
                res[key] = dict(mi=r.mi, se=r.stderr, floored=g["estimate"] if floor else r.mi,
                                truth=float(task.mi), cpu=time.process_time() - c0)
                path.write_text(json.dumps(res, indent=0) + "\n")
    err = lambda n: {tuple(k.split("|")[1:]): abs(v["floored"] - v["truth"]) for k, v in res.items()
                     if k.split("|")[0] == n}
    base = err("base")
    lines = ["| setting | options | runs | mean abs error after floor (nats) | paired diff vs base | CPU s/run |",
             "|---|---|---|---|---|---|"]
    for name in NEURAL_SWEEP:
        e = err(name)
        common = sorted(set(e) & set(base))
        if not common:
            continue
        d = np.array([e[c] - base[c] for c in common])
        se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else math.nan
        cpu = np.mean([v["cpu"] for k, v in res.items() if k.split("|")[0] == name])
        lines.append(f"| {name} | `{NEURAL_SWEEP[name] or 'defaults'}` | {len(common)} | "
                     f"{np.mean([e[c] for c in common]):.4f} | {d.mean():+.4f} ± {se:.4f} | {cpu:.2f} |")
    print("\n".join(lines))
    if args.table:
        Path(args.table).write_text("Choose half, tasks with d_x + d_y > 3, seeds " + args.seeds + ", n = 5000. "
                                    "InfoNCE on standardised inputs, floored by the Gaussian-copula value; "
                                    "paired difference ± its standard error over (task, seed).\n\n"
                                    + "\n".join(lines) + "\n")
    return 0


def cmd_sweep_combine(args) -> int:
    """Named bounds with 4 critics on the choose tasks with d > 3: the mean of the members'
    estimates (``combine="estimates"``) against their mean-score critic (``"scores"``). One
    training run gives both (the same members; ``per_critic`` holds their own values).
    Resumable JSON; table of mean |error| (nats) without the runs estimate_mi warns about."""
    import warnings

    import numpy as np

    import torch

    from mi_estimators import estimate_mi
    from mi_estimators.neural import UNSTABLE_STDERR

    torch.set_num_threads(1)
    tasks = choose_tasks_by_dim(high=True)
    seeds = [int(v) for v in args.seeds.split(",")]
    path = Path(args.out)
    res = json.loads(path.read_text()) if path.exists() else {}
    merged = {}   # other workers' files: tabulated, never recomputed or written here
    for extra in args.merge or []:
        merged.update(json.loads(Path(extra).read_text()))
    for bound in args.bounds.split(",") if args.bounds else []:
        for t in tasks:
            for seed in seeds:
                key = f"{bound}|{t}|{seed}"
                if key in res or key in merged:
                    continue
                task, x, y, model_seed = sample_run(t, seed)
                c0 = time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r = estimate_mi(x, y, bound, seed=model_seed, n_critics=args.k, combine="scores")
                res[key] = dict(scores=r.mi, estimates=float(np.mean(r.per_critic)),
                                members_se=r.details["per_critic_stderr"], se=r.details["stderr_sampling"],
                                truth=float(task.mi), cpu=time.process_time() - c0)
                path.write_text(json.dumps(res, indent=0) + "\n")
                print(key, round(res[key]["estimates"], 4), round(r.mi, 4), round(float(task.mi), 4), flush=True)
    res = {**merged, **res}
    lines = [f"| bound | runs | warned runs (stderr > 0.5) | mean abs error: mean of {args.k} estimates | mean abs error: "
             "mean-score critic | paired diff (scores - estimates) | median abs error: estimates / scores |",
             "|---|---|---|---|---|---|---|"]
    for bound in dict.fromkeys(k.split("|")[0] for k in res):
        rows = [v for k, v in res.items() if k.split("|")[0] == bound]
        warned = [max(v["members_se"]) > UNSTABLE_STDERR or v["se"] > UNSTABLE_STDERR for v in rows]
        ok = [v for v, w in zip(rows, warned) if not w]
        e = np.array([abs(v["estimates"] - v["truth"]) for v in ok])
        sc = np.array([abs(v["scores"] - v["truth"]) for v in ok])
        d = sc - e
        se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else math.nan
        ea = [abs(v["estimates"] - v["truth"]) for v in rows]
        sa = [abs(v["scores"] - v["truth"]) for v in rows]
        lines.append(f"| {bound} | {len(rows)} | {sum(warned)} | {e.mean():.4f} | {sc.mean():.4f} | "
                     f"{d.mean():+.4f} ± {se:.4f} | {np.median(ea):.4f} / {np.median(sa):.4f} |")
    print("\n".join(lines))
    if args.table:
        Path(args.table).write_text(
            f"Choose half, tasks with d_x + d_y > 3, seeds {args.seeds}, n = 5000, {args.k} critics (separable "
            "256-256, the named bounds' defaults) trained once per run; the same members combined two ways. "
            "Means exclude the runs whose held-out stderr exceeds 0.5 nats (estimate_mi warns there); "
            "medians include them. Nats.\n\n" + "\n".join(lines) + "\n")
    return 0


EXPORT_COLUMNS = ("task", "label", "estimator", "seed", "n", "dim_x", "dim_y", "truth", "truth_stderr", "estimate",
                  "stderr", "ci_low", "ci_high", "reported", "sampling_low", "sampling_high", "status", "time_s")


def cmd_export(args) -> int:
    """One slim CSV row per run (no configs): enough to recompute every table, error and coverage
    number of docs/accuracy.md without the gitignored results folders."""
    import csv

    from mi_estimators.bench.store import load_runs

    rows = [r for d in args.dirs for r in load_runs(d)]
    if args.seeds:
        rows = [r for r in rows if r["seed"] in {int(v) for v in args.seeds.split(",")}]
    with open(args.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(EXPORT_COLUMNS))
        w.writeheader()
        for r in sorted(rows, key=lambda r: (r["task"], r["label"], r["seed"])):
            method, lo, hi = reported_and_sampling_interval(r)
            out = {c: r.get(c, "") for c in EXPORT_COLUMNS}
            out.update(reported=method, sampling_low=lo, sampling_high=hi)
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in out.items()})
    print(f"{len(rows)} rows -> {args.out}")
    return 0


def cmd_sweep_ksg(args) -> int:
    """KSG's k on the choose tasks with d_x + d_y <= 3: mean |error| per k and for auto's
    adaptive rule (k = 1 if KSG(1) - KSG(3) > gap, else 3), over the given seeds (nats)."""
    import numpy as np

    from mi_estimators import estimate_mi
    from mi_estimators.auto import k1_shows_bias

    ks = sorted({1, 3, *(int(v) for v in args.ks.split(","))})
    gaps = [float(v) for v in args.gaps.split(",")]
    zs = [float(v) for v in args.zs.split(",") if v.strip()]
    err = {}   # (task, k) -> list of signed errors, per seed
    blocks = {}   # (task, k) -> list of block-estimate arrays, per seed (paired: same seed, same blocks)
    for t in choose_tasks_by_dim(high=False):
        for seed in (int(v) for v in args.seeds.split(",")):
            task, x, y, model_seed = sample_run(t, seed)
            for k in ks:
                res = estimate_mi(x, y, "ksg", k=k, seed=model_seed)
                err.setdefault((t, k), []).append(res.mi - task.mi)
                blocks.setdefault((t, k), []).append(np.array(res.details["block_estimates"]))
    tasks = sorted({t for t, _ in err})
    head = ([f"k = {k}" for k in ks] + [f"adaptive, gap {g}" for g in gaps]
            + [f"D > {z:g} se(D)" for z in zs])
    lines = ["| task | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    cols = {h: [] for h in head}
    for t in tasks:
        cells = []
        e1, e3 = np.array(err[(t, 1)]), np.array(err[(t, 3)])
        for k in ks:
            v = float(np.mean(np.abs(err[(t, k)])))
            cols[f"k = {k}"].append(v)
            cells.append(f"{v:.4f}")
        for g in gaps:
            v = float(np.mean(np.abs(np.where(k1_shows_bias(e1, e3, g), e1, e3))))   # truth cancels in e1 - e3
            cols[f"adaptive, gap {g}"].append(v)
            cells.append(f"{v:.4f}")
        for z in zs:
            se_d = np.array([np.std(a - b, ddof=1) / np.sqrt(len(a)) for a, b in zip(blocks[(t, 1)], blocks[(t, 3)])])
            v = float(np.mean(np.abs(np.where(e1 - e3 > z * se_d, e1, e3))))
            cols[f"D > {z:g} se(D)"].append(v)
            cells.append(f"{v:.4f}")
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{np.mean(cols[h]):.4f}**" for h in head) + " |")
    print("\n".join(lines))
    if args.table:
        Path(args.table).write_text(f"Choose half, tasks with d_x + d_y <= 3, seeds {args.seeds}, n = 5000: mean |error| "
                                    "of KSG (nats) per k and for auto's adaptive k.\n\n" + "\n".join(lines) + "\n")
    return 0


TIMING_TASKS = ("1v1-normal-0.75", "2v1-galaxy-0.5-3.0", "multinormal-sparse-5-5-2-2.0",
                "spiral-multinormal-sparse-25-25-2-2.0", "multinormal-dense-50-50-0.5",
                # the two slowest of round 4's calibration runs (the critics train longest there)
                "normal_cdf-multinormal-sparse-3-3-2-2.0", "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0")


def cmd_timing(args) -> int:
    """Seconds of one default ``estimate_mi(x, y)`` (auto) on n = 5000 samples, wall and CPU."""
    import os

    import torch

    from mi_estimators import estimate_mi

    torch.set_num_threads(args.threads)
    print(f"torch threads {torch.get_num_threads()}, cores visible {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    out = []
    for name in args.tasks.split(","):
        task, x, y, _ = sample_run(name, 2, args.n)   # seed 2's data; the estimate uses seed=0
        for est in ("auto", "ksg"):
            c0, w0 = time.process_time(), time.perf_counter()
            res = estimate_mi(x, y, estimator=est, seed=0)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            path = res.details.get("auto", {}).get("reported", est)
            out.append(dict(task=name, d=task.dim_x + task.dim_y, estimator=est, path=path, cpu_s=round(cpu, 2),
                            wall_s=round(wall, 2), mi=round(res.mi, 4), truth=round(float(task.mi), 4)))
            print(f"{name:45s} d={out[-1]['d']:3d} {est:5s} ({path:7s}) wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
                  f"I = {res.mi:.3f} (truth {task.mi:.3f}) nats", flush=True)
    meta = dict(threads=args.threads, n=args.n, load_before=os.getloadavg()[0])
    Path(args.out).write_text(json.dumps(dict(meta=meta, runs=out), indent=1) + "\n")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split")
    s.set_defaults(func=lambda a: print(json.dumps(dict(zip(("choose", "report"), split_tasks())), indent=1)) or 0)
    r = sub.add_parser("run")
    r.add_argument("config")
    r.add_argument("--out", required=True)
    r.add_argument("--only", default=None, help="comma list of labels to run")
    r.add_argument("--seeds", default=None, help="comma list of seeds to run (default: the config's)")
    r.add_argument("--min-dim", type=int, default=0, help="only tasks with d_x + d_y >= this")
    r.add_argument("--executor", default="local")
    r.add_argument("--workers", type=int, default=2)
    r.set_defaults(func=cmd_run)
    rt = sub.add_parser("retire", help="copy a results folder, relabelling one label (e.g. auto -> auto-v3)")
    rt.add_argument("src")
    rt.add_argument("dst")
    rt.add_argument("--label", required=True)
    rt.add_argument("--as", dest="as_label", required=True)
    rt.add_argument("--prefix", required=True, help="run-id prefix of the relabelled rows, e.g. v3-")
    rt.set_defaults(func=cmd_retire)
    a = sub.add_parser("analyze")
    a.add_argument("dirs", nargs="+")
    a.add_argument("--out", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--default", default=None)
    a.add_argument("--seeds", default=None, help="comma list of seeds to keep")
    a.add_argument("--relabel", default=None, help="OLD=NEW,... label renames (applied first)")
    a.add_argument("--baselines", default=None)
    a.add_argument("--plot", action="store_true")
    a.add_argument("--labels", default=None, help="comma list of labels to keep")
    a.add_argument("--derive", action="append", help="add auto rows rebuilt from components: DIM[:nofloor][:copula][:std]")
    a.add_argument("--paired", default=None, help="labels to compare with --default on common (task, seed)")
    a.set_defaults(func=cmd_analyze)
    c = sub.add_parser("calibrate", help="auto's bias allowance from choose-half rows (docs/accuracy/calibration.json)")
    c.add_argument("dirs", nargs="+")
    c.add_argument("--out", required=True)
    c.add_argument("--label", default="auto")
    c.add_argument("--target", type=float, default=0.95)
    c.set_defaults(func=cmd_calibrate)
    w = sub.add_parser("sweep-neural", help="compare neural-path settings on the choose half (NEURAL_SWEEP)")
    w.add_argument("--out", required=True, help="resumable JSON of per-run results")
    w.add_argument("--gcmi", default="results/accuracy_choose", help="choose-run folder with the gcmi rows")
    w.add_argument("--seeds", default="0,1")
    w.add_argument("--only", default=None)
    w.add_argument("--table", default=None, help="write the Markdown table here")
    w.set_defaults(func=cmd_sweep_neural)
    cb = sub.add_parser("sweep-combine", help="named bounds, 4 critics: mean of estimates vs mean-score critic")
    cb.add_argument("--bounds", default="nwj,dv,smile,infonce", help="bounds to run ('' : only tabulate)")
    cb.add_argument("--seeds", default="0,1")
    cb.add_argument("--k", type=int, default=4)
    cb.add_argument("--out", required=True)
    cb.add_argument("--merge", action="append", help="another --out file to include in the table")
    cb.add_argument("--table", default=None)
    cb.set_defaults(func=cmd_sweep_combine)
    q = sub.add_parser("sweep-ksg", help="KSG's k and auto's adaptive rule on the choose half's low-d tasks")
    q.add_argument("--seeds", default="0,1,5,6,7,8,9,10,11,12")
    q.add_argument("--ks", default="1,2,3")
    q.add_argument("--gaps", default="0,0.01,0.02,0.03")
    q.add_argument("--zs", default="", help="also the noise-aware rules k = 1 if D > z se(D), D = KSG(1) - KSG(3), "
                   "se(D) the paired 10-block standard error (comma list of z; session 4 tried 1,1.5,2,3)")
    q.add_argument("--table", default=None)
    q.set_defaults(func=cmd_sweep_ksg)
    e = sub.add_parser("export", help="slim per-run CSV of results folders (committed next to the tables)")
    e.add_argument("dirs", nargs="+")
    e.add_argument("--out", required=True)
    e.add_argument("--seeds", default=None, help="comma list of seeds to keep")
    e.set_defaults(func=cmd_export)
    t = sub.add_parser("timing", help="seconds per default estimate (auto) vs KSG, n = 5000")
    t.add_argument("--out", required=True)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--n", type=int, default=5000)
    t.add_argument("--tasks", default=",".join(TIMING_TASKS))
    t.set_defaults(func=cmd_timing)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
