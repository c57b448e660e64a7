"""Grading time per notebook with and without the grader's sandbox, side by side in one run.

    .venv/bin/python benchmarks/grading_time.py [NOTEBOOK ...] [--repeats 2]

Default: every solutions/ notebook (the slowest to grade: every exercise runs to the end). Each is graded
``--repeats`` times each way, alternating sandboxed and not, so that the machine's load falls on both
alike. The table shows, each way, the median wall time, the difference, and that the scores agree.
(CPU time cannot be compared: the sandbox's processes are not reaped into this one's resource usage.)
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

from recurrent_lib.homework import sandbox
from recurrent_lib.homework.grade import grade_notebook

ROOT = Path(__file__).resolve().parents[1]


def graded(notebook: Path, sandboxed: bool) -> tuple[float, str]:
    """(wall seconds, score) of one grading."""
    start = time.perf_counter()
    grade = grade_notebook(notebook, sandboxed=sandboxed)
    score = f"{grade.score}/{grade.max_score}" if grade.error is None else grade.error
    return time.perf_counter() - start, score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, default=sorted((ROOT / "solutions").glob("*.ipynb")))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"sandbox: {sandbox.check()}\n")
    print(f"{'notebook':<36} {'sandboxed':>10} {'without':>8} {'diff':>6}  scores")
    differences = []
    for notebook in args.notebooks:
        runs: dict[bool, list[tuple[float, str]]] = {True: [], False: []}
        for _ in range(args.repeats):
            for sandboxed in (True, False):
                runs[sandboxed].append(graded(notebook, sandboxed))
        wall = {way: statistics.median(r[0] for r in runs[way]) for way in runs}
        differences.append(wall[True] - wall[False])
        scores = sorted({r[1] for way in runs for r in runs[way]})
        print(f"{notebook.parent.name + '/' + notebook.name:<36} {wall[True]:>9.1f}s {wall[False]:>7.1f}s "
              f"{wall[True] - wall[False]:>+5.1f}s  {' '.join(scores)}", flush=True)
    print(f"\nmedian difference per notebook: {statistics.median(differences):+.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
