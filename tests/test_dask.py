"""``mi-bench run`` beyond one machine (issue 20, item 4): a sweep through a Dask scheduler with two
worker processes gives the rows of a local run, and a worker killed mid-run loses no row.

``--executor tcp://HOST:8786`` (``get_executor(address)``) is what the command line uses; here the
scheduler is a ``LocalCluster`` with two worker processes (a real cluster's workers are other
machines; the protocol is the same). Only nonparametric estimators run, so workers never import
torch and the file stays well under 30 s.
"""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from mi_estimators.bench import sweep
from mi_estimators.bench.executors import DaskExecutor, SerialExecutor, get_executor
from mi_estimators.bench.store import TIMING_COLUMNS

distributed = pytest.importorskip("distributed")

TASKS = ["gaussian:dim=1,mi=0.5", "gaussian:dim=1,mi=1"]


def _strip(rows):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as c:
        yield c


def test_two_dask_workers_give_the_rows_of_a_local_run(tmp_path, cluster):
    jobs = sweep.make_grid(TASKS, ["ksg", "cca"], seeds=3, n=300)
    local = sweep.run_sweep(jobs, tmp_path / "local", executor=SerialExecutor())
    assert all(r["status"] == "ok" for r in local), [r["error"] for r in local]
    with get_executor(cluster.scheduler_address) as executor:   # what `--executor tcp://...` does
        assert isinstance(executor, DaskExecutor)
        remote = sweep.run_sweep(jobs, tmp_path / "dask", executor=executor)
    assert _strip(remote) == _strip(local)


def test_a_worker_killed_mid_run_loses_no_row_and_a_rerun_recomputes_nothing(tmp_path, cluster):
    jobs = sweep.make_grid(TASKS[:1], ["ksg"], seeds=10, n=3000)
    reference = sweep.run_sweep(jobs, tmp_path / "reference", executor=SerialExecutor())
    out = tmp_path / "dask"
    client = distributed.Client(cluster)
    try:
        pids = client.run(os.getpid)   # worker address -> process id
        result = {}

        def run():
            result["rows"] = sweep.run_sweep(jobs, out, executor=DaskExecutor(client=client))

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 20
        while len(list((out / "runs").glob("*.json"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        # SIGKILL one worker process mid-run (as if its machine went away); the scheduler gives
        # its unfinished jobs to the other worker, and the nanny starts a new worker
        os.kill(pids[sorted(pids)[0]], signal.SIGKILL)
        at_kill = len(list((out / "runs").glob("*.json")))
        thread.join(timeout=60)
        assert not thread.is_alive()
        written_mid_run = len(result["rows"])
    finally:
        client.close()
    assert 2 <= at_kill < len(jobs), at_kill   # the kill landed mid-run
    assert written_mid_run == len(jobs)
    assert _strip(result["rows"]) == _strip(reference)

    def must_not_run(job):   # a rerun finds every row on disk and computes nothing
        raise AssertionError(f"recomputed {job}")

    again = sweep.run_sweep(jobs, out, executor=SerialExecutor(), fn=must_not_run)
    assert _strip(again) == _strip(reference)
