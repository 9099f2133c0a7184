"""The accuracy benchmark's choose/report split is the documented rule, and the configs follow it."""
from pathlib import Path

import pytest
from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def accuracy():
    return load_script("benchmarks/accuracy.py")


def test_split_alternates_sorted_beyond_normal_ids_into_disjoint_halves(accuracy):
    import synthetic

    choose, report = accuracy.split_tasks()
    ids = sorted(synthetic.list_tasks("beyond-normal"))
    assert len(ids) == 49 and (len(choose), len(report)) == (25, 24)
    assert not set(choose) & set(report) and sorted(choose + report) == ids
    assert choose[0] == ids[0] and report[0] == ids[1]


def test_configs_use_the_split_and_the_seed_halves(accuracy):
    choose, report = accuracy.split_tasks()
    c = accuracy.load(ROOT / "benchmarks/configs/accuracy_choose.toml")
    r = accuracy.load(ROOT / "benchmarks/configs/accuracy_report.toml")
    full = accuracy.load(ROOT / "benchmarks/configs/accuracy_full.toml")
    assert c.tasks == choose and tuple(c.seeds) == accuracy.CHOOSE_SEEDS
    assert r.tasks == report and tuple(r.seeds) == accuracy.REPORT_SEEDS
    assert sorted(full.tasks) == sorted(choose + report) and full.seeds == [0, 1, 2, 3, 4]
    assert c.n == r.n == full.n == [5000]
    assert {"auto", "ksg", "cca", "bn-infonce-concat"} <= {e.get("label", e["name"]) for e in r.estimators}


def test_run_one_applies_the_copula_transform_and_runs_auto(accuracy):
    from mi_estimators.bench.sweep import Job

    rows = [accuracy.run_one(Job("1v1-normal-0.75", name, 600, 0, opts, label))
            for name, opts, label in (("cca", {"transform": "copula"}, "gcmi"), ("auto", {}, "auto"))]
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    assert '"transform":"copula"' in rows[0]["options"] and '"auto_reason"' in rows[1]["config"]


def test_calibration_config_uses_choose_tasks_and_no_report_seed(accuracy):
    choose, report = accuracy.split_tasks()
    cal = accuracy.load(ROOT / "benchmarks/configs/accuracy_calibrate.toml")
    assert cal.tasks == choose and not set(cal.seeds) & set(accuracy.REPORT_SEEDS)


def test_shipped_bias_allowance_is_the_committed_calibration(accuracy):
    import json

    from mi_estimators.auto import BIAS_ALLOWANCE

    cal = json.loads((ROOT / "docs/accuracy/calibration.json").read_text())
    assert set(BIAS_ALLOWANCE) == {k for k in cal if not k.startswith("_")}
    for method, (down, up) in BIAS_ALLOWANCE.items():
        assert (down, up) == pytest.approx((cal[method]["down"], cal[method]["up"])), method
        assert cal[method]["coverage"] >= cal["_meta"]["target"]
    assert set(cal["_meta"]["seeds"]).isdisjoint(accuracy.REPORT_SEEDS)


def test_calibrate_allowance_finds_the_narrowest_covering_fraction(accuracy):
    import json

    import numpy as np

    # 20 runs of a lower estimate that sits 0%, 1%, ..., 19% below the truth (truth 1.0), with a
    # sampling interval of +-0.01: covering 95% (19 of 20) needs est + 0.01 + up * est >= 1 for
    # the 19 smallest shortfalls, i.e. up >= (0.18 - 0.01) / 0.82 = 0.207 -> 0.22 on the grid
    rows = []
    for i in range(20):
        est = 1.0 - i / 100
        rows.append(dict(status="ok", estimate=est, ci_low=est - 0.01, ci_high=est + 0.01, truth=1.0,
                         estimator="auto", config=json.dumps({"auto_details": {"reported": "infonce"}})))
    res = accuracy.calibrate_allowance(rows)["infonce"]
    assert res["down"] == 0.0 and res["up"] == pytest.approx(0.22)
    assert res["coverage"] == pytest.approx(0.95) and res["sampling_coverage"] == pytest.approx(0.10)
    # the sampling interval kept in the details wins over the row's (already widened) interval
    rows = [dict(r, ci_high=r["ci_high"] + 1.0, config=json.dumps({"auto_details": {
        "reported": "infonce", "interval_sampling": [r["ci_low"], r["ci_high"]]}})) for r in rows]
    assert accuracy.calibrate_allowance(rows)["infonce"]["up"] == pytest.approx(0.22)
    assert np.isfinite(res["mean_width"])


