"""Derangement vs all-pairs negatives (issue 21, item 2): bias and spread at 2-10 nats.

Correlated Gaussians, d = 5 per side, n = 5000 samples per run (``synthetic.CorrelatedGaussian``,
exact truth), each f-divergence bound trained and evaluated twice on the *same* samples and with
the same seed: ``negatives="all"`` (every off-diagonal pair) and ``negatives="derangement"``
(the B pairs of one derangement, f-DIME, Letizia et al., NeurIPS 2024). Everything else is
``estimate_mi``'s defaults (separable critic, B = 128, 2000 steps with early stopping). A third
mode, ``derangement-train``, separates training from evaluation: the critic is trained (and
early-stopped) with derangement negatives and its held-out value uses all pairs (the same split,
standardisation and loop as ``estimate_mi``, through ``training.fit_critic``).

Results go to a JSON-lines file, one line per run, written as each run ends (an interrupted run
resumes where it stopped); ``--summary`` prints the markdown table of docs/accuracy/derangement.md.

    .venv/bin/python benchmarks/derangement.py --out docs/accuracy/derangement_runs.jsonl
    .venv/bin/python benchmarks/derangement.py --out docs/accuracy/derangement_runs.jsonl --summary
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
import _harness as H  # noqa: E402  (imports neither torch nor mi_estimators)

BOUNDS = ("nwj", "js", "smile", "dv")
LEVELS = (2.0, 4.0, 6.0, 8.0, 10.0)
MODES = ("all", "derangement", "derangement-train")
DIM, N = 5, 5000


def _key(rec) -> tuple:
    return rec["bound"], rec["mi_true"], rec["seed"], rec["negatives"]


class _TrainOneEvaluateOther:
    """A bound that trains (and early-stops) like ``train`` and reports like ``report``."""

    graph_safe = False

    def __init__(self, train, report):
        self.train, self.report, self.info = train, report, report.info

    def loss(self, scores):
        return self.train.loss(scores)

    def selection(self, scores):
        return self.train.estimate(scores, check_finite=False)

    def estimate(self, scores, **kw):
        return self.report.estimate(scores, **kw)


def _train_deranged_eval_all(x, y, bound: str, seed: int) -> dict:
    """estimate_mi's neural path (K = 1, defaults) with derangement training and all-pairs evaluation."""
    from mi_estimators import bounds, neural, training
    from mi_estimators.options import TrainOptions
    from mi_estimators.result import t_interval

    opts = TrainOptions(num_threads=1)
    kw = neural.TRAINING_BOUND_DEFAULTS.get(bound, {})
    wrapped = _TrainOneEvaluateOther(bounds.get_bound(bound, negatives="derangement", **kw),
                                     bounds.get_bound(bound, **kw))
    tr, va = training.split_indices(x.shape[0], opts.heldout_fraction, seed)
    xt, xh = neural.standardize_split(x[tr], [x[va]], "x")
    yt, yh = neural.standardize_split(y[tr], [y[va]], "y")
    from mi_estimators.critics import make_critic

    critic = make_critic("separable", x.shape[1], y.shape[1], hidden=neural.DEFAULT_HIDDEN, seed=seed)
    fit = training.fit_critic(critic, wrapped, train=(xt, yt), heldout=(xh, yh), seed=seed, split_seed=seed,
                              **opts.loop_options())
    mi, se = float(fit.estimates[0]), float(fit.stderrs[0])
    stderr, interval = t_interval(mi, se, fit.n_eval_batches - 1, 0.0, 1)
    # clipped at 0 as estimate_mi clips (MI is never negative)
    return dict(mi=max(mi, 0.0), stderr=stderr, interval=[max(v, 0.0) for v in interval], steps_run=fit.steps_run,
                warnings=[])


