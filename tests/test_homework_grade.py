"""The grader, end to end: `python -m recurrent_lib.homework grade` on the solutions, the generated
exercises and a battery of broken or dishonest submissions built here in tmp_path.

Every grading is a real CLI run (a fresh kernel each, in the sandbox; see test_homework_sandbox.py for
hostile submissions); they run two at a time in one fixture, and each test reads its case's exit status,
output and JSON. Every graded file must be left byte for byte as it was. Each notebook's score includes
the "runs end to end" line (1 point), lost when a given or added cell raised, timed out or killed the kernel.
"""
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from recurrent_lib.homework import ASSIGNMENTS, sandbox
from recurrent_lib.homework.grade import RUNS_ID, shorten, submissions

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_01 = ROOT / "solutions" / "01_rnn_equation.ipynb"
SOLUTION_02 = ROOT / "solutions" / "02_training_an_rnn.ipynb"
EXERCISE_01 = ROOT / "exercises" / "01_rnn_equation.ipynb"
EXERCISE_02 = ROOT / "exercises" / "02_training_an_rnn.ipynb"


def can_sandbox() -> bool:
    try:
        sandbox.check()
        return True
    except sandbox.Unavailable:
        return False


# Where the machine cannot sandbox (test_homework_sandbox.py says why), the grader's logic is still tested.
UNSANDBOXED = [] if can_sandbox() else ["--no-sandbox"]


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    report: dict | None
    seconds: float
    unchanged: bool


def variant(source: Path, target: Path, *, replace: dict[str, str] | None = None,
            insert_after: dict[str, str] | None = None, drop_checks: bool = False) -> Path:
    """A copy of ``source`` with cells (found by nbgrader grade_id) replaced, cells inserted after them,
    or the check cells removed."""
    notebook = nbformat.read(source, as_version=4)
    cells = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if drop_checks and meta.get("grade") and not meta.get("solution"):
            continue
        if grade_id in (replace or {}):
            cell.source = replace[grade_id]
        cells.append(cell)
        if grade_id in (insert_after or {}):
            cells.append(new_code_cell(insert_after[grade_id]))
    notebook.cells = cells
    nbformat.write(notebook, target)
    return target


