"""The registry of assignments, and ``check``: the call every check cell of a homework notebook makes.

Every module of ``recurrent_lib/homework/checks/`` defines one ``ASSIGNMENT``; they are collected here,
ordered by assignment name ("01_rnn_equation", "02_training_an_rnn", ...).
"""
import importlib
import pkgutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import checks
from .exercise import Assignment, Exercise
from .feedback import CheckFailure


def _collect() -> dict[str, Assignment]:
    found = [importlib.import_module(f"{checks.__name__}.{module.name}").ASSIGNMENT
             for module in pkgutil.iter_modules(checks.__path__)]
    return {a.name: a for a in sorted(found, key=lambda a: a.name)}


ASSIGNMENTS: dict[str, Assignment] = _collect()
EXERCISES: dict[str, Exercise] = {e.id: e for a in ASSIGNMENTS.values() for e in a.exercises}


def exercise(exercise_id: str) -> Exercise:
    if exercise_id not in EXERCISES:
        raise KeyError(f"no exercise {exercise_id!r}; the exercises are {', '.join(EXERCISES)}")
    return EXERCISES[exercise_id]


CHECK_TIME_LIMIT = 10.0  # seconds a check cell may spend running the student's code


class _TimeUp(BaseException):
    """Raised by the alarm inside the student's code; a BaseException, so that `except Exception` in the
    student's code or in wire.call does not swallow it."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise _TimeUp in the code inside after ``seconds`` (a SIGALRM timer; where there is none -- Windows,
    or outside the main thread -- the code runs without a limit, as does ``seconds=None``)."""
    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise _TimeUp()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check(exercise_id: str, *objects: Any, seconds: float | None = CHECK_TIME_LIMIT) -> None:
    """Check the student's ``objects`` (e.g. the function ``rnn_step``) for exercise ``exercise_id``.

    Prints one line when they are right; raises CheckFailure, which Jupyter shows as just its
    message, saying what is wrong when they are not -- also when the student's code has not returned
    within ``seconds`` (an endless loop must not hang the check cell).
    """
    ex = exercise(exercise_id)
    try:
        with time_limit(seconds):
            observations = ex.observe(*objects)
    except _TimeUp:
        raise CheckFailure(f"✗ {ex.label}: your code did not return within {seconds:g} s, so the check stopped it "
                           f"(an endless loop?)") from None
    passed, message = ex.verdict(observations)
    if not passed:
        raise CheckFailure(f"✗ {ex.label}: {message}")
    print(f"✓ {ex.label}: correct")


def observe(exercise_id: str, namespace: dict[str, Any]) -> str:
    """The grader's probe: observations (JSON) of the objects that ``namespace`` defines for the exercise."""
    return exercise(exercise_id).observe_namespace(namespace)