def run(out: Path, seeds, bounds, levels) -> None:
    import warnings

    import torch

    torch.set_num_threads(1)
    from mi_estimators import estimate_mi
    from synthetic import CorrelatedGaussian

    done = set()
    if out.exists():
        done = {_key(json.loads(line)) for line in out.read_text().splitlines() if line.strip()}
    out.parent.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        for level in levels:
            task = CorrelatedGaussian(DIM, mi=level)
            x, y = task.sample(N, seed=seed)
            for bound in bounds:
                for mode in MODES:
                    rec = dict(bound=bound, mi_true=level, seed=seed, negatives=mode)
                    if _key(rec) in done:
                        continue

                    def compute():
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            if mode == "derangement-train":
                                return _train_deranged_eval_all(x, y, bound, seed)
                            r = estimate_mi(x, y, bound, seed=seed, negatives=mode, num_threads=1)
                            return dict(mi=r.mi, stderr=r.stderr, interval=list(r.interval),
                                        steps_run=r.details.get("steps_run"), warnings=list(r.warnings))

                    H.record_run(out, rec, compute)   # a diverged training (ValueError) is a result too


def summary(out: Path) -> str:
    import statistics

    recs = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    groups: dict[tuple, list] = {}
    for r in recs:
        groups.setdefault((r["bound"], r["mi_true"], r["negatives"]), []).append(r)
    lines = ["| bound | truth | negatives | runs | mean estimate | bias | sd over seeds | mean reported se | "
             "coverage | mean s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for (bound, level, mode), rs in sorted(groups.items(), key=lambda kv: (BOUNDS.index(kv[0][0]), kv[0][1],
                                                                         MODES.index(kv[0][2]))):
        ok = [r for r in rs if r.get("mi") is not None and math.isfinite(r["mi"])]
        if not ok:
            lines.append(f"| {bound} | {level:g} | {mode} | {len(rs)} (all failed) | | | | | | |")
            continue
        est = [r["mi"] for r in ok]
        mean = statistics.fmean(est)
        sd = statistics.stdev(est) if len(est) > 1 else float("nan")
        se = statistics.fmean(r["stderr"] for r in ok)
        cover = sum(r["interval"][0] <= level <= r["interval"][1] for r in ok)
        secs = statistics.fmean(r["seconds"] for r in rs)
        failed = f" ({len(rs) - len(ok)} failed)" if len(ok) < len(rs) else ""
        lines.append(f"| {bound} | {level:g} | {mode} | {len(rs)}{failed} | {mean:.3f} | {mean - level:+.3f} | "
                     f"{sd:.3f} | {se:.3f} | {cover}/{len(ok)} | {secs:.0f} |")
    lines += ["", _paired(recs)]
    return "\n".join(lines)


def _paired(recs) -> str:
    """Per bound, over levels x seeds: mean |error| of each mode and the paired difference to 'all'
    (mean ± its standard error over the pairs; a failed run counts as missing)."""
    import statistics

    by = {(r["bound"], r["mi_true"], r["seed"], r["negatives"]): r.get("mi") for r in recs}
    lines = ["| bound | levels | mode | pairs | mean abs error (mode) | mean abs error (all) | paired difference |",
             "|---|---|---|---|---|---|---|"]
    for bound in BOUNDS:
        for mode in MODES[1:]:
            for label, keep in (("2-10", lambda lv: True), ("2-4", lambda lv: lv <= 4)):
                pairs = [(abs(by[k] - k[1]), abs(by[(*k[:3], "all")] - k[1])) for k in by
                         if k[0] == bound and k[3] == mode and keep(k[1]) and by[k] is not None
                         and by.get((*k[:3], "all")) is not None]
                if len(pairs) < 2:
                    continue
                diff = [a - b for a, b in pairs]
                se = statistics.stdev(diff) / math.sqrt(len(diff))
                lines.append(f"| {bound} | {label} | {mode} | {len(pairs)} | {statistics.fmean(a for a, _ in pairs):.3f} | "
                             f"{statistics.fmean(b for _, b in pairs):.3f} | {statistics.fmean(diff):+.3f} ± {se:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / "docs" / "accuracy" / "derangement_runs.jsonl")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--bounds", nargs="+", default=list(BOUNDS))
    p.add_argument("--levels", type=float, nargs="+", default=list(LEVELS))
    p.add_argument("--summary", action="store_true", help="print the table from --out and exit")
    args = p.parse_args(argv)
    if args.summary:
        print(summary(args.out))
        return 0
    run(args.out, args.seeds, args.bounds, args.levels)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
