"""auto's critic input, per-column standardising vs whitening each block, on the Beyond-Normal
choose half (tasks with d_x + d_y > 3, seeds 0-1, n = 5000; --half report: the report half,
seeds 2-4, run once after the choice), plus the same tasks mixed by a
random linear map of condition number 100 on each side (MI unchanged): mean |error| (nats).

    python benchmarks/choose_whiten.py --out results/choose_whiten.json --table docs/accuracy/choose_whiten.md
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _conditioned(dim, cond, rng):
    q1, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    q2, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q1 @ np.diag(np.geomspace(1.0, 1.0 / cond, dim)) @ q2


def main(argv=None) -> int:
    from accuracy import choose_tasks_by_dim, sample_run, split_tasks

    from mi_estimators import estimate_mi

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--table", default="")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--half", choices=["choose", "report"], default="choose")
    ap.add_argument("--shard", default="0/1", help="i/m: run every m-th task from the i-th (parallel processes)")
    ap.add_argument("--no-run", action="store_true", help="only tabulate --out")
    args = ap.parse_args(argv)
    path = Path(args.out)
    res = json.loads(path.read_text()) if path.exists() else {}
    from mi_estimators.bench.sweep import get_task

    tasks = (choose_tasks_by_dim(high=True) if args.half == "choose"
             else [t for t in split_tasks()[1] if get_task(t).dim_x + get_task(t).dim_y > 3])
    i, m = (int(v) for v in args.shard.split("/"))
    for task_id in ([] if args.no_run else tasks[i::m]):
        for seed in (int(s) for s in args.seeds.split(",")):
            task, x, y, model_seed = sample_run(task_id, seed)
            rng = np.random.default_rng(seed)
            mixed = (x @ _conditioned(x.shape[1], 100, rng).T, y @ _conditioned(y.shape[1], 100, rng).T)
            for data_label, (a, b) in (("plain", (x, y)), ("mixed", mixed)):
                for transform in ("standardize", "whiten"):
                    key = f"{task_id}|{seed}|{data_label}|{transform}"
                    if key in res:
                        continue
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        r = estimate_mi(a, b, seed=model_seed, neural_transform=transform)
                    res[key] = dict(mi=r.mi, truth=float(task.mi), lo=r.interval[0], hi=r.interval[1],
                                    reported=r.details["auto"]["reported"])
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps(res, indent=0) + "\n")
                    print(key, round(r.mi, 4), round(float(task.mi), 4), r.details["auto"]["reported"], flush=True)
    lines = ["| data | critic input | runs | mean abs error (nats) | paired diff vs standardize | coverage |",
             "|---|---|---|---|---|---|"]
    for data_label in ("plain", "mixed"):
        base = {k.rsplit("|", 1)[0]: v for k, v in res.items() if k.endswith("|standardize") and f"|{data_label}|" in k}
        for transform in ("standardize", "whiten"):
            rows = {k.rsplit("|", 1)[0]: v for k, v in res.items() if k.endswith(f"|{transform}") and f"|{data_label}|" in k}
            common = sorted(set(rows) & set(base))
            err = np.array([abs(rows[c]["mi"] - rows[c]["truth"]) for c in common])
            d = np.array([abs(rows[c]["mi"] - rows[c]["truth"]) - abs(base[c]["mi"] - base[c]["truth"]) for c in common])
            cover = np.mean([rows[c]["lo"] <= rows[c]["truth"] <= rows[c]["hi"] for c in common])
            se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
            lines.append(f"| {data_label} | {transform} | {len(common)} | {err.mean():.4f} | {d.mean():+.4f} ± {se:.4f} | "
                         f"{cover:.2f} |")
    print("\n".join(lines))
    if args.table:
        Path(args.table).write_text(f"auto on the Beyond-Normal {args.half} half, tasks with d_x + d_y > 3, seeds "
                                    f"{args.seeds}, n = 5000; 'mixed': each side times a random matrix of condition "
                                    "number 100 (MI unchanged). Paired difference of |error| ± its standard error.\n\n"
                                    + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
