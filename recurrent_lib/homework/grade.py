"""Grading a submitted notebook: the student's cells run, then the assignment's own checks judge them.

1. The submission is read (never written), and its assignment identified from its metadata
   (``recurrent_course.assignment``), falling back to its file name.
2. A fresh kernel of this interpreter, started in the submission's folder, imports torch (under the
   grader's own time limit), then runs every code cell except the check cells (nbgrader
   ``grade: true, solution: false``), each with a time limit, going on past errors; a cell that kills
   the kernel is skipped and the notebook run again. Notes name a cell by its exercise or its first
   line (JupyterLab shows no cell numbers).
3. One cell of the grader's own loads this package afresh from its files (whatever the submission
   did to the imported one), then one cell per exercise runs its probe on the student's functions
   and prints the observations as one JSON line tagged with a random per-run nonce.
4. Here, in the grader's process, each exercise's judge reads those observations. Nothing the
   submission prints, patches or fakes in its kernel changes a verdict: only the values its
   functions return do.
"""
import json
import logging
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from ipykernel.kernelspec import RESOURCES, get_kernel_dict
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from .assignments import ASSIGNMENTS
from .exercise import Assignment

DEFAULT_TIMEOUT = 30  # seconds per cell
MAX_RESTARTS = 3      # a kernel that died is restarted (without the cell that killed it) at most this often
KERNEL_STARTS = 2     # tries to start a kernel at all before a notebook is reported as not runnable
LOADER_TIMEOUT = 120  # seconds for the grader's own cell that loads the checks (a short --timeout must not starve it)
TIMEOUT_ERROR = "CellTimeoutError"
PACKAGE_DIR = Path(__file__).resolve().parent

_quiet = logging.getLogger(__name__ + ".nbclient")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


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
    student: str | None = None  # from nbgrader's submitted/<student>/<assignment>/ layout
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
        raise Ungradable("a folder without any .ipynb file, in it or in nbgrader's <student>/<assignment>/ "
                         "folders under it")
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


