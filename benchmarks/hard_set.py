"""The hard set of issue 19: the default ``estimate_mi(x, y)`` on cases with exact truths that
broke it before — linear mixing of each side up to condition number 1e4, small n with warped
dependence, high-dimensional spirals, discrete and mixed columns, heavy tails.

For every run it records the estimate, the interval, the truth, ``result.warnings`` and auto's
method and reason (``result.details["auto"]``), and counts **silent misses**: an interval that
excludes the truth by more than 10 % of it while ``result.warnings`` is empty (target 0).

    python benchmarks/hard_set.py                  # all runs, fresh: docs/accuracy/hard_set_runs.jsonl
    python benchmarks/hard_set.py --resume         # skip the runs already in the jsonl
    python benchmarks/hard_set.py --table-only     # rewrite docs/accuracy/hard_set.md from the jsonl
    python benchmarks/hard_set.py --only mix       # cases whose id contains 'mix'

Each run is appended to the jsonl as it finishes (a killed run loses only the case in
flight); the table ``docs/accuracy/hard_set.md`` and ``hard_set.json`` (the summary) are
rewritten at the end. One torch thread. Units: nats.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "accuracy"

#: A miss is "silent" when the interval excludes the truth by more than this fraction of it
#: and ``result.warnings`` is empty.
MISS_FRACTION = 0.10
#: A warning that only says the batch was lowered to fit n: it does not say the value may be off.
BATCH_ONLY = r"^(about the \w+ check .*?: )?batch_size lowered from"


def _case(group, task, n, seed=0, cond=None):
    cid = f"{group}|{task}|n={n}|seed={seed}" + (f"|cond={cond:g}" if cond else "")
    return {"id": cid, "group": group, "task": task, "n": n, "seed": seed, "cond": cond}


def cases() -> list[dict]:
    """The hard set (62 runs): the groups of issue 19's target, each with exact truths."""
    out = []
    # 1. linear mixing x -> A x, y -> B y (each of condition number cond); MI unchanged
    for task in ("multinormal-dense-3-3-0.5", "student-identity-3-3-2", "half_cube-multinormal-sparse-3-3-2-2.0",
                 "asinh-student-identity-2-2-1", "multinormal-dense-5-5-0.5", "spiral-multinormal-sparse-5-5-2-2.0"):
        for cond in (1e2, 1e4):
            out.append(_case("mix", task, 5000, 0, cond))
    for task in ("student-identity-3-3-2", "normal_cdf-multinormal-sparse-3-3-2-2.0", "multinormal-dense-2-2-0.5",
                 "student-identity-5-5-2"):
        out.append(_case("mix", task, 2000, 1, 1e3))
    out.append(_case("mix", "spiral-gaussian:dim=5,mi=2", 1000, 1, 1e3))      # small n and mixing together
    # 2. small n, warped dependence (5 + 5 dims)
    for task in ("spiral-gaussian:dim=5,mi=2", "spiral-multinormal-sparse-5-5-2-2.0",
                 "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0", "half_cube-multinormal-sparse-5-5-2-2.0"):
        for n in (200, 500, 1000):
            out.append(_case("small-n", task, n))
    for n in (500, 1000):
        out.append(_case("small-n", "highmi-spiral:dim=5,mi=2", n))
    # 3. high-dimensional spirals
    for task, n in (("spiral-gaussian:dim=50,mi=1", 5000), ("spiral-gaussian:dim=50,mi=1", 2000),
                    ("spiral-multinormal-dense-50-50-0.5", 5000), ("spiral-multinormal-sparse-25-25-2-2.0", 5000),
                    ("spiral-gaussian:dim=25,mi=2", 3000), ("highmi-spiral:dim=10,mi=4", 5000)):
        out.append(_case("spiral-hd", task, n))
    # 4. discrete and mixed columns
    for task, n in (("discrete:kx=2,ky=2,seed=0", 200), ("discrete:kx=5,ky=5,seed=0", 100), ("discrete:kx=5,ky=5,seed=0", 500),
                    ("discrete:kx=5,ky=5,seed=1,alpha=0.2", 1000), ("discrete:kx=20,ky=20,seed=0", 1000),
                    ("discrete:kx=20,ky=20,seed=1", 5000), ("discrete:kx=2,ky=20,seed=0", 300),
                    ("discrete-pairs:pairs=3,k=5,seed=0", 2000), ("mixed:k=2,sigma=0.5", 500),
                    ("mixed:k=5,sigma=0.3", 2000), ("mixed:k=10,sigma=1", 1000),
                    ("zero-inflated:p=0.1,rho=0.9", 2000), ("zero-inflated:p=0.5,rho=0.5", 1000)):
        out.append(_case("discrete-mixed", task, n))
    # 5. heavy tails (Student-t, closed-form truths)
    for task, n in (("student-identity-1-1-1", 1000), ("student-identity-1-1-1", 5000),
                    ("student-identity-2-2-1", 2000), ("student-identity-3-3-2", 1000),
                    ("student-identity-5-5-2", 5000), ("student-identity-5-5-3", 1000),
                    ("student:dim_x=3,dim_y=3,df=1", 2000), ("student:dim_x=10,dim_y=10,df=2", 5000),
                    ("asinh-student-identity-5-5-2", 2000), ("spiral-student:dim_x=3,dim_y=3,df=2", 1000),
                    ("student:dim_x=1,dim_y=1,df=1", 300), ("student:dim_x=2,dim_y=2,df=5", 500)):
        out.append(_case("heavy-tails", task, n))
    return out


