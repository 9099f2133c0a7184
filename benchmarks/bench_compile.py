"""Does ``torch.compile`` pay off for the training step on a CPU? (issue 9 follow-up)

Separable critic (20->256->256->32 per side), InfoNCE, Gaussian dim 20, MI 4 nats, batch 128,
the trainer's optimiser (``training.make_adam``: fused Adam), float32, one thread. Contenders,
each in a fresh subprocess, rounds interleaved:

``eager``             the trainer's hot loop as it is (critic -> bound.loss -> backward -> Adam);
``compile-loss``      ``torch.compile`` (inductor, default mode) of ``x, y -> bound.loss(critic(x, y)).sum()``:
                      forward and backward compiled (AOTAutograd), Adam eager;
``compile-loss-max``  the same with ``mode="max-autotune-no-cudagraphs"``.

Each worker reports the median step after warm-up, the one-off compile time (first step
minus a typical step), and the loss after ``--check-steps`` steps from the same start, so
the compiled numbers can be compared with the eager ones (must agree to round-off).

Run:  .venv/bin/python benchmarks/bench_compile.py [--rounds 3] [--steps 200]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

SCRIPT = Path(__file__).resolve()
MODES = {"eager": None, "compile-loss": "default", "compile-loss-max": "max-autotune-no-cudagraphs"}


def worker(mode: str, steps: int, warmup: int, check_steps: int) -> dict:
    import torch

    from mi_estimators.bounds import get_bound
    from mi_estimators.critics import make_critic
    from mi_estimators.training import make_adam

    H.single_thread()
    batches = H.make_batches(64)
    critic = make_critic("separable", H.DIM, H.DIM, hidden=H.HIDDEN, embed_dim=H.EMBED, seed=0)
    bound = get_bound("infonce")
    opt = make_adam(list(critic.parameters()), lr=H.LR)

    def loss_fn(x, y):
        return bound.loss(critic(x, y)).sum()

    fn = loss_fn if MODES[mode] is None else torch.compile(loss_fn, mode=MODES[mode], dynamic=False)
    losses = []

    def step(i):
        xb, yb = batches[i % len(batches)]
        loss = fn(xb, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()) if len(losses) < check_steps else None)

    t0 = time.perf_counter()
    step(0)
    first = (time.perf_counter() - t0) * 1e3
    times = H.time_steps(lambda i: step(i + 1), warmup, steps)
    res = H.summarize(times)
    res["first_ms"] = first
    res["loss_trace"] = [v for v in losses if v is not None]
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=200, help="timed steps per run (default 200)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--check-steps", type=int, default=100, help="steps whose losses are compared (default 100)")
    p.add_argument("--modes", default=",".join(MODES))
    args = p.parse_args(argv)
    if args.worker:
        H.emit(worker(args.worker, args.steps, args.warmup, args.check_steps))
        return 0

    extra = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--check-steps", str(args.check_steps)]
    modes = args.modes.split(",")
    c = {m: (lambda m=m: H.run_worker(sys.executable, SCRIPT, m, extra, timeout=1800)) for m in modes}
    print("# torch.compile vs eager: separable critic, InfoNCE, dim 20, batch 128, fused Adam (ms per step)")
    print("# " + H.machine_line())
    res = H.interleave(c, args.rounds)
    comb = {m: H.combine(r) for m, r in res.items()}
    base = comb[modes[0]]["median"]
    ref = res[modes[0]][0]["loss_trace"]
    rows = []
    for m in modes:
        cb = comb[m]
        first = sorted(r["first_ms"] for r in res[m])[len(res[m]) // 2]
        trace = res[m][0]["loss_trace"]
        diff = max(abs(a - b) for a, b in zip(ref, trace))
        rows.append([m, cb["median"], f"{cb['min']:.3g}-{cb['max']:.3g}", base / cb["median"],
                     (first - cb["median"]) / 1e3, f"{diff:.1e}"])
    print()
    print(H.markdown_table(["contender", "median ms/step", "range of run medians", f"speed-up vs {modes[0]}",
                            "one-off compile s", f"max abs loss diff over {args.check_steps} steps (nats)"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
