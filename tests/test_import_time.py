"""Start-up cost: ``import mi_estimators`` and ``mi-bench --help`` must not load torch.

Loading torch alone takes about a second (more on a busy machine), so the 1 s targets of
issue 9 hold only if the package and the CLI's help import nothing heavy. Each check runs in
a fresh interpreter and inspects ``sys.modules`` — a structural fact, not a wall-clock
threshold, so it cannot flake on a loaded machine. The times themselves are measured by
``benchmarks/bench_vs_torch_mist.py --imports`` and recorded in docs/performance.md.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "matplotlib", "scipy", "sklearn", "pandas", "dask", "pyarrow")

_PROBE = """
import json, sys, time
t0 = time.perf_counter()
{body}
print(json.dumps({{"seconds": time.perf_counter() - t0,
                   "loaded": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


def _probe(body: str, watch: tuple[str, ...] = HEAVY) -> dict:
    code = _PROBE.format(body=body, heavy=tuple(watch))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_mi_estimators_loads_no_heavy_module():
    result = _probe("import mi_estimators")
    assert result["loaded"] == [], f"import mi_estimators loaded {result['loaded']}"


def test_probe_reports_a_module_that_was_imported():
    # the checks here can fail: a module imported by the probed code is reported
    # (a cheap stand-in for torch, whose import takes seconds on a loaded machine)
    result = _probe("import mi_estimators, decimal", watch=("decimal", "torch"))
    assert result["loaded"] == ["decimal"]


def test_public_names_resolve_lazily():
    import mi_estimators

    for name in ("estimate_mi", "MIEstimator", "MIResult", "list_estimators"):
        assert name in dir(mi_estimators)


@pytest.mark.skipif(importlib.util.find_spec("mi_estimators.bench") is None,
                    reason="mi_estimators.bench is not in this tree")
def test_mi_bench_help_loads_no_heavy_module():
    body = (
        "import contextlib, io\n"
        "from mi_estimators.bench.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    try:\n"
        "        code = main(['--help'])\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        "assert code in (0, None), code\n"
        "assert 'usage' in buf.getvalue().lower(), buf.getvalue()\n"
    )
    result = _probe(body)
    assert result["loaded"] == [], f"mi-bench --help loaded {result['loaded']}"


def test_import_mi_estimators_bench_loads_no_heavy_module():
    result = _probe("import mi_estimators.bench")
    assert result["loaded"] == [], f"import mi_estimators.bench loaded {result['loaded']}"


def test_non_neural_estimates_never_import_torch():
    """KSG, CCA, the Gaussian-copula value, the discrete plug-in, auto on a 1 x 1 pair (its KSG /
    Gaussian-copula paths), conditional MI and the independence test run on numpy and scipy only."""
    body = (
        "import numpy as np\n"
        "import mi_estimators as m\n"
        "r = np.random.default_rng(0); x = r.standard_normal((600, 1)); y = x + r.standard_normal((600, 1))\n"
        "z = r.standard_normal((600, 1))\n"
        "for e in ('ksg', 'cca', 'gaussian-copula', 'auto'):\n"
        "    m.estimate_mi(x, y, e)\n"
        "m.estimate_mi(np.round(x), np.round(y), 'discrete')\n"
        "m.estimate_cmi(x, y, z); m.estimate_cmi(x, y, z, 'ksg')\n"
        "m.independence_test(x, y, n_permutations=9)\n"
    )
    result = _probe(body, watch=("torch",))
    assert result["loaded"] == [], "a non-neural path imported torch"
