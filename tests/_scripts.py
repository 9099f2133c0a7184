"""Load a script of the repository (a benchmark, an example, docs/gen_reference.py) as a module.

The scripts are not packages; the tests that check them import them by path with this helper.
"""
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str, *, register: bool = False):
    """The module of ``ROOT / relative`` (e.g. ``"benchmarks/hard_set.py"``), executed once per
    call. ``register``: also put it in ``sys.modules`` under its name (dataclasses and pickle look
    a module up by name)."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module
