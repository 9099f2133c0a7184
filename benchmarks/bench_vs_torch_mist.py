"""Training-step time of mi-estimators vs torch-mist 0.2.17 vs a minimal hand-written PyTorch loop.

Setting (Poole et al. 2019, Song & Ermon 2020): correlated Gaussian, dim 20,
MI 4 nats, batch 128, InfoNCE, Adam (lr 5e-4), float32, CPU, one thread.

* separable critic: g, h = 20 -> 256 -> 256 -> 32 MLPs, scores = g(x) h(y)^T;
* joint critic: 40 -> 256 -> 256 -> 1 MLP on the concatenation [x_i; y_j] of all 128^2 pairs.

Contenders (each in its own fresh subprocess, interleaved round by round):

``plain-*``      a minimal hand-written PyTorch loop (nn.Sequential, torch.optim.Adam); the
                 joint one concatenates every pair (the naive implementation);
``mie-*``        this toolkit's training step (mi_estimators.training's trainer when it is
                 available, else critics + bounds + Adam);
``tm-*-step``    torch-mist's own step: ``estimator.loss(x, y)``, ``zero_grad``, ``backward``,
                 ``step`` with the optimiser ``train_model`` builds (one param group per tensor);
``tm-*-train``   torch-mist's ``train_mi_estimator`` (DataLoader, PandasLogger, its per-step
                 evaluation), wall time / iterations;
``tm-*-estimate`` torch-mist's ``estimate_mi`` end to end (training + validation + test
                 evaluation), wall time / iterations.

torch-mist pins old numpy, so it runs in its own virtual environment, created on first use
by ``benchmarks/_torch_mist_env.sh`` (default /tmp/tm-venv; ``--tm-python`` to point at another).

Run:  .venv/bin/python benchmarks/bench_vs_torch_mist.py [--rounds 5] [--steps 200]
"""
from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

SCRIPT = Path(__file__).resolve()
TM_VENV = Path(os.environ.get("TM_VENV", "/tmp/tm-venv"))


# --------------------------------------------------------------------------- workers
def _infonce_loss(scores):
    """-(InfoNCE) on a (..., B, B) score matrix: -(mean_i [S_ii - logsumexp_j S_ij] + log B)."""
    import torch

    b = scores.shape[-1]
    diag = scores.diagonal(dim1=-2, dim2=-1)
    return -(diag - torch.logsumexp(scores, dim=-1)).mean() - math.log(b)


def _mlp(widths):
    from torch import nn

    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def worker_plain(kind: str, steps: int, warmup: int) -> dict:
    """Minimal hand-written PyTorch loop of the same network."""
    import torch

    H.single_thread()
    torch.manual_seed(0)
    batches = H.make_batches(64)
    if kind == "separable":
        g = _mlp((H.DIM, *H.HIDDEN, H.EMBED))
        h = _mlp((H.DIM, *H.HIDDEN, H.EMBED))
        params = list(g.parameters()) + list(h.parameters())

        def scores_fn(x, y):
            return g(x) @ h(y).T
    else:
        f = _mlp((2 * H.DIM, *H.HIDDEN, 1))
        params = list(f.parameters())

        def scores_fn(x, y):  # naive: concatenate every pair, (B, B, 2d) -> (B, B)
            b = x.shape[0]
            xy = torch.cat([x[:, None, :].expand(b, b, -1), y[None, :, :].expand(b, b, -1)], dim=-1)
            return f(xy).squeeze(-1)

    opt = torch.optim.Adam(params, lr=H.LR)

    def step(i):
        x, y = batches[i % len(batches)]
        loss = _infonce_loss(scores_fn(x, y))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return H.summarize(H.time_steps(step, warmup, steps))


def _mie_parts(kind: str, n_critics: int, adam: str):
    import torch
    from mi_estimators.bounds import get_bound
    from mi_estimators.critics import make_critic

    critic = make_critic(kind, H.DIM, H.DIM, hidden=H.HIDDEN, embed_dim=H.EMBED, n_critics=n_critics, seed=0)
    params = list(critic.parameters())
    if adam == "default":   # what fit_critic uses: fused Adam where the build has it
        from mi_estimators.training import make_adam

        opt = make_adam(params, lr=H.LR)
    elif adam == "unfused":  # torch.optim.Adam's default path (the trainer before make_adam)
        opt = torch.optim.Adam(params, lr=H.LR)
    else:
        opt = torch.optim.Adam(params, lr=H.LR, **{adam: True})
    return critic, get_bound("infonce"), opt


