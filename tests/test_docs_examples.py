"""Every ```python example in README.md and docs/ runs.

Blocks of one file run in order in one namespace (like a reader following the page),
in a temporary working directory. A block preceded by the line ``<!-- no-run -->``
is skipped (use it only for examples that need a GPU or minutes of compute, and say
so in the text next to it).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"(<!--\s*no-run\s*-->\s*\n)?```python\n(.*?)```", re.S)


def _pages() -> list[Path]:
    pages = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    return [p for p in pages if p.exists() and "```python" in p.read_text(encoding="utf-8")]


def python_blocks(text: str) -> list[str]:
    """The runnable python blocks of a Markdown text, in order."""
    return [code for skip, code in _BLOCK.findall(text) if not skip]


def test_block_extraction_honours_no_run_marker():
    text = "```python\na = 1\n```\n<!-- no-run -->\n```python\nraise SystemExit\n```\n```python\nb = 2\n```\n"
    assert python_blocks(text) == ["a = 1\n", "b = 2\n"]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_example_in_the_docs_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs_example__"}
    for i, code in enumerate(python_blocks(page.read_text(encoding="utf-8"))):
        try:
            exec(compile(code, f"{page.name}[block {i}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{page.relative_to(ROOT)} block {i} failed: {type(exc).__name__}: {exc}\n---\n{code}")
