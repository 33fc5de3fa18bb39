"""Every notebook under ``experiments/`` executes top to bottom (as CI runs them) and shows figures.

Parametrised over the folder, so notebooks other people add are covered too. Each runs in its
own kernel with ``experiments/`` as the working directory (as Jupyter would); a cell that runs
longer than ``CELL_TIMEOUT`` seconds fails the test instead of hanging the suite.

Why the image check: under ``MPLBACKEND=Agg`` (CI's setting) ``plt.show()`` draws nothing, so a
notebook without ``%matplotlib inline`` (or ``display(fig)``) executes cleanly and records no
figure at all. The committed notebooks are checked too (they are what readers see): a figure in
each, no error, and no absolute path of the machine they were executed on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
NOTEBOOKS = sorted(EXPERIMENTS.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds; a notebook is meant to run in well under a minute
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
# a machine path in an output: this checkout, a home folder, a temporary folder
MACHINE_PATH = re.compile("|".join([re.escape(str(ROOT)), r"/home/\w+", r"/root/", r"/tmp/",
                                    r"/var/folders/", r"[A-Z]:\\\\Users"]))


def problems(nb) -> list[str]:
    """What is wrong with a notebook's outputs, as readers would see them (empty: nothing)."""
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    outputs = [o for c in code for o in c.get("outputs", [])]
    found = []
    if not any(t in o.get("data", {}) for o in outputs for t in IMAGE_TYPES):
        found.append("no image output")
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        found.append(f"error output: {errors[0].get('ename')}: {errors[0].get('evalue')}")
    for o in outputs:
        text = json.dumps({k: v for k, v in o.items() if k != "data"} | {
            "data": {k: v for k, v in o.get("data", {}).items() if k not in IMAGE_TYPES}})
        match = MACHINE_PATH.search(text)
        if match:
            found.append(f"absolute path in an output: {match.group(0)!r}")
            break
    return found


def test_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {"pipeline_leverage.ipynb", "investment_race.ipynb", "shootdown_shock.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_outputs(path: Path):
    """The committed notebook was executed (scripts/execute_notebooks.py) and shows figures."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count is not None for c in code), f"{path.name} is not executed"
    assert not problems(nb)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as CI: figures must be recorded all the same
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the failing cell, on any error
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code, f"{path.name} has no code"
    assert all(c.execution_count is not None for c in code)
    assert not problems(nb)
    assert any(c.cell_type == "markdown" for c in nb.cells), f"{path.name} has no prose"
