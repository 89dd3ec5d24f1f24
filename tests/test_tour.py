"""The tour notebook (docs/tour.ipynb) runs top to bottom, says what it should, and stays the
twin of its plain-text pair docs/tour.py (jupytext's percent format, what diffs are read in).

`make tour` rewrites docs/tour.ipynb from docs/tour.py with fresh outputs (this file's main).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK, TWIN = ROOT / "docs" / "tour.ipynb", ROOT / "docs" / "tour.py"


def execute(notebook):
    """Run every cell in a fresh kernel started in docs/. The kernel talks to this process over
    Unix sockets in a temporary folder (IPC transport), not over TCP."""
    from jupyter_client.manager import KernelManager

    with tempfile.TemporaryDirectory(prefix="tour-kernel-") as sockets:
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
        client = nbclient.NotebookClient(notebook, km=manager, timeout=300, record_timing=False,
                                         resources={"metadata": {"path": str(ROOT / "docs")}})
        try:
            client.execute()
        finally:
            if manager.has_kernel:  # a manager passed in is not shut down by the client
                manager.shutdown_kernel(now=True)
    return notebook


def text_of(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif "data" in output:
                parts.append(output["data"].get("text/plain", ""))
    return "\n".join(parts)


def test_the_notebook_and_its_twin_hold_the_same_cells():
    committed = nbformat.read(NOTEBOOK, as_version=4)
    paired = jupytext.read(TWIN)
    assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in paired.cells], (
        "docs/tour.ipynb and docs/tour.py differ: edit docs/tour.py, then `make tour`")


def test_the_notebook_is_committed_with_its_outputs():
    committed = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in committed.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") for cell in code)
    assert sum("image/png" in output.get("data", {}) for cell in code for output in cell.outputs) == 2
    assert not any(output.get("output_type") == "error" for cell in code for output in cell.outputs)


@pytest.mark.slow
def test_the_notebook_runs_top_to_bottom():
    notebook = execute(jupytext.read(TWIN))
    text = text_of(notebook)
    assert "mnist verified 60,000 training and 10,000 test images" in text
    assert "dloss/dw = [-0.06327, -0.12654, -0.03164]" in text
    assert "): PASS" in text  # the implementations' agreement
    assert text.count(" not implemented: ") == 4
    assert "Attempt: diagnosed" in text and "BP2 is wrong between the last hidden layer and the output layer: σ′ left out" in text
    assert "Fixed: passed" in text


def regenerate() -> None:
    """docs/tour.ipynb from docs/tour.py, executed, written atomically."""
    from shared.atomic import atomic_write_text

    notebook = execute(jupytext.read(TWIN))
    atomic_write_text(NOTEBOOK, nbformat.writes(notebook) + "\n")
    print(f"wrote {NOTEBOOK.relative_to(ROOT)}")


if __name__ == "__main__":
    regenerate()
