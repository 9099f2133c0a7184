"""Peers side by side: conditional MI, discrete / mixed MI and independence tests (issue 18, item 6).

Every contender sees the same arrays (tasks with exact truths from ``synthetic``), in one process,
one thread each. Peers live in their own virtual environment so the project's stays untouched:

    python3 -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install torch==2.13.0 -e . ennemi npeet-plus frites tigramite causal-learn numba
    /tmp/peers-venv/bin/python benchmarks/peers_cmi.py --md docs/peers-cmi.md

(tigramite's CMIknn / CMIsymb import numba, which tigramite does not declare.) A peer that does
not import is skipped with a printed note. Estimates are converted to nats (npeet-plus defaults to
bits and is called with ``base=e``; frites' GCMI returns bits and is multiplied by ln 2; ennemi
returns nats).

Estimation: each family of ``synthetic.report_tasks("cmi")`` and ``report_tasks("discrete")``, at
each n of ``--sizes``, ``--seeds`` seeds per task; |error| = |estimate - truth| in nats and the wall
time of the call. Tests: ``--test-datasets`` conditionally independent data sets (the family's
tasks with CMI 0, cycled over seeds) and as many dependent ones (its tasks with CMI > 0) at n =
``--test-n``; rejection rate at the 5 % level and the time per test; the permutation tests all draw
``--permutations`` null samples.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import importlib  # noqa: E402
import importlib.metadata as metadata  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def use_source(src: Path) -> None:
    """Import ``mi_estimators`` and ``synthetic`` from ``src`` (before any editable install)."""
    sys.path.insert(0, str(src))

LN2 = math.log(2.0)
SOURCE_LABEL = ""
PEERS = {"ennemi": "ennemi", "npeet-plus": "npeet_plus", "frites": "frites.core",
         "tigramite": "tigramite.independence_tests.cmiknn", "causal-learn": "causallearn.utils.cit"}
# Families and what kind of data each holds (decides which contenders apply).
KINDS = {"gaussian-cmi": "cmi-cont", "nonlinear-cmi": "cmi-cont", "discrete-cmi": "cmi-disc",
         "discrete": "mi-disc", "discrete-pairs": "mi-disc", "mixed": "mi-mixed", "zero-inflated": "mi-zi"}


def data_seed(task: str, seed: int) -> int:
    return int(hashlib.sha256(f"{task}|{seed}".encode()).hexdigest()[:8], 16)


def family(task: str) -> str:
    return task.split(":")[0]


def available_peers() -> dict[str, str]:
    """{peer: version} for the peers that import; prints a note for the others."""
    found = {}
    for peer, module in PEERS.items():
        try:
            importlib.import_module(module)
            found[peer] = metadata.version(peer)
        except Exception as exc:   # noqa: BLE001 - any import failure means: skip this peer
            print(f"note: peer {peer} skipped ({type(exc).__name__}: {exc})", flush=True)
    return found


def symbols(a: np.ndarray) -> np.ndarray:
    """One integer symbol per row (a multi-column discrete variable as one discrete variable)."""
    return np.unique(a, axis=0, return_inverse=True)[1].reshape(-1)


# ------------------------------------------------------------------------------ estimators
def ours_cmi(method):
    def run(x, y, z, seed):
        from mi_estimators import estimate_cmi
        return estimate_cmi(x, y, z, method=method, seed=seed).mi
    return run


def ours_mi(method):
    def run(x, y, seed):
        from mi_estimators import estimate_mi
        return estimate_mi(x, y, method, seed=seed).mi
    return run


def ennemi_cmi(x, y, z, seed):
    """Frenzel–Pompe k = 3; ennemi takes one column per variable, so I(X; Y | Z) is the chain rule
    sum_ij I(X_i; Y_j | Z, X_<i, Y_<j) (one term when d_x = d_y = 1)."""
    from ennemi import estimate_mi
    total = 0.0
    for i in range(x.shape[1]):
        for j in range(y.shape[1]):
            cond = np.hstack([z, x[:, :i], y[:, :j]])
            total += float(np.asarray(estimate_mi(y[:, j], x[:, i], k=3, cond=cond, max_threads=1)).reshape(-1)[0])
    return total


def ennemi_discrete(x, y, z=None):
    """ennemi's plug-in (discrete_x and discrete_y; cond then discrete); rows encoded to symbols."""
    from ennemi import estimate_mi
    kw = {} if z is None else {"cond": symbols(z)}
    return float(np.asarray(estimate_mi(symbols(y), symbols(x), discrete_x=True, discrete_y=True,
                                        max_threads=1, **kw)).reshape(-1)[0])


