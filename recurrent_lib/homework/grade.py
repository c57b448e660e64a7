"""Grading a submitted notebook: the student's cells run in a sandbox, then the assignment's own checks judge them.

1. The submission is read (never written), and its assignment identified from its metadata
   (``recurrent_course.assignment``), falling back to its file name.
2. Inside the sandbox (sandbox.py: no network, no other files, limits on processes, memory, disk and
   time), run_cells.py writes a fresh copy of the submission into its working folder and starts a
   kernel of this interpreter there, which imports torch (under the grader's own time limit), then runs
   every code cell except the check cells (nbgrader ``grade: true, solution: false``), each with a time
   limit, going on past errors; a cell that kills the kernel is skipped and the notebook run again.
   Notes name a cell by its exercise or its first line (JupyterLab shows no cell numbers).
3. One cell of the grader's own loads this package afresh from its files (whatever the submission
   did to the imported one), then one cell per exercise runs its probe on the student's functions
   and prints the observations as one JSON line tagged with a random per-run nonce.
4. Only those lines travel back, size-capped and checked as untrusted input. Here, in the grader's
   process, each exercise's judge reads the observations. Nothing the submission prints, patches or
   fakes in its kernel changes a verdict: only the values its functions return do.
5. One more line, "runs end to end" (RUNS_POINTS), is lost when a given or added cell raised, timed out
   or killed the kernel: a notebook that breaks never gets full marks (and an untouched one scores 0).
"""
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from . import run_cells, sandbox
from .assignments import ASSIGNMENTS
from .exercise import Assignment

DEFAULT_TIMEOUT = 30  # seconds per cell
KERNEL_STARTS = 2     # tries to start a kernel at all before a notebook is reported as not runnable
LOADER_TIMEOUT = 120  # seconds for the grader's own cell that loads the checks (a short --timeout must not starve it)
MAX_RESULT = 16 << 20  # bytes of results read back from a run
RUNS_ID, RUNS_TITLE, RUNS_POINTS = "run", "runs end to end", 1
PACKAGE_DIR = Path(__file__).resolve().parent


class Ungradable(Exception):
    """The file cannot be graded; the message is the one-line reason."""


@dataclass
class ExerciseResult:
    id: str
    title: str
    passed: bool
    message: str
    points: int
    max_points: int


@dataclass
class Grade:
    """The grading of one file; ``error`` says why it could not be graded."""

    path: str
    assignment: str | None = None
    error: str | None = None
    student: str | None = None  # the <student>/ folder of a class folder or of nbgrader's submitted/
    exercises: list[ExerciseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # cells that raised, timed out or killed the kernel
    seconds: float = 0.0

    @property
    def score(self) -> int:
        return sum(result.points for result in self.exercises)

    @property
    def max_score(self) -> int:
        return sum(result.max_points for result in self.exercises)

    @property
    def full_marks(self) -> bool:
        return self.error is None and self.score == self.max_score

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "student": self.student, "assignment": self.assignment, "graded": self.error is None,
                "error": self.error, "score": self.score, "max_score": self.max_score,
                "seconds": round(self.seconds, 2), "notes": self.notes,
                "exercises": [vars(result) for result in self.exercises]}


def read_submission(path: Path) -> tuple[NotebookNode, Assignment]:
    """The notebook in ``path`` and its assignment, or Ungradable saying why not."""
    if not path.exists():
        raise Ungradable("no such file")
    if path.is_dir():
        raise Ungradable("a folder without any .ipynb file, in it, in <student>/ folders under it (a class "
                         "folder) or in nbgrader's <student>/<assignment>/ folders under it")
    data = path.read_bytes()
    if not data.strip():
        raise Ungradable("empty file")
    try:
        raw = json.loads(data)
    except ValueError as error:
        raise Ungradable(f"not a notebook: invalid JSON ({error})") from None
    if not isinstance(raw, dict) or "cells" not in raw or "nbformat" not in raw:
        raise Ungradable("not a notebook: JSON without the nbformat and cells of a Jupyter notebook")
    try:
        notebook = nbformat.convert(nbformat.reader.reads(data), 4)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat raises many kinds for malformed notebooks
        reason = str(getattr(error, "message", error)).splitlines()[0]
        raise Ungradable(f"not a valid notebook: {reason}") from None
    return notebook, identify(notebook, path)


