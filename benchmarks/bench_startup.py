"""Start-up cost against a baseline commit, measured in one run: ``import mi_estimators``,
``mi-bench --help``, a KSG ``estimate_mi`` call and ``mi-bench estimate FILE -e ksg`` on a
2,000-row CSV (the whole command, as a user runs it), each in a fresh interpreter.

The baseline is a git worktree of ``--baseline`` (default ``HEAD``) made in a temporary
folder; both trees run with this interpreter, from their own folder (so each imports its own
``mi_estimators``). Contenders alternate round by round (the machine is shared and its load
drifts); the table gives each one's median wall time over ``--rounds`` rounds and the ratio
this tree / baseline with a bootstrap 95 % interval of the ratio of medians.

    python benchmarks/bench_startup.py --baseline 94e1a55 --rounds 21
"""
from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBES = {
    "import mi_estimators": "import mi_estimators",
    "mi-bench --help": ("import contextlib, io, sys\nsys.argv = ['mi-bench', '--help']\n"
                        "from mi_estimators.__main__ import main\n"
                        "with contextlib.redirect_stdout(io.StringIO()):\n"
                        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass"),
    "estimate_mi(ksg), n=2000": ("import numpy as np, mi_estimators\nr = np.random.default_rng(0)\n"
                                 "x = r.standard_normal((2000, 1)); y = x + r.standard_normal((2000, 1))\n"
                                 "mi_estimators.estimate_mi(x, y, 'ksg')"),
    "mi-bench estimate -e ksg, 2000-row CSV": ("import contextlib, io, sys\n"
                                               "from mi_estimators.bench.cli import main\n"
                                               "with contextlib.redirect_stdout(io.StringIO()):\n"
                                               "    sys.exit(main(['estimate', {csv!r}, '-e', 'ksg']))"),
}


def _write_csv(path: Path) -> None:
    """2,000 rows of a correlated pair (columns x, y), written without numpy's help."""
    rng = random.Random(0)
    rows = []
    for _ in range(2000):
        x = rng.gauss(0, 1)
        rows.append(f"{x!r},{x + rng.gauss(0, 1)!r}")
    path.write_text("x,y\n" + "\n".join(rows) + "\n")


def _time(tree: Path, code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=tree, check=True, capture_output=True)
    return time.perf_counter() - t0


def _ratio_interval(new: list[float], old: list[float], rng: random.Random, draws: int = 2000):
    ratios = sorted(statistics.median(rng.choices(new, k=len(new))) / statistics.median(rng.choices(old, k=len(old)))
                    for _ in range(draws))
    return ratios[int(0.025 * draws)], ratios[int(0.975 * draws)]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default="HEAD", help="git ref of the baseline tree (default HEAD)")
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "pair.csv"
        _write_csv(csv)
        probes = {name: code.replace("{csv!r}", repr(str(csv))) for name, code in PROBES.items()}
        old = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.baseline], cwd=REPO, check=True,
                       capture_output=True)
        try:
            times = {(probe, tree): [] for probe in PROBES for tree in ("this", "baseline")}
            for _ in range(args.rounds):
                for probe, code in probes.items():
                    for tree, path in random.sample([("this", REPO), ("baseline", old)], 2):
                        times[probe, tree].append(_time(path, code))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=REPO, capture_output=True)
    rng = random.Random(0)
    print(f"start-up, wall seconds (median of {args.rounds} fresh interpreters), this tree vs {args.baseline}")
    print(f"{'probe':40s} {'this':>8s} {'baseline':>9s} {'ratio':>7s}  95% interval")
    for probe in PROBES:
        new, base = times[probe, "this"], times[probe, "baseline"]
        lo, hi = _ratio_interval(new, base, rng)
        ratio = statistics.median(new) / statistics.median(base)
        print(f"{probe:40s} {statistics.median(new):8.3f} {statistics.median(base):9.3f} {ratio:7.2f}  "
              f"[{lo:.2f}, {hi:.2f}]")


if __name__ == "__main__":
    main()