def build_cases(folder: Path) -> dict[str, tuple[list[str], list[str]]]:
    """case -> (paths to grade, extra CLI arguments)."""
    s1, e1 = SOLUTION_01, EXERCISE_01
    loop = "while True:\n    pass"
    cases = {
        **{f"solution {name}": [ROOT / "solutions" / f"{name}.ipynb"] for name in ASSIGNMENTS},
        **{f"exercise {name}": [ROOT / "exercises" / f"{name}.ipynb"] for name in ASSIGNMENTS},
        "syntax error": [variant(s1, folder / "syntax_01_rnn_equation.ipynb", replace={
            "rnn_forward": "def rnn_forward(x, h_0, W_ih, W_hh, b_ih, b_hh)\n    return x"})],
        "endless loop": [variant(s1, folder / "loop_01_rnn_equation.ipynb",
                                 replace={"count_rnn_parameters": "def count_rnn_parameters(*args, **kwargs):\n" + "    " + loop.replace("\n", "\n    ")},
                                 insert_after={"check_rnn_step": loop})],
        "exception": [variant(s1, folder / "exception_01_rnn_equation.ipynb",
                              replace={"count_rnn_parameters": "def count_rnn_parameters(*args, **kwargs):\n    return 1 / 0"},
                              insert_after={"check_rnn_step": "raise RuntimeError('a cell that fails')"})],
        "wrong shape": [variant(s1, folder / "shape_01_rnn_equation.ipynb", replace={
            "rnn_step": "def rnn_step(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n"
                        "    return torch.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).T"})],
        "NaN": [variant(SOLUTION_02, folder / "nan_02_training_an_rnn.ipynb", replace={
            "classify": "def classify(model, name_tensor):\n    hidden = model.init_hidden()\n"
                        "    for x_t in name_tensor:\n        output, hidden = model(x_t, hidden)\n"
                        "    return output * float('nan')"})],
        "deleted check cells, solved": [variant(s1, folder / "nochecks_solved_01_rnn_equation.ipynb", drop_checks=True)],
        "deleted check cells, unsolved": [variant(e1, folder / "nochecks_01_rnn_equation.ipynb", drop_checks=True)],
        "fake printed score": [variant(e1, folder / "fake_01_rnn_equation.ipynb", insert_after={"check_rnn_output_shapes": (
            "for i in range(1, 6):\n    print(f'✓ 1.{i} correct')\nprint('score: 5/5')\n"
            "print('{\"1.1\": {\"passed\": true}}')")}, replace={"check_rnn_step": "print('✓ Exercise 1.1 (one RNN step): correct')"})],
        "monkeypatched check": [variant(e1, folder / "patched_01_rnn_equation.ipynb", insert_after={"check_rnn_output_shapes": (
            "import torch, recurrent_lib.homework as hw\n"
            "from recurrent_lib.homework import assignments, exercise, feedback\n"
            "hw.check = assignments.check = lambda *args: print('✓ correct')\n"
            "exercise.Exercise.verdict = lambda self, observations: (True, 'correct')\n"
            "feedback.close = lambda *args, **kwargs: True\n"
            "torch.allclose = lambda *args, **kwargs: True\n"
            "for e in assignments.EXERCISES.values():\n    object.__setattr__(e, 'judge', lambda results: None)")})],
        "kernel killed": [variant(s1, folder / "killed_01_rnn_equation.ipynb",
                                  insert_after={"check_rnn_forward": "import os\nos._exit(1)"})],
        "invalid JSON": [_write(folder / "invalid_01_rnn_equation.ipynb", '{"cells": [')],
        "empty file": [_write(folder / "empty_01_rnn_equation.ipynb", "")],
        "missing file": [str(folder / "missing_01_rnn_equation.ipynb")],
        "not our assignment": [_not_ours(folder / "lab_notes.ipynb")],
    }
    cases["no sandbox"] = [variant(s1, folder / "nosandbox_01_rnn_equation.ipynb")]
    arguments = {"endless loop": ["--timeout", "10"],  # short, yet long enough for `import torch` on a busy machine
                 "no sandbox": ["--no-sandbox"]}
    return {case: ([str(p) for p in paths], arguments.get(case, [])) for case, paths in cases.items()}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _not_ours(path: Path) -> Path:
    nbformat.write(new_notebook(cells=[new_code_cell("print('hello')")]), path)
    return path


