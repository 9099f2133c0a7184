"""benchmarks/bench_flow_vs_torch_mist.py (issue 21): the worker timing our flow step builds the
step as ``flow._fit`` does and returns finite times and a finite loss; the report computes the
ratios against the fastest torch-mist contender (torch-mist itself is not needed here)."""
import math

import pytest
from _scripts import load_script

pytest.importorskip("torch")
pytest.importorskip("synthetic")


def _bench():
    return load_script("benchmarks/bench_flow_vs_torch_mist.py")


def test_flow_worker_runs_two_steps(tmp_path, monkeypatch):
    import torch

    threads = torch.get_num_threads()
    b = _bench()
    # the harness also sets the inter-op pool, which torch refuses once parallel work has run
    monkeypatch.setattr(b.H, "single_thread", lambda: torch.set_num_threads(1))
    try:
        data = b.make_data(tmp_path / "d.npz", n=1000)
        out = b.worker_mie("mie-flow-K2", str(data), steps=2, warmup=1)
    finally:
        torch.set_num_threads(threads)
    assert out["n"] == 2 and out["members"] == 2
    assert math.isfinite(out["median"]) and out["median"] > 0
    assert math.isfinite(out["loss"])


def test_report_ratios_use_the_fastest_torch_mist_contender():
    b = _bench()
    run = lambda ms: {"median": ms, "mean": ms, "p90": ms, "n": 1, "loss": 1.0, "params": 1}  # noqa: E731
    runs = {"mie-flow-K2": [run(20.0)], "mie-flow-K1": [run(11.0)], "tm-ba": [run(4.0)], "tm-gm": [run(2.0)]}
    comb = {n: b.H.combine(r) for n, r in runs.items()}
    _, lines, ratios = b.report(comb, runs)
    assert ratios["fastest"] == "tm-gm"
    assert ratios["per_step"] == pytest.approx(0.1) and ratios["per_member"] == pytest.approx(0.2)
    assert any("NOT met" in line for line in lines)
    runs["tm-gm"][0]["loss"] = math.nan
    with pytest.raises(RuntimeError):
        b.report(comb, runs)
