"""modules/: layers point one way and no module imports itself back, not even under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

MODULES = ROOT / "modules"
# Lowest first. A module may import from its own package or from a lower layer; packages of one
# layer know nothing of each other. The same order is written in modules/__init__.py.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("review",),
    ("config",),
    ("pages",),
    ("kernel",),
    ("bindings",),
    ("cdk",),
    ("security", "network"),
    ("observability", "notifications"),
    ("data",),
    ("compute",),
    ("edge",),
    ("delivery",),
    ("stacks",),
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every `modules.*` module the file imports, wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("modules.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "modules":
            if node.module == "modules":  # `from modules import cdk`
                found |= {f"modules.{a.name}" for a in node.names}
            else:
                found.add(node.module)
    return found


def package_of(module: str) -> str:
    return module.split(".")[1]


GRAPH = {module_name(p): imports_of(p) for p in sorted(MODULES.rglob("*.py"))}


def test_every_package_is_in_a_layer() -> None:
    packages = {package_of(m) for m in GRAPH if m != "modules"}
    assert packages == set(RANK), "add the new package to LAYERS (and to modules/__init__.py)"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m != "modules"))
def test_imports_point_down(module: str) -> None:
    own = package_of(module)
    upward = sorted(
        target
        for target in GRAPH[module]
        if package_of(target) != own and RANK[package_of(target)] >= RANK[own]
    )
    assert not upward, f"{module} imports {upward}: a package of its own layer or above"


def test_no_import_cycles() -> None:
    def resolve(target: str) -> str:
        # `from modules.config.loader import x` depends on that module; a package name on its __init__.
        return target if target in GRAPH else target.rsplit(".", 1)[0]

    edges = {m: {resolve(t) for t in targets if resolve(t) in GRAPH} - {m} for m, targets in GRAPH.items()}
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        stack.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                cycle = stack[stack.index(target) :] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_the_foundation_imports_no_cloud_constructs() -> None:
    for module, targets in GRAPH.items():
        if module.startswith(("modules.core", "modules.config")):
            assert not {t for t in targets if package_of(t) not in ("core", "config")}, module
