"""Regenerate ``synthetic/data/mc_truth.tsv``: Monte Carlo ground truth of every listed task
whose MI has no closed form, at standard error ≤ 0.001 nats, with the default seed.

    python -m synthetic.precompute            # rewrites the shipped table (a few minutes)

A task looks its (name, seed) up in that table before sampling, so worker processes that
build the same task many times pay nothing. Values are means of the exact pointwise MI over
the stated number of joint draws; the table records that number and the standard error.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from synthetic._montecarlo import DEFAULT_MC_SEED, MonteCarloTruth, monte_carlo_mi
from synthetic.registry import get_task, list_tasks

TARGET = 0.001
PATH = Path(__file__).with_name("data") / "mc_truth.tsv"


def _mc_core(task):
    """The task holding the Monte Carlo truth (transforms delegate to their base)."""
    while not isinstance(task, MonteCarloTruth) and hasattr(task, "base"):
        task = task.base
    return task if isinstance(task, MonteCarloTruth) else None


def main() -> int:
    rows = []
    for name in list_tasks():
        core = _mc_core(get_task(name))
        if core is None or any(r[0] == core.name for r in rows):
            continue
        t0 = time.perf_counter()
        mi, se, n = monte_carlo_mi(core, DEFAULT_MC_SEED, TARGET, max_n=8_000_000)
        rows.append((core.name, DEFAULT_MC_SEED, mi, se, n))
        print(f"{core.name:45s} {mi:.5f} ± {se:.5f}  n={n}  {time.perf_counter() - t0:.1f}s", flush=True)
    with open(PATH, "w") as fh:
        fh.write("# Monte Carlo ground truth (nats): mean of exact log p(x,y)/(p(x)p(y)) over n joint\n"
                 "# draws from numpy default_rng(seed). Written by `python -m synthetic.precompute`.\n"
                 "# columns: name<TAB>seed<TAB>mi<TAB>stderr<TAB>n\n")
        for name, seed, mi, se, n in rows:
            fh.write(f"{name}\t{seed}\t{mi:.6f}\t{se:.6f}\t{n}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
