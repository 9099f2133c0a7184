"""Discrete and mixed-data estimators (mi_estimators.discrete): exact values on hand-computed
tables, the [0, min H] bounds, the entropy bias correction, mixed KSG against numerical truths,
the public API, and clear errors on bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import digamma
from scipy.stats import norm

from mi_estimators import estimate_mi
from mi_estimators.discrete import (
    discrete_cmi,
    discrete_columns,
    discrete_mi,
    encode_rows,
    entropy_discrete,
    mixed_ksg_cmi,
    mixed_ksg_mi,
)

LOG2 = math.log(2.0)


def _plugin(counts):
    p = np.asarray(counts, float) / np.sum(counts)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


# --------------------------------------------------------------------------- helpers
def test_discrete_columns_and_encode_rows():
    rng = np.random.default_rng(0)
    n = 400
    a = np.c_[rng.integers(0, 5, n), rng.standard_normal(n), np.full(n, 2.0), rng.integers(0, 1000, n),
              rng.integers(0, 5, n) + 0.5]
    assert discrete_columns(a).tolist() == [True, False, True, False, False]
    assert discrete_columns(a, max_levels=2000).tolist() == [True, False, True, True, False]
    codes, m = encode_rows(np.array([[0, 1], [0, 1], [1, 0], [0, 0]]))
    assert m == 3 and codes[0] == codes[1] and len(set(codes.tolist())) == 3
    assert encode_rows(np.array([5.0, 7.0, 5.0]))[1] == 2


def test_entropy_corrections_on_a_hand_computed_table():
    codes = np.repeat([0, 1, 2], [5, 3, 2])       # counts 5, 3, 2; n = 10
    h = _plugin([5, 3, 2])
    assert entropy_discrete(codes, "none") == pytest.approx(h, abs=1e-12)
    assert entropy_discrete(codes, "miller-madow") == pytest.approx(h + 2 / 20, abs=1e-12)
    g = [digamma(c) + 0.5 * (-1) ** c * (digamma((c + 1) / 2) - digamma(c / 2)) for c in (5, 3, 2)]
    assert entropy_discrete(codes, "grassberger") == pytest.approx(math.log(10) - (5 * g[0] + 3 * g[1] + 2 * g[2]) / 10)
    assert entropy_discrete(codes) == entropy_discrete(codes, "miller-madow")   # the default
    with pytest.raises(ValueError, match="did you mean 'grassberger'"):
        entropy_discrete(codes, "grassberg")


def test_corrected_entropy_is_less_biased_than_the_plugin():
    # 20 equiprobable levels, n = 100: plug-in bias ~ -0.10 nats (seeded simulation)
    rng = np.random.default_rng(1)
    m, n, reps = 20, 100, 400
    truth = math.log(m)
    samples = rng.integers(0, m, (reps, n))
    for corr in ("miller-madow", "grassberger"):
        err_plug = np.array([entropy_discrete(s, "none") for s in samples]) - truth
        err_corr = np.array([entropy_discrete(s, corr) for s in samples]) - truth
        se = math.hypot(err_plug.std(), err_corr.std()) / math.sqrt(reps)
        assert abs(err_corr.mean()) + 4 * se < abs(err_plug.mean()), (corr, err_plug.mean(), err_corr.mean(), se)


# --------------------------------------------------------------------------- discrete MI
def test_discrete_mi_exact_on_a_2x2_table():
    # joint counts [[3, 1], [1, 3]], n = 8
    x = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    raw = 2 * LOG2 - _plugin([3, 1, 1, 3])
    out = discrete_mi(x, y, correction="none")
    assert out["mi"] == pytest.approx(raw, abs=1e-12)
    d = out["details"]
    assert d["mi_raw"] == pytest.approx(raw, abs=1e-12)
    assert (d["levels_x"], d["levels_y"], d["levels_xy"]) == (2, 2, 4)
    assert d["h_x"] == pytest.approx(LOG2) and d["h_xy"] == pytest.approx(_plugin([3, 1, 1, 3]))
    # Miller-Madow: (mx - 1 + my - 1 - (mxy - 1)) / (2n) = -1/16
    mm = discrete_mi(x, y)
    assert mm["details"]["mi_corrected"] == pytest.approx(raw - 1 / 16, abs=1e-12)
    assert mm["details"]["mi_raw"] == pytest.approx(raw, abs=1e-12)
    assert mm["mi"] == pytest.approx(max(raw - 1 / 16, 0.0), abs=1e-12)
    # delta-method term: sd of log p(x,y)/(p(x)p(y)) over sqrt(n)
    phi = np.where(x == y, math.log((3 / 8) / 0.25), math.log((1 / 8) / 0.25))
    assert mm["details"]["stderr_delta"] == pytest.approx(phi.std(ddof=1) / math.sqrt(8))
    assert mm["stderr"] == pytest.approx(math.hypot(phi.std(ddof=1) / math.sqrt(8), math.sqrt(2) / 16))


def test_multi_column_x_is_one_joint_variable():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    y = a ^ b                           # XOR: zero MI with each column, log 2 with both
    joint = discrete_mi(np.c_[a, b], y, correction="none")
    assert joint["details"]["mi_raw"] == pytest.approx(entropy_discrete(y, "none"), abs=1e-12)
    assert discrete_mi(a, y)["mi"] < 0.01


def test_perfect_dependence_with_a_binary_label_never_exceeds_log2():
    rng = np.random.default_rng(3)
    label = rng.integers(0, 2, 300)
    for x in (label, 7 * label - 3, label * 5 + rng.integers(0, 5, 300)):   # y a function of x
        out = discrete_mi(x, label)
        lo, hi = out["details"]["interval"]
        assert 0 <= lo <= out["mi"] <= hi <= LOG2 + 1e-15
        assert out["details"]["bounds"][1] <= LOG2 + 1e-15
        assert out["details"]["mi_corrected"] > LOG2 - 0.05         # the raw value is near log 2
    # balanced labels: Miller-Madow pushes the corrected value above log 2; the clip holds it
    x = np.repeat([0, 1], 50)
    out = discrete_mi(x, x)
    assert out["details"]["mi_corrected"] > LOG2 and out["mi"] == pytest.approx(LOG2)
    assert out["details"]["interval"][1] == pytest.approx(LOG2)


@pytest.mark.parametrize("seed", range(5))
def test_independent_integer_columns_give_a_short_interval_from_zero(seed):
    rng = np.random.default_rng(10 + seed)
    x, y = rng.integers(0, 4, 2000), rng.integers(0, 3, 2000)
    out = discrete_mi(x, y)
    lo, hi = out["details"]["interval"]
    assert lo == 0.0 and 0.0 <= out["mi"] <= hi < 0.01, (out["mi"], lo, hi)
    assert out["details"]["mi_raw"] > 0        # the plug-in alone is biased up


def test_discrete_mi_is_invariant_under_relabelling():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 5, 600)
    y = (x + rng.integers(0, 3, 600)) % 5
    base = discrete_mi(x, y)
    other = discrete_mi(3 * x + 7, y * 1e8 - 2)
    assert other["mi"] == base["mi"] and other["stderr"] == base["stderr"]


def test_dependent_table_is_close_to_the_truth():
    # Y = X + noise mod 3, noise 0 w.p. 0.7 else 1 or 2: I = log 3 - H(0.7, 0.15, 0.15)
    rng = np.random.default_rng(5)
    n = 5000
    x = rng.integers(0, 3, n)
    y = (x + (rng.random(n) < 0.3) * rng.integers(1, 3, n)) % 3
    truth = math.log(3) - _plugin([0.7, 0.15, 0.15])
    out = discrete_mi(x, y)
    assert abs(out["mi"] - truth) < 4 * out["stderr"], (out["mi"], truth, out["stderr"])


def test_discrete_cmi():
    rng = np.random.default_rng(6)
    n = 4000
    z = rng.integers(0, 3, n)
    x = (z + (rng.random(n) < 0.2)) % 3
    y = (z + (rng.random(n) < 0.2)) % 3           # X independent of Y given Z
    out = discrete_cmi(x, y, z)
    assert out["details"]["interval"][0] == 0.0 and out["details"]["interval"][1] < 0.01
    assert discrete_mi(x, y)["mi"] > 0.2          # but dependent marginally
    # Y = X: I(X; Y | Z) = H(X | Z) = H(0.8, 0.2), within the clip
    full = discrete_cmi(x, x, z, correction="none")
    assert full["details"]["mi_raw"] == pytest.approx(full["details"]["h_x_given_z"], abs=1e-12)
    assert abs(full["mi"] - _plugin([0.8, 0.2])) < 4 * full["stderr"] + 0.01
    assert full["mi"] <= full["details"]["bounds"][1]


# --------------------------------------------------------------------------- mixed KSG
def _mixture_truth(levels: int, sigma: float) -> float:
    """I(X; Y), X uniform on 0..K-1, Y | X ~ N(X, σ²): H(Y) by quadrature minus ½ log(2πeσ²)."""
    grid = np.linspace(-8 * sigma, levels - 1 + 8 * sigma, 200_001)
    f = sum(norm.pdf(grid, k, sigma) for k in range(levels)) / levels
    h_y = -np.trapezoid(f * np.log(np.maximum(f, 1e-300)), grid)
    return float(h_y - 0.5 * math.log(2 * math.pi * math.e * sigma**2))


@pytest.mark.parametrize("levels,sigma", [(4, 0.7), (2, 0.5)])
def test_mixed_ksg_on_a_discrete_continuous_pair_with_known_mi(levels, sigma):
    rng = np.random.default_rng(7)
    n = 4000
    x = rng.integers(0, levels, n).astype(float)
    y = x + sigma * rng.standard_normal(n)
    truth = _mixture_truth(levels, sigma)
    out = mixed_ksg_mi(x, y, seed=1)
    assert abs(out["mi"] - truth) < 4 * out["stderr"], (out["mi"], truth, out["stderr"])
    assert out["details"]["n_blocks"] == 10 and out["stderr"] < 0.03
    # Algorithm 1 as printed (log terms) is biased down at fixed k (documented)
    assert mixed_ksg_mi(x, y, formula="paper")["mi"] < truth - 0.1


def test_mixed_ksg_on_a_zero_inflated_gaussian():
    # Y = 0 w.p. π (independent of X), else X + σε: I = (1 - π) · ½ log(1 + 1/σ²)
    rng = np.random.default_rng(8)
    n, pi, sigma = 4000, 0.3, 0.5
    x = rng.standard_normal(n)
    y = np.where(rng.random(n) < pi, 0.0, x + sigma * rng.standard_normal(n))
    truth = (1 - pi) * 0.5 * math.log(1 + 1 / sigma**2)
    out = mixed_ksg_mi(x, y, seed=2)
    assert abs(out["mi"] - truth) < 4 * out["stderr"], (out["mi"], truth, out["stderr"])


def test_mixed_ksg_on_discrete_data_is_close_to_the_plugin():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 3, 3000)
    y = (x + (rng.random(3000) < 0.3) * rng.integers(1, 3, 3000)) % 3
    plug = discrete_mi(x, y)
    out = mixed_ksg_mi(x, y)
    assert out["details"]["tied_points"] == 3000
    assert abs(out["mi"] - plug["mi"]) < 0.02


def test_mixed_ksg_cmi_is_near_zero_under_conditional_independence():
    rng = np.random.default_rng(11)
    n = 3000
    z = rng.integers(0, 3, n).astype(float)
    x = z + rng.standard_normal(n)
    y = z + rng.standard_normal(n)
    out = mixed_ksg_cmi(x, y, z)
    assert abs(out["mi"]) < 4 * out["stderr"] + 0.01, out
    dep = mixed_ksg_cmi(x, x + 0.5 * rng.standard_normal(n), z)
    assert dep["mi"] > 0.3


# --------------------------------------------------------------------------- public API
def test_estimate_mi_discrete_and_mixed_ksg():
    rng = np.random.default_rng(12)
    x = rng.integers(0, 3, 1000)
    y = (x + (rng.random(1000) < 0.3)) % 3
    res = estimate_mi(x, y, "discrete", correction="grassberger")
    assert res.estimator == "discrete" and res.details["correction"] == "grassberger"
    lo, hi = res.details["interval"]
    assert 0 <= lo <= res.mi <= hi <= min(res.details["h_x"], res.details["h_y"])
    res2 = estimate_mi(x.astype(float), y + 0.1 * rng.standard_normal(1000), "mixed-ksg", k=4, seed=3)
    assert res2.estimator == "mixed-ksg" and res2.details["k"] == 4 and math.isfinite(res2.mi)
    with pytest.raises(ValueError, match="valid choices: correction, max_levels"):
        estimate_mi(x, y, "discrete", k=3)


def test_bad_input_names_the_column():
    rng = np.random.default_rng(13)
    x = np.c_[rng.integers(0, 3, 200), rng.standard_normal(200)]
    y = rng.integers(0, 2, 200)
    with pytest.raises(ValueError, match=r"column 1 of x is not discrete: it holds non-integer values"):
        estimate_mi(x, y, "discrete")
    with pytest.raises(ValueError, match=r"column\(s\) \[0\] of y are constant"):
        estimate_mi(x[:, :1], np.full(200, 4.0), "discrete")
    with pytest.raises(ValueError, match=r"column 0 of x is not discrete: 150 distinct integer values"):
        discrete_mi(rng.permutation(200) % 150, y)
    assert discrete_mi(rng.permutation(200) % 150, y, max_levels=200)["mi"] >= 0
    with pytest.raises(ValueError, match="too few samples"):
        mixed_ksg_mi(rng.standard_normal(30), rng.standard_normal(30))


def test_an_undersampled_joint_table_warns_instead_of_reporting_a_tight_wrong_interval():
    """Three independent 5-level pairs at n = 1000: 847 of up to 15,625 joint cells seen; the
    plug-in is ~1.4 nats high. The estimate must say so (result.warnings), not stay silent."""
    import synthetic
    from mi_estimators import estimate_mi

    task = synthetic.get_task("discrete-pairs:pairs=3,k=5,seed=3")
    x, y = task.sample(1000, seed=0)
    with pytest.warns(UserWarning, match="undersampled"):
        res = estimate_mi(x, y)
    assert res.details["auto"]["method"] == "discrete" and any("undersampled" in w for w in res.warnings)
    assert not res.interval[0] <= task.mi <= res.interval[1]          # the miss the warning is about
    # well sampled (5 x 5 levels, n = 5000): no warning, and the interval covers the truth
    good = synthetic.get_task("discrete:kx=5,ky=5,seed=1")
    gx, gy = good.sample(5000, seed=0)
    ok = estimate_mi(gx, gy)
    assert ok.warnings == [] and ok.interval[0] <= good.mi <= ok.interval[1]


def test_pandas_categoricals_and_text_columns_with_a_flag_are_discrete_variables(tmp_path, capsys):
    import json

    import pandas as pd

    from mi_estimators import estimate_mi
    from mi_estimators.bench.cli import main

    rng = np.random.default_rng(4)
    colour = rng.choice(["red", "green", "blue"], 600)
    size = np.where(rng.random(600) < 0.8, colour, rng.choice(["red", "green", "blue"], 600))
    frame = pd.DataFrame({"colour": pd.Categorical(colour), "size": pd.Categorical(size)})
    res = estimate_mi(frame[["colour"]], frame["size"])
    assert res.details["auto"]["method"] == "discrete" and 0 < res.mi <= math.log(3)
    path = tmp_path / "labels.csv"
    pd.DataFrame({"colour": colour, "size": size}).to_csv(path, index=False)
    assert main(["estimate", str(path), "--x", "colour", "--y", "size", "--categorical", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mi"] == pytest.approx(res.mi)
    assert main(["estimate", str(path), "--x", "colour", "--y", "size"]) == 2      # text without the flag
    assert "not numeric" in capsys.readouterr().err


def test_mixed_ksg_warns_on_point_masses_in_continuous_columns_but_not_on_discrete_ones():
    import warnings as _w

    import synthetic
    from mi_estimators import estimate_mi

    with _w.catch_warnings():
        _w.simplefilter("ignore")
        zx, zy = synthetic.get_task("zero-inflated:p=0.1,rho=0.9").sample(2000, seed=0)
        assert any("point mass" in m for m in estimate_mi(zx, zy, "mixed-ksg").warnings)
        mx, my = synthetic.get_task("mixed:k=5,sigma=0.3").sample(2000, seed=0)
        assert estimate_mi(mx, my, "mixed-ksg").warnings == []
