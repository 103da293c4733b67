"""Running a notebook in a real Jupyter kernel (ipykernel, driven by nbclient), as
tests/test_examples.py and tests/test_notebook_display.py do; the kernel spec and private
Jupyter directories are conftest.py's ``kernel_env`` fixture."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import fastconverse
import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode


def stdout_of(cell: Any) -> str:
    return "".join(o["text"] for o in cell.outputs if o.get("name") == "stdout")


class _Recording(NotebookClient):
    """nbclient keeps only a display's last state; this also keeps each update of it."""

    updates: dict[str, list[dict[str, Any]]]

    def process_message(
        self, msg: dict[str, Any], cell: NotebookNode, cell_index: int
    ) -> NotebookNode | None:
        if msg["msg_type"] == "update_display_data":
            self.updates.setdefault(cell.id, []).append(msg["content"])
        return super().process_message(msg, cell, cell_index)


def run_notebook(
    path: Path, kernel_env: Path, updates: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """Runs the notebook in a Jupyter kernel; checks that every cell ran without an error or
    anything on stderr, in this environment, with this fastconverse, inside a running event
    loop (as in Jupyter). Returns the executed code cells by id; ``updates`` collects each
    cell's ``update_display_data`` messages (a live display), by cell id."""
    nb = nbformat.read(path, as_version=4)
    # One extra cell, not stored in the notebook: which environment and fastconverse the
    # kernel used, and whether its cells run inside a running event loop (as in Jupyter).
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import asyncio, sys, fastconverse\n"
            "print(sys.prefix)\n"
            "print(fastconverse.__file__)\n"
            "print('loop running:', asyncio.get_running_loop().is_running())"
        )
    )
    client = _Recording(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(kernel_env)}}
    )
    client.updates = {} if updates is None else updates
    client.execute()

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert isinstance(cell.execution_count, int), cell.source
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, (cell.source, errors)
        stderr = [o for o in cell.outputs if o.get("name") == "stderr"]
        assert not stderr, (cell.source, stderr)

    prefix, module, loop = stdout_of(nb.cells[-1]).splitlines()
    assert Path(prefix).resolve() == Path(sys.prefix).resolve()
    assert Path(module).resolve() == Path(fastconverse.__file__).resolve()
    assert loop == "loop running: True"
    return {cell.id: cell for cell in nb.cells if cell.cell_type == "code"}
