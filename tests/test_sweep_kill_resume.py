"""Determinism and resumption of ``mi-bench run`` under SIGKILL and concurrent writers (issue 8.5).

Each trial starts the real command in its own process group, kills the whole group
(parent and pool workers) with SIGKILL at a random point — after a random number k of runs
has been written plus a random delay, so kills land between runs, inside a run and inside a
write — restarts it, kills it again, and finally lets it finish. The final ``results.csv``
must equal that of an uninterrupted sweep in every column but the timings. Two writers
started together on one folder (one of them killed mid-way) must leave the same table,
with every run file complete.

The kill points come from a seeded ``random.Random`` so that CI is reproducible; the
process scheduling around them is not, which is the point.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mi_estimators.bench.store import TIMING_COLUMNS, read_results_csv

CONFIG = """\
name = "killresume"
tasks = ["gaussian:dim=2,mi=0.5", "gaussian:dim=3,mi=1"]
estimators = ["cca", "ksg", {name = "infonce", steps = 10, hidden = [8], embed_dim = 4, batch_size = 32, eval_every = 5}]
seeds = [0, 1, 2]
n = [400]
"""
N_RUNS = 2 * 3 * 3
TIMEOUT_S = 240


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "killresume.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _cmd(config, out, executor="serial"):
    cmd = [sys.executable, "-m", "mi_estimators", "run", str(config), "--out", str(out), "-q"]
    if executor == "serial":
        return cmd + ["--executor", "serial"]
    return cmd + ["--executor", "local", "--workers", "2"]


def _start(config, out, executor="serial"):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen(_cmd(config, out, executor), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _n_runs(out: Path) -> int:
    runs = out / "runs"
    return len(list(runs.glob("*.json"))) if runs.is_dir() else 0


def _kill_after(proc, out: Path, k: int, delay: float) -> int:
    """SIGKILL the process group once ``k`` runs are on disk (plus ``delay`` s); returns the count then."""
    deadline = time.monotonic() + TIMEOUT_S
    while proc.poll() is None and _n_runs(out) < k:
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"sweep wrote fewer than {k} runs in {TIMEOUT_S} s (a hang?)")
        time.sleep(0.005)
    time.sleep(delay)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # it had already finished
        pass
    proc.wait()
    return _n_runs(out)


def _finish(config, out) -> None:
    """Run the sweep to the end in this process (the same ``mi-bench run`` code, no start-up cost)."""
    from mi_estimators.bench import cli

    assert cli.main(_cmd(config, out)[3:]) == 0


def _table(out: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in read_results_csv(out / "results.csv")]


def _assert_folder_sound(out: Path) -> None:
    files = sorted((out / "runs").glob("*.json"))
    assert len(files) == N_RUNS
    for path in files:  # every run file is complete JSON naming its own run
        assert json.loads(path.read_text())["run_id"] == path.stem


@pytest.fixture(scope="module")
def reference(config, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "out"
    _finish(config, out)
    _assert_folder_sound(out)
    return _table(out)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(3))
def test_sweep_killed_twice_at_random_points_resumes_to_the_uninterrupted_table(config, reference, tmp_path, trial):
    rng = random.Random(1000 + trial)
    executor = "local" if trial == 2 else "serial"  # trial 2 also kills the pool's workers
    out = tmp_path / "out"
    seen = []
    k = 0
    for _ in range(2):
        k = rng.randint(k + 1, k + 6)
        seen.append(_kill_after(_start(config, out, executor), out, k, rng.uniform(0.0, 0.05)))
    assert 1 <= seen[-1] < N_RUNS, f"trial {trial}: runs on disk at the kills {seen}: the sweep was not interrupted"
    _finish(config, out)
    _assert_folder_sound(out)
    assert _table(out) == reference
    # temp files a kill left behind are never read as runs
    strays = [p.name for p in (out / "runs").iterdir() if not p.name.endswith(".json")]
    assert all(p.startswith(".") and p.endswith(".tmp") for p in strays), strays


@pytest.mark.slow
def test_two_writers_on_one_folder_one_killed_midway_leave_the_uninterrupted_table(config, reference, tmp_path):
    out = tmp_path / "out"
    a = _start(config, out)
    b = _start(config, out)
    _kill_after(a, out, 4, 0.01)  # writer a dies mid-sweep; b carries on over the same folder
    _, err = b.communicate(timeout=TIMEOUT_S)
    assert b.returncode == 0, err.decode()
    _assert_folder_sound(out)
    assert _table(out) == reference


@pytest.mark.slow
def test_two_writers_started_together_both_succeed_with_one_complete_row_per_run(config, reference, tmp_path):
    out = tmp_path / "out"
    procs = [_start(config, out), _start(config, out)]
    for p in procs:
        _, err = p.communicate(timeout=TIMEOUT_S)
        assert p.returncode == 0, err.decode()
    _assert_folder_sound(out)
    assert _table(out) == reference