@pytest.mark.parametrize("name", ["accuracy_full", "accuracy_report", "accuracy_report_fresh", "accuracy_choose",
                                  "accuracy_calibrate"])
def test_accuracy_configs_are_valid_plain_mi_bench_configs(name):
    # issue 10 asks for the table to run through `mi-bench run` with a committed config:
    # every option (copula transform, auto's options) must pass mi-bench's own validation
    from mi_estimators.bench.config import load_config

    cfg = load_config(ROOT / "benchmarks" / "configs" / f"{name}.toml")
    assert cfg.jobs() and all(j.n == 5000 for j in cfg.jobs())


def _export_rows(name):
    import csv

    rows = []
    for r in csv.DictReader(open(ROOT / "docs" / "accuracy" / f"{name}_runs.csv")):
        for c in ("truth", "estimate", "stderr", "ci_low", "ci_high", "sampling_low", "sampling_high", "time_s"):
            r[c] = float(r[c])
        r["seed"] = int(r["seed"])
        rows.append(r)
    return rows


@pytest.mark.parametrize("name, labels, seeds", [("report", ("auto", "auto-v1", "auto-v2", "auto-v3", "ksg", "cca"), (2, 3, 4)),
                                                  ("fresh", ("auto", "auto-v2", "auto-v3", "ksg", "cca"), (7, 8, 9))])
def test_committed_run_rows_reproduce_the_published_report_numbers(accuracy, name, labels, seeds):
    # docs/accuracy.md quotes report_aggregate.json and fresh_aggregate.json (the report half on
    # fresh seeds); the per-run export must give the same numbers
    import json

    import numpy as np

    agg = json.loads((ROOT / f"docs/accuracy/{name}_aggregate.json").read_text())
    rows = _export_rows(name)
    assert {r["seed"] for r in rows} == set(seeds) and set(labels) <= {r["label"] for r in rows}
    for label in labels:
        rs = [r for r in rows if r["label"] == label and r["status"] == "ok"]
        by_task = {}
        for r in rs:
            by_task.setdefault(r["task"], []).append(abs(r["estimate"] - r["truth"]))
        assert np.mean([np.mean(v) for v in by_task.values()]) == pytest.approx(agg[label]["mean_abs_error"], abs=1e-9)
        cover = np.mean([r["ci_low"] <= r["truth"] <= r["ci_high"] for r in rs])
        assert cover == pytest.approx(agg[label]["coverage"], abs=1e-9), label
    choose, report = accuracy.split_tasks()
    assert {r["task"] for r in rows} == set(report)
    assert accuracy.REPORT_SEEDS == (2, 3, 4)


def test_committed_calibration_rows_reproduce_the_shipped_allowance(accuracy):
    import json

    rows = _export_rows("calibrate")
    recs = [dict(status=r["status"], estimate=r["estimate"], ci_low=r["ci_low"], ci_high=r["ci_high"],
                 truth=r["truth"], estimator=r["estimator"],
                 config=json.dumps({"auto_details": {"reported": r["reported"],
                                                     "interval_sampling": [r["sampling_low"], r["sampling_high"]]}}))
            for r in rows]
    cal = json.loads((ROOT / "docs/accuracy/calibration.json").read_text())
    got = accuracy.calibrate_allowance(recs)
    assert set(got) == {"ksg", "gcmi", "infonce", "gaussian-copula"}
    for method in got:
        assert (got[method]["down"], got[method]["up"]) == pytest.approx((cal[method]["down"], cal[method]["up"]))
    choose, _ = accuracy.split_tasks()
    assert {r["task"] for r in rows} == set(choose)


def test_committed_full_table_rows_reproduce_its_aggregate():
    import json

    import numpy as np

    import synthetic

    agg = json.loads((ROOT / "docs/accuracy/full_aggregate.json").read_text())
    rows = _export_rows("full")
    assert {r["task"] for r in rows} == set(synthetic.list_tasks("beyond-normal"))
    labels = {k for k in agg if not k.startswith("_")}
    assert {r["label"] for r in rows} == labels and len(labels) == 19   # 12 bounds, auto, auto-v2, auto-v3, 4 baselines
    for label in ("auto", "infonce", "ksg", "cca", "bn-infonce-concat"):
        by_task = {}
        for r in rows:
            if r["label"] == label and r["status"] == "ok":
                by_task.setdefault(r["task"], []).append(abs(r["estimate"] - r["truth"]))
        assert np.mean([np.mean(v) for v in by_task.values()]) == pytest.approx(agg[label]["mean_abs_error"], abs=1e-9)
