"""Evaluation grids: run ids, scoring formulas, atomic resumable sweeps, executors agree."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mi_estimators.bench import config, store, sweep
from mi_estimators.bench.executors import DaskExecutor, LocalExecutor, SerialExecutor, get_executor

ROOT = Path(__file__).resolve().parents[1]
TASK = "gaussian:dim=2,mi=0.5"

# A cheap neural setting (a few Adam steps on a tiny critic) next to the non-parametric ones.
TINY_NEURAL = dict(steps=10, hidden=[8], embed_dim=4, batch_size=32, eval_every=5)


def _strip_timing(rows):
    return [{k: v for k, v in r.items() if k not in store.TIMING_COLUMNS} for r in rows]


def test_run_id_is_a_stable_hash_of_task_estimator_options_n_seed():
    a = sweep.Job(TASK, "ksg", 100, 0, {"k": 3}, label="ksg-3")
    assert a.run_id == sweep.Job(TASK, "ksg", 100, 0, (("k", 3),)).run_id  # label is display only
    assert len(a.run_id) == 16 and int(a.run_id, 16) >= 0
    others = [sweep.Job(TASK, "ksg", 100, 1, {"k": 3}), sweep.Job(TASK, "ksg", 101, 0, {"k": 3}),
              sweep.Job(TASK, "ksg", 100, 0, {"k": 4}), sweep.Job(TASK, "cca", 100, 0, {"k": 3}),
              sweep.Job("gaussian:dim=3,mi=0.5", "ksg", 100, 0, {"k": 3})]
    assert len({a.run_id, *(o.run_id for o in others)}) == 6


def test_make_grid_is_the_full_product_with_variant_labels():
    jobs = sweep.make_grid([TASK, "gaussian:dim=3,mi=1"], ["cca", {"name": "ksg", "label": "ksg-5", "k": 5}],
                           seeds=3, n=[100, 200])
    assert len(jobs) == 2 * 2 * 2 * 3
    assert {j.label for j in jobs} == {"cca", "ksg-5"}
    assert all(j.options_dict == {"k": 5} for j in jobs if j.label == "ksg-5")


def test_score_matches_the_textbook_definitions_of_bias_variance_mse():
    est = np.array([0.4, 0.55, 0.47, 0.61, 0.52])
    truth = 0.5
    rows = [dict(task=TASK, label="e", estimator="e", n=10, truth=truth, truth_stderr=0.0, estimate=float(e),
                 status="ok", time_s=1.0) for e in est]
    rows.append(dict(rows[0], estimate=math.nan, status="error"))
    (s,) = sweep.score(rows)
    k = len(est)
    assert s["runs"] == k and s["failed"] == 1
    assert s["mean"] == pytest.approx(est.mean())
    assert s["bias"] == pytest.approx(est.mean() - truth)
    assert s["variance"] == pytest.approx(est.var(ddof=1))
    assert s["se_mean"] == pytest.approx(est.std(ddof=1) / math.sqrt(k))
    assert s["se_variance"] == pytest.approx(est.var(ddof=1) * math.sqrt(2 / (k - 1)))
    sq = (est - truth) ** 2
    assert s["mse"] == pytest.approx(sq.mean())
    assert s["se_mse"] == pytest.approx(sq.std(ddof=1) / math.sqrt(k))
    # MSE = bias^2 + (k-1)/k variance, exactly
    assert s["mse"] == pytest.approx(s["bias"] ** 2 + (k - 1) / k * s["variance"])


def test_atomic_write_replaces_whole_file_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "a.json"
    store.atomic_write_text(path, "one")
    store.atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_results_folder_with_newer_schema_is_refused(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "manifest.json").write_text(json.dumps({"schema_version": store.SCHEMA_VERSION + 1}))
    with pytest.raises(ValueError, match="newer than this mi-estimators understands"):
        sweep.run_sweep([sweep.Job(TASK, "cca", 50, 0)], tmp_path, executor="serial")


def test_sweep_resumes_without_duplicates_and_refuses_a_different_config(tmp_path):
    jobs = sweep.make_grid([TASK], ["cca"], seeds=3, n=100)
    first = sweep.run_sweep(jobs[:2], tmp_path, executor="serial", config={"a": 1})
    assert len(first) == 2 and all(r["status"] == "ok" for r in first)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "runs").iterdir()}
    rows = sweep.run_sweep(jobs, tmp_path, executor="serial", config={"a": 1})
    assert len(rows) == 3 and len({r["run_id"] for r in rows}) == 3
    assert all((tmp_path / "runs" / name).stat().st_mtime_ns == t for name, t in mtimes.items())  # not re-run
    csv_rows = store.read_results_csv(tmp_path / "results.csv")
    assert _strip_timing(csv_rows) == _strip_timing([{k: r[k] for k in store.RESULT_COLUMNS} for r in rows])
    with pytest.raises(ValueError, match="different config"):
        sweep.run_sweep(jobs, tmp_path, executor="serial", config={"a": 2})
    assert len(sweep.run_sweep(jobs, tmp_path, executor="serial", config={"a": 2}, extend=True)) == 3


def test_same_seed_gives_the_same_row_and_a_new_seed_a_different_one():
    a = sweep.run_job(sweep.Job(TASK, "ksg", 300, 4))
    b = sweep.run_job(sweep.Job(TASK, "ksg", 300, 4))
    c = sweep.run_job(sweep.Job(TASK, "ksg", 300, 5))
    assert a["status"] == "ok" and a["truth"] == pytest.approx(0.5)
    assert _strip_timing([a]) == _strip_timing([b])
    assert a["estimate"] != c["estimate"]


def test_failing_estimator_is_recorded_as_an_error_row_not_a_crash():
    row = sweep.run_job(sweep.Job(TASK, "infonce", 40, 0, dict(TINY_NEURAL, batch_size=64)))
    assert row["status"] == "error" and "too few samples" in row["error"] and math.isnan(row["estimate"])


SWEEP_SCRIPT = textwrap.dedent(
    """
    import sys
    from mi_estimators.bench import sweep
    jobs = sweep.make_grid(["gaussian:dim=4,mi=1"], [{"name": "ksg", "k": 3}], seeds=12, n=1500)
    sweep.run_sweep(jobs, sys.argv[1], executor="serial", config={"test": "kill"})
    """
)


def test_sweep_killed_by_sigkill_resumes_to_exactly_the_uninterrupted_rows(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", SWEEP_SCRIPT, str(killed)], env=env)
    runs = killed / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if runs.is_dir() and len(list(runs.glob("*.json"))) >= 3:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_at_kill = len(list(runs.glob("*.json")))
    assert 3 <= n_at_kill < 12, "the sweep must be killed mid-way for this test to mean anything"

    jobs = sweep.make_grid(["gaussian:dim=4,mi=1"], [{"name": "ksg", "k": 3}], seeds=12, n=1500)
    resumed = sweep.run_sweep(jobs, killed, executor="serial", config={"test": "kill"})
    reference = sweep.run_sweep(jobs, clean, executor="serial", config={"test": "kill"})
    assert len(resumed) == 12 and len({r["run_id"] for r in resumed}) == 12
    assert _strip_timing(resumed) == _strip_timing(reference)
    assert len(list(runs.glob("*.json"))) == 12
    # a temp file left by the kill is never mistaken for a run
    assert all(not p.name.endswith(".json") or p.stem in {r["run_id"] for r in resumed} for p in runs.iterdir())


def _small_mixed_grid():
    return sweep.make_grid([TASK], ["cca", {"name": "infonce", **TINY_NEURAL}], seeds=2, n=400)


def test_local_process_pool_and_dask_give_the_same_table_as_serial(tmp_path):
    distributed = pytest.importorskip("distributed")
    jobs = _small_mixed_grid()
    serial = sweep.run_sweep(jobs, tmp_path / "serial", executor=SerialExecutor())
    assert all(r["status"] == "ok" for r in serial), [r["error"] for r in serial]
    local = sweep.run_sweep(jobs, tmp_path / "local", executor=LocalExecutor(2))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with get_executor(cluster.scheduler_address) as executor:  # what `--executor ADDRESS` does
            assert isinstance(executor, DaskExecutor)
            dask = sweep.run_sweep(jobs, tmp_path / "dask", executor=executor)
    assert _strip_timing(local) == _strip_timing(serial)
    assert _strip_timing(dask) == _strip_timing(serial)


def test_get_executor_parses_specs_and_rejects_unknown_ones():
    assert isinstance(get_executor("serial"), SerialExecutor)
    assert get_executor("local", n_workers=3).n_workers == 3
    with pytest.raises(ValueError, match="unknown executor 'lokal'.*did you mean 'local'"):
        get_executor("lokal")
    with pytest.raises(ValueError, match="n_workers"):
        LocalExecutor(0)


def test_config_validation_names_the_problem_and_the_valid_choices():
    base = {"tasks": [TASK], "estimators": ["cca"], "seeds": 2, "n": 100}
    assert len(config.parse_config(base).jobs()) == 2
    cases = [
        ({**base, "sedes": 2}, "unknown key 'sedes'.*valid keys are"),
        ({**base, "estimators": ["infonse"]}, "unknown estimator 'infonse'.*did you mean 'infonce'"),
        ({**base, "tasks": ["nonsense:dim=2"]}, "tasks:"),
        ({**base, "seeds": "two"}, "seeds must be"),
        ({**base, "n": [1]}, "n must be"),
        ({**base, "estimators": ["cca", "cca"]}, "share the label 'cca'"),
        ({**base, "estimators": [{"name": "ksg", "kk": 3}]}, "unknown option 'kk' for estimator 'ksg'"),
        ({**base, "estimators": ["smile"], "options": {"stepz": 3}}, "unknown option 'stepz'"),
        ({"estimators": ["cca"]}, "missing key 'tasks'"),
    ]
    for data, message in cases:
        with pytest.raises(ValueError, match=message):
            config.parse_config(data)


def test_shared_options_go_to_neural_estimators_only():
    cfg = config.parse_config({"tasks": [TASK], "estimators": ["cca", "nwj"], "seeds": 1, "n": 100,
                               "options": {"steps": 7}})
    opts = {j.label: j.options_dict for j in cfg.jobs()}
    assert opts == {"cca": {}, "nwj": {"steps": 7}}


def test_concurrent_writers_to_one_folder_leave_exactly_one_complete_row_per_run(tmp_path):
    import threading

    jobs = sweep.make_grid([TASK], ["cca"], seeds=6, n=100)
    errors = []

    def writer():
        try:
            sweep.run_sweep(jobs, tmp_path, executor="serial", config={"c": 1})
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = store.load_runs(tmp_path)
    assert sorted(r["run_id"] for r in rows) == sorted(j.run_id for j in jobs)
    assert [p.name for p in (tmp_path / "runs").iterdir() if not p.name.endswith(".json")] == []
    assert len(store.read_results_csv(tmp_path / "results.csv")) == 6


def test_auto_estimator_is_accepted_by_sweep_configs_and_runs():
    cfg = config.parse_config({"tasks": ["1v1-normal-0.75"], "n": 400, "seeds": 1,
                               "estimators": ["auto", {"name": "auto", "label": "auto-neural", "force": "neural",
                                                       "steps": 20}]})
    assert [j.label for j in cfg.jobs()] == ["auto", "auto-neural"]
    with pytest.raises(ValueError, match="unknown option 'forse' for estimator 'auto'.*force"):
        config.parse_config({"tasks": [TASK], "n": 100, "seeds": 1, "estimators": [{"name": "auto", "forse": "ksg"}]})
    row = sweep.run_job(cfg.jobs()[0])            # a Gaussian pair: auto reports the Gaussian-copula value
    assert row["status"] == "ok" and math.isfinite(row["estimate"]) and "Gaussian-copula test" in row["config"]


def test_staircase_estimators_trained_as_one_ensemble_equal_separate_runs():
    from mi_estimators.bench.staircase import run_staircase

    kw = dict(levels=(2.0, 4.0), steps_per_level=5, dim=4, batch_size=16, seed=1)
    names = ["infonce", "nwj", "smile:tau=5"]
    together = run_staircase(names, **kw)
    apart = [r for e in names for r in run_staircase([e], **kw)]
    assert together == apart


def test_copula_transform_option_runs_in_sweeps_and_is_invariant_to_monotone_warps():
    from mi_estimators import estimate_mi
    from mi_estimators.auto import copula_normalize

    cfg = config.parse_config({"tasks": ["1v1-normal-0.75"], "n": 500, "seeds": 1,
                               "estimators": [{"name": "cca", "label": "gcmi", "transform": "copula"},
                                              {"name": "auto", "interval": "sampling"}]})
    gcmi, auto = (sweep.run_job(j) for j in cfg.jobs())
    assert gcmi["status"] == auto["status"] == "ok"
    assert '"transform":"copula"' in gcmi["config"].replace(" ", "")
    task = sweep.get_task("1v1-normal-0.75")
    x, y = task.sample(500, seed=sweep._seeds(0)[0])
    assert gcmi["estimate"] == estimate_mi(copula_normalize(x), copula_normalize(y), "cca").mi
    # ranks do not see strictly increasing maps: the estimate is the same number
    a = estimate_mi(x, y, "ksg", transform="copula")
    b = estimate_mi(np.exp(x), y ** 3 + y, "ksg", transform="copula")
    assert a.mi == b.mi and a.config["transform"] == "copula"
    with pytest.raises(ValueError, match="unknown transform 'rank'.*copula"):
        estimate_mi(x, y, "ksg", transform="rank")


def test_the_old_module_paths_still_expose_their_public_names():
    """evaluation, executors, report and cli moved into mi_estimators.bench; the old modules
    re-export their public names (the same objects) so existing imports keep working."""
    import importlib

    from mi_estimators import bench

    old = {
        "mi_estimators.evaluation": [
            "SCHEMA_VERSION", "TIMING_COLUMNS", "RESULT_COLUMNS", "SUMMARY_COLUMNS", "Job", "make_grid",
            "run_job", "run_sweep", "load_runs", "write_results_csv", "read_results_csv", "score",
            "SweepConfig", "load_config", "parse_config", "atomic_write_text", "check_estimator_options",
            "get_task", "run_staircase", "write_staircase_csv", "validate_theory"],
        "mi_estimators.executors": ["Executor", "SerialExecutor", "LocalExecutor", "DaskExecutor",
                                    "get_executor", "limit_threads"],
        "mi_estimators.report": ["format_table", "write_summary_csv", "plot_bias_variance",
                                 "plot_estimate_vs_truth", "plot_error_vs_n", "plot_staircase", "write_report"],
        "mi_estimators.cli": ["main", "build_parser", "DEMO_CONFIG", "parse_columns", "read_table"],
    }
    homes = [importlib.import_module(f"mi_estimators.bench.{m}")
             for m in ("store", "sweep", "config", "staircase", "checks", "executors", "report", "cli", "files")]
    for module_name, names in old.items():
        module = importlib.import_module(module_name)
        assert sorted(module.__all__) == sorted(names), module_name
        for name in names:
            value = getattr(module, name)
            assert any(getattr(home, name, None) is value for home in homes), f"{module_name}.{name}"
    assert bench.run_sweep is sweep.run_sweep and bench.parse_config is config.parse_config
