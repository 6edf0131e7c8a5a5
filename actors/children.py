"""The supervisor's record of its children: what each one is, how to (re)start it, and where it lives."""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from thespian.actors import Actor

# Child kind -> module holding its actor class.
ACTOR_MODULES = {"connector": "actors.connector", "buffer": "actors.buffer", "producer": "actors.producer"}


def actor_class(kind: str) -> type[Actor]:
    """The Actor subclass defined in the kind's module (resolved by inspection, so the supervisor
    does not depend on class names)."""
    module = importlib.import_module(ACTOR_MODULES[kind])
    found = [obj for _, obj in inspect.getmembers(module, inspect.isclass)
             if issubclass(obj, Actor) and obj is not Actor and obj.__module__ == module.__name__]
    if len(found) != 1:
        raise RuntimeError(f"{module.__name__} must define exactly one actor class, found {found}")
    return found[0]


@dataclass(slots=True)
class Child:
    name: str  # "upbit-0", "buffer", "producer-trade"
    kind: str  # a key of ACTOR_MODULES
    start: Any  # the start message, rebuilt when addresses change
    address: Any = None
    exchange: str = ""


class Children:
    # ActorAddress compares by value but is not hashable, so lookups by address scan (a few dozen children).
    def __init__(self) -> None:
        self.by_name: dict[str, Child] = {}

    def add(self, child: Child) -> None:
        self.by_name[child.name] = child

    def placed(self, name: str, address: Any) -> None:
        self.by_name[name].address = address

    def name_of(self, address: Any) -> str | None:
        return next((c.name for c in self.by_name.values() if c.address is not None and c.address == address), None)

    def gone(self, address: Any) -> Child | None:
        name = self.name_of(address)
        if name is None:
            return None
        child = self.by_name[name]
        child.address = None
        return child

    def of_kind(self, kind: str) -> list[Child]:
        return [c for c in self.by_name.values() if c.kind == kind]

    def address(self, name: str) -> Any:
        child = self.by_name.get(name)
        return child.address if child else None
