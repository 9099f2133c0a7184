"""Accuracy of conditional MI and of discrete / mixed MI on tasks with exact truths (issue 18).

    python benchmarks/cmi_accuracy.py run --half choose --out results/cmi_choose.json
    python benchmarks/cmi_accuracy.py table results/cmi_choose.json --md docs/accuracy/cmi_choose.md
    python benchmarks/cmi_accuracy.py run --half report --out results/cmi_report.json   # once, after the rule

Each run samples n pairs (triples) of a task (``synthetic.choose_tasks`` / ``report_tasks`` of
the groups ``"cmi"`` and ``"discrete"``) with a data seed derived from (task, seed), estimates
with every method, and stores estimate, interval and seconds in a resumable JSON file
(one key per task|method|seed). The table gives the mean |error| (nats) per method and
family, and the coverage of the 95 % intervals.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
import warnings
from pathlib import Path

CMI_METHODS = ("auto", "gaussian-copula", "ksg", "neural")
MI_METHODS = ("auto", "discrete", "mixed-ksg", "ksg")


def _seed(task: str, seed: int) -> int:
    return int(hashlib.sha256(f"{task}|{seed}".encode()).hexdigest()[:8], 16)


def _family(task: str) -> str:
    return task.split(":")[0]


def _applies(task: str, method: str) -> bool:
    fam = _family(task)
    if method == "discrete":
        return fam in ("discrete", "discrete-pairs", "discrete-cmi")
    if method == "mixed-ksg":
        return fam not in ("gaussian-cmi", "discrete-cmi")
    return True


def run_one(task_name: str, method: str, seed: int, n: int) -> dict:
    import synthetic
    from mi_estimators import estimate_cmi, estimate_mi

    task = synthetic.get_task(task_name)
    conditional = hasattr(task, "cmi")
    data = task.sample(n, seed=_seed(task_name, seed))
    truth = float(task.cmi if conditional else task.mi)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = (estimate_cmi(*data, method=method, seed=seed) if conditional
                   else estimate_mi(*data, estimator=method, seed=seed))
        except ValueError as exc:
            return dict(task=task_name, method=method, seed=seed, truth=truth, status="error", error=str(exc)[:300])
    auto = (res.details or {}).get("auto", {})
    return dict(task=task_name, method=method, seed=seed, truth=truth, status="ok", estimate=res.mi,
                ci_low=res.interval[0], ci_high=res.interval[1], stderr=res.stderr,
                seconds=time.perf_counter() - t0, chosen=auto.get("method", auto.get("reported", "")),
                warned=bool(res.warnings) or bool(caught))


def cmd_run(args) -> int:
    import synthetic

    out = Path(args.out)
    rows = json.loads(out.read_text()) if out.exists() else {}
    half = synthetic.choose_tasks if args.half == "choose" else synthetic.report_tasks
    tasks = [(t, CMI_METHODS) for t in half("cmi")] + [(t, MI_METHODS) for t in half("discrete")]
    seeds = [int(s) for s in args.seeds.split(",")]
    for task, methods in tasks:
        for method in methods:
            if not _applies(task, method) or (args.methods and method not in args.methods.split(",")):
                continue
            if args.families and _family(task) not in args.families.split(","):
                continue
            for seed in seeds:
                key = f"{task}|{method}|{seed}"
                if key in rows:
                    continue
                rows[key] = run_one(task, method, seed, args.n)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(rows, indent=0) + "\n")
                r = rows[key]
                print(f"{key}: {r.get('estimate', r.get('error'))} (truth {r['truth']:.4f})", flush=True)
    return 0


def cmd_table(args) -> int:
    import numpy as np

    rows = [r for r in json.loads(Path(args.results).read_text()).values()]
    fams = sorted({_family(r["task"]) for r in rows})
    methods = sorted({r["method"] for r in rows}, key=lambda m: (m != "auto", m))
    lines = ["| family | method | runs | mean abs error (nats) | coverage of the 95% interval | silent misses | "
             "errors | mean s |", "|---|---|---|---|---|---|---|---|"]
    for fam in fams:
        for m in methods:
            sel = [r for r in rows if _family(r["task"]) == fam and r["method"] == m]
            if not sel:
                continue
            ok = [r for r in sel if r["status"] == "ok"]
            if not ok:
                lines.append(f"| {fam} | {m} | {len(sel)} | — | — | — | {len(sel)} | — |")
                continue
            err = np.array([abs(r["estimate"] - r["truth"]) for r in ok])
            cover = np.mean([r["ci_low"] <= r["truth"] <= r["ci_high"] for r in ok])
            silent = sum(1 for r in ok if not r["warned"] and not (r["ci_low"] <= r["truth"] <= r["ci_high"])
                         and min(abs(r["ci_low"] - r["truth"]), abs(r["ci_high"] - r["truth"]))
                         > 0.1 * max(r["truth"], 0.01))
            lines.append(f"| {fam} | {m} | {len(ok)} | {err.mean():.4f} | {cover:.2f} | {silent} | "
                         f"{len(sel) - len(ok)} | {np.mean([r['seconds'] for r in ok]):.2f} |")
    text = "\n".join(lines)
    print(text)
    if args.md:
        Path(args.md).write_text(f"Source: `{args.results}`; n = {args.n_label}. Silent miss: the interval "
                                 "misses the truth by more than 10 % of it (or 0.001 nats at truth 0) with no "
                                 "warning.\n\n" + text + "\n")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--half", choices=["choose", "report"], required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--seeds", default="0,1,2")
    r.add_argument("--n", type=int, default=5000)
    r.add_argument("--methods", default="", help="comma list; default all")
    r.add_argument("--families", default="", help="comma list of task families; default all")
    r.set_defaults(func=cmd_run)
    t = sub.add_parser("table")
    t.add_argument("results")
    t.add_argument("--md")
    t.add_argument("--n-label", default="5000")
    t.set_defaults(func=cmd_table)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
