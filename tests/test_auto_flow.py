"""auto and the flow estimator (issue 21, item 5): the rule's switch, its forced path, and the
interval reconciled with auto's own components."""
import math

import numpy as np
import pytest

from mi_estimators import estimate_mi
from mi_estimators.auto import AutoOptions, reconcile_interval


def test_the_flow_switch_takes_only_its_choices():
    with pytest.raises(ValueError, match="flow.*auto.*off"):
        AutoOptions(flow="always")
    with pytest.raises(ValueError, match="force"):
        AutoOptions(force="flows")


def test_a_lower_component_above_the_interval_widens_it_and_says_so():
    comps = {"gcmi": dict(mi=2.0, stderr=0.05), "infonce": dict(mi=1.0, stderr=0.05)}
    (lo, hi), caveats = reconcile_interval((0.9, 1.2), "infonce", comps)
    assert lo == 0.9 and hi == pytest.approx(2.1)
    assert len(caveats) == 1 and "Gaussian-copula value (2.000 nats)" in str(caveats[0])


def test_consistent_components_leave_the_interval_alone():
    comps = {"gcmi": dict(mi=1.25, stderr=0.05), "flow": dict(mi=1.1, stderr=0.05, interval=[1.0, 1.3]),
             "copula_test": dict(pvalue=0.0)}
    assert reconcile_interval((0.9, 1.2), "infonce", comps) == ((0.9, 1.2), [])


def test_a_flow_interval_disjoint_from_the_reported_one_is_taken_in():
    comps = {"flow": dict(mi=3.0, stderr=0.1, interval=[2.8, 3.3])}
    (lo, hi), caveats = reconcile_interval((1.0, 1.4), "gcmi", comps)
    assert (lo, hi) == (1.0, 3.3) and "flow estimator (3.000 nats)" in str(caveats[0])


def test_forced_flow_reports_the_flow_and_says_why():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 2))
    y = 0.8 * x + 0.6 * rng.standard_normal((600, 2))
    truth = -2 * 0.5 * math.log(1 - 0.64)
    res = estimate_mi(x, y, force="flow", seed=0, steps=300)
    assert res.details["auto"]["reported"] == "flow" and "forced" in res.details["auto"]["reason"]
    assert "flow" in res.details["auto"]["components"]
    assert res.interval[0] <= res.mi <= res.interval[1]
    assert abs(res.mi - truth) < 4 * res.stderr + 0.1 * truth


def _outcome(mi, pvalue=None, infonce=None):
    from mi_estimators.auto import _Outcome
    from mi_estimators.result import MIResult

    out = _Outcome()
    out.report(MIResult(mi=mi, stderr=0.01, interval=(mi - 0.02, mi + 0.02), per_critic=np.array([mi]),
                        estimator="infonce", target="kl", n_samples=5000, seconds=0.0, config={}), "infonce")
    if pvalue is not None:
        out.components["copula_test"] = dict(pvalue=pvalue)
    if infonce is not None:
        out.components["infonce"] = dict(mi=infonce, stderr=0.01)
    return out


def test_the_flow_runs_at_high_mi_with_a_rejected_copula_or_near_the_ceiling_only():
    from mi_estimators.auto import FLOW_MIN_NATS, _flow_reason
    from mi_estimators.options import TrainOptions

    train = TrainOptions()
    assert "rejects" in _flow_reason(_outcome(FLOW_MIN_NATS + 0.1, 1e-9, 1.0), 5000, train)
    assert "did not run" in _flow_reason(_outcome(FLOW_MIN_NATS + 0.1), 5000, train)
    assert _flow_reason(_outcome(FLOW_MIN_NATS - 0.1, 1e-9, 1.0), 5000, train) is None
    assert _flow_reason(_outcome(3.0, 0.5, 3.0), 5000, train) is None            # copula test passes
    assert _flow_reason(_outcome(4.6, 0.5, 4.6), 5000, train) is None            # ... even near log B
    small_batch = TrainOptions(batch_size=4)                                       # log 4 = 1.39
    assert "ceiling" in _flow_reason(_outcome(1.2, 1e-9, 1.2), 5000, small_batch)


def test_small_n_with_a_rejected_copula_warns_that_the_value_is_likely_low():
    from synthetic import get_task

    task = get_task("highmi-spiral:dim=5,mi=2,seed=0")
    x, y = task.sample(600, seed=0)
    res = estimate_mi(x, y, seed=0, steps=60, hidden=(32,), n_critics=1)
    assert res.details["auto"]["components"]["copula_test"]["pvalue"] < 0.01
    assert any("likely a lower estimate" in str(w) for w in res.warnings), res.warnings


def test_a_flow_whose_readouts_disagree_is_not_trusted():
    from mi_estimators.flow import readouts_disagree

    assert readouts_disagree(2.03, 1.44) and readouts_disagree(0.5, 0.35)
    assert not readouts_disagree(5.0, 4.6) and not readouts_disagree(0.5, 0.45)
