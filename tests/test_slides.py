"""Lecture decks (issue 20): every lesson's slide metadata keeps the deck rules, has a lecturer's guide,
and builds into a self-contained offline HTML deck whose slides are the metadata's."""
import re
import socket
from pathlib import Path

import nbformat
import pytest

from recurrent_lib.slides import deck, guide, metadata

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LESSON_IDS = [path.stem for path in LESSONS]


def cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# -- every lesson -------------------------------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, ids=LESSON_IDS)
def test_slide_metadata_keeps_the_deck_rules(lesson):
    problems = metadata.problems(cells(lesson))
    assert not problems, f"{lesson.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("lesson", LESSONS, ids=LESSON_IDS)
def test_lesson_has_a_lecturers_guide(lesson):
    problems = guide.problems(lesson)
    assert not problems, "\n".join(problems)


def shown_types(lesson_cells: list) -> list[str]:
    """Each cell's slide type as nbconvert reads it: none means "-", and the first shown cell starts a slide."""
    types = [metadata.slide_type(cell) or "-" for cell in lesson_cells]
    first = next(i for i, kind in enumerate(types) if kind not in ("skip", "notes"))
    types[first] = "slide"
    return types


@pytest.mark.parametrize("lesson", LESSONS, ids=LESSON_IDS)
def test_deck_builds_offline_self_contained_with_the_metadatas_slides(lesson, no_network):
    lesson_cells = cells(lesson)
    html = deck.render(lesson)
    assert deck.network_references(html) == []
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", html, re.IGNORECASE), "every script must be inline"
    assert not re.search(r"<link\b[^>]*\bstylesheet", html, re.IGNORECASE), "every style must be inline"
    assert "Reveal.initialize" in html and "MathJax" in html
    types = shown_types(lesson_cells)
    assert deck.slide_count(html) == (types.count("slide"), types.count("slide") + types.count("subslide"))
    assert html.count('<aside class="notes">') == types.count("notes")
    shown_figures = sum("image/png" in output.get("data", {})
                        for cell, kind in zip(lesson_cells, types) if kind in metadata.VISIBLE
                        for output in cell.get("outputs", []))
    assert html.count('src="data:image/png;base64,') == shown_figures
    chinese = {ch for cell, kind in zip(lesson_cells, types) if kind in metadata.VISIBLE
               for ch in cell.source if "\u4e00" <= ch <= "\u9fff"}
    assert chinese <= set(html), "the Chinese quotations must reach the deck as they are"


@pytest.mark.parametrize("lesson", LESSONS, ids=LESSON_IDS)
def test_the_lectures_index_links_every_guide(lesson):
    index = (ROOT / "lectures" / "README.md").read_text(encoding="utf-8")
    assert f"]({lesson.stem}.md)" in index, f"lectures/README.md does not link {lesson.stem}.md"


@pytest.mark.parametrize("page", sorted((ROOT / "lectures").glob("*.md")), ids=lambda path: path.name)
def test_links_in_the_lecture_pages_lead_to_existing_files(page):
    targets = [target.split("#")[0] for target in guide.LINK.findall(page.read_text(encoding="utf-8"))
               if not re.match(r"[a-z]+:|#", target)]
    missing = [target for target in targets if not (page.parent / target).exists()]
    assert not missing, f"lectures/{page.name} links to files that do not exist: {missing}"


def test_decks_are_written_as_files(tmp_path, no_network):
    path = deck.build(LESSONS[0], tmp_path)
    assert path == tmp_path / f"{LESSONS[0].stem}.slides.html"
    assert deck.slide_count(path.read_text(encoding="utf-8"))[1] == len(metadata.slides(cells(LESSONS[0])))


def test_vendored_libraries_ship_with_their_licences():
    for folder in (deck.REVEAL, deck.MATHJAX):
        assert (folder / "LICENSE").is_file(), f"{folder} has no LICENSE"
    assert set(deck.assets()) == {"reveal_js", "notes_js", "reveal_css", "theme_css", "mathjax_js"}
    assert "@import" not in deck.assets()["theme_css"], "the theme's web-font import must be dropped"


# -- the validator itself: each rule fails when it should -----------------------------------------------

def md(source: str, slide_type: str | None) -> dict:
    cell = nbformat.v4.new_markdown_cell(source)
    if slide_type is not None:
        cell.metadata["slideshow"] = {"slide_type": slide_type}
    return cell


def good_deck(slides: int = 16) -> list:
    result = []
    for k in range(slides):
        result += [md(f"# slide {k}", "slide" if k % 2 == 0 else "subslide"), md("more", "fragment")]
        if k % 2 == 0:
            result.append(md("say this", "notes"))
    return result


def test_validator_accepts_a_good_deck():
    assert metadata.problems(good_deck()) == []
    assert len(metadata.slides(good_deck())) == 16


