"""Registry, the Beyond-Normal suite's published ground truths, and every listed task's
log_ratio averaging to its stated MI."""
import math
import subprocess
import sys

import numpy as np
import pytest

import synthetic
from synthetic import _montecarlo
from synthetic.beyond_normal import MIXTURE_TASKS, STANDARD_TASKS, published_truth
from synthetic.precompute import _mc_core

PUBLISHED_MC_STDERR = 0.004  # bmi: 100k draws, stated standard error 0.002-0.004
ROUNDING = 5e-5              # published values have 4 decimals


def test_suite_has_the_40_standard_and_9_mixture_ids_of_the_published_table():
    assert len(STANDARD_TASKS) == 40 and len(MIXTURE_TASKS) == 9
    assert list(published_truth()) == synthetic.list_tasks("beyond-normal")


@pytest.mark.parametrize("name", list(STANDARD_TASKS))
def test_closed_form_truth_equals_published_value(name):
    task = synthetic.get_task(name)
    assert task.name == name and task.mi_stderr == 0
    assert task.mi == pytest.approx(published_truth()[name], abs=ROUNDING)


@pytest.mark.parametrize("name", list(MIXTURE_TASKS))
def test_monte_carlo_truth_agrees_with_published_value_within_combined_error(name):
    task = synthetic.get_task(name)
    assert task.name == name and 0 < task.mi_stderr <= 0.002
    tol = 4 * math.hypot(task.mi_stderr, PUBLISHED_MC_STDERR) + ROUNDING
    assert abs(task.mi - published_truth()[name]) < tol


def test_brief_examples():
    get = synthetic.get_task
    assert get("multinormal-dense-5-5-0.5").mi == pytest.approx(0.5928, abs=ROUNDING)
    assert get("multinormal-sparse-2-2-2-2.0").mi == pytest.approx(1.0217, abs=ROUNDING)
    assert get("student-identity-1-1-1").mi == pytest.approx(0.2242, abs=ROUNDING)
    ai = get("1v1-AI")
    assert abs(ai.mi - 0.778) < 4 * math.hypot(ai.mi_stderr, PUBLISHED_MC_STDERR) + 5e-4


def test_every_listed_monte_carlo_task_reads_the_shipped_table(monkeypatch):
    monkeypatch.setattr(_montecarlo, "monte_carlo_mi", lambda *a, **k: pytest.fail("sampled"))
    table = _montecarlo.shipped_mc_truth()
    for name in synthetic.list_tasks():
        core = _mc_core(synthetic.registry._build(name))
        if core is not None:
            assert (core.name, core.mc_seed) in table, core.name
            assert core.mi == table[(core.name, core.mc_seed)][0]


@pytest.mark.parametrize("name", synthetic.list_tasks())
def test_log_ratio_averages_to_the_stated_mi_on_fresh_joint_samples(name):
    task = synthetic.get_task(name)
    x, y = task.sample(20_000, seed=12345)
    assert x.shape == (20_000, task.dim_x) and y.shape == (20_000, task.dim_y)
    assert x.dtype == y.dtype == np.float64
    lr = task.log_ratio(x, y)
    assert np.all(np.isfinite(lr))
    se = lr.std() / math.sqrt(lr.size)
    assert abs(lr.mean() - task.mi) < 4 * math.hypot(se, task.mi_stderr)
    scores = task.log_ratio(x[:16, None], y[None, :16])
    np.testing.assert_allclose(np.diag(scores), lr[:16], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", synthetic.list_tasks())
def test_task_names_round_trip_and_sampling_is_seeded(name):
    task = synthetic.get_task(name)
    assert synthetic.get_task(task.name).name == task.name
    assert synthetic.get_task(name) is task  # cached per process
    a, b = task.sample(5, seed=3), task.sample(5, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize(("name", "mi"), [
    ("gaussian:dim=5,mi=2", 2.0),
    ("gaussian:dim=2,rho=0.5", -math.log(0.75)),
    ("cubic-gaussian:dim=20,mi=4", 4.0),
    ("multinormal-dense-4-4-0.3", None),
    ("student:dim_x=2,dim_y=3,df=4", None),
    ("asinh-student-identity-4-4-5", None),
    ("additive:epsilon=0.2", 0.2 - math.log(0.4)),
    ("1v1-normal-0.5", -0.5 * math.log(0.75)),
])
def test_parametrised_names_build_the_stated_task(name, mi):
    task = synthetic.get_task(name)
    if mi is not None:
        assert task.mi == pytest.approx(mi, rel=1e-12)
    assert math.isfinite(task.mi)


@pytest.mark.parametrize(("name", "match"), [
    ("gausian:dim=5,mi=2", "unknown task.*did you mean.*families"),
    ("nonsense", "unknown task.*families: gaussian"),
    ("gaussian:dim=5", "exactly one of rho"),
    ("gaussian:dim=5,rho=1.5", "rho must lie"),
    ("gaussian:dim=5,mi=2,foo=1", "unknown \\['foo'\\]"),
    ("gaussian:dim=5,mi=two", "must be a number"),
    ("cubic-nonsense", "unknown task"),
    ("", "non-empty"),
])
def test_bad_names_raise_value_error(name, match):
    with pytest.raises(ValueError, match=match):
        synthetic.get_task(name)
    with pytest.raises(ValueError, match="valid choices"):
        synthetic.list_tasks("nope")


def test_import_and_listing_are_fast_and_compute_nothing():
    code = ("import sys, time; t = time.process_time(); import synthetic; "
            "names = synthetic.list_tasks(); dt = time.process_time() - t; "
            "heavy = [m for m in ('scipy.integrate', 'scipy.stats', 'mi_estimators', 'torch') "
            "if m in sys.modules]; print(dt, len(names), heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dt, count, heavy = out.stdout.split(maxsplit=2)
    assert float(dt) < 1.0 and int(count) == 83 and heavy.strip() == "[]"
