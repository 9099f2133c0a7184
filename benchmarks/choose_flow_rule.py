"""When should ``auto`` report the flow estimator (issue 21, item 5)? Components per run, rules offline.

For every (task, seed) of a half, the script runs, on the same samples, ``auto`` with the flow
switched off (``flow="off"``: the round-4 rule, whose ``details["auto"]["components"]`` hold the
copula test, the Gaussian-copula value and InfoNCE) and the ``"flow"`` estimator, and stores
both. Candidate rules are then functions of those components, evaluated without retraining:

* ``round4``: today's auto (InfoNCE floored by the Gaussian-copula value, or GCMI when the copula
  test passes);
* ``flow-if-rejected``: the flow where the copula test rejects, else round4;
* ``flow-if-rejected-or-ceiling``: also where InfoNCE is within ``CEILING_MARGIN`` of log B;
* ``flow-always``: the flow on every task auto trains critics on (d_x + d_y > 3);
* ``max-se``: the larger of round4 and the flow when they differ by more than their combined
  standard error (both approach the truth from below on these tasks: see the table).

Tasks: the high-MI choose half (``synthetic.choose_tasks("highmi")``; ``--half report``:
``report_tasks``) and the Beyond-Normal half with d_x + d_y > 3 (the only tasks whose auto path
the rule can change), n = 5000, seeds 0-1 (report: 2-4).

    python benchmarks/choose_flow_rule.py --out results/flow_rule_choose.json --table docs/accuracy/flow_rule_choose.md
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

CEILING_MARGIN = 0.5   # nats below log B at which InfoNCE counts as saturated


def tasks_for(half: str) -> list[str]:
    from accuracy import choose_tasks_by_dim, split_tasks

    import synthetic
    from mi_estimators.bench.sweep import get_task

    high = synthetic.choose_tasks("highmi") if half == "choose" else synthetic.report_tasks("highmi")
    bn = (choose_tasks_by_dim(high=True) if half == "choose"
          else [t for t in split_tasks()[1] if get_task(t).dim_x + get_task(t).dim_y > 3])
    return list(high) + list(bn)


def run_one(task_id: str, seed: int, row: dict | None = None, labels=("auto", "flow")) -> dict:
    from accuracy import sample_run

    from mi_estimators import estimate_mi

    task, x, y, model_seed = sample_run(task_id, seed)
    row = row or dict(task=task_id, seed=seed, truth=float(task.mi), d=int(x.shape[1] + y.shape[1]))
    from mi_estimators.auto import OWN_OPTIONS

    round4 = dict(flow="off") if "flow" in OWN_OPTIONS else {}   # before the rule landed, auto is round 4
    for label, kw in (("auto", round4), ("flow", dict(estimator="flow")), ("live", {})):
        if label not in labels:
            continue
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = estimate_mi(x, y, seed=model_seed, **kw)
        row[label] = dict(mi=r.mi, se=r.stderr, interval=list(r.interval), seconds=time.perf_counter() - t0,
                          warnings=[str(w) for w in r.warnings],
                          details=r.details.get("auto") if label in ("auto", "live") else None)
    return row


def _auto_parts(row):
    a = row["auto"]["details"]
    comps = a["components"]
    p = comps.get("copula_test", {}).get("pvalue")
    return a, comps, p


def rule_value(row, rule: str) -> tuple[float, float, float, str]:
    """``(mi, lo, hi, source)`` reported by ``rule`` for one stored run. ``round4``: auto as it
    was; ``flow-if-rejected``: the flow wherever the copula test rejects; ``max-se@T``: where the
    copula test rejects and round 4's value is >= T nats (or InfoNCE is within CEILING_MARGIN of
    log 128), the flow when it exceeds round 4 by more than their combined standard error."""
    auto, flow = row["auto"], row.get("flow")
    a, comps, p = _auto_parts(row)
    base = (auto["mi"], *auto["interval"], a["reported"])
    rejected = p is None or p < 0.01
    near_ceiling = "infonce" in comps and comps["infonce"]["mi"] > math.log(128) - CEILING_MARGIN
    if rule == "round4":
        return base
    if rule == "flow-if-rejected":
        if rejected and flow is None:
            raise KeyError(row["task"])
        return (flow["mi"], *flow["interval"], "flow") if rejected else base
    if rule.startswith("max-se@"):
        threshold = float(rule.split("@")[1])
        if not ((rejected and auto["mi"] >= threshold) or near_ceiling):
            return base
        if flow is None:
            raise KeyError(f"{row['task']}: the rule runs the flow here, but it was not run")
        gap = math.sqrt(auto["se"] ** 2 + flow["se"] ** 2)
        return (flow["mi"], *flow["interval"], "flow") if flow["mi"] > auto["mi"] + gap else base
    raise ValueError(rule)


RULES = ("round4", "flow-if-rejected", "max-se@1.5", "max-se@2.5", "max-se@3.5")


def live_table(rows) -> str:
    """The committed rule as it ran (``--only live``: ``estimate_mi(x, y)`` with its defaults)."""
    lines = ["| group | runs | mean abs err (nats) | mean rel err | coverage | flow reported | mean seconds |",
             "|---|---|---|---|---|---|---|"]
    for g, keep in GROUPS.items():
        sel = [r for r in rows if keep(r) and "live" in r]
        if not sel:
            continue
        err = [abs(r["live"]["mi"] - r["truth"]) for r in sel]
        rel = [e / r["truth"] for e, r in zip(err, sel)]
        cov = np.mean([r["live"]["interval"][0] <= r["truth"] <= r["live"]["interval"][1] for r in sel])
        flow = sum(r["live"]["details"]["reported"] == "flow" for r in sel)
        secs = np.mean([r["live"]["seconds"] for r in sel])
        lines.append(f"| {g} | {len(sel)} | {np.mean(err):.4f} | {100 * np.mean(rel):.1f} % | {cov:.2f} | {flow} | {secs:.1f} |")
    return "\n".join(lines) + "\n"


GROUPS = {"high-MI d=5": lambda r: r["task"].startswith("highmi") and "dim=5," in r["task"],
          "high-MI d=20": lambda r: r["task"].startswith("highmi") and "dim=20," in r["task"],
          "Beyond-Normal d>3": lambda r: not r["task"].startswith("highmi")}


def table(rows) -> str:
    groups = GROUPS
    lines = ["| rule | group | runs | mean abs err (nats) | mean rel err | coverage | seconds (auto / flow) |",
             "|---|---|---|---|---|---|---|"]
    for rule in RULES:
        for g, keep in groups.items():
            sel = [r for r in rows if keep(r)]
            if not sel:
                continue
            try:
                vals = [rule_value(r, rule) for r in sel]
            except KeyError:   # a flow value the rule needs was not run
                continue
            err = [abs(v[0] - r["truth"]) for v, r in zip(vals, sel)]
            rel = [e / max(r["truth"], 1e-12) for e, r in zip(err, sel)]
            cov = np.mean([v[1] <= r["truth"] <= v[2] for v, r in zip(vals, sel)])
            secs = (np.mean([r["auto"]["seconds"] for r in sel]),
                    np.mean([r["flow"]["seconds"] for r in sel if "flow" in r] or [math.nan]))
            lines.append(f"| {rule} | {g} | {len(sel)} | {np.mean(err):.4f} | {100 * np.mean(rel):.1f} % | "
                         f"{cov:.2f} | {secs[0]:.1f} / {secs[1]:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--table", default="")
    ap.add_argument("--half", choices=["choose", "report"], default="choose")
    ap.add_argument("--seeds", default="")
    ap.add_argument("--shard", default="0/1", help="i/m: every m-th task from the i-th")
    ap.add_argument("--no-run", action="store_true")
    ap.add_argument("--match", default="", help="only task ids containing this")
    ap.add_argument("--highmi-dims", default="5,20", help="dims per side of the high-MI tasks to run")
    ap.add_argument("--only", default="auto,flow", help="components to (re)run: auto, flow or both")
    ap.add_argument("--redo", action="store_true", help="rerun the --only components of stored runs")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = json.loads(path.read_text()) if path.exists() else {}
    seeds = [int(s) for s in (args.seeds or ("0,1" if args.half == "choose" else "2,3,4")).split(",")]
    i, m = (int(v) for v in args.shard.split("/"))
    dims = tuple(f"dim={d}," for d in args.highmi_dims.split(","))
    todo = [t for t in tasks_for(args.half) if (not t.startswith("highmi") or any(d in t for d in dims))
            and args.match in t]
    for task_id in ([] if args.no_run else todo[i::m]):
        for seed in seeds:
            key = f"{task_id}|{seed}"
            only = [c for c in args.only.split(",") if args.redo or c not in done.get(key, {})]
            if not only:
                continue
            done[key] = r = run_one(task_id, seed, done.get(key), only)
            print(key, *(f"{c} {r[c]['mi']:.3f} ({r[c]['seconds']:.0f} s)" for c in only), f"truth {r['truth']:.3f}",
                  flush=True)
            path.write_text(json.dumps(done, indent=1))
    rows = [r for r in done.values() if r["seed"] in seeds]
    text = (live_table(rows) if "live" in args.only.split(",")
            else table([r for r in rows if "auto" in r]))
    print(text)
    if args.table:
        Path(args.table).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
