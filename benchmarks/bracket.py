"""Bracketing MI with the upper and generative bounds (issue 21, item 3): club, l1out, ba, doe.

Correlated Gaussians (d = 5 per side, exact truth) and two warped high-MI tasks with the same MI
(``synthetic.HighMI``): ``spiral`` (each marginal stays standard normal, the joint is not Gaussian)
and ``normal_cdf-rot`` (a non-Gaussian marginal: BA's Gaussian H(Y) then exceeds H(Y)), n = 5000, each estimator at
``estimate_mi``'s defaults (critic conditional-gaussian, hidden (256, 256), 2000 steps with early
stopping, B = 128), plus ``infonce`` as the lower bound to bracket with. One JSON line per run,
written as it ends (resumable); ``--summary`` prints the markdown table.

    .venv/bin/python benchmarks/bracket.py --out docs/accuracy/bracket_runs.jsonl
    .venv/bin/python benchmarks/bracket.py --out docs/accuracy/bracket_runs.jsonl --summary
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
import _harness as H  # noqa: E402  (imports neither torch nor mi_estimators)

ESTIMATORS = ("infonce", "club", "l1out", "ba", "doe")
LEVELS = (2.0, 6.0, 10.0)
TASKS = ("gaussian", "spiral", "normal_cdf-rot")
N = 5000


def _task(kind: str, level: float):
    from synthetic import CorrelatedGaussian
    from synthetic.highmi import HighMI

    return CorrelatedGaussian(5, mi=level) if kind == "gaussian" else HighMI(kind, 5, level)


def run(out: Path, seeds) -> None:
    import warnings

    import torch

    torch.set_num_threads(1)
    from mi_estimators import estimate_mi

    done = set()
    if out.exists():
        done = {(r["task"], r["mi_true"], r["seed"], r["estimator"])
                for r in map(json.loads, out.read_text().splitlines())}
    for seed in seeds:
        for kind in TASKS:
            for level in LEVELS:
                x, y = _task(kind, level).sample(N, seed=seed)
                for est in ESTIMATORS:
                    rec = dict(task=kind, mi_true=level, seed=seed, estimator=est)
                    if (kind, level, seed, est) in done:
                        continue

                    def compute():
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            r = estimate_mi(x, y, est, seed=seed, num_threads=1)
                        return dict(mi=r.mi, stderr=r.stderr, interval=list(r.interval),
                                    steps_run=r.details.get("steps_run"))

                    H.record_run(out, rec, compute)


def summary(out: Path) -> str:
    recs = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    lines = ["| task | truth | seed | " + " | ".join(ESTIMATORS) + " |", "|---" * (3 + len(ESTIMATORS)) + "|"]
    keys = sorted({(r["task"], r["mi_true"], r["seed"]) for r in recs}, key=lambda k: (TASKS.index(k[0]), k[1], k[2]))
    by = {(r["task"], r["mi_true"], r["seed"], r["estimator"]): r for r in recs}
    for k in keys:
        cells = []
        for est in ESTIMATORS:
            r = by.get((*k, est))
            if r is None:
                cells.append("")
            elif r.get("mi") is None:
                cells.append("failed")
            else:
                cells.append(f"{r['mi']:.2f} ({r['interval'][0]:.2f}–{r['interval'][1]:.2f})")
        lines.append(f"| {k[0]} | {k[1]:g} | {k[2]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / "docs" / "accuracy" / "bracket_runs.jsonl")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--summary", action="store_true")
    args = p.parse_args(argv)
    if args.summary:
        print(summary(args.out))
        return 0
    run(args.out, args.seeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
