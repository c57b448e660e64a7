"""Command line: ``python -m recurrent_lib.slides build [NOTEBOOK...] [--out DIR]`` and ``... check [NOTEBOOK...]``.

build   write one self-contained, offline HTML deck per lesson (default: every notebooks/*.ipynb)
        into DIR (default: build/decks/), and print its slides and size.
check   report every lesson whose slide metadata or lecturer's guide breaks the deck rules;
        exit 1 if one does.
"""
import argparse
import sys
import time
from pathlib import Path

import nbformat

from . import deck, guide, metadata

ROOT = Path(__file__).resolve().parents[2]  # the course repository (the package is installed editable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recurrent_lib.slides", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="write the static decks")
    build_parser.add_argument("--out", type=Path, default=ROOT / "build" / "decks", help="default: %(default)s")
    check_parser = commands.add_parser("check", help="check slide metadata and lecturer's guides")
    for sub in (build_parser, check_parser):
        sub.add_argument("notebooks", nargs="*", type=Path, metavar="NOTEBOOK",
                         help="default: every lesson in notebooks/")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    missing = [str(path) for path in notebooks if not path.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    return build(notebooks, args.out) if args.command == "build" else check(notebooks)


def build(notebooks: list[Path], out: Path) -> int:
    for notebook in notebooks:
        start = time.perf_counter()
        path = deck.build(notebook, out)
        horizontal, total = deck.slide_count(path.read_text(encoding="utf-8"))
        print(f"{path}: {total} slides ({horizontal} across), {path.stat().st_size / 1e6:.1f} MB, "
              f"{time.perf_counter() - start:.1f} s")
    return 0


def check(notebooks: list[Path]) -> int:
    failed = 0
    for notebook in notebooks:
        cells = nbformat.read(notebook, as_version=4).cells
        found = metadata.problems(cells) + guide.problems(notebook)
        failed += bool(found)
        print(f"{notebook.name}: {len(metadata.slides(cells))} slides, " + ("ok" if not found else "problems:"))
        for problem in found:
            print(f"  - {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
