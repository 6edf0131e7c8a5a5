"""Splits each exchange's markets into connections of ``markets_per_connection`` codes."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from messages.config import ExchangeConfig


@dataclass(frozen=True, slots=True)
class PlannedConnection:
    connection_id: str  # "<exchange>-<n>", n from 0 in market order
    config: ExchangeConfig  # the exchange's config narrowed to this connection's markets


def plan_connections(exchanges: Iterable[ExchangeConfig]) -> list[PlannedConnection]:
    planned: list[PlannedConnection] = []
    for cfg in exchanges:
        size = max(1, cfg.markets_per_connection)
        for n, start in enumerate(range(0, len(cfg.markets), size)):
            group = cfg.markets[start:start + size]
            planned.append(PlannedConnection(f"{cfg.name}-{n}", dataclasses.replace(cfg, markets=group)))
    return planned