@pytest.mark.parametrize("breakage, words", [
    (lambda c: c[3].metadata.pop("slideshow"), "cell 3 (markdown, starts '# slide 1') has slide type None"),
    (lambda c: c[3].metadata["slideshow"].update(slide_type="sub-slide"), "has slide type 'sub-slide'"),
    (lambda c: c[0].metadata["slideshow"].update(slide_type="subslide"), "the first cell must start the deck"),
    (lambda c: c[1].update(source="\n".join(["line"] * 30)), "slide 1 (cells 0-2, starts '# slide 0') shows 31"),
    (lambda c: c.__setitem__(2, md("now hidden", "skip")), "7 speaker-notes cells for 16 slides"),
    (lambda c: c.extend(good_deck(15)), "31 slides"),
    (lambda c: c.__delitem__(slice(6, None)), "2 slides"),
])
def test_validator_reports_each_broken_rule(breakage, words):
    broken = good_deck()
    breakage(broken)
    assert any(words in problem for problem in metadata.problems(broken)), metadata.problems(broken)


def test_a_notebook_without_slide_metadata_gets_a_short_report():
    bare = good_deck()
    for cell in bare:
        cell.metadata.pop("slideshow")
    found = metadata.problems(bare)
    assert f"... and {len(bare) - metadata.SHOWN_UNTYPED} more cells without a known slide type" in "\n".join(found)
    assert len(found) == metadata.SHOWN_UNTYPED + 3  # the named cells, the rest counted, first cell, slide count


def test_the_network_guard_trips(no_network):
    with pytest.raises(AssertionError, match="network access attempted"):
        socket.create_connection(("127.0.0.1", 9))


def test_skipped_and_notes_cells_do_not_count_towards_a_slides_length():
    deck_cells = good_deck()
    deck_cells.insert(1, md("\n".join(["plumbing"] * 40), "skip"))
    deck_cells.insert(1, md("\n".join(["what to say"] * 40), "notes"))
    assert metadata.problems(deck_cells) == []
    assert metadata.slides(deck_cells)[0].visible_lines == 2


GUIDE = """# Lesson 99 · lecturer's guide

[the notebook](../notebooks/99_topic.ipynb)

## 50-minute plan
Show it.

## Misconceptions to confront
None.

## Homework that fits
Exercises 99.1 and 99.2.
"""


def make_course(tmp_path: Path, text: str | None, homework: bool = True) -> Path:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "lectures").mkdir()
    (tmp_path / "exercises").mkdir()
    notebook = tmp_path / "notebooks" / "99_topic.ipynb"
    notebook.write_text("{}")
    if homework:
        (tmp_path / "exercises" / "99_topic.ipynb").write_text("{}")
    if text is not None:
        (tmp_path / "lectures" / "99_topic.md").write_text(text)
    return notebook


def test_guide_check_accepts_a_complete_guide(tmp_path):
    assert guide.problems(make_course(tmp_path, GUIDE)) == []


@pytest.mark.parametrize("text, words", [
    (None, "no lecturer's guide for 99_topic.ipynb"),
    (GUIDE.replace("## Misconceptions to confront", "## Misconceptions"), "expected exactly"),
    (GUIDE.replace("## 50-minute plan\nShow it.\n", ""), "expected exactly"),
    (GUIDE + "\n## Extra\nmore\n", "expected exactly"),
    (GUIDE.replace("Show it.", ""), "section '## 50-minute plan' is empty"),
    (GUIDE.replace("Exercises 99.1 and 99.2.", "The first two."), "names no exercise"),
    (GUIDE.replace("../notebooks/99_topic.ipynb", "../notebooks/98_other.ipynb"), "no link to its notebook"),
])
def test_guide_check_reports_what_is_missing(tmp_path, text, words):
    found = guide.problems(make_course(tmp_path, text))
    assert any(words in problem for problem in found), found


def test_a_lesson_without_homework_needs_no_exercise_numbers(tmp_path):
    notebook = make_course(tmp_path, GUIDE.replace("Exercises 99.1 and 99.2.", "None yet."), homework=False)
    assert guide.problems(notebook) == []


def test_network_references_finds_what_a_page_would_fetch():
    page = """<script src="https://cdn.example/reveal.js"></script>
    <link rel="stylesheet" href="//fonts.example/font.css">
    <style>@import url("http://example/theme.css"); .a { background: url(https://example/x.png) }
    .b { background: url(data:image/png;base64,AAAA) } .c { background: url(local.png) }</style>
    <script>var s = "<script src='https://inside.a.script/x.js'>";</script>
    <img src="data:image/png;base64,AAAA">"""
    assert deck.network_references(page) == [
        "https://cdn.example/reveal.js", "//fonts.example/font.css", "http://example/theme.css",
        "https://example/x.png",
    ]
    assert "local.png" in deck.references(page)


def test_slide_count_reads_nested_sections():
    html = ("<div class='slides'><section><section>a</section><section>b</section></section>"
            "<section><section>c</section></section></div>")
    assert deck.slide_count(html) == (2, 3)
