"""No import cycle between the repository's top-level packages.

Packages form layers (docs/architecture.md): ``domain`` at the bottom, the actor shells in
``actors`` and the composition root ``actor_system.py`` at the top. A cycle between two packages
means neither can be understood, tested or changed without the other, so any import, including
one inside a function or under ``TYPE_CHECKING``, counts.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
NOT_CODE = {"tests", "docs", "conf", "deploy", "var"}


def top_level_units() -> dict[str, list[Path]]:
    """Top-level package (or module) name -> its Python files, tests excluded."""
    units: dict[str, list[Path]] = {}
    for path in ROOT.iterdir():
        if path.name.startswith(".") or path.name in NOT_CODE:
            continue
        if path.is_dir():
            files = [p for p in path.rglob("*.py") if not any(part.startswith(".") for part in p.parts)]
            if files:
                units[path.name] = files
        elif path.suffix == ".py":
            units[path.stem] = [path]
    return units


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def package_graph() -> dict[str, set[str]]:
    units = top_level_units()
    return {
        name: {other for path in files for other in imported_names(path) if other in units and other != name}
        for name, files in units.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_top_level_packages() -> None:
    graph = package_graph()
    assert {"actors", "domain", "messages", "proto", "connectors"} <= set(graph)  # the scan saw the code
    assert cycles(graph) == []


def test_the_ground_packages_import_no_shell() -> None:
    graph = package_graph()
    for ground in ("domain", "exchanges", "messages", "proto"):
        assert not graph[ground] & {"actors", "web"}, (ground, graph[ground])
    assert graph["domain"] == set() and graph["simulator"] == set()
