"""The training step on a CUDA GPU: ms/step, samples/s, fraction of peak.

Same setting as the CPU scripts (InfoNCE, correlated Gaussian dim 20, MI 4 nats, batch 128,
Adam 5e-4, float32; separable critic 20->256->256->32 per side, joint 40->256->256->1 on all
B^2 pairs). Everything runs in this one process, on one GPU, measured in the same run:

``ceilings``    the GPU's own rates, measured here: float32 matmul (TF32 off: what the
                toolkit runs), TF32 and float64 matmul for reference, device-to-device copy
                bandwidth, and the hidden layer's 128x256 @ 256x256 product alone vs as one
                K = 16 ``bmm`` (the CPU scripts print the same ceiling);
``step``        the trainer's hot loop (``fit_critic``'s body: critic -> bound.loss -> fused
                Adam, loss accumulated on the device, no host sync) vs a minimal hand-written
                PyTorch loop (``nn.Sequential``, ``torch.optim.Adam``); the joint critic's
                split first layer vs the naive concatenate-every-pair network; K-critic
                ensembles (separable K = 1..256, joint 1, 4, 16) vs K sequential single runs;
                each also replayed as one captured CUDA graph (forward, backward, Adam);
``fit``         ``fit_critic`` end to end (streaming fresh batches drawn on the host, held-out
                evaluation every 50 steps) and ``estimate_mi`` on 50 000 samples, on the GPU;
``equality``    the same training on the CPU and on the GPU: float64 (must agree to
                round-off) and float32, for the separable and joint critics, plus every bound
                on the same float64 score matrices;
``staircase``   ``run_staircase`` (5 estimators x 5 levels) on the GPU as one call vs 5
                separate calls, and vs the CPU in the same process.

Times are CUDA-event times over blocks of steps (median of ``--repeats`` blocks, with the
range), after warm-up steps. FLOPs are counted from the network's shapes (forward matmuls,
backward = 2x forward); fraction of peak = achieved FLOP/s / the float32 matmul rate measured
in ``ceilings``. ``samples/s`` counts the training pairs the K members consume (K * B per step).

Run:  python benchmarks/bench_gpu.py [--json out.json] [--sections ceilings,step,fit,equality,staircase]
      (``--device cpu --quick`` is a smoke test of the script itself, with no GPU)
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _harness as H  # noqa: E402

SECTIONS = ("ceilings", "step", "fit", "equality", "staircase")


# --------------------------------------------------------------------------- timing
def _sync(dev):
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_block(fn, dev, steps: int, warmup: int, repeats: int) -> dict:
    """ms per call of ``fn``: ``repeats`` blocks of ``steps`` calls, timed with CUDA events
    (the host clock on a CPU); median and range over blocks."""
    import torch

    for _ in range(warmup):
        fn()
    _sync(dev)
    vals = []
    for _ in range(repeats):
        if dev.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(steps):
                fn()
            end.record()
            end.synchronize()
            vals.append(start.elapsed_time(end) / steps)
        else:
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            vals.append((time.perf_counter() - t0) * 1e3 / steps)
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "repeats": repeats,
            "steps": steps}


# --------------------------------------------------------------------------- FLOP model
def _mlp_flops(widths, rows: int) -> float:
    return 2.0 * rows * sum(a * b for a, b in zip(widths[:-1], widths[1:]))


def step_flops(kind: str, k: int, b: int, naive: bool = False) -> float:
    """Matmul FLOPs of one training step of K members (backward counted as 2x forward)."""
    d, (h1, h2), e = H.DIM, H.HIDDEN, H.EMBED
    if kind == "separable":
        fwd = 2 * _mlp_flops((d, h1, h2, e), b) + 2.0 * b * b * e
    elif naive:
        fwd = _mlp_flops((2 * d, h1, h2, 1), b * b)
    else:   # split first layer: two (B, d) @ (d, H) projections, then B^2 rows
        fwd = 2 * _mlp_flops((d, h1), b) + _mlp_flops((h1, h2, 1), b * b)
    return 3.0 * k * fwd


# --------------------------------------------------------------------------- contenders
def _batches(dev, b: int, n: int = 16):
    return [(x.to(dev), y.to(dev)) for x, y in H.make_batches(n, batch=b)]


def mie_step(kind: str, k: int, b: int, dev, graph: bool = False):
    """The trainer's own step (``training.make_train_step``: critic -> bound.loss -> fused
    Adam, loss accumulated on the device, no host sync), built as fit_critic builds it, on
    device-resident batches; with ``graph`` the step fit_critic uses on CUDA: 3 eager warm-up
    steps, then one captured CUDA graph replayed per step."""
    import torch

    from mi_estimators.bounds import get_bound
    from mi_estimators.critics import make_critic
    from mi_estimators.training import make_train_step

    critic = make_critic(kind, H.DIM, H.DIM, hidden=H.HIDDEN, embed_dim=H.EMBED, n_critics=k, seed=0).to(dev)
    loss_acc = torch.zeros(k, dtype=torch.float64, device=dev)
    train_step = make_train_step(critic, get_bound("infonce"), lr=H.LR, cuda_graph=graph,
                                 record=lambda scores, loss: loss_acc.add_(loss.to(torch.float64)))
    batches = itertools.cycle(_batches(dev, b))

    def step():
        train_step(*next(batches))

    return step


def plain_step(kind: str, b: int, dev):
    """A minimal hand-written loop of the same network; the joint one concatenates every pair."""
    import torch

    from bench_vs_torch_mist import _infonce_loss, _mlp

    torch.manual_seed(0)
    if kind == "separable":
        g = _mlp((H.DIM, *H.HIDDEN, H.EMBED)).to(dev)
        h = _mlp((H.DIM, *H.HIDDEN, H.EMBED)).to(dev)
        params = list(g.parameters()) + list(h.parameters())

        def scores_fn(x, y):
            return g(x) @ h(y).T
    else:
        f = _mlp((2 * H.DIM, *H.HIDDEN, 1)).to(dev)
        params = list(f.parameters())

        def scores_fn(x, y):
            n = x.shape[0]
            xy = torch.cat([x[:, None, :].expand(n, n, -1), y[None, :, :].expand(n, n, -1)], dim=-1)
            return f(xy).squeeze(-1)

    opt = torch.optim.Adam(params, lr=H.LR)
    batches = itertools.cycle(_batches(dev, b))

    def step():
        x, y = next(batches)
        loss = _infonce_loss(scores_fn(x, y))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def tm_step(kind: str, b: int, dev):
    """torch-mist 0.2.17's own step (``estimator.loss``, ``zero_grad``, ``backward``, ``step``
    with the optimiser its ``train_model`` builds), as bench_vs_torch_mist.py times it on a CPU."""
    import torch
    from torch_mist.utils.train.model import instantiate_optimizer

    from bench_vs_torch_mist import _tm_estimator

    torch.manual_seed(0)
    est = _tm_estimator(kind).to(dev)
    est.train()
    opt, _ = instantiate_optimizer(est, max_iterations=10**7, optimizer_params={"lr": H.LR})
    batches = itertools.cycle(_batches(dev, b))

    def step():
        x, y = next(batches)
        loss = est.loss(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def with_tf32(make):
    """A contender built and run with TF32 matmuls (10-bit mantissa: changes results at ~1e-3
    relative, so the toolkit never turns it on; shown for what reduced precision buys)."""
    import torch

    def build():
        prev = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = True
        try:
            fn = make()
        finally:
            torch.backends.cuda.matmul.allow_tf32 = prev

        def step():
            before = torch.backends.cuda.matmul.allow_tf32
            torch.backends.cuda.matmul.allow_tf32 = True
            try:
                fn()
            finally:
                torch.backends.cuda.matmul.allow_tf32 = before

        return step

    return build


# --------------------------------------------------------------------------- sections
def section_ceilings(dev, quick: bool) -> dict:
    import torch

    out = {}
    n = 1024 if quick else 8192
    prev = torch.backends.cuda.matmul.allow_tf32

    def mm_rate(dtype, tf32):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a = torch.randn(n, n, device=dev, dtype=dtype)
        bm = torch.randn(n, n, device=dev, dtype=dtype)
        t = time_block(lambda: a @ bm, dev, steps=3 if quick else 10, warmup=3, repeats=3)
        return 2.0 * n**3 / (t["median"] * 1e-3) / 1e12

    try:
        out["fp32_tflops"] = mm_rate(torch.float32, False)
        if dev.type == "cuda":
            out["tf32_tflops"] = mm_rate(torch.float32, True)
        out["fp64_tflops"] = mm_rate(torch.float64, False)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev
    nbytes = (2**24 if quick else 2**28)
    src = torch.randn(nbytes // 4, device=dev)
    dst = torch.empty_like(src)
    t = time_block(lambda: dst.copy_(src), dev, steps=5, warmup=2, repeats=3)
    out["copy_tb_s"] = 2.0 * nbytes / (t["median"] * 1e-3) / 1e12
    # the hidden layer's product alone vs as one K = 16 bmm (the CPU ceiling of bench_ensemble.py)
    a1, b1 = torch.randn(H.BATCH, 256, device=dev), torch.randn(256, 256, device=dev)
    ak, bk = torch.randn(16, H.BATCH, 256, device=dev), torch.randn(16, 256, 256, device=dev)
    flop = 2.0 * H.BATCH * 256 * 256
    t1 = time_block(lambda: a1 @ b1, dev, steps=200, warmup=20, repeats=3)
    t16 = time_block(lambda: torch.bmm(ak, bk), dev, steps=200, warmup=20, repeats=3)
    out["hidden_matmul_gflops"] = flop / (t1["median"] * 1e-3) / 1e9
    out["hidden_bmm16_gflops"] = 16 * flop / (t16["median"] * 1e-3) / 1e9
    out["hidden_matmul_us"] = t1["median"] * 1e3
    out["hidden_bmm16_us"] = t16["median"] * 1e3
    print(f"\n## Ceilings measured here\nfloat32 matmul {n}^3 (TF32 off) {out['fp32_tflops']:.1f} TFLOP/s"
          + (f"; TF32 {out['tf32_tflops']:.1f}" if "tf32_tflops" in out else "")
          + f"; float64 {out['fp64_tflops']:.1f}; device copy {out['copy_tb_s']:.2f} TB/s (read + write)."
          f"\nHidden layer {H.BATCH}x256 @ 256x256: {out['hidden_matmul_us']:.1f} us alone "
          f"({out['hidden_matmul_gflops']:.0f} GFLOP/s), {out['hidden_bmm16_us']:.1f} us as one K=16 bmm "
          f"({out['hidden_bmm16_gflops']:.0f} GFLOP/s): batching gains up to "
          f"{out['hidden_bmm16_gflops'] / out['hidden_matmul_gflops']:.1f}x on this device.")
    return out


def _row(name, kind, k, b, t, peak, naive=False):
    ms = t["median"]
    fl = step_flops(kind, k, b, naive)
    return dict(what=name, kind=kind, K=k, B=b, ms=ms, lo=t["min"], hi=t["max"],
                samples_per_s=k * b / (ms * 1e-3), tflops=fl / (ms * 1e-3) / 1e12,
                frac_peak=(fl / (ms * 1e-3) / 1e12) / peak if peak else float("nan"))


def section_step(dev, quick: bool, repeats: int, peak: float | None, graphs: bool) -> dict:
    rows = []
    cuda = dev.type == "cuda"
    graphs = graphs and cuda
    sep_ks = (1, 4, 16) if quick else (1, 4, 16, 64, 256)
    joint_ks = (1, 4) if quick else (1, 4, 16)
    steps = 5 if quick else 100

    def run(name, kind, k, b, make, n_steps, naive=False):
        try:
            fn = make()
            t = time_block(fn, dev, steps=n_steps, warmup=max(3, n_steps // 5), repeats=repeats)
        except Exception as exc:   # noqa: BLE001 - a contender that cannot run is reported, not fatal
            print(f"  {name} K={k} B={b}: failed ({type(exc).__name__}: {str(exc)[:200]})")
            return None
        r = _row(name, kind, k, b, t, peak, naive)
        rows.append(r)
        print(f"  {name:<24s} {kind:<9s} K={k:<4d} B={b:<4d} {r['ms']:8.3f} ms/step "
              f"({r['lo']:.3f}-{r['hi']:.3f})  {r['samples_per_s']:.3g} samples/s  "
              f"{r['tflops']:.2f} TFLOP/s ({100 * r['frac_peak']:.1f}% of fp32 peak)")
        return r

    print("\n## Training step")
    try:
        import torch_mist  # noqa: F401
        have_tm = True
    except ImportError as exc:
        have_tm = False
        print(f"  torch-mist not importable here ({exc}): its rows are skipped")
    for kind in ("separable", "joint"):
        b = H.BATCH
        run("plain loop", kind, 1, b, lambda: plain_step(kind, b, dev), steps, naive=kind == "joint")
        if have_tm:
            run("torch-mist step", kind, 1, b, lambda: tm_step(kind, b, dev), steps, naive=kind == "joint")
        for k in (sep_ks if kind == "separable" else joint_ks):
            n = steps if kind == "separable" else max(3, steps // (2 * k))
            run("mie step", kind, k, b, lambda: mie_step(kind, k, b, dev), n)
            if graphs:
                run("mie step, CUDA graph", kind, k, b, lambda: mie_step(kind, k, b, dev, graph=True), n)
    if not quick:   # the joint critic at a larger batch: B^2 work dominates launch overhead
        b = 512
        run("plain loop", "joint", 1, b, lambda: plain_step("joint", b, dev), 10, naive=True)
        run("mie step", "joint", 1, b, lambda: mie_step("joint", 1, b, dev), 10)
        if graphs:
            run("mie step, CUDA graph", "joint", 1, b, lambda: mie_step("joint", 1, b, dev, graph=True), 10)
            run("mie step, CUDA graph, TF32", "joint", 1, b,
                with_tf32(lambda: mie_step("joint", 1, b, dev, graph=True)), 10)

    def get(what, kind, k, b=H.BATCH):
        for r in rows:
            if (r["what"], r["kind"], r["K"], r["B"]) == (what, kind, k, b):
                return r
        return None

    print("\n### Ensembles vs K sequential single runs (K x the K = 1 step of the same variant)")
    table = []
    for what in ("mie step", "mie step, CUDA graph"):
        for kind in ("separable", "joint"):
            one = get(what, kind, 1)
            if one is None:
                continue
            for r in rows:
                if r["what"] == what and r["kind"] == kind and r["B"] == H.BATCH:
                    table.append([what, kind, r["K"], r["ms"], r["ms"] / r["K"], r["K"] * one["ms"],
                                  r["K"] * one["ms"] / r["ms"], r["samples_per_s"], 100 * r["frac_peak"]])
    print(H.markdown_table(["variant", "critic", "K", "ensemble ms/step", "ms per member", "K sequential ms",
                            "speed-up", "samples/s", "% fp32 peak"], table))
    # the ensemble target against the plain eager trainer step (what a user's K runs cost)
    for kind in ("separable", "joint"):
        one = get("mie step", kind, 1)
        best16 = [r for r in (get("mie step", kind, 16), get("mie step, CUDA graph", kind, 16)) if r]
        if one and best16:
            fastest = min(best16, key=lambda r: r["ms"])
            print(f"{kind}: 16-ensemble ({fastest['what']}) vs 16 sequential eager trainer runs: "
                  f"{16 * one['ms'] / fastest['ms']:.1f}x")
    print("\n### Against a minimal hand-written loop (same network; the joint one concatenates every pair)")
    for kind in ("separable", "joint"):
        for b in (H.BATCH, 512):
            plain = get("plain loop", kind, 1, b)
            tm = get("torch-mist step", kind, 1, b)
            for what in ("mie step", "mie step, CUDA graph", "mie step, CUDA graph, TF32"):
                r = get(what, kind, 1, b)
                if plain and r:
                    print(f"  {kind} B={b}: plain {plain['ms']:.3f} ms / {what} {r['ms']:.3f} ms = "
                          f"{plain['ms'] / r['ms']:.2f}x"
                          + (f"; torch-mist {tm['ms']:.3f} ms / {what} = {tm['ms'] / r['ms']:.2f}x" if tm else ""))
    return {"rows": rows}


def section_fit(dev, quick: bool) -> dict:

    from mi_estimators import estimate_mi
    from mi_estimators.bounds import get_bound
    from mi_estimators.critics import make_critic
    from mi_estimators.training import fit_critic
    from synthetic import CorrelatedGaussian

    task = CorrelatedGaussian(H.DIM, mi=H.MI_NATS)
    out = {}
    steps = 50 if quick else 1000
    print("\n## End to end on this device")
    graph_modes = (False, True) if dev.type == "cuda" else (False,)
    for kind, k in (("separable", 1), ("separable", 16), ("joint", 1)):
        for graph in graph_modes:
            def run(n):
                critic = make_critic(kind, H.DIM, H.DIM, hidden=H.HIDDEN, embed_dim=H.EMBED, n_critics=k, seed=0)
                return fit_critic(critic, get_bound("infonce"), sampler=task, steps=n, batch_size=H.BATCH,
                                  lr=H.LR, patience=None, seed=0, device=str(dev), cuda_graph=graph)

            run(20)
            n = steps if kind == "separable" else max(50, steps // 4)
            _sync(dev)
            t0 = time.perf_counter()
            res = run(n)
            _sync(dev)
            sec = time.perf_counter() - t0
            out[f"fit_{kind}_K{k}_{'graph' if graph else 'eager'}"] = dict(
                ms_per_step=sec * 1e3 / n, steps=n, mi=float(res.estimates.mean()),
                samples_per_s=k * H.BATCH * n / sec)
            print(f"  fit_critic {kind} K={k} {'CUDA graph' if graph else 'eager':<10s}: {n} steps, "
                  f"{sec * 1e3 / n:.3f} ms/step wall, {k * H.BATCH * n / sec:.3g} samples/s, estimate "
                  f"{res.estimates.mean():.4f} nats (truth {H.MI_NATS}; InfoNCE caps at log B = "
                  f"{math.log(H.BATCH):.2f})")
    x, y = task.sample(5000 if quick else 50_000, seed=1)
    for graph in graph_modes:
        estimate_mi(x[:2000], y[:2000], "infonce", steps=20, device=str(dev), seed=0, cuda_graph=graph)
        t0 = time.perf_counter()
        res = estimate_mi(x, y, "infonce", device=str(dev), seed=0, cuda_graph=graph)
        sec = time.perf_counter() - t0
        out[f"estimate_mi_{'graph' if graph else 'eager'}"] = dict(
            seconds=sec, n=len(x), mi=float(res.mi), stderr=float(res.stderr), steps_run=res.details["steps_run"])
        print(f"  estimate_mi(infonce, n={len(x)}, {'CUDA graph' if graph else 'eager'}): {sec:.2f} s wall, "
              f"{res.details['steps_run']} steps, {res.mi:.4f} +- {res.stderr:.3f} nats")
    return out


def section_equality(dev) -> dict:
    """The same training on the CPU and on ``dev``; and every bound on the same float64 scores."""
    import numpy as np
    import torch

    from mi_estimators.bounds import get_bound, list_bounds
    from mi_estimators.critics import make_critic
    from mi_estimators.training import fit_critic
    from synthetic import CorrelatedGaussian

    task = CorrelatedGaussian(5, mi=1.0)
    out = {}
    print("\n## CPU vs this device: the same training (streaming, 200 steps, eval every 50)")
    for dtype in (torch.float64, torch.float32):
        for kind in ("separable", "joint"):
            res = []
            for d in ("cpu", str(dev)):
                critic = make_critic(kind, 5, 5, hidden=(64, 64), embed_dim=16, n_critics=2, seed=3, dtype=dtype)
                res.append(fit_critic(critic, get_bound("infonce"), sampler=task, steps=200, batch_size=64,
                                      eval_every=50, patience=None, seed=3, n_heldout=1024, device=d))
            diff = float(np.max(np.abs(res[0].estimates - res[1].estimates)))
            key = f"{kind}_{str(dtype).split('.')[-1]}"
            out[key] = diff
            print(f"  {key:<18s} max |estimate(cpu) - estimate({dev.type})| = {diff:.2e} nats "
                  f"(estimates {np.round(res[0].estimates, 4).tolist()})")
    g = torch.Generator().manual_seed(0)
    s = torch.randn(4, 64, 64, generator=g, dtype=torch.float64) + 3 * torch.eye(64, dtype=torch.float64)
    worst = 0.0
    for name in list_bounds():
        b = get_bound(name)
        e_cpu = b.estimate(s).numpy()
        e_dev = b.estimate(s.to(dev)).cpu().numpy()
        worst = max(worst, float(np.max(np.abs(e_cpu - e_dev))))
    out["bounds_float64_max_abs"] = worst
    print(f"  every registry bound ({len(list_bounds())}) on the same float64 scores: max |cpu - {dev.type}| "
          f"= {worst:.2e} nats")
    return out


def section_staircase(dev, quick: bool) -> dict:
    from mi_estimators.bench.staircase import run_staircase

    est = ("infonce", "nwj", "js", "smile", "dv")
    spl = 20 if quick else 200
    kw = dict(critic="separable", levels=(2.0, 4.0, 6.0, 8.0, 10.0), steps_per_level=spl, dim=H.DIM,
              batch_size=64, lr=H.LR, seed=0)
    run_staircase(["infonce"], **dict(kw, steps_per_level=5), device=str(dev))   # warm-up
    timings = {}

    def timed(fn):
        _sync(dev)
        t0 = time.perf_counter()
        r = fn()
        _sync(dev)
        return r, time.perf_counter() - t0

    together, timings["one call"] = timed(lambda: run_staircase(list(est), **kw, device=str(dev)))
    if dev.type == "cuda":
        eager_rows, timings["one call, eager steps (cuda_graph=False)"] = timed(
            lambda: run_staircase(list(est), **kw, device=str(dev), cuda_graph=False))
        graph_vs_eager = max(abs(a["estimate"] - b["estimate"]) for a, b in zip(together, eager_rows))
    else:
        graph_vs_eager = 0.0
    sep_rows, sep_sec = [], 0.0
    for e in est:
        rows, sec = timed(lambda e=e: run_staircase([e], **kw, device=str(dev)))
        sep_rows += rows
        sep_sec += sec
    timings["5 separate calls"] = sep_sec
    cpu_rows, timings["one call on the CPU"] = timed(lambda: run_staircase(list(est), **kw, device="cpu"))
    same = max(abs(a["estimate"] - b["estimate"]) for a, b in zip(together, sep_rows))
    per_est = {}
    for e in est:
        d = [abs(a["estimate"] - b["estimate"]) for a, b in zip(together, sep_rows) if a["label"] == e]
        first_big = next((i for i, v in enumerate(d) if v > 1e-3), None)
        per_est[e] = dict(max_level0=max(d[:spl]), max_all=max(d), first_step_above_1e_3=first_big)
    first = [(a, b) for a, b in zip(together, cpu_rows) if a["step"] < 20]
    vs_cpu = max(abs(a["estimate"] - b["estimate"]) for a, b in first)
    print(f"\n## Staircase, 5 estimators x 5 levels x {spl} steps (batch 64), seconds wall")
    print(H.markdown_table(["contender", "s", f"time / one call on {dev.type}"],
                           [[k, v, v / timings["one call"]] for k, v in timings.items()]))
    print(f"CUDA graph vs eager steps: max |difference of records| {graph_vs_eager:.2e} nats")
    print(f"one call vs 5 separate calls on {dev.type}: max |difference of records| {same:.2e} nats; "
          f"{dev.type} vs cpu over the first 20 steps (float32): {vs_cpu:.2e} nats")
    for e, v in per_est.items():
        print(f"  {e:<8s} one call vs separate: max |diff| {v['max_level0']:.2e} on level 1, {v['max_all']:.2e} "
              f"overall; first step with |diff| > 1e-3: {v['first_step_above_1e_3']}")
    return dict(seconds=timings, max_diff_separate=same, max_diff_graph_vs_eager=graph_vs_eager, max_diff_cpu_first20=vs_cpu, steps_per_level=spl,
                per_estimator=per_est)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--sections", default=",".join(SECTIONS))
    p.add_argument("--repeats", type=int, default=5, help="timed blocks per contender (default 5)")
    p.add_argument("--no-graphs", action="store_true", help="skip the CUDA-graph variants")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the script")
    p.add_argument("--json", help="write every number to this JSON file")
    args = p.parse_args(argv)

    import torch

    from mi_estimators.training import resolve_device

    dev = resolve_device(args.device)
    sections = args.sections.split(",")
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise SystemExit(f"unknown section(s) {unknown}; valid: {', '.join(SECTIONS)}")
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"# GPU benchmark: InfoNCE, dim {H.DIM}, MI {H.MI_NATS} nats, batch {H.BATCH}, float32, device {name}")
    print(f"# torch {torch.__version__}, TF32 matmul {'on' if torch.backends.cuda.matmul.allow_tf32 else 'off'}")
    results = {"device": name, "torch": torch.__version__}
    peak = None
    if "ceilings" in sections:
        results["ceilings"] = section_ceilings(dev, args.quick)
        peak = results["ceilings"]["fp32_tflops"]
    if "step" in sections:
        results["step"] = section_step(dev, args.quick, args.repeats, peak, not args.no_graphs)
    if "fit" in sections:
        results["fit"] = section_fit(dev, args.quick)
    if "equality" in sections:
        results["equality"] = section_equality(dev)
    if "staircase" in sections:
        results["staircase"] = section_staircase(dev, args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