def identify(notebook: NotebookNode, path: Path) -> Assignment:
    """The assignment named in the metadata, else the one whose name the file name contains."""
    ours = ", ".join(ASSIGNMENTS)
    course = notebook.metadata.get("recurrent_course")
    name = course.get("assignment") if isinstance(course, dict) else None
    if name is not None:
        if name not in ASSIGNMENTS:
            raise Ungradable(f"not one of our assignments: its metadata names {name!r}; ours are {ours}")
        return ASSIGNMENTS[name]
    matches = [assignment for key, assignment in ASSIGNMENTS.items() if key in path.stem]
    if len(matches) != 1:
        raise Ungradable(f"not one of our assignments: neither its metadata (recurrent_course.assignment) nor "
                         f"its file name names one of {ours}")
    return matches[0]


def is_check_cell(cell: NotebookNode) -> bool:
    """nbgrader's autograded tests cell: the grader runs its own checks instead."""
    nbgrader = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(nbgrader.get("grade")) and not nbgrader.get("solution")


def _loader_source(handle: str, nonce: str) -> str:
    """The grader's cell that loads this package afresh from its files, as a module nothing else holds."""
    package = f"_recurrent_grader_{nonce}"
    return (
        "def _load():\n"
        "    import importlib.util, sys\n"
        f"    spec = importlib.util.spec_from_file_location({package!r}, {str(PACKAGE_DIR / '__init__.py')!r},\n"
        f"                                                  submodule_search_locations=[{str(PACKAGE_DIR)!r}])\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    sys.modules[spec.name] = module\n"
        "    spec.loader.exec_module(module)\n"
        "    return module.assignments\n"
        f"{handle} = _load()\n"
        "del _load\n"
    )


@dataclass
class Run:
    """What running a submission gave: per exercise, observations (JSON) or why there are none."""

    observations: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    broken: bool = False  # a given or added cell raised, timed out or killed the kernel


