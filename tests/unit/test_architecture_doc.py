"""docs/architecture.md stays true: every function its frame path names exists in the file that step
names, and every folder's imports stay within what its map row allows."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.unit.test_package_cycles import package_graph

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end >= 0 else None]


def definitions(path: Path) -> set[str]:
    """Top-level functions and classes as ``name``, methods as ``Class.name``."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names.update(f"{node.name}.{item.name}" for item in node.body
                         if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef))
    return names


def steps() -> list[str]:
    return re.split(r"\n(?=\d+\. )", section("The path of one trade frame"))[1:]


def test_every_step_of_the_frame_path_names_real_functions_in_its_files() -> None:
    assert len(steps()) >= 8
    for step in steps():
        spans = re.findall(r"`([^`]+)`", step)
        files = [ROOT / s for s in spans if s.endswith(".py")]
        assert files, step
        defined = set().union(*(definitions(f) for f in files))
        methods = {name.split(".", 1)[1] for name in defined if "." in name}
        # Class.method, or a function or method named alone (lower case): both must exist.
        for name in spans:
            if name.endswith(".py") or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_]\w*)?", name):
                continue
            if "." in name or name[0].islower() or name[0] == "_":
                assert name in defined or name in methods, f"{name} is not defined in {files}"


def test_each_folder_imports_only_what_its_map_row_allows() -> None:
    rows = re.findall(r"^\| `([\w.]+)/?` \| .* \| ([^|]+) \|$", section("The map"), re.M)
    allowed = {name.removesuffix(".py"): set(re.findall(r"`(\w+)`", imports)) for name, imports in rows}
    allowed["actors"] = set(package_graph()) - {"settings", "web", "actor_system", "bench", "scripts", "setup",
                                                "simulator", "actors"}
    assert {"domain", "messages", "proto", "exchanges", "connectors", "buffering", "publishers", "supervision",
            "monitoring", "settings", "web", "actor_system", "simulator"} <= set(allowed)
    assert allowed["domain"] == set() and allowed["messages"] == {"domain"} and allowed["simulator"] == set()
    graph = package_graph()
    for name, may in allowed.items():
        assert graph[name] <= may, (name, graph[name] - may)
