"""Execute every notebook under experiments/ in place, keeping its outputs for readers.

CI executes the notebooks too (tests/test_notebooks.py) but does not write them back; run this
after a model change so that the committed notebooks show the current model's figures:
    .venv/bin/python scripts/execute_notebooks.py [NAME ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def main(names: list[str]) -> None:
    paths = sorted((ROOT / "experiments").glob("*.ipynb"))
    if names:
        paths = [p for p in paths if p.stem in names]
    for path in paths:
        t0 = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(nb, path)
        print(f"{path.name}: executed in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