def shorten(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` characters at a space, '…' marking the cut (never mid-word
    unless a single word is longer than ``width``)."""
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


STUDENT_CELL = "the cell "  # how the label of every student cell starts


def cell_label(cell: NotebookNode, assignment: Assignment) -> str:
    """How a note names a student's cell: 'the cell of exercise 1.2 (def rnn_forward(...):)' for an
    exercise's solution cell (nbgrader grade_id = a name the exercise checks), else by its first line."""
    lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
    first = shorten(lines[0], 60) if lines else "(empty)"
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    of = next((e.id for e in assignment.exercises if grade_id in e.names), None)
    return f"{STUDENT_CELL}of exercise {of} ({first})" if of else f"{STUDENT_CELL}{first!r}"


def _jobs(notebook: NotebookNode, assignment: Assignment, nonce: str) -> list[tuple[str, str]]:
    """(label, source) of every cell the kernel runs: torch first (under the grader's own time limit: an
    `import torch` interrupted by a short --timeout on a busy machine would leave a half-imported torch
    behind for every later cell), the student's cells, the loader, then a probe per exercise."""
    handle = f"_grader_{nonce}"
    jobs = [("warm-up", "import torch")]
    jobs += [(cell_label(cell, assignment), cell.source) for cell in notebook.cells
             if cell.cell_type == "code" and not is_check_cell(cell)]
    jobs.append(("loader", _loader_source(handle, nonce)))
    jobs += [(exercise.id, f"print({nonce!r}, {handle}.observe({exercise.id!r}, globals()))")
             for exercise in assignment.exercises]
    return jobs


def _environment(sandboxed: bool) -> dict[str, str]:
    """The kernel's environment: in the sandbox only this; without it, the grader's own plus this."""
    ours = {"RECURRENT_LIB_PROGRESS": "0", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
    if not sandboxed:
        return {**os.environ, **ours}
    return {**ours, "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "HOME": sandbox.SCRATCH,
            "LANG": "C.UTF-8", "TMPDIR": "/tmp", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
            "IPYTHONDIR": "/tmp/ipython", "MPLCONFIGDIR": "/tmp/matplotlib"}


def run_submission(path: Path, notebook: NotebookNode, assignment: Assignment, timeout: int,
                   sandboxed: bool = True) -> Run:
    """Run the student's cells, then the probes, in a fresh kernel working in a fresh copy of the
    submission: inside the sandbox (see sandbox.py), or, with ``sandboxed=False``, in a temporary folder.
    What comes back is untrusted: read with a size cap and checked field by field."""
    nonce = secrets.token_hex(16)
    jobs = _jobs(notebook, assignment, nonce)
    slow = max(timeout, LOADER_TIMEOUT)
    timeouts = [slow if label in ("warm-up", "loader") else timeout for label, _ in jobs]
    request = json.dumps({"cells": [source for _, source in jobs], "timeouts": timeouts, "nonce": nonce,
                          "notebook": {"name": path.name, "text": nbformat.writes(notebook)}}).encode()
    command = [sys.executable, "-I", str(PACKAGE_DIR / "run_cells.py")]
    wall = (sum(timeouts) + run_cells.LIVENESS_TIMEOUT * len(jobs)) + 60
    if sandboxed:
        finished = sandbox.run(command, readable=[Path(sys.prefix), PACKAGE_DIR.parent], env=_environment(True),
                               limits=sandbox.Limits(wall_seconds=wall), stdin=request, max_output=MAX_RESULT)
    else:
        finished = sandbox.run_unsandboxed(command, env=_environment(False), wall_seconds=wall, stdin=request,
                                           max_output=MAX_RESULT)
    result = _read_result(finished, len(jobs))
    run = Run()
    if isinstance(result, str):
        run.notes.append(result)
        run.broken = True
        run.problems = {label: f"not checked: {result}" for label, _ in jobs}
        return run
    for index, ((label, _), cell) in enumerate(zip(jobs, result["cells"])):
        if index in result["killers"]:
            run.notes.append(f"{label} made the kernel die (or ignored the interrupt); it was skipped")
            run.problems[label] = "checking it made the kernel die (a crash in your function?)"
            run.broken |= label.startswith(STUDENT_CELL)
        else:
            _record(run, label, cell["lines"], cell["error"], timeout)
    if result["gave_up"]:
        run.notes.append(f"the kernel died {run_cells.MAX_RESTARTS + 1} times; grading stopped")
        run.broken = True
    return run


class NotRunnable(Exception):
    """The run produced nothing at all (e.g. the kernel could not start); worth one more try."""


def _read_result(finished: sandbox.Finished, cells: int) -> dict[str, Any] | str:
    """The runner's result, checked field by field, or a note saying why there is none."""
    if finished.killed:
        return "grading stopped: the notebook ran past the grader's wall-clock limit"
    if finished.overflow:
        return f"grading stopped: the run wrote more than {MAX_RESULT >> 20} MiB of results"
    try:
        result = json.loads(finished.stdout)
        valid = (isinstance(result, dict) and isinstance(result.get("gave_up"), bool)
                 and isinstance(result.get("killers"), list) and isinstance(result.get("cells"), list)
                 and len(result["cells"]) == cells
                 and all(isinstance(k, int) and 0 <= k < cells for k in result["killers"])
                 and all(isinstance(c, dict) and isinstance(c.get("lines"), list)
                         and all(isinstance(line, str) for line in c["lines"])
                         and (c.get("error") is None or (isinstance(c["error"], list) and len(c["error"]) == 2
                                                         and all(isinstance(e, str) for e in c["error"])))
                         for c in result["cells"]))
    except ValueError:
        valid = False
    if valid:
        return result
    why = finished.stderr.strip().splitlines()[-1] if finished.stderr.strip() else f"exit status {finished.returncode}"
    raise NotRunnable(shorten(why, 300))


def _record(run: Run, label: str, lines: list[str], error: list[str] | None, timeout: int) -> None:
    """Note a student cell's error or timeout; keep an exercise's observations (or why there are none)."""
    timed_out = error is not None and error[0] == run_cells.TIMEOUT_ERROR
    if label.startswith(STUDENT_CELL):
        if timed_out:
            run.notes.append(f"{label} ran longer than {timeout} s and was interrupted")
        elif error:
            message = error[1].strip().splitlines()[0] if error[1].strip() else ""
            run.notes.append(f"{label} raised {error[0]}" + (f": {shorten(message, 300)}" if message else ""))
        run.broken |= error is not None
        return
    if label in ("warm-up", "loader"):
        if error:
            run.notes.append(f"the grader could not load torch and its checks: {error[0]}: {shorten(error[1], 300)}")
        return
    results = [line.split(" ", 1)[1] for line in lines if " " in line]
    if timed_out:
        run.problems[label] = f"the check ran longer than {timeout} s (does a function loop forever?)"
    elif len(results) == 1:
        run.observations[label] = results[0]
    elif results:
        run.problems[label] = "the grader's result line appeared more than once: the output was tampered with"
    else:
        why = f"{error[0]}: {shorten(error[1], 300)}" if error else "did the notebook replace sys.stdout?"
        run.problems[label] = f"the grader could not read the results of your code ({why})"


def runs_end_to_end(run: Run, solved: int) -> ExerciseResult:
    """The "runs end to end" line: RUNS_POINTS for a notebook in which no given or added cell raised, timed
    out or killed the kernel (the notes say which did), once at least one exercise is ``solved`` (an
    untouched notebook earns nothing)."""
    if not run.broken and solved:
        return ExerciseResult(RUNS_ID, RUNS_TITLE, True, "correct", RUNS_POINTS, RUNS_POINTS)
    if not run.broken:
        return ExerciseResult(RUNS_ID, RUNS_TITLE, False, "no exercise solved yet", 0, RUNS_POINTS)
    first = next((note for note in run.notes if note.startswith(STUDENT_CELL)), run.notes[-1] if run.notes else "")
    message = f"{first}: the notebook must run top to bottom without an error"
    return ExerciseResult(RUNS_ID, RUNS_TITLE, False, message, 0, RUNS_POINTS)


def grade_notebook(path: Path, timeout: int = DEFAULT_TIMEOUT, student: str | None = None,
                   sandboxed: bool = True) -> Grade:
    """Grade one file (see the module docstring); never raises for a bad submission."""
    start = time.perf_counter()
    grade = Grade(str(path), student=student)
    try:
        notebook, assignment = read_submission(path)
    except Ungradable as reason:
        grade.error = str(reason)
        return grade
    grade.assignment = assignment.name
    for attempt in range(1, KERNEL_STARTS + 1):
        try:
            run = run_submission(path, notebook, assignment, timeout, sandboxed)
            break
        except NotRunnable as error:  # the kernel could not even start (on a busy machine, it may next time)
            if attempt == KERNEL_STARTS:
                grade.error = f"could not run the notebook: {error}"
                grade.seconds = time.perf_counter() - start
                return grade
    grade.notes = run.notes
    for exercise in assignment.exercises:
        if exercise.id in run.observations:
            passed, message = exercise.verdict(run.observations[exercise.id])
        else:
            passed, message = False, run.problems.get(exercise.id, "not checked: the kernel had died")
        grade.exercises.append(ExerciseResult(exercise.id, exercise.title, passed, message,
                                              exercise.points if passed else 0, exercise.points))
    grade.exercises.append(runs_end_to_end(run, sum(result.passed for result in grade.exercises)))
    grade.seconds = time.perf_counter() - start
    return grade


def expand(paths: list[str]) -> list[Path]:
    """Files to grade: each path, or the .ipynb files of each folder (a folder without any is reported)."""
    return [path for path, _ in submissions(paths)]


def submissions(paths: list[str]) -> list[tuple[Path, str | None]]:
    """(file, student) to grade for each path: a file (student None); a folder's .ipynb files; or, for a
    folder without any, a class folder, ``<student>/*.ipynb`` (as a learning platform exports it), and
    nbgrader's layout, ``<student>/<assignment>/*.ipynb`` (as in its ``submitted/`` folder), each named by
    its student (hidden folders such as .ipynb_checkpoints are left out). A folder with none of these is
    returned to be reported."""
    files: list[tuple[Path, str | None]] = []
    for name in paths:
        path = Path(name)
        if not path.is_dir():
            files.append((path, None))
        elif notebooks := sorted(path.glob("*.ipynb")):
            files += [(notebook, None) for notebook in notebooks]
        elif nested := sorted(notebook for pattern in ("*/*.ipynb", "*/*/*.ipynb") for notebook in path.glob(pattern)
                              if not any(part.startswith(".") for part in notebook.relative_to(path).parts)):
            files += [(notebook, notebook.relative_to(path).parts[0]) for notebook in nested]
        else:
            files.append((path, None))
    return files
