"""The "runs end to end" check inside the student's kernel, as nbgrader runs a notebook: every cell in one
kernel, going on past errors, the check cells included (nbclient with allow_errors, nbgrader's settings)."""
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbformat.v4 import new_code_cell, new_notebook
from nbclient import NotebookClient

from recurrent_lib.homework import CheckFailure, check_runs_end_to_end
from recurrent_lib.homework.generate import strip_solutions
from recurrent_lib.homework.run_cells import NativeKernelSpecs

SOLUTION = Path(__file__).resolve().parent.parent / "solutions" / "01_rnn_equation.ipynb"
IMPORTS = "from recurrent_lib.homework import check, check_runs_end_to_end"


def exercise_1_5(solved: bool) -> list[str]:
    """Homework 01's exercise 1.5 (solved, or the stub students get) and its check cell."""
    cells = nbformat.read(SOLUTION, as_version=4).cells
    index = next(i for i, cell in enumerate(cells) if cell.source == 'check("1.5", rnn_output_shapes)')
    answer = cells[index - 1].source
    return [answer if solved else strip_solutions(answer), cells[index].source]


def last_check(*sources: str, slow: str | None = None) -> str:
    """Run ``sources`` as nbgrader does, then the last check; its output (stdout or the error's message).
    The cell ``slow`` is interrupted after 5 s, as nbgrader's timeout would; the others have 120 s."""
    notebook = new_notebook(cells=[new_code_cell(source) for source in (*sources, "check_runs_end_to_end()")])
    client = NotebookClient(notebook, timeout_func=lambda cell: 5 if cell.source == slow else 120, allow_errors=True,
                            interrupt_on_timeout=True, kernel_name="python3",
                            km=AsyncKernelManager(kernel_spec_manager=NativeKernelSpecs()))
    client.execute()
    (output,) = notebook.cells[-1].outputs
    return output.get("text") or output.get("evalue", "")


def test_a_notebook_that_runs_through_earns_the_point() -> None:
    assert last_check(IMPORTS, *exercise_1_5(solved=True), "shapes = rnn_output_shapes(5, 3, 10, 20)") == (
        "✓ runs end to end: every cell ran without an error\n")


def test_a_given_cell_that_raises_costs_the_point_and_is_named() -> None:
    said = last_check(IMPORTS, *exercise_1_5(solved=True), "import torch\nx = torch.zeros(2, 3) @ torch.zeros(2, 3)",
                      "print('later cells still run')")
    assert said.startswith("✗ runs end to end: the cell 'import torch' raised RuntimeError: mat1 and mat2 shapes "
                           "cannot be multiplied"), said
    assert said.endswith("the notebook must run top to bottom without an error (Kernel > Restart Kernel and Run All "
                         "Cells)"), said


def test_a_cell_interrupted_at_the_time_limit_costs_the_point() -> None:
    sleeper = "import time\ntime.sleep(60)"
    said = last_check(IMPORTS, *exercise_1_5(solved=True), sleeper, slow=sleeper)
    assert said.startswith("✗ runs end to end: the cell 'import time' raised KeyboardInterrupt"), said


def test_a_failing_check_costs_only_its_exercise_and_an_untouched_notebook_earns_nothing() -> None:
    said = last_check(IMPORTS, *exercise_1_5(solved=False))
    assert said == "✗ runs end to end: no exercise solved yet (no check has passed since the first cell ran)", said


def test_outside_a_kernel_it_says_what_to_do() -> None:
    with pytest.raises(CheckFailure, match=r"no cell was recorded \(is `recurrent_lib.homework` imported in the "
                                           r"first cell\?\)"):
        check_runs_end_to_end()
