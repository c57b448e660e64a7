"""Static lecture decks: one self-contained, offline reveal.js HTML file per lesson.

nbconvert's ``SlidesExporter`` turns the notebook's slide metadata into reveal.js sections; the course's
template (``template/course_deck``) replaces the stock one's CDN links with the vendored reveal.js and
MathJax (``vendor/``, with their licences), inlined, so the deck makes no request to any host when it is
opened. Figures are already inline (base64 PNGs in the notebook's outputs).
"""
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from nbconvert.exporters import SlidesExporter

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "template"
TEMPLATE_NAME = "course_deck"
VENDOR = HERE / "vendor"
REVEAL = VENDOR / "reveal.js-5.2.1"
MATHJAX = VENDOR / "mathjax-3.2.2"
# The white theme's only import is its web font, which the deck does not ship: the system's font is used.
THEME_FONT_IMPORT = "@import url(./fonts/source-sans-pro/source-sans-pro.css);"
# What a page can fetch by itself: a script, a style sheet, a font, an image, a frame.
FETCHING = re.compile(
    r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc\s*=\s*["']?(?P<src>[^"'\s>]+)"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?(?P<href>[^"'\s>]+)"""
    r"""|@import\s+(?:url\()?\s*["']?(?P<import>[^"')\s;]+)"""
    r"""|url\(\s*["']?(?P<url>[^"')\s]+)""",
    re.IGNORECASE,
)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)


def assets() -> dict[str, str]:
    """The vendored files the template inlines, by the name the template uses."""
    files = {
        "reveal_js": REVEAL / "dist" / "reveal.js",
        "notes_js": REVEAL / "plugin" / "notes" / "notes.js",
        "reveal_css": REVEAL / "dist" / "reveal.css",
        "theme_css": REVEAL / "dist" / "theme" / "white.css",
        "mathjax_js": MATHJAX / "es5" / "tex-svg-full.js",
    }
    texts = {name: path.read_text(encoding="utf-8") for name, path in files.items()}
    if THEME_FONT_IMPORT not in texts["theme_css"]:
        raise ValueError(f"{files['theme_css']} no longer starts with the web-font import {THEME_FONT_IMPORT!r}: "
                         f"check the new theme for imports before vendoring it")
    texts["theme_css"] = texts["theme_css"].replace(THEME_FONT_IMPORT, "")
    for name, text in texts.items():
        closing = "</script" if name.endswith("_js") else "</style"
        if closing in text.lower():
            raise ValueError(f"{files[name]} contains {closing}>, which would end its inline element early")
    return texts


def exporter() -> SlidesExporter:
    """nbconvert's slides exporter with the course's offline template."""
    return SlidesExporter(extra_template_basedirs=[str(TEMPLATES)], template_name=TEMPLATE_NAME)


def render(notebook: Path) -> str:
    """The deck of ``notebook`` as one HTML document (its outputs as committed: nothing is executed)."""
    nb = nbformat.read(notebook, as_version=4)
    html, _ = exporter().from_notebook_node(nb, resources={"deck": assets(), "metadata": {"name": notebook.stem}})
    remote = network_references(html)
    if remote:
        raise ValueError(f"the deck of {notebook.name} would fetch {remote[:3]} from the network; "
                         f"a deck must be self-contained")
    return html


def build(notebook: Path, out_dir: Path) -> Path:
    """Write ``out_dir/<stem>.slides.html`` for ``notebook`` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{notebook.stem}.slides.html"
    path.write_text(render(notebook), encoding="utf-8")
    return path


def references(html: str) -> list[str]:
    """Every address the page fetches by itself (script/img src, link href, CSS url() and @import).

    The code of inline scripts is not read: what a script might fetch when it runs is the browser
    check's to see (issue 20), and the vendored scripts are configured to fetch nothing.
    """
    markup = INLINE_SCRIPT.sub("<script></script>", html)
    return [next(value for value in match.groupdict().values() if value) for match in FETCHING.finditer(markup)]


def network_references(html: str) -> list[str]:
    """The fetched addresses that are not inline data: anything with a scheme or host (http:, https:, //)."""
    return [address for address in references(html)
            if re.match(r"(?i)([a-z][a-z0-9+.-]*:|//)", address) and not address.lower().startswith("data:")]


class _Sections(HTMLParser):
    """Counts reveal.js's slides: <section> elements inside div.slides, top-level ones and leaves."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[list[int]] = []  # per open section: [number of child sections]
        self.top = self.leaves = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            if self.stack:
                self.stack[-1][0] += 1
            else:
                self.top += 1
            self.stack.append([0])

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.stack:
            self.leaves += self.stack.pop()[0] == 0


def slide_count(html: str) -> tuple[int, int]:
    """(horizontal slides, slides in all) of a deck: all = every leaf <section>, what the room sees."""
    parser = _Sections()
    parser.feed(html)
    return parser.top, parser.leaves
