"""A lesson's slide metadata: which cells make which slide, and whether the deck keeps the course's rules.

Each cell carries ``metadata.slideshow.slide_type`` (what RISE and nbconvert read):

- ``"slide"`` starts a new slide, ``"subslide"`` a slide below the current one (reveal.js's vertical
  stack); the lesson counts both as slides;
- ``"fragment"`` appears on the current slide at the next key press; ``"-"`` continues the current
  slide or fragment;
- ``"skip"`` is left out of the show (it still runs when the lecturer executes the notebook live);
- ``"notes"`` is a speaker note: shown only in the speaker view.

A slide is a slide/subslide cell plus the cells after it up to the next one. The rules (issue 20):
every cell has a known type, the first cell starts a slide, a lesson has ``MIN_SLIDES`` to
``MAX_SLIDES`` slides, a slide's visible cells have at most ``MAX_LINES`` source lines in all (outputs
not counted: a slide must fit a screen before it runs), and there is a notes cell for every two slides.
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
STARTS = frozenset({"slide", "subslide"})
VISIBLE = frozenset({"slide", "subslide", "fragment", "-"})
MIN_SLIDES, MAX_SLIDES = 15, 30
MAX_LINES = 30
SLIDES_PER_NOTE = 2
SHOWN_UNTYPED = 5  # problems() names the first few cells without a slide type, then counts the rest

Cell = Mapping[str, Any]


@dataclass(frozen=True)
class Slide:
    """One slide: ``cells`` are notebook cell indices, the first being its slide/subslide cell."""

    cells: tuple[int, ...]
    visible_lines: int
    notes: int

    @property
    def first_cell(self) -> int:
        return self.cells[0]


def slide_type(cell: Cell) -> str | None:
    """The cell's ``metadata.slideshow.slide_type``, or None when it has none."""
    slideshow = cell.get("metadata", {}).get("slideshow")
    return slideshow.get("slide_type") if isinstance(slideshow, Mapping) else None


def source_lines(cell: Cell) -> int:
    """Lines of the cell's source (a string, or nbformat's list of lines on disk)."""
    source = cell.get("source", "")
    return len(("".join(source) if isinstance(source, list) else source).splitlines())


def slides(cells: Sequence[Cell]) -> list[Slide]:
    """The slides of a notebook's ``cells``, in order. Cells before the first slide cell belong to none."""
    groups: list[list[int]] = []
    for index, cell in enumerate(cells):
        if slide_type(cell) in STARTS:
            groups.append([])
        if groups:
            groups[-1].append(index)
    return [
        Slide(
            cells=tuple(group),
            visible_lines=sum(source_lines(cells[i]) for i in group if slide_type(cells[i]) in VISIBLE),
            notes=sum(slide_type(cells[i]) == "notes" for i in group),
        )
        for group in groups
    ]


def problems(cells: Sequence[Cell]) -> list[str]:
    """Every way the notebook's ``cells`` break the deck rules, one sentence each (empty: a valid deck)."""
    if not cells:
        return ["the notebook has no cells"]
    untyped = [index for index, cell in enumerate(cells) if slide_type(cell) not in SLIDE_TYPES]
    found = [
        f"cell {index} ({cells[index].get('cell_type')}, starts {_opening(cells[index])!r}) has slide type "
        f"{slide_type(cells[index])!r}; expected metadata.slideshow.slide_type, one of "
        f"{', '.join(map(repr, SLIDE_TYPES))}"
        for index in untyped[:SHOWN_UNTYPED]
    ]
    if len(untyped) > SHOWN_UNTYPED:
        found.append(f"... and {len(untyped) - SHOWN_UNTYPED} more cells without a known slide type "
                     f"({len(untyped)} of {len(cells)} in all)")
    if slide_type(cells[0]) != "slide":
        found.append(f"the first cell must start the deck (slide type 'slide'), it has {slide_type(cells[0])!r}")
    deck = slides(cells)
    if not MIN_SLIDES <= len(deck) <= MAX_SLIDES:
        found.append(f"{len(deck)} slides (slide + subslide cells); a 45-60 minute lecture has "
                     f"{MIN_SLIDES} to {MAX_SLIDES}")
    found += [
        f"slide {number} (cells {slide.cells[0]}-{slide.cells[-1]}, starts {_opening(cells[slide.first_cell])!r}) "
        f"shows {slide.visible_lines} source lines, more than a screen ({MAX_LINES}): split it across slides, "
        f"or mark plumbing 'skip'"
        for number, slide in enumerate(deck, start=1)
        if slide.visible_lines > MAX_LINES
    ]
    notes = sum(slide_type(cell) == "notes" for cell in cells)
    if notes * SLIDES_PER_NOTE < len(deck):
        found.append(f"{notes} speaker-notes cells for {len(deck)} slides; expected at least one for every "
                     f"{SLIDES_PER_NOTE} slides ({-(-len(deck) // SLIDES_PER_NOTE)})")
    return found


def _opening(cell: Cell) -> str:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else source
    return text.strip().split("\n", 1)[0][:50]