def ennemi_mixed(x, y, seed):
    """Ross (2014): discrete x (ennemi's discrete y), continuous y."""
    from ennemi import estimate_mi
    return float(np.asarray(estimate_mi(symbols(x), y[:, 0], k=3, discrete_y=True, max_threads=1)).reshape(-1)[0])


def ennemi_ksg(x, y, seed):
    from ennemi import estimate_mi
    return float(np.asarray(estimate_mi(y[:, 0], x[:, 0], k=3, max_threads=1)).reshape(-1)[0])


def npeet_cmi(x, y, z, seed):
    import npeet_plus
    np.random.seed(seed % 2**32)   # npeet adds its tie-breaking noise from the global generator
    return float(npeet_plus.cmi(x, y, z, k=3, base=math.e))


def npeet_ksg(x, y, seed):
    import npeet_plus
    np.random.seed(seed % 2**32)
    return float(npeet_plus.mi(x, y, k=3, base=math.e))


def npeet_discrete(x, y, z=None):
    import npeet_plus
    if z is None:
        return float(npeet_plus.midd(x, y, base=math.e))
    return float(npeet_plus.cmidd(x, y, z, base=math.e))


def npeet_mixed(x, y, seed):
    """micd: continuous first argument, discrete second."""
    import npeet_plus
    np.random.seed(seed % 2**32)
    return float(npeet_plus.micd(y, x, k=3, base=math.e, warning=False))


def frites_cmi(x, y, z, seed):
    from frites.core import gccmi_1d_ccc
    return float(gccmi_1d_ccc(x.T, y.T, z.T)) * LN2


def frites_gcmi(x, y, seed):
    from frites.core import gcmi_1d_cc
    return float(gcmi_1d_cc(x.T, y.T)) * LN2


def frites_mixed(x, y, seed):
    from frites.core import gcmi_model_1d_cd
    return float(gcmi_model_1d_cd(y.T, symbols(x).astype(int))) * LN2


def estimators(kind: str, peers: dict) -> dict:
    """{contender: fn} for one kind of data; fn(*arrays, seed) -> nats."""
    if kind == "cmi-cont":
        out = {f"ours {m}": ours_cmi(m) for m in ("auto", "ksg", "gaussian-copula")}
        peer = {"ennemi": ("ennemi KSG-CMI", ennemi_cmi), "npeet-plus": ("npeet-plus cmi", npeet_cmi),
                "frites": ("frites gccmi_1d_ccc", frites_cmi)}
    elif kind == "cmi-disc":
        out = {f"ours {m}": ours_cmi(m) for m in ("auto", "discrete")}
        peer = {"ennemi": ("ennemi discrete", lambda x, y, z, seed: ennemi_discrete(x, y, z)),
                "npeet-plus": ("npeet-plus cmidd", lambda x, y, z, seed: npeet_discrete(x, y, z))}
    elif kind == "mi-disc":
        out = {f"ours {m}": ours_mi(m) for m in ("auto", "discrete", "mixed-ksg")}
        peer = {"ennemi": ("ennemi discrete", lambda x, y, seed: ennemi_discrete(x, y)),
                "npeet-plus": ("npeet-plus midd", lambda x, y, seed: npeet_discrete(x, y))}
    elif kind == "mi-mixed":
        out = {f"ours {m}": ours_mi(m) for m in ("auto", "mixed-ksg")}
        peer = {"ennemi": ("ennemi discrete_y", ennemi_mixed), "npeet-plus": ("npeet-plus micd", npeet_mixed),
                "frites": ("frites gcmi_model_1d_cd", frites_mixed)}
    elif kind == "mi-zi":
        out = {f"ours {m}": ours_mi(m) for m in ("auto", "mixed-ksg")}
        peer = {"ennemi": ("ennemi KSG", ennemi_ksg), "npeet-plus": ("npeet-plus mi", npeet_ksg),
                "frites": ("frites gcmi_1d_cc", frites_gcmi)}
    else:
        raise ValueError(kind)
    out.update({label: fn for p, (label, fn) in peer.items() if p in peers})
    return out


