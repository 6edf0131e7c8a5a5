"""To and from the events producer: connection and gap events for the exchanges' events topics.

Events are few (a handful per drop), so they travel as actor messages, not on the record channel."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.records import ConnectionEventRecord


@dataclass(frozen=True, slots=True)
class PublishEvent:
    event: ConnectionEventRecord


@dataclass(frozen=True, slots=True)
class StartEvents:
    """Configures the events producer (one for the service); it reports ``EventsReport``."""

    kafka: Any  # KafkaSettings (plain data)
    supervisor: Any  # ActorAddress of the supervisor
    exchanges: tuple[str, ...] = ()  # every configured exchange: its counts show from the start, at 0


@dataclass(frozen=True, slots=True)
class EventsRoute:
    """To a connector: where its events go now (the events producer was restarted at a new address)."""

    events: Any  # ActorAddress of the events producer, or None


@dataclass(frozen=True, slots=True)
class EventsReport:
    """The events producer's cumulative counts per exchange, and its most recent events (oldest
    first, each ``publishers.events.event_row``)."""

    published: dict[str, int]
    failed: dict[str, int]
    gaps: dict[str, int]
    backfilled_trades: dict[str, int]
    consecutive_failures: int = 0
    last_error: str = ""
    cause: str = ""
    in_flight: int = 0
    recent: tuple[dict[str, Any], ...] = field(default_factory=tuple)
