"""The mi-bench CLI end to end in a temp folder: files written, exit codes, readable errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mi_estimators.bench import cli
from mi_estimators.bench.config import load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["list", "estimate", "staircase", "run", "report", "validate", "demo"]
TINY = dict(steps=10, hidden=[8], embed_dim=4, batch_size=32, eval_every=5)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_of_every_command_exits_zero_without_importing_torch():
    code = (
        "import sys, contextlib, io\n"
        "from mi_estimators.bench.cli import main\n"
        f"for cmd in {COMMANDS!r} + [None]:\n"
        "    argv = [cmd, '--help'] if cmd else ['--help']\n"
        "    with contextlib.redirect_stdout(io.StringIO()) as buf:\n"
        "        try: main(argv)\n"
        "        except SystemExit as e: assert e.code == 0, (cmd, e.code)\n"
        "    assert 'usage: mi-bench' in buf.getvalue(), cmd\n"
        "assert 'torch' not in sys.modules and 'numpy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    out = subprocess.run([sys.executable, "-m", "mi_estimators", "--help"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert all(c in out for c in COMMANDS)


def test_list_json_has_tasks_estimators_with_targets_and_critics(capsys):
    code, out, _ = run(capsys, "list", "--json")
    data = json.loads(out)
    assert code == 0
    assert "gaussian:dim=20,mi=2" in data["tasks"] and "separable" in data["critics"]
    names = {e["name"] for e in data["estimators"]}
    assert {"infonce", "nwj", "smile", "ksg", "cca"} <= names
    code, out, _ = run(capsys, "list", "estimators")
    assert code == 0 and "infonce" in out and "kl" in out


def test_estimate_npz_json_gives_estimate_stderr_interval_config(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 2))
    y = 0.8 * x + 0.6 * rng.standard_normal((600, 2))
    np.savez(tmp_path / "d.npz", x=x, y=y, z=x[:, 0])
    code, out, _ = run(capsys, "estimate", str(tmp_path / "d.npz"), "-e", "cca", "--json")
    res = json.loads(out)
    assert code == 0
    truth = -np.log(1 - 0.8**2)  # 2 * (-1/2 log(1 - rho^2))
    assert abs(res["estimate"] - truth) < 4 * res["stderr"]
    assert res["units"] == "nats" and len(res["interval"]) == 2 and "config" in res and res["n"] == 600
    code, _, err = run(capsys, "estimate", str(tmp_path / "d.npz"), "--x", "z", "--y", "w", "-e", "cca")
    assert code == 2 and "no array 'w'" in err and "x, y, z" in err


def test_estimate_csv_column_groups_and_readable_errors(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 2))
    y = x + rng.standard_normal((400, 2))
    lines = ["a,b,c,d,label"] + [f"{r[0]},{r[1]},{r[2]},{r[3]},k{i % 3}" for i, r in enumerate(np.hstack([x, y]))]
    good = tmp_path / "d.csv"
    good.write_text("\n".join(lines) + "\n")
    code, out, _ = run(capsys, "estimate", str(good), "--x", "a,b", "--y", "2:4", "-e", "cca")
    assert code == 0 and "nats" in out
    code, out2, _ = run(capsys, "estimate", str(good), "--x", "0-1", "--y", "c,d", "-e", "cca")
    assert out2 == out  # ranges and names select the same columns
    bad_nan = tmp_path / "nan.csv"
    bad_nan.write_text("\n".join(lines[:5] + [lines[5].replace(lines[5].split(",")[1], "nan", 1)] + lines[6:]) + "\n")
    cases = [
        ((str(tmp_path / "missing.csv"), "--x", "a", "--y", "b"), "does not exist"),
        ((str(good), "--x", "a,zz", "--y", "c"), "no column 'zz'.*a, b, c, d, label"),
        ((str(good), "--x", "a", "--y", "label"), "column 'label' is not numeric"),
        ((str(bad_nan), "--x", "a,b", "--y", "c,d"), "column 'b' has a missing value \\(NaN\\) at line 6"),
        ((str(good),), "choose them with --x COLS --y COLS"),
        ((str(good), "--x", "a", "--y", "c", "-e", "infonse"), "unknown estimator 'infonse'"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, "estimate", *argv, "-e", "cca") if "-e" not in argv else run(capsys, "estimate", *argv)
        assert code == 2, argv
        assert err.startswith("mi-bench estimate: error:") and "Traceback" not in err
        import re
        assert re.search(message, err), (message, err)


def test_estimate_parquet(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    x = rng.standard_normal(300)
    pq.write_table(pa.table({"u": x, "v": x + rng.standard_normal(300)}), tmp_path / "d.parquet")
    code, out, _ = run(capsys, "estimate", str(tmp_path / "d.parquet"), "-e", "cca", "--json")
    assert code == 0 and json.loads(out)["n"] == 300


def _write_config(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def test_run_then_report_writes_results_and_plots(tmp_path, capsys):
    cfg = _write_config(tmp_path / "c.toml", """