def grade(paths: list[str], arguments: list[str], json_out: Path) -> Outcome:
    before = {p: Path(p).read_bytes() for p in paths if Path(p).is_file()}
    start = time.perf_counter()
    process = subprocess.run([sys.executable, "-m", "recurrent_lib.homework", "grade", *paths, *arguments,
                              *(UNSANDBOXED if "--no-sandbox" not in arguments else []), "--json", str(json_out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    seconds = time.perf_counter() - start
    report = json.loads(json_out.read_text()) if json_out.exists() else None
    unchanged = all(Path(p).read_bytes() == data for p, data in before.items())
    return Outcome(process.returncode, process.stdout, process.stderr, report, seconds, unchanged)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    folder = tmp_path_factory.mktemp("submissions")
    cases = build_cases(folder)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case: pool.submit(grade, paths, arguments, folder / f"{i}.json")
                   for i, (case, (paths, arguments)) in enumerate(cases.items())}
        results = {case: future.result() for case, future in futures.items()}
    print(f"\n{len(cases)} gradings in {time.perf_counter() - start:.1f} s (two at a time)")
    for case, outcome in results.items():
        notebook = (outcome.report or {}).get("notebooks", [{}])[0]
        print(f"  {case:<32} exit {outcome.returncode}  score {notebook.get('score')}/{notebook.get('max_score')}"
              f"  {outcome.seconds:5.1f} s")
    return results


def exercises_of(outcome: Outcome) -> dict[str, dict]:
    return {e["id"]: e for e in outcome.report["notebooks"][0]["exercises"] if e["id"] != RUNS_ID}


def runs(outcome: Outcome) -> dict:
    """The notebook's "runs end to end" line."""
    return next(e for e in outcome.report["notebooks"][0]["exercises"] if e["id"] == RUNS_ID)


def score(outcome: Outcome) -> tuple[int, int]:
    notebook = outcome.report["notebooks"][0]
    return notebook["score"], notebook["max_score"]


def test_every_graded_file_is_left_unchanged(outcomes: dict[str, Outcome]) -> None:
    changed = [case for case, outcome in outcomes.items() if not outcome.unchanged]
    assert not changed, f"the grader modified the submission in: {changed}"


def test_no_grading_crashes(outcomes: dict[str, Outcome]) -> None:
    for case, outcome in outcomes.items():
        assert "Traceback" not in outcome.stdout + outcome.stderr, f"{case}: {outcome.stderr}"


def test_the_json_reports_the_sandbox_or_warns_without_it(outcomes: dict[str, Outcome]) -> None:
    if not UNSANDBOXED:
        report = outcomes["solution 01_rnn_equation"].report
        assert report["sandbox"].startswith("bubblewrap") and report["warning"] is None
    unsandboxed = outcomes["no sandbox"]
    assert unsandboxed.report["sandbox"] is None and "ran unsandboxed" in unsandboxed.report["warning"]
    assert "warning: --no-sandbox" in unsandboxed.stderr
    assert unsandboxed.returncode == 0 and score(unsandboxed) == (6, 6)  # the same grading, outside the sandbox


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_solutions_score_full_marks(outcomes: dict[str, Outcome], name: str) -> None:
    outcome, points = outcomes[f"solution {name}"], ASSIGNMENTS[name].points + 1  # + runs end to end
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert score(outcome) == (points, points)
    lines = outcome.stdout.strip().splitlines()
    assert lines[-1] == f"score: {points}/{points}"
    assert sum(line.startswith("✓ ") for line in lines) == points
    assert lines[-2] == "✓ run runs end to end: correct"
    assert not outcome.report["notebooks"][0]["notes"]


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_generated_exercises_score_zero(outcomes: dict[str, Outcome], name: str) -> None:
    outcome, points = outcomes[f"exercise {name}"], ASSIGNMENTS[name].points + 1
    assert outcome.returncode == 1
    assert score(outcome) == (0, points)
    assert all("not implemented yet" in e["message"] for e in exercises_of(outcome).values())
    assert not runs(outcome)["passed"]


def test_syntax_error_fails_only_its_own_exercise(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["syntax error"]
    results = exercises_of(outcome)
    assert outcome.returncode == 1 and score(outcome) == (4, 6)  # 1.2, and the notebook does not run end to end
    assert "rnn_forward is not defined" in results["1.2"]["message"]
    assert runs(outcome)["message"].startswith("the cell of exercise 1.2 (def rnn_forward(x, h_0, W_ih, W_hh, b_ih, "
                                               "b_hh)) raised SyntaxError")
    assert results["1.3"]["passed"]  # it calls rnn_forward: its check supplies the reference one
    assert any(note.startswith("the cell of exercise 1.2 (def rnn_forward(x, h_0, W_ih, W_hh, b_ih, b_hh)) raised "
                               "SyntaxError") for note in outcome.report["notebooks"][0]["notes"])


def test_endless_loops_are_interrupted_and_grading_goes_on(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["endless loop"]
    results = exercises_of(outcome)
    assert outcome.returncode == 1 and score(outcome) == (4, 6)
    assert "ran longer than 10 s" in results["1.4"]["message"]
    assert "ran longer than 10 s and was interrupted" in runs(outcome)["message"]
    assert any("ran longer than 10 s and was interrupted" in note for note in outcome.report["notebooks"][0]["notes"])


def test_exceptions_are_reported_and_grading_goes_on(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["exception"]
    assert outcome.returncode == 1 and score(outcome) == (4, 6)
    assert "raised ZeroDivisionError: division by zero" in exercises_of(outcome)["1.4"]["message"]
    assert not runs(outcome)["passed"]
    assert "the cell \"raise RuntimeError('a cell that fails')\" raised RuntimeError: a cell that fails" in \
        outcome.report["notebooks"][0]["notes"]


def test_wrong_shape_is_diagnosed(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["wrong shape"]
    message = exercises_of(outcome)["1.1"]["message"]
    assert outcome.returncode == 1 and score(outcome) == (5, 6)  # 1.2 and 1.3 are checked with the reference rnn_step
    assert "of shape (2, 4) = (batch, hidden_size), got (4, 2)" in message
    assert f"✗ 1.1 one RNN step: {message}" in outcome.stdout


def test_nan_is_diagnosed(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["NaN"]
    results = exercises_of(outcome)
    assert outcome.returncode == 1 and score(outcome)[0] in (5, 6)  # 2.2; the run line counts the given cells
    assert "contains NaN" in results["2.2"]["message"]
    assert results["2.3"]["passed"]  # train_step calls classify: its check supplies the reference one


def test_deleting_check_cells_changes_nothing(outcomes: dict[str, Outcome]) -> None:
    assert outcomes["deleted check cells, solved"].returncode == 0
    assert score(outcomes["deleted check cells, solved"]) == (6, 6)
    assert outcomes["deleted check cells, unsolved"].returncode == 1
    assert score(outcomes["deleted check cells, unsolved"]) == (0, 6)


@pytest.mark.parametrize("case", ["fake printed score", "monkeypatched check"])
def test_faking_or_patching_the_checks_changes_nothing(outcomes: dict[str, Outcome], case: str) -> None:
    outcome = outcomes[case]
    assert outcome.returncode == 1 and score(outcome) == (0, 6)
    assert outcome.stdout.strip().splitlines()[-1] == "score: 0/6"
    assert all("not implemented yet" in e["message"] for e in exercises_of(outcome).values())


def test_a_cell_that_kills_the_kernel_is_skipped_and_costs_the_run_line(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["kernel killed"]
    assert outcome.returncode == 1 and score(outcome) == (5, 6)
    assert all(e["passed"] for e in exercises_of(outcome).values())
    assert runs(outcome)["message"].startswith("the cell 'import os' made the kernel die")
    assert any("made the kernel die" in note for note in outcome.report["notebooks"][0]["notes"])


@pytest.mark.parametrize("case, reason", [
    ("invalid JSON", "not a notebook: invalid JSON"),
    ("empty file", "empty file"),
    ("missing file", "no such file"),
    ("not our assignment", "not one of our assignments"),
])
def test_ungradable_files_exit_2_with_a_one_line_reason(outcomes: dict[str, Outcome], case: str, reason: str) -> None:
    outcome = outcomes[case]
    assert outcome.returncode == 2
    assert outcome.stderr.count("\n") == 1 + len(UNSANDBOXED) and f"cannot grade: {reason}" in outcome.stderr
    notebook = outcome.report["notebooks"][0]
    assert notebook["graded"] is False and reason in notebook["error"]


def test_a_folder_is_graded_as_a_class(tmp_path: Path) -> None:
    """Two students and an empty file in one folder, two at a time: a table, and exit 2 for the bad file."""
    variant(SOLUTION_01, tmp_path / "alice.ipynb")
    variant(EXERCISE_01, tmp_path / "bob.ipynb")
    _write(tmp_path / "carol.ipynb", "")
    outcome = grade([str(tmp_path)], ["--jobs", "2"], tmp_path / "class.json")
    assert outcome.returncode == 2
    lines = outcome.stdout.splitlines()
    assert lines[0] == "01_rnn_equation: 2 notebooks"
    assert lines[1].split() == ["student", "1.1", "1.2", "1.3", "1.4", "1.5", "run", "score"]
    assert lines[2].split() == ["alice.ipynb"] + ["✓"] * 6 + ["6/6"]
    assert lines[3].split() == ["bob.ipynb"] + ["✗"] * 6 + ["0/6"]
    assert lines[-1] == f"{tmp_path / 'carol.ipynb'}: cannot grade: empty file"
    assert outcome.report["totals"] == {"notebooks": 3, "graded": 2, "full_marks": 1}


def test_long_messages_are_cut_at_a_word_boundary() -> None:
    message = "Expected input batch_size (1) to match target batch_size (0). " * 5
    cut = shorten(message, 80)
    assert len(cut) <= 80 and cut.endswith("…") and message.startswith(cut[:-1])
    assert message.split()[len(cut[:-1].split()) - 1] == cut[:-1].split()[-1]  # the last word is whole
    assert shorten("short", 80) == "short"


def test_nbgrader_submitted_folder_is_graded_by_student(tmp_path: Path) -> None:
    """nbgrader's layout, submitted/<student>/<assignment>/<notebook>.ipynb: one row per student."""
    submitted = tmp_path / "submitted"
    for student, source in (("alice", SOLUTION_01), ("bob", EXERCISE_01)):
        (submitted / student / "01_rnn_equation").mkdir(parents=True)
        variant(source, submitted / student / "01_rnn_equation" / "01_rnn_equation.ipynb")
        (submitted / student / "01_rnn_equation" / "timestamp.txt").write_text("2026-11-25 10:00:00")
    assert [(path.parts[-3:], student) for path, student in submissions([str(submitted)])] == [
        (("alice", "01_rnn_equation", "01_rnn_equation.ipynb"), "alice"),
        (("bob", "01_rnn_equation", "01_rnn_equation.ipynb"), "bob")]
    outcome = grade([str(submitted)], ["--jobs", "2"], tmp_path / "class.json")
    assert outcome.returncode == 1, outcome.stdout + outcome.stderr
    lines = outcome.stdout.splitlines()
    assert lines[0] == "01_rnn_equation: 2 notebooks"
    assert lines[2].split() == ["alice"] + ["✓"] * 6 + ["6/6"]
    assert lines[3].split() == ["bob"] + ["✗"] * 6 + ["0/6"]
    assert [n["student"] for n in outcome.report["notebooks"]] == ["alice", "bob"]


def test_a_class_folder_is_graded_by_student(tmp_path: Path) -> None:
    """A learning platform's export, class/<student>/<notebook>.ipynb: one row per student, named by folder;
    JupyterLab's hidden .ipynb_checkpoints/ folders are left out."""
    roster = tmp_path / "class"
    for student, source in (("alice", SOLUTION_01), ("bob", EXERCISE_01)):
        (roster / student / ".ipynb_checkpoints").mkdir(parents=True)
        variant(source, roster / student / "01_rnn_equation.ipynb")
        variant(source, roster / student / ".ipynb_checkpoints" / "01_rnn_equation-checkpoint.ipynb")
    assert [(path.relative_to(roster).parts, student) for path, student in submissions([str(roster)])] == [
        (("alice", "01_rnn_equation.ipynb"), "alice"), (("bob", "01_rnn_equation.ipynb"), "bob")]


def test_a_folder_with_no_notebook_anywhere_says_where_it_looked(tmp_path: Path) -> None:
    outcome = grade([str(tmp_path)], [], tmp_path.parent / f"{tmp_path.name}.json")
    assert outcome.returncode == 2
    assert ("a folder without any .ipynb file, in it, in <student>/ folders under it (a class folder) or in "
            "nbgrader's <student>/<assignment>/ folders") in outcome.stderr
