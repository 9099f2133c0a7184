"""The staircase (5 estimators x 5 MI levels) end to end vs the same work as separate trainings.

Protocol of Poole et al. (2019) / Song & Ermon (2020) as ``mi_estimators.bench.staircase.run_staircase``
runs it: Gaussian, dim 20, MI 2, 4, 6, 8, 10 nats, batch 64, Adam 5e-4, separable critic
(20->256->256->32 per side), a fresh batch every step and the batch estimate recorded at
every step. Estimators: infonce, nwj, js, smile, dv. Contenders, each in a fresh
single-threaded subprocess, rounds interleaved:

``toolkit``   one call of ``run_staircase`` with the 5 estimators (what ``mi-bench staircase`` runs:
              the 5 critics train as one 5-member ensemble, one batched step per step);
``separate``  5 separate trainings: ``run_staircase`` with one estimator, each in its own
              process (wall time summed, process start-up included, as when a user runs the
              papers' scripts once per estimator); ``separate (in-process)`` excludes start-up.

Same seeds and batches, so the toolkit's estimates must equal the separate runs' exactly
(checked and printed).

Run:  .venv/bin/python benchmarks/bench_staircase.py [--steps-per-level 200] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

SCRIPT = Path(__file__).resolve()
ESTIMATORS = ("infonce", "nwj", "js", "smile", "dv")
LEVELS = (2.0, 4.0, 6.0, 8.0, 10.0)
DIM, BATCH, LR, SEED = 20, 64, 5e-4, 0


def _level_means(est_by_label: dict[str, list[float]], spl: int) -> dict[str, list[float]]:
    """Mean estimate over the second half of each level, per estimator."""
    out = {}
    for lab, est in est_by_label.items():
        out[lab] = [statistics.fmean(est[i * spl + spl // 2:(i + 1) * spl]) for i in range(len(LEVELS))]
    return out


def worker_toolkit(estimators, spl: int) -> dict:
    from mi_estimators.bench.staircase import run_staircase

    H.single_thread()
    t0 = time.perf_counter()
    rows = run_staircase(estimators=list(estimators), critic="separable", levels=LEVELS, steps_per_level=spl,
                         dim=DIM, batch_size=BATCH, lr=LR, seed=SEED)
    sec = time.perf_counter() - t0
    est = {e: [r["estimate"] for r in rows if r["label"] == e] for e in estimators}
    return {"seconds": sec, "last": {e: v[-1] for e, v in est.items()}, "levels": _level_means(est, spl)}


def _run(args_list: list[str]) -> tuple[dict, float]:
    env = dict(__import__("os").environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(SCRIPT), *args_list], capture_output=True, text=True, env=env,
                          cwd=str(H.REPO), timeout=7200)
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith(H.RESULT_TAG):
            return json.loads(line[len(H.RESULT_TAG):]), wall
    raise RuntimeError(f"worker failed: {proc.stderr[-3000:]}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--estimators", default=",".join(ESTIMATORS))
    p.add_argument("--steps-per-level", type=int, default=200,
                   help="training steps per MI level (default 200; the papers use 4000)")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    ests = args.estimators.split(",")
    spl = args.steps_per_level
    if args.worker == "toolkit":
        H.emit(worker_toolkit(ests, spl))
        return 0

    common = ["--steps-per-level", str(spl)]
    print(f"# Staircase: {len(ests)} estimators x {len(LEVELS)} MI levels x {spl} steps per level, "
          f"batch {BATCH}, dim {DIM}, separable critic (seconds, end to end)")
    print("# " + H.machine_line())
    rec: dict[str, list[float]] = {k: [] for k in
                                   ("toolkit", "separate", "separate (in-process)")}
    outs = {}

    def toolkit():
        r, wall = _run(["--worker", "toolkit", "--estimators", ",".join(ests), *common])
        rec["toolkit"].append(wall)
        outs["toolkit"] = r

    def separate():
        walls, inproc = 0.0, 0.0
        for e in ests:
            r, wall = _run(["--worker", "toolkit", "--estimators", e, *common])
            walls += wall
            inproc += r["seconds"]
            outs.setdefault("separate", {})[e] = r
        rec["separate"].append(walls)
        rec["separate (in-process)"].append(inproc)

    jobs = [toolkit, separate]
    for r in range(args.rounds):
        for j in jobs[r % len(jobs):] + jobs[:r % len(jobs)]:
            j()
        print(f"  round {r + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in rec.items()), flush=True)

    ref = statistics.median(rec["toolkit"])
    rows = [[k, statistics.median(v), f"{min(v):.3g}-{max(v):.3g}", statistics.median(v) / ref] for k, v in rec.items()]
    print()
    print(H.markdown_table(["contender", "median s", "range", "time / toolkit"], rows))
    sep = statistics.median(rec["separate"])
    print(f"\nseparate trainings / toolkit staircase: {sep / ref:.2f}x;  in-process only: "
          f"{statistics.median(rec['separate (in-process)']) / ref:.2f}x")
    so = outs["separate"]
    diff = max(abs(a - b) for e in ests for a, b in zip(so[e]["levels"][e], outs["toolkit"]["levels"][e]))
    last = max(abs(so[e]["last"][e] - outs["toolkit"]["last"][e]) for e in ests)
    print(f"toolkit vs separate runs: max |diff| of level means {diff:.2e} nats, "
          f"of the final-step estimates {last:.2e} nats")
    print("\nlevel means (second half of each level), toolkit, nats:")
    print(H.markdown_table(["estimator", *[f"MI {v:g}" for v in LEVELS]],
                           [[e, *outs["toolkit"]["levels"][e]] for e in ests]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
