"""The "runs end to end" point inside the student's own kernel, where nbgrader grades.

Our grader judges this line from its own run (grade.runs_end_to_end). nbgrader only runs the notebook's
check cells, so every assignment ends with one more: ``check_runs_end_to_end()``, worth the same point.
For it, importing ``recurrent_lib.homework`` in an IPython kernel starts a log of the cells that run
after it: whether each raised, and whether it was a check cell. The last check then applies the grader's
rule: no cell but a check raised (a given cell that breaks, an added cell, a timed-out cell), and at least
one check passed (an untouched notebook earns nothing).
"""
from dataclasses import dataclass
from typing import Any

from .feedback import CheckFailure

TITLE = "runs end to end"
FIX = "the notebook must run top to bottom without an error (Kernel > Restart Kernel and Run All Cells)"
CHECK_CALLS = ("check(", "check_runs_end_to_end(")  # how a check cell starts


@dataclass
class CellLog:
    """What the cells run so far did: the first error outside the check cells, and how many checks passed."""
    first_error: str | None = None
    checks_passed: int = 0

    def record(self, result: Any) -> None:
        """IPython's post_run_cell event: ``result`` is the cell's ExecutionResult."""
        source = result.info.raw_cell.strip()
        error = result.error_before_exec or result.error_in_exec
        if source.startswith(CHECK_CALLS):
            self.checks_passed += error is None
        elif error is not None and self.first_error is None:
            first = source.splitlines()[0] if source else "(empty)"
            first = first if len(first) <= 60 else first[:59] + "…"
            said = str(error).strip().splitlines()[0] if str(error).strip() else ""
            self.first_error = f"the cell {first!r} raised {type(error).__name__}" + (f": {said}" if said else "")


def track() -> None:
    """Start the log in this IPython kernel, once; outside IPython (a plain script, the grader's own
    process) there are no cells and nothing happens."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or hasattr(shell, "recurrent_course_cells"):
        return
    shell.recurrent_course_cells = CellLog()
    shell.events.register("post_run_cell", shell.recurrent_course_cells.record)


def check_runs_end_to_end() -> None:
    """The notebook's last check: prints one line when every cell above ran without an error and some
    check passed; raises CheckFailure naming the first cell that raised otherwise."""
    from IPython import get_ipython

    log = getattr(get_ipython(), "recurrent_course_cells", None)
    if log is None:
        raise CheckFailure(f"✗ {TITLE}: no cell was recorded (is `recurrent_lib.homework` imported in the first "
                           f"cell?): {FIX}")
    if log.first_error is not None:
        raise CheckFailure(f"✗ {TITLE}: {log.first_error}: {FIX}")
    if log.checks_passed == 0:
        raise CheckFailure(f"✗ {TITLE}: no exercise solved yet (no check has passed since the first cell ran)")
    print(f"✓ {TITLE}: every cell ran without an error")
