"""The registry of assignments, and ``check``: the call every check cell of a homework notebook makes.

Every module of ``recurrent_lib/homework/checks/`` defines one ``ASSIGNMENT``; they are collected here,
ordered by assignment name ("01_rnn_equation", "02_training_an_rnn", ...).
"""
import importlib
import pkgutil
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


def check(exercise_id: str, *objects: Any) -> None:
    """Check the student's ``objects`` (e.g. the function ``rnn_step``) for exercise ``exercise_id``.

    Prints one line when they are right; raises CheckFailure, which Jupyter shows as just its
    message, saying what is wrong when they are not.
    """
    ex = exercise(exercise_id)
    passed, message = ex.verdict(ex.observe(*objects))
    if not passed:
        raise CheckFailure(f"✗ {ex.label}: {message}")
    print(f"✓ {ex.label}: correct")


def observe(exercise_id: str, namespace: dict[str, Any]) -> str:
    """The grader's probe: observations (JSON) of the objects that ``namespace`` defines for the exercise."""
    return exercise(exercise_id).observe_namespace(namespace)
