"""High-MI tasks (issue 21, item 4): Gaussians at 2-20 nats under warps that ranks cannot undo."""
from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

import synthetic
from synthetic.highmi import HIGHMI_DIMS, HIGHMI_LEVELS, HIGHMI_TASKS, HIGHMI_TWINS, WARPS, HighMI, rotation
from _scripts import load_script


def _closed_form(dim, mi):
    rho = math.sqrt(1.0 - math.exp(-2.0 * mi / dim))
    return -0.5 * dim * math.log(1.0 - rho * rho)


def test_every_default_task_builds_with_the_gaussian_closed_form_truth():
    assert len(HIGHMI_TASKS) == len(set(HIGHMI_TASKS)) == 2 * len(WARPS) * len(HIGHMI_DIMS) * len(HIGHMI_LEVELS) == 84
    assert synthetic.list_tasks("highmi") == HIGHMI_TASKS
    assert not set(HIGHMI_TASKS) & set(synthetic.list_tasks())   # not in the default sweep listing
    for name in HIGHMI_TASKS:
        task = synthetic.get_task(name)
        assert isinstance(task, HighMI) and task.name == name
        assert task.dim_x == task.dim_y == task.base.dim
        assert task.mi == pytest.approx(_closed_form(task.base.dim, float(name.split("mi=")[1].split(",")[0])),
                                        rel=1e-12)
        assert task.mi_stderr == 0.0 and task.phi_mi("kl") == pytest.approx(task.mi, rel=1e-12)
    assert synthetic.get_task("highmi-spiral:dim=5,mi=10").name == "highmi-spiral:dim=5,mi=10,seed=0"


@pytest.mark.parametrize("warp", WARPS)
def test_log_ratio_mean_matches_the_truth(warp):
    """The pointwise log ratio (through the exact inverse) averages to I within 4 standard errors."""
    task = synthetic.get_task(f"highmi-{warp}:dim=5,mi=8,seed=1")
    x, y = task.sample(20000, seed=3)
    lr = task.log_ratio(x, y)
    se = lr.std(ddof=1) / math.sqrt(len(lr))
    assert abs(lr.mean() - task.mi) < 4 * se


@pytest.mark.parametrize("warp", WARPS)
def test_sampling_is_seeded_and_the_warp_is_inverted_exactly(warp):
    task = synthetic.get_task(f"highmi-{warp}:dim=5,mi=16,seed=0")
    x, y = task.sample(500, seed=7)
    x2, y2 = task.sample(500, seed=7)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, task.sample(500, seed=8)[0])
    gx, gy = task.base.sample(500, seed=7)
    ix, iy = task.inverse(x, y)
    np.testing.assert_allclose(ix, gx, atol=1e-7)
    np.testing.assert_allclose(iy, gy, atol=1e-7)
    assert np.abs(x - gx).max() > 0.1   # the warp does move the sample


def test_rotations_are_orthogonal_and_differ_by_side_and_seed():
    q = rotation(5, 0, "x")
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=1e-12)
    assert np.array_equal(q, rotation(5, 0, "x"))
    assert np.abs(q - rotation(5, 0, "y")).max() > 0.1 and np.abs(q - rotation(5, 1, "x")).max() > 0.1
    a, b = (synthetic.get_task(f"highmi-half_cube-rot:dim=5,mi=4,seed={s}") for s in (0, 1))
    assert np.abs(a.sample(100, seed=0)[0] - b.sample(100, seed=0)[0]).max() > 0.1


@pytest.mark.parametrize("warp", WARPS)
def test_ranks_do_not_undo_the_warp(warp):
    """The Gaussian-copula value is right on the Gaussian itself (within 4 of its standard errors)
    and far below the truth on every warp (measured at n = 2000, seed 0: 4.1, 8.6, 8.9 for 10 nats)."""
    from mi_estimators import estimate_mi

    task = synthetic.get_task(f"highmi-{warp}:dim=5,mi=10,seed=0")
    gauss = estimate_mi(*task.base.sample(2000, seed=0), "gaussian-copula")
    assert abs(gauss.mi - task.mi) < 4 * gauss.stderr
    warped = estimate_mi(*task.sample(2000, seed=0), "gaussian-copula")
    assert task.mi - warped.mi > max(0.5, 10 * warped.stderr)


def test_choose_and_report_halves_take_one_of_every_twin_pair():
    choose, report = synthetic.choose_tasks("highmi"), synthetic.report_tasks("highmi")
    assert len(choose) == len(report) == len(HIGHMI_TWINS) == 42 and not set(choose) & set(report)
    assert synthetic.list_tasks("highmi-choose") == choose and synthetic.list_tasks("highmi-report") == report
    key = lambda name: hashlib.sha256(("issue18:" + name).encode()).hexdigest()  # noqa: E731
    for a, b in HIGHMI_TWINS:
        assert a.replace("seed=0", "seed=1") == b
        assert min((a, b), key=key) in choose
    point = lambda name: name.rsplit(",seed=", 1)[0]  # noqa: E731
    assert {point(n) for n in choose} == {point(n) for n in report}


