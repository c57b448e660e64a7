"""solutions/ is the single source of the homework: exercises/ is generated from it and must be fresh,
and the notebooks carry the metadata that the grader and nbgrader rely on."""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from recurrent_lib.homework import ASSIGNMENTS
from recurrent_lib.homework.__main__ import main
from recurrent_lib.homework.generate import BEGIN, END, build, exercise_notebook, render, strip_solutions
from recurrent_lib.homework.grade import RUNS_POINTS

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recurrent_lib.homework", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def nbgrader(cell: nbformat.NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_exercises_are_up_to_date_with_solutions() -> None:
    result = run_cli("build", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_assignment_has_a_solution_and_an_exercise_notebook() -> None:
    assert [path.stem for path in SOLUTIONS] == list(ASSIGNMENTS)
    assert sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb")) == [p.name for p in SOLUTIONS]


def test_solution_regions_become_stubs_at_their_indentation() -> None:
    source = f"def f(x):\n    y = 1\n    {BEGIN}\n    return x + y\n    {END}\n\nf(2)"
    assert strip_solutions(source) == "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nf(2)"


@pytest.mark.parametrize("source, error", [
    (f"{BEGIN}\nx = 1", f"line 1: {BEGIN} without {END}"),
    (f"x = 1\n{END}", f"line 2: {END} without {BEGIN}"),
    (f"{BEGIN}\n{BEGIN}\n{END}", f"line 2: {BEGIN} inside the region opened on line 1"),
])
def test_unmatched_markers_are_refused(source: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        strip_solutions(source)


@pytest.mark.parametrize("solution_path", SOLUTIONS, ids=lambda p: p.stem)
def test_exercise_notebooks_have_stubs_no_solutions_and_no_outputs(solution_path: Path) -> None:
    solution = nbformat.read(solution_path, as_version=4)
    exercise = nbformat.read(ROOT / "exercises" / solution_path.name, as_version=4)
    assert len(exercise.cells) == len(solution.cells)
    assert exercise.metadata == solution.metadata
    for before, after in zip(solution.cells, exercise.cells):
        assert nbgrader(after) == nbgrader(before)
        if after.cell_type != "code":
            assert after.source == before.source
            continue
        assert after.outputs == [] and after.execution_count is None
        assert BEGIN not in after.source and END not in after.source
        if nbgrader(before).get("solution"):
            assert BEGIN in before.source and "raise NotImplementedError()" in after.source


def test_build_check_fails_on_stale_missing_or_orphaned_exercises(tmp_path: Path) -> None:
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    cell = new_code_cell(f"def f():\n    {BEGIN}\n    return 1\n    {END}")
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False, "grade_id": "f",
                                 "schema_version": 3}
    nbformat.write(new_notebook(cells=[cell]), solutions / "01_x.ipynb")
    missing = [str(exercises / "01_x.ipynb") + " is missing"]
    assert build(solutions, exercises, check=True) == missing
    assert not exercises.exists()  # --check changes nothing

    args = ["build", "--solutions", str(solutions), "--exercises", str(exercises)]
    assert main([*args, "--check"]) == 1
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    assert "raise NotImplementedError()" in (exercises / "01_x.ipynb").read_text()

    (exercises / "01_x.ipynb").write_text((exercises / "01_x.ipynb").read_text().replace("YOUR CODE", "MY CODE"))
    (exercises / "99_orphan.ipynb").write_text("{}")
    assert build(solutions, exercises, check=True) == [f"{exercises / '01_x.ipynb'} is out of date",
                                                        f"{exercises / '99_orphan.ipynb'} has no source in {solutions}"]
    assert main([*args, "--check"]) == 1
    build(solutions, exercises)
    assert build(solutions, exercises, check=True) == []
    assert not (exercises / "99_orphan.ipynb").exists()


@pytest.mark.parametrize("solution_path", SOLUTIONS, ids=lambda p: p.stem)
def test_solutions_carry_no_execution_timestamps(solution_path: Path) -> None:
    """nbgrader's release keeps a source's cell metadata: timestamps in solutions/ would reach the students."""
    stamped = [number for number, cell in enumerate(nbformat.read(solution_path, as_version=4).cells, 1)
               if "execution" in cell.metadata]
    assert not stamped, (f"cells {stamped} carry execution timestamps (cell metadata `execution`): "
                         "run `python -m recurrent_lib.homework build`")


STAMP = {"iopub.execute_input": "2026-01-01T00:00:00.000001Z", "iopub.status.busy": "2026-01-01T00:00:00.000000Z",
         "iopub.status.idle": "2026-01-01T00:00:00.000002Z", "shell.execute_reply": "2026-01-01T00:00:00.000002Z"}


def without_execution(notebook: dict) -> dict:
    for cell in notebook["cells"]:
        cell["metadata"].pop("execution", None)
    return notebook


def test_build_strips_timestamps_from_solutions_and_nothing_else(tmp_path: Path) -> None:
    """On copies of every solution, stamped as nbconvert --execute stamps them: --check reports the
    timestamps and changes nothing; the build removes them and only them, from solutions/ and exercises/
    alike; a second build changes nothing; a notebook without timestamps is never rewritten."""
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    stamped = {}
    for path in SOLUTIONS:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.metadata["execution"] = dict(STAMP)
        stamped[path.name] = render(notebook)
        (solutions / path.name).write_text(stamped[path.name], encoding="utf-8")
    unstamped = solutions / "99_unstamped.ipynb"  # not as nbformat writes it: a rewrite would show
    unstamped.write_text(json.dumps(new_notebook(), indent=2), encoding="utf-8")
    args = ["build", "--solutions", str(solutions), "--exercises", str(exercises)]

    reported = [f"{solutions / name} carries execution timestamps (cell metadata `execution`)" for name in stamped]
    assert build(solutions, exercises, check=True)[:len(stamped)] == reported
    assert main([*args, "--check"]) == 1
    assert {name: (solutions / name).read_text(encoding="utf-8") for name in stamped} == stamped

    assert build(solutions, exercises)[:len(stamped)] == reported
    for name, text in stamped.items():
        after = (solutions / name).read_text(encoding="utf-8")
        assert json.loads(after) == without_execution(json.loads(text))
        assert after == render(nbformat.reads(after, as_version=4))  # still exactly as nbformat writes it
        assert not any("execution" in cell.metadata for cell in nbformat.read(exercises / name, as_version=4).cells)
    assert build(solutions, exercises, check=True) == []
    assert main([*args, "--check"]) == 0
    assert unstamped.read_text(encoding="utf-8") == json.dumps(new_notebook(), indent=2)


def test_solution_markers_need_nbgrader_solution_metadata() -> None:
    with pytest.raises(ValueError, match="cell 1 has solution markers but no nbgrader solution metadata"):
        exercise_notebook(new_notebook(cells=[new_code_cell(f"{BEGIN}\nx = 1\n{END}")]))


@pytest.mark.parametrize("solution_path", SOLUTIONS, ids=lambda p: p.stem)
def test_solutions_carry_nbgrader_metadata_and_one_check_cell_per_exercise(solution_path: Path) -> None:
    notebook = nbformat.read(solution_path, as_version=4)
    assignment = ASSIGNMENTS[notebook.metadata["recurrent_course"]["assignment"]]
    assert assignment.name == solution_path.stem
    assert notebook.metadata["kernelspec"]["name"] == "rnn-course"
    graded = [cell for cell in notebook.cells if nbgrader(cell)]
    grade_ids = [nbgrader(cell)["grade_id"] for cell in graded]
    assert len(grade_ids) == len(set(grade_ids)), "nbgrader needs unique grade_ids"
    last = graded.pop()  # every assignment ends with the "runs end to end" check (end_to_end.py), its last code cell
    assert last is [cell for cell in notebook.cells if cell.cell_type == "code"][-1]
    assert (last.source, nbgrader(last)) == ("check_runs_end_to_end()", {
        "grade": True, "solution": False, "locked": True, "points": RUNS_POINTS, "grade_id": "check_runs_end_to_end",
        "schema_version": 3})
    checked = []
    for cell in graded:
        meta = nbgrader(cell)
        if meta["solution"]:
            assert meta == {"solution": True, "grade": False, "locked": False, "grade_id": meta["grade_id"],
                            "schema_version": 3}
            assert BEGIN in cell.source and END in cell.source
        else:
            assert meta == {"grade": True, "solution": False, "locked": True, "points": 1,
                            "grade_id": meta["grade_id"], "schema_version": 3}
            exercise_id, names = re.fullmatch(r'check\("([\d.]+)", (.+)\)', cell.source).groups()
            checked.append((exercise_id, tuple(names.split(", "))))
    assert checked == [(exercise.id, exercise.names) for exercise in assignment.exercises]
    assert sum(nbgrader(c)["solution"] for c in graded) == len(assignment.exercises)


@pytest.mark.parametrize("solution_path", SOLUTIONS, ids=lambda p: p.stem)
def test_exercise_cells_are_locked_as_nbgrader_releases_them(solution_path: Path) -> None:
    """Check cells: not editable, not deletable; solution cells: not deletable; other cells: as they were
    (nbgrader's LockCells defaults), so JupyterLab keeps a student from removing a check by accident."""
    solution = nbformat.read(solution_path, as_version=4)
    exercise = nbformat.read(ROOT / "exercises" / solution_path.name, as_version=4)
    flags = [(cell.metadata.get("editable"), cell.metadata.get("deletable")) for cell in exercise.cells]
    for before, (editable, deletable) in zip(solution.cells, flags):
        meta = nbgrader(before)
        if meta.get("solution"):
            assert (editable, deletable) == (None, False)
        elif meta.get("grade") or meta.get("locked"):
            assert (editable, deletable) == (False, False)
        else:
            assert (editable, deletable) == (None, None)
    assert (False, False) in flags and (None, False) in flags


def test_locking_follows_nbgrader_metadata_not_the_cell_source() -> None:
    checked, solved, plain = new_code_cell("check('1.1', f)"), new_code_cell(f"{BEGIN}\nx = 1\n{END}"), new_code_cell("x")
    checked.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "c",
                                    "schema_version": 3}
    solved.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False, "grade_id": "s",
                                   "schema_version": 3}
    cells = exercise_notebook(new_notebook(cells=[checked, solved, plain])).cells
    assert [(c.metadata.get("editable"), c.metadata.get("deletable")) for c in cells] == [
        (False, False), (None, False), (None, None)]