def worker_mie_step(kind: str, steps: int, warmup: int, n_critics: int = 1, adam: str = "default") -> dict:
    """This toolkit's training step: the body of mi_estimators.training.fit_critic's hot loop
    (critic -> bound.loss -> Adam, loss accumulated on device, no host sync) on the same batches.

    ``adam``: "default" is what fit_critic uses (``training.make_adam``: fused Adam);
    "unfused" is ``torch.optim.Adam``'s default path (the trainer before make_adam).
    """
    import torch

    H.single_thread()
    batches = H.make_batches(64)
    critic, bound, opt = _mie_parts(kind, n_critics, adam)
    loss_acc = torch.zeros(n_critics, dtype=torch.float64)

    def step(i):
        xb, yb = batches[i % len(batches)]
        loss = bound.loss(critic(xb, yb))
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        loss_acc.add_(loss.detach().to(torch.float64))

    return H.summarize(H.time_steps(step, warmup, steps))


def worker_mie_fit(kind: str, steps: int, warmup: int, n_critics: int = 1, adam: str = "default") -> dict:
    """mi_estimators.training.fit_critic end to end in streaming mode (fresh Gaussian batches
    from synthetic.CorrelatedGaussian, held-out evaluation every 50 steps, final evaluation),
    wall time / steps."""
    import time

    from mi_estimators.bounds import get_bound
    from mi_estimators.critics import make_critic
    from mi_estimators.training import fit_critic
    from synthetic import CorrelatedGaussian

    H.single_thread()
    task = CorrelatedGaussian(H.DIM, mi=H.MI_NATS)

    def run(n):
        critic = make_critic(kind, H.DIM, H.DIM, hidden=H.HIDDEN, embed_dim=H.EMBED, n_critics=n_critics, seed=0)
        return fit_critic(critic, get_bound("infonce"), sampler=task, steps=n, batch_size=H.BATCH, lr=H.LR,
                          patience=None, seed=0)

    run(warmup)
    t0 = time.perf_counter()
    res = run(steps)
    per = (time.perf_counter() - t0) * 1e3 / steps
    return {"median": per, "mean": per, "p90": per, "n": steps, "mi": float(res.estimates.mean())}


def worker_mie_estimate(kind: str, steps: int, warmup: int, n_critics: int = 1, adam: str = "default") -> dict:
    """mi_estimators.estimate_mi end to end (standardise, split, train, held-out evaluation),
    wall time / steps, on as many samples as torch-mist's estimate_mi gets."""
    import time

    import numpy as np

    from mi_estimators import estimate_mi

    H.single_thread()
    d = _tm_data(H.BATCH * (steps + warmup) * 2, seed=1)
    x, y = d["x"].numpy().astype(np.float64), d["y"].numpy().astype(np.float64)
    kw = dict(estimator="infonce", critic=kind, steps=None, batch_size=H.BATCH, lr=H.LR, patience=None,
              hidden=H.HIDDEN, embed_dim=H.EMBED, seed=0)
    kw["steps"] = warmup
    estimate_mi(x, y, **kw)
    kw["steps"] = steps
    t0 = time.perf_counter()
    res = estimate_mi(x, y, **kw)
    per = (time.perf_counter() - t0) * 1e3 / steps
    return {"median": per, "mean": per, "p90": per, "n": steps, "mi": float(res.mi)}


def _tm_estimator(kind: str):
    from torch_mist.estimators import infonce

    if kind == "separable":
        return infonce(x_dim=H.DIM, y_dim=H.DIM, hidden_dims=[*H.HIDDEN, H.EMBED], critic_type="separable")
    return infonce(x_dim=H.DIM, y_dim=H.DIM, hidden_dims=list(H.HIDDEN), critic_type="joint")


