"""Executors: where the independent jobs of a sweep run.

A sweep is a list of independent, picklable jobs and one picklable top-level function.
An executor maps the function over the jobs and yields ``(job, result)`` pairs *as they
finish* (in any order), so the caller can write each result to disk at once.

- :class:`SerialExecutor` — in this process, one job after another (tests, debugging).
- :class:`LocalExecutor` — a process pool on this machine (the default). Every worker
  process runs torch with **one thread** (``OMP_NUM_THREADS=1``,
  ``torch.set_num_threads(1)``): ``n_workers`` processes on ``n_workers`` cores is faster
  than one process fighting over cores, and it makes results independent of the machine's
  core count. Workers exit within :data:`PARENT_POLL_S` of their parent's death
  (:func:`exit_with_parent`), so a ``kill -9`` of ``mi-bench run`` leaves no process behind.
- :class:`DaskExecutor` — the same jobs through ``dask.distributed`` (optional extra
  ``mi-estimators[dask]``) on any cluster, given a scheduler address such as
  ``tcp://10.0.0.5:8786`` or an existing ``distributed.Client``.

Every job seeds its own random state, so the same jobs give the same results whichever
executor ran them (see ``tests/test_evaluation.py``). :func:`~mi_estimators.bench.sweep.run_sweep`
and :func:`~mi_estimators.bench.staircase.run_staircase` take an executor or a spec for
:func:`get_executor`.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Sequence

from mi_estimators._checks import check_choice

__all__ = [
    "Executor",
    "SerialExecutor",
    "LocalExecutor",
    "DaskExecutor",
    "get_executor",
    "limit_threads",
]


def limit_threads(n_threads: int = 1) -> None:
    """Pin BLAS/OpenMP and torch to ``n_threads`` threads in this process.

    Called in every pool worker (and by Dask workers through the job wrapper).
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n_threads)
    import sys

    torch = sys.modules.get("torch")   # not imported yet: it will read OMP_NUM_THREADS when it is
    if torch is None:                  # (importing it here cost every KSG/CCA-only worker seconds)
        return
    if torch.get_num_threads() != n_threads:
        torch.set_num_threads(n_threads)


#: How often a pool worker checks that the process that started it is still alive (seconds).
PARENT_POLL_S = 0.25


def exit_with_parent(parent_pid: int, poll_s: float = PARENT_POLL_S) -> None:
    """Make this process exit soon after ``parent_pid`` dies, however it dies (``kill -9`` too).

    A daemon thread compares ``os.getppid()`` with ``parent_pid`` every ``poll_s`` seconds
    (an orphan is re-parented, so its parent id changes) and calls ``os._exit(1)`` when they
    differ. Pool workers run it first thing: without it, a SIGKILLed ``mi-bench run`` left its
    workers computing, and the multiprocessing resource tracker waiting on them, forever. A
    worker holds no results folder state (the parent writes every run file), so its exit loses
    only the runs in flight, which a resumed sweep runs again.
    """
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init_worker(parent_pid: int, n_threads: int = 1) -> None:
    """Pool worker initializer: exit with the parent (:func:`exit_with_parent`), one thread."""
    exit_with_parent(parent_pid)
    limit_threads(n_threads)


def _run_single_threaded(fn: Callable, job: Any):
    """Run ``fn(job)`` with one torch thread (Dask workers may not have an initializer)."""
    limit_threads(1)
    return fn(job)


class Executor:
    """Maps a picklable function over jobs; yields ``(job, result)`` as each finishes."""

    name = "executor"

    def map_unordered(self, fn: Callable, jobs: Sequence) -> Iterator[tuple[Any, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (no-op by default)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SerialExecutor(Executor):
    """Run jobs one by one in this process (no pickling, easy to debug)."""

    name = "serial"

    def map_unordered(self, fn, jobs):
        for job in jobs:
            yield job, fn(job)


class LocalExecutor(Executor):
    """A process pool on this machine, one torch thread per worker process.

    ``n_workers`` defaults to the number of CPU cores available to this process.
    Workers start with the ``spawn`` method (safe with torch; no inherited thread pools)
    and exit when this process dies (:func:`exit_with_parent`).
    """

    name = "local"

    def __init__(self, n_workers: int | None = None):
        if n_workers is None:
            try:
                n_workers = len(os.sched_getaffinity(0))
            except AttributeError:  # pragma: no cover - not Linux
                n_workers = os.cpu_count() or 1
        if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
            raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
        self.n_workers = n_workers

    def map_unordered(self, fn, jobs):
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        jobs = list(jobs)
        if not jobs:
            return
        if self.n_workers == 1 or len(jobs) == 1:
            # A pool of one buys nothing but a torch import in a new process.
            limit_threads(1)
            yield from SerialExecutor().map_unordered(fn, jobs)
            return
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            max_workers=min(self.n_workers, len(jobs)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(os.getpid(), 1),
        )
        try:
            futures = {pool.submit(fn, job): job for job in jobs}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield futures[fut], fut.result()
        finally:
            # On error or early exit (Ctrl-C), do not wait for queued jobs.
            pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return f"LocalExecutor(n_workers={self.n_workers})"


class DaskExecutor(Executor):
    """Run jobs on a ``dask.distributed`` cluster.

    Give a scheduler ``address`` (``"tcp://host:8786"``) or an existing ``client``.
    Jobs are submitted with ``pure=False`` and collected with ``as_completed``; each job
    runs with one torch thread. Requires the optional extra ``mi-estimators[dask]``.
    """

    name = "dask"

    def __init__(self, address: str | None = None, client=None):
        if (address is None) == (client is None):
            raise ValueError("DaskExecutor needs exactly one of address (scheduler URL) or client")
        try:
            import distributed
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ValueError(
                "the Dask executor needs dask.distributed: pip install 'mi-estimators[dask]'"
            ) from err
        self._own_client = client is None
        if client is None:
            try:
                client = distributed.Client(address, timeout="10s")
            except (OSError, TimeoutError) as err:
                raise ValueError(
                    f"cannot reach the Dask scheduler at {address!r}: {err}"
                ) from err
        self.client = client
        self.address = address

    def map_unordered(self, fn, jobs):
        from distributed import as_completed

        jobs = list(jobs)
        if not jobs:
            return
        futures = [
            self.client.submit(_run_single_threaded, fn, job, pure=False) for job in jobs
        ]
        index = {fut.key: i for i, fut in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                yield jobs[index[fut.key]], fut.result()
        finally:
            for fut in futures:
                if not fut.done():
                    fut.cancel()

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"DaskExecutor(address={self.address!r})"


EXECUTORS = ("serial", "local", "dask")


def get_executor(spec: str | Executor | None = None, *, n_workers: int | None = None) -> Executor:
    """An executor from a short spec.

    ``None`` or ``"local"`` → :class:`LocalExecutor`; ``"serial"`` → :class:`SerialExecutor`;
    a scheduler address (``"tcp://host:8786"``, ``"tls://..."``, ``"dask://host:8786"``)
    → :class:`DaskExecutor`. An :class:`Executor` instance is returned unchanged.
    """
    if isinstance(spec, Executor):
        return spec
    if spec is None or spec == "local":
        return LocalExecutor(n_workers)
    if spec == "serial":
        return SerialExecutor()
    if isinstance(spec, str) and "://" in spec:
        scheme, rest = spec.split("://", 1)
        if scheme == "dask":
            spec = "tcp://" + rest
        return DaskExecutor(address=spec)
    check_choice("executor", spec, [*EXECUTORS[:2], "tcp://HOST:PORT (a Dask scheduler)"])
    raise AssertionError("unreachable")  # pragma: no cover

