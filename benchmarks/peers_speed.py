"""KSG and Gaussian-copula speed against the peers, on the same samples, in one run (issue 20, item 3).

Every contender sees the same arrays (``synthetic.CorrelatedGaussian``, exact MI), one thread each
(ours also on every core, its default),
interleaved call by call in one process (bmi's jax KSG in its own process and virtual environment,
because of its pinned jax). Peers live outside the project's environment:

    python3 -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install torch==2.13.0 -e . ennemi npeet-plus frites scikit-learn
    python3 -m venv /tmp/bmi-venv && /tmp/bmi-venv/bin/pip install benchmark-mi "jax==0.4.30" "jaxlib==0.4.30"
    /tmp/peers-venv/bin/python benchmarks/peers_speed.py --md docs/peers-speed.md

What is timed (wall seconds of one public call, the best of ``--repeats``):

- ``mie ksg``: ``ksg_mi(x, y, k=3, stderr="pointwise")`` (the estimate alone, as the peers give;
  one thread, because this script sets ``OMP_NUM_THREADS=1`` for every contender and
  ``workers=-1`` respects it), ``mie ksg (default)``: ``ksg_mi(x, y)`` with its block standard
  error (about 2x the work), and ``every core``: the same two with ``workers=`` the number of
  cores this process may use, as ``workers=-1`` (the default) gives a user whose
  ``OMP_NUM_THREADS`` is unset (none of the peers splits one estimate over threads, and none
  computes a standard error);
- scikit-learn: ``mutual_info_regression(x, y, n_neighbors=3)`` (one x column: its KSG per feature);
- npeet-plus: ``mi(x, y, k=3, base=e)``; ennemi: ``estimate_mi(y, x, k=3, max_threads=1)``
  (one x column); bmi (benchmark-mi 0.1.3): ``KSGEnsembleFirstEstimator(neighborhoods=(3,),
  standardize=False, metric_x="chebyshev")`` (KSG-1 in the max-norm; all pairwise distances, numpy
  and scikit-learn, O(n²)), in its own process and environment (it needs jax < 0.4.34);
- Gaussian copula: ``estimate_mi(x, y, "gaussian-copula")`` against frites' ``gcmi_nd_cc``
  (bits, converted to nats).

**Same answer to 1e-9.** Each peer's KSG core is run on the raw samples (no rescaling, no noise)
next to ``ksg_mi(x, y, k=3, standardize=False, noise=0, stderr="pointwise")``: scikit-learn's
``_compute_mi_cc`` (radius ``nextafter(eps, 0)``, the same strict count as ours), ennemi's
``_estimate_single_mi`` (radius ``eps - 1e-12``; also with its digamma approximation ``_psi``,
off by up to 1.2e-5, replaced by scipy's) and npeet-plus's ``mi`` with its noise switched off
(radius ``eps - 1e-15``), and bmi's timed call itself (raw samples, strict counts). The table gives max |difference| in nats; the strict-count variants
differ only if another point lies within 1e-12 of a k-th neighbour distance.

Timings depend on the machine and its load (printed with the results): quote the ratios, which are
measured in the same run, call after call.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
_CORES = len(os.sched_getaffinity(0))

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LN2 = math.log(2.0)

_BMI_CHILD = r"""
import json, sys, time
import numpy as np
import bmi
d = np.load(sys.argv[1])
x, y = d["x"], d["y"]
est = bmi.estimators.KSGEnsembleFirstEstimator(neighborhoods=(3,), standardize=False, metric_x="chebyshev")
est.estimate(x[:200], y[:200])   # jit warm-up
best, value = float("inf"), None
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter(); value = float(est.estimate(x, y)); best = min(best, time.perf_counter() - t0)
print("RESULT " + json.dumps(dict(seconds=best, mi=value)))
"""


def _best(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def contenders(dx: int):
    """name -> (function of (x, y) returning nats, or None when the peer does not apply / import)."""
    from mi_estimators import estimate_mi
    from mi_estimators.nonparametric import ksg_mi

    out = {
        "mie ksg": lambda x, y: ksg_mi(x, y, k=3, stderr="pointwise"),
        "mie ksg (default, block stderr)": lambda x, y: ksg_mi(x, y, k=3),
        "mie ksg, every core": lambda x, y: ksg_mi(x, y, k=3, stderr="pointwise", workers=_CORES),
        "mie ksg (default, block stderr), every core": lambda x, y: ksg_mi(x, y, k=3, workers=_CORES),
    }
    notes = {}
    try:
        from sklearn.feature_selection import mutual_info_regression

        if dx == 1:
            out["scikit-learn mutual_info_regression"] = \
                lambda x, y: float(mutual_info_regression(x, y[:, 0], n_neighbors=3, random_state=0)[0])
    except ImportError as err:
        notes["scikit-learn"] = str(err)
    try:
        import npeet_plus

        out["npeet-plus mi"] = lambda x, y: float(npeet_plus.mi(x, y, k=3, base=math.e))
    except ImportError as err:
        notes["npeet-plus"] = str(err)
    try:
        import ennemi

        if dx == 1:
            out["ennemi estimate_mi"] = lambda x, y: float(np.asarray(
                ennemi.estimate_mi(y[:, 0], x[:, 0], k=3, max_threads=1)).ravel()[0])
    except ImportError as err:
        notes["ennemi"] = str(err)
    gc = {"mie gaussian-copula": lambda x, y: estimate_mi(x, y, "gaussian-copula").mi}
    try:
        from frites.core import gcmi_nd_cc

        gc["frites gcmi_nd_cc"] = lambda x, y: float(gcmi_nd_cc(x.T, y.T, mvaxis=0, traxis=-1)) * LN2
    except ImportError as err:
        notes["frites"] = str(err)
    return out, gc, notes


def same_answer(x, y) -> dict:
    """max |peer core - ours| on raw samples (no noise, no rescaling), nats."""
    from mi_estimators.nonparametric import ksg_mi

    ours = ksg_mi(x, y, k=3, standardize=False, noise=0.0, stderr="pointwise")
    diffs = {}
    try:
        from sklearn.feature_selection._mutual_info import _compute_mi_cc

        if x.shape[1] == 1:
            diffs["scikit-learn _compute_mi_cc"] = abs(_compute_mi_cc(x[:, 0], y[:, 0], 3) - max(ours, 0.0))
    except ImportError:
        pass
    try:
        from ennemi._entropy_estimators import _estimate_single_mi

        if x.shape[1] == 1:
            diffs["ennemi _estimate_single_mi"] = abs(float(_estimate_single_mi(x[:, 0], y[:, 0], 3)) - ours)
            import ennemi._entropy_estimators as ee
            from scipy.special import digamma

            saved = ee._psi
            ee._psi = digamma   # ennemi's own digamma approximation is off by up to 1.2e-5 (n < 1e5)
            try:
                diffs["ennemi, scipy digamma"] = abs(float(_estimate_single_mi(x[:, 0], y[:, 0], 3)) - ours)
            finally:
                ee._psi = saved
    except ImportError:
        pass
    try:
        import npeet_plus.estimators as ne

        saved = ne.add_noise
        ne.add_noise = lambda a, intens=0.0: a
        try:
            diffs["npeet-plus mi (noise off)"] = abs(float(ne.mi(x, y, k=3, base=math.e)) - ours)
        finally:
            ne.add_noise = saved
    except ImportError:
        pass
    return diffs


def run_bmi(python: str, x, y, repeats: int, timeout: float):
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "xy.npz"
        np.savez(f, x=x, y=y)
        try:
            proc = subprocess.run([python, "-c", _BMI_CHILD, str(f), str(repeats)], capture_output=True, text=True,
                                  timeout=timeout, env=dict(os.environ, JAX_PLATFORMS="cpu",
                                                            XLA_FLAGS="--xla_cpu_multi_thread_eigen=false"))
        except subprocess.TimeoutExpired:
            return None, f"ran past {timeout:g} s"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        return None, (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return json.loads(lines[-1][7:]), ""


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=int, default=[1000, 10_000, 100_000, 1_000_000])
    p.add_argument("--dims", nargs="+", type=int, default=[1, 2], help="d_x = d_y")
    p.add_argument("--mi", type=float, default=1.0, help="true MI of the correlated Gaussian (nats)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cap", type=float, default=60.0,
                   help="a contender whose call took longer than this is not run at larger n")
    p.add_argument("--bmi-python", default="/tmp/bmi-venv/bin/python")
    p.add_argument("--check-max-n", type=int, default=100_000,
                   help="compare every peer's KSG core with ours on the raw samples up to this n")
    p.add_argument("--json", default=None, help="write every measurement here")
    p.add_argument("--md", default=None, help="write the markdown tables here")
    args = p.parse_args(argv)
    from synthetic.gaussian import CorrelatedGaussian

    rows, checks, lines = [], [], []
    load0 = os.getloadavg()[0]
    for d in args.dims:
        ksg, gc, notes = contenders(d)
        task = CorrelatedGaussian(d, mi=args.mi)
        xw, yw = task.sample(300, seed=99)
        for fn in {**ksg, **gc}.values():   # warm-up: imports and lazy set-up are not timed
            fn(xw, yw)
        slow, bmi_diff = set(), {}
        for n in sorted(args.sizes):
            x, y = task.sample(n, seed=0)
            load = os.getloadavg()[0]
            for name, fn in {**ksg, **gc}.items():
                if name in slow:
                    rows.append(dict(d=d, n=n, name=name, status="skipped", kind="gc" if name in gc else "ksg"))
                    continue
                t, v = _best(lambda: fn(x, y), args.repeats if n <= 100_000 else 1)
                rows.append(dict(d=d, n=n, name=name, seconds=t, mi=v, error=abs(v - task.mi), load=load,
                                 kind="gc" if name in gc else "ksg"))
                print(f"d = {d}+{d} n = {n:8d} {name:36s} {t:9.3f} s  mi {v:.4f} (truth {task.mi:.4f})", flush=True)
                if t > args.cap:
                    slow.add(name)
            if Path(args.bmi_python).exists() and "bmi KSGEnsembleFirstEstimator" not in slow:
                res, why = run_bmi(args.bmi_python, x, y, args.repeats if n <= 10_000 else 1, 2 * args.cap + 30)
                if res is None:
                    rows.append(dict(d=d, n=n, name="bmi KSGEnsembleFirstEstimator", status=f"failed: {why}", kind="ksg"))
                    slow.add("bmi KSGEnsembleFirstEstimator")
                else:
                    rows.append(dict(d=d, n=n, name="bmi KSGEnsembleFirstEstimator", seconds=res["seconds"],
                                     mi=res["mi"], error=abs(res["mi"] - task.mi), load=load, kind="ksg"))
                    from mi_estimators.nonparametric import ksg_mi

                    bmi_diff[n] = abs(res["mi"] - ksg_mi(x, y, k=3, standardize=False, noise=0.0, stderr="pointwise"))
                    print(f"d = {d}+{d} n = {n:8d} {'bmi KSGEnsembleFirstEstimator':36s} {res['seconds']:9.3f} s", flush=True)
                    if res["seconds"] > args.cap:
                        slow.add("bmi KSGEnsembleFirstEstimator")
            if n <= args.check_max_n:
                diffs = same_answer(x, y)
                if n in bmi_diff:
                    diffs["bmi KSG (chebyshev)"] = bmi_diff[n]
                checks.append(dict(d=d, n=n, **diffs))
                print(f"   same answer (max |diff|, nats): {diffs}", flush=True)
        if notes:
            lines.append(f"not run: {notes}")
    load1 = os.getloadavg()[0]
    env = dict(python=platform.python_version(), machine=platform.processor() or platform.machine(),
               cpus=os.cpu_count(), load_start=load0, load_end=load1)
    try:
        import importlib.metadata as md

        env.update({pkg: md.version(pkg) for pkg in ("numpy", "scipy", "scikit-learn", "npeet-plus", "ennemi", "frites")
                    if _has(md, pkg)})
    except Exception:   # noqa: BLE001 - versions are informative only
        pass
    if args.json:
        Path(args.json).write_text(json.dumps(dict(env=env, rows=rows, checks=checks), indent=1))
    md_text = render(rows, checks, env, lines)
    print(md_text)
    if args.md:
        Path(args.md).write_text(md_text)


def _has(md, pkg) -> bool:
    try:
        md.version(pkg)
        return True
    except md.PackageNotFoundError:
        return False


def render(rows, checks, env, lines) -> str:
    out = [f"Environment: {env}", ""]
    for kind, title in (("ksg", "KSG (k = 3)"), ("gc", "Gaussian-copula value")):
        for d in sorted({r["d"] for r in rows}):
            sel = [r for r in rows if r["d"] == d and r.get("kind", "ksg") == kind]
            if not sel:
                continue
            sizes = sorted({r["n"] for r in sel})
            names = list(dict.fromkeys(r["name"] for r in sel))
            ref = "mie ksg" if kind == "ksg" else "mie gaussian-copula"
            out += [f"### {title}, d_x = d_y = {d}: seconds (time / mie's) and |error| in nats", "",
                    "| contender | " + " | ".join(f"n = {n:,}" for n in sizes) + " |",
                    "|---|" + "---|" * len(sizes)]
            for name in names:
                cells = []
                for n in sizes:
                    r = next((r for r in sel if r["n"] == n and r["name"] == name), None)
                    base = next((r for r in sel if r["n"] == n and r["name"] == ref and "seconds" in r), None)
                    if r is None or "seconds" not in r:
                        cells.append(r["status"] if r else "")
                        continue
                    ratio = f" ({r['seconds'] / base['seconds']:.1f}x)" if base and name != ref else ""
                    cells.append(f"{r['seconds']:.3g} s{ratio}, {r['error']:.4f}")
                out.append(f"| {name} | " + " | ".join(cells) + " |")
            out.append("")
    if checks:
        out += ["### Same answer: max |peer core - mie ksg| on the raw samples, nats", ""]
        keys = sorted({k for c in checks for k in c if k not in ("d", "n")})
        out += ["| d, n | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
        for c in checks:
            out.append(f"| {c['d']}+{c['d']}, {c['n']:,} | " + " | ".join(f"{c[k]:.1e}" if k in c else "n/a" for k in keys) + " |")
        out.append("")
    out += lines
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
