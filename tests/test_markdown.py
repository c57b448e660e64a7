"""The notebooks' markdown renders as written: an inline formula ($...$) broken across lines must not put a
list marker at the start of a line (``+ 6 \\cdot 64``), which Markdown reads as a list item, leaving raw TeX
on the page and in the lecture deck."""
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
DOLLAR = re.compile(r"(?<![\\$])\$(?!\$)")   # a single $, not $$ and not \$
LIST_MARKER = re.compile(r"\s*([-+*]|\d+\.)\s")


def broken_formulas(markdown: str) -> list[str]:
    """The lines that start with a list marker while an inline formula of the line before is still open."""
    found, open_formula, display = [], False, False
    for line in markdown.split("\n"):
        if line.strip().startswith("$$"):
            display ^= line.strip().count("$$") == 1
            continue
        if display:
            continue
        if open_formula and LIST_MARKER.match(line):
            found.append(line)
        open_formula ^= len(DOLLAR.findall(line)) % 2 == 1
    return found


def test_the_rule_finds_a_formula_broken_before_a_plus() -> None:
    assert broken_formulas("count: $3 \\cdot 64\n+ 6 \\cdot 64$.") == ["+ 6 \\cdot 64$."]
    assert broken_formulas("count: $3 \\cdot 64 + 6$\n- a list item") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_inline_formula_is_broken_by_a_list_marker(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    broken = {index: lines for index, cell in enumerate(notebook.cells)
              if cell.cell_type == "markdown" and (lines := broken_formulas(cell.source))}
    assert not broken, f"cells whose formula a list marker breaks (join the lines): {broken}"
