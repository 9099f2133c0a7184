"""``kill -9`` of ``mi-bench run`` (the parent alone, as a user's ``kill -9 PID`` does) leaves no
process behind: the pool workers exit with their parent (``executors.exit_with_parent``) and
the multiprocessing resource tracker exits once they are gone (issue 19). Before, workers kept
computing and the tracker kept waiting, re-parented to init. The runs finished before the kill
stay on disk and a second run completes the sweep."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

N_RUNS = 4
# KSG at n = 20,000 (about 1-3 s a run): long enough to kill the sweep mid-way, and its workers
# start without torch
CONFIG = f"""\
name = "kill9"
tasks = ["gaussian:dim=2,mi=0.5"]
estimators = ["ksg"]
seeds = {N_RUNS}
n = [20000]
"""


def _session(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``: the command's whole process tree, since
    it was started with its own session and nothing in it calls setsid."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:   # it exited meanwhile
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(what)
        time.sleep(0.05)


def test_kill_9_of_the_parent_leaves_no_worker_and_resumes(tmp_path):
    cfg = tmp_path / "kill9.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mi_estimators", "run", str(cfg), "--out", str(out), "-q"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd + ["--executor", "local", "--workers", "2"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # parent + resource tracker + 2 workers, and at least one run finished
        _wait(lambda: proc.poll() is not None or (len(_session(proc.pid)) >= 4 and list(out.glob("runs/*.json"))),
              120, "the sweep never had its two workers running and a run on disk")
        assert proc.poll() is None, f"the sweep ended before the kill (exit code {proc.returncode})"
        kept = {p.name: p.read_bytes() for p in out.glob("runs/*.json")}
        os.kill(proc.pid, signal.SIGKILL)          # the parent only
        proc.wait()
        _wait(lambda: not _session(proc.pid), 10, f"processes left after kill -9: {_session(proc.pid)}")
    finally:
        for pid in _session(proc.pid):            # never leave them behind, even when failing
            os.kill(pid, signal.SIGKILL)
    assert 1 <= len(kept) < N_RUNS or len(kept) == N_RUNS
    done = subprocess.run(cmd + ["--executor", "serial"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    runs = {p.name: p.read_bytes() for p in out.glob("runs/*.json")}
    assert len(runs) == N_RUNS
    assert all(runs[name] == data for name, data in kept.items()), "a finished run was redone"