class NativeKernelSpecs(KernelSpecManager):
    """Whatever kernel a notebook names, run this interpreter's own ipykernel."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())


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


def _error_of(reply: dict[str, Any] | None) -> tuple[str, str] | None:
    content = (reply or {}).get("content", {})
    return (content.get("ename", "Error"), content.get("evalue", "")) if content.get("status") == "error" else None


def _stdout(cell: NotebookNode) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", [])
                   if output.get("output_type") == "stream" and output.get("name") == "stdout")


@dataclass
class Run:
    """What running a submission gave: per exercise, observations (JSON) or why there are none."""

    observations: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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


def run_submission(notebook: NotebookNode, assignment: Assignment, folder: Path, timeout: int) -> Run:
    """Run the student's cells, then the probes, in a fresh kernel started in ``folder``."""
    nonce = secrets.token_hex(16)
    handle = f"_grader_{nonce}"
    # torch is imported first, under the grader's own time limit: an `import torch` interrupted by a short
    # --timeout on a busy machine would leave a half-imported torch behind for every later cell.
    jobs = [("warm-up", "import torch")]
    jobs += [(cell_label(cell, assignment), cell.source) for cell in notebook.cells
             if cell.cell_type == "code" and not is_check_cell(cell)]
    jobs.append(("loader", _loader_source(handle, nonce)))
    jobs += [(exercise.id, f"print({nonce!r}, {handle}.observe({exercise.id!r}, globals()))")
             for exercise in assignment.exercises]
    killers: set[int] = set()
    for _ in range(MAX_RESTARTS + 1):
        run = Run(notes=[f"{jobs[k][0]} made the kernel die; it was skipped" for k in sorted(killers)],
                  problems={jobs[k][0]: "checking it made the kernel die (a crash in your function?)" for k in killers})
        replies: dict[int, dict[str, Any]] = {}
        cells = [nbformat.v4.new_code_cell(source) for _, source in jobs]
        ours = [cell for (label, _), cell in zip(jobs, cells) if label in ("warm-up", "loader")]
        client = NotebookClient(
            nbformat.v4.new_notebook(cells=cells), timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
            timeout_func=lambda cell: max(timeout, LOADER_TIMEOUT) if any(cell is c for c in ours) else timeout,
            error_on_timeout={"ename": TIMEOUT_ERROR, "evalue": "", "traceback": []}, log=_quiet,
            km=AsyncKernelManager(kernel_spec_manager=NativeKernelSpecs(), log=_quiet),
            on_cell_executed=lambda cell, cell_index, execute_reply: replies.__setitem__(cell_index, execute_reply),
            resources={"metadata": {"path": str(folder)}})
        index = 0
        try:
            env = {**os.environ, "RECURRENT_LIB_PROGRESS": "0"}
            with client.setup_kernel(cleanup_kc=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                for index, (label, _) in enumerate(jobs):
                    if index not in killers:
                        cell = client.execute_cell(cells[index], index)
                        _record(run, label, cell, _error_of(replies.get(index)), nonce, timeout)
            return run
        except DeadKernelError:
            killers.add(index)
    run.notes.append(f"the kernel died {MAX_RESTARTS + 1} times; grading stopped")
    return run


def _record(run: Run, label: str, cell: NotebookNode, error: tuple[str, str] | None, nonce: str,
            timeout: int) -> None:
    """Note a student cell's error or timeout; keep an exercise's observations (or why there are none)."""
    timed_out = error is not None and error[0] == TIMEOUT_ERROR
    if label.startswith(STUDENT_CELL):
        if timed_out:
            run.notes.append(f"{label} ran longer than {timeout} s and was interrupted")
        elif error:
            message = error[1].strip().splitlines()[0] if error[1].strip() else ""
            run.notes.append(f"{label} raised {error[0]}" + (f": {shorten(message, 300)}" if message else ""))
        return
    if label in ("warm-up", "loader"):
        if error:
            run.notes.append(f"the grader could not load torch and its checks: {error[0]}: {error[1]}")
        return
    lines = [line.split(" ", 1)[1] for line in _stdout(cell).splitlines() if line.startswith(nonce + " ")]
    if timed_out:
        run.problems[label] = f"the check ran longer than {timeout} s (does a function loop forever?)"
    elif len(lines) == 1:
        run.observations[label] = lines[0]
    elif lines:
        run.problems[label] = "the grader's result line appeared more than once: the output was tampered with"
    else:
        why = f"{error[0]}: {error[1]}" if error else "did the notebook replace sys.stdout?"
        run.problems[label] = f"the grader could not read the results of your code ({why})"


def grade_notebook(path: Path, timeout: int = DEFAULT_TIMEOUT, student: str | None = None) -> Grade:
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
            run = run_submission(notebook, assignment, path.resolve().parent, timeout)
            break
        except Exception as error:  # the kernel could not even start (on a busy machine, it may next time)
            if attempt == KERNEL_STARTS:
                grade.error = f"could not run the notebook: {type(error).__name__}: {error}"
                return grade
    grade.notes = run.notes
    for exercise in assignment.exercises:
        if exercise.id in run.observations:
            passed, message = exercise.verdict(run.observations[exercise.id])
        else:
            passed, message = False, run.problems.get(exercise.id, "not checked: the kernel had died")
        grade.exercises.append(ExerciseResult(exercise.id, exercise.title, passed, message,
                                              exercise.points if passed else 0, exercise.points))
    grade.seconds = time.perf_counter() - start
    return grade


def expand(paths: list[str]) -> list[Path]:
    """Files to grade: each path, or the .ipynb files of each folder (a folder without any is reported)."""
    return [path for path, _ in submissions(paths)]


def submissions(paths: list[str]) -> list[tuple[Path, str | None]]:
    """(file, student) to grade for each path: a file (student None); a folder's .ipynb files; or, for a
    folder without any, nbgrader's layout under it, ``<student>/<assignment>/*.ipynb`` (as in its
    ``submitted/`` folder), each named by its student. A folder with neither is returned to be reported."""
    files: list[tuple[Path, str | None]] = []
    for name in paths:
        path = Path(name)
        if not path.is_dir():
            files.append((path, None))
        elif notebooks := sorted(path.glob("*.ipynb")):
            files += [(notebook, None) for notebook in notebooks]
        elif nested := sorted(path.glob("*/*/*.ipynb")):
            files += [(notebook, notebook.parent.parent.name) for notebook in nested]
        else:
            files.append((path, None))
    return files
