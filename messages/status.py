"""The status query and its snapshot (``get_status()``, the health endpoint, the dashboard)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class StatusQuery:
    pass


@dataclass(frozen=True, slots=True)
class ActorProcess:
    """A child tells the supervisor which OS process it runs in (the status lists them by role)."""

    name: str  # "upbit-0", "buffer", "producer-trade"
    role: str  # "connector", "buffer", "producer"
    pid: int


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """``get_status()``: everything the health endpoint and the dashboard show.

    ``connections``: connection_id -> {exchange, state, codes, received, malformed, duplicates,
    reconnects, last_message_us, since_us, reason, tickets}, where ``tickets`` lists the connection's
    recent subscription requests (``pipeline.ticket_states``); ``markets``: "exchange:code" -> last_message_us;
    ``buffer``: {depth: {...}, dropped: {...}}; ``producers``: data_type -> {succeeded, failed,
    consecutive_failures, last_error, cause, failing_for_s}; ``events``: the events producer's
    counts, {enabled, by_exchange: {exchange: {published, failed, gaps, backfilled_trades}},
    consecutive_failures, last_error, cause, in_flight, recent: [event rows, oldest first]};
    ``rate_history``: {bucket_s, points: [{t_us, rates: {exchange: messages per second}}]} over
    the last 15 minutes (``supervision.rate_history``).
    """

    started_us: int
    now_us: int
    running: bool
    connections: dict[str, dict[str, Any]]
    markets: dict[str, int]
    buffer: dict[str, Any]
    producers: dict[str, dict[str, Any]]
    total_received: int
    total_published: int
    processes: tuple[dict[str, Any], ...] = ()  # {name, role, pid} of the supervisor and every child
    events: dict[str, Any] = field(default_factory=dict)
    rate_history: dict[str, Any] = field(default_factory=dict)
    # exchange -> {state, markets, refresh_s, refreshes_ok, refreshes_failed, markets_added,
    # markets_removed, last_error, last_refresh_us} for each exchange configured with ``markets: all``
    discovery: dict[str, dict[str, Any]] = field(default_factory=dict)
