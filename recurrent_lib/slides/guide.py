"""A lesson's lecturer's guide, ``lectures/<notebook stem>.md``, and whether it has what the course asks.

The guide has exactly three second-level sections, in this order: the 50-minute plan (what to show, what
to run live, where the room predicts an output before it is revealed), the misconceptions to confront,
and the homework that fits (by exercise number, where the lesson has homework); and it links back to
its notebook.
"""
import re
from pathlib import Path

HEADINGS = ("## 50-minute plan", "## Misconceptions to confront", "## Homework that fits")
EXERCISE_NUMBER = re.compile(r"\b\d+\.\d+\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def guide_path(notebook: Path) -> Path:
    """``lectures/<stem>.md`` beside the notebook's folder (``notebooks/01_x.ipynb`` -> ``lectures/01_x.md``)."""
    return notebook.resolve().parent.parent / "lectures" / f"{notebook.stem}.md"


def sections(text: str) -> dict[str, str]:
    """The guide's second-level sections: heading line -> the text under it, up to the next one."""
    parts = re.split(r"^(## .*)$", text, flags=re.MULTILINE)
    return {heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2])}


def problems(notebook: Path) -> list[str]:
    """Every way the notebook's guide falls short, one sentence each (empty: the guide is complete)."""
    path = guide_path(notebook)
    if not path.is_file():
        return [f"no lecturer's guide for {notebook.name}: expected {path}"]
    text = path.read_text(encoding="utf-8")
    found = []
    headings = tuple(sections(text))
    if headings != HEADINGS:
        found.append(f"{path.name}: second-level headings {list(headings)}; expected exactly {list(HEADINGS)}")
    found += [f"{path.name}: section {heading!r} is empty" for heading, body in sections(text).items()
              if heading in HEADINGS and not body.strip()]
    homework = notebook.resolve().parent.parent / "exercises" / notebook.name
    if homework.is_file() and not EXERCISE_NUMBER.search(sections(text).get(HEADINGS[2], "")):
        found.append(f"{path.name}: {HEADINGS[2]!r} names no exercise of {homework.name} by number (e.g. 1.3)")
    targets = {(path.parent / target.split("#")[0]).resolve() for target in LINK.findall(text)}
    if notebook.resolve() not in targets:
        found.append(f"{path.name}: no link to its notebook (expected a markdown link to "
                     f"../notebooks/{notebook.name})")
    return found
