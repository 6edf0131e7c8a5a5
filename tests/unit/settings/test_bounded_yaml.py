"""Bounded reading of the settings file: size, UTF-8, values with aliases expanded, nesting depth."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from settings import bounded_yaml
from settings.bounded_yaml import Refusal, check_size, read_text

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]


def expanded_values(node: Any) -> int:
    if isinstance(node, dict):
        return 1 + sum(expanded_values(k) + expanded_values(v) for k, v in node.items())
    if isinstance(node, list):
        return 1 + sum(expanded_values(v) for v in node)
    return 1


def expanded_depth(node: Any) -> int:
    if isinstance(node, dict):
        return 1 + max((expanded_depth(v) for v in node.values()), default=0)
    if isinstance(node, list):
        return 1 + max((expanded_depth(v) for v in node), default=0)
    return 0


DOCS = [
    "a: &a [1, 2, [3, 4]]\nb: &b {x: *a, y: *a}\nc: [*b, *b, *a]\n",
    "x: [[[[1]]]]\n",
    "s: &s scalar\nl: [*s, *s, {k: *s}]\n",
    "m: &m {a: [1, {b: [2]}]}\nn: [[*m], {c: [*m]}]\n",
    (REPO / "conf/prod.yaml").read_text(),
    (REPO / "conf/dev.yaml").read_text(),
]


@pytest.mark.parametrize("text", DOCS)
def test_counts_values_and_depth_exactly_as_expanded(text: str) -> None:
    doc = yaml.safe_load(text)
    values, depth = expanded_values(doc), expanded_depth(doc)
    check_size(text, max_nodes=values, max_depth=depth)
    with pytest.raises(Refusal, match="values"):
        check_size(text, max_nodes=values - 1, max_depth=depth)
    with pytest.raises(Refusal, match="levels"):
        check_size(text, max_nodes=values, max_depth=depth - 1)


def test_alias_bomb_is_refused_without_expanding_it() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    with pytest.raises(Refusal) as info:
        check_size("\n".join(lines))
    assert info.value.allowed == "at most 100000 values with every alias (*name) expanded"
    assert info.value.where.startswith("(line ")


def test_deep_nesting_is_refused_before_the_recursive_composer() -> None:
    text = "[" * 100_000 + "]" * 100_000
    with pytest.raises(RecursionError):
        yaml.safe_load(text)
    with pytest.raises(Refusal, match="nesting deeper than 32 levels"):
        bounded_yaml.load(text)


def test_syntax_errors_are_left_to_the_loader() -> None:
    check_size("exchanges: [\n  - name: upbit\n")  # no Refusal; safe_load reports the position
    with pytest.raises(yaml.YAMLError):
        bounded_yaml.load("exchanges: [\n  - name: upbit\n")


def test_file_size_utf8_and_kind(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"a: 1\n" * 10)
    assert read_text(str(path), max_bytes=50) == "a: 1\n" * 10
    with pytest.raises(Refusal, match="at most 49 bytes"):
        read_text(str(path), max_bytes=49)
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(Refusal) as info:
        read_text(str(path))
    assert (info.value.where, info.value.value) == ("(line 2, column 7)", "b'\\xe9\\n'")
    with pytest.raises(Refusal, match="a regular file"):
        read_text(str(tmp_path))
    with pytest.raises(Refusal, match="a regular file"):
        read_text("/dev/zero")
    with pytest.raises(Refusal, match="a readable YAML file"):
        read_text(str(tmp_path / "absent.yaml"))
