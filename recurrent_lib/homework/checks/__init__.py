"""The per-assignment checks: one module per homework notebook, each defining ``ASSIGNMENT``.

A module here is found by its name alone (``assignments.py`` imports every module of this folder),
so a new assignment is one new file: ``NN``'s checks for ``solutions/NN_topic.ipynb``.
"""
