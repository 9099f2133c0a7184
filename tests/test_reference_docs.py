"""docs/reference.md is generated from the code (docs/gen_reference.py) and must be up to date."""
from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference.md"


@pytest.fixture(scope="module")
def gen():
    return load_script("docs/gen_reference.py")


@pytest.fixture(scope="module")
def generated(gen) -> str:
    return gen.generate()


def test_committed_reference_equals_a_fresh_generation(generated):
    committed = REFERENCE.read_text(encoding="utf-8")
    if committed != generated:
        diff = "".join(list(difflib.unified_diff(
            committed.splitlines(keepends=True), generated.splitlines(keepends=True),
            "docs/reference.md (committed)", "docs/reference.md (generated)", n=1))[:60])
        pytest.fail("docs/reference.md is out of date; run: python docs/gen_reference.py\n" + diff)


def test_generation_is_deterministic(gen, generated):
    assert gen.generate() == generated


def test_reference_documents_every_registered_estimator_and_task(generated):
    import synthetic
    from mi_estimators import list_estimators

    for name in list_estimators():
        assert f"| `{name}` |" in generated, name
    for name in synthetic.list_tasks():
        assert f"| `{name}` |" in generated, name


def test_reference_has_no_runnable_python_blocks_nor_memory_addresses(generated):
    # docs examples test runs every ```python block; the reference holds docstrings, not examples
    assert "```python" not in generated
    assert " at 0x" not in generated


def test_signature_formatter_shows_kinds_defaults_and_annotations(gen):
    def f(a, b: int = 2, /, c="x", *args, d: float, e=None, **kw) -> str:  # noqa: ARG001
        """doc"""

    assert gen.format_signature("f", f) == "f(a, b: int = 2, /, c='x', *args, d: float, e=None, **kw) -> str"
