"""Every notebook under ``experiments/`` executes top to bottom (as CI runs them).

Parametrised over the folder, so notebooks other people add are covered too. Each runs in its
own kernel with ``experiments/`` as the working directory (as Jupyter would); a cell that runs
longer than ``CELL_TIMEOUT`` seconds fails the test instead of hanging the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
NOTEBOOKS = sorted(EXPERIMENTS.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds; a notebook is meant to run in well under a minute


def test_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {"pipeline_leverage.ipynb", "investment_race.ipynb", "shootdown_shock.ipynb"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the failing cell, on any error
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code, f"{path.name} has no code"
    assert all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert any(c.cell_type == "markdown" for c in nb.cells), f"{path.name} has no prose"
