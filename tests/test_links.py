"""Every relative link in the README and in the notebooks' text leads to a file that exists."""
import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "GLOSSARY.md", *sorted(ROOT.glob("notebooks/*.ipynb")), *sorted(ROOT.glob("solutions/*.ipynb")),
             *sorted(ROOT.glob("exercises/*.ipynb"))]
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")  # [text](target) or [text](target#anchor)


def markdown_of(path: pathlib.Path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def relative_links(text: str) -> list[str]:
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def test_the_link_pattern_finds_relative_links_only():
    text = "[a](02_x.ipynb) [b](../notebooks/01_y.ipynb#goals) [c](https://example.org/z) [d](#section)"
    assert relative_links(text) == ["02_x.ipynb", "../notebooks/01_y.ipynb"]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_existing_files(path):
    missing = [target for target in relative_links(markdown_of(path)) if not (path.parent / target).exists()]
    assert not missing, f"{path.relative_to(ROOT)} links to files that do not exist: {missing}"


@pytest.mark.parametrize("path", sorted(ROOT.glob("notebooks/*.ipynb")), ids=lambda p: p.name)
def test_every_lesson_links_the_glossary_in_its_first_cell(path):
    first = json.loads(path.read_text())["cells"][0]
    assert "../GLOSSARY.md" in "".join(first["source"]), f"{path.name}: no link to the glossary in the first cell"


def test_the_glossary_names_every_lesson():
    lessons = {row.split("|")[3].strip() for row in (ROOT / "GLOSSARY.md").read_text().splitlines()
               if row.startswith("| ") and not row.startswith("| English")}
    assert lessons == {path.name[:2] for path in ROOT.glob("notebooks/*.ipynb")}