def _conditioned(dim: int, cond: float, rng) -> np.ndarray:
    """A random dim x dim matrix with singular values from 1 down to 1/cond."""
    q1, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    q2, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q1 @ np.diag(np.geomspace(1.0, 1.0 / cond, dim)) @ q2


def run_case(case: dict) -> dict:
    """One default ``estimate_mi(x, y)`` on the case's sample; never raises (errors are rows)."""
    from mi_estimators import estimate_mi
    from mi_estimators.bench.sweep import _seeds, get_task

    task = get_task(case["task"])
    data_seed, model_seed = _seeds(case["seed"])
    x, y = task.sample(case["n"], seed=data_seed)
    if case["cond"]:
        rng = np.random.default_rng([case["seed"], 19])
        x = x @ _conditioned(x.shape[1], case["cond"], rng).T
        y = y @ _conditioned(y.shape[1], case["cond"], rng).T
    row = {**case, "truth": float(task.mi), "truth_stderr": float(getattr(task, "mi_stderr", 0.0) or 0.0),
           "dim_x": int(x.shape[1]), "dim_y": int(y.shape[1])}
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = estimate_mi(x, y, seed=model_seed)
    except Exception as exc:  # noqa: BLE001 - a refusal or crash is a result here
        row.update(status="error", error=f"{type(exc).__name__}: {exc}"[:500], seconds=time.perf_counter() - t0)
        return row
    auto = (res.details or {}).get("auto", {})
    row.update(status="ok", estimate=float(res.mi), lo=float(res.interval[0]), hi=float(res.interval[1]),
               warnings=list(res.warnings), method=auto.get("method", ""), reason=auto.get("reason", ""),
               seconds=time.perf_counter() - t0)
    return row


def judge(row: dict) -> dict:
    """covered / miss beyond 10 % of the truth / silent miss, for an ok row."""
    if row.get("status") != "ok":
        return {"covered": False, "far_miss": False, "silent_miss": False, "batch_note_only": False}
    truth, lo, hi = row["truth"], row["lo"], row["hi"]
    covered = lo <= truth <= hi
    gap = max(lo - truth, truth - hi, 0.0)
    far = gap > MISS_FRACTION * abs(truth)
    about_value = [w for w in row["warnings"] if not re.search(BATCH_ONLY, w)]
    return {"covered": covered, "far_miss": far, "silent_miss": far and not row["warnings"],
            "batch_note_only": far and bool(row["warnings"]) and not about_value}


