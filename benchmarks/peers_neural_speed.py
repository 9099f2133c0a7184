"""The neural peers side by side with ours, on the same samples, in one run (issue 20, item 3).

The non-neural peers (scikit-learn, npeet-plus, ennemi, frites, bmi) are in
``benchmarks/peers_speed.py``; this script adds the neural ones, each in its own virtual
environment because their pins clash with the project's:

- torch-mist 0.2.17 (numpy < 2): ``torch_mist.estimate_mi(data, estimator="infonce",
  hidden_dims=[256, 256, 32], test_data=...)``, its defaults otherwise (separable critic, at most
  5000 iterations of batch 128, Adam 5e-4, early stopping on its own 10 % validation split),
  trained on the first 80 % of the rows and evaluated on the last 20 % (the held-out fraction
  ours uses). Environment: ``bash benchmarks/_torch_mist_env.sh /tmp/tm-venv``.
- diffusion-mi 0.1.0: MINDE through ``benchmarks/peers_minde.py``'s worker (``MINDEEstimator``
  type c, ``--epochs`` 60, batch 256, lr 1e-3, fit and evaluated on the whole sample) and, with
  ``--mmg``, ``MMGEstimator`` with the same training budget (its ``estimate`` on the whole
  z-scored sample; its monitoring validation set: the first 1000 rows). Environment:
  ``bash benchmarks/_minde_env.sh /tmp/minde-venv``.
- ours: ``estimate_mi(x, y)`` (the default) and ``estimate_mi(x, y, "infonce")``, defaults.

Samples: ``synthetic.CorrelatedGaussian(--dim, mi=--mi)`` drawn once per n with seed 0 (as
peers_speed.py draws them) in the project's environment and handed to every contender as an
``.npz`` file. Every contender runs in a fresh subprocess with one torch/BLAS thread; the time
is the wall and CPU seconds of the one public call (imports and process start-up excluded), one
call per cell. A call that has not returned after ``--cap`` seconds (plus start-up slack) is
killed and recorded as past the cap, and that contender is not run at larger n.

    .venv/bin/python benchmarks/peers_neural_speed.py --json docs/performance/peers_neural_speed.json
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402  (imports neither torch nor mi_estimators)

SCRIPT = Path(__file__).resolve()
HELDOUT = 0.2          # ours' default heldout_fraction; torch-mist gets the same split
TM_HIDDEN = [256, 256, 32]
STARTUP_SLACK = 90.0   # seconds allowed on top of --cap for imports and process start-up


# --------------------------------------------------------------------------- workers (any venv)
def _load(npz: str):
    import numpy as np

    d = np.load(npz)
    return d["x"], d["y"]


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def worker_ours(npz: str, estimator: str) -> dict:
    import warnings

    from mi_estimators import estimate_mi

    H.single_thread()
    x, y = _load(npz)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r, wall, cpu = _timed(lambda: estimate_mi(x, y) if estimator == "auto" else estimate_mi(x, y, estimator))
    from importlib.metadata import version

    return dict(estimate=float(r.mi), time_s=wall, cpu_s=cpu, method=str(r.estimator),
                versions=dict(mi_estimators=version("mi-estimators")))


def split_rows(n: int, heldout: float = HELDOUT) -> int:
    """Rows torch-mist trains on: the first n - round(heldout * n); the rest are its test data."""
    n_test = max(1, int(round(heldout * n)))
    return n - n_test


def worker_tm(npz: str) -> dict:
    import numpy as np
    import torch
    import torch_mist

    H.single_thread()
    torch.manual_seed(0)
    np.random.seed(0)
    x, y = _load(npz)
    k = split_rows(len(x))
    t32 = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    data, test = {"x": t32(x[:k]), "y": t32(y[:k])}, {"x": t32(x[k:]), "y": t32(y[k:])}
    out, wall, cpu = _timed(lambda: torch_mist.estimate_mi(data, estimator="infonce", hidden_dims=TM_HIDDEN,
                                                           test_data=test, verbose=False))
    mi = out[0] if isinstance(out, tuple) else out
    log = out[-1] if isinstance(out, tuple) else None
    iters = None
    try:   # the train log's last logged iteration, informative only
        iters = int(log["iteration"].max())
    except Exception:   # noqa: BLE001
        pass
    from importlib.metadata import version

    return dict(estimate=float(mi), time_s=wall, cpu_s=cpu, iterations=iters,
                versions=dict(torch_mist=version("torch-mist"), torch=torch.__version__, numpy=np.__version__))


def worker_mmg(npz: str, epochs: int, batch_size: int, lr: float, seed: int) -> dict:
    import logging

    import numpy as np
    import torch

    H.single_thread()
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from importlib.metadata import version

    from dmi.estimators import MMGEstimator

    x, y = _load(npz)
    xs, ys = (x - x.mean(0)) / x.std(0), (y - y.mean(0)) / y.std(0)
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = MMGEstimator(x_shape=x.shape[1:], y_shape=y.shape[1:], batch_size=batch_size, max_epochs=epochs,
                         learning_rate=lr, seed=seed)

    def call():
        model.fit(xs, ys, xs[:1000], ys[:1000])
        return model.estimate(xs, ys)

    mi, wall, cpu = _timed(call)
    return dict(estimate=float(mi), time_s=wall, cpu_s=cpu,
                versions=dict(diffusion_mi=version("diffusion-mi"), torch=torch.__version__))


# --------------------------------------------------------------------------- parent (project venv)
def _call(fn, timeout: float) -> dict:
    """Run one worker; a timeout or a failure becomes a status row instead of an exception."""
    t0 = time.perf_counter()
    try:
        res = fn(timeout)
    except subprocess.TimeoutExpired:
        return dict(status=f"past the cap (killed after {time.perf_counter() - t0:.0f} s)")
    except Exception as err:   # noqa: BLE001 - a failing peer is a result
        return dict(status="failed: " + str(err).strip().splitlines()[-1][:300] if str(err).strip() else "failed")
    if res.get("error"):
        return dict(status="failed: " + res["error"].strip().splitlines()[-1][:300])
    res["wall_with_startup_s"] = time.perf_counter() - t0
    return res


def contenders(args, npz: str) -> dict:
    """label -> function(timeout) returning a worker result dict."""
    import peers_minde

    me = sys.executable

    def ours(est):
        return lambda to: H.run_worker(me, SCRIPT, "ours", ["--npz", npz, "--estimator", est], timeout=to)

    c = {"mie estimate_mi (default)": ours("auto"), "mie estimate_mi infonce": ours("infonce")}
    if Path(args.tm_python).exists():
        c["torch-mist estimate_mi infonce"] = \
            lambda to: H.run_worker(args.tm_python, SCRIPT, "tm", ["--npz", npz], timeout=to)
    minde_py = Path(args.minde_venv) / "bin" / "python"
    if minde_py.exists():
        def minde(to):
            import numpy as np

            d = np.load(npz)
            ns = types.SimpleNamespace(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=0, timeout=to)
            return peers_minde.run_minde(Path(args.minde_venv), d["x"], d["y"], ns)

        c["diffusion-mi MINDE"] = minde
        if args.mmg:
            c["diffusion-mi MMG"] = lambda to: H.run_worker(
                str(minde_py), SCRIPT, "mmg", ["--npz", npz, "--epochs", str(args.epochs), "--batch-size",
                                               str(args.batch_size), "--lr", str(args.lr)], timeout=to)
    return c


def ratios(rows: list[dict], refs=("mie estimate_mi (default)", "mie estimate_mi infonce")) -> list[dict]:
    """Each finished row's time (wall and CPU) over the reference rows' at the same n."""
    out = []
    for r in rows:
        if "time_s" not in r:
            continue
        for ref in refs:
            b = next((b for b in rows if b["n"] == r["n"] and b["name"] == ref and "time_s" in b), None)
            if b is not None and b["name"] != r["name"]:
                out.append(dict(n=r["n"], name=r["name"], ref=ref, wall=r["time_s"] / b["time_s"],
                                cpu=r["cpu_s"] / b["cpu_s"]))
    return out


def render(rows: list[dict], sizes: list[int]) -> str:
    names = list(dict.fromkeys(r["name"] for r in rows))
    lines = ["| contender | " + " | ".join(f"n = {n:,}" for n in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for name in names:
        cells = []
        for n in sizes:
            r = next((r for r in rows if r["n"] == n and r["name"] == name), None)
            if r is None:
                cells.append("")
            elif "time_s" not in r:
                cells.append(r["status"])
            else:
                cells.append(f"{r['time_s']:.3g} s ({r['cpu_s']:.3g} s CPU), {r['estimate']:.3f} ({r['error']:.3f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    rat = ratios(rows)
    if rat:
        lines += ["", "| contender / reference | " + " | ".join(f"n = {n:,}" for n in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for name in names:
            for ref in ("mie estimate_mi (default)", "mie estimate_mi infonce"):
                cells = []
                for n in sizes:
                    q = next((q for q in rat if q["n"] == n and q["name"] == name and q["ref"] == ref), None)
                    cells.append(f"{q['wall']:.3g}x wall, {q['cpu']:.3g}x CPU" if q else "")
                if any(cells):
                    lines.append(f"| {name} / {ref.replace('mie estimate_mi ', '')} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--npz", help=argparse.SUPPRESS)
    p.add_argument("--estimator", default="auto", help=argparse.SUPPRESS)
    p.add_argument("--sizes", nargs="+", type=int, default=[1000, 10_000, 100_000])
    p.add_argument("--dim", type=int, default=5, help="d_x = d_y (default 5)")
    p.add_argument("--mi", type=float, default=1.0, help="true MI in nats (default 1)")
    p.add_argument("--cap", type=float, default=300.0, help="seconds one call may take (default 300)")
    p.add_argument("--only", default="", help="comma list of label substrings to run (default: all)")
    p.add_argument("--tm-python", default="/tmp/tm-venv/bin/python")
    p.add_argument("--minde-venv", default="/tmp/minde-venv")
    p.add_argument("--mmg", action="store_true", help="also run diffusion-mi's MMG")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--json", default=None, help="write every measurement here")
    args = p.parse_args(argv)
    if args.worker:
        if args.worker == "ours":
            H.emit(worker_ours(args.npz, args.estimator))
        elif args.worker == "tm":
            H.emit(worker_tm(args.npz))
        elif args.worker == "mmg":
            H.emit(worker_mmg(args.npz, args.epochs, args.batch_size, args.lr, 0))
        else:
            raise SystemExit(f"unknown worker {args.worker!r}")
        return 0

    import numpy as np

    sys.path.insert(0, str(H.REPO))
    from synthetic.gaussian import CorrelatedGaussian

    task = CorrelatedGaussian(args.dim, mi=args.mi)
    env = dict(machine=H.machine_line(), load_start=os.getloadavg(), dim=args.dim, mi=float(task.mi), cap=args.cap,
               started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    try:
        env["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                       cwd=str(H.REPO)).stdout.strip()
    except OSError:
        pass
    rows, slow, versions = [], set(), {}
    only = [s for s in args.only.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.sizes):
            x, y = task.sample(n, seed=0)
            npz = str(Path(tmp) / f"xy_{n}.npz")
            np.savez(npz, x=x, y=y)
            for name, fn in contenders(args, npz).items():
                if only and not any(s in name for s in only):
                    continue
                load = os.getloadavg()[0]
                if name in slow:
                    res = dict(status="not run (past the cap at a smaller n)")
                else:
                    res = _call(fn, args.cap + STARTUP_SLACK)
                    if "time_s" in res and res["time_s"] > args.cap:
                        res = dict(status=f"past the cap ({res['time_s']:.0f} s)", **res)
                res.update(n=n, name=name, load=load, load_after=os.getloadavg()[0])
                if "estimate" in res:
                    res["error"] = abs(res["estimate"] - task.mi)
                versions[name] = res.pop("versions", None) or versions.get(name)
                if "time_s" not in res or res["time_s"] > args.cap:
                    slow.add(name)
                rows.append(res)
                msg = (f"{res['time_s']:9.2f} s  {res['cpu_s']:9.2f} s CPU  mi {res['estimate']:.4f} "
                       f"|err| {res['error']:.4f}" if "time_s" in res else res["status"])
                print(f"n = {n:7d}  {name:34s} {msg}  (load {load:.2f})", flush=True)
                if args.json:   # after every cell: a killed run keeps what it measured
                    Path(args.json).write_text(json.dumps(dict(env=dict(env, versions=versions), rows=rows), indent=1))
    env.update(load_end=os.getloadavg(), versions=versions,
               finished=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    if args.json:
        Path(args.json).write_text(json.dumps(dict(env=env, rows=rows), indent=1))
    print(f"\n{env}\n")
    print(render(rows, sorted(args.sizes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
