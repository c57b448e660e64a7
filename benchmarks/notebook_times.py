"""Measure how long every course notebook takes to run top to bottom in a fresh kernel.

    .venv/bin/python benchmarks/notebook_times.py [PATH ...] [--budget 60]

PATH is a notebook or a folder of notebooks (default: notebooks/ and solutions/). Each notebook runs in
a new IPython kernel of the interpreter running this script (whatever kernel the notebook names), in
the notebook's folder, with RECURRENT_LIB_PROGRESS=0 and PYTHONHASHSEED=0 as under the test suite.
Outputs are discarded: the files are never written. The time includes starting the kernel, as a
learner's "Restart and run all" does. Exit status 1 if any notebook raises or exceeds the budget.
"""
import argparse
import os
import pathlib
import subprocess
import sys
import time

import ipykernel.kernelspec
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ROOT = pathlib.Path(__file__).resolve().parents[1]
KERNEL_ENV = {"RECURRENT_LIB_PROGRESS": "0", "PYTHONHASHSEED": "0"}


class CurrentInterpreterSpecs(KernelSpecManager):
    """Answers every kernel name with an IPython kernel of ``sys.executable``."""

    def get_kernel_spec(self, kernel_name: str):
        return self.kernel_spec_class(
            resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
        )


def notebooks_in(paths: list[pathlib.Path]) -> list[pathlib.Path]:
    """The notebooks named in ``paths``, and those found (sorted) in its folders, checkpoints skipped."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            found.append(path)
    return found


def run_notebook(path: pathlib.Path, budget: float) -> tuple[float, str]:
    """Execute ``path`` in a fresh kernel; return (wall seconds, "" or why it failed)."""
    start = time.perf_counter()
    try:
        nb = nbformat.read(path, as_version=4)
        km = AsyncKernelManager(kernel_name="current-interpreter", kernel_spec_manager=CurrentInterpreterSpecs())
        client = NotebookClient(nb, km=km, timeout=int(budget) + 1,
                                resources={"metadata": {"path": str(path.parent)}})  # run in the notebook's folder
        # The kernel's own stderr (transport warnings, teardown noise) is not the notebook's output.
        client.execute(cleanup_kc=True, env={**os.environ, **KERNEL_ENV}, stderr=subprocess.DEVNULL)
        error = ""
    except CellTimeoutError:
        error = "a cell ran past the budget"
    except CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # unreadable file, kernel died or failed to start: report it, go on
        error = f"{type(exc).__name__}: {exc}"
    return time.perf_counter() - start, error.splitlines()[0][:100] if error else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path,
                        help="notebooks or folders (default: notebooks/ and solutions/)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds allowed per notebook (default 60)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    notebooks = notebooks_in(args.paths or [p for p in (ROOT / "notebooks", ROOT / "solutions") if p.exists()])
    if not notebooks:
        print("no notebooks found")
        return 0

    names = [os.path.relpath(p) for p in notebooks]
    width = max(map(len, names))
    print(f"{'notebook':<{width}}  {'seconds':>7}  status (budget {args.budget:g} s)", flush=True)
    failures = 0
    for path, name in zip(notebooks, names):
        seconds, error = run_notebook(path, args.budget)
        if not error and seconds > args.budget:
            error = "over budget"
        failures += bool(error)
        print(f"{name:<{width}}  {seconds:7.1f}  {'FAIL: ' + error if error else 'OK'}", flush=True)
    print(f"{len(notebooks) - failures} of {len(notebooks)} notebooks OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
