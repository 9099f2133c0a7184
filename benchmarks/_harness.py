"""Shared helpers of the benchmark scripts: subprocess workers, per-step timing, summaries.

Each contender runs in a fresh subprocess with one intra-op thread (``torch.set_num_threads(1)``
and ``OMP_NUM_THREADS=1``), does warm-up steps, then times N steps one by one with
``time.perf_counter``. The parent interleaves contenders round by round (the machine is
shared, so load drifts) and reports the median over rounds of each run's median step time.

This module imports neither torch nor mi_estimators at import time: the torch-mist
contenders run it under another virtual environment's interpreter.
"""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULT_TAG = "BENCH-RESULT "

# The Poole et al. (2019) / Song & Ermon (2020) setting of issue 9.
DIM = 20
MI_NATS = 4.0
BATCH = 128
HIDDEN = (256, 256)
EMBED = 32
LR = 5e-4


def gaussian_rho(dim: int = DIM, mi: float = MI_NATS) -> float:
    """Per-coordinate correlation giving ``mi`` nats over ``dim`` independent pairs:
    I = -dim/2 * log(1 - rho^2)."""
    return math.sqrt(1.0 - math.exp(-2.0 * mi / dim))


def make_batches(n_batches: int, batch: int = BATCH, dim: int = DIM, mi: float = MI_NATS, seed: int = 0):
    """A pool of (x, y) float32 batches of the correlated Gaussian, drawn with torch (so the
    torch-mist environment needs nothing from this repository)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    rho = gaussian_rho(dim, mi)
    out = []
    for _ in range(n_batches):
        x = torch.randn(batch, dim, generator=g)
        y = rho * x + math.sqrt(1.0 - rho * rho) * torch.randn(batch, dim, generator=g)
        out.append((x, y))
    return out


def single_thread() -> None:
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)


def time_steps(step, warmup: int, n: int) -> list[float]:
    """Run ``step(i)`` ``warmup`` times untimed, then ``n`` times; return ms per step.

    On the CPU every op is synchronous, so wall time around each step is the step's cost.
    """
    for i in range(warmup):
        step(i)
    times = []
    for i in range(warmup, warmup + n):
        t0 = time.perf_counter()
        step(i)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def summarize(times_ms: list[float]) -> dict:
    s = sorted(times_ms)
    p90 = s[min(len(s) - 1, int(math.ceil(0.9 * len(s))) - 1)]
    return {"median": statistics.median(s), "mean": statistics.fmean(s), "p90": p90, "n": len(s)}


def emit(result: dict) -> None:
    """Worker side: print the result as one tagged JSON line."""
    print(RESULT_TAG + json.dumps(result), flush=True)


def run_worker(python: str, script: Path, name: str, extra: list[str] | None = None,
               timeout: float = 900) -> dict:
    """Run ``python script --worker name ...`` in a fresh single-threaded process; parse its result."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [python, str(script), "--worker", name, *(extra or [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=str(REPO))
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    raise RuntimeError(f"worker {name!r} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def interleave(contenders: dict, rounds: int, log=print) -> dict[str, list[dict]]:
    """Run every contender once per round, rotating the order each round.

    ``contenders`` maps a name to a zero-argument callable returning a worker result dict.
    Returns name -> list of results (one per round).
    """
    names = list(contenders)
    results: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for n in order:
            res = contenders[n]()
            results[n].append(res)
            med = res.get("median")
            log(f"  round {r + 1}/{rounds}  {n:<34s} median {med:9.3f} ms" if med is not None
                else f"  round {r + 1}/{rounds}  {n:<34s} done")
        sys.stdout.flush()
    return results


def combine(runs: list[dict], key: str = "median") -> dict:
    """Median over rounds of a per-run statistic, with the spread (min, max) as the noise."""
    vals = [r[key] for r in runs]
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "rounds": len(vals),
            "mean_of_means": statistics.fmean(r.get("mean", r[key]) for r in runs),
            "p90_median": statistics.median(r.get("p90", r[key]) for r in runs)}


def markdown_table(header: list[str], rows: list[list]) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line() -> str:
    import platform

    try:
        import torch

        tv = torch.__version__
    except ImportError:  # pragma: no cover
        tv = "?"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {tv}, "
            f"1 intra-op thread per contender, load average {os.getloadavg()[0]:.2f} at start")


def task_label_table(rows: list[dict], cell_text) -> list[str]:
    """Markdown lines of a task x label table: a header, then one line per task (in first-seen
    order) with its truth and, per label, ``cell_text(row, truth)``, or ``-`` where the pair did
    not run. ``rows``: dicts with ``task``, ``label`` and ``truth``."""
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    labels = list(dict.fromkeys(r["label"] for r in rows))
    cell = {(r["task"], r["label"]): r for r in rows}
    lines = ["| task | truth | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for t in tasks:
        truth = next(r["truth"] for r in rows if r["task"] == t)
        cells = ["-" if cell.get((t, lab)) is None else cell_text(cell[(t, lab)], truth) for lab in labels]
        lines.append(f"| `{t}` | {truth:g} | " + " | ".join(cells) + " |")
    return lines


def record_run(out: Path, rec: dict, compute) -> dict:
    """Time ``compute()`` (a dict of results, merged into ``rec``; a ValueError — a refusal or a
    diverged training, a result too — is recorded as ``mi=None, error=...``), add ``seconds``,
    append ``rec`` to the JSON-lines file ``out`` and print it. Returns ``rec``."""
    t0 = time.perf_counter()
    try:
        rec.update(compute())
    except ValueError as exc:
        rec.update(mi=None, error=str(exc)[:300])
    rec["seconds"] = time.perf_counter() - t0
    with out.open("a") as fh:
        fh.write(json.dumps(rec) + "\n")
    print(json.dumps(rec), flush=True)
    return rec

