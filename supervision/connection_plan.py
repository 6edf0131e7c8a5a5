"""Splits each exchange's markets into connections of ``markets_per_connection`` codes, and bounds
how many actor processes a configuration may create.

Both exchanges take every code in one subscription request and document no limit on codes per
connection, so by default one connection carries all of an exchange's codes. Every connection is
a connector actor, i.e. an OS process; a small ``markets_per_connection`` with many markets would
fork hundreds of them, so a plan beyond ``MAX_ACTOR_PROCESSES`` is refused at load.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from domain.config import ExchangeConfig


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


MAX_ACTOR_PROCESSES = 32
# Besides one connector per connection: the supervisor, the buffer, Thespian's admin and logger.
_FIXED_PROCESSES = 4


def actor_processes(exchanges: Iterable[ExchangeConfig], events: bool = True) -> int:
    """How many OS processes the actor system will run for these exchanges (``events``: with the
    events producer, one for the service)."""
    configs = list(exchanges)
    producers = len({t for cfg in configs for t in cfg.data_types})
    return len(plan_connections(configs)) + producers + int(events) + _FIXED_PROCESSES


def process_limit_problem(exchanges: Iterable[ExchangeConfig], events: bool = True) -> str:
    """Why the plan is refused, or "" when it fits under ``MAX_ACTOR_PROCESSES``."""
    configs = list(exchanges)
    count = actor_processes(configs, events)
    if count <= MAX_ACTOR_PROCESSES:
        return ""
    connections = len(plan_connections(configs))
    return (f"{connections} connections would run {count} actor processes (at most {MAX_ACTOR_PROCESSES}): "
            f"raise markets_per_connection or leave it at its default (all of an exchange's codes "
            f"on one connection)")

