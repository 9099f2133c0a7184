"""Training-step time of the ``"flow"`` estimator vs torch-mist 0.2.17's generative estimators (issue 21).

Issue 21's target: "the flow estimator's training step >= 3x faster than torch-mist's fastest
generative estimator's step, side by side in one run". This script measures it; it tunes nothing.

Setting: ``highmi-spiral:dim=5,mi=6,seed=0`` (5 + 5 dims, 6 nats), n = 5000 samples (seed 0),
split 80/20 with ``training.split_indices`` and mapped with ``flow.canonical_premap`` exactly as
``estimate_flow`` does; the parent writes the training split to one .npz file that every contender
reads (torch-mist's environment needs nothing from this repository). Batch 512, Adam, float32,
CPU, one intra-op thread.

Contenders (each in its own fresh subprocess, interleaved round by round, ``_harness.py``):

``mie-flow-K2``        this toolkit's flow step, built as ``flow._fit`` builds it:
                       ``training.make_train_step(FlowPair, lambda ll: -ll.mean(-1), lr=2e-3,
                       record=loss accumulator)`` on a ``FlowPair`` with the defaults
                       (``FLOW_N_MEMBERS`` = 2 members, ``flow_layers`` 4, ``flow_hidden`` 64,
                       ``units`` 8, theta0 from the canonical correlations), fed batches drawn
                       beforehand from ``training._dataset_batches``; per member = this / 2;
``mie-flow-K2+draw``   the same, with ``next(stream)`` (the batch draw ``_fit`` does) inside the timing;
``mie-flow-K1``        the same step with one member (``n_critics=1``), measured;
``tm-<name>``          torch-mist's step as ``train_epoch`` runs it without logger/DataLoader:
                       ``estimator.loss(x, y)``, ``zero_grad``, ``backward``, ``step`` with the
                       optimiser of ``instantiate_optimizer`` (Adam, one param group per tensor,
                       lr 2e-3), on a pool of 64 batches of 512 rows of the same training split
                       (distinct tensors: torch-mist caches ``log q(y|x)`` per input). Every
                       generative estimator torch-mist 0.2.17 offers (``torch_mist.estimators.
                       generative``: BA, CLUB, L1Out, DoE, GM; its dummy is left out) with its
                       factory's default model and ``hidden_dims=[64, 64]``, plus three
                       flow-sized configurations (4 autoregressive transforms, hidden [64, 64]):
                       see :data:`TM_CONFIGS`. For BA, CLUB and L1Out the training loss is the
                       same ``-log q(y|x)`` (their bounds differ only at evaluation).

"torch-mist's fastest generative estimator" is the ``tm-*`` contender with the smallest median.
Ratios are torch-mist's fastest / ours (> 1: ours is faster): per 2-member step, per member
(K2 / 2) and against the measured 1-member step.

torch-mist pins old numpy, so it runs in its own virtual environment, created on first use by
``benchmarks/_torch_mist_env.sh`` (default /tmp/tm-venv; ``--tm-python`` to point at another).

Run:  .venv/bin/python benchmarks/bench_flow_vs_torch_mist.py [--rounds 5] [--steps 200] [--out table.md]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

SCRIPT = Path(__file__).resolve()
TM_VENV = Path(os.environ.get("TM_VENV", "/tmp/tm-venv"))

TASK = "highmi-spiral:dim=5,mi=6,seed=0"
N_SAMPLES = 5000
DATA_SEED = 0
BATCH = 512          # FLOW_TRAIN_DEFAULTS["batch_size"]
LR = 2e-3            # FLOW_TRAIN_DEFAULTS["lr"]
TM_HIDDEN = [64, 64]  # torch-mist's conditioner / made widths; our couplings are d -> 64 -> 64 -> 2d
N_POOL = 64

#: torch-mist contenders: name -> (description, builder name). Builders live in :func:`_tm_estimator`.
TM_CONFIGS = {
    "tm-ba": "BA, q(y|x) conditional_linear x1 (Gaussian, DenseNN 5->64->64->(5,5)), entropy_y given",
    "tm-club": "CLUB, q(y|x) as tm-ba (training loss -log q(y|x))",
    "tm-l1out": "L1Out, q(y|x) as tm-ba (training loss -log q(y|x))",
    "tm-doe": "DoE, q(y|x) as tm-ba + q(y) linear x1",
    "tm-gm": "GM, q(x,y) affine_autoregressive x1 (hidden 64,64) + q(x), q(y) linear x1",
    "tm-ba-flow4": "BA, q(y|x) conditional_affine_autoregressive x4 (hidden 64,64)",
    "tm-doe-flow4": "DoE, q(y|x) conditional_affine_autoregressive x4 + q(y) affine_autoregressive x4 (hidden 64,64)",
    "tm-gm-flow4": "GM, q(x,y) affine_autoregressive x4 (hidden 64,64) + q(x), q(y) linear x1",
}

MIE_CONFIGS = {
    "mie-flow-K2": "flow step, 2 members (default), batches drawn beforehand",
    "mie-flow-K2+draw": "flow step, 2 members, with _fit's batch draw next(stream) timed",
    "mie-flow-K1": "flow step, 1 member",
}


# --------------------------------------------------------------------------- data
def make_data(path: Path, task: str = TASK, n: int = N_SAMPLES, seed: int = DATA_SEED) -> Path:
    """Sample ``task``, split and premap it as ``estimate_flow`` does (heldout 0.2, split seed =
    seed), and save ``xt, yt, xh, yh, canon`` (float64) to ``path`` (.npz)."""
    import numpy as np

    from mi_estimators import training
    from mi_estimators.flow import canonical_premap
    from mi_estimators.options import TrainOptions
    from synthetic import get_task

    x, y = get_task(task).sample(n, seed)
    tr, va = training.split_indices(n, TrainOptions.heldout_fraction, seed)
    xt, yt, (xh,), (yh,), canon = canonical_premap(x[tr], y[tr], [x[va]], [y[va]])
    np.savez(path, xt=xt, yt=yt, xh=xh, yh=yh, canon=canon)
    return path


def _load(path: str) -> dict:
    import numpy as np

    with np.load(path) as f:
        return {k: f[k] for k in f.files}


# --------------------------------------------------------------------------- workers
def worker_mie(name: str, data: str, steps: int, warmup: int) -> dict:
    """Our flow step, with the objects ``flow._fit`` uses (``make_train_step``, ``_dataset_batches``)."""
    import numpy as np
    import torch

    from mi_estimators import training
    from mi_estimators.flow import _UNITS, FLOW_N_MEMBERS, FLOW_OPTIONS
    from mi_estimators.flow_model import FlowPair

    H.single_thread()
    d = _load(data)
    k = 1 if name == "mie-flow-K1" else FLOW_N_MEMBERS
    dev = torch.device("cpu")
    theta0 = np.arctanh(np.clip(d["canon"], 0.0, 0.999))
    model = FlowPair(d["xt"].shape[1], d["yt"].shape[1], n_members=k, layers=FLOW_OPTIONS["flow_layers"],
                     hidden=FLOW_OPTIONS["flow_hidden"], units=_UNITS, seed=DATA_SEED, theta0=theta0,
                     dtype=torch.float32).to(dev)
    stream, _, _ = training._dataset_batches((d["xt"], d["yt"]), (d["xh"], d["yh"]), k, BATCH, DATA_SEED,
                                             torch.float32, dev)
    loss_acc = torch.zeros(k, dtype=torch.float64)
    step_fn = training.make_train_step(model, lambda ll: -ll.mean(-1), lr=LR, weight_decay=0.0, cuda_graph=False,
                                       record=lambda ll, loss: loss_acc.add_(loss.to(torch.float64)))
    if name == "mie-flow-K2+draw":
        def step(i):
            step_fn(*next(stream))
    else:
        pool = [next(stream) for _ in range(N_POOL)]

        def step(i):
            step_fn(*pool[i % N_POOL])

    out = H.summarize(H.time_steps(step, warmup, steps))
    out.update(loss=float((loss_acc / (steps + warmup)).mean()), params=sum(p.numel() for p in model.parameters()),
               members=k)
    return out


def _tm_estimator(name: str, dx: int, dy: int, entropy_y: float):
    from torch_mist.distributions.factories import joint_transformed_normal, transformed_normal
    from torch_mist.estimators import ba, club, doe, gm, l1out

    h = list(TM_HIDDEN)
    aa4 = dict(transform_name="conditional_affine_autoregressive", n_transforms=4)
    if name == "tm-ba":
        return ba(entropy_y=entropy_y, x_dim=dx, y_dim=dy, hidden_dims=h)
    if name == "tm-club":
        return club(x_dim=dx, y_dim=dy, hidden_dims=h)
    if name == "tm-l1out":
        return l1out(x_dim=dx, y_dim=dy, hidden_dims=h)
    if name == "tm-doe":
        return doe(x_dim=dx, y_dim=dy, hidden_dims=h)
    if name.startswith("tm-gm"):
        q_xy = joint_transformed_normal(input_dims={"x": dx, "y": dy}, transform_name="affine_autoregressive",
                                        n_transforms=4 if name == "tm-gm-flow4" else 1, hidden_dims=h)
        return gm(x_dim=dx, y_dim=dy, hidden_dims=h, q_XY=q_xy)
    if name == "tm-ba-flow4":
        return ba(entropy_y=entropy_y, x_dim=dx, y_dim=dy, hidden_dims=h, **aa4)
    if name == "tm-doe-flow4":
        q_y = transformed_normal(input_dim=dy, transform_name="affine_autoregressive", n_transforms=4, hidden_dims=h)
        return doe(x_dim=dx, y_dim=dy, hidden_dims=h, q_Y=q_y, conditional_transform_name=aa4["transform_name"],
                   n_conditional_transforms=4)
    raise ValueError(name)


def worker_tm(name: str, data: str, steps: int, warmup: int) -> dict:
    """torch-mist's step, as train_epoch runs it, without the logger and DataLoader."""
    import contextlib
    import io

    import torch
    from torch_mist.utils.train.model import instantiate_optimizer

    H.single_thread()
    torch.manual_seed(0)
    d = _load(data)
    xt = torch.as_tensor(d["xt"], dtype=torch.float32)
    yt = torch.as_tensor(d["yt"], dtype=torch.float32)
    g = torch.Generator().manual_seed(DATA_SEED)
    pool = []
    for _ in range(N_POOL):
        idx = torch.randperm(xt.shape[0], generator=g)[:BATCH]
        pool.append((xt[idx], yt[idx]))
    dy = yt.shape[1]
    entropy_y = 0.5 * dy * math.log(2 * math.pi * math.e)  # the premapped y is whitened
    with contextlib.redirect_stdout(io.StringIO()):  # torch-mist prints "[Warning]: parameter ... ignored"
        est = _tm_estimator(name, xt.shape[1], dy, entropy_y)
    est.train()
    opt, _ = instantiate_optimizer(est, max_iterations=steps + warmup, optimizer_params={"lr": LR})
    last = []

    def step(i):
        x, y = pool[i % N_POOL]
        loss = est.loss(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i == steps + warmup - 1:
            last.append(float(loss.detach()))

    out = H.summarize(H.time_steps(step, warmup, steps))
    out.update(loss=last[0], params=sum(p.numel() for p in est.parameters() if p.requires_grad), members=1)
    return out


# --------------------------------------------------------------------------- parent
def ensure_tm_venv(python: Path) -> None:
    from bench_vs_torch_mist import ensure_tm_venv as create   # the same environment, made the same way

    create(python)


def tm_version(python: str) -> str:
    import subprocess

    code = "import importlib.metadata as m; print(m.version('torch-mist'), m.version('torch'), m.version('numpy'))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return f"torch-mist {out[0]} (torch {out[1]}, numpy {out[2]}, own venv)"


def contenders(data: Path, steps: int, warmup: int, tm_python: str | None, only: list[str] | None = None) -> dict:
    """name -> zero-argument callable running one worker subprocess."""
    extra = ["--data", str(data), "--steps", str(steps), "--warmup", str(warmup)]

    def w(python, name):
        return lambda: H.run_worker(python, SCRIPT, name, extra)

    c = {n: w(sys.executable, n) for n in MIE_CONFIGS}
    if tm_python:
        c.update({n: w(tm_python, n) for n in TM_CONFIGS})
    return {n: f for n, f in c.items() if only is None or n in only}


def report(comb: dict, runs: dict) -> tuple[str, list[str], dict]:
    """The markdown table, the ratio lines and the ratios themselves; a run whose loss was not
    finite is a RuntimeError (its time would not be a training step's)."""
    bad = [n for n, rs in runs.items() if not all(math.isfinite(r["loss"]) for r in rs)]
    if bad:
        raise RuntimeError(f"non-finite training loss in {bad}")
    base = comb["mie-flow-K2"]["median"]
    desc = {**MIE_CONFIGS, **TM_CONFIGS}
    rows = []
    for n, cb in comb.items():
        r0 = runs[n][0]
        rows.append([n, desc[n].replace("|", "\\|"), r0["params"], cb["median"], f"{cb['min']:.3g}-{cb['max']:.3g}", cb["p90_median"],
                     cb["median"] / base])
    table = H.markdown_table(["contender", "model", "parameters", "median ms/step", "range of run medians",
                              "p90 ms", "time / mie-flow-K2"], rows)
    tm = {n: cb["median"] for n, cb in comb.items() if n.startswith("tm-")}
    lines, ratios = [], {}
    if tm:
        fastest = min(tm, key=tm.get)
        ratios = {"fastest": fastest, "tm_ms": tm[fastest], "per_step": tm[fastest] / base,
                  "per_member": tm[fastest] / (base / 2)}
        lines.append(f"torch-mist's fastest generative estimator: {fastest} ({tm[fastest]:.3g} ms/step)")
        lines.append(f"ours per 2-member step: {base:.3g} ms; per member (K2 / 2): {base / 2:.3g} ms")
        lines.append(f"speed-up, torch-mist fastest / ours per 2-member step: {ratios['per_step']:.2f}x "
                     f"(target >= 3x: {'met' if ratios['per_step'] >= 3 else 'NOT met'})")
        lines.append(f"speed-up, torch-mist fastest / ours per member:        {ratios['per_member']:.2f}x "
                     f"(target >= 3x: {'met' if ratios['per_member'] >= 3 else 'NOT met'})")
        if "mie-flow-K1" in comb:
            k1 = comb["mie-flow-K1"]["median"]
            ratios["vs_K1"] = tm[fastest] / k1
            lines.append(f"speed-up, torch-mist fastest / our measured 1-member step ({k1:.3g} ms): "
                         f"{ratios['vs_K1']:.2f}x")
        flows = {n: v for n, v in tm.items() if "flow" in n}
        if flows:
            ff = min(flows, key=flows.get)
            ratios["flow_per_member"] = flows[ff] / (base / 2)
            lines.append(f"for context, torch-mist's fastest flow-sized configuration {ff} ({flows[ff]:.3g} ms) / "
                         f"ours per member: {ratios['flow_per_member']:.2f}x")
    return table, lines, ratios


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--steps", type=int, default=200, help="timed steps per run (default 200)")
    p.add_argument("--warmup", type=int, default=20, help="untimed warm-up steps (default 20)")
    p.add_argument("--tm-python", default=str(TM_VENV / "bin" / "python"),
                   help="python of the torch-mist environment (created if missing)")
    p.add_argument("--skip-torch-mist", action="store_true")
    p.add_argument("--only", help="comma-separated contender names (default: all)")
    p.add_argument("--out", help="also write the table and ratios to this markdown file")
    args = p.parse_args(argv)

    if args.worker:
        fn = worker_tm if args.worker.startswith("tm-") else worker_mie
        H.emit(fn(args.worker, args.data, args.steps, args.warmup))
        return 0

    tm_py = None
    if not args.skip_torch_mist:
        ensure_tm_venv(Path(args.tm_python))
        tm_py = args.tm_python
    load_start = os.getloadavg()
    head = ["# Training step: flow estimator vs torch-mist generative estimators (issue 21)",
            f"# data: {TASK}, n = {N_SAMPLES} (seed {DATA_SEED}), 80 % training split premapped as estimate_flow "
            f"does; batch {BATCH}, Adam lr {LR:g}, float32, CPU",
            f"# ours: FlowPair, flow_layers 4, flow_hidden 64, units 8, make_train_step as flow._fit; "
            f"torch-mist hidden_dims {TM_HIDDEN}",
            "# " + H.machine_line(),
            "# " + (tm_version(tm_py) if tm_py else "torch-mist skipped"),
            f"# {args.rounds} interleaved rounds x {args.steps} timed steps (+{args.warmup} warm-up), "
            "median ms per step of each run, median over rounds"]
    print("\n".join(head), flush=True)
    only = args.only.split(",") if args.only else None
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(Path(tmp) / "data.npz")
        res = H.interleave(contenders(data, args.steps, args.warmup, tm_py, only), args.rounds)
    load_end = os.getloadavg()
    comb = {n: H.combine(r) for n, r in res.items()}
    table, lines, _ = report(comb, res)
    load = f"load average (1 min) {load_start[0]:.2f} at start, {load_end[0]:.2f} at end"
    text = "\n".join(head) + "\n\n" + table + "\n\n" + "\n".join(lines + [load]) + "\n"
    print()
    print(table)
    print()
    print("\n".join(lines + [load]))
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
