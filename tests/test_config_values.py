"""`mi-bench run` validates every run's option names AND values before any run starts, and
reports every error at once (issue 19, item 4): bad hyper-parameter values such as k = -1 or
steps = 0 used to pass the up-front check and fail at run time, one at a time."""
import re

import pytest

from mi_estimators.bench import cli
from mi_estimators.bench.config import check_estimator_options, option_errors, parse_config

TASK = "gaussian:dim=1,mi=0.5"

BAD = f"""
name = "bad"
tasks = ["{TASK}", "gausian:dim=1,mi=0.5"]
n = [100, 1000]
seeds = 1
estimators = [
  {{name = "ksg", k = -1}},
  {{name = "ksg", label = "ksg-big", k = 150}},
  {{name = "infonce", steps = 0}},
  {{name = "smile", tau = -5.0}},
  {{name = "auto", force = "kssg"}},
  {{name = "cca", transform = "copulas"}},
  {{name = "discrete", correction = "mm"}},
  "nwj",
]

[options]
batch_size = 1
activation = "relux"
"""

EXPECTED = [
    r"estimators\[0\] \(ksg\): k must be an integer in \[1, 99\].*got -1",
    r"estimators\[1\] \(ksg-big\): k must be .*got 150 \(estimator 'ksg', n = 100\)",
    r"estimators\[2\] \(infonce\): steps must be a positive integer, got 0",
    r"estimators\[3\] \(smile\): tau",
    r"estimators\[4\] \(auto\): unknown force 'kssg' \(did you mean 'ksg'\?\); valid choices: .*neural",
    r"estimators\[5\] \(cca\): unknown transform 'copulas'.*valid choices: copula",
    r"estimators\[6\] \(discrete\): unknown entropy correction 'mm'.*valid choices: .*miller-madow",
    r"options: batch_size must be an integer >= 2, got 1",
    r"options: critic option\(s\) activation: unknown activation 'relux'.*valid choices:",
    r"tasks: unknown task 'gausian:dim=1,mi=0.5'",
]


def test_every_bad_value_is_reported_at_once_each_naming_its_run_and_the_valid_choices():
    import tomllib

    with pytest.raises(ValueError) as info:
        parse_config(tomllib.loads(BAD), source="bad.toml")
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == f"bad.toml: {len(EXPECTED)} errors, nothing was run:", message
    assert len(lines) == 1 + len(EXPECTED), message
    for pattern in EXPECTED:
        assert sum(bool(re.search(pattern, line)) for line in lines[1:]) == 1, (pattern, message)
    # the shared options' errors are listed once, not once per neural estimator
    assert message.count("batch_size must be") == 1


def test_cli_run_lists_every_error_exits_2_and_creates_nothing(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(BAD, encoding="utf-8")
    out = tmp_path / "out"
    code = cli.main(["run", str(cfg), "--out", str(out), "--executor", "serial", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{len(EXPECTED)} errors, nothing was run" in err
    assert all(re.search(p, err) for p in EXPECTED), err
    assert not out.exists()


def test_good_values_pass_and_a_single_error_stays_one_line():
    cfg = parse_config({"tasks": [TASK], "n": [100, 1000], "seeds": 1,
                        "estimators": [{"name": "ksg", "k": 5, "n_blocks": 5}, {"name": "sklearn-mi", "reduce": "max"},
                                       {"name": "infonce", "steps": 5, "activation": "tanh", "hidden": [16]},
                                       {"name": "auto", "force": "ksg", "interval": "sampling"}],
                        "options": {"batch_size": 64, "critic": "joint"}})
    assert len(cfg.jobs()) == 8
    with pytest.raises(ValueError) as info:
        parse_config({"tasks": [TASK], "n": 100, "seeds": 1, "estimators": [{"name": "ksg", "k": 0}]})
    assert "\n" not in str(info.value) and "config: estimators[0] (ksg): k must be" in str(info.value)


def test_value_checks_follow_the_smallest_sample_size_and_the_estimators_own_rules():
    assert option_errors("ksg", {"k": 50}, n=1000) == []
    assert [k for k, _ in option_errors("ksg", {"k": 50}, n=100)] == [("k",)]   # blocks of 10 <= k
    # each bad value of one estimator is its own error; names first, values only when names are known
    keys = [k for k, _ in option_errors("mixed-ksg", {"k": 0, "formula": "x", "workers": 0}, n=200)]
    assert keys == [("k",), ("formula",), ("workers",)]
    assert option_errors("cca", {"kk": 1}, n=100)[0][1].startswith("unknown option 'kk' for estimator 'cca'")
    with pytest.raises(ValueError, match="unknown critic 'sepp'"):
        check_estimator_options("infonce", {"critic": "sepp"})
    with pytest.raises(ValueError, match="'seed' is set by the sweep"):
        check_estimator_options("cca", {"seed": 3})
