"""Stress campaign (issue 19, item 6): a seeded grid of hostile inputs through every public entry.

Inputs: shapes from 1x1 to 500x500 (d_x x d_y), n from 10 to 10^5, scales 1e-300 to 1e300,
Cauchy tails, ties, discrete columns, duplicated and constant columns, permuted rows, NaN and
inf. Calls: ``estimate_mi`` with the default (``auto``; ``steps`` cut to keep the campaign
cheap, the path choice unchanged), each nonparametric estimator, InfoNCE with a few steps,
``estimate_cmi``, ``independence_test`` and ``MIEstimator``.

Each call must give a finite result with an honest interval (finite, 0 <= lo <= estimate <= hi;
for the test a finite statistic and 0 < p <= 1) or raise a ``ValueError`` raised by our own
code (the raising frame is in ``mi_estimators``), whose message names its cause. Anything
else is a **crash** (another exception type, or a ValueError from inside numpy, scipy,
sklearn or torch) or a **bad result** (NaN, an interval that does not hold the estimate).

    python benchmarks/stress.py            # the full grid; prints the counts
    python benchmarks/stress.py --json results/stress.json

``tests/test_stress.py`` runs a CI-sized subset (:func:`grid` with ``size="ci"``).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import signal
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: (n, d_x, d_y) of the full grid: 1x1 to 500x500, n from 10 to 10^5.
SHAPES_FULL = [(10, 1, 1), (10, 5, 5), (30, 2, 1), (100, 1, 1), (100, 50, 50), (150, 500, 500),
               (300, 3, 3), (1000, 1, 1), (1000, 2, 2), (2000, 5, 5), (10_000, 1, 1), (10_000, 2, 2),
               (100_000, 1, 1)]
SHAPES_CI = [(10, 1, 1), (40, 2, 1), (200, 1, 1), (150, 40, 40), (300, 3, 3)]

#: How the data are made hostile (each on a correlated Gaussian pair unless it says otherwise).
KINDS = ["gaussian", "cauchy", "ties", "discrete", "duplicated", "constant", "permuted", "independent",
         "tiny", "huge", "mixed-scales", "nan", "inf"]

#: Every entry point: name -> (function of (x, y, z, seed) -> result, kind of result).
CALLS = ["auto", "ksg", "cca", "gaussian-copula", "sklearn-mi", "discrete", "mixed-ksg", "infonce",
         "cmi", "test", "MIEstimator"]

#: The regexes that name a refusal's cause (the first that matches), for the counts.
CAUSES = [
    ("non-finite input", r"NaN or inf"),
    ("one row", r"1 row"),
    ("too few samples", r"too few samples|needs? (at least )?n >=|must exceed k|k must be an integer in|k < n|"
                        r"at least \d+ samples|blocks of|for n = \d+"),
    ("singular / duplicated", r"singular|linearly dependent|duplicate|not positive definite|condition number"),
    ("constant column", r"constant"),
    ("not discrete", r"not discrete|non-integer|too many (distinct )?levels|levels"),
    ("too many pairs", r"max_pairs"),
    ("too large", r"too large|memory|exceeds"),
]


def make_data(kind: str, n: int, dx: int, dy: int, seed: int):
    """``(x, y, z)`` for one grid point (z: one Gaussian column correlated with x)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dx))
    y = 0.8 * np.resize(x, (n, dy)) + 0.6 * rng.standard_normal((n, dy)) if dx else rng.standard_normal((n, dy))
    z = 0.5 * x[:, :1] + rng.standard_normal((n, 1))   # made before the scale kinds, which scale it too
    if kind in ("tiny", "huge"):
        z = z * (1e-300 if kind == "tiny" else 1e300)
    if kind == "cauchy":
        w = np.abs(rng.standard_normal((n, 1)))   # a normal over an independent |normal|: Cauchy tails
        x, y = x / w, y / w
    elif kind == "ties":
        x, y = np.round(x * 2) / 2, np.round(y * 2) / 2
    elif kind == "discrete":
        x, y = np.floor(np.clip(x, -2, 1.99) + 2), np.floor(np.clip(y, -2, 1.99) + 2)
    elif kind == "duplicated":
        x = np.hstack([x, x[:, :1]])
    elif kind == "constant":
        x = np.hstack([x, np.full((n, 1), 3.0)])
    elif kind == "permuted":
        perm = rng.permutation(n)
        x, y = x[perm], y[perm]
    elif kind == "independent":
        y = y[rng.permutation(n)]
    elif kind == "tiny":
        x, y = x * 1e-300, y * 1e-300
    elif kind == "huge":
        x, y = x * 1e300, y * 1e300
    elif kind == "mixed-scales":
        x = x * np.geomspace(1e-150, 1e150, dx)
    elif kind == "nan":
        x[n // 2, 0] = np.nan
    elif kind == "inf":
        y[n // 3, -1] = np.inf
    return x, y, z


def _call(name: str, x, y, z, seed: int):
    from mi_estimators import MIEstimator, estimate_cmi, estimate_mi, independence_test

    cheap = dict(steps=20, eval_every=10)
    if name == "auto":
        return estimate_mi(x, y, seed=seed, **cheap)
    if name == "infonce":
        return estimate_mi(x, y, "infonce", seed=seed, hidden=(16,), embed_dim=8, **cheap)
    if name == "cmi":
        return estimate_cmi(x, y, z, seed=seed, **cheap)
    if name == "test":
        return independence_test(x, y, n_permutations=19, seed=seed)
    if name == "MIEstimator":
        return MIEstimator(seed=seed, **cheap).fit(x, y)
    return estimate_mi(x, y, name, seed=seed)


def _ours(exc: BaseException) -> bool:
    """The raising frame is in our package (so the message is ours, not numpy's or torch's)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "mi_estimators" in Path(frames[-1].filename).parts


def cause(message: str) -> str:
    for label, pattern in CAUSES:
        if re.search(pattern, message, re.IGNORECASE):
            return label
    return "other"


def _check(name: str, res) -> str | None:
    """None when ``res`` is a finite result with an honest interval, else what is wrong."""
    if name == "test":
        if not (math.isfinite(res.statistic) and 0 < res.pvalue <= 1):
            return f"statistic {res.statistic}, p = {res.pvalue}"
        return None
    mi, (lo, hi) = (res.mi_, res.interval_) if name == "MIEstimator" else (res.mi, res.interval)
    if not all(math.isfinite(v) for v in (mi, lo, hi)):
        return f"non-finite: mi = {mi}, interval = ({lo}, {hi})"
    if not 0 <= lo <= mi <= hi:
        return f"interval ({lo}, {hi}) does not hold 0 <= lo <= mi = {mi} <= hi"
    return None


def _values(name: str, res) -> dict:
    if name == "test":
        return {"statistic": float(res.statistic), "p": float(res.pvalue)}
    mi, (lo, hi) = (res.mi_, res.interval_) if name == "MIEstimator" else (res.mi, res.interval)
    return {"estimate": float(mi), "lo": float(lo), "hi": float(hi)}


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def run_one(name: str, kind: str, shape: tuple, seed: int = 0, timeout_s: int = 120) -> dict:
    """One call; returns ``{"outcome": "result" | "refusal" | "crash" | "bad" | "timeout", ...}``."""
    n, dx, dy = shape
    x, y, z = make_data(kind, n, dx, dy, seed)
    row = {"call": name, "kind": kind, "n": n, "dx": dx, "dy": dy}
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout_s)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = _call(name, x, y, z, seed)
        bad = _check(name, res)
        row.update(outcome="bad", detail=bad) if bad else row.update(outcome="result", **_values(name, res))
    except _Timeout:
        row.update(outcome="timeout", detail=f"over {timeout_s} s")
    except ValueError as exc:
        msg = str(exc)
        if _ours(exc) and msg:
            row.update(outcome="refusal", cause=cause(msg), detail=msg[:300])
        else:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            row.update(outcome="crash", detail=f"ValueError from {frame.filename}:{frame.lineno}: {msg[:300]}")
    except Exception as exc:  # noqa: BLE001 - that is what the campaign looks for
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        row.update(outcome="crash", detail=f"{type(exc).__name__} at {frame.filename}:{frame.lineno}: {exc}"[:400])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row


def _wanted(name: str, kind: str, shape: tuple) -> bool:
    """Skip the calls whose cost, not their input handling, would dominate the campaign."""
    n, dx, dy = shape
    if name == "sklearn-mi" and dx * dy > 100:
        return kind == "gaussian"             # one 2-D k-NN per feature pair: minutes for thousands of pairs
    if name in ("ksg", "mixed-ksg", "test", "cmi") and n * (dx + dy) > 2e5:
        return kind in ("gaussian", "nan")
    if name in ("auto", "infonce", "MIEstimator", "cmi") and n > 20_000:
        return kind in ("gaussian", "huge", "discrete")
    return True


def grid(size: str = "full") -> list[tuple[str, str, tuple]]:
    """``(call, kind, shape)`` triples: the full campaign or its CI-sized subset."""
    shapes = SHAPES_FULL if size == "full" else SHAPES_CI
    out = [(c, k, s) for s in shapes for k in KINDS for c in CALLS if _wanted(c, k, s)]
    if size == "ci":   # every call and kind, on a rotating shape: the grid's diagonal, not its product
        out = [(c, k, shapes[(i + j) % len(shapes)]) for i, c in enumerate(CALLS) for j, k in enumerate(KINDS)]
        out = [(c, k, s) for c, k, s in out if _wanted(c, k, s)]
    return out


def summarise(rows: list[dict]) -> dict:
    outcomes = Counter(r["outcome"] for r in rows)
    return {
        "calls": len(rows),
        "results": outcomes["result"],
        "refusals": outcomes["refusal"],
        "refusals_by_cause": dict(Counter(r["cause"] for r in rows if r["outcome"] == "refusal").most_common()),
        "crashes": outcomes["crash"],
        "bad_results": outcomes["bad"],
        "timeouts": outcomes["timeout"],
        "by_call": {c: dict(Counter(r["outcome"] for r in rows if r["call"] == c)) for c in CALLS},
        "problems": [r for r in rows if r["outcome"] in ("crash", "bad", "timeout")],
        "other_refusals": sorted({r["detail"][:160] for r in rows if r.get("cause") == "other"}),
        # y independent of x: how often the interval reaches 0 (the test: p >= 0.05), per call
        "independent_reaches_zero": {c: f"{sum(_null_ok(r) for r in ind)}/{len(ind)}" for c in CALLS
                                     if (ind := [r for r in rows if r["call"] == c and r["kind"] == "independent"
                                                 and r["outcome"] == "result"])},
    }


def _null_ok(row: dict) -> bool:
    return row["p"] >= 0.05 if row["call"] == "test" else row["lo"] == 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="issue 19's stress campaign")
    ap.add_argument("--size", choices=["full", "ci"], default="full")
    ap.add_argument("--json", default="", help="write every row and the counts here")
    ap.add_argument("--only", default="", help="run only this call")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from hard_set import _git_head   # the commit and the package files changed since (the code that ran)

    commit = _git_head()
    rows = []
    t0 = time.time()
    for i, (call, kind, shape) in enumerate(grid(args.size)):
        if args.only and call != args.only:
            continue
        row = run_one(call, kind, shape, seed=i)
        rows.append(row)
        if row["outcome"] in ("crash", "bad", "timeout"):
            print(f"{row['outcome'].upper()}: {call} {kind} {shape}: {row['detail']}", flush=True)
    s = summarise(rows)
    s["seconds"] = round(time.time() - t0)
    s["commit"] = commit
    print(json.dumps({k: v for k, v in s.items() if k not in ("problems",)}, indent=1))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"summary": s, "rows": rows}, separators=(",", ":")) + "\n")
    return 0 if not (s["crashes"] or s["bad_results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
