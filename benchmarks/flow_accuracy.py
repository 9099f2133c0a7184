"""Accuracy and time of the ``"flow"`` estimator (issue 21 item 1), n = 5000, one torch thread.

Tasks: the warped high-MI tasks of :mod:`synthetic.highmi` (``spiral``, ``half_cube-rot``,
``normal_cdf-rot``; d = 5 at 2-10 nats, d = 20 at a few levels) and a few Beyond-Normal tasks,
``--half choose`` (``synthetic.choose_tasks('highmi')`` and benchmarks/accuracy.py's choose
half) to pick settings, ``--half report`` (the other twin of every pair) run once after the
choice is committed. Every row records the flow's value and interval, its other readouts
(``details``: the closed form of the fitted rho, the held-out latents' Gaussian MI), wall and
CPU seconds, and with ``--auto`` the default ``estimate_mi(x, y)`` on the same samples.

    python benchmarks/flow_accuracy.py --half choose --label c1 --flow '{"flow_layers": 4}' --out results/flow_choose.jsonl
    python benchmarks/flow_accuracy.py --table results/flow_choose.jsonl
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

N = 5000
LEVELS_D5 = (2, 4, 6, 8, 10)
LEVELS_D20 = (2, 6, 10)
#: A few Beyond-Normal tasks (d <= 5 per side); each is in one half of benchmarks/accuracy.py's split.
BEYOND_NORMAL = ("1v1-AI", "spiral-multinormal-sparse-5-5-2-2.0", "multinormal-dense-5-5-0.5",
                 "half_cube-multinormal-sparse-5-5-2-2.0", "asinh-student-identity-5-5-2",     # choose half
                 "1v1-X-0.9", "spiral-multinormal-sparse-3-3-2-2.0", "normal_cdf-multinormal-sparse-5-5-2-2.0",
                 "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0", "student-identity-5-5-2",
                 "half_cube-multinormal-sparse-3-3-2-2.0")                                        # report half


def tasks(half: str, warps: tuple[str, ...]) -> list[str]:
    """The half's high-MI tasks (d = 5 at LEVELS_D5, d = 20 at LEVELS_D20) and Beyond-Normal tasks."""
    import synthetic

    pick = synthetic.choose_tasks if half == "choose" else synthetic.report_tasks
    names = []
    for name in pick("highmi"):
        warp, params = name.removeprefix("highmi-").split(":")
        kv = dict(p.split("=") for p in params.split(","))
        levels = LEVELS_D5 if kv["dim"] == "5" else LEVELS_D20
        if warp in warps and float(kv["mi"]) in levels:
            names.append(name)
    return names + [t for t in BEYOND_NORMAL if t in _bn_half(half)]


def _bn_half(half: str) -> list[str]:
    from accuracy import split_tasks

    return split_tasks()[0 if half == "choose" else 1]


def run(task_id: str, seed: int, flow_options: dict, with_auto: bool) -> dict:
    import torch

    import synthetic
    from mi_estimators import estimate_mi

    torch.set_num_threads(1)
    task = synthetic.get_task(task_id)
    x, y = task.sample(N, seed=1000 + seed)
    row = dict(task=task_id, seed=seed, truth=float(task.mi), dim_x=x.shape[1], dim_y=x.shape[1])
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = estimate_mi(x, y, "flow", seed=seed, num_threads=1, **flow_options)
    d = r.details
    row.update(flow=r.mi, lo=r.interval[0], hi=r.interval[1], stderr=r.stderr, closed=d["mi_closed_form"],
               gauss=d["mi_heldout_gaussian"], per_member=list(r.per_critic), steps=d["steps_run"],
               readout=d["readout"], pointwise=d["mi_pointwise"], closed_per_member=d["per_member_closed_form"],
               sampling_interval=d["interval_sampling"], stderr_sampling=d["stderr_sampling"],
               wall=time.perf_counter() - t0, cpu=time.process_time() - c0, warnings=len(r.warnings))
    if with_auto:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = estimate_mi(x, y, seed=seed)
        row.update(auto=a.mi, auto_lo=a.interval[0], auto_hi=a.interval[1], auto_wall=time.perf_counter() - t0)
    return row


def table(path: Path) -> str:
    """Per label and task group: mean relative error, coverage, mean |error|, wall/CPU seconds."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    groups: dict = {}
    for r in rows:
        kind = "d=20" if r["dim_x"] == 20 else ("d=5" if r["task"].startswith("highmi") else "BN")
        groups.setdefault((r["label"], kind), []).append(r)
    out = ["| label | tasks | runs | rel. err flow | closed | gauss | coverage | mean abs err | wall s | CPU s "
           "| rel. err auto | auto coverage |", "|" + "---|" * 12]
    for (label, kind), rs in sorted(groups.items()):
        def rel(key):
            return sum(abs(r[key] - r["truth"]) / r["truth"] for r in rs) / len(rs)
        cov = sum(r["lo"] <= r["truth"] <= r["hi"] for r in rs) / len(rs)
        auto = [r for r in rs if "auto" in r]
        auto_rel = f"{sum(abs(r['auto'] - r['truth']) / r['truth'] for r in auto) / len(auto):.3f}" if auto else ""
        auto_cov = f"{sum(r['auto_lo'] <= r['truth'] <= r['auto_hi'] for r in auto) / len(auto):.2f}" if auto else ""
        out.append(f"| {label} | {kind} | {len(rs)} | {rel('flow'):.3f} | {rel('closed'):.3f} | {rel('gauss'):.3f} "
                   f"| {cov:.2f} | {sum(abs(r['flow'] - r['truth']) for r in rs) / len(rs):.3f} "
                   f"| {sum(r['wall'] for r in rs) / len(rs):.1f} | {sum(r['cpu'] for r in rs) / len(rs):.1f} "
                   f"| {auto_rel} | {auto_cov} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", choices=("choose", "report"), default="choose")
    ap.add_argument("--label", default="default", help="names this configuration in the output")
    ap.add_argument("--flow", default="{}", help="JSON dict of estimate_mi options for the flow")
    ap.add_argument("--warps", default="spiral", help="comma-separated high-MI warps")
    ap.add_argument("--only", default="", help="substrings separated by | : keep tasks containing one")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--auto", action="store_true", help="also run the default estimate_mi(x, y)")
    ap.add_argument("--out", default="")
    ap.add_argument("--table", default="", help="print the summary table of this JSONL file and exit")
    args = ap.parse_args(argv)
    if args.table:
        print(table(Path(args.table)))
        return 0
    options = json.loads(args.flow)
    names = tasks(args.half, tuple(args.warps.split(",")))
    if args.only:
        names = [t for t in names if any(s in t for s in args.only.split("|"))]
    out = Path(args.out) if args.out else None
    done = set()
    if out and out.exists():
        done = {(r["label"], r["task"], r["seed"]) for r in map(json.loads, out.read_text().splitlines()) if r}
    for task_id in names:
        for seed in (int(s) for s in args.seeds.split(",")):
            if (args.label, task_id, seed) in done:
                continue
            row = dict(label=args.label, half=args.half, options=options, **run(task_id, seed, options, args.auto))
            line = json.dumps(row)
            print(line, flush=True)
            if out:
                out.parent.mkdir(parents=True, exist_ok=True)
                with out.open("a") as f:
                    f.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
