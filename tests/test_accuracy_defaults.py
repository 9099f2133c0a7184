"""The accuracy benchmark's choose/report split is the documented rule, and the configs follow it."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def accuracy():
    spec = importlib.util.spec_from_file_location("accuracy", ROOT / "benchmarks" / "accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    from mi_estimators.evaluation import Job

    rows = [accuracy.run_one(Job("1v1-normal-0.75", name, 600, 0, opts, label))
            for name, opts, label in (("cca", {"transform": "copula"}, "gcmi"), ("auto", {}, "auto"))]
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    assert '"transform":"copula"' in rows[0]["options"] and '"auto_reason"' in rows[1]["config"]