def worker_tm_step(kind: str, steps: int, warmup: int) -> dict:
    """torch-mist's step, as train_epoch runs it, without the logger and DataLoader."""
    import torch
    from torch_mist.utils.train.model import instantiate_optimizer

    H.single_thread()
    torch.manual_seed(0)
    batches = H.make_batches(64)
    est = _tm_estimator(kind)
    est.train()
    opt, _ = instantiate_optimizer(est, max_iterations=steps + warmup, optimizer_params={"lr": H.LR})

    def step(i):
        x, y = batches[i % len(batches)]
        loss = est.loss(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return H.summarize(H.time_steps(step, warmup, steps))


def _tm_data(n: int, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    rho = H.gaussian_rho()
    x = torch.randn(n, H.DIM, generator=g)
    y = rho * x + math.sqrt(1 - rho * rho) * torch.randn(n, H.DIM, generator=g)
    return {"x": x, "y": y}


def worker_tm_train(kind: str, steps: int, warmup: int) -> dict:
    """torch-mist's train_mi_estimator (its full training loop), wall time / iterations."""
    import torch
    from torch_mist.utils.train import train_mi_estimator

    H.single_thread()
    torch.manual_seed(0)
    data = _tm_data(H.BATCH * (steps + warmup) * 2, seed=1)
    # warm-up run (first-call costs), then the timed run on a fresh estimator
    train_mi_estimator(_tm_estimator(kind), train_data=data, batch_size=H.BATCH, max_iterations=warmup,
                       verbose=False, optimizer_params={"lr": H.LR})
    est = _tm_estimator(kind)
    t0 = time.perf_counter()
    train_mi_estimator(est, train_data=data, batch_size=H.BATCH, max_iterations=steps, verbose=False,
                       optimizer_params={"lr": H.LR})
    per = (time.perf_counter() - t0) * 1e3 / steps
    return {"median": per, "mean": per, "p90": per, "n": steps}


def worker_tm_estimate(kind: str, steps: int, warmup: int) -> dict:
    """torch-mist's estimate_mi end to end (train + validate + evaluate), wall time / iterations."""
    import torch
    import torch_mist

    H.single_thread()
    torch.manual_seed(0)
    data = _tm_data(H.BATCH * (steps + warmup) * 2, seed=1)
    test = _tm_data(4096, seed=2)
    kw = dict(estimator="infonce", batch_size=H.BATCH, verbose=False, early_stopping=False, test_data=test,
              optimizer_params={"lr": H.LR}, x_dim=H.DIM, y_dim=H.DIM, critic_type=kind,
              hidden_dims=[*H.HIDDEN, H.EMBED] if kind == "separable" else list(H.HIDDEN))
    kw.pop("x_dim"), kw.pop("y_dim")  # inferred from the data by torch-mist
    torch_mist.estimate_mi(data, max_iterations=warmup, **kw)
    t0 = time.perf_counter()
    out = torch_mist.estimate_mi(data, max_iterations=steps, **kw)
    mi = out[0] if isinstance(out, tuple) else out  # (mi, train_log) with its default logger
    per = (time.perf_counter() - t0) * 1e3 / steps
    return {"median": per, "mean": per, "p90": per, "n": steps, "mi": float(mi)}


WORKERS = {
    "plain": worker_plain,
    "mie-step": worker_mie_step,
    "mie-fit": worker_mie_fit,
    "mie-estimate": worker_mie_estimate,
    "tm-step": worker_tm_step,
    "tm-train": worker_tm_train,
    "tm-estimate": worker_tm_estimate,
}


# --------------------------------------------------------------------------- parent
def ensure_tm_venv(python: Path) -> None:
    if python.exists():
        return
    script = SCRIPT.parent / "_torch_mist_env.sh"
    print(f"creating the torch-mist environment with {script} ...", flush=True)
    subprocess.run(["bash", str(script), str(python.parent.parent)], check=True)


def import_times(repeats: int = 5) -> dict[str, float]:
    """Median wall seconds of fresh interpreters: bare start-up, ``import mi_estimators``,
    ``mi-bench --help`` (through the installed console script when present) and ``import torch``."""
    import shutil
    import statistics

    mi_bench = shutil.which("mi-bench", path=str(Path(sys.executable).parent)) or shutil.which("mi-bench")
    cmds = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import mi_estimators": [sys.executable, "-c", "import mi_estimators"],
        "mi-bench --help": [mi_bench, "--help"] if mi_bench else
        [sys.executable, "-c", "from mi_estimators.bench.cli import main; main(['--help'])"],
        "import torch": [sys.executable, "-c", "import torch"],
    }
    out = {k: [] for k in cmds}
    for _ in range(repeats):
        for k, cmd in cmds.items():  # interleaved
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=str(H.REPO))
            out[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in out.items()}


