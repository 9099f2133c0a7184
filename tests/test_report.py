"""Reports: tables say nats, plots are real non-empty PNGs of the expected size, reports link them."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from mi_estimators.bench import report, store, sweep


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; fails if the file is not a PNG."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def _fake_rows(tasks=("gaussian:dim=2,mi=0.5", "gaussian:dim=5,mi=2"), labels=("a", "b"), sizes=(100, 400)):
    """Rows like run_job's: label 'a' is biased by -20%, 'b' unbiased; noise ~ 1/sqrt(n)."""
    rng = np.random.default_rng(0)
    rows = []
    for t, truth in zip(tasks, (0.5, 2.0)):
        for label in labels:
            for n in sizes:
                for seed in range(4):
                    est = truth * (0.8 if label == "a" else 1.0) + rng.normal() * 3 / np.sqrt(n)
                    job = sweep.Job(t, label, n, seed)
                    rows.append(dict(run_id=job.run_id, task=t, truth=truth, truth_stderr=0.0, dim_x=2, dim_y=2,
                                     estimator=label, label=label, n=n, seed=seed, options="{}", estimate=float(est),
                                     stderr=0.1, ci_low=est - 0.2, ci_high=est + 0.2, status="ok", error="",
                                     config="{}", time_s=0.01))
    rows[0].update(status="error", error="ValueError: boom", estimate=float("nan"))
    return rows


def _results_folder(tmp_path: Path, rows) -> Path:
    folder = tmp_path / "res"
    (folder / "runs").mkdir(parents=True)
    for row in rows:
        store.atomic_write_text(folder / "runs" / f"{row['run_id']}.json", json.dumps(row))
    return folder


def test_table_headers_say_nats_and_list_every_estimator():
    summaries = sweep.score(_fake_rows())
    text = report.format_table(summaries)
    md = report.format_table(summaries, fmt="markdown")
    assert "nats" in text.splitlines()[0] and "nats" in md
    assert md.count("\n| gaussian") == len(summaries)
    assert "(1 failed)" in text
    with pytest.raises(ValueError, match="unknown table format 'html'"):
        report.format_table(summaries, fmt="html")


@pytest.mark.parametrize("plot", ["plot_bias_variance", "plot_estimate_vs_truth", "plot_error_vs_n"])
def test_each_plot_is_a_non_empty_png_of_the_expected_size(tmp_path, plot):
    path = getattr(report, plot)(sweep.score(_fake_rows()), tmp_path / f"{plot}.png")
    width, height = png_size(path)
    assert width >= 400 and height >= 300
    assert path.stat().st_size > 10_000  # axes, markers and text, not a blank canvas


def test_staircase_plot_has_one_panel_per_estimator(tmp_path):
    records = [dict(label=lab, step=s, estimate=min(s / 10, 2 + s // 50), truth=2.0 + 2 * (s // 50))
               for lab in ("infonce", "nwj", "js", "smile") for s in range(100)]
    w1, _ = png_size(report.plot_staircase(records[:100], tmp_path / "one.png", smooth=5))
    w3, _ = png_size(report.plot_staircase(records, tmp_path / "four.png", smooth=5))
    assert w3 > 2 * w1  # a row of three panels (then a second row) versus one


def test_write_report_markdown_and_html_link_existing_plots(tmp_path):
    folder = _results_folder(tmp_path, _fake_rows())
    md = report.write_report(folder)
    text = md.read_text()
    assert "## Summary" in text and "nats" in text and "## Failed runs" in text and "boom" in text
    for png in ("bias_variance.png", "estimate_vs_truth.png", "error_vs_n.png"):
        assert f"]({png})" in text and png_size(md.parent / png)[0] > 0
    assert (md.parent / "summary.csv").read_text().startswith("task,label,estimator,n,truth")
    html = report.write_report(folder, tmp_path / "html", fmt="html")
    body = html.read_text()
    assert body.startswith("<!DOCTYPE html>") and "<table>" in body and '<img src="error_vs_n.png"' in body


def test_write_report_refuses_a_folder_that_is_not_a_results_folder(tmp_path):
    with pytest.raises(ValueError, match="not a results folder"):
        report.write_report(tmp_path)
    (tmp_path / "runs").mkdir()
    with pytest.raises(ValueError, match="no finished runs"):
        report.write_report(tmp_path)
