"""Running a submission's cells in a fresh kernel: what the grader runs inside its sandbox.

``python run_cells.py`` (run by path, so that this process imports neither torch nor the course package)
reads one JSON object on stdin::

    {"cells": [source, ...], "timeouts": [seconds, ...], "nonce": "...", "notebook": {"name": ..., "text": ...}}

writes the notebook (a fresh copy of the submission) into its working folder, starts a kernel of this
interpreter there, runs the cells in order, going on past errors, and prints one JSON object::

    {"cells": [{"error": [ename, evalue] or null, "lines": [...]}, ...], "killers": [index, ...], "gave_up": bool}

``lines`` are the cell's stdout lines that start with the nonce (the grader's result lines); ``killers`` are
the cells that made the kernel die (each is skipped on the next try, at most MAX_RESTARTS times; then
``gave_up``). A cell that runs past its time limit is interrupted (error ``CellTimeoutError``); one that
ignores the interrupt is treated as one that killed the kernel. Only stdout is kept, at most
CELL_OUTPUT bytes per cell: a flood of output is dropped, not held.
"""
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
from ipykernel.kernelspec import RESOURCES, get_kernel_dict
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

MAX_RESTARTS = 3          # a kernel that died is restarted (without the cell that killed it) at most this often
TIMEOUT_ERROR = "CellTimeoutError"
LIVENESS_TIMEOUT = 10     # seconds a kernel has, after an interrupt, to run `pass`
IOPUB_TIMEOUT = 10        # seconds a cell's output may lag behind its reply (nbclient's 4 s are short on a busy
                          # machine; a kernel stuck in a cell that ignores the interrupt costs this twice)
CELL_OUTPUT = 4 << 20     # bytes of stdout kept per cell

_quiet = logging.getLogger("run_cells")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


class NativeKernelSpecs(KernelSpecManager):
    """Whatever kernel a notebook names, run this interpreter's own ipykernel."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())


class CappedClient(NotebookClient):
    """A NotebookClient that keeps only stdout, at most CELL_OUTPUT bytes per cell."""

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        content = msg.get("content", {})
        if msg["msg_type"] != "stream" or content.get("name") != "stdout":
            return None
        if sum(len(out.get("text", "")) for out in outs) + len(content.get("text", "")) > CELL_OUTPUT:
            return None
        return super().output(outs, msg, display_id, cell_index)


class Unresponsive(Exception):
    """The kernel did not answer after a cell that timed out was interrupted."""


def _error_of(reply: dict[str, Any] | None) -> list[str] | None:
    content = (reply or {}).get("content", {})
    return [content.get("ename", "Error"), content.get("evalue", "")] if content.get("status") == "error" else None


def run(sources: list[str], timeouts: list[float], nonce: str, folder: Path) -> dict[str, Any]:
    """Run ``sources`` in a fresh kernel started in ``folder``; the result described in the module docstring."""
    killers: set[int] = set()
    for _ in range(MAX_RESTARTS + 1):
        results: list[dict[str, Any]] = [{"error": None, "lines": []} for _ in sources]
        replies: dict[int, dict[str, Any]] = {}
        cells = [nbformat.v4.new_code_cell(source) for source in sources]
        alive = nbformat.v4.new_code_cell("pass")
        limit = {id(cell): seconds for cell, seconds in zip(cells, timeouts)}
        client = CappedClient(
            nbformat.v4.new_notebook(cells=[*cells, alive]), timeout=LIVENESS_TIMEOUT, iopub_timeout=IOPUB_TIMEOUT,
            allow_errors=True, interrupt_on_timeout=True,
            timeout_func=lambda cell: limit.get(id(cell), LIVENESS_TIMEOUT),
            error_on_timeout={"ename": TIMEOUT_ERROR, "evalue": "", "traceback": []}, log=_quiet,
            km=AsyncKernelManager(kernel_spec_manager=NativeKernelSpecs(), log=_quiet),
            on_cell_executed=lambda cell, cell_index, execute_reply: replies.__setitem__(cell_index, execute_reply),
            resources={"metadata": {"path": str(folder)}})
        index = 0
        try:
            env = {**os.environ, "RECURRENT_LIB_PROGRESS": "0"}
            with client.setup_kernel(cleanup_kc=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                for index, cell in enumerate(cells):
                    if index in killers:
                        continue
                    client.execute_cell(cell, index)
                    error = _error_of(replies.get(index))
                    stdout = "".join(output.get("text", "") for output in cell.outputs)  # one print may come in pieces
                    results[index] = {"error": error, "lines": [
                        line for line in stdout.splitlines() if line.startswith(nonce + " ")]}
                    if error and error[0] == TIMEOUT_ERROR:
                        client.execute_cell(alive, len(cells))
                        if (_error_of(replies.get(len(cells))) or [""])[0] == TIMEOUT_ERROR:
                            raise Unresponsive()
            return {"cells": results, "killers": sorted(killers), "gave_up": False}
        except (DeadKernelError, Unresponsive):
            killers.add(index)
    return {"cells": results, "killers": sorted(killers), "gave_up": True}


def main() -> None:
    request = json.load(sys.stdin)
    folder = Path.cwd()
    notebook = request["notebook"]
    (folder / Path(notebook["name"]).name).write_text(notebook["text"], encoding="utf-8")
    result = run(request["cells"], request["timeouts"], request["nonce"], folder)
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