def timed(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        try:
            value = fn(*args)
        except Exception as exc:   # noqa: BLE001 - recorded, reported in the doc
            return None, time.perf_counter() - t0, f"{type(exc).__name__}: {str(exc)[:200]}"
        sec = time.perf_counter() - t0
        if not math.isfinite(float(value)):   # counted as a failed call, reported with its value
            return None, sec, f"returned {float(value)}"
        return float(value), sec, None


def run_estimates(tasks: list[str], sizes: list[int], seeds: list[int], peers: dict, cap_s: float,
                  log=print) -> list[dict]:
    import synthetic

    rows, slow = [], set()
    for n in sizes:
        for name in tasks:
            fam = family(name)
            if fam not in KINDS:
                log(f"note: family {fam} has no contender set here; skipped")
                continue
            task = synthetic.get_task(name)
            truth = float(task.cmi if hasattr(task, "cmi") else task.mi)
            contenders = estimators(KINDS[fam], peers)
            for s in seeds:
                data = task.sample(n, seed=data_seed(name, s))
                for label, fn in contenders.items():
                    if (fam, label) in slow:
                        continue
                    est, sec, err = timed(fn, *data, s)
                    rows.append(dict(task=name, family=fam, n=n, seed=s, contender=label, truth=truth,
                                     estimate=est, seconds=sec, error=err))
                    if err:
                        log(f"  ERROR {label} on {name} n={n} seed={s}: {err}")
                    if sec > cap_s:
                        slow.add((fam, label))
                        log(f"  note: {label} took {sec:.1f} s > {cap_s} s on {fam}; skipped for the rest of it")
            log(f"n={n} {name}: " + ", ".join(
                f"{r['contender']}={r['estimate']:.3f}" if r["estimate"] is not None else f"{r['contender']}=ERR"
                for r in rows[-len(contenders):] if r["task"] == name) + f" (truth {truth:.3f})", flush=True)
    return rows


# ------------------------------------------------------------------------------ tests
def tests_for(kind: str, peers: dict, permutations: int) -> dict:
    """{contender: fn(x, y, z, seed) -> p-value}."""
    def ours(x, y, z, seed):
        from mi_estimators import independence_test
        return independence_test(x, y, z, n_permutations=permutations, seed=seed).pvalue

    out = {"ours independence_test (auto)": ours}
    if "tigramite" in peers:
        if kind == "cmi-cont":
            def cmiknn(x, y, z, seed):
                from tigramite.independence_tests.cmiknn import CMIknn
                test = CMIknn(sig_samples=permutations, workers=1, seed=seed)
                return float(test.run_test_raw(x, y, z)[1])
            out["tigramite CMIknn"] = cmiknn
        else:
            def cmisymb(x, y, z, seed):
                from tigramite.independence_tests.cmisymb import CMIsymb
                test = CMIsymb(sig_samples=permutations, seed=seed)
                return float(test.run_test_raw(x.astype(int), y.astype(int), z.astype(int))[1])
            out["tigramite CMIsymb"] = cmisymb
    if "causal-learn" in peers:
        def kci(x, y, z, seed):
            from causallearn.utils.cit import CIT
            data = np.hstack([x, y, z])
            dx, dy = x.shape[1], y.shape[1]
            idx = list(range(data.shape[1]))
            return float(CIT(data, "kci")(idx[:dx], idx[dx:dx + dy], idx[dx + dy:]))
        out["causal-learn KCI"] = kci
    return out


def run_tests(tasks: list[str], n: int, n_sets: int, permutations: int, peers: dict, cap_s: float,
              log=print) -> list[dict]:
    import synthetic

    rows = []
    for fam in dict.fromkeys(family(t) for t in tasks):
        if KINDS.get(fam) not in ("cmi-cont", "cmi-disc"):
            continue
        members = [t for t in tasks if family(t) == fam]
        null = [t for t in members if synthetic.get_task(t).cmi == 0]
        alt = [t for t in members if synthetic.get_task(t).cmi > 0]
        if not null or not alt:
            continue
        contenders = tests_for(KINDS[fam], peers, permutations)
        slow = set()
        for label, fn in contenders.items():   # warm-up (numba compiles on the first call)
            timed(fn, *synthetic.get_task(null[0]).sample(60, seed=1), 0)
        for truth_label, pool in (("independent", null), ("dependent", alt)):
            for i in range(n_sets):
                name, s = pool[i % len(pool)], i // len(pool)
                x, y, z = synthetic.get_task(name).sample(n, seed=data_seed(name, 1000 + s))
                for label, fn in contenders.items():
                    if label in slow:
                        continue
                    p, sec, err = timed(fn, x, y, z, i)
                    rows.append(dict(family=fam, task=name, truth=truth_label, contender=label, n=n, set=i,
                                     pvalue=p, seconds=sec, error=err))
                    if err:
                        log(f"  ERROR {label} on {name}: {err}")
                    if sec > cap_s:
                        slow.add(label)
                        log(f"  note: {label} took {sec:.1f} s > {cap_s} s per test; skipped for the rest of {fam}")
            done = [r for r in rows if r["family"] == fam and r["truth"] == truth_label]
            log(f"tests {fam} {truth_label}: " + ", ".join(
                f"{c}: {np.mean([r['pvalue'] < 0.05 for r in done if r['contender'] == c and r['pvalue'] is not None]):.2f}"
                for c in contenders if any(r["contender"] == c and r["pvalue"] is not None for r in done)), flush=True)
    return rows


# ------------------------------------------------------------------------------ tables
def fmt(v, digits=3):
    return "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{digits}f}"


def estimate_table(rows: list[dict], sizes: list[int]) -> str:
    head = ["family", "contender"]
    for n in sizes:
        head += [f"n={n} mean abs err", f"mean s"]
    head += ["runs (ok/all)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    fams = list(dict.fromkeys(r["family"] for r in rows))
    for fam in fams:
        labels = list(dict.fromkeys(r["contender"] for r in rows if r["family"] == fam))
        best = {}
        for n in sizes:
            errs = {c: np.mean([abs(r["estimate"] - r["truth"]) for r in rows if r["family"] == fam and
                                r["contender"] == c and r["n"] == n and r["estimate"] is not None] or [np.nan])
                    for c in labels}
            finite = {c: e for c, e in errs.items() if np.isfinite(e)}
            best[n] = min(finite, key=finite.get) if finite else None
        for c in labels:
            cells = [fam, c]
            for n in sizes:
                sel = [r for r in rows if r["family"] == fam and r["contender"] == c and r["n"] == n]
                ok = [r for r in sel if r["estimate"] is not None]
                if not sel:
                    cells += ["skipped", "—"]
                    continue
                e = np.mean([abs(r["estimate"] - r["truth"]) for r in ok]) if ok else None
                cells += [("**" + fmt(e) + "**") if best[n] == c else fmt(e),
                          fmt(float(np.mean([r["seconds"] for r in sel])), 4)]
            sel = [r for r in rows if r["family"] == fam and r["contender"] == c]
            cells.append(f"{sum(r['estimate'] is not None for r in sel)}/{len(sel)}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_table(rows: list[dict]) -> str:
    head = ["family", "test", "rejects at 5 %: independent", "rejects at 5 %: dependent", "mean s per test",
            "runs (ok/all)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for fam in dict.fromkeys(r["family"] for r in rows):
        for c in dict.fromkeys(r["contender"] for r in rows if r["family"] == fam):
            sel = [r for r in rows if r["family"] == fam and r["contender"] == c]
            rate = {}
            for t in ("independent", "dependent"):
                ok = [r for r in sel if r["truth"] == t and r["pvalue"] is not None]
                rate[t] = f"{np.mean([r['pvalue'] < 0.05 for r in ok]):.2f} ({len(ok)})" if ok else "—"
            lines.append(f"| {fam} | {c} | {rate['independent']} | {rate['dependent']} | "
                         f"{fmt(float(np.mean([r['seconds'] for r in sel])), 3)} | "
                         f"{sum(r['pvalue'] is not None for r in sel)}/{len(sel)} |")
    return "\n".join(lines)


def per_task_table(rows: list[dict], n: int) -> str:
    """Signed error per task at one n (mean over seeds), for reading where each contender loses."""
    sel = [r for r in rows if r["n"] == n]
    lines = []
    for fam in dict.fromkeys(r["family"] for r in sel):
        labels = list(dict.fromkeys(r["contender"] for r in sel if r["family"] == fam))
        lines += [f"\n**{fam}** (n = {n}; mean signed error, nats)\n", "| task | truth | " + " | ".join(labels) + " |",
                  "|" + "---|" * (len(labels) + 2)]
        for task in dict.fromkeys(r["task"] for r in sel if r["family"] == fam):
            cells = []
            for c in labels:
                v = [r["estimate"] - r["truth"] for r in sel if r["task"] == task and r["contender"] == c
                     and r["estimate"] is not None]
                cells.append(f"{np.mean(v):+.3f}" if v else "—")
            truth = next(r["truth"] for r in sel if r["task"] == task)
            lines.append(f"| `{task.split(':', 1)[1]}` | {truth:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def versions(peers: dict) -> str:
    import scipy

    import mi_estimators

    items = [f"mi-estimators {mi_estimators.__version__} ({SOURCE_LABEL})", f"python {platform.python_version()}", f"numpy {np.__version__}",
             f"scipy {scipy.__version__}"] + [f"{p} {v}" for p, v in peers.items()]
    for extra in ("numba", "scikit-learn"):
        if _has_dist(extra):
            items.append(f"{extra} {metadata.version(extra)}")
    return ", ".join(items)


def source_label(src: Path) -> str:
    import subprocess

    try:
        head = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--", "mi_estimators", "synthetic"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{src} (not a git checkout)"
    return f"commit {head}" + (" plus uncommitted edits to mi_estimators/ or synthetic/" if dirty else "")


def _has_dist(name: str) -> bool:
    try:
        metadata.version(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,5000", help="comma list of n for the estimates")
    p.add_argument("--seeds", type=int, default=3, help="seeds per task and n")
    p.add_argument("--families", default="", help="comma list; default every family of report_tasks")
    p.add_argument("--test-n", type=int, default=500)
    p.add_argument("--test-datasets", type=int, default=50, help="independent and as many dependent sets")
    p.add_argument("--permutations", type=int, default=199, help="null draws of every permutation test")
    p.add_argument("--cap", type=float, default=30.0,
                   help="a contender whose call takes longer than this (s) is dropped for the rest of the family")
    p.add_argument("--no-tests", action="store_true")
    p.add_argument("--md", help="write the tables and the set-up to this Markdown file")
    p.add_argument("--json", help="write the raw rows here")
    p.add_argument("--source", default=str(ROOT),
                   help="tree to import mi_estimators and synthetic from (e.g. a `git archive` export of a commit, "
                        "so that other people's uncommitted edits do not enter the run)")
    p.add_argument("--source-label", default="",
                   help="what --source is, for the doc (default: its git commit and whether the package is edited)")
    args = p.parse_args(argv)
    use_source(Path(args.source))
    if not args.source_label:
        args.source_label = source_label(Path(args.source))
    print("mi_estimators from:", args.source_label, flush=True)
    global SOURCE_LABEL
    SOURCE_LABEL = args.source_label

    import synthetic

    peers = available_peers()
    print("peers:", ", ".join(f"{k} {v}" for k, v in peers.items()) or "none", flush=True)
    tasks = synthetic.report_tasks("cmi") + synthetic.report_tasks("discrete")
    if args.families:
        keep = args.families.split(",")
        tasks = [t for t in tasks if family(t) in keep]
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = list(range(args.seeds))
    load0, t0 = os.getloadavg()[0], time.time()
    est = run_estimates(tasks, sizes, seeds, peers, args.cap)
    tst = [] if args.no_tests else run_tests(synthetic.report_tasks("cmi") if not args.families else
                                             [t for t in synthetic.report_tasks("cmi") if family(t) in keep],
                                             args.test_n, args.test_datasets, args.permutations, peers, args.cap)
    wall, load1 = time.time() - t0, os.getloadavg()[0]
    t_est, t_tst = estimate_table(est, sizes), (test_table(tst) if tst else "")
    print("\nEstimates (nats; best mean |error| per family and n in bold)\n" + t_est)
    if t_tst:
        print(f"\nTests (n = {args.test_n}, {args.permutations} permutations)\n" + t_tst)
    failures = sorted({(r["family"], r["contender"], r["error"]) for r in est + tst if r["error"]})
    if args.json:
        Path(args.json).write_text(json.dumps(dict(estimates=est, tests=tst), indent=0) + "\n")
    if args.md:
        import shlex

        cmd = "/tmp/peers-venv/bin/python benchmarks/peers_cmi.py " + shlex.join(argv if argv is not None
                                                                                else sys.argv[1:])
        write_doc(Path(args.md), args, peers, sizes, seeds, t_est, t_tst, per_task_table(est, max(sizes)),
                  failures, cmd, wall, load0, load1, tasks)
    return 0


def write_doc(path, args, peers, sizes, seeds, t_est, t_tst, t_task, failures, cmd, wall, load0, load1, tasks):
    missing = [p for p in PEERS if p not in peers]
    fams = list(dict.fromkeys(family(t) for t in tasks))
    text = f"""# Peers side by side: conditional MI, discrete and mixed MI, independence tests

Generated by `benchmarks/peers_cmi.py` (issue 18, item 6); do not edit by hand, rerun:

```bash
python3 -m venv /tmp/peers-venv
/tmp/peers-venv/bin/pip install torch==2.13.0 -e . ennemi npeet-plus frites tigramite causal-learn numba
{cmd}
```

- Versions: {versions(peers)}.{" Not installed / not importable: " + ", ".join(missing) + "." if missing else ""}
- Tasks: `synthetic.report_tasks("cmi")` and `report_tasks("discrete")`, families {", ".join(fams)};
  n = {", ".join(map(str, sizes))}; seeds {seeds} per task and n (data seed from a hash of task and
  seed). Every contender gets the same arrays. Wall time of one call, one thread
  (`OMP_NUM_THREADS=1`, ennemi `max_threads=1`, tigramite `workers=1`), one process, after nothing
  (the first call of a peer includes its lazy imports, a few ms amortised over the runs).
- Units: nats. npeet-plus is called with `base=e` (its default is bits); frites' GCMI returns bits
  and is multiplied by ln 2; ennemi returns nats.
- Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work (load average
  {load0:.1f} at the start, {load1:.1f} at the end); the whole run took {wall / 60:.1f} min. Times
  are for comparing contenders within a row group, not as absolute numbers.

## How each contender is called

| data | ours | ennemi | npeet-plus | frites |
|---|---|---|---|---|
| continuous CMI (gaussian-cmi, nonlinear-cmi) | `estimate_cmi(x, y, z, method=...)`: auto, ksg, gaussian-copula | `estimate_mi(y_j, x_i, cond=[z, x_<i, y_<j], k=3)` summed over columns (chain rule: ennemi takes one column per variable) | `cmi(x, y, z, k=3)` | `gccmi_1d_ccc(x.T, y.T, z.T)` (bias-corrected GCMI) |
| discrete CMI (discrete-cmi) | auto, discrete (Miller–Madow) | `estimate_mi(..., discrete_x=True, discrete_y=True, cond=z)` (plug-in) | `cmidd(x, y, z)` (plug-in) | — (no discrete–discrete estimator) |
| discrete MI (discrete, discrete-pairs) | `estimate_mi(x, y, ...)`: auto, discrete, mixed-ksg | plug-in as above, multi-column rows encoded as one symbol | `midd(x, y)` (plug-in) | — |
| discrete x, continuous y (mixed) | auto, mixed-ksg | `estimate_mi(y, x, discrete_y=True)` (Ross 2014) | `micd(y, x)` | `gcmi_model_1d_cd(y, x)` (Gaussian per class) |
| zero-inflated (both mixed) | auto, mixed-ksg | continuous KSG (its preprocessing adds tie-breaking noise) | `mi(x, y)` (KSG, noise 1e-10) | `gcmi_1d_cc` |

Tests: ours `independence_test(x, y, z, n_permutations={args.permutations})` (auto: Frenzel–Pompe
statistic with Runge's local permutation for continuous Z, plug-in CMI permuted within strata for
discrete Z); tigramite `CMIknn(sig_samples={args.permutations}).run_test_raw` (its defaults: knn =
0.2 n, local shuffle with 5 neighbours, rank transform) for continuous data and
`CMIsymb(sig_samples={args.permutations})` for discrete data; causal-learn
`CIT(data, "kci")(X, Y, Z)` (KCI with its default gamma approximation of the null, no
permutations).

## Estimates

Mean |estimate − truth| (nats) over tasks and seeds of the family; mean seconds per call; best
per family and n in bold. "runs" counts the calls that returned a number.

{t_est}

## Independence tests

n = {args.test_n}; {args.test_datasets} conditionally independent data sets (the family's CMI = 0
tasks, `ci=1` for discrete-cmi, cycled with new data seeds) and {args.test_datasets} dependent ones
(its CMI > 0 tasks). Rejection rate at the 5 % level (number of data sets in brackets): the first
column is the size (should be near 0.05), the second the power.

{t_tst or "(not run)"}

## Per task at n = {max(sizes)}
{t_task}

## Failures

Calls that raised or returned a non-finite value (left out of the means above; "runs" counts them
as failed):

{chr(10).join(f"- {f} / {c}: `{e}`" for f, c, e in failures) if failures else "None: every call returned a number."}
"""
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
