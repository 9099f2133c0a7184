"""Side by side with diffusion-mi's MINDE (Franzese et al., ICLR 2024) on the high-MI tasks (issue 21).

MINDE lives in its own virtual environment (it pulls lightning, torchvision and another torch):

    bash benchmarks/_minde_env.sh /tmp/minde-venv
    .venv/bin/python benchmarks/peers_minde.py --md docs/peers-highmi.md

For each task (default: the report-half twins of the spiral at d = 5 and 6, 8, 10 nats, run seed 2,
n = 5000: MINDE costs minutes per estimate on a CPU, so the set is small) the samples are drawn once
here, exactly as ``mi-bench run`` and ``benchmarks/highmi_staircase.py`` draw them
(``bench.sweep._seeds``), and every contender sees the same arrays: our default ``estimate_mi(x, y)``
(and ``flow`` when the registry has it) in this process, MINDE in a subprocess of the MINDE
environment reading the arrays from an ``.npz`` file (``--worker``). One torch thread each.
MINDE runs as ``dmi.estimators.MINDEEstimator`` (type "c", the package's defaults otherwise) with
``--epochs`` epochs at ``--batch-size`` and ``--lr``, trained and evaluated on the whole sample as
its ``fit`` / ``estimate`` do; its ``estimate`` value is the one compared (its ``MI (sigma)``
variant is recorded too). Time: the call's wall time and CPU time (MINDE: fit + estimate, without
the subprocess's start-up, which is recorded separately); on a shared machine the CPU time is the
fairer cost. ``--rerun auto,flow,minde`` redoes those rows (one clean pass for timings). Rows go to ``results/peers_minde/rows.jsonl``
as they finish; a rerun skips finished (task, contender) pairs. nats.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import _harness as H  # noqa: E402  (imports neither torch nor mi_estimators)

TAG = "MINDE-RESULT "


# --------------------------------------------------------------------------- MINDE side (its venv)
def worker(npz: str, epochs: int, batch_size: int, lr: float, seed: int) -> None:
    """Fit and evaluate MINDE on the arrays of ``npz``; print one tagged JSON line."""
    import logging

    import numpy as np
    import torch

    torch.set_num_threads(1)
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from importlib.metadata import version

    from dmi.estimators import MINDEEstimator

    data = np.load(npz)
    x, y = data["x"], data["y"]
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = MINDEEstimator(x_shape=x.shape[1:], y_shape=y.shape[1:], batch_size=batch_size, max_epochs=epochs,
                           learning_rate=lr, device="cpu", seed=seed)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(x, y)
    fit_s = time.perf_counter() - t0
    model.eval()
    xs = torch.tensor((x - x.mean(0)) / x.std(0), dtype=torch.float32)
    ys = torch.tensor((y - y.mean(0)) / y.std(0), dtype=torch.float32)
    mi, mi_sigma = model.compute_mi(data={"x0": xs, "x1": ys})   # what estimate() computes, both values
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(TAG + json.dumps(dict(estimate=float(mi), estimate_sigma=float(mi_sigma), fit_s=fit_s, time_s=total, cpu_s=cpu,
                                versions=dict(diffusion_mi=version("diffusion-mi"), torch=torch.__version__))),
          flush=True)


# --------------------------------------------------------------------------- our side
def samples(task_name: str, seed: int, n: int):
    import synthetic
    from mi_estimators.bench.sweep import _seeds

    task = synthetic.get_task(task_name)
    data_seed, model_seed = _seeds(seed)
    x, y = task.sample(n, seed=data_seed)
    return task, x, y, model_seed


def run_ours(name: str, x, y, model_seed: int) -> dict:
    import warnings

    from mi_estimators import estimate_mi

    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = estimate_mi(x, y, name, seed=model_seed) if name != "auto" else estimate_mi(x, y, seed=model_seed)
    lo, hi = r.interval if r.interval is not None else (math.nan, math.nan)
    return dict(estimate=float(r.mi), ci_low=float(lo), ci_high=float(hi), time_s=time.perf_counter() - t0,
                cpu_s=time.process_time() - c0, warnings=" | ".join(map(str, r.warnings))[:300])


def run_minde(venv: Path, x, y, args) -> dict:
    import numpy as np

    py = venv / "bin" / "python"
    if not py.exists():
        return dict(error=f"no MINDE environment at {venv} (run: bash benchmarks/_minde_env.sh {venv})")
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "xy.npz"
        np.savez(npz, x=x, y=y)
        cmd = [str(py), str(Path(__file__).resolve()), "--worker", str(npz), "--epochs", str(args.epochs),
               "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--seed", str(args.seed)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, timeout=args.timeout,
                              env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore"))
        wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith(TAG):
            row = json.loads(line[len(TAG):])
            row["wall_with_startup_s"] = wall
            return row
    return dict(error=f"MINDE worker exited {proc.returncode}: {proc.stderr[-1500:].strip()}")


# --------------------------------------------------------------------------- table
def table(rows: list[dict], args) -> str:
    labels = list(dict.fromkeys(r["label"] for r in rows))
    vers = next((r.get("versions") for r in rows if r.get("versions")), None)
    lines = ["# Side by side with diffusion-mi's MINDE on the high-MI tasks (issue 21)", "",
             f"Generated by `.venv/bin/python benchmarks/peers_minde.py --md docs/peers-highmi.md` "
             f"(MINDE in its own environment: `bash benchmarks/_minde_env.sh`). n = {args.n}, run seed {args.seed}, "
             "one run per cell, every contender on the same arrays; one torch thread each, on 2 CPU cores shared "
             "with other jobs, so times are indicative. MINDE: `dmi.estimators.MINDEEstimator` (type c), "
             f"{args.epochs} epochs, batch {args.batch_size}, lr {args.lr:g}, fit and evaluated on the whole sample"
             + (f" (diffusion-mi {vers['diffusion_mi']}, torch {vers['torch']})" if vers else "") + ".", "",
             "Cell: estimate (|error|), wall seconds / CPU seconds of the call (one thread each, so CPU "
             "seconds are the cost without the wait for a shared core). nats.", ""]

    def cell_text(r, truth):
        if r.get("error"):
            return "failed (see below)"
        cpu = f" / {r['cpu_s']:.0f} s CPU" if "cpu_s" in r else ""
        return f"{r['estimate']:.2f} ({abs(r['estimate'] - truth):.2f}), {r['time_s']:.0f} s{cpu}"

    lines += H.task_label_table(rows, cell_text)
    lines.append("")
    for lab in labels:
        ok = [r for r in rows if r["label"] == lab and not r.get("error")]
        if ok:
            err = sum(abs(r["estimate"] - r["truth"]) for r in ok) / len(ok)
            sec = sum(r["time_s"] for r in ok) / len(ok)
            cpu = sum(r.get("cpu_s", math.nan) for r in ok) / len(ok)
            lines.append(f"- `{lab}`: mean |error| {err:.2f} nats, mean {sec:.1f} s wall, {cpu:.1f} s CPU per "
                         f"estimate ({len(ok)} runs)")
    sig = [r for r in rows if r["label"] == "minde" and not r.get("error")]
    if sig:
        lines.append("- MINDE's `MI (sigma)` variant on the same fits: " + ", ".join(
            f"{r['estimate_sigma']:.2f} (truth {r['truth']:g})" for r in sig))
    errs = [r for r in rows if r.get("error")]
    for r in errs:
        lines.append(f"- `{r['label']}` failed on `{r['task']}`: {r['error']}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--warp", default="spiral")
    p.add_argument("--dim", type=int, default=5)
    p.add_argument("--levels", default="6,8,10")
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--seed", type=int, default=2, help="run seed (default 2, the first report seed)")
    p.add_argument("--ours", default=None, help="comma list of our estimators (default auto, plus flow if present)")
    p.add_argument("--venv", default="/tmp/minde-venv")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--results", default=str(REPO / "results" / "peers_minde" / "rows.jsonl"))
    p.add_argument("--md", default=None, help="write the markdown table here")
    p.add_argument("--rerun", default="", help="comma list of contenders (auto, flow, minde) whose rows are redone")
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.epochs, args.batch_size, args.lr, args.seed)
        return 0

    import torch

    torch.set_num_threads(1)
    from highmi_staircase import report_task
    from mi_estimators import list_estimators

    ours = args.ours.split(",") if args.ours else ["auto"] + (["flow"] if "flow" in list_estimators() else [])
    out = Path(args.results)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    rerun = set(filter(None, args.rerun.split(",")))
    if rerun:
        rows = [r for r in rows if r["label"] not in rerun]
        out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = {(r["task"], r["label"], r["seed"], r["n"]) for r in rows}
    for level in (float(v) for v in args.levels.split(",")):
        name = report_task(args.warp, args.dim, level)
        task, x, y, model_seed = samples(name, args.seed, args.n)
        for label in ours + ["minde"]:
            if (name, label, args.seed, args.n) in done:
                continue
            res = run_minde(Path(args.venv), x, y, args) if label == "minde" else run_ours(label, x, y, model_seed)
            row = dict(task=name, label=label, seed=args.seed, n=args.n, truth=float(task.mi), **res)
            rows.append(row)
            with open(out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(json.dumps(row)[:300], flush=True)
    keep = {report_task(args.warp, args.dim, float(v)) for v in args.levels.split(",")}
    rows = [r for r in rows if r["task"] in keep and r["seed"] == args.seed and r["n"] == args.n]
    text = table(rows, args)
    print(text)
    if args.md:
        Path(args.md).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
