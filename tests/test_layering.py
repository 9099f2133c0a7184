"""The package's layering stays true: every import (module-level or inside a function) goes
down a layer, never up, and no group of modules imports itself in a cycle.

The layers are those of docs/architecture.md. A new module must be placed in LAYERS (the test
fails on a module it does not know), which is where its allowed imports are decided.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "mi_estimators"

#: Layer of every module, bottom (0) to top. A module may import modules of a strictly lower
#: layer; inside one subpackage (bench, contrastive) modules of the same layer may import
#: each other as long as there is no cycle.
LAYERS = {
    "_checks": 0,
    "result": 1, "options": 1, "divergences": 1, "range_count": 1, "chunks": 1,
    "bounds": 2, "critics": 2, "copula": 2, "discrete": 2, "canonical": 2,
    "nonparametric": 3, "training": 3, "flow_model": 3,
    "neural": 4, "flow": 4, "conditional": 4, "contrastive": 4, "contrastive.losses": 4, "contrastive.dro": 4,
    "auto": 5, "phi_plugin": 5, "cmi": 6, "independence": 6, "phi_default": 6,
    "api": 7,
    "sklearn_api": 8,
    "bench": 9, "bench.store": 9, "bench.executors": 9, "bench.files": 9, "bench.sweep": 9,
    "bench.config": 9, "bench.report": 9, "bench.staircase": 9, "bench.checks": 9, "bench.consistency": 9,
    "bench.cli": 9,
    "bench.__main__": 9,
    # compatibility modules (old import paths users rely on): on top, imported by nothing of ours
    "estimator": 10, "evaluation": 10, "executors": 10, "report": 10, "cli": 10, "losses": 10,
    "theory": 10, "__main__": 10,
}
COMPAT = {m for m, layer in LAYERS.items() if layer == 10}


def _module_names() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str, known) -> set[str]:
    """Modules of the package that ``path`` imports anywhere (``mi_estimators`` itself excluded)."""
    deps = set()
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(["mi_estimators", *base, *([node.module] if node.module else [])])
            else:
                prefix = node.module or ""
            targets = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            if not target.startswith("mi_estimators."):
                continue
            mod = target[len("mi_estimators."):]
            while mod and mod not in known:
                mod = mod.rpartition(".")[0]
            if mod and mod != name:
                deps.add(mod)
    return deps


def _graph():
    names = _module_names()
    return {m: _imports(p, m, names) for m, p in names.items()}


def test_every_module_has_a_layer():
    unknown = sorted(set(_module_names()) - set(LAYERS))
    assert not unknown, f"place these modules in LAYERS (tests/test_layering.py): {unknown}"


def test_imports_only_go_down():
    upward = []
    for mod, deps in _graph().items():
        for dep in deps:
            same_subpackage = "." in mod and dep.split(".")[0] == mod.split(".")[0]
            if LAYERS[dep] > LAYERS[mod] or (LAYERS[dep] == LAYERS[mod] and not same_subpackage):
                upward.append(f"{mod} (layer {LAYERS[mod]}) imports {dep} (layer {LAYERS[dep]})")
    assert not upward, "imports that do not go down a layer:\n" + "\n".join(sorted(upward))


def test_no_import_cycle():
    graph = _graph()
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_nothing_in_the_package_imports_a_compatibility_module():
    users = sorted(f"{m} imports {d}" for m, deps in _graph().items() for d in deps
                   if d in COMPAT and m not in COMPAT)
    assert not users, users


def test_the_bottom_layer_imports_nothing_of_the_package():
    assert _graph()["_checks"] == set()


@pytest.mark.parametrize("family", ["auto", "nonparametric", "neural"])
def test_estimate_mi_dispatches_down_to_its_families(family):
    """FAMILIES names its runners by string (imported on first use): they too lie below api."""
    from mi_estimators.api import FAMILIES

    for spec in (FAMILIES[family].runner, FAMILIES[family].names):
        if isinstance(spec, str):
            module = spec.partition(":")[0][len("mi_estimators."):]
            assert LAYERS[module] < LAYERS["api"], spec


def test_the_layering_test_catches_an_upward_import(tmp_path):
    """The parser sees function-level imports (the kind that hid the old cycle)."""
    src = tmp_path / "x.py"
    src.write_text("def f():\n    from mi_estimators.api import estimate_mi\n    import mi_estimators.bench.cli\n")
    assert _imports(src, "bounds", set(LAYERS)) == {"api", "bench.cli"}
