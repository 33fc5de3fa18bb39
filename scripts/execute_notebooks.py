"""Execute every notebook under experiments/ in place, keeping its outputs for readers.

CI executes the notebooks too (tests/test_notebooks.py) but does not write them back; run this
after a model change so that the committed notebooks show the current model's figures:
    .venv/bin/python scripts/execute_notebooks.py [NAME ...]
It runs them as CI does: a kernel per notebook, experiments/ as the working directory, and
``MPLBACKEND=Agg`` unless set otherwise (each notebook turns on ``%matplotlib inline`` itself, so
its figures are recorded whatever the backend). Cell timings are not recorded, so re-executing
an unchanged notebook changes only what the model changed. A notebook whose outputs show no
figure, an error or a machine path is reported, and the script exits 1.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_notebooks import problems  # noqa: E402  (the same checks as the test)


def main(names: list[str]) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    paths = sorted((ROOT / "experiments").glob("*.ipynb"))
    if names:
        unknown = sorted(set(names) - {p.stem for p in paths})
        if unknown:
            allowed = ", ".join(p.stem for p in paths)
            print(f"execute_notebooks: error: unknown notebook {unknown[0]!r}; allowed: {allowed}",
                  file=sys.stderr)
            return 2
        paths = [p for p in paths if p.stem in names]
    bad = 0
    for path in paths:
        t0 = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        try:
            NotebookClient(nb, timeout=900, kernel_name="python3", record_timing=False,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except CellExecutionError as exc:  # keep the file as it was; say which cell failed
            last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            print(f"{path.name}: FAILED (not written): {last}", file=sys.stderr)
            bad += 1
            continue
        nbformat.write(nb, path)
        found = problems(nb)
        bad += bool(found)
        note = f"; PROBLEM: {'; '.join(found)}" if found else ""
        print(f"{path.name}: executed in {time.perf_counter() - t0:.1f} s{note}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
