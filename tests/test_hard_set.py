"""The hard set of issue 19 (``benchmarks/hard_set.py``) stays what its table claims: at least 60
runs, each on a task with an exact truth, covering the five groups; and its judge counts a
silent miss exactly as the issue defines it (an interval that excludes the truth by more than
10 % of it, with ``result.warnings`` empty)."""
from _scripts import load_script


def _hard_set():
    return load_script("benchmarks/hard_set.py")


HS = _hard_set()


def test_the_set_has_60_runs_with_exact_truths_in_every_group():
    from mi_estimators.bench.sweep import get_task

    cases = HS.cases()
    assert len(cases) >= 60 and len({c["id"] for c in cases}) == len(cases)
    assert {c["group"] for c in cases} == {"mix", "small-n", "spiral-hd", "discrete-mixed", "heavy-tails"}
    assert max(c["cond"] or 0 for c in cases) >= 1e4 and min(c["n"] for c in cases if c["group"] == "small-n") <= 200
    for task in {c["task"] for c in cases}:
        assert (getattr(get_task(task), "mi_stderr", 0.0) or 0.0) < 1e-6, task   # closed form or quadrature


def test_the_judge_follows_the_issues_definition():
    row = dict(status="ok", truth=1.0, estimate=0.8, lo=0.7, hi=0.85, warnings=[])
    assert HS.judge(row) == dict(covered=False, far_miss=True, silent_miss=True, batch_note_only=False)
    assert HS.judge({**row, "hi": 0.95})["far_miss"] is False                  # 5 % short: a near miss
    assert HS.judge({**row, "hi": 1.2})["covered"] is True
    warned = HS.judge({**row, "warnings": ["the joint table is undersampled"]})
    assert warned["far_miss"] and not warned["silent_miss"] and not warned["batch_note_only"]
    note = HS.judge({**row, "warnings": ["batch_size lowered from 128 to 32 to fit n = 500 samples"]})
    assert note["batch_note_only"] and not note["silent_miss"]
    assert not any(HS.judge(dict(status="error", truth=1.0)).values())
