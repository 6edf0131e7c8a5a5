"""Reading a YAML settings file with bounds, so no file can hang, crash or bloat start-up.

YAML aliases share one node, so a kilobyte of nested aliases ("billion laughs") stands for billions
of values: every walk over the parsed document (validation, the secret scan, copies) then runs for
hours. Deep nesting makes PyYAML's recursive composer raise ``RecursionError``. A huge file costs
memory before anything is checked. So, before anything is built from the text:

* the file must be a regular file of at most ``max_bytes`` and valid UTF-8;
* one pass over the parser's events (the parser itself is iterative) counts the values the document
  stands for with every alias expanded, and its nesting depth with aliases expanded, and stops as
  soon as either bound is passed.

Only then is the document composed and constructed with ``yaml.safe_load``.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any

import yaml

MAX_BYTES = 1_000_000  # a configuration naming every market of both exchanges is about 50 KB
MAX_NODES = 100_000  # values with aliases expanded; such a configuration has about 10,000
MAX_DEPTH = 32  # the deepest real key path is 3 levels


@dataclass(frozen=True, slots=True)
class Refusal(Exception):
    """Why a file was not read: ``where`` (a key such as "(file)" or "(line 3, column 1)"),
    the offending ``value`` as shown to the user, and what is ``allowed``."""

    where: str
    value: str
    allowed: str


def read_text(path: str, max_bytes: int = MAX_BYTES) -> str:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise Refusal("(file)", repr(path), f"a readable YAML file ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise Refusal("(file)", repr(path), "a regular file (not a directory, pipe or device)")
    if info.st_size > max_bytes:
        raise Refusal("(file)", f"{info.st_size} bytes", f"a file of at most {max_bytes} bytes")
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise Refusal("(file)", repr(path), f"a readable YAML file ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise Refusal("(file)", f"more than {max_bytes} bytes", f"a file of at most {max_bytes} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise Refusal(f"(line {line}, column {column})", repr(data[exc.start:exc.start + 4]),
                      "UTF-8 text (save the file as UTF-8)") from None


def check_size(text: str, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> None:
    """Raises ``Refusal`` when the document, aliases expanded, holds more than ``max_nodes`` values
    or nests deeper than ``max_depth``. Linear in the text; nothing is expanded."""
    # One frame per open collection: [values counted so far inside it, deepest level below it, anchor]
    stack: list[list[Any]] = []
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (values, depth) of the node it names
    total = 0

    def add(values: int, depth: int, mark: Any) -> None:
        nonlocal total
        total += values
        if total > max_nodes:
            raise Refusal(_where(mark), f"more than {max_nodes} values",
                          f"at most {max_nodes} values with every alias (*name) expanded")
        if len(stack) + depth > max_depth:
            raise Refusal(_where(mark), f"nesting deeper than {max_depth} levels",
                          f"at most {max_depth} levels of nested lists and mappings")
        if stack:
            frame = stack[-1]
            frame[0] += values
            frame[1] = max(frame[1], depth)

    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.ScalarEvent):
                add(1, 0, event.start_mark)
                if event.anchor:
                    anchors[event.anchor] = (1, 0)
            elif isinstance(event, yaml.AliasEvent):
                values, depth = anchors.get(event.anchor or "", (1, 0))
                add(values, depth, event.start_mark)
            elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                add(1, 1, event.start_mark)
                stack.append([0, 0, event.anchor])
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                values, depth, anchor = stack.pop()
                if stack:  # the opening event already counted the collection itself
                    stack[-1][0] += values
                    stack[-1][1] = max(stack[-1][1], depth + 1)
                if anchor:
                    anchors[anchor] = (values + 1, depth + 1)
    except yaml.YAMLError:
        return  # syntax errors are reported, with their position, by the load that follows


def load(text: str) -> Any:
    check_size(text)
    return yaml.safe_load(text)


def _where(mark: Any) -> str:
    return f"(line {mark.line + 1}, column {mark.column + 1})" if mark is not None else "(file)"
