"""The ``mi-bench`` command line (also ``python -m mi_estimators``).

Commands: ``list``, ``estimate`` (``--z`` for conditional MI, ``--units bits``), ``test``
(permutation test of independence), ``staircase``, ``run``, ``report``, ``validate``,
``demo``; ``mi-bench COMMAND --help`` documents each. Values are in nats unless
``--units bits`` is asked for.

Exit codes: 0 success; 1 a check failed (``validate``) or runs failed; 2 bad input
(unknown key, name or file, bad value) with a one-line message and no traceback.

Heavy modules (torch, numpy, matplotlib) are imported inside the commands, so
``mi-bench --help`` starts in well under a second.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from mi_estimators.bench.files import load_xy, parse_columns, read_table

__all__ = ["main", "build_parser", "DEMO_CONFIG", "parse_columns", "read_table"]

#: The small default benchmark of ``mi-bench demo`` (same content as benchmarks/configs/demo.toml).
DEMO_CONFIG = {
    "name": "demo",
    "description": "Small default benchmark: Gaussian and cubic-transformed Gaussian tasks, "
    "the auto default, three neural bounds and two non-parametric references, 2 seeds.",
    "tasks": ["gaussian:dim=5,mi=1", "gaussian:dim=5,mi=3", "cubic-gaussian:dim=5,mi=3"],
    "estimators": ["auto", "infonce", "nwj", "smile", "ksg", "cca"],
    "seeds": [0, 1],
    "n": [4096],
}


class _Usage(Exception):
    """A user error: printed as one line, exit code 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _name_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _parse_value(text: str):
    """``KEY=VALUE`` values: JSON when it parses (numbers, true/false, lists), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _options(pairs: list[str] | None) -> dict:
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise _Usage(f"--option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = _parse_value(value.strip())
    return options


def _progress_enabled(args) -> bool:
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def _say(args, *parts) -> None:
    if not getattr(args, "quiet", False):
        print(*parts, file=sys.stderr)


# --------------------------------------------------------------------------- list
def _cmd_list(args) -> int:
    from mi_estimators.bench.sweep import list_task_names

    what = args.what
    payload = {}
    if what in ("tasks", "all"):
        import synthetic

        payload["tasks"] = list_task_names()
        payload["cmi_tasks"] = synthetic.list_tasks("cmi")
        payload["highmi_tasks"] = synthetic.list_tasks("highmi")
    if what in ("estimators", "all"):
        payload["estimators"] = _describe_estimators()
    if what in ("critics", "all"):
        from mi_estimators.critics import list_critics

        payload["critics"] = list(list_critics())
    if args.json:
        print(json.dumps(payload, indent=2, default=str))
        return 0
    if "tasks" in payload:
        print("Tasks (ground truth in nats):")
        for name in payload["tasks"]:
            print(f"  {name}")
        if not payload["tasks"]:
            print("  (task registry not installed; use gaussian:dim=D,mi=I)")
        print("Conditional-MI tasks (sample gives x, y, z; truth I(X; Y | Z) in nats; for estimate_cmi):")
        for name in payload["cmi_tasks"]:
            print(f"  {name}")
        print("High-MI tasks (Gaussians at 2-20 nats under warps ranks cannot undo; synthetic.highmi):")
        for name in payload["highmi_tasks"]:
            print(f"  {name}")
    if "estimators" in payload:
        print("Estimators (name: target MI [kind]; hyper-parameters with defaults):")
        for entry in payload["estimators"]:
            hyper = ", ".join(k if v is None else f"{k}={v}" for k, v in entry["hyperparameters"].items())
            print(f"  {entry['name']}: {entry['target']} [{entry['kind']}]" + (f"; {hyper}" if hyper else ""))
    if "critics" in payload:
        print("Critics:")
        for name in payload["critics"]:
            print(f"  {name}")
    return 0


#: How ``mi-bench list`` names a bound's ``BoundInfo.kind``.
_BOUND_KIND_LABELS = {"lower": "lower bound", "upper": "upper bound (under its stated condition)",
                      "neither": "estimate (not a bound)"}


def _describe_estimators() -> list[dict]:
    """One dict per estimator: name, target ("kl" or the φ name), kind (with, for bounds, whether the value
    is a lower bound, an upper bound or neither: also as ``bound``), lower_bound, hyper-parameters."""
    from mi_estimators import list_estimators
    from mi_estimators.bounds import describe_bounds
    from mi_estimators.auto import OWN_OPTIONS
    from mi_estimators.neural import TRAINING_BOUND_DEFAULTS
    from mi_estimators.nonparametric import NONPARAMETRIC_ESTIMATORS

    bounds = {info.name: info for info in describe_bounds()}
    out = []
    for name in list_estimators():
        if name in bounds:
            info = bounds[name]
            target = info.target + (f" ({', '.join(f'{k}={v}' for k, v in info.target_params.items())})"
                                    if info.target_params else "")
            kind = _BOUND_KIND_LABELS[info.kind]
            if info.critic:
                kind += f"; critic {info.critic}"
            out.append(dict(name=name, kind=f"neural, {kind}", target=target, lower_bound=info.lower_bound,
                            bound=info.kind, hyperparameters={**info.hyper, **TRAINING_BOUND_DEFAULTS.get(name, {})},
                            paper=info.paper))
        elif name == "auto":
            out.append(dict(name=name, kind="auto: the Gaussian-copula value if the copula tests Gaussian, "
                            "else KSG if d_x + d_y <= 3, else InfoNCE floored by the Gaussian-copula value, "
                            "and the flow at >= 1.5 nats where the copula is not Gaussian", target="kl", lower_bound=False,
                            hyperparameters={o: None for o in OWN_OPTIONS}, paper=""))
        elif name == "flow":
            out.append(dict(name=name, kind="normalizing flows, an estimate (not a bound)", target="kl",
                            lower_bound=False, bound="neither", hyperparameters={}, paper="Butakov et al., NeurIPS 2024 (MIENF)"))
        elif name == "phi-plugin":
            out.append(dict(name=name, kind="neural ratio critic read by plug-in, an estimate (not a bound)",
                            target="phi (set by divergence=)", lower_bound=False, bound="neither",
                            hyperparameters={}, paper=""))
        else:
            opts = list(getattr(NONPARAMETRIC_ESTIMATORS.get(name), "options", ()))
            # sklearn-mi sums per-feature MIs: that is not the joint KL-MI, so don't label it "kl"
            target = "sum of per-feature KL-MIs (not joint MI)" if name == "sklearn-mi" else "kl"
            out.append(dict(name=name, kind="non-parametric", target=target, lower_bound=False,
                            hyperparameters={o: None for o in opts}, paper=""))
    return out


# --------------------------------------------------------------------------- estimate
def _result_dict(result, estimator: str, n: int, source: str) -> dict:
    from mi_estimators.result import to_jsonable

    base = result.to_dict() if hasattr(result, "to_dict") else {}
    interval = getattr(result, "interval", None)
    out = dict(to_jsonable(base))
    out.update(
        estimate=float(result.mi),
        mi=float(result.mi),
        stderr=float(getattr(result, "stderr", math.nan)),
        interval=[float(v) for v in interval] if interval is not None else None,
        units=getattr(result, "units", "nats"),
        estimator=estimator,
        n=int(n),
        source=source,
    )
    out.setdefault("config", to_jsonable(getattr(result, "config", {}) or {}))

    def strict(v):  # JSON has no NaN: use null
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: strict(w) for k, w in v.items()}
        if isinstance(v, list):
            return [strict(w) for w in v]
        return v

    return strict(out)


def _cmd_estimate(args) -> int:
    import mi_estimators
    from mi_estimators._checks import check_choice
    from mi_estimators.bench.files import load_columns

    conditional = args.z is not None
    if conditional:
        from mi_estimators.cmi import CMI_METHODS

        check_choice("CMI method", args.estimator, CMI_METHODS)
    else:   # the names that import nothing heavy first: listing every bound loads torch
        from mi_estimators.api import FAMILIES

        if not any(args.estimator in FAMILIES[f].name_list() for f in ("auto", "nonparametric")):
            check_choice("estimator", args.estimator, mi_estimators.list_estimators())
    specs = [("--x", args.x), ("--y", args.y)] + ([("--z", args.z)] if conditional else [])
    arrays, desc = load_columns(args.file, specs, categorical=args.categorical)
    options = _options(args.option)
    if args.critic is not None:
        options["critic"] = args.critic
    if args.seed is not None:
        options["seed"] = args.seed
    if args.device is not None:
        options["device"] = args.device
    what = "I(X; Y | Z)" if conditional else "I(X; Y)"
    if not args.json:
        dims = ", ".join(f"dim {n} = {a.shape[1]}" for n, a in zip("xyz", arrays))
        _say(args, f"estimating {what} with {args.estimator} on {desc}: n = {arrays[0].shape[0]}, {dims}")
    import warnings

    with warnings.catch_warnings():   # printed once below, from result.warnings, without file paths
        warnings.simplefilter("ignore")
        if conditional:
            result = mi_estimators.estimate_cmi(*arrays, method=args.estimator, units=args.units, **options)
        else:
            result = mi_estimators.estimate_mi(*arrays, estimator=args.estimator, units=args.units, **options)
    out = _result_dict(result, args.estimator, arrays[0].shape[0], desc)
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True, default=str))
        return 0
    if result.estimator == "sklearn-mi":   # a sum of per-pair values, not the joint MI
        what = "sum over feature pairs of I(X_i; Y_j)"
    line = f"{what} = {out['mi']:.4f} {result.units}"
    if out["stderr"] is not None:
        line += f"  (stderr {out['stderr']:.4f}"
        if out["interval"] and None not in out["interval"]:
            line += f"; interval [{out['interval'][0]:.4f}, {out['interval'][1]:.4f}]"
        line += ")"
    print(line)
    auto = (result.details or {}).get("auto")
    if auto:   # say which method answered, and what the interval includes
        print(f"method: {auto['reason']}")
        lo, hi = auto.get("interval_sampling", (None, None))
        if any(auto.get("bias_allowance", (0.0, 0.0))) and lo is not None:
            print(f"95% interval = sampling interval [{lo:.4f}, {hi:.4f}] (nats) widened by the calibrated bias "
                  f"allowance of the reported method ({auto['reported']}; docs/accuracy.md)")
    for message in result.warnings:
        print(f"warning: {message}")
    return 0


def _cmd_test(args) -> int:
    from mi_estimators.bench.files import load_columns
    from mi_estimators.independence import independence_test

    specs = [("--x", args.x), ("--y", args.y)] + ([("--z", args.z)] if args.z is not None else [])
    arrays, desc = load_columns(args.file, specs, categorical=args.categorical)
    import warnings

    with warnings.catch_warnings():   # printed once below, without file paths
        warnings.simplefilter("ignore")
        res = independence_test(*arrays, n_permutations=args.permutations, seed=args.seed,
                                method=args.statistic, k=args.k, k_perm=args.k_perm)
    if args.json:
        print(json.dumps(dict(res.to_dict(), source=desc, units="nats"), indent=2, sort_keys=True))
        return 0
    print(f"{desc}: {res}")
    print(f"null: mean {res.details['null_mean']:.4g}, sd {res.details['null_sd']:.4g} nats over "
          f"{res.n_permutations} draws")
    for message in res.warnings:
        print(f"warning: {message}")
    return 0


# --------------------------------------------------------------------------- run / report / demo
def _executor(args):
    from mi_estimators.bench.executors import get_executor

    return get_executor(args.executor, n_workers=args.workers)


def _print_summary(rows, args) -> None:
    from mi_estimators.bench.sweep import score
    from mi_estimators.bench.report import format_table

    print(format_table(score(rows)), end="")
    failed = [r for r in rows if r["status"] != "ok"]
    if failed:
        print(f"{len(failed)} run(s) failed; first: {failed[0]['label']} on {failed[0]['task']}: {failed[0]['error']}")


def _run_config(config, out: Path, args) -> list:
    from mi_estimators.bench.sweep import run_sweep

    jobs = config.jobs()
    _say(args, f"sweep {config.name!r}: {len(jobs)} runs ({len(config.tasks)} tasks × "
               f"{len(config.estimators)} estimators × {len(config.n)} sizes × {len(config.seeds)} seeds) → {out}")
    executor = _executor(args)
    with executor:
        rows = run_sweep(jobs, out, executor=executor, config=config.to_dict(),
                         extend=getattr(args, "extend", False), retry_failed=getattr(args, "retry_failed", False),
                         progress=_progress_enabled(args))
    return rows


def _cmd_run(args) -> int:
    from mi_estimators.bench.config import load_config
    from mi_estimators.bench.report import write_report

    config = load_config(args.config)
    out = Path(args.out) if args.out else Path("results") / Path(args.config).stem
    rows = _run_config(config, out, args)
    _print_summary(rows, args)
    print(f"results: {out / 'results.csv'} ({len(rows)} runs)")
    if args.report:
        path = write_report(out, fmt=args.format)
        print(f"report: {path}")
    return 1 if any(r["status"] != "ok" for r in rows) else 0


def _cmd_report(args) -> int:
    from mi_estimators.bench.report import write_report

    path = write_report(args.dir, args.out, fmt=args.format)
    print(f"report: {path}")
    return 0


def _cmd_demo(args) -> int:
    from mi_estimators.bench.config import parse_config
    from mi_estimators.bench.report import write_report

    config = parse_config(DEMO_CONFIG, source="demo config")
    out = Path(args.out)
    results = out / "results"
    rows = _run_config(config, results, args)
    _print_summary(rows, args)
    report = write_report(results, out, fmt="markdown")
    plots = ", ".join(str(p) for p in sorted(out.glob("*.png")))
    print(f"wrote: {results / 'results.csv'} (one row per run), {out / 'summary.csv'} (the table), "
          f"{report} (the report), plots: {plots}")
    return 1 if any(r["status"] != "ok" for r in rows) else 0


# --------------------------------------------------------------------------- staircase
def _cmd_staircase(args) -> int:
    from mi_estimators.bench.staircase import run_staircase, write_staircase_csv
    from mi_estimators.bench.report import plot_staircase

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    executor = _executor(args)
    with executor:
        records = run_staircase(
            estimators=args.estimators, critic=args.critic, transform=args.transform,
            levels=args.levels, steps_per_level=args.steps_per_level, dim=args.dim,
            batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device,
            executor=executor, progress=_progress_enabled(args),
        )
    csv_path = write_staircase_csv(records, out / "staircase.csv")
    png = plot_staircase(records, out / "staircase.png", smooth=max(1, args.steps_per_level // 20))
    # Last-level summary: mean estimate over the second half of each level vs truth.
    print("Staircase (mean estimate over the second half of each level, nats)")
    labels = list(dict.fromkeys(r["label"] for r in records))
    header = "truth".rjust(7) + "".join(lab.rjust(12) for lab in labels)
    print(header)
    for level_i, level in enumerate(args.levels):
        cells = [f"{level:7.2f}"]
        for lab in labels:
            pts = [r["estimate"] for r in records if r["label"] == lab and r["level"] == level_i
                   and r["step"] % args.steps_per_level >= args.steps_per_level // 2]
            cells.append(f"{sum(pts) / len(pts):12.3f}" if pts else " " * 12)
        print("".join(cells))
    print(f"wrote: {csv_path}, {png}")
    return 0


# --------------------------------------------------------------------------- validate
def _cmd_validate(args) -> int:
    from mi_estimators.bench.checks import validate_theory
    from mi_estimators.bench.consistency import validate_consistency

    checks = []
    if args.only in (None, "theory"):
        checks += validate_theory(seed=args.seed, progress=_progress_enabled(args))
    if args.only in (None, "consistency"):
        checks += validate_consistency(seed=args.seed)
    if args.json:
        print(json.dumps(checks, indent=2, default=str))
    else:
        width = max(len(c["check"]) for c in checks)
        groups = {None: "Theory checks and self-consistency checks", "theory": "Theory checks",
                  "consistency": "Self-consistency checks"}[args.only]
        print(f"{groups} (values in nats unless stated)")
        print(f"{'check'.ljust(width)}  {'value':>10}  {'reference':>10}  {'tolerance':>10}  result")
        for c in checks:
            print(f"{c['check'].ljust(width)}  {c['value']:>10.4f}  {c['reference']:>10.4f}  "
                  f"{c['tolerance']:>10.4f}  {'PASS' if c['passed'] else 'FAIL'}")
            if c.get("detail"):
                print(f"{''.ljust(width)}  {c['detail']}")
        failed = sum(not c["passed"] for c in checks)
        print(f"{len(checks) - failed}/{len(checks)} checks passed")
    return 0 if all(c["passed"] for c in checks) else 1


# --------------------------------------------------------------------------- parser
def _add_executor_options(p) -> None:
    p.add_argument("--executor", default="local", metavar="SPEC",
                   help="where runs execute: 'local' (process pool, default), 'serial' (this process), "
                        "or a Dask scheduler address such as tcp://HOST:8786 (needs mi-estimators[dask])")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="worker processes of the local executor (default: CPU cores; one torch thread each)")


def _add_columns(p, *, z_help: str) -> None:
    """The data-file arguments shared by ``estimate`` and ``test``: the file, --x/--y/--z, --categorical."""
    p.add_argument("file", help="a .npz, .csv, .tsv or .parquet file")
    p.add_argument("--x", metavar="COLS", help="columns (or NPZ array) for X")
    p.add_argument("--y", metavar="COLS", help="columns (or NPZ array) for Y")
    p.add_argument("--z", metavar="COLS", default=None, help=z_help)
    p.add_argument("--categorical", action="store_true",
                   help="read text columns as discrete variables (integer codes of their sorted labels) "
                        "instead of refusing them")


def build_parser() -> argparse.ArgumentParser:
    from mi_estimators import __version__

    parser = argparse.ArgumentParser(
        prog="mi-bench",
        description="Estimate and benchmark mutual information (nats) with variational bounds, "
                    "neural critics and non-parametric references.",
        epilog="Run 'mi-bench COMMAND --help' for a command's options. Exit codes: 0 ok, "
               "1 a check or run failed, 2 bad input.",
    )
    parser.add_argument("--version", action="version", version=f"mi-estimators {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars or chatter on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", parents=[common], help="list tasks, estimators and critics",
                       description="List the synthetic tasks, the estimators (with the quantity each "
                                   "targets and its hyper-parameters) and the critics.")
    p.add_argument("what", nargs="?", default="all", choices=["all", "tasks", "estimators", "critics"])
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("estimate", parents=[common], help="MI between column groups of a CSV/Parquet/NPZ file",
                       description="Estimate I(X; Y) in nats from a data file. NPZ: arrays 'x' and 'y' "
                                   "(or --x KEY --y KEY). CSV/Parquet: --x COLS --y COLS, where COLS is a "
                                   "comma list of column names, 0-based indices, half-open ranges 2:5 or "
                                   "inclusive ranges 2-4.")
    _add_columns(p, z_help="columns (or NPZ array) for Z: estimate I(X; Y | Z) (methods auto, ksg, "
                           "gaussian-copula, discrete, neural)")
    p.add_argument("--estimator", "-e", default="auto",
                   help="estimator name (see 'mi-bench list estimators'); default auto (chosen by the data's shape)")
    p.add_argument("--critic", default=None, help="critic name for neural estimators (see 'mi-bench list critics')")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--option", "-o", action="append", metavar="KEY=VALUE",
                   help="estimator option, repeatable (values parsed as JSON when possible), e.g. -o steps=500")
    p.add_argument("--units", choices=["nats", "bits"], default="nats", help="units of the printed value")
    p.add_argument("--device", default=None,
                   help="where critics train: cpu, cuda or auto (neural estimators and auto's neural path only)")
    p.add_argument("--json", action="store_true", help="print the result (estimate, stderr, interval, config) as JSON")
    p.set_defaults(func=_cmd_estimate)

    p = sub.add_parser("test", parents=[common], help="permutation test of X ⊥ Y, or X ⊥ Y | Z with --z",
                       description="Test independence (or conditional independence given --z) of column groups "
                                   "of a data file by permutation, with an MI / CMI statistic (nats). Continuous Z: "
                                   "Runge's local permutation; discrete Z: permutation within strata.")
    _add_columns(p, z_help="columns (or NPZ array) to condition on")
    p.add_argument("--permutations", type=_positive_int, default=199, help="null draws (default 199)")
    p.add_argument("--statistic", default="auto", choices=["auto", "ksg", "discrete", "gaussian-copula"],
                   help="the MI / CMI statistic (default auto: discrete for discrete data, else ksg)")
    p.add_argument("--k", type=_positive_int, default=3, help="neighbours of the k-NN statistic (default 3)")
    p.add_argument("--k-perm", dest="k_perm", type=_positive_int, default=5,
                   help="neighbourhood of the local permutation (default 5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the statistic, p-value and null draws as JSON")
    p.set_defaults(func=_cmd_test)

    p = sub.add_parser("staircase", parents=[common], help="the Poole / Song-Ermon staircase experiment",
                       description="Train each estimator on a stream of batches whose true MI steps up "
                                   "(default 2, 4, 6, 8, 10 nats in dimension 20, batch 64), record the "
                                   "training-batch estimate at every step, and write staircase.csv and "
                                   "staircase.png (one panel per estimator, truth as a staircase).")
    p.add_argument("--estimators", type=_name_list, default=["infonce", "nwj", "js", "smile"],
                   help="comma list of bounds (default infonce,nwj,js,smile)")
    p.add_argument("--critic", default="separable", choices=["separable", "joint"], help="critic architecture")
    p.add_argument("--transform", default="gaussian",
                   choices=["gaussian", "cubic", "highmi-spiral", "highmi-half_cube-rot", "highmi-normal_cdf-rot"],
                   help="Gaussian task, with y -> y^3, or a high-MI warp of synthetic.highmi (MI unchanged; "
                        "e.g. --transform highmi-spiral --dim 5 --levels 2,4,6,8,10,16,20)")
    p.add_argument("--levels", type=_float_list, default=[2.0, 4.0, 6.0, 8.0, 10.0], help="MI levels in nats")
    p.add_argument("--steps-per-level", type=_positive_int, default=4000, help="training steps per level (default 4000)")
    p.add_argument("--dim", type=_positive_int, default=20, help="dimension of x and y (default 20)")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="batch size (default 64)")
    p.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (default 5e-4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda (cuda:N) or auto (cuda when present); default cpu")
    p.add_argument("--out", default="mi-bench-out/staircase", help="output folder (default mi-bench-out/staircase)")
    _add_executor_options(p)
    p.set_defaults(func=_cmd_staircase)

    p = sub.add_parser("run", parents=[common], help="run a sweep from a TOML config into a results folder",
                       description="Run a (task × estimator × n × seed) grid. Each finished run is written "
                                   "at once (atomically) to OUT/runs/, so an interrupted sweep resumes "
                                   "where it stopped when run again with the same OUT.")
    p.add_argument("config", help="a TOML sweep config (see docs/cli.md, benchmarks/configs/)")
    p.add_argument("--out", default=None, help="results folder (default results/<config name>)")
    p.add_argument("--extend", action="store_true", help="allow adding a different config's runs to an existing folder")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs recorded as failed")
    p.add_argument("--report", action="store_true", help="also write the report when done")
    p.add_argument("--format", default="markdown", choices=["markdown", "html"], help="report format")
    _add_executor_options(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("report", parents=[common], help="Markdown/HTML report with tables and PNG plots",
                       description="Summarise a results folder: bias, variance, MSE per estimator (nats), "
                                   "and plots of bias/variance, estimate vs truth and error vs sample size.")
    p.add_argument("dir", help="a results folder written by 'mi-bench run'")
    p.add_argument("--out", default=None, help="output folder (default DIR/report)")
    p.add_argument("--format", default="markdown", choices=["markdown", "html"])
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("validate", parents=[common],
                       help="run the theory and self-consistency checks and print pass/fail with numbers",
                       description="Theory: bounds never above their ceilings, oracle critics tight, DRO temperature "
                                   "equals the Lagrange multiplier, DCL's O(N^-1/2) rate. Self-consistency (auto and a "
                                   "trained InfoNCE critic, about 15 s): invariance under monotone and linear maps, "
                                   "additivity over independent pairs, data processing, zero under independence, "
                                   "and a Jensen-Shannon phi-MI check.")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", choices=["theory", "consistency"], default=None, help="run one group of checks")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("demo", parents=[common], help="a small default benchmark (a few minutes on 2 cores)",
                       description="Run a small benchmark (Gaussian and cubic tasks × the auto default, InfoNCE, "
                                   "NWJ, SMILE, KSG, CCA × 2 seeds), print the table in nats, and write the "
                                   "results, the report and the plots into --out.")
    p.add_argument("--out", default="mi-bench-out", help="output folder (default ./mi-bench-out)")
    _add_executor_options(p)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``mi-bench``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (_Usage, ValueError, FileNotFoundError) as err:
        print(f"mi-bench {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mi-bench {args.command}: interrupted (finished runs are saved; run again to resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mi-bench list | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
