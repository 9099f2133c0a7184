"""Peak memory of the joint critic's B×B score matrix, chunked vs unchunked (issue 8.3).

    python benchmarks/bench_memory.py                  # the table in docs/reliability.md
    python benchmarks/bench_memory.py --hidden 256 256 --batches 512 1024 2048 4096

The joint critic T(x, y) = MLP([x; y]) is evaluated on all B² pairs. Its hidden activations
take K·c·B·H floats for a block of c rows (``chunk_size``); unchunked (c = B) at B = 4,096 and
H = 256 that is 4096²·256·4 bytes = 16 GiB per layer. Each configuration runs in a fresh
subprocess; the peak is the growth of the process's maximum resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) from just before the evaluation to just
after, so imports, the model and the inputs are excluded. Modes:

* ``eval``: ``torch.no_grad()`` scores (how estimates are computed on held-out data);
* ``train``: scores, InfoNCE loss and backward (one training step's memory).

Configurations whose expected peak (see :func:`expected_peak_mib`) exceeds ``--max-gib``
are not run (they would swap or be killed); the table shows the prediction instead. On a CUDA
machine ``--device cuda`` reports ``torch.cuda.max_memory_allocated`` instead of RSS.
Not a test: numbers depend on the machine, the allocator and the torch version.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(1)
sys.path.insert(0, {root!r})
from mi_estimators.critics import make_critic
from mi_estimators.bounds import infonce
B, chunk, mode, hidden, dim, device = {B}, {chunk}, {mode!r}, {hidden}, {dim}, {device!r}
critic = make_critic("joint", dim, dim, hidden=tuple(hidden), chunk_size=chunk).to(device)
g = torch.Generator().manual_seed(0)
x = torch.randn(B, dim, generator=g).to(device)
y = (x + torch.randn(B, dim, generator=g).to(device))
def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: KiB
if device == "cuda":
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() / 2**20
else:
    # touch the allocator once so that its warm-up does not count
    with torch.no_grad():
        critic(x[:8], y[:8])
    base = rss_mib()
t0 = time.perf_counter()
if mode == "eval":
    with torch.no_grad():
        s = critic(x, y)
else:
    s = critic(x, y)
    (-infonce(s).sum()).backward()
if device == "cuda":
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**20 - base
else:
    peak = rss_mib() - base
print(json.dumps(dict(peak_mib=peak, seconds=time.perf_counter() - t0, finite=bool(torch.isfinite(s).all()))))
"""


def predicted_mib(B: int, chunk: int | None, hidden: list[int]) -> float:
    """One block's hidden activations, c·B·H float32 numbers (c = chunk_size rows of S).

    Measured (docs/reliability.md): evaluation peaks at ~3x this (the broadcast sum, its
    activation and the next layer's output are alive together). Training keeps every
    block's activations for backward, so its peak is ~2.5-4x the *unchunked* B·B·H figure
    whatever chunk_size is.
    """
    c = B if chunk is None else min(chunk, B)
    return c * B * max(hidden) * 4 / 2**20


def expected_peak_mib(mode: str, B: int, chunk: int | None, hidden: list[int]) -> float:
    return 3.0 * predicted_mib(B, chunk, hidden) if mode == "eval" else 4.0 * predicted_mib(B, None, hidden)


def run_one(B, chunk, mode, hidden, dim, device) -> dict:
    code = CHILD.format(root=str(ROOT), B=B, chunk=chunk, mode=mode, hidden=list(hidden), dim=dim, device=device)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return dict(error=(proc.stderr.strip().splitlines() or ["killed"])[-1])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    ap.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--chunk", type=int, default=256, help="chunk_size of the chunked runs (rows per block)")
    ap.add_argument("--modes", nargs="+", default=["eval", "train"], choices=["eval", "train"])
    ap.add_argument("--max-gib", type=float, default=6.0, help="skip unchunked runs predicted above this")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    import torch

    print(f"# joint critic hidden={args.hidden}, d_x = d_y = {args.dim}, float32, device {args.device}; "
          f"torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()}")
    print("# peak = growth of max RSS (MiB) during one evaluation (eval) or forward+backward (train)")
    header = f"{'mode':5s} {'B':>5s} {'chunk_size':>10s} {'c·B·H MiB':>13s} {'peak MiB':>9s} {'seconds':>8s}"
    print(header)
    print("-" * len(header))
    for mode in args.modes:
        for B in args.batches:
            # eval with chunk_size=None uses the critic's automatic 2**26-float blocks; pass B to force one block
            variants = [("auto" if mode == "eval" else "none", None if mode == "eval" else B),
                        (str(args.chunk), args.chunk)]
            if mode == "eval":
                variants.insert(0, ("none", B))
            for label, chunk in variants:
                if label == "auto":
                    from mi_estimators.critics import _EVAL_FLOATS
                    eff = max(1, min(B, _EVAL_FLOATS // (B * max(args.hidden))))
                else:
                    eff = chunk
                pred = predicted_mib(B, eff, args.hidden)
                if expected_peak_mib(mode, B, eff, args.hidden) > args.max_gib * 1024:
                    print(f"{mode:5s} {B:5d} {label:>10s} {pred:13.0f}   (skipped: expected peak "
                          f"{expected_peak_mib(mode, B, eff, args.hidden):.0f} MiB > --max-gib)")
                    continue
                res = run_one(B, chunk, mode, args.hidden, args.dim, args.device)
                if "error" in res:
                    print(f"{mode:5s} {B:5d} {label:>10s} {pred:13.0f}   error: {res['error'][:60]}")
                    continue
                print(f"{mode:5s} {B:5d} {label:>10s} {pred:13.0f} {res['peak_mib']:9.0f} {res['seconds']:8.2f}"
                      + ("" if res["finite"] else "  NON-FINITE"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