def test_bad_parameters_are_refused_with_the_valid_choices():
    with pytest.raises(ValueError, match="valid choices: spiral, half_cube-rot, normal_cdf-rot"):
        HighMI("cubic-rot", 5, 2.0)
    with pytest.raises(ValueError, match="dim >= 2"):
        synthetic.get_task("highmi-spiral:dim=1,mi=2")
    with pytest.raises(ValueError, match="seed must be an integer"):
        synthetic.get_task("highmi-spiral:dim=5,mi=2,seed=0.5")
    with pytest.raises(ValueError, match="mi must be"):
        synthetic.get_task("highmi-spiral:dim=5,mi=-1")
    with pytest.raises(ValueError, match="missing"):
        synthetic.get_task("highmi-spiral:dim=5")


# --------------------------------------------------------------------------- staircase and configs
def test_staircase_schedule_walks_the_high_mi_levels():
    from mi_estimators.bench.staircase import STAIRCASE_TRANSFORMS, staircase_schedule

    sched = staircase_schedule("highmi-normal_cdf-rot", (2, 20), 3, 5)
    assert [t.name for t in sched.tasks] == ["highmi-normal_cdf-rot:dim=5,mi=2,seed=0",
                                            "highmi-normal_cdf-rot:dim=5,mi=20,seed=0"]
    assert sched.mi_at(0) == pytest.approx(2.0) and sched.mi_at(5) == pytest.approx(20.0)
    assert staircase_schedule("cubic", (2,), 1, 4).tasks[0].name == "cubic-gaussian:dim=4,mi=2"
    with pytest.raises(ValueError, match="valid choices: .*highmi-spiral"):
        staircase_schedule("spiral", (2,), 1, 5)
    from mi_estimators.bench.cli import build_parser

    sub = next(a for a in build_parser()._subparsers._group_actions[0].choices["staircase"]._actions
               if a.dest == "transform")
    assert tuple(sub.choices) == STAIRCASE_TRANSFORMS


def test_run_staircase_trains_on_a_high_mi_warp():
    import torch

    from mi_estimators.bench.staircase import run_staircase

    torch.set_num_threads(1)
    rows = run_staircase(["infonce"], transform="highmi-spiral", levels=(2, 16), steps_per_level=5, dim=5,
                         batch_size=16)
    assert [r["truth"] for r in rows] == [2.0] * 5 + [16.0] * 5
    assert all(math.isfinite(r["estimate"]) and r["transform"] == "highmi-spiral" for r in rows)


@pytest.mark.parametrize("half", ["choose", "report"])
def test_accuracy_configs_hold_exactly_their_half(half):
    from mi_estimators.bench.config import load_config

    from pathlib import Path

    config = load_config(Path(__file__).resolve().parents[1] / "benchmarks" / "configs" / f"highmi_{half}.toml")
    expected = synthetic.choose_tasks("highmi") if half == "choose" else synthetic.report_tasks("highmi")
    assert config.tasks == expected
    assert config.seeds == ([0, 1] if half == "choose" else [2, 3, 4])


# --------------------------------------------------------------------------- the figure and peers scripts
def _script(name):
    return load_script(f"benchmarks/{name}.py")


def test_staircase_script_picks_report_tasks_and_tabulates_runs():
    hs = _script("highmi_staircase")
    report = synthetic.report_tasks("highmi")
    names = [hs.report_task("spiral", 5, m) for m in HIGHMI_LEVELS]
    assert all(n in report and n.startswith("highmi-spiral:dim=5,") for n in names)
    assert set(hs.estimators(None)) >= {"ksg", "gaussian-copula", "cca", "auto", "infonce"}
    row = dict(task=names[0], warp="spiral", dim=5, truth=2.0, label="ksg", estimate=1.5, ci_low=1.4, ci_high=2.1,
               abs_error=0.5, time_s=1.0, status="ok", reported="", warnings="")
    text = hs.table([row, dict(row, label="auto", estimate=math.nan, status="error", abs_error=math.nan)], 5000, 2)
    assert "1.50 (0.50)" in text and "| err |" in text and "| 25% |" in text and "100%" in text


def test_peers_script_tabulates_errors_and_failures():
    import argparse

    pm = _script("peers_minde")
    args = argparse.Namespace(n=5000, seed=2, epochs=60, batch_size=256, lr=1e-3)
    rows = [dict(task="t", label="auto", truth=6.0, estimate=4.0, time_s=10.0, cpu_s=5.0),
            dict(task="t", label="minde", truth=6.0, error="no MINDE environment at /nowhere")]
    text = pm.table(rows, args)
    assert "4.00 (2.00), 10 s / 5 s CPU" in text and "failed (see below)" in text
    assert "`minde` failed on `t`: no MINDE environment at /nowhere" in text


def test_mi_bench_list_shows_the_high_mi_tasks(capsys):
    import json

    from mi_estimators.bench.cli import main

    assert main(["list", "tasks", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["highmi_tasks"] == HIGHMI_TASKS and not set(HIGHMI_TASKS) & set(payload["tasks"])
    assert main(["list", "tasks"]) == 0
    assert "High-MI tasks" in capsys.readouterr().out
