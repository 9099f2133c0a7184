"""Hostile files and folders: ``mi-bench estimate``, ``run`` and ``report`` validate before any
work starts and fail with exit code 2 and one readable line (never a traceback, never a silent
wrong number); result files are written atomically; nothing loads a pickle; a results folder
from a newer schema version is refused rather than misread.

(The ordinary cases — a missing column, a NaN with its line, a text column, bad TOML — are in
test_cli.py; these are the adversarial ones.)
"""
from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from mi_estimators.bench import cli
from mi_estimators.bench.store import SCHEMA_VERSION, atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
CONFIG = 'name = "h"\ntasks = ["gaussian:dim=1,mi=0.5"]\nestimators = ["cca"]\nseeds = [0, 1]\nn = [64]\n'


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code, err, pattern):
    assert code == 2, f"exit code {code}, stderr: {err}"
    assert "Traceback" not in err and err.count("\n") <= 2, err
    assert re.search(pattern, err), f"{pattern!r} not in {err!r}"


def xy(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    return x, x + rng.standard_normal((n, 2))


def write_csv(path, rows, header="a,b,c,d"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def good_rows(n=200):
    x, y = xy(n)
    return [",".join(repr(float(v)) for v in r) for r in np.hstack([x, y])]


# --------------------------------------------------------------------------- estimate: CSV
@pytest.mark.parametrize("mutate, pattern", [
    (lambda r: r[:40] + ["1,2,3"] + r[41:], r"line 42 has 3 fields, the header has 4"),
    (lambda r: r[:9] + ["1,,3,4"] + r[10:], r"column 'b' has a missing value \(NaN\) at line 11"),
    (lambda r: r[:99] + ["1,2,NA,4"] + r[100:], r"column 'c' has a missing value \(NaN\) at line 101"),
    (lambda r: r[:4] + ["1,2,3,inf"] + r[5:], r"column 'd' has a non-finite value \('inf'\) at line 6"),
    (lambda r: r[:4] + ["1,2,3,1e400"] + r[5:], r"column 'd' has a non-finite value \('1e400'\) at line 6"),
    (lambda r: r[:7] + ["1,2,0x1F,4"] + r[8:], r"column 'c' is not numeric \('0x1F' at line 9\)"),
    (lambda r: [], r"too few samples|at least|empty|no rows|needs n"),
])
def test_estimate_refuses_a_hostile_csv_naming_the_line(tmp_path, capsys, mutate, pattern):
    path = write_csv(tmp_path / "d.csv", mutate(good_rows()))
    code, _, err = run(capsys, "estimate", path, "--x", "a,b", "--y", "c,d", "-e", "cca")
    assert_refused(code, err, pattern)


def test_estimate_refuses_a_binary_file_named_csv(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n" + bytes(range(256)) * 8)
    code, _, err = run(capsys, "estimate", path, "--x", "a", "--y", "b", "-e", "cca")
    assert_refused(code, err, r"d\.csv: not UTF-8 text")


def test_estimate_refuses_an_empty_file_and_a_folder(tmp_path, capsys):
    (tmp_path / "e.csv").write_text("")
    code, _, err = run(capsys, "estimate", tmp_path / "e.csv", "--x", "a", "--y", "b", "-e", "cca")
    assert_refused(code, err, r"empty")
    (tmp_path / "dir.csv").mkdir()
    code, _, err = run(capsys, "estimate", tmp_path / "dir.csv", "--x", "a", "--y", "b", "-e", "cca")
    assert_refused(code, err, r"does not exist|not a file")


def test_estimate_refuses_an_unknown_option_listing_the_valid_ones(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", good_rows())
    code, _, err = run(capsys, "estimate", path, "--x", "a,b", "--y", "c,d", "-e", "cca", "-o", "bias_corection=1")
    assert_refused(code, err, r"bias_corection.*bias_correction")
    code, _, err = run(capsys, "estimate", path, "--x", "a,b", "--y", "c,d", "-o", "stepz=3")
    assert_refused(code, err, r"stepz.*steps")


# --------------------------------------------------------------------------- estimate: NPZ
def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("arrays, pattern", [
    (lambda x, y: dict(x=x, y=y[:-1]), r"same number of samples.*200 and 199"),
    (lambda x, y: dict(x=x[:, :, None], y=y), r"array 'x' must have shape \(n,\) or \(n, d\)"),
    (lambda x, y: dict(x=np.where(np.arange(200)[:, None] == 17, np.nan, x), y=y),
     r"array 'x' has a NaN/inf value at row 17, column 0"),
    (lambda x, y: dict(x=x.astype(str), y=y), r"array 'x' is not numeric"),
    (lambda x, y: dict(x=x > 0, y=y), r"array 'x' is not numeric"),
    (lambda x, y: dict(x=x, z=y), r"no array 'y'.*its arrays are: x, z"),
    (lambda x, y: dict(x=x.astype(np.complex128) + 1j, y=y), r"array 'x' is not numeric real data \(dtype complex128\)"),
])
def test_estimate_refuses_a_hostile_npz(tmp_path, capsys, arrays, pattern):
    x, y = xy()
    path = _npz(tmp_path / "d.npz", **arrays(x, y))
    code, _, err = run(capsys, "estimate", path, "-e", "cca")
    assert_refused(code, err, pattern)


class _Payload:
    """Unpickling this object would create a file (the classic pickle attack)."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_estimate_never_unpickles_an_object_array_in_an_npz(tmp_path, capsys):
    target = tmp_path / "pwned"
    x, y = xy()
    payload = np.empty(200, dtype=object)
    payload[:] = [_Payload(target)] * 200
    path = tmp_path / "evil.npz"
    np.savez(path, x=payload, y=y)
    assert not target.exists()
    code, _, err = run(capsys, "estimate", path, "-e", "cca")
    assert_refused(code, err, r"evil\.npz: array 'x' holds Python objects \(a pickle\), which mi-bench never loads")
    assert not target.exists(), "loading the NPZ executed a pickle payload"


def test_estimate_refuses_garbage_with_an_npz_or_parquet_name(tmp_path, capsys):
    for name in ("g.npz", "g.parquet"):
        (tmp_path / name).write_bytes(b"PK\x03\x04 not really a zip" * 10)
        code, _, err = run(capsys, "estimate", tmp_path / name, "--x", "a", "--y", "b", "-e", "cca")
        assert_refused(code, err, r"cannot read (NPZ|Parquet)")


def test_estimate_refuses_a_parquet_null_and_a_string_column_naming_the_row(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    x, y = xy()
    cols = {k: list(v) for k, v in zip("abcd", np.hstack([x, y]).T)}
    cols["b"][33] = None
    pq.write_table(pa.table(cols), tmp_path / "n.parquet")
    code, _, err = run(capsys, "estimate", tmp_path / "n.parquet", "--x", "a,b", "--y", "c,d", "-e", "cca")
    assert_refused(code, err, r"column 'b' has a missing value \(NaN\) at row 33")
    cols["b"][33] = 0.5
    cols["c"] = [str(v) if i != 5 else "x" for i, v in enumerate(cols["c"])]
    pq.write_table(pa.table(cols), tmp_path / "s.parquet")
    code, _, err = run(capsys, "estimate", tmp_path / "s.parquet", "--x", "a,b", "--y", "c,d", "-e", "cca")
    assert_refused(code, err, r"column 'c' is not numeric \('x' at row 5\)")


# --------------------------------------------------------------------------- run: configs
@pytest.mark.parametrize("body, pattern", [
    (CONFIG + "workers = 2\n", r"unknown key 'workers'; valid keys are"),
    (CONFIG.replace("seeds = [0, 1]", "seeds = [0, -1]"), r"seeds must be a positive int or a list of ints >= 0"),
    (CONFIG.replace("seeds = [0, 1]", "seeds = [true]"), r"seeds must be"),
    (CONFIG.replace("n = [64]", 'n = ["64"]'), r"n must be an int >= 2"),
    (CONFIG.replace("n = [64]", "n = [1.5]"), r"n must be an int >= 2"),
    (CONFIG.replace('estimators = ["cca"]', 'estimators = [{label = "x"}]'), r"needs a 'name' key"),
    (CONFIG.replace('estimators = ["cca"]', 'estimators = [{name = "cca", bias_corection = false}]'),
     r"bias_corection.*bias_correction"),
    (CONFIG.replace('estimators = ["cca"]', 'estimators = [{name = "smile", tau = "5"}]'), r"tau"),
    (CONFIG.replace('estimators = ["cca"]', 'estimators = ["cca", "cca"]'), r"share the label 'cca'"),
    (CONFIG.replace('["cca"]', '["cca", "infonce"]') + '[options]\nstepz = 3\n', r"unknown option 'stepz'.*steps"),
    (CONFIG.replace('name = "h"', "name = 3"), r"name must be a string"),
    ("\x00\x01\x02", r"not valid TOML"),
])
def test_run_refuses_a_hostile_config_before_any_work(tmp_path, capsys, body, pattern):
    cfg = tmp_path / "c.toml"
    cfg.write_text(body, encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = run(capsys, "run", cfg, "--out", out, "--executor", "serial", "-q")
    assert_refused(code, err, pattern)
    assert not out.exists(), "a results folder was created before the config was validated"


def _sweep(tmp_path, capsys, out):
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    return run(capsys, "run", cfg, "--out", out, "--executor", "serial", "-q")


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, "1", None, 1.0])
def test_run_and_report_refuse_a_results_folder_with_a_newer_or_unreadable_schema(tmp_path, capsys, version):
    out = tmp_path / "out"
    code, _, err = _sweep(tmp_path, capsys, out)
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["schema_version"] = version
    (out / "manifest.json").write_text(json.dumps(manifest))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, _, err = _sweep(tmp_path, capsys, out)
    assert_refused(code, err, r"schema_version")
    code, _, err = run(capsys, "report", out, "--out", tmp_path / "rep")
    assert_refused(code, err, r"schema_version")
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before, "a refused folder was modified"


def test_run_refuses_a_manifest_that_is_not_json(tmp_path, capsys):
    out = tmp_path / "out"
    _sweep(tmp_path, capsys, out)
    (out / "manifest.json").write_text("{ not json")
    code, _, err = _sweep(tmp_path, capsys, out)
    assert_refused(code, err, r"manifest\.json is not valid JSON")


def test_a_truncated_run_file_is_rerun_and_replaced_by_a_complete_one(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, _ = _sweep(tmp_path, capsys, out)
    first = sorted((out / "runs").glob("*.json"))
    reference = first[0].read_text()
    first[0].write_text(reference[: len(reference) // 2])  # e.g. a half-copied folder
    (out / "runs" / "stray.json").write_text('{"run_id": "someone-else"}')
    code, _, err = _sweep(tmp_path, capsys, out)
    assert code == 0, err
    assert json.loads(first[0].read_text()) == json.loads(reference) | {
        k: v for k, v in json.loads(first[0].read_text()).items() if k in ("time_s", "started", "finished", "host")}
    rows = (out / "results.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 2  # header + one row per (task, estimator, seed); the stray file is ignored


# --------------------------------------------------------------------------- atomic writes, no pickles
def test_atomic_write_killed_mid_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "results.csv"
    atomic_write_text(path, "old\n")

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new and long\n" * 1000)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]  # no temp file left behind


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _name(func) -> str:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def test_no_module_can_load_a_pickle():
    """Static check of every module shipped: no pickle/joblib/dill loads; np.load only with
    allow_pickle=False; torch.load only with weights_only=True; pandas.read_pickle never."""
    offenders = []
    files = sorted((ROOT / "mi_estimators").rglob("*.py")) + sorted((ROOT / "synthetic").rglob("*.py"))
    assert files
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(n and n.split(".")[0] in ("pickle", "cPickle", "dill", "joblib", "cloudpickle", "shelve")
                       for n in names):
                    offenders.append(f"{path.name}:{node.lineno} imports a pickle module")
        for call in _calls(tree):
            name = _name(call.func)
            kw = {k.arg: k.value for k in call.keywords}
            const = {k: v.value for k, v in kw.items() if isinstance(v, ast.Constant)}
            if name.endswith("read_pickle") or name.endswith("pickle.load") or name.endswith("pickle.loads"):
                offenders.append(f"{path.name}:{call.lineno} {name}")
            elif name in ("np.load", "numpy.load") and const.get("allow_pickle") is not False:
                offenders.append(f"{path.name}:{call.lineno} np.load without allow_pickle=False")
            elif name == "torch.load" and const.get("weights_only") is not True:
                offenders.append(f"{path.name}:{call.lineno} torch.load without weights_only=True")
    assert not offenders, offenders


def test_report_plots_are_written_atomically(tmp_path, capsys, monkeypatch):
    # a report killed while saving a plot must not leave a truncated PNG under the final name
    out = tmp_path / "out"
    code, _, err = _sweep(tmp_path, capsys, out)
    assert code == 0, err
    import matplotlib.figure

    real = matplotlib.figure.Figure.savefig
    seen = []

    def spy(self, fname, *a, **k):
        seen.append(Path(fname) if isinstance(fname, (str, os.PathLike)) else fname)
        return real(self, fname, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    code, _, err = run(capsys, "report", out, "--out", tmp_path / "rep")
    assert code == 0, err
    pngs = sorted((tmp_path / "rep").glob("*.png"))
    assert pngs and seen
    direct = [p for p in seen if isinstance(p, Path) and p in pngs]
    assert not direct, f"plots saved straight to their final name (not atomic): {[p.name for p in direct]}"


def test_repeated_column_names_and_a_missing_header_are_refused_not_guessed(tmp_path):
    from mi_estimators.bench.files import load_xy

    dup = tmp_path / "dup.csv"
    dup.write_text("a,b,a\n1,2,3\n4,5,6\n7,8,9\n")
    with pytest.raises(ValueError, match="repeats the column name"):
        load_xy(dup, "a", "b")
    headless = tmp_path / "headless.csv"
    headless.write_text("0.5,1.25\n0.1,0.7\n0.3,0.2\n")
    with pytest.raises(ValueError, match="no header"):
        load_xy(headless, "0", "1")
