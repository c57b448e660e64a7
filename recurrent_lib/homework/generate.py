"""exercises/ generated from solutions/: every solution region becomes a stub, every output is cleared.

A solution notebook marks the code a student writes with nbgrader's markers::

    def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
        ### BEGIN SOLUTION
        return torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)
        ### END SOLUTION

and the exercise notebook gets, at the same indentation, nbgrader's stub::

        # YOUR CODE HERE
        raise NotImplementedError()

Cells are locked as nbgrader's ``generate_assignment`` locks them (its LockCells defaults): a check
cell (nbgrader ``grade`` or ``locked``) gets ``editable: false, deletable: false``, a solution cell
``deletable: false``, so that JupyterLab keeps a student from deleting or editing them by accident.

Executing a notebook records timestamps in each code cell's metadata (``execution``). The build removes
them from solutions/ as well as from exercises/, so that nbgrader's release of a solution notebook
(which keeps whatever metadata the source has) equals its exercise notebook but for nbgrader's checksums.
"""
import copy
from pathlib import Path

import nbformat
from nbformat import NotebookNode

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")


def strip_solutions(source: str) -> str:
    """``source`` with each BEGIN/END SOLUTION region replaced by the stub; ValueError on unmatched markers."""
    kept: list[str] = []
    opened_at = 0  # line number of the open BEGIN marker, 0 outside a region
    for number, line in enumerate(source.splitlines(), 1):
        marker = line.strip()
        if marker == BEGIN:
            if opened_at:
                raise ValueError(f"line {number}: {BEGIN} inside the region opened on line {opened_at}")
            indent = line[: len(line) - len(line.lstrip())]
            kept += [indent + stub_line for stub_line in STUB]
            opened_at = number
        elif marker == END:
            if not opened_at:
                raise ValueError(f"line {number}: {END} without {BEGIN}")
            opened_at = 0
        elif not opened_at:
            kept.append(line)
    if opened_at:
        raise ValueError(f"line {opened_at}: {BEGIN} without {END}")
    return "\n".join(kept)


def lock(cell: NotebookNode) -> None:
    """Set JupyterLab's ``deletable``/``editable`` flags in ``cell``'s metadata as nbgrader's release does."""
    nbgrader = cell.metadata.get("nbgrader", {})
    if nbgrader.get("solution"):
        cell.metadata["deletable"] = False
    elif nbgrader.get("grade") or nbgrader.get("locked"):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False


def without_timestamps(notebook: NotebookNode) -> NotebookNode:
    """A copy of ``notebook`` without the execution timestamps (cell metadata ``execution``)."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    return notebook


def exercise_notebook(solution: NotebookNode) -> NotebookNode:
    """The student's version of a solution notebook (which is left unchanged)."""
    notebook = without_timestamps(solution)
    for number, cell in enumerate(notebook.cells, 1):
        lock(cell)
        if cell.cell_type != "code":
            continue
        has_markers = BEGIN in cell.source or END in cell.source
        if has_markers and not cell.metadata.get("nbgrader", {}).get("solution"):
            raise ValueError(f"cell {number} has solution markers but no nbgrader solution metadata")
        try:
            cell.source = strip_solutions(cell.source)
        except ValueError as error:
            raise ValueError(f"cell {number}, {error}") from None
        cell.outputs = []
        cell.execution_count = None
    return notebook


def render(notebook: NotebookNode) -> str:
    """The file text, exactly as nbformat.write would write it."""
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def build(solutions: Path, exercises: Path, check: bool = False) -> list[str]:
    """Strip execution timestamps from solutions/ and bring exercises/ in line with it (with ``check=True``,
    only compare).

    Returns what was (or, checking, would be) changed: one line per solution notebook with timestamps
    (rewritten without them; one without them is never rewritten) and one per stale, missing or orphaned
    exercise notebook.
    """
    if not solutions.is_dir():
        raise FileNotFoundError(f"no solutions folder at {solutions}")
    changes = []
    expected = {}
    for source in sorted(solutions.glob("*.ipynb")):
        solution = nbformat.read(source, as_version=4)
        try:
            expected[exercises / source.name] = render(exercise_notebook(solution))
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None
        if any("execution" in cell.metadata for cell in solution.cells):
            changes.append(f"{source} carries execution timestamps (cell metadata `execution`)")
            if not check:
                source.write_text(render(without_timestamps(solution)), encoding="utf-8")
    for path, text in expected.items():
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        changes.append(f"{path} is {'out of date' if path.exists() else 'missing'}")
        if not check:
            exercises.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in sorted(exercises.glob("*.ipynb")):
        if path not in expected:
            changes.append(f"{path} has no source in {solutions}")
            if not check:
                path.unlink()
    return changes
