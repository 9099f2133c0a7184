"""K critics trained as one batched ensemble vs K sequential single runs (issue 9).

Same setting as bench_vs_torch_mist.py (InfoNCE, Gaussian dim 20, MI 4 nats, batch 128,
separable 20->256->256->32 per side or joint 40->256->256->1). For K = 1, 4, 16, 64:

* ``ensemble K``: one training step of ``make_critic(..., n_critics=K)`` through the trainer's
  hot loop (``bench_vs_torch_mist.worker_mie_step``): K critics updated at once;
* ``K sequential``: K times the step of a single critic (K = 1), i.e. the cost of K
  separate runs done one after another;
* speed-up = (K x single step) / ensemble step; also per member ms.

Each configuration runs in a fresh single-threaded subprocess, rounds interleaved. The
steps use the trainer's optimiser (``training.make_adam``: fused Adam); ``--unfused`` adds
rows with ``torch.optim.Adam``'s default path (the trainer before make_adam).
``--fit`` adds end-to-end ``fit_critic`` (streaming, evaluation every 50 steps) for K = 1, 16.

Run:  .venv/bin/python benchmarks/bench_ensemble.py [--rounds 3] [--ks 1,4,16,64]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

WORKER_SCRIPT = Path(__file__).resolve().parent / "bench_vs_torch_mist.py"


def _job(kind: str, k: int, steps: int, warmup: int, adam: str = "default", worker: str = "mie-step"):
    extra = ["--kind", kind, "--n-critics", str(k), "--steps", str(steps), "--warmup", str(warmup),
             "--adam", adam]
    return lambda: H.run_worker(sys.executable, WORKER_SCRIPT, worker, extra, timeout=3600)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--ks", default="1,4,16,64", help="ensemble sizes (default 1,4,16,64)")
    p.add_argument("--joint-ks", default="1,4,16", help="ensemble sizes for the joint critic (default 1,4,16)")
    p.add_argument("--kinds", default="separable,joint")
    p.add_argument("--member-steps", type=int, default=1600,
                   help="separable: timed steps x K per run (default 1600 -> 1600 steps at K=1, 25 at K=64)")
    p.add_argument("--joint-member-steps", type=int, default=48)
    p.add_argument("--unfused", action="store_true", help="also time torch.optim.Adam's default (unfused) path")
    p.add_argument("--fit", action="store_true", help="also time fit_critic end to end (separable, K=1 and 16)")
    p.add_argument("--no-ceiling", action="store_true", help="skip the matmul-throughput ceiling measurement")
    args = p.parse_args(argv)

    print("# K-critic ensemble vs K sequential single runs: InfoNCE, dim 20, MI 4 nats, batch 128 (ms)")
    print("# " + H.machine_line())
    for kind in args.kinds.split(","):
        sep = kind == "separable"
        ks = [int(k) for k in (args.ks if sep else args.joint_ks).split(",")]
        if 1 not in ks:
            ks = [1, *ks]
        budget = args.member_steps if sep else args.joint_member_steps
        adams = ["default"] + (["unfused"] if args.unfused else [])
        c = {}
        for adam in adams:
            for k in ks:
                steps = max(3, budget // k)
                c[(adam, k)] = _job(kind, k, steps, max(2, min(20, steps // 5)), adam)
        if sep and args.fit:
            for k in (1, 16):
                c[("fit_critic", k)] = _job(kind, k, max(50, 800 // k), 10, "default", worker="mie-fit")
        print(f"\n## {kind} critic, {args.rounds} interleaved rounds")
        named = {f"{a}/K={k}": fn for (a, k), fn in c.items()}
        res = H.interleave(named, args.rounds)
        comb = {key: H.combine(res[f"{key[0]}/K={key[1]}"]) for key in c}
        rows = []
        for adam in adams + (["fit_critic"] if sep and args.fit else []):
            ks_here = [k for (a, k) in c if a == adam]
            single = comb[(adam, 1)]["median"]
            for k in ks_here:
                t = comb[(adam, k)]["median"]
                rng = f"{comb[(adam, k)]['min']:.3g}-{comb[(adam, k)]['max']:.3g}"
                rows.append([f"{'step' if adam != 'fit_critic' else 'fit_critic'}"
                             f"{'+unfused Adam' if adam == 'unfused' else ''}", k, t, rng, t / k, k * single,
                             k * single / t])
        print()
        print(H.markdown_table(["what", "K", "ensemble ms/step", "range", "ms per member",
                                "K sequential ms", "speed-up"], rows))
        if ("unfused", 1) in comb and ("unfused", 16) in comb:
            print(f"\nK=16 ensemble vs 16 sequential single runs with the unfused Adam: "
                  f"{16 * comb[('unfused', 1)]['median'] / comb[('default', 16)]['median']:.2f}x")
    if not args.no_ceiling:
        matmul_ceiling()
    return 0


def matmul_ceiling(k: int = 16, batch: int = H.BATCH, width: int = 256, reps: int = 200) -> dict:
    """The arithmetic ceiling of batching on this core: GFLOP/s of the hidden layer's matmul
    (batch x width @ width x width) done once vs as one K-batched ``bmm``. If the single
    product already runs near the batched rate, K critics cost ~K times one whatever the
    batching, and the ensemble speed-up is bounded by the step's non-matmul share."""
    import time

    import torch

    H.single_thread()
    a1, b1 = torch.randn(batch, width), torch.randn(width, width)
    ak, bk = torch.randn(k, batch, width), torch.randn(k, width, width)

    def rate(fn, flops):
        for _ in range(10):
            fn()
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            best = min(best, (time.perf_counter() - t0) / reps)
        return flops / best / 1e9

    flop = 2 * batch * width * width
    single = rate(lambda: a1 @ b1, flop)
    batched = rate(lambda: torch.bmm(ak, bk), k * flop)
    print(f"\n## Arithmetic ceiling (one thread): {batch}x{width} @ {width}x{width} matmul "
          f"{single:.0f} GFLOP/s once, {batched:.0f} GFLOP/s as a K={k} bmm: batching the matmuls "
          f"gains at most {batched / single:.2f}x; an ensemble gains beyond that only the step's "
          f"non-matmul overhead.")
    return dict(single_gflops=single, batched_gflops=batched)


if __name__ == "__main__":
    raise SystemExit(main())
