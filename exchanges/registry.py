"""Exchange adapters by name: ``get_adapter("upbit" | "bithumb" | "bithumb-legacy")``."""
from __future__ import annotations

from collections.abc import Callable

from exchanges import bithumb, bithumb_legacy, upbit
from exchanges.base import ExchangeAdapter

_FACTORIES: dict[str, Callable[[], ExchangeAdapter]] = {
    "upbit": upbit.make_adapter,
    "bithumb": bithumb.make_adapter,
    "bithumb-legacy": bithumb_legacy.make_adapter,
}
NAMES: tuple[str, ...] = tuple(_FACTORIES)
# Adapters hold no state, so one instance per exchange serves every connection.
_INSTANCES: dict[str, ExchangeAdapter] = {}


def get_adapter(name: str) -> ExchangeAdapter:
    key = str(name).strip().lower()
    if key not in _FACTORIES:
        raise ValueError(f"unknown exchange {name!r}; expected one of {', '.join(NAMES)}")
    if key not in _INSTANCES:
        _INSTANCES[key] = _FACTORIES[key]()
    return _INSTANCES[key]