name = "t"
tasks = ["gaussian:dim=2,mi=0.5"]
estimators = ["cca", {name = "ksg", label = "ksg-5", k = 5}]
seeds = 2
n = [200, 400]
""")
    out_dir = tmp_path / "res"
    code, out, _ = run(capsys, "run", str(cfg), "--out", str(out_dir), "--executor", "serial", "-q")
    assert code == 0 and "nats" in out and "ksg-5" in out
    assert len(list((out_dir / "runs").glob("*.json"))) == 8
    assert len((out_dir / "results.csv").read_text().splitlines()) == 9
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["config"]["name"] == "t"
    code, out, _ = run(capsys, "report", str(out_dir), "--format", "html")
    assert code == 0 and (out_dir / "report" / "report.html").exists()
    assert (out_dir / "report" / "error_vs_n.png").stat().st_size > 10_000


@pytest.mark.parametrize("body, message", [
    ('tasks = ["gaussian:dim=2,mi=0.5"]\nestimators = ["cca"]\nseed = 3\n', "unknown key 'seed'.*valid keys are"),
    ('tasks = ["gaussian:dim=2,mi=0.5"]\nestimators = ["infonse"]\n', "unknown estimator 'infonse'"),
    ('tasks = ["gausian:dim=2,mi=0.5"]\nestimators = ["cca"]\n', "unknown task 'gausian:dim=2,mi=0.5'"),
    ('tasks = "gaussian:dim=2,mi=0.5"\nestimators = ["cca"]\n', "tasks must be a non-empty list"),
    ('tasks = [\n', "not valid TOML"),
])
def test_bad_config_exits_2_with_a_readable_message(tmp_path, capsys, body, message):
    import re

    cfg = _write_config(tmp_path / "bad.toml", body)
    code, out, err = run(capsys, "run", str(cfg), "--out", str(tmp_path / "o"), "--executor", "serial")
    assert code == 2 and "Traceback" not in err and re.search(message, err), err
    assert not (tmp_path / "o").exists()  # validated before any work


def test_run_missing_config_file_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, "run", str(tmp_path / "nope.toml"))
    assert code == 2 and "does not exist" in err


def test_staircase_writes_csv_and_plot(tmp_path, capsys):
    out_dir = tmp_path / "st"
    code, out, _ = run(capsys, "staircase", "--levels", "1,2", "--steps-per-level", "15", "--dim", "2",
                       "--batch-size", "16", "--estimators", "infonce,smile:tau=5", "--executor", "serial",
                       "--transform", "cubic", "--out", str(out_dir), "-q")
    assert code == 0 and "truth" in out
    rows = (out_dir / "staircase.csv").read_text().splitlines()
    assert rows[0].startswith("label,estimator,critic,transform,step,level,truth,estimate")
    assert len(rows) == 1 + 2 * 30
    assert (out_dir / "staircase.png").stat().st_size > 10_000
    code, _, err = run(capsys, "staircase", "--estimators", "smile:clip=5", "--out", str(out_dir))
    assert code == 2 and "unknown hyper-parameter" in err
    code, _, err = run(capsys, "staircase", "--device", "tpu", "--out", str(out_dir))
    assert code == 2 and "unknown device 'tpu'" in err


def test_validate_prints_a_pass_fail_table_with_numbers(capsys):
    code, out, _ = run(capsys, "validate", "-q")
    assert "Theory checks" in out and "PASS" in out
    assert "infonce <= its ceiling" in out and "DRO argmin" in out and "DCL gap" in out
    assert code == (1 if "FAIL" in out else 0)
    assert code == 0, out


def test_demo_writes_table_csv_and_png(tmp_path, capsys, monkeypatch):
    # The real demo runs minutes; its content is checked against benchmarks/configs/demo.toml below.
    monkeypatch.setattr(cli, "DEMO_CONFIG", {**cli.DEMO_CONFIG, "tasks": ["gaussian:dim=2,mi=0.5"],
                                             "estimators": ["cca", "ksg"], "n": [300]})
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path / "demo"), "--executor", "serial", "-q")
    assert code == 0 and "nats" in out and "wrote:" in out
    for name in ("results/results.csv", "summary.csv", "report.md", "bias_variance.png", "estimate_vs_truth.png"):
        assert (tmp_path / "demo" / name).stat().st_size > 0, name


def test_demo_config_equals_the_shipped_toml_and_every_config_validates():
    assert load_config(ROOT / "benchmarks" / "configs" / "demo.toml").to_dict() == parse_config(cli.DEMO_CONFIG).to_dict()
    for name in ("demo", "small", "staircase_tasks"):  # the configs meant for `mi-bench run`
        assert load_config(ROOT / "benchmarks" / "configs" / f"{name}.toml").jobs(), name


def test_list_does_not_call_summed_per_feature_mi_a_joint_kl_mi():
    from mi_estimators.bench.cli import _describe_estimators

    rows = {r["name"]: r for r in _describe_estimators()}
    assert rows["ksg"]["target"] == "kl"
    assert "not joint" in rows["sklearn-mi"]["target"]


def test_estimate_defaults_to_auto_and_says_which_method_answered(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((800, 1))
    np.savez(tmp_path / "d.npz", x=x, y=x + rng.standard_normal((800, 1)))
    code, out, _ = run(capsys, "estimate", str(tmp_path / "d.npz"))
    assert code == 0 and "I(X; Y) = " in out and "nats" in out
    assert "method: the Gaussian-copula test does not reject" in out
    # a parabola is far from a Gaussian copula: the test rejects and KSG answers
    np.savez(tmp_path / "p.npz", x=x, y=x**2 + 0.3 * rng.standard_normal((800, 1)))
    code, out, _ = run(capsys, "estimate", str(tmp_path / "p.npz"))
    assert code == 0 and "method: d_x + d_y = 2 <= 3: KSG" in out and "Gaussian-copula test rejects" in out
    assert "widened by the calibrated bias allowance of the reported method (ksg" in out


def test_estimate_takes_a_device_and_demo_help_names_auto(tmp_path, capsys):
    import numpy as np

    from mi_estimators.bench.cli import main

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 1))
    np.savetxt(tmp_path / "d.csv", np.hstack([x, x + rng.standard_normal((300, 1))]), delimiter=",",
               header="a,b", comments="")
    assert main(["estimate", str(tmp_path / "d.csv"), "-e", "ksg", "--device", "cuda"]) == 2   # ksg trains nothing
    assert "device" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "auto default" in capsys.readouterr().out
