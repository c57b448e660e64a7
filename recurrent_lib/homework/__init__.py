"""Homework: single-source notebooks in solutions/, generated exercises/, checks and a grader.

- ``check("1.1", rnn_step)`` in a notebook gives immediate feedback on one exercise;
- ``python -m recurrent_lib.homework build [--check]`` regenerates exercises/ from solutions/;
- ``python -m recurrent_lib.homework grade PATH... [--timeout S] [--json OUT]`` scores submissions;
- ``check_runs_end_to_end()``, every assignment's last check: importing this package in a Jupyter kernel
  starts the log of cells it reads (end_to_end.py), for nbgrader, which grades inside that kernel.
"""
from .assignments import ASSIGNMENTS, EXERCISES, check
from .end_to_end import check_runs_end_to_end, track
from .feedback import CheckFailure

__all__ = ["ASSIGNMENTS", "EXERCISES", "CheckFailure", "check", "check_runs_end_to_end"]

track()
