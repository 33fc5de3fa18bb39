"""The layers of the package, enforced: the kernel imports only itself and NumPy-level libraries,
and no module of alignsim takes part in an import cycle.

Imports are read from the source (``ast``), including those inside functions (a lazy import is
still a dependency); imports under ``if TYPE_CHECKING:`` are for type checkers only and are left
out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "alignsim"
KERNEL = "alignsim.kernel"
FORBIDDEN_IN_KERNEL = {
    "mesa", "hydra", "omegaconf", "pandas", "matplotlib", "seaborn", "solara", "pygambit",
    "SALib", "tqdm", "pyarrow", "networkx", "scipy",
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports at run time (absolute names; ``from a import b`` gives
    ``a.b`` when that is a module of the package, else ``a``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports are not used in this package
                raise AssertionError(f"{path}: relative import (use absolute alignsim.… names)")
            base = node.module or ""
            found.add(base)
            for alias in node.names:
                target = PACKAGE.parent / f"{base}.{alias.name}".replace(".", "/")
                if target.with_suffix(".py").exists() or target.is_dir():
                    found.add(f"{base}.{alias.name}")
    return found


def package_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports."""
    mods = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in mods.items():
        deps = set()
        for imp in imported_modules(path):
            if imp.split(".")[0] != "alignsim":
                continue
            # importing a.b.c also runs a and a.b (package __init__ files)
            parts = imp.split(".")
            deps.update(".".join(parts[: k + 1]) for k in range(1, len(parts)) if
                        ".".join(parts[: k + 1]) in mods)
        deps.discard(name)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or ``None`` (depth-first search)."""
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        colour[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if colour.get(m) == 1:
                return [*stack[stack.index(m):], m]
            if colour.get(m) is None and (c := visit(m)):
                return c
        stack.pop()
        colour[n] = 2
        return None

    for n in sorted(graph):
        if colour.get(n) is None and (c := visit(n)):
            return c
    return None


def test_the_layers_exist_as_folders() -> None:
    for folder in ("kernel", "game", "validation", "sweeps", "demo"):
        assert (PACKAGE / folder / "__init__.py").is_file(), folder
    for module in ("calendar", "schema", "spec", "state", "anchor", "policies", "decisions",
                   "step", "compiled", "batch", "rows", "streams"):
        assert (PACKAGE / "kernel" / f"{module}.py").is_file(), module


def test_kernel_imports_nothing_above_it() -> None:
    offenders = []
    for path in sorted((PACKAGE / "kernel").rglob("*.py")):
        for imp in imported_modules(path):
            top = imp.split(".")[0]
            if top == "alignsim" and imp != "alignsim" and not imp.startswith(KERNEL):
                offenders.append(f"{module_name(path)} imports {imp}")
            if top in FORBIDDEN_IN_KERNEL:
                offenders.append(f"{module_name(path)} imports {imp}")
    assert offenders == []


def test_no_import_cycle_in_the_package() -> None:
    assert find_cycle(package_graph()) is None


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"a"}}, ["a", "a"]),
    ],
)
def test_cycle_finder_finds_cycles(graph: dict[str, set[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


def test_import_reader_sees_lazy_imports_and_skips_type_checking(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\n"
        "import numpy as np\n"
        "if TYPE_CHECKING:\n"
        "    from alignsim.model import AlignmentModel\n"
        "def f():\n"
        "    import pandas\n"
        "    from alignsim.kernel import spec\n"
    )
    found = imported_modules(src)
    assert {"numpy", "pandas", "alignsim.kernel", "alignsim.kernel.spec"} <= found
    assert "alignsim.model" not in found