def contenders(kind: str, steps: int, warmup: int, tm_python: str | None, end_to_end: bool) -> dict:
    """name -> zero-argument callable running one worker subprocess."""
    extra = ["--kind", kind, "--steps", str(steps), "--warmup", str(warmup)]
    py = sys.executable

    def w(python, name, more=()):
        return lambda: H.run_worker(python, SCRIPT, name, extra + list(more))

    c = {f"mie-{kind}-step": w(py, "mie-step"),
         f"mie-{kind}-step+unfused-adam": w(py, "mie-step", ["--adam", "unfused"]),
         f"plain-{kind}": w(py, "plain")}
    if tm_python:
        c[f"tm-{kind}-step"] = w(tm_python, "tm-step")
    if end_to_end:
        c[f"mie-{kind}-fit_critic"] = w(py, "mie-fit")
        c[f"mie-{kind}-estimate_mi"] = w(py, "mie-estimate")
        if tm_python:
            c[f"tm-{kind}-train_mi_estimator"] = w(tm_python, "tm-train")
            c[f"tm-{kind}-estimate_mi"] = w(tm_python, "tm-estimate")
    return c


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--kind", default="separable", choices=["separable", "joint"], help=argparse.SUPPRESS)
    p.add_argument("--n-critics", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--adam", default="default", choices=["default", "unfused", "fused", "foreach"], help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--steps", type=int, default=200, help="timed steps per separable run (default 200)")
    p.add_argument("--joint-steps", type=int, default=15, help="timed steps per joint run (default 15)")
    p.add_argument("--warmup", type=int, default=20, help="untimed warm-up steps (default 20; joint: 3)")
    p.add_argument("--tm-python", default=str(TM_VENV / "bin" / "python"),
                   help="python of the torch-mist environment (created if missing)")
    p.add_argument("--skip-torch-mist", action="store_true")
    p.add_argument("--kinds", default="separable,joint", help="critics to run (default separable,joint)")
    p.add_argument("--imports", action="store_true", help="only measure start-up/import times")
    args = p.parse_args(argv)

    if args.worker:
        fn = WORKERS[args.worker]
        kw = {} if args.worker.startswith(("tm-", "plain")) else {"n_critics": args.n_critics, "adam": args.adam}
        H.emit(fn(args.kind, args.steps, args.warmup, **kw))
        return 0

    if args.imports:
        print("# Start-up times, median of 5 fresh processes (seconds, wall clock)")
        print("# " + H.machine_line())
        print(H.markdown_table(["command", "seconds"], [[k, v] for k, v in import_times().items()]))
        return 0
    tm_py = None
    if not args.skip_torch_mist:
        ensure_tm_venv(Path(args.tm_python))
        tm_py = args.tm_python
    print("# Training step time: InfoNCE, Gaussian dim 20, MI 4 nats, batch 128, Adam 5e-4, float32")
    print("# " + H.machine_line())
    for kind in args.kinds.split(","):
        sep = kind == "separable"
        steps = args.steps if sep else args.joint_steps
        warm = args.warmup if sep else 3
        c = contenders(kind, steps, warm, tm_py, end_to_end=sep)
        print(f"\n## {kind} critic: {args.rounds} interleaved rounds, {steps} timed steps each (ms per step)")
        res = H.interleave(c, args.rounds)
        comb = {n: H.combine(r) for n, r in res.items()}
        base = comb[f"mie-{kind}-step"]["median"]
        rows = [[n, cb["median"], f"{cb['min']:.3g}-{cb['max']:.3g}", cb["p90_median"], cb["median"] / base]
                for n, cb in comb.items()]
        print()
        print(H.markdown_table(["contender", "median ms/step", "range of run medians", "p90 ms",
                                "time / mie step"], rows))
        ratio = lambda a, b: comb[a]["median"] / comb[b]["median"]  # noqa: E731
        print()
        if tm_py:
            print(f"torch-mist step / mie step: {ratio(f'tm-{kind}-step', f'mie-{kind}-step'):.2f}x")
        print(f"plain loop / mie step:     {ratio(f'plain-{kind}', f'mie-{kind}-step'):.2f}x"
              + ("  (plain = naive concatenate-every-pair)" if not sep else ""))
        print(f"mie step with unfused Adam / mie step: "
              f"{ratio(f'mie-{kind}-step+unfused-adam', f'mie-{kind}-step'):.2f}x")
        if sep and tm_py:
            print(f"torch-mist train_mi_estimator / mie fit_critic: "
                  f"{ratio(f'tm-{kind}-train_mi_estimator', f'mie-{kind}-fit_critic'):.2f}x")
            print(f"torch-mist estimate_mi / mie estimate_mi: "
                  f"{ratio(f'tm-{kind}-estimate_mi', f'mie-{kind}-estimate_mi'):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
