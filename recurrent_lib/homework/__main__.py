"""Command line: ``python -m recurrent_lib.homework build [--check]`` and ``... grade PATH...``.

build   regenerate exercises/ from solutions/; with --check, change nothing and exit 1 if exercises/ is stale.
grade   grade submitted notebooks (files, folders of them, a class folder laid out <student>/*.ipynb, or
        nbgrader's submitted/ folder, laid out <student>/<assignment>/*.ipynb), each in the sandbox
        (sandbox.py; --no-sandbox runs them unsandboxed, with a warning). One notebook: a line per
        exercise and "runs end to end", then "score: X/Y". Several: a table of students by exercises.
        Exit status 0 when every notebook has full marks, 1 when one has not, 2 when a file could not be
        graded (the others are still graded) or the machine cannot sandbox.
"""
import argparse
import json
import sys

# jsonschema (imported by nbformat) imports rfc3987_syntax when it is installed, only to check "iri"
# formats that notebooks never use, and that import compiles a grammar for seconds. Skip it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from .assignments import ASSIGNMENTS
from .generate import build
from .grade import DEFAULT_TIMEOUT, RUNS_ID, Grade, grade_notebook, submissions
from .sandbox import Unavailable, check

ROOT = Path(__file__).resolve().parents[2]  # the course repository (the package is installed editable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recurrent_lib.homework", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="regenerate exercises/ from solutions/")
    build_parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if exercises/ is stale")
    build_parser.add_argument("--solutions", type=Path, default=ROOT / "solutions", help="default: %(default)s")
    build_parser.add_argument("--exercises", type=Path, default=ROOT / "exercises", help="default: %(default)s")
    grade_parser = commands.add_parser("grade", help="grade submitted notebooks")
    grade_parser.add_argument("paths", nargs="+", metavar="PATH", help="a notebook, or a folder of notebooks")
    grade_parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                              help="time limit per cell (default: %(default)s)")
    grade_parser.add_argument("--json", type=Path, metavar="OUT", help="also write every result to this JSON file")
    grade_parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (default: 1)")
    grade_parser.add_argument("--no-sandbox", action="store_true",
                              help="run submissions without the sandbox (only for submissions you trust)")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(errors="replace")  # ✓ and ✗ on consoles that cannot print them
    if args.command == "build":
        return run_build(args.solutions, args.exercises, args.check)
    return run_grade(args.paths, args.timeout, args.json, args.jobs, sandboxed=not args.no_sandbox)


def run_build(solutions: Path, exercises: Path, check: bool) -> int:
    try:
        changes = build(solutions, exercises, check)
    except (FileNotFoundError, ValueError) as error:
        print(f"build: {error}", file=sys.stderr)
        return 2
    for change in changes:
        print(change)
    if check and changes:
        print("exercises/ is stale: run `python -m recurrent_lib.homework build`", file=sys.stderr)
        return 1
    print(f"{exercises}: {'up to date' if check or not changes else 'regenerated'}")
    return 0


NO_SANDBOX = ("warning: --no-sandbox: the submissions ran unsandboxed, with this user's rights: they could read, "
              "write and delete your files and reach the network")


def run_grade(paths: list[str], timeout: int, json_out: Path | None, jobs: int, sandboxed: bool = True) -> int:
    if sandboxed:
        try:
            used = check()
        except Unavailable as reason:
            print(f"grade: cannot grade safely: {reason}", file=sys.stderr)
            return 2
    else:
        used = None
        print(NO_SANDBOX, file=sys.stderr)
    files = submissions(paths)
    grade = partial(grade_submission, timeout=timeout, sandboxed=sandboxed)
    if jobs > 1 and len(files) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            grades = list(pool.map(grade, files))
    else:
        grades = [grade(file) for file in files]
    if len(grades) == 1:
        print_one(grades[0])
    else:
        print_table(grades)
    if json_out is not None:
        totals = {"notebooks": len(grades), "graded": sum(g.error is None for g in grades),
                  "full_marks": sum(g.full_marks for g in grades)}
        report = {"sandbox": used, "warning": None if sandboxed else NO_SANDBOX,
                  "notebooks": [g.to_json() for g in grades], "totals": totals}
        json_out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    if any(g.error is not None for g in grades):
        return 2
    return 0 if all(g.full_marks for g in grades) else 1


def grade_submission(file: tuple[Path, str | None], timeout: int, sandboxed: bool) -> Grade:
    """grade_notebook for a (path, student) pair of :func:`submissions`."""
    return grade_notebook(file[0], timeout=timeout, student=file[1], sandboxed=sandboxed)


def print_one(grade: Grade) -> None:
    if grade.error is not None:
        print(f"{grade.path}: cannot grade: {grade.error}", file=sys.stderr)
        return
    print(f"{grade.path} (assignment {grade.assignment}" + (f", student {grade.student})" if grade.student else ")"))
    for note in grade.notes:
        print(f"  note: {note}")
    for result in grade.exercises:
        print(f"{'✓' if result.passed else '✗'} {result.id} {result.title}: {result.message}")
    print(f"score: {grade.score}/{grade.max_score}")


def row_names(grades: list[Grade]) -> dict[str, str]:
    """Each file's row name in its assignment's table: its student (its folder), else its file
    name; where two rows of one table would share a name, the student and file name, or the path."""
    def name(g: Grade) -> str:
        return g.student or Path(g.path).name
    taken = [(g.assignment, name(g)) for g in grades]
    return {g.path: name(g) if taken.count((g.assignment, name(g))) == 1
            else (f"{g.student}/{Path(g.path).name}" if g.student else g.path) for g in grades}


def print_table(grades: list[Grade]) -> None:
    """Students (their names, file names, or paths where two files share a name) by exercises, per assignment."""
    student = row_names(grades)
    width = max(len("student"), *(len(name) for name in student.values()))
    for name, assignment in ASSIGNMENTS.items():
        rows = [g for g in grades if g.assignment == name and g.error is None]
        if not rows:
            continue
        ids = [exercise.id for exercise in assignment.exercises] + [RUNS_ID]
        print(f"{name}: {len(rows)} notebook{'s' if len(rows) > 1 else ''}")
        print(f"{'student':<{width}}  " + "  ".join(f"{i:>4}" for i in ids) + "  score")
        for g in rows:
            marks = {r.id: "✓" if r.passed else "✗" for r in g.exercises}
            print(f"{student[g.path]:<{width}}  " + "  ".join(f"{marks[i]:>4}" for i in ids) + f"  {g.score}/{g.max_score}")
        print()
    for g in grades:
        if g.error is not None:
            print(f"{g.path}: cannot grade: {g.error}")


if __name__ == "__main__":
    sys.exit(main())
