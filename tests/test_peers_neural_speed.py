"""benchmarks/peers_neural_speed.py (issue 20, item 3): torch-mist's split, the ratio table, and the
parent loop's cap (a timed-out contender is recorded as past the cap and not run at larger n), with
fake contenders: no peer environment is needed."""
import json
import subprocess

import pytest
from _scripts import load_script

pytest.importorskip("numpy")
pytest.importorskip("synthetic")


def _bench():
    return load_script("benchmarks/peers_neural_speed.py")


def test_split_matches_heldout_fraction():
    b = _bench()
    assert b.split_rows(1000) == 800
    assert b.split_rows(10_000) == 8000
    assert b.split_rows(3) == 2   # at least one test row


def test_ratios_and_render():
    b = _bench()
    rows = [dict(n=10, name="mie estimate_mi (default)", time_s=2.0, cpu_s=1.0, estimate=1.1, error=0.1),
            dict(n=10, name="mie estimate_mi infonce", time_s=1.0, cpu_s=1.0, estimate=0.9, error=0.1),
            dict(n=10, name="peer", time_s=4.0, cpu_s=3.0, estimate=0.5, error=0.5),
            dict(n=20, name="peer", status="past the cap (killed after 5 s)")]
    rat = {(q["name"], q["ref"]): q for q in b.ratios(rows)}
    assert rat[("peer", "mie estimate_mi (default)")]["wall"] == pytest.approx(2.0)
    assert rat[("peer", "mie estimate_mi infonce")]["cpu"] == pytest.approx(3.0)
    assert ("mie estimate_mi (default)", "mie estimate_mi (default)") not in rat
    text = b.render(rows, [10, 20])
    assert "past the cap" in text and "| peer / infonce | 4x wall, 3x CPU |" in text


def test_cap_stops_a_contender(tmp_path, monkeypatch):
    b = _bench()
    calls = []

    def fake(args, npz):
        def ok(timeout):
            return dict(estimate=1.0, time_s=0.1, cpu_s=0.1)

        def slow(timeout):
            calls.append(npz)
            raise subprocess.TimeoutExpired("peer", timeout)

        return {"mie estimate_mi (default)": ok, "mie estimate_mi infonce": ok, "slow peer": slow}

    monkeypatch.setattr(b, "contenders", fake)
    out = tmp_path / "r.json"
    b.main(["--sizes", "50", "100", "--dim", "2", "--cap", "1", "--json", str(out)])
    rows = json.loads(out.read_text())["rows"]
    slow = [r for r in rows if r["name"] == "slow peer"]
    assert len(calls) == 1 and slow[0]["status"].startswith("past the cap")
    assert slow[1]["status"].startswith("not run")
    assert all(r["error"] == pytest.approx(0.0) for r in rows if r["name"].startswith("mie"))
