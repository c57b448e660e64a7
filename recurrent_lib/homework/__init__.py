"""Homework: single-source notebooks in solutions/, generated exercises/, checks and a grader.

- ``check("1.1", rnn_step)`` in a notebook gives immediate feedback on one exercise;
- ``python -m recurrent_lib.homework build [--check]`` regenerates exercises/ from solutions/;
- ``python -m recurrent_lib.homework grade PATH... [--timeout S] [--json OUT]`` scores submissions.
"""
from .assignments import ASSIGNMENTS, EXERCISES, check
from .feedback import CheckFailure

__all__ = ["ASSIGNMENTS", "EXERCISES", "CheckFailure", "check"]
