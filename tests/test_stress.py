"""Hostile inputs through the public entry points (issue 19, item 6): every call returns a
finite result with an honest interval (finite, 0 <= lo <= estimate <= hi) or raises a
ValueError of ours naming its cause — never NaN, never a traceback from inside torch or numpy.
The CI-sized subset of ``benchmarks/stress.py`` (which runs the full seeded grid)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from mi_estimators import estimate_cmi, estimate_mi, independence_test
from mi_estimators.bench import cli
from _scripts import load_script

ESTIMATORS = ["auto", "ksg", "cca", "gaussian-copula", "sklearn-mi", "discrete", "mixed-ksg", "infonce"]


# --------------------------------------------------------------------------- tiny n
@pytest.mark.parametrize("call", ["mi", "cmi", "test"])
def test_one_row_is_refused_as_one_row_not_as_a_constant_column(call):
    x, y, z = np.ones((1, 2)), np.zeros((1, 1)), np.ones((1, 1))
    fn = {"mi": lambda: estimate_mi(x, y), "cmi": lambda: estimate_cmi(x, y, z), "test": lambda: independence_test(x, y)}
    with pytest.raises(ValueError, match=r"x and y have 1 row \(one sample\).*at least 2 rows") as info:
        fn[call]()
    assert "constant" not in str(info.value)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_a_few_rows_give_each_estimators_own_minimum(estimator):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (3, 1)).astype(float)
    y = (x + rng.integers(0, 2, (3, 1))) % 3
    for n in (1, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = estimate_mi(x[:n], y[:n], estimator)
            except ValueError as err:
                msg = str(err)
                assert "constant" not in msg and "[1, 0]" not in msg, msg
                assert ("1 row" in msg) if n == 1 else ("n = 3" in msg or "3 samples" in msg), msg
                continue
        assert n == 3 and np.isfinite([res.mi, *res.interval]).all() and 0 <= res.interval[0] <= res.mi <= res.interval[1]


@pytest.mark.parametrize("body, pattern", [
    ("a,b\n1.5,2.5\n", r"one.csv has 1 data row\(s\) after the header: .*at least 2 rows"),
    ("a,b\n", r"one.csv has 0 data row\(s\) after the header"),
])
def test_cli_names_a_one_row_file_as_such(tmp_path, capsys, body, pattern):
    import re

    path = tmp_path / "one.csv"
    path.write_text(body, encoding="utf-8")
    code = cli.main(["estimate", str(path), "--x", "a", "--y", "b"])
    err = capsys.readouterr().err
    assert code == 2 and re.search(pattern, err) and "constant" not in err and "Traceback" not in err, err


# --------------------------------------------------------------------------- the stress grid (CI subset)
def _stress():
    return load_script("benchmarks/stress.py")


STRESS = _stress()


@pytest.mark.parametrize("call", STRESS.CALLS)
def test_stress_grid_gives_an_honest_result_or_a_named_refusal(call):
    """Every kind of hostile input (Cauchy tails, ties, discrete, duplicated and constant columns,
    permuted rows, scales 1e-300 / 1e300 / mixed, NaN, inf) on a rotating shape (n from 10 to 300,
    up to 40 x 40): a finite result with 0 <= lo <= estimate <= hi, or a ValueError raised by our
    code whose message matches one of the named causes. Never a crash, NaN or a foreign traceback."""
    import torch

    torch.set_num_threads(1)
    rows = [STRESS.run_one(c, kind, shape, seed=i, timeout_s=60)
            for i, (c, kind, shape) in enumerate(STRESS.grid("ci")) if c == call]
    assert rows
    problems = [r for r in rows if r["outcome"] not in ("result", "refusal")]
    assert not problems, problems
    unnamed = [r["detail"] for r in rows if r["outcome"] == "refusal" and r["cause"] == "other"]
    assert not unnamed, unnamed
    assert any(r["outcome"] == "result" for r in rows), rows
    # NaN / inf input is always refused by the input check, naming the row and column
    for r in rows:
        if r["kind"] in ("nan", "inf"):
            assert r["outcome"] == "refusal" and r["cause"] == "non-finite input", r


def test_stress_checks_catch_what_they_should():
    """The campaign's judge is not vacuous: a NaN result, an interval missing its estimate and a
    ValueError from inside numpy are each flagged."""
    from types import SimpleNamespace as R

    assert STRESS._check("auto", R(mi=float("nan"), interval=(0.0, 1.0))).startswith("non-finite")
    assert "does not hold" in STRESS._check("ksg", R(mi=2.0, interval=(0.0, 1.0)))
    assert "does not hold" in STRESS._check("ksg", R(mi=0.1, interval=(-0.1, 1.0)))
    assert STRESS._check("ksg", R(mi=0.5, interval=(0.0, 1.0))) is None
    try:
        np.linalg.cholesky(-np.eye(2))
    except Exception as exc:  # numpy's LinAlgError is a ValueError subclass raised outside our package
        assert isinstance(exc, ValueError) and not STRESS._ours(exc)


@pytest.mark.parametrize("estimator", ["cca", "gaussian-copula"])
def test_cca_is_scale_free_per_column_and_still_refuses_redundant_columns(estimator):
    """Found by the stress campaign: columns scaled 1e-150 ... 1e150 (each within check_xy's
    1e+-100 rescale band after it) were refused by CCA as 'singular'; CCA is invariant to a
    per-column scale, so it now gives the unscaled value (to round-off)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 5))
    y = 0.8 * x + 0.6 * rng.standard_normal((500, 5))
    plain = estimate_mi(x, y, estimator)
    scaled = estimate_mi(x * np.geomspace(1e-150, 1e150, 5), y * np.geomspace(1e60, 1e-60, 5), estimator)
    assert scaled.mi == pytest.approx(plain.mi, rel=1e-12) and scaled.stderr == pytest.approx(plain.stderr, rel=1e-9)
    for bad in (np.hstack([x, 2.0 * x[:, :1]]), np.hstack([x, np.ones((500, 1))])):
        with pytest.raises(ValueError, match="constant|singular"):
            estimate_mi(bad, y, estimator)


def test_neural_too_few_samples_names_the_n_that_works():
    """The batch is lowered on its own to 16, so the refusal names the n where that fits (it said
    1280, the n for the default batch of 128), and that n does work."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((158, 2))
    y = x + rng.standard_normal((158, 2))
    tiny = dict(steps=5, hidden=(8,), embed_dim=4)
    with pytest.raises(ValueError, match=r"too few samples: n = 157 .*give at least 158 samples"):
        estimate_mi(x[:157], y[:157], "infonce", **tiny)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = estimate_mi(x, y, "infonce", **tiny)
    assert np.isfinite(res.mi) and any("batch_size lowered from 128 to 16" in w for w in res.warnings)
