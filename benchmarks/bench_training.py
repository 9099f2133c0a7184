"""Training throughput of the trainer, and the measurement behind estimate_mi's defaults.

``throughput`` (default): steps/s and samples/s of :func:`mi_estimators.training.fit_critic`
(dataset mode, InfoNCE, one evaluation at the end) for the separable and joint critics, single
and ensembles of K = 1, 4, 16, plus the speed-up of one K-ensemble over K sequential
single-critic runs — all measured in this same process (the K sequential runs are really run,
each with its own seed). Samples/s counts pairs of the batch per member:
``K * batch_size * steps / seconds``.

``defaults``: estimate_mi's accuracy (error against the closed-form MI, and against the
oracle critic's value on the same held-out split) on CorrelatedGaussian tasks with 5,000
samples, for a few candidate training configurations. docs/api.md records its output.

Run:  .venv/bin/python benchmarks/bench_training.py [throughput|defaults] [--device cpu|cuda]
      [--steps 50] [--batch-size 128] [--dim 20] [--hidden 256,256] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import math
import time
import warnings

import numpy as np
import torch

from mi_estimators.bounds import get_bound
from mi_estimators.critics import make_critic
from mi_estimators.training import evaluate_critic, fit_critic, split_indices
from synthetic import CorrelatedGaussian


def _fit_seconds(kind, k, seed, x, y, args) -> float:
    critic = make_critic(kind, args.dim, args.dim, hidden=args.hidden, embed_dim=32, n_critics=k, seed=seed)
    held = 2 * args.batch_size
    res = fit_critic(critic, get_bound("infonce"), train=(x[held:], y[held:]), heldout=(x[:held], y[:held]),
                     steps=args.steps, batch_size=args.batch_size, eval_every=args.steps, patience=None,
                     final_repeats=1, seed=seed, device=args.device)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    return res.seconds


def throughput(args) -> None:
    task = CorrelatedGaussian(dim=args.dim, mi=4.0)
    x, y = task.sample(args.batch_size * 40, seed=0)
    print(f"# trainer throughput: InfoNCE, Gaussian dim {args.dim}, batch {args.batch_size}, hidden "
          f"{args.hidden}, {args.steps} steps, device {args.device}, torch threads {torch.get_num_threads()}")
    print(f"{'critic':<10} {'K':>3} {'steps/s':>9} {'samples/s':>11} {'K sequential s':>15} "
          f"{'ensemble s':>11} {'speed-up':>9}")
    for kind in args.critics:
        _fit_seconds(kind, 1, 0, x, y, args)  # warm-up (allocator, kernels)
        single = None
        for k in args.ks:
            ens = _fit_seconds(kind, k, 0, x, y, args)
            seq = sum(_fit_seconds(kind, 1, s, x, y, args) for s in range(k))
            if k == 1:
                single = ens
            print(f"{kind:<10} {k:>3} {args.steps / ens:>9.1f} {k * args.batch_size * args.steps / ens:>11.0f} "
                  f"{seq:>15.2f} {ens:>11.2f} {seq / ens:>8.2f}x", flush=True)
        del single


class _Oracle(torch.nn.Module):
    """The exact log-ratio as a critic (tests/benchmarks only): scores on raw data."""

    n_critics = 1

    def __init__(self, task):
        super().__init__()
        self.task = task

    def forward(self, x, y):
        s = self.task.log_ratio(x.numpy()[:, None, :], y.numpy()[None, :, :])
        return torch.as_tensor(s)[None]


CANDIDATES = {
    "A: 256x2, lr 5e-4, B 128": dict(hidden=(256, 256), lr=5e-4, batch_size=128),
    "B: 128x2, lr 1e-3, B 128": dict(hidden=(128, 128), lr=1e-3, batch_size=128),
    "C: 256x2, lr 5e-4, B 256": dict(hidden=(256, 256), lr=5e-4, batch_size=256),
}
TASKS = [(1, 1.0), (5, 2.0), (20, 4.0)]


def defaults(args) -> None:
    warnings.simplefilter("ignore")
    print("# estimate_mi accuracy (InfoNCE, separable critic, 5,000 samples, held-out 20%); nats")
    print(f"{'config':<26} {'dim':>3} {'MI':>4} {'seed':>4} {'estimate':>9} {'stderr':>7} "
          f"{'oracle':>7} {'err':>7} {'err vs oracle':>13} {'cpu s':>6}")
    rows = []
    for d, mi in TASKS:
        task = CorrelatedGaussian(dim=d, mi=mi)
        for s in range(args.seeds):
            x, y = task.sample(5000, seed=100 + s)
            _, va = split_indices(5000, 0.2, s)
            for name, cfg in CANDIDATES.items():
                from mi_estimators import estimate_mi

                c0 = time.process_time()
                res = estimate_mi(x, y, "infonce", seed=s, device=args.device, **cfg)
                cpu = time.process_time() - c0
                oracle, _, _ = evaluate_critic(_Oracle(task), get_bound("infonce"), torch.as_tensor(x[va]),
                                               torch.as_tensor(y[va]), batch_size=cfg["batch_size"],
                                               repeats=4, seed=s)
                oracle = float(oracle)
                rows.append(dict(config=name, dim=d, mi=mi, seed=s, estimate=res.mi, stderr=res.stderr,
                                 oracle=oracle, cpu=cpu))
                print(f"{name:<26} {d:>3} {mi:>4} {s:>4} {res.mi:>9.3f} {res.stderr:>7.3f} {oracle:>7.3f} "
                      f"{res.mi - mi:>+7.3f} {res.mi - oracle:>+13.3f} {cpu:>6.1f}", flush=True)
    print("\n# summary per config: RMSE vs truth, mean error vs oracle, mean CPU seconds")
    for name in CANDIDATES:
        r = [row for row in rows if row["config"] == name]
        rmse = math.sqrt(np.mean([(row["estimate"] - row["mi"]) ** 2 for row in r]))
        gap = np.mean([row["estimate"] - row["oracle"] for row in r])
        print(f"{name:<26} RMSE {rmse:.3f}  mean(est - oracle) {gap:+.3f}  cpu {np.mean([row['cpu'] for row in r]):.1f}s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", nargs="?", default="throughput", choices=["throughput", "defaults"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--dim", type=int, default=20)
    p.add_argument("--hidden", default="256,256")
    p.add_argument("--critics", default="separable,joint")
    p.add_argument("--ks", default="1,4,16")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--json", default=None, help="defaults mode: also write the rows to this JSON file")
    args = p.parse_args(argv)
    args.hidden = tuple(int(h) for h in args.hidden.split(","))
    args.critics = args.critics.split(",")
    args.ks = [int(k) for k in args.ks.split(",")]
    torch.set_num_threads(args.threads)
    (throughput if args.mode == "throughput" else defaults)(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