def _git_head() -> str:
    """The commit the run starts from, and the package files that differ from it (the code that
    ran is the working tree's, imported once at the start)."""
    try:
        git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True,  # noqa: E731
                                        check=True).stdout
        dirty = [line[3:] for line in git("status", "--short", "mi_estimators").splitlines() if line[:2] != "??"]
        head = git("rev-parse", "--short", "HEAD").strip()
        return head + (f" with uncommitted changes to {', '.join(dirty)}" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def summarise(rows: list[dict]) -> dict:
    ok = [r for r in rows if r.get("status") == "ok"]
    judged = [(r, judge(r)) for r in ok]
    groups = {}
    for r, j in judged:
        g = groups.setdefault(r["group"], {"runs": 0, "covered": 0, "far_miss": 0, "silent_miss": 0, "warned": 0,
                                           "abs_error": 0.0})
        g["runs"] += 1
        g["covered"] += j["covered"]
        g["far_miss"] += j["far_miss"]
        g["silent_miss"] += j["silent_miss"]
        g["warned"] += bool(r["warnings"])
        g["abs_error"] += abs(r["estimate"] - r["truth"])
    for g in groups.values():
        g["mean_abs_error"] = g.pop("abs_error") / g["runs"]
    return {
        "runs": len(rows), "ok": len(ok), "errors": len(rows) - len(ok),
        "covered": sum(j["covered"] for _, j in judged), "far_miss": sum(j["far_miss"] for _, j in judged),
        "silent_miss": sum(j["silent_miss"] for _, j in judged),
        "far_miss_batch_note_only": sum(j["batch_note_only"] for _, j in judged),
        "silent_misses": [{k: r[k] for k in ("id", "estimate", "lo", "hi", "truth", "method", "reason")}
                          for r, j in judged if j["silent_miss"]],
        "groups": groups,
    }


def _short(text: str, width: int = 90) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= width else text[: width - 1] + "…"


def write_table(rows: list[dict], meta: dict) -> None:
    s = summarise(rows)
    lines = [
        "# The hard set (issue 19): the default `estimate_mi(x, y)` where it used to fail",
        "",
        f"Generated by `python benchmarks/hard_set.py` at commit {meta['commit']} on {meta['machine']} "
        f"({meta['date']}, {meta['seconds']:.0f} s, one torch thread, shared 2-core machine). Units: nats. "
        "Each side of a `mix` case is multiplied by a random matrix of the given condition number (MI unchanged). "
        f"A **silent miss** is an interval that excludes the truth by more than {MISS_FRACTION:.0%} of it with "
        "`result.warnings` empty; a *far miss* is the same with or without warnings.",
        "",
        f"**{s['runs']} runs: {s['ok']} answered, {s['errors']} refused; coverage {s['covered']}/{s['ok']}; "
        f"far misses {s['far_miss']}; silent misses {s['silent_miss']}; far misses whose only warning is the "
        f"batch-size note (which does not say the value may be off): {s['far_miss_batch_note_only']}.**",
        "",
        "| group | runs | covered | far misses | silent misses | warned | mean abs error |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, g in s["groups"].items():
        lines.append(f"| {name} | {g['runs']} | {g['covered']} | {g['far_miss']} | {g['silent_miss']} | "
                     f"{g['warned']} | {g['mean_abs_error']:.3f} |")
    lines += ["", "| case | truth | estimate | interval | covered | method | warnings / error |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        r = {**r, "id": r["id"].replace("|", " · ")}
        if r.get("status") != "ok":
            lines.append(f"| {r['id']} | {r['truth']:.3f} | refused | | | | {_short(r['error'])} |")
            continue
        j = judge(r)
        mark = "yes" if j["covered"] else ("**SILENT MISS**" if j["silent_miss"] else
                                           "far miss (batch note only)" if j["batch_note_only"] else
                                           "far miss" if j["far_miss"] else "near miss")
        warn = _short("; ".join(r["warnings"]), 120) if r["warnings"] else ""
        lines.append(f"| {r['id']} | {r['truth']:.3f} | {r['estimate']:.3f} | {r['lo']:.3f} – {r['hi']:.3f} | "
                     f"{mark} | {r['method']} | {warn} |")
    lines += ["", "auto's reason for each run is in `hard_set_runs.jsonl` (`reason`)."]
    (OUT / "hard_set.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (OUT / "hard_set.json").write_text(json.dumps({**meta, **s}, indent=1, default=str) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resume", action="store_true", help="keep the runs already in the jsonl")
    ap.add_argument("--table-only", action="store_true", help="only rewrite the table from the jsonl")
    ap.add_argument("--only", default="", help="run the cases whose id contains this text")
    ap.add_argument("--runs", default=str(OUT / "hard_set_runs.jsonl"))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    path = Path(args.runs)
    if not (args.resume or args.table_only) and path.exists():
        path.unlink()
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[row["id"]] = row
    todo = [] if args.table_only else [c for c in cases() if args.only in c["id"] and c["id"] not in done]
    t0, commit = time.time(), _git_head()
    from mi_estimators import estimate_mi  # noqa: F401 - imported now: the code that runs is this one
    for i, case in enumerate(todo, 1):
        row = run_case(case)
        done[row["id"]] = row
        with path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        j = judge(row)
        print(f"[{i}/{len(todo)}] {row['id']}: " + (
            f"{row['estimate']:.3f} ({row['lo']:.3f}-{row['hi']:.3f}) truth {row['truth']:.3f} {row['method']} "
            f"{'covered' if j['covered'] else 'SILENT MISS' if j['silent_miss'] else 'miss'} "
            f"warn={len(row['warnings'])} {row['seconds']:.0f}s" if row["status"] == "ok" else row["error"][:200]),
            flush=True)
    order = [c["id"] for c in cases()]
    rows = [done[c] for c in order if c in done] + [r for k, r in done.items() if k not in order]
    meta = {"commit": commit, "machine": f"{platform.machine()} CPU ({os.cpu_count()} cores)",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seconds": time.time() - t0}
    previous = OUT / "hard_set.json"
    if not todo and previous.exists():   # only re-tabulating: keep the run's own record
        meta.update({k: v for k, v in json.loads(previous.read_text()).items() if k in meta})
    write_table(rows, meta)
    s = summarise(rows)
    print(f"{s['runs']} runs, {s['ok']} ok, coverage {s['covered']}/{s['ok']}, far misses {s['far_miss']}, "
          f"silent misses {s['silent_miss']}, far misses with only the batch note {s['far_miss_batch_note_only']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
