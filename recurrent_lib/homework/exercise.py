"""An exercise in two halves: a probe that runs the student's code, a judge that reads what it returned.

The probe runs where the student's code lives (the notebook's kernel) and returns JSON; the judge
may run anywhere -- in the notebook for immediate feedback, or in the grader's own process, where
nothing the submission did can reach it.
"""
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .feedback import CheckFailure
from .wire import JSON, decode


_ABSENT = object()


@contextmanager
def substituted(function: Callable[..., Any], **references: Any) -> Iterator[None]:
    """While inside, the global names ``references`` (e.g. ``rnn_step=reference_step``) mean the references
    in the namespace ``function`` was defined in (the notebook's), and afterwards what they meant before.

    A check of exercise B, whose function calls the student's A by name, runs B inside this with the
    reference A, so that a mistake in A is reported on A alone. (Objects without a namespace of their
    own, such as a callable instance, run as they are.)
    """
    namespace = getattr(function, "__globals__", None)
    if not isinstance(namespace, dict):
        yield
        return
    before = {name: namespace.get(name, _ABSENT) for name in references}
    namespace.update(references)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is _ABSENT:
                namespace.pop(name, None)
            else:
                namespace[name] = value


@dataclass(frozen=True)
class Exercise:
    """One exercise of an assignment.

    probe(*objects) runs the student's ``names`` (functions) on seeded inputs and returns
    {case: wire.call(...) result}; judge({case: decoded result}) raises CheckFailure unless all are right.
    """

    id: str                                    # "1.1": assignment 01, exercise 1
    title: str                                 # "one RNN step"
    names: tuple[str, ...]                     # what the student defines, e.g. ("rnn_step",)
    probe: Callable[..., dict[str, JSON]]
    judge: Callable[[dict[str, Any]], None]
    points: int = 1

    @property
    def label(self) -> str:
        return f"Exercise {self.id} ({self.title})"

    def observe(self, *objects: Any) -> str:
        """The probe's observations of the student's ``objects`` (in the order of ``names``), as JSON text."""
        try:
            return json.dumps(self.probe(*objects))
        except Exception as error:  # the submission broke something the probe needs (e.g. patched torch)
            return json.dumps({"probe failed": f"{type(error).__name__}: {error}"})

    def observe_namespace(self, namespace: dict[str, Any]) -> str:
        """Like :meth:`observe`, taking the student's objects from ``namespace`` (the notebook's globals)."""
        missing = [name for name in self.names if name not in namespace]
        if missing:
            return json.dumps({"missing": missing})
        return self.observe(*(namespace[name] for name in self.names))

    def verdict(self, observations: str) -> tuple[bool, str]:
        """(passed, message) for observations made by :meth:`observe`."""
        try:
            results = json.loads(observations)
            if "missing" in results:
                names = " and ".join(results["missing"])
                return False, f"{names} is not defined (did the cell that defines it run without errors?)"
            if "probe failed" in results:
                return False, f"the check could not run your code: {results['probe failed']}"
            self.judge({case: decode(value) for case, value in results.items()})
        except CheckFailure as failure:
            return False, str(failure)
        except Exception as error:  # a result too odd to diagnose (e.g. complex numbers)
            return False, f"the check could not read your result ({type(error).__name__}: {error})"
        return True, "correct"


@dataclass(frozen=True)
class Assignment:
    """A homework notebook: solutions/<name>.ipynb, exercises/<name>.ipynb, graded by its exercises."""

    name: str                                  # "01_rnn_equation"
    title: str
    exercises: tuple[Exercise, ...]

    @property
    def points(self) -> int:
        return sum(exercise.points for exercise in self.exercises)
